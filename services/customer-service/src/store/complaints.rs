use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    idempotency::{self, Claim},
    identity::Actor,
    outbox::Outbox,
    time::to_timestamp,
};
use wuye_proto::events::{ComplaintRegistered, event::Payload};

use super::decode;
use crate::domain::complaints::{Channel, Complainant, Complaint, Severity, State};

const COLUMNS: &str = "id, property_id, number, channel, complainant_name, complainant_phone, \
    unit_id, category, description, severity, state, register_at, reply_due_at, \
    registered_by_id, registered_by_name, registered_by_role";

/// Takes the next number of the property's call and visit log (CMP-2). The counter row stays
/// locked until the transaction ends, so concurrent registrations queue for their numbers and
/// a rollback gives the number back.
pub async fn next_number(tx: &mut Tx, property_id: &str) -> Result<i64> {
    let (number,): (i64,) = sqlx::query_as(
        "INSERT INTO contact_numbers (property_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (property_id) DO UPDATE SET last_number = contact_numbers.last_number + 1 \
         RETURNING last_number",
    )
    .bind(property_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(number)
}

/// Writes the complaint and its entry in the call and visit log, under the same number.
pub async fn insert(tx: &mut Tx, c: &Complaint) -> Result<()> {
    sqlx::query(
        "INSERT INTO contacts (property_id, number, channel, kind, register_at, registered_by) \
         VALUES ($1, $2, $3, 'complaint', $4, $5)",
    )
    .bind(&c.property_id)
    .bind(c.number)
    .bind(c.channel.code())
    .bind(to_micros(c.registered_at))
    .bind(&c.registered_by.user_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO complaints (id, property_id, number, channel, complainant_name, \
         complainant_phone, unit_id, category, description, severity, state, register_at, \
         reply_due_at, registered_by_id, registered_by_name, registered_by_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&c.id)
    .bind(&c.property_id)
    .bind(c.number)
    .bind(c.channel.code())
    .bind(&c.complainant.name)
    .bind(&c.complainant.phone)
    .bind(c.unit_id.as_deref())
    .bind(&c.category)
    .bind(&c.description)
    .bind(c.severity.code())
    .bind(c.state.code())
    .bind(to_micros(c.registered_at))
    .bind(to_micros(c.reply_due_at))
    .bind(&c.registered_by.user_id)
    .bind(&c.registered_by.name)
    .bind(&c.registered_by.role)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<Option<Complaint>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Which complaints a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub severity: Option<Severity>,
    /// Only numbers below this one (the page token).
    pub before_number: Option<i64>,
}

/// Complaints of the property, newest number first.
pub async fn list(
    db: &Db,
    property_id: &str,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE property_id = $1 \
         AND ($2 = '' OR state = $2) AND ($3 = '' OR severity = $3) AND number < $4 \
         ORDER BY number DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(filter.state.map(State::code).unwrap_or_default())
        .bind(filter.severity.map(Severity::code).unwrap_or_default())
        .bind(filter.before_number.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &AnyRow) -> Result<Complaint> {
    Ok(Complaint {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        number: row.try_get("number")?,
        channel: decode(row.try_get("channel")?, Channel::from_code, "channel")?,
        complainant: Complainant {
            name: row.try_get("complainant_name")?,
            phone: row.try_get("complainant_phone")?,
        },
        unit_id: row.try_get("unit_id")?,
        category: row.try_get("category")?,
        description: row.try_get("description")?,
        severity: decode(row.try_get("severity")?, Severity::from_code, "severity")?,
        state: decode(row.try_get("state")?, State::from_code, "complaint state")?,
        registered_at: from_micros(row.try_get("register_at")?),
        reply_due_at: from_micros(row.try_get("reply_due_at")?),
        registered_by: Actor {
            user_id: row.try_get("registered_by_id")?,
            name: row.try_get("registered_by_name")?,
            role: row.try_get("registered_by_role")?,
        },
    })
}

/// What registering found.
pub enum Registered {
    New(Box<Complaint>),
    /// A retry of `request_id`: the complaint the first call registered.
    Retry(String),
    /// The unit named is not one of the property's.
    UnknownUnit,
}

/// Registers `c` in one transaction: the request id, the number (filled in here), the log
/// entry, the complaint and its `ComplaintRegistered` event.
pub async fn register(
    db: &Db,
    outbox: &Outbox,
    request_id: &str,
    mut c: Complaint,
) -> Result<Registered> {
    let mut tx = db.begin().await?;
    let scope = format!("CreateComplaint/{}", c.property_id);
    let now = to_micros(c.registered_at);
    if let Claim::Retry(id) = idempotency::claim(&mut tx, &scope, request_id, &c.id, now).await? {
        return Ok(Registered::Retry(id));
    }
    if let Some(unit_id) = &c.unit_id
        && !super::units::exists(&mut tx, &c.property_id, unit_id).await?
    {
        return Ok(Registered::UnknownUnit);
    }
    c.number = next_number(&mut tx, &c.property_id).await?;
    insert(&mut tx, &c).await?;
    let event = Payload::ComplaintRegistered(ComplaintRegistered {
        complaint_id: c.id.clone(),
        number: c.number,
        severity: crate::grpc::severity_to_proto(c.severity).into(),
        category: c.category.clone(),
        unit_id: c.unit_id.clone().unwrap_or_default(),
        reply_due_time: Some(to_timestamp(c.reply_due_at)),
    });
    outbox.append(&mut tx, &c.property_id, event).await?;
    tx.commit().await?;
    outbox.notify();
    Ok(Registered::New(Box::new(c)))
}
