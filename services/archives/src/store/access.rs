use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use super::{actor, decode, maybe_actor};
use crate::domain::access::{AccessRequest, AccessState, CopyRecord, OfficialReading, ReaderKind};

const COLUMNS: &str = "id, property_id, household_file_id, personal_data, copying, purpose, \
    reader_kind, official_name, official_body, proof_kind, proof_number, valid_until, state, \
    requested_by_id, requested_by_name, requested_by_role, request_at, decided_by_id, \
    decided_by_name, decided_by_role, decide_at, decision_note";

pub async fn insert(tx: &mut Tx, r: &AccessRequest) -> Result<()> {
    let official = r.official.clone().unwrap_or_default();
    sqlx::query(
        "INSERT INTO access_requests (id, property_id, household_file_id, personal_data, copying, \
         purpose, reader_kind, official_name, official_body, proof_kind, proof_number, \
         valid_until, state, requested_by_id, requested_by_name, requested_by_role, request_at, \
         decision_note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, '')",
    )
    .bind(&r.id)
    .bind(&r.property_id)
    .bind(&r.household_file_id)
    .bind(i64::from(r.personal_data))
    .bind(i64::from(r.copying))
    .bind(&r.purpose)
    .bind(r.reader_kind.code())
    .bind(&official.official_name)
    .bind(&official.official_body)
    .bind(&official.proof_kind)
    .bind(&official.proof_number)
    .bind(to_micros(r.valid_until))
    .bind(r.state.code())
    .bind(&r.requested_by.user_id)
    .bind(&r.requested_by.name)
    .bind(&r.requested_by.role)
    .bind(to_micros(r.requested_at))
    .execute(&mut **tx)
    .await?;
    for document_id in &r.document_ids {
        sqlx::query(
            "INSERT INTO access_request_documents (access_request_id, document_id) VALUES ($1, $2)",
        )
        .bind(&r.id)
        .bind(document_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn get(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<AccessRequest>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_requests WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut request = from_row(&row)?;
    request.document_ids = document_ids(tx, id).await?;
    Ok(Some(request))
}

async fn document_ids(tx: &mut Tx, id: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT document_id FROM access_request_documents WHERE access_request_id = $1 \
         ORDER BY document_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Requests of a property (in one reading transaction), newest first, before the id `before` (empty: from the newest).
pub async fn list(
    tx: &mut Tx,
    property_id: &str,
    state: Option<AccessState>,
    before: &str,
    limit: i64,
) -> Result<Vec<AccessRequest>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_requests WHERE property_id = $1 \
         AND ($2 = '' OR state = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(state.map(AccessState::code).unwrap_or_default())
        .bind(before)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    let mut requests = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut request = from_row(row)?;
        request.document_ids = document_ids(tx, &request.id).await?;
        requests.push(request);
    }
    Ok(requests)
}

/// Records the decision on a pending request; false when it was no longer pending.
pub async fn decide(
    tx: &mut Tx,
    id: &str,
    state: AccessState,
    by: &Actor,
    at: DateTime<Utc>,
    note: &str,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE access_requests SET state = $2, decided_by_id = $3, decided_by_name = $4, \
         decided_by_role = $5, decide_at = $6, decision_note = $7 \
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state.code())
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .bind(to_micros(at))
    .bind(note)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

pub async fn insert_copy(tx: &mut Tx, c: &CopyRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO copies (id, property_id, document_id, access_request_id, copies, purpose, \
         copied_by_id, copied_by_name, copied_by_role, copy_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&c.id)
    .bind(&c.property_id)
    .bind(&c.document_id)
    .bind(&c.access_request_id)
    .bind(i64::from(c.copies))
    .bind(&c.purpose)
    .bind(&c.copied_by.user_id)
    .bind(&c.copied_by.name)
    .bind(&c.copied_by.role)
    .bind(to_micros(c.copied_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_copy(db: &Db, property_id: &str, id: &str) -> Result<Option<CopyRecord>> {
    let row = sqlx::query(
        "SELECT id, property_id, document_id, access_request_id, copies, purpose, copied_by_id, \
         copied_by_name, copied_by_role, copy_at FROM copies WHERE property_id = $1 AND id = $2",
    )
    .bind(property_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(CopyRecord {
            id: row.try_get("id")?,
            property_id: row.try_get("property_id")?,
            document_id: row.try_get("document_id")?,
            access_request_id: row.try_get("access_request_id")?,
            copies: row.try_get::<i64, _>("copies")? as i32,
            purpose: row.try_get("purpose")?,
            copied_by: actor(&row, "copied_by")?,
            copied_at: from_micros(row.try_get("copy_at")?),
        })
    })
    .transpose()
}

fn from_row(row: &AnyRow) -> Result<AccessRequest> {
    let reader_kind = decode(
        row.try_get("reader_kind")?,
        ReaderKind::from_code,
        "reader kind",
    )?;
    let official = (reader_kind == ReaderKind::GovernmentOfficial)
        .then(|| -> Result<OfficialReading> {
            Ok(OfficialReading {
                official_name: row.try_get("official_name")?,
                official_body: row.try_get("official_body")?,
                proof_kind: row.try_get("proof_kind")?,
                proof_number: row.try_get("proof_number")?,
            })
        })
        .transpose()?;
    Ok(AccessRequest {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        household_file_id: row.try_get("household_file_id")?,
        document_ids: Vec::new(),
        personal_data: row.try_get::<i64, _>("personal_data")? != 0,
        copying: row.try_get::<i64, _>("copying")? != 0,
        purpose: row.try_get("purpose")?,
        reader_kind,
        official,
        valid_until: from_micros(row.try_get("valid_until")?),
        state: decode(
            row.try_get("state")?,
            AccessState::from_code,
            "access state",
        )?,
        requested_by: actor(row, "requested_by")?,
        requested_at: from_micros(row.try_get("request_at")?),
        decided_by: maybe_actor(row, "decided_by")?,
        decided_at: row.try_get::<Option<i64>, _>("decide_at")?.map(from_micros),
        decision_note: row.try_get("decision_note")?,
    })
}
