//! The cabinet: retention (KEY-10), audits and the per-person figures (KEY-11).

use chrono::{DateTime, Utc};
use sqlx::Row;
use wuye_kit::{
    Result,
    db::{Tx, from_micros, to_micros},
};

use super::{Store, actor};
use crate::domain::keys::{Audit, Deed, Occurrence, SlotMismatch, SlotOnRecord};

// --- Retention (KEY-10) ---------------------------------------------------------------------

/// A custody closed before the cutoff: its id, register number and close.
pub struct ClosedCustody {
    pub id: String,
    pub number: i64,
    pub closed_at: DateTime<Utc>,
}

/// Up to 100 custodies of the property closed before `cutoff`, oldest first.
pub async fn closed_before(
    db: &Store,
    property_id: &str,
    cutoff: DateTime<Utc>,
) -> Result<Vec<ClosedCustody>> {
    let due: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT id, number, close_at FROM key_sets WHERE property_id = $1 AND state = 'collected' \
         AND close_at < $2 ORDER BY close_at LIMIT 100",
    )
    .bind(property_id)
    .bind(to_micros(cutoff))
    .fetch_all(db.pool())
    .await?;
    Ok(due
        .into_iter()
        .map(|(id, number, at)| ClosedCustody {
            id,
            number,
            closed_at: from_micros(at),
        })
        .collect())
}

/// Deletes every record of a custody; the set itself only if it closed before `cutoff`
/// (checked again in the statement). Returns the sets deleted: 0 or 1.
pub async fn delete_custody(tx: &mut Tx, id: &str, cutoff: DateTime<Utc>) -> Result<u64> {
    for sql in [
        "DELETE FROM key_chases WHERE loan_id IN (SELECT id FROM key_loans WHERE key_set_id = $1)",
        "DELETE FROM key_returns WHERE loan_id IN (SELECT id FROM key_loans WHERE key_set_id = $1)",
        "DELETE FROM key_alerts WHERE loan_id IN (SELECT id FROM key_loans WHERE key_set_id = $1)",
        "DELETE FROM key_loans WHERE key_set_id = $1",
        "DELETE FROM key_refusals WHERE key_set_id = $1",
        "DELETE FROM key_id_records WHERE key_set_id = $1",
        "DELETE FROM key_set_collectors WHERE key_set_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(
        sqlx::query("DELETE FROM key_sets WHERE id = $1 AND state = 'collected' AND close_at < $2")
            .bind(id)
            .bind(to_micros(cutoff))
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}

/// Whether the property has an audit done before `cutoff`.
pub async fn audits_before(db: &Store, property_id: &str, cutoff: DateTime<Utc>) -> Result<bool> {
    let old =
        sqlx::query("SELECT 1 FROM key_audits WHERE property_id = $1 AND audit_at < $2 LIMIT 1")
            .bind(property_id)
            .bind(to_micros(cutoff))
            .fetch_optional(db.pool())
            .await?;
    Ok(old.is_some())
}

/// Deletes the property's audits done before `cutoff`.
pub async fn delete_audits_before(
    tx: &mut Tx,
    property_id: &str,
    cutoff: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM key_audit_mismatches WHERE audit_id IN \
         (SELECT id FROM key_audits WHERE property_id = $1 AND audit_at < $2)",
    )
    .bind(property_id)
    .bind(to_micros(cutoff))
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM key_audits WHERE property_id = $1 AND audit_at < $2")
        .bind(property_id)
        .bind(to_micros(cutoff))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// --- Cabinet audit --------------------------------------------------------------------------

/// What the register says each slot of the property holds, in the audit's transaction.
pub async fn register_slots(tx: &mut Tx, property_id: &str) -> Result<Vec<SlotOnRecord>> {
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT slot, id, number, key_count, keys_out FROM key_sets \
         WHERE property_id = $1 AND state <> 'collected'",
    )
    .bind(property_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slot, id, number, count, out)| SlotOnRecord {
            slot,
            key_set_id: id,
            key_number: number,
            keys_in_cabinet: (count - out) as i32,
        })
        .collect())
}

