//! The call and visit log (客户来电来访登记表): every contact gets the property's next number
//! (CMP-2); a complaint keeps the number of the entry it comes from.

use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Tx, from_micros, to_micros},
    identity::Actor,
};

use super::{Store, decode};
use crate::domain::{
    complaints::{Channel, Complainant},
    contacts::{ContactEntry, ContactKind},
};

/// Marks the log entry `number` as the complaint `complaint_id`, if it is no complaint yet:
/// whether it was.
pub async fn link_complaint(
    tx: &mut Tx,
    property_id: &str,
    number: i64,
    complaint_id: &str,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE contacts SET kind = 'complaint', complaint_id = $3 \
         WHERE property_id = $1 AND number = $2 AND complaint_id IS NULL",
    )
    .bind(property_id)
    .bind(number)
    .bind(complaint_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Whether the property's log has the entry `number`.
pub async fn exists(tx: &mut Tx, property_id: &str, number: i64) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM contacts WHERE property_id = $1 AND number = $2")
        .bind(property_id)
        .bind(number)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// Writes a log entry.
pub async fn insert(store: &Store, tx: &mut Tx, e: &ContactEntry) -> Result<()> {
    let phone = store.seal(
        "contacts",
        &format!("{}/{}", e.property_id, e.number),
        "caller_phone",
        &e.caller.phone,
    )?;
    sqlx::query(
        "INSERT INTO contacts (property_id, number, channel, kind, register_at, registered_by, \
         registered_by_name, registered_by_role, caller_name, caller_phone, caller_phone_sealed, \
         unit_id, summary, complaint_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10, $11, $12, $13)",
    )
    .bind(&e.property_id)
    .bind(e.number)
    .bind(e.channel.code())
    .bind(e.kind.code())
    .bind(to_micros(e.registered_at))
    .bind(&e.registered_by.user_id)
    .bind(&e.registered_by.name)
    .bind(&e.registered_by.role)
    .bind(&e.caller.name)
    .bind(phone)
    .bind(e.unit_id.as_deref())
    .bind(&e.summary)
    .bind(e.complaint_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const COLUMNS: &str = "property_id, number, channel, kind, register_at, registered_by, \
    registered_by_name, registered_by_role, caller_name, caller_phone_sealed, unit_id, summary, \
    complaint_id";

/// The entry `number` of the property's log.
pub async fn get(db: &Store, property_id: &str, number: i64) -> Result<Option<ContactEntry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE property_id = $1 AND number = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(number)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(|r| from_row(db, r)).transpose()
}

/// The log, newest number first, below `before`.
pub async fn list(
    db: &Store,
    property_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ContactEntry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE property_id = $1 AND number < $2 ORDER BY number DESC LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| from_row(db, r)).collect()
}

fn from_row(store: &Store, r: &AnyRow) -> Result<ContactEntry> {
    let property_id: String = r.try_get("property_id")?;
    let number: i64 = r.try_get("number")?;
    let phone = store.open(
        "contacts",
        &format!("{property_id}/{number}"),
        "caller_phone",
        r,
    )?;
    Ok(ContactEntry {
        property_id,
        number,
        channel: decode(r.try_get("channel")?, Channel::from_code, "channel")?,
        kind: decode(r.try_get("kind")?, ContactKind::from_code, "contact kind")?,
        caller: Complainant {
            name: r.try_get("caller_name")?,
            phone,
        },
        unit_id: r.try_get("unit_id")?,
        summary: r.try_get("summary")?,
        registered_at: from_micros(r.try_get::<i64, _>("register_at")?),
        registered_by: Actor {
            user_id: r.try_get("registered_by")?,
            name: r.try_get("registered_by_name")?,
            role: r.try_get("registered_by_role")?,
        },
        complaint_id: r.try_get("complaint_id")?,
    })
}
