//! The database of a service: a SQLite file by default, PostgreSQL by URL, one code path for
//! both through sqlx `Any`. Query text uses `$1…` placeholders, `BIGINT`, `TEXT`,
//! `DOUBLE PRECISION` and `BYTEA`, which both backends accept; flags are `BIGINT` 0/1 and
//! instants are `BIGINT` microseconds since the epoch, UTC.

use std::{path::PathBuf, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

use crate::{Result, config::Secret};

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`; empty means the SQLite file `<data_dir>/<service>.db`.
    pub url: Secret,
    /// Where SQLite files live when no URL is given.
    pub data_dir: PathBuf,
    pub max_connections: u32,
    /// How long a call waits for a free connection before it fails.
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            data_dir: PathBuf::from("data"),
            max_connections: 16,
            acquire_timeout_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Opens the database of `service` and brings its schema up to date: the kit's own tables
    /// (outbox, idempotency keys) and then the service's migrations.
    pub async fn connect(
        settings: &DatabaseSettings,
        service: &str,
        migrations: Migrator,
    ) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let url = if settings.url.is_empty() {
            std::fs::create_dir_all(&settings.data_dir)?;
            let file = settings.data_dir.join(format!("{service}.db"));
            format!("sqlite://{}?mode=rwc", file.display())
        } else {
            settings.url.expose().to_owned()
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("database url must start with sqlite: or postgres:");
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms));
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; writers queue on the busy timeout.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        crate::telemetry::set_db_system(backend);
        let db = Db { pool, backend };
        db.migrate(sqlx::migrate!("./migrations")).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }

    async fn migrate(&self, mut migrations: Migrator) -> anyhow::Result<()> {
        // The kit's and the service's migrations share one history table, so each run sees
        // the other's versions as unknown.
        migrations.set_ignore_missing(true);
        migrations.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front, so two writers
    /// queue instead of failing when one upgrades a read to a write.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An instant as stored: microseconds since the epoch, UTC.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}
