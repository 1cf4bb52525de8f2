//! The customer service department's SQL. One query text serves SQLite and PostgreSQL.

pub mod complaints;
pub mod contacts;
pub mod corrective;
pub mod households;
pub mod keys;
pub mod surveys;
pub mod units;
pub mod visits;

use sqlx::{Row, any::AnyRow};
use wuye_kit::{Error, Result, db::Db, seal::Keyring};

/// Reads a stored text code back into its domain enum.
fn decode<T>(code: &str, from_code: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    from_code(code).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "unknown {what} code {code:?} in the database"
        ))
    })
}

/// The database with the keyring phone numbers are sealed with at rest (ARC-6, ARC-11).
/// Queries that write or read a phone number take a `Store`; the others take the plain [`Db`]
/// it dereferences to.
#[derive(Clone)]
pub struct Store {
    db: Db,
    keyring: Keyring,
}

impl std::ops::Deref for Store {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

/// Where a sealed value lives: its table, its row's key and its column. A value is bound to
/// its place, so a ciphertext copied into another row or column does not open.
fn place(table: &str, row: &str, column: &str) -> String {
    format!("{table}/{row}/{column}")
}

impl Store {
    pub fn new(db: Db, keyring: Keyring) -> Self {
        Self { db, keyring }
    }

    /// Seals a phone number for its place; an empty number is stored as NULL.
    fn seal(&self, table: &str, row: &str, column: &str, clear: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.keyring.seal_value(&place(table, row, column), clear)?)
    }

    /// Opens the sealed column `<column>_sealed` of `row`.
    fn open(&self, table: &str, key: &str, column: &str, row: &AnyRow) -> Result<String> {
        let stored: Option<Vec<u8>> = row.try_get(format!("{column}_sealed").as_str())?;
        Ok(self
            .keyring
            .open_value(&place(table, key, column), stored.as_deref())?)
    }

    /// Seals the phone numbers still stored in clear (written before they were sealed) and
    /// clears them, table by table, each in one transaction. Runs before the service serves.
    pub async fn seal_clear_values(&self) -> Result<u64> {
        let mut sealed = 0;
        for c in CLEAR_COLUMNS {
            let (table, column) = (c.table, c.column);
            let keys: Vec<String> = c
                .keys
                .iter()
                .map(|k| format!("CAST({k} AS TEXT)"))
                .collect();
            let select = sqlx::AssertSqlSafe(format!(
                "SELECT {}, {column} FROM {table} WHERE {column} <> '' AND {column}_sealed IS NULL",
                keys.join(", ")
            ));
            let condition: Vec<String> = c
                .keys
                .iter()
                .enumerate()
                .map(|(i, k)| format!("CAST({k} AS TEXT) = ${}", i + 2))
                .collect();
            let update = format!(
                "UPDATE {table} SET {column}_sealed = $1, {column} = '' WHERE {}",
                condition.join(" AND ")
            );
            let mut tx = self.db.begin().await?;
            let rows = sqlx::query(select).fetch_all(&mut *tx).await?;
            for row in rows {
                let mut key = Vec::new();
                for i in 0..c.keys.len() {
                    key.push(row.try_get::<String, _>(i)?);
                }
                let clear: String = row.try_get(c.keys.len())?;
                let value = self.seal(table, &key.join("/"), column, &clear)?;
                let mut query = sqlx::query(sqlx::AssertSqlSafe(update.clone())).bind(value);
                for k in &key {
                    query = query.bind(k.as_str());
                }
                query.execute(&mut *tx).await?;
                sealed += 1;
            }
            tx.commit().await?;
        }
        Ok(sealed)
    }
}

/// A phone column and the key of its rows, joined by `/` in the value's place.
struct ClearColumn {
    table: &'static str,
    keys: &'static [&'static str],
    column: &'static str,
}

/// Every phone number customer-service stores.
const CLEAR_COLUMNS: &[ClearColumn] = &[
    ClearColumn {
        table: "residents",
        keys: &["household_id", "position"],
        column: "phone",
    },
    ClearColumn {
        table: "complaints",
        keys: &["id"],
        column: "complainant_phone",
    },
    ClearColumn {
        table: "contacts",
        keys: &["property_id", "number"],
        column: "caller_phone",
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "customer_phone",
    },
    ClearColumn {
        table: "key_set_collectors",
        keys: &["key_set_id", "position"],
        column: "phone",
    },
    ClearColumn {
        table: "key_loans",
        keys: &["id"],
        column: "borrower_phone",
    },
    ClearColumn {
        table: "visits",
        keys: &["id"],
        column: "customer_phone",
    },
];
