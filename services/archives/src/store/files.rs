use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    seal::Sealed,
};

use super::{decode, placeholders};
use crate::domain::files::{Category, FilingState, HouseholdFile};

const COLUMNS: &str = "id, property_id, household_id, unit_id, unit_label, move_in_at, \
    filing_due_at, filed_at, open_at, holder_name, id_number_sealed, phone_sealed, sealed_key_id";

/// A household file as stored, with its personal identifiers still sealed.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub file: HouseholdFile,
    pub id_number: Option<Sealed>,
    pub phone: Option<Sealed>,
}

/// Opens the file of a household that moved in; false when it is open already (ARC-3).
pub async fn open(tx: &mut Tx, file: &HouseholdFile) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO household_files (id, property_id, household_id, unit_id, unit_label, \
         move_in_at, filing_due_at, filed_at, open_at, holder_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9) \
         ON CONFLICT (property_id, household_id) DO NOTHING",
    )
    .bind(&file.id)
    .bind(&file.property_id)
    .bind(&file.household_id)
    .bind(&file.unit_id)
    .bind(&file.unit_label)
    .bind(to_micros(file.moved_in_at))
    .bind(to_micros(file.filing_due_at))
    .bind(to_micros(file.opened_at))
    .bind(&file.holder_name)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

pub async fn get<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    property_id: &str,
    id: &str,
) -> Result<Option<StoredFile>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM household_files WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Files of a property after the id `after`, in the order they were opened, in `state` at
/// `now` when given.
pub async fn list(
    db: &Db,
    property_id: &str,
    state: Option<FilingState>,
    now: DateTime<Utc>,
    after: &str,
    limit: i64,
) -> Result<Vec<StoredFile>> {
    let condition = match state {
        None => "1 = 1",
        Some(FilingState::Open) => "filed_at IS NULL AND filing_due_at > $3",
        Some(FilingState::Overdue) => "filed_at IS NULL AND filing_due_at <= $3",
        Some(FilingState::Filed) => "filed_at IS NOT NULL AND filed_at < filing_due_at AND $3 = $3",
        Some(FilingState::FiledLate) => {
            "filed_at IS NOT NULL AND filed_at >= filing_due_at AND $3 = $3"
        }
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM household_files WHERE property_id = $1 AND id > $2 \
         AND ({condition}) ORDER BY id LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(after)
        .bind(to_micros(now))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The categories present in each of `file_ids`.
pub async fn categories<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    file_ids: &[&str],
) -> Result<BTreeMap<String, BTreeSet<Category>>> {
    let mut present: BTreeMap<String, BTreeSet<Category>> = file_ids
        .iter()
        .map(|id| (id.to_string(), BTreeSet::new()))
        .collect();
    if file_ids.is_empty() {
        return Ok(present);
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT household_file_id, category FROM documents \
         WHERE household_file_id IN ({})",
        placeholders(1, file_ids.len())
    ));
    let mut query = sqlx::query_as::<_, (String, String)>(sql);
    for id in file_ids {
        query = query.bind(*id);
    }
    for (file_id, code) in query.fetch_all(executor).await? {
        let category = decode(&code, Category::from_code, "category")?;
        present.entry(file_id).or_default().insert(category);
    }
    Ok(present)
}

/// Marks the file complete at `at`, once (ARC-4).
pub async fn mark_filed(tx: &mut Tx, id: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE household_files SET filed_at = $2 WHERE id = $1 AND filed_at IS NULL")
        .bind(id)
        .bind(to_micros(at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Replaces the holder's name and sealed identifiers (ARC-6, ARC-11).
pub async fn record_personal_data(
    tx: &mut Tx,
    id: &str,
    holder_name: &str,
    id_number: Option<&Sealed>,
    phone: Option<&Sealed>,
    key_id: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE household_files SET holder_name = $2, id_number_sealed = $3, phone_sealed = $4, \
         sealed_key_id = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(holder_name)
    .bind(id_number.map(|s| s.bytes.clone()))
    .bind(phone.map(|s| s.bytes.clone()))
    .bind(key_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<StoredFile> {
    let key_id: Option<String> = row.try_get("sealed_key_id")?;
    let sealed = |column: &str| -> Result<Option<Sealed>> {
        let bytes: Option<Vec<u8>> = row.try_get(column)?;
        Ok(bytes
            .zip(key_id.clone())
            .map(|(bytes, key_id)| Sealed { key_id, bytes }))
    };
    Ok(StoredFile {
        id_number: sealed("id_number_sealed")?,
        phone: sealed("phone_sealed")?,
        file: HouseholdFile {
            id: row.try_get("id")?,
            property_id: row.try_get("property_id")?,
            household_id: row.try_get("household_id")?,
            unit_id: row.try_get("unit_id")?,
            unit_label: row.try_get("unit_label")?,
            moved_in_at: from_micros(row.try_get("move_in_at")?),
            filing_due_at: from_micros(row.try_get("filing_due_at")?),
            filed_at: row.try_get::<Option<i64>, _>("filed_at")?.map(from_micros),
            opened_at: from_micros(row.try_get("open_at")?),
            holder_name: row.try_get("holder_name")?,
        },
    })
}
