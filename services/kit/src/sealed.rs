//! A department's database with the keyring its personal columns are sealed with (ARC-6,
//! ARC-11). A personal value is stored in `<column>_sealed`, bound to its place (table, row,
//! column), so a ciphertext copied into another row or column does not open; a value that is
//! compared but never read back (an ID number, KEY-9) is stored as its keyed digest. Queries
//! that write or read one take a [`SealedDb`]; the others the plain [`Db`] it dereferences to.

use sqlx::{Row, any::AnyRow};

use crate::{
    Result,
    db::{Backend, Db},
    seal::Keyring,
};

#[derive(Clone)]
pub struct SealedDb {
    db: Db,
    keyring: Keyring,
}

impl std::ops::Deref for SealedDb {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

/// Where a sealed value lives: its table, its row's key and its column.
fn place(table: &str, row: &str, column: &str) -> String {
    format!("{table}/{row}/{column}")
}

/// The context of a column's blind index: no place (table/row/column) is one.
fn index_context(table: &str, column: &str) -> String {
    format!("blind-index:{table}/{column}")
}

/// What a personal column holds.
pub enum Kind {
    /// Text; empty when there is none.
    Text,
    /// Bytes (a signature image); NULL when there are none.
    Bytes,
}

/// A personal column a database may still hold in clear (written before it was sealed), and
/// the key of its rows, joined by `/` in the value's place.
pub struct ClearColumn {
    pub table: &'static str,
    pub keys: &'static [&'static str],
    pub column: &'static str,
    pub kind: Kind,
}

impl SealedDb {
    pub fn new(db: Db, keyring: Keyring) -> Self {
        Self { db, keyring }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Seals a personal value for its place; an empty value is stored as NULL.
    pub fn seal(
        &self,
        table: &str,
        row: &str,
        column: &str,
        clear: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.seal_bytes(table, row, column, Some(clear.as_bytes()))
    }

    /// Opens the sealed column `<column>_sealed` of `row`.
    pub fn open(&self, table: &str, key: &str, column: &str, row: &AnyRow) -> Result<String> {
        let stored: Option<Vec<u8>> = row.try_get(format!("{column}_sealed").as_str())?;
        Ok(self
            .keyring
            .open_value(&place(table, key, column), stored.as_deref())?)
    }

    /// Seals bytes for their place; none or empty is stored as NULL.
    pub fn seal_bytes(
        &self,
        table: &str,
        row: &str,
        column: &str,
        clear: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .keyring
            .seal_bytes_value(&place(table, row, column), clear.unwrap_or_default())?)
    }

    /// Opens bytes sealed by [`SealedDb::seal_bytes`]; `None` when there are none.
    pub fn open_bytes(
        &self,
        table: &str,
        key: &str,
        column: &str,
        stored: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        let bytes = self
            .keyring
            .open_bytes_value(&place(table, key, column), stored)?;
        Ok((!bytes.is_empty()).then_some(bytes))
    }

    /// The keyed digest of a value that is compared but never read back, bound to its place.
    pub fn digest(&self, table: &str, row: &str, column: &str, value: &str) -> Vec<u8> {
        self.keyring
            .digest_value(&place(table, row, column), value.as_bytes())
    }

    /// The blind index of a personal value of `column` (ARC-6): its keyed digest for the
    /// column, the same in every row, so the rows holding a value are found without opening
    /// them. It tells equal values apart from others and nothing more; nobody without the
    /// keyring can compute it from a guess.
    pub fn blind_index(&self, table: &str, column: &str, value: &str) -> Vec<u8> {
        self.keyring
            .digest_value(&index_context(table, column), value.as_bytes())
    }

    /// What the blind index of `value` may be stored as: one digest per key of the ring
    /// ([`SealedDb::blind_index_keys`] of them), so rows indexed before a rotation are found.
    pub fn blind_index_candidates(&self, table: &str, column: &str, value: &str) -> Vec<Vec<u8>> {
        self.keyring
            .digest_values_every_key(&index_context(table, column), value.as_bytes())
    }

    /// How many candidates [`SealedDb::blind_index_candidates`] gives.
    pub fn blind_index_keys(&self) -> usize {
        self.keyring.key_count()
    }

    /// Whether `value` is the one whose digest [`SealedDb::digest`] stored at this place.
    pub fn digest_matches(
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

    /// Seals the personal values of `columns` still stored in clear and clears them, column by
    /// column, each in one transaction. Runs before the service serves. On SQLite the file is
    /// then rebuilt, so the clear values do not linger in freed pages or the write-ahead log.
    pub async fn seal_clear_values(&self, columns: &[ClearColumn]) -> Result<u64> {
        let mut sealed = 0;
        for c in columns {
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
