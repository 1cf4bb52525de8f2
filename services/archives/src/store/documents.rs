use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
};

use super::{actor, decode};
use crate::domain::{documents::Document, files::Category};

/// `superseded` is whether a later version points back at the row.
const COLUMNS: &str = "d.id, d.property_id, d.household_file_id, d.category, d.title, \
    d.content_type, d.lineage_id, d.version, d.supersedes_id, d.correction_reason, d.size_bytes, \
    d.sha256, d.blob_key, d.content_key_id, d.upload_at, d.uploaded_by_id, d.uploaded_by_name, d.uploaded_by_role, \
    (SELECT COUNT(*) FROM documents n WHERE n.supersedes_id = d.id) AS superseded";

/// Writes a document's record. Documents are only ever inserted (ARC-9).
pub async fn insert(tx: &mut Tx, d: &Document) -> Result<()> {
    sqlx::query(
        "INSERT INTO documents (id, property_id, household_file_id, category, title, content_type, \
         lineage_id, version, supersedes_id, correction_reason, size_bytes, sha256, blob_key, \
         content_key_id, upload_at, uploaded_by_id, uploaded_by_name, uploaded_by_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&d.id)
    .bind(&d.property_id)
    .bind(&d.household_file_id)
    .bind(d.category.code())
    .bind(&d.title)
    .bind(&d.content_type)
    .bind(&d.lineage_id)
    .bind(i64::from(d.version))
    .bind(d.supersedes_id.as_deref())
    .bind(&d.correction_reason)
    .bind(d.size_bytes)
    .bind(&d.sha256)
    .bind(&d.blob_key)
    .bind(d.content_key_id.as_deref())
    .bind(to_micros(d.uploaded_at))
    .bind(&d.uploaded_by.user_id)
    .bind(&d.uploaded_by.name)
    .bind(&d.uploaded_by.role)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    property_id: &str,
    id: &str,
) -> Result<Option<Document>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM documents d WHERE d.property_id = $1 AND d.id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every version of every document of a file, after the id `after`.
pub async fn list(
    db: &Db,
    property_id: &str,
    household_file_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Document>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM documents d WHERE d.property_id = $1 AND d.household_file_id = $2 \
         AND d.id > $3 ORDER BY d.id LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(household_file_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many of `ids` are documents of the household file.
pub async fn count_in_file(tx: &mut Tx, household_file_id: &str, ids: &[String]) -> Result<i64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM documents WHERE household_file_id = $1 AND id IN ({})",
        super::placeholders(2, ids.len())
    ));
    let mut query = sqlx::query_as::<_, (i64,)>(sql).bind(household_file_id);
    for id in ids {
        query = query.bind(id);
    }
    Ok(query.fetch_one(&mut **tx).await?.0)
}

/// A document whose content was stored in clear, before documents were sealed.
#[derive(Debug, Clone)]
pub struct InClear {
    pub id: String,
    pub blob_key: String,
    pub sha256: String,
    pub size_bytes: i64,
}

/// Documents stored in clear with an id after `after`, by id.
pub async fn in_clear(db: &Db, after: &str, limit: i64) -> Result<Vec<InClear>> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, blob_key, sha256, size_bytes FROM documents \
         WHERE content_key_id IS NULL AND id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, blob_key, sha256, size_bytes)| InClear {
            id,
            blob_key,
            sha256,
            size_bytes,
        })
        .collect())
}

/// Records that a document's content is sealed under `key_id` now; the only change a
/// document's row ever takes (its content is the same, ARC-9).
pub async fn mark_sealed(db: &Db, id: &str, key_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE documents SET content_key_id = $2 WHERE id = $1 AND content_key_id IS NULL",
    )
    .bind(id)
    .bind(key_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<Document> {
    Ok(Document {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        household_file_id: row.try_get("household_file_id")?,
        category: decode(row.try_get("category")?, Category::from_code, "category")?,
        title: row.try_get("title")?,
        content_type: row.try_get("content_type")?,
        lineage_id: row.try_get("lineage_id")?,
        version: row.try_get::<i64, _>("version")? as i32,
        supersedes_id: row.try_get("supersedes_id")?,
        superseded: row.try_get::<i64, _>("superseded")? > 0,
        correction_reason: row.try_get("correction_reason")?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        blob_key: row.try_get("blob_key")?,
        content_key_id: row.try_get("content_key_id")?,
        uploaded_at: from_micros(row.try_get("upload_at")?),
        uploaded_by: actor(row, "uploaded_by")?,
    })
}
