use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use super::{actor, decode, maybe_actor};
use crate::domain::retention::{
    Proposal, ProposalState, RetainedRecord, RetainedState, RetentionClass,
};

const COLUMNS: &str = "id, property_id, source, record_kind, record_id, retention_class, close_at, \
    retain_until, summary, size_bytes, state, proposal_id, destroy_at, handed_by_id, \
    handed_by_name, handed_by_role, hand_over_at";

const PROPOSAL_COLUMNS: &str = "id, property_id, state, proposed_by_id, proposed_by_name, \
    proposed_by_role, propose_at, approved_by_id, approved_by_name, approved_by_role, approve_at";

/// Keeps `r` with its content sealed (`content_sealed`, see [`CONTENT`]).
/// The column of a record's content, sealed at rest; the content was kept in clear before.
pub const CONTENT: wuye_kit::sealed::ClearColumn = wuye_kit::sealed::ClearColumn {
    table: "retained_records",
    keys: &["id"],
    column: "content",
    kind: wuye_kit::sealed::Kind::Bytes,
};

pub async fn insert(tx: &mut Tx, r: &RetainedRecord, sealed: Option<Vec<u8>>) -> Result<()> {
    sqlx::query(
        "INSERT INTO retained_records (id, property_id, source, record_kind, record_id, \
         retention_class, close_at, retain_until, summary, content_sealed, size_bytes, state, \
         handed_by_id, handed_by_name, handed_by_role, hand_over_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&r.id)
    .bind(&r.property_id)
    .bind(&r.source)
    .bind(&r.record_kind)
    .bind(&r.record_id)
    .bind(r.class.code())
    .bind(to_micros(r.closed_at))
    .bind(to_micros(r.retain_until))
    .bind(&r.summary)
    .bind(sealed)
    .bind(r.size_bytes)
    .bind(r.state.code())
    .bind(&r.handed_over_by.user_id)
    .bind(&r.handed_over_by.name)
    .bind(&r.handed_over_by.role)
    .bind(to_micros(r.handed_over_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<Option<RetainedRecord>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM retained_records WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(
    db: &Db,
    property_id: &str,
    state: Option<RetainedState>,
    after: &str,
    limit: i64,
) -> Result<Vec<RetainedRecord>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM retained_records WHERE property_id = $1 \
         AND ($2 = '' OR state = $2) AND id > $3 ORDER BY id LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(state.map(RetainedState::code).unwrap_or_default())
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Puts every kept record of the property whose retention has passed at `now` into the
/// proposal; returns how many.
pub async fn propose_due(tx: &mut Tx, proposal: &Proposal, now: DateTime<Utc>) -> Result<u64> {
    sqlx::query(
        "INSERT INTO destruction_proposals (id, property_id, state, proposed_by_id, \
         proposed_by_name, proposed_by_role, propose_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&proposal.id)
    .bind(&proposal.property_id)
    .bind(proposal.state.code())
    .bind(&proposal.proposed_by.user_id)
    .bind(&proposal.proposed_by.name)
    .bind(&proposal.proposed_by.role)
    .bind(to_micros(proposal.proposed_at))
    .execute(&mut **tx)
    .await?;
    let proposed = sqlx::query(
        "UPDATE retained_records SET state = 'proposed', proposal_id = $1 \
         WHERE property_id = $2 AND state = 'kept' AND retain_until <= $3",
    )
    .bind(&proposal.id)
    .bind(&proposal.property_id)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(proposed)
}

pub async fn get_proposal<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    property_id: &str,
    id: &str,
) -> Result<Option<Proposal>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {PROPOSAL_COLUMNS} FROM destruction_proposals WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.map(|row| {
        Ok(Proposal {
            id: row.try_get("id")?,
            property_id: row.try_get("property_id")?,
            state: decode(
                row.try_get("state")?,
                ProposalState::from_code,
                "proposal state",
            )?,
            proposed_by: actor(&row, "proposed_by")?,
            proposed_at: from_micros(row.try_get("propose_at")?),
            approved_by: maybe_actor(&row, "approved_by")?,
            approved_at: row
                .try_get::<Option<i64>, _>("approve_at")?
                .map(from_micros),
        })
    })
    .transpose()
}

pub async fn records_of<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    proposal_id: &str,
) -> Result<Vec<RetainedRecord>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM retained_records WHERE proposal_id = $1 ORDER BY id"
    ));
    let rows = sqlx::query(sql)
        .bind(proposal_id)
        .fetch_all(executor)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Destroys the proposal's records that are past their retention at `now`: their content is
/// erased, their rows remain as the record of the destruction (ARC-12).
pub async fn destroy(
    tx: &mut Tx,
    proposal_id: &str,
    approver: &Actor,
    now: DateTime<Utc>,
) -> Result<u64> {
    let destroyed = sqlx::query(
        "UPDATE retained_records SET state = 'destroyed', content = NULL, content_sealed = NULL, \
         size_bytes = 0, \
         destroy_at = $2 WHERE proposal_id = $1 AND state = 'proposed' AND retain_until <= $2",
    )
    .bind(proposal_id)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE destruction_proposals SET state = 'destroyed', approved_by_id = $2, \
         approved_by_name = $3, approved_by_role = $4, approve_at = $5 WHERE id = $1",
    )
    .bind(proposal_id)
    .bind(&approver.user_id)
    .bind(&approver.name)
    .bind(&approver.role)
    .bind(to_micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(destroyed)
}

fn from_row(row: &AnyRow) -> Result<RetainedRecord> {
    Ok(RetainedRecord {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        source: row.try_get("source")?,
        record_kind: row.try_get("record_kind")?,
        record_id: row.try_get("record_id")?,
        class: decode(
            row.try_get("retention_class")?,
            RetentionClass::from_code,
            "retention class",
        )?,
        closed_at: from_micros(row.try_get("close_at")?),
        retain_until: from_micros(row.try_get("retain_until")?),
        summary: row.try_get("summary")?,
        size_bytes: row.try_get("size_bytes")?,
        state: decode(
            row.try_get("state")?,
            RetainedState::from_code,
            "retained state",
        )?,
        proposal_id: row.try_get("proposal_id")?,
        destroyed_at: row
            .try_get::<Option<i64>, _>("destroy_at")?
            .map(from_micros),
        handed_over_by: actor(row, "handed_by")?,
        handed_over_at: from_micros(row.try_get("hand_over_at")?),
    })
}
