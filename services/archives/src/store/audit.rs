use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
};

use crate::domain::audit::{Entry, GENESIS, Happening, Verification, Verifier};

const COLUMNS: &str = "property_id, seq, occur_at, actor_id, actor_name, actor_role, action, \
    outcome, reason, subject_kind, subject_id, access_request_id, detail, previous_hash, hash";

/// Appends `happening` to its property's chain inside `tx` (ARC-12). Taking the next number
/// locks the head until the transaction ends, so entries chain in commit order; write it
/// last in a transaction.
pub async fn append(tx: &mut Tx, happening: Happening) -> Result<Entry> {
    sqlx::query(
        "INSERT INTO audit_heads (property_id, last_seq, last_hash) VALUES ($1, 0, $2) \
         ON CONFLICT (property_id) DO NOTHING",
    )
    .bind(&happening.property_id)
    .bind(GENESIS)
    .execute(&mut **tx)
    .await?;
    let (seq, previous_hash): (i64, String) = sqlx::query_as(
        "UPDATE audit_heads SET last_seq = last_seq + 1 WHERE property_id = $1 \
         RETURNING last_seq, last_hash",
    )
    .bind(&happening.property_id)
    .fetch_one(&mut **tx)
    .await?;
    let entry = happening.chain(seq, previous_hash);
    sqlx::query(
        "INSERT INTO audit_entries (property_id, seq, occur_at, actor_id, actor_name, actor_role, \
         action, outcome, reason, subject_kind, subject_id, access_request_id, detail, \
         previous_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&entry.property_id)
    .bind(entry.seq)
    .bind(to_micros(entry.occurred_at))
    .bind(&entry.actor.user_id)
    .bind(&entry.actor.name)
    .bind(&entry.actor.role)
    .bind(&entry.action)
    .bind(&entry.outcome)
    .bind(&entry.reason)
    .bind(&entry.subject_kind)
    .bind(&entry.subject_id)
    .bind(&entry.access_request_id)
    .bind(&entry.detail)
    .bind(&entry.previous_hash)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_heads SET last_hash = $2 WHERE property_id = $1")
        .bind(&entry.property_id)
        .bind(&entry.hash)
        .execute(&mut **tx)
        .await?;
    Ok(entry)
}

/// Records `happening` in a transaction of its own: a refusal, whose call writes nothing else.
pub async fn record(db: &Db, happening: Happening) -> Result<()> {
    let mut tx = db.begin().await?;
    append(&mut tx, happening).await?;
    tx.commit().await?;
    Ok(())
}

/// Entries of a property after `after_seq`, oldest first.
pub async fn list(db: &Db, property_id: &str, after_seq: i64, limit: i64) -> Result<Vec<Entry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_entries WHERE property_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Recomputes the chain of a property up to its head, page by page.
pub async fn verify(db: &Db, property_id: &str) -> Result<Verification> {
    // The head first: entries appended meanwhile lie beyond it and are left for next time.
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT last_seq, last_hash FROM audit_heads WHERE property_id = $1")
            .bind(property_id)
            .fetch_optional(db.pool())
            .await?;
    let up_to = head.as_ref().map_or(i64::MAX, |(seq, _)| *seq);
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_entries WHERE property_id = $1 AND seq > $2 AND seq <= $3 \
         ORDER BY seq LIMIT 1000"
    );
    let mut verifier = Verifier::default();
    let mut after = 0;
    'pages: loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(property_id)
            .bind(after)
            .bind(up_to)
            .fetch_all(db.pool())
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let entry = from_row(row)?;
            after = entry.seq;
            if !verifier.push(&entry) {
                break 'pages;
            }
        }
    }
    Ok(verifier.finish(head))
}

fn from_row(row: &AnyRow) -> Result<Entry> {
    Ok(Entry {
        property_id: row.try_get("property_id")?,
        seq: row.try_get("seq")?,
        occurred_at: from_micros(row.try_get("occur_at")?),
        actor: Actor {
            user_id: row.try_get("actor_id")?,
            name: row.try_get("actor_name")?,
            role: row.try_get("actor_role")?,
        },
        action: row.try_get("action")?,
        outcome: row.try_get("outcome")?,
        reason: row.try_get("reason")?,
        subject_kind: row.try_get("subject_kind")?,
        subject_id: row.try_get("subject_id")?,
        access_request_id: row.try_get("access_request_id")?,
        detail: row.try_get("detail")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}
