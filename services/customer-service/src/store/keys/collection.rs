//! Collection against ID (KEY-9): the hand-over, the refusal log and IDs recorded again.

use sqlx::Row;
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
};

use super::{Store, actor, id_digest, inserted, masked_id};
use crate::domain::keys::{Collection, IdRecord, OnFile, Refusal, RefusalRecord, ShownId};

/// Closes the custody with its hand-over, only from in_cabinet; 0 when a loan or another
/// collection came first.
pub async fn hand_over(db: &Store, tx: &mut Tx, set_id: &str, c: &Collection) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE key_sets SET state = 'collected', collector_name = $2, collector_designated = $3, \
         collector_id_type = $4, collector_id_masked = $5, collector_signer = '', \
         collector_signer_sealed = $6, close_at = $7, closed_by_id = $8, closed_by_name = $9, \
         closed_by_role = $10 WHERE id = $1 AND state = 'in_cabinet'",
    )
    .bind(set_id)
    .bind(&c.collector_name)
    .bind(i64::from(c.designated))
    .bind(c.id.id_type.code())
    .bind(&c.id.masked)
    .bind(db.seal("key_sets", set_id, "collector_signer", &c.signer_name)?)
    .bind(to_micros(c.collected_at))
    .bind(&c.handed_over_by.user_id)
    .bind(&c.handed_over_by.name)
    .bind(&c.handed_over_by.role)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Logs a refused claimant, once per request id, outside the refused transaction.
pub async fn log_refusal(
    db: &Store,
    property_id: &str,
    request_id: &str,
    r: &RefusalRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO key_refusals (id, property_id, key_set_id, request_id, reason, \
         claimant_name, id_type, id_masked, refuse_at, refused_by_id, refused_by_name, \
         refused_by_role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (property_id, request_id) DO NOTHING",
    )
    .bind(&r.id)
    .bind(property_id)
    .bind(&r.key_set_id)
    .bind(request_id)
    .bind(r.refusal.reason())
    .bind(&r.claimant_name)
    .bind(r.id_shown.id_type.code())
    .bind(&r.id_shown.masked)
    .bind(to_micros(r.refused_at))
    .bind(&r.refused_by.user_id)
    .bind(&r.refused_by.name)
    .bind(&r.refused_by.role)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub fn holder_code(whose: OnFile) -> (&'static str, i64) {
    match whose {
        OnFile::Customer => ("customer", 0),
        OnFile::Collector(i) => ("designated_collector", i as i64),
    }
}

/// Sets the keyed digest of the person's whole number on the form where it is still NULL and
/// the custody open (under the same place, hence the same context, as the entrustment's
/// digest); 0 when another record or the collection came first.
pub async fn record_digest(
    db: &Store,
    tx: &mut Tx,
    set_id: &str,
    whose: OnFile,
    shown: &ShownId,
) -> Result<u64> {
    let digest = id_digest(db, set_id, whose, shown);
    let changed = match whose {
        OnFile::Customer => sqlx::query(
            "UPDATE key_sets SET customer_id_digest = $2 WHERE id = $1 \
             AND customer_id_digest IS NULL AND state <> 'collected'",
        )
        .bind(set_id)
        .bind(digest)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        OnFile::Collector(position) => sqlx::query(
            "UPDATE key_set_collectors SET id_digest = $3 WHERE key_set_id = $1 \
             AND position = $2 AND id_digest IS NULL AND EXISTS \
             (SELECT 1 FROM key_sets WHERE id = $1 AND state <> 'collected')",
        )
        .bind(set_id)
        .bind(position as i64)
        .bind(digest)
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    Ok(changed)
}

/// Inserts the record of an ID recorded again; `Ok(false)`: the unique index keeps one record
/// per person.
pub async fn insert_id_record(tx: &mut Tx, r: &IdRecord) -> Result<bool> {
    let (holder, position) = holder_code(r.whose);
    let result = sqlx::query(
        "INSERT INTO key_id_records (id, property_id, key_set_id, holder, position, holder_name, \
         id_type, id_masked, record_at, recorded_by_id, recorded_by_name, recorded_by_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&r.id)
    .bind(&r.property_id)
    .bind(&r.key_set_id)
    .bind(holder)
    .bind(position)
    .bind(&r.holder_name)
    .bind(r.document.id_type.code())
    .bind(&r.document.masked)
    .bind(to_micros(r.recorded_at))
    .bind(&r.recorded_by.user_id)
    .bind(&r.recorded_by.name)
    .bind(&r.recorded_by.role)
    .execute(&mut **tx)
    .await;
    inserted(result)
}

/// An ID recorded again, by its id.
pub async fn get_id_record(db: &Store, property_id: &str, id: &str) -> Result<Option<IdRecord>> {
    let row = sqlx::query(
        "SELECT r.id, r.property_id, r.key_set_id, s.number, r.holder, r.position, \
         r.holder_name, r.id_type, r.id_masked, r.record_at, r.recorded_by_id, \
         r.recorded_by_name, r.recorded_by_role \
         FROM key_id_records r JOIN key_sets s ON s.id = r.key_set_id \
         WHERE r.property_id = $1 AND r.id = $2",
    )
    .bind(property_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let holder: String = row.try_get("holder")?;
    let whose = match holder.as_str() {
        "customer" => OnFile::Customer,
        "designated_collector" => OnFile::Collector(row.try_get::<i64, _>("position")? as usize),
        other => {
            return Err(Error::Internal(anyhow::anyhow!(
                "unknown ID holder {other:?} in the database"
            )));
        }
    };
    Ok(Some(IdRecord {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        key_set_id: row.try_get("key_set_id")?,
        key_number: row.try_get("number")?,
        whose,
        holder_name: row.try_get("holder_name")?,
        document: masked_id(&row, "id_type", "id_masked")?,
        recorded_at: from_micros(row.try_get("record_at")?),
        recorded_by: actor(&row, "recorded_by")?,
    }))
}

/// The refusal log, newest first.
pub async fn list_refusals(
    db: &Store,
    property_id: &str,
    key_set_id: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<RefusalRecord>> {
    let rows = sqlx::query(
        "SELECT r.id, r.key_set_id, s.number, r.reason, r.claimant_name, r.id_type, r.id_masked, \
         r.refuse_at, r.refused_by_id, r.refused_by_name, r.refused_by_role \
         FROM key_refusals r JOIN key_sets s ON s.id = r.key_set_id \
         WHERE r.property_id = $1 AND ($2 = '' OR r.key_set_id = $2) AND ($3 = '' OR r.id < $3) \
         ORDER BY r.id DESC LIMIT $4",
    )
    .bind(property_id)
    .bind(key_set_id.unwrap_or_default())
    .bind(before_id.unwrap_or_default())
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let reason: String = row.try_get("reason")?;
            Ok(RefusalRecord {
                id: row.try_get("id")?,
                key_set_id: row.try_get("key_set_id")?,
                key_number: row.try_get("number")?,
                refusal: Refusal::from_reason(&reason).ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!(
                        "unknown refusal {reason:?} in the database"
                    ))
                })?,
                claimant_name: row.try_get("claimant_name")?,
                id_shown: masked_id(row, "id_type", "id_masked")?,
                refused_at: from_micros(row.try_get("refuse_at")?),
                refused_by: actor(row, "refused_by")?,
            })
        })
        .collect()
}
