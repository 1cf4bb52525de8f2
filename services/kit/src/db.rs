//! The database of a service: a SQLite file by default, PostgreSQL by URL, one code path for
//! both through sqlx `Any`. Query text uses `$1…` placeholders, `BIGINT`, `TEXT`,
//! `DOUBLE PRECISION` and `BYTEA`, which both backends accept; flags are `BIGINT` 0/1 and
//! instants are `BIGINT` microseconds since the epoch, UTC.

use std::{
    ops::{Deref, DerefMut},
    path::PathBuf,
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Result, config::Secret};

/// A write transaction; it reads and writes as the connection it holds.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    /// SQLite's turn to write, held until the transaction ends.
    _turn: Option<OwnedSemaphorePermit>,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

impl Deref for Tx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

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
    /// SQLite has one writer at a time. Writers take turns here, in order, rather than in
    /// SQLite's busy handler, which sleeps up to 100 ms between tries and so leaves the lock
    /// idle while writers wait.
    writer: Option<Arc<Semaphore>>,
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
        if backend == Backend::Postgres {
            announce_tls(&url, service);
        }
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
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(Semaphore::new(1)));
        let db = Db {
            pool,
            backend,
            writer,
        };
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
        let turn = match &self.writer {
            Some(writer) => Some(
                writer
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| crate::Error::Internal(e.into()))?,
            ),
            None => None,
        };
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx { tx, _turn: turn })
    }

    /// Starts a transaction that only reads: one consistent view over several queries, which
    /// needs no turn to write.
    pub async fn read(&self) -> Result<Tx> {
        Ok(Tx {
            tx: self.pool.begin().await?,
            _turn: None,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The `sslmode` of a PostgreSQL URL (`prefer` when absent, as libpq and sqlx default).
pub fn ssl_mode(url: &str) -> String {
    url.split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| key.eq_ignore_ascii_case("sslmode"))
        .map(|(_, value)| value.to_ascii_lowercase())
        .next_back()
        .unwrap_or_else(|| "prefer".to_owned())
}

/// Says at start-up how the connection to PostgreSQL is protected: TLS with the server's
/// certificate and name verified (`sslmode=verify-full` with `sslrootcert=<CA file>`), or
/// something less, which is worth a warning (the database holds personal data).
fn announce_tls(url: &str, service: &str) {
    match ssl_mode(url).as_str() {
        "verify-full" => tracing::info!(service, "database over TLS (verify-full)"),
        mode => tracing::warn!(
            service,
            sslmode = mode,
            "the database connection is not verified TLS: add \
             sslmode=verify-full&sslrootcert=<CA file> to database.url unless the network \
             protects it"
        ),
    }
}

/// An instant as stored: microseconds since the epoch, UTC.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssl_mode_of_a_url() {
        assert_eq!(ssl_mode("postgres://u@db:5432/cs"), "prefer");
        assert_eq!(
            ssl_mode("postgres://u@db/cs?sslrootcert=/ca.crt&sslmode=verify-full"),
            "verify-full"
        );
        assert_eq!(ssl_mode("postgres://u@db/cs?SSLMODE=Require"), "require");
    }
}
