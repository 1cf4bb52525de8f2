//! The call and visit log (客户来电来访登记表): every contact gets the property's next number
//! (CMP-2); a complaint keeps the number of the entry it comes from.

use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
};

use super::{Store, decode};
use crate::domain::{
    complaints::{Channel, Complainant, Complaint},
    contacts::{ContactEntry, ContactKind},
};

/// Logs the entry of a new complaint under `number`.
pub async fn insert_for_complaint(
    store: &Store,
    tx: &mut Tx,
    c: &Complaint,
    number: i64,
) -> Result<()> {
    let entry = ContactEntry {
        property_id: c.property_id.clone(),
        number,
        channel: c.channel,
        kind: ContactKind::Complaint,
        caller: c.complainant.clone(),
        unit_id: c.unit_id.clone(),
        summary: c.description.chars().take(200).collect(),
        registered_at: c.registered_at,
        registered_by: c.registered_by.clone(),
        complaint_id: Some(c.id.clone()),
    };
    insert(store, tx, &entry).await
}

/// Turns the log entry `number` into the complaint `c`: the complaint keeps its number.
pub async fn make_complaint(tx: &mut Tx, c: &Complaint, number: i64) -> Result<i64> {
    let updated = sqlx::query(
        "UPDATE contacts SET kind = 'complaint', complaint_id = $3 \
         WHERE property_id = $1 AND number = $2 AND complaint_id IS NULL",
    )
    .bind(&c.property_id)
    .bind(number)
    .bind(&c.id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 0 {
        let exists = sqlx::query("SELECT 1 FROM contacts WHERE property_id = $1 AND number = $2")
            .bind(&c.property_id)
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?;
        return Err(match exists {
            None => Error::invalid(
                "contact_number",
                "is not an entry of this property's call and visit log",
            ),
            Some(_) => Error::rule(
                "CONTACT_ALREADY_A_COMPLAINT",
                "this log entry is a complaint already",
            ),
        });
    }
    Ok(number)
}

async fn insert(store: &Store, tx: &mut Tx, e: &ContactEntry) -> Result<()> {
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

pub enum Logged {
    New(Box<ContactEntry>),
    /// A retry: the number the first call logged.
    Retry(i64),
}

/// Logs a contact under the property's next number, once per request id.
pub async fn log(db: &Store, request_id: &RequestId, mut entry: ContactEntry) -> Result<Logged> {
    let mut tx = db.begin().await?;
    if let Some(unit_id) = &entry.unit_id
        && !super::units::exists(&mut tx, &entry.property_id, unit_id).await?
    {
        return Err(Error::invalid("unit_id", "is not a unit of this property"));
    }
    // The number is the entry's id. A retry drops this transaction, giving the number back.
    entry.number = super::complaints::next_number(&mut tx, &entry.property_id).await?;
    let scope = format!("LogContact/{}", entry.property_id);
    let number = entry.number.to_string();
    let now = to_micros(entry.registered_at);
    if let Claim::Retry(first) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &number, now).await?
    {
        let first = first.parse().map_err(|_| {
            Error::Internal(anyhow::anyhow!("logged number {first} is not a number"))
        })?;
        return Ok(Logged::Retry(first));
    }
    insert(db, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Logged::New(Box::new(entry)))
}

const COLUMNS: &str = "property_id, number, channel, kind, register_at, registered_by, \
    registered_by_name, registered_by_role, caller_name, caller_phone_sealed, unit_id, summary, \
    complaint_id";

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