pub async fn insert_audit(tx: &mut Tx, audit: &Audit) -> Result<()> {
    sqlx::query(
        "INSERT INTO key_audits (id, property_id, audit_at, audited_by_id, audited_by_name, \
         audited_by_role, slots_checked, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&audit.id)
    .bind(&audit.property_id)
    .bind(to_micros(audit.audited_at))
    .bind(&audit.audited_by.user_id)
    .bind(&audit.audited_by.name)
    .bind(&audit.audited_by.role)
    .bind(i64::from(audit.slots_checked))
    .bind(&audit.note)
    .execute(&mut **tx)
    .await?;
    for m in &audit.mismatches {
        sqlx::query(
            "INSERT INTO key_audit_mismatches (audit_id, slot, expected, counted, key_set_id, \
             key_number) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&audit.id)
        .bind(&m.slot)
        .bind(i64::from(m.expected))
        .bind(i64::from(m.counted))
        .bind(&m.key_set_id)
        .bind(m.key_number)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn get_audit(db: &Store, property_id: &str, id: &str) -> Result<Option<Audit>> {
    let row = sqlx::query(
        "SELECT id, property_id, audit_at, audited_by_id, audited_by_name, audited_by_role, \
         slots_checked, note FROM key_audits WHERE property_id = $1 AND id = $2",
    )
    .bind(property_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mismatches: Vec<(String, i64, i64, String, i64)> = sqlx::query_as(
        "SELECT slot, expected, counted, key_set_id, key_number FROM key_audit_mismatches \
         WHERE audit_id = $1 ORDER BY slot",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    Ok(Some(Audit {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        audited_at: from_micros(row.try_get("audit_at")?),
        audited_by: actor(&row, "audited_by")?,
        slots_checked: row.try_get::<i64, _>("slots_checked")? as i32,
        note: row.try_get("note")?,
        mismatches: mismatches
            .into_iter()
            .map(
                |(slot, expected, counted, key_set_id, key_number)| SlotMismatch {
                    slot,
                    expected: expected as i32,
                    counted: counted as i32,
                    key_set_id,
                    key_number,
                },
            )
            .collect(),
    }))
}

// --- Per-person figures (KEY-11) ------------------------------------------------------------

/// Every deed of the property's staff between `from` and `to`.
pub async fn occurrences(
    db: &Store,
    property_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Occurrence>> {
    let queries: [(Deed, &'static str); 6] = [
        (
            Deed::LoanHandled,
            "SELECT lent_by_id, lent_by_name, borrow_at FROM key_loans \
             WHERE property_id = $1 AND borrow_at >= $2 AND borrow_at < $3",
        ),
        (
            Deed::ReturnReceived,
            "SELECT r.received_by_id, r.received_by_name, r.return_at FROM key_returns r \
             JOIN key_loans l ON l.id = r.loan_id \
             WHERE l.property_id = $1 AND r.return_at >= $2 AND r.return_at < $3",
        ),
        (
            Deed::LoanBorrowed,
            "SELECT borrower_user_id, borrower_name, borrow_at FROM key_loans \
             WHERE property_id = $1 AND borrow_at >= $2 AND borrow_at < $3",
        ),
        (
            Deed::OverdueLoan,
            "SELECT borrower_user_id, borrower_name, overdue_at FROM key_loans \
             WHERE property_id = $1 AND overdue_at >= $2 AND overdue_at < $3",
        ),
        (
            Deed::Chase,
            "SELECT c.chased_by_id, c.chased_by_name, c.chase_at FROM key_chases c \
             JOIN key_loans l ON l.id = c.loan_id \
             WHERE l.property_id = $1 AND c.chase_at >= $2 AND c.chase_at < $3",
        ),
        (
            Deed::Refusal,
            "SELECT refused_by_id, refused_by_name, refuse_at FROM key_refusals \
             WHERE property_id = $1 AND refuse_at >= $2 AND refuse_at < $3",
        ),
    ];
    let mut out = Vec::new();
    for (deed, sql) in queries {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sql)
            .bind(property_id)
            .bind(to_micros(from))
            .bind(to_micros(to))
            .fetch_all(db.pool())
            .await?;
        out.extend(rows.into_iter().map(|(user_id, name, at)| Occurrence {
            deed,
            user_id,
            name,
            at: from_micros(at),
        }));
    }
    Ok(out)
}
