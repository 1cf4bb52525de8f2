use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    identity::Actor,
    seal::Keyring,
};

use crate::domain::audit::{Entry, GENESIS, Happening};

const COLUMNS: &str = "property_id, seq, occur_at, actor_id, actor_name, actor_role, action, \
    outcome, reason, subject_kind, subject_id, access_request_id, detail, key_id, \
    previous_hash, hash";

/// Entries read per query while a chain is walked.
pub const PAGE: i64 = 1000;

/// Appends `happening` to its property's chain inside `tx` (ARC-12), linked under the
/// keyring's current key. Taking the next number locks the head until the transaction ends,
/// so entries chain in commit order; write it last in a transaction.
pub async fn append(tx: &mut Tx, keyring: &Keyring, happening: Happening) -> Result<Entry> {
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
    let entry = happening.chain(seq, previous_hash, keyring)?;
    sqlx::query(
        "INSERT INTO audit_entries (property_id, seq, occur_at, actor_id, actor_name, actor_role, \
         action, outcome, reason, subject_kind, subject_id, access_request_id, detail, key_id, \
         previous_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
    .bind(&entry.key_id)
    .bind(&entry.previous_hash)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await?;
    set_head_hash(tx, &entry.property_id, &entry.hash).await?;
    Ok(entry)
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

/// The head of a property's chain: its last number and link.
pub async fn head<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    property_id: &str,
) -> Result<Option<(i64, String)>> {
    Ok(
        sqlx::query_as("SELECT last_seq, last_hash FROM audit_heads WHERE property_id = $1")
            .bind(property_id)
            .fetch_optional(executor)
            .await?,
    )
}

/// Entries `after + 1 ..= up_to` of a property, at most [`PAGE`], oldest first.
pub async fn page<'c, E: sqlx::AnyExecutor<'c>>(
    executor: E,
    property_id: &str,
    after: i64,
    up_to: i64,
) -> Result<Vec<Entry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_entries WHERE property_id = $1 AND seq > $2 AND seq <= $3 \
         ORDER BY seq LIMIT {PAGE}"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(after)
        .bind(up_to)
        .fetch_all(executor)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The properties whose chain holds entries hashed before links were keyed.
pub async fn unkeyed_properties(db: &Db) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT property_id FROM audit_entries WHERE key_id = '' ORDER BY property_id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

/// Takes the head's row lock, so that no entry is appended until the transaction ends, and
/// gives the head.
pub async fn lock_head(tx: &mut Tx, property_id: &str) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "UPDATE audit_heads SET last_seq = last_seq WHERE property_id = $1 \
         RETURNING last_seq, last_hash",
    )
    .bind(property_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Rewrites the link of one entry (its key, previous link and link).
pub async fn set_link(tx: &mut Tx, entry: &Entry) -> Result<()> {
    sqlx::query(
        "UPDATE audit_entries SET key_id = $3, previous_hash = $4, hash = $5 \
         WHERE property_id = $1 AND seq = $2",
    )
    .bind(&entry.property_id)
    .bind(entry.seq)
    .bind(&entry.key_id)
    .bind(&entry.previous_hash)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the link the head of a property's chain holds.
pub async fn set_head_hash(tx: &mut Tx, property_id: &str, hash: &str) -> Result<()> {
    sqlx::query("UPDATE audit_heads SET last_hash = $2 WHERE property_id = $1")
        .bind(property_id)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
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
        key_id: row.try_get("key_id")?,
        previous_hash: row.try_get("previous_hash")?,
        hash: row.try_get("hash")?,
    })
}
