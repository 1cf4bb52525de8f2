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
use wuye_kit::{
    Error, Result,
    db::{Backend, Db},
    seal::Keyring,
};

/// Reads a stored text code back into its domain enum.
fn decode<T>(code: &str, from_code: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    from_code(code).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "unknown {what} code {code:?} in the database"
        ))
    })
}

/// The database with the keyring personal values are sealed with at rest (ARC-6, ARC-11):
/// phone numbers, signatures, and the keyed digests of ID numbers (KEY-9). Queries that write
/// or read one take a `Store`; the others take the plain [`Db`] it dereferences to.
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

    /// Seals a personal value for its place; an empty value is stored as NULL.
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

    /// Seals bytes (a signature image) for their place; none or empty is stored as NULL.
    fn seal_bytes(
        &self,
        table: &str,
        row: &str,
        column: &str,
        clear: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        self.seal(
            table,
            row,
            column,
            &bytes_as_text(clear.unwrap_or_default()),
        )
    }

    /// Opens bytes sealed by [`Store::seal_bytes`]; `None` when there are none.
    fn open_bytes(
        &self,
        table: &str,
        key: &str,
        column: &str,
        stored: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        let text = self
            .keyring
            .open_value(&place(table, key, column), stored)?;
        let bytes = text_as_bytes(&text)?;
        Ok((!bytes.is_empty()).then_some(bytes))
    }

    /// The keyed digest of a value that is compared but never read back (an identity document
    /// number, KEY-9), bound to its place like a sealed value.
    fn digest(&self, table: &str, row: &str, column: &str, value: &str) -> Vec<u8> {
        self.keyring
            .digest_value(&place(table, row, column), value.as_bytes())
    }

    /// Whether `value` is the one whose digest [`Store::digest`] stored at this place.
    fn digest_matches(
        &self,
        table: &str,
        row: &str,
        column: &str,
        value: &str,
        stored: &[u8],
    ) -> Result<bool> {
        Ok(self
            .keyring
            .digest_matches(&place(table, row, column), value.as_bytes(), stored)?)
    }

    /// Seals the personal values still stored in clear (written before they were sealed) and
    /// clears them, column by column, each in one transaction. Runs before the service serves.
    /// On SQLite the file is then rebuilt, so the clear values do not linger in freed pages or
    /// the write-ahead log.
    pub async fn seal_clear_values(&self) -> Result<u64> {
        let mut sealed = 0;
        for c in CLEAR_COLUMNS {
            sealed += self.seal_clear_column(c).await?;
        }
        if sealed > 0 && self.db.backend() == Backend::Sqlite {
            sqlx::query("VACUUM").execute(self.db.pool()).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(self.db.pool())
                .await?;
        }
        Ok(sealed)
    }

    async fn seal_clear_column(&self, c: &ClearColumn) -> Result<u64> {
        let (table, column) = (c.table, c.column);
        let keys: Vec<String> = c
            .keys
            .iter()
            .map(|k| format!("CAST({k} AS TEXT)"))
            .collect();
        let (held, emptied) = match c.kind {
            Kind::Text => (format!("{column} <> ''"), "''"),
            Kind::Bytes => (format!("{column} IS NOT NULL"), "NULL"),
        };
        let select = sqlx::AssertSqlSafe(format!(
            "SELECT {}, {column} FROM {table} WHERE {held} AND {column}_sealed IS NULL",
            keys.join(", ")
        ));
        let condition: Vec<String> = c
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("CAST({k} AS TEXT) = ${}", i + 2))
            .collect();
        let update = format!(
            "UPDATE {table} SET {column}_sealed = $1, {column} = {emptied} WHERE {}",
            condition.join(" AND ")
        );
        let mut sealed = 0;
        let mut tx = self.db.begin().await?;
        let rows = sqlx::query(select).fetch_all(&mut *tx).await?;
        for row in rows {
            let mut key = Vec::new();
            for i in 0..c.keys.len() {
                key.push(row.try_get::<String, _>(i)?);
            }
            let place = key.join("/");
            let value = match c.kind {
                Kind::Text => {
                    let clear: String = row.try_get(c.keys.len())?;
                    self.seal(table, &place, column, &clear)?
                }
                Kind::Bytes => {
                    let clear: Vec<u8> = row.try_get(c.keys.len())?;
                    self.seal_bytes(table, &place, column, Some(&clear))?
                }
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(update.clone())).bind(value);
            for k in &key {
                query = query.bind(k.as_str());
            }
            query.execute(&mut *tx).await?;
            sealed += 1;
        }
        tx.commit().await?;
        Ok(sealed)
    }
}

/// The kit seals text: bytes go as Latin-1 text, one character (U+0000 to U+00FF) per byte,
/// which maps back exactly.
fn bytes_as_text(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

fn text_as_bytes(text: &str) -> Result<Vec<u8>> {
    text.chars()
        .map(|c| {
            u8::try_from(c)
                .map_err(|_| Error::Internal(anyhow::anyhow!("sealed bytes are not Latin-1 text")))
        })
        .collect()
}

/// What a personal column holds.
enum Kind {
    /// Text; empty when there is none.
    Text,
    /// Bytes; NULL when there are none.
    Bytes,
}

/// A personal column kept in clear before, and the key of its rows, joined by `/` in the
/// value's place.
struct ClearColumn {
    table: &'static str,
    keys: &'static [&'static str],
    column: &'static str,
    kind: Kind,
}

/// Every personal value customer-service stores sealed: phone numbers and signatures (ID
/// numbers are kept only as a masked form and a keyed digest, KEY-9).
const CLEAR_COLUMNS: &[ClearColumn] = &[
    ClearColumn {
        table: "residents",
        keys: &["household_id", "position"],
        column: "phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "complaints",
        keys: &["id"],
        column: "complainant_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "contacts",
        keys: &["property_id", "number"],
        column: "caller_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "customer_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "disclaimer_signer",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "disclaimer_image",
        kind: Kind::Bytes,
    },
    ClearColumn {
        table: "key_sets",
        keys: &["id"],
        column: "collector_signer",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_set_collectors",
        keys: &["key_set_id", "position"],
        column: "phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_loans",
        keys: &["id"],
        column: "borrower_phone",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "key_loans",
        keys: &["id"],
        column: "borrower_signature",
        kind: Kind::Text,
    },
    ClearColumn {
        table: "visits",
        keys: &["id"],
        column: "customer_phone",
        kind: Kind::Text,
    },
];
