use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result, Violations,
    db::{Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    outbox::Outbox,
    properties::EngineeringRules,
    time::to_timestamp,
};
use wuye_proto::{
    engineering as pb,
    events::{WorkOrderCompleted, WorkOrderOpened, event::Payload},
};

use super::{
    Store, decode, equipment::Created, flag, get_actor, get_flag, get_opt_actor, get_time,
};
use crate::domain::{
    equipment::Condition,
    work_orders::{Part, Requester, Source, State, Urgency, WorkOrder},
};

const COLUMNS: &str = "id, property_id, number, source, unit_id, equipment_id, inspection_id, \
    description, urgency, team, requester_name, requester_phone_sealed, contact_number, booked_at, \
    state, open_at, opened_by_id, opened_by_name, opened_by_role, assignee_user_id, assignee_name, \
    dispatch_at, arrival_due_at, arrive_at, arrived_late, work_done, complete_at, customer_rating, \
    customer_signature_sealed, completed_by_id, completed_by_name, completed_by_role";

/// Why a unit id is refused: engineering knows the units customer-service announced, which
/// may lag a unit registered a moment ago.
pub const UNKNOWN_UNIT: &str = "no such unit at this property (a unit registered moments ago may \
     not have reached engineering yet)";

/// The table whose personal columns are sealed, as named in the values' places.
const TABLE: &str = "work_orders";

fn from_row(db: &Store, row: &AnyRow) -> Result<WorkOrder> {
    let id: String = row.try_get("id")?;
    let phone = db.open(TABLE, &id, "requester_phone", row)?;
    let signature = db.open(TABLE, &id, "customer_signature", row)?;
    Ok(WorkOrder {
        id,
        property_id: row.try_get("property_id")?,
        number: row.try_get("number")?,
        source: decode(
            row.try_get("source")?,
            Source::from_code,
            "work order source",
        )?,
        unit_id: row.try_get("unit_id")?,
        equipment_id: row.try_get("equipment_id")?,
        inspection_id: row.try_get("inspection_id")?,
        description: row.try_get("description")?,
        urgency: decode(row.try_get("urgency")?, Urgency::from_code, "urgency")?,
        team: row.try_get("team")?,
        requester: Requester {
            name: row.try_get("requester_name")?,
            phone,
        },
        contact_number: row.try_get("contact_number")?,
        booked_at: get_time(row, "booked_at")?,
        state: decode(row.try_get("state")?, State::from_code, "work order state")?,
        opened_at: from_micros(row.try_get("open_at")?),
        opened_by: get_actor(row, "opened_by")?,
        assignee_user_id: row.try_get("assignee_user_id")?,
        assignee_name: row.try_get("assignee_name")?,
        dispatched_at: get_time(row, "dispatch_at")?,
        arrival_due_at: get_time(row, "arrival_due_at")?,
        arrived_at: get_time(row, "arrive_at")?,
        arrived_late: get_flag(row, "arrived_late")?,
        work_done: row.try_get("work_done")?,
        parts: Vec::new(),
        completed_at: get_time(row, "complete_at")?,
        customer_rating: row.try_get::<i64, _>("customer_rating")? as i32,
        customer_signature: signature,
        completed_by: get_opt_actor(row, "completed_by")?,
    })
}

async fn with_parts(tx: &mut Tx, mut w: WorkOrder) -> Result<WorkOrder> {
    let rows = sqlx::query(
        "SELECT name, quantity, unit FROM work_order_parts WHERE work_order_id = $1 ORDER BY position",
    )
    .bind(&w.id)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        w.parts.push(Part {
            name: row.try_get("name")?,
            quantity: row.try_get("quantity")?,
            unit: row.try_get("unit")?,
        });
    }
    Ok(w)
}

/// The next number of the property's work orders: the counter row stays locked until the
/// transaction ends, so numbers are unique and a rollback leaves no gap (WO-1).
async fn next_number(tx: &mut Tx, property_id: &str) -> Result<i64> {
    let (number,): (i64,) = sqlx::query_as(
        "INSERT INTO work_order_numbers (property_id, last_number) VALUES ($1, 1) \
         ON CONFLICT (property_id) DO UPDATE SET last_number = work_order_numbers.last_number + 1 \
         RETURNING last_number",
    )
    .bind(property_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(number)
}

/// Numbers and writes `w` in `tx` with its `WorkOrderOpened` event (the caller notifies the
/// outbox after the commit). For orders without a requester's phone, as inspections open them
/// (INS-5); the front desk's requests go through [`open`], which seals the phone.
pub async fn open_in(tx: &mut Tx, outbox: &Outbox, w: WorkOrder) -> Result<WorkOrder> {
    if w.unit_id.is_some() {
        // Equipment only: a unit is checked against the units engineering knows in `open`.
        return Err(Error::Internal(anyhow::anyhow!(
            "a work order for a unit is opened from a request"
        )));
    }
    if !w.requester.phone.is_empty() {
        // Never written in clear (ARC-6): only `open` holds the keyring.
        return Err(Error::Internal(anyhow::anyhow!(
            "a work order with a requester's phone is opened with the keyring"
        )));
    }
    insert(tx, outbox, w, None).await
}

/// Writes `w` with its requester's phone already sealed for its place.
async fn insert(
    tx: &mut Tx,
    outbox: &Outbox,
    mut w: WorkOrder,
    requester_phone: Option<Vec<u8>>,
) -> Result<WorkOrder> {
    w.number = next_number(tx, &w.property_id).await?;
    sqlx::query(
        "INSERT INTO work_orders (id, property_id, number, source, unit_id, equipment_id, \
         inspection_id, description, urgency, team, requester_name, requester_phone, \
         requester_phone_sealed, contact_number, booked_at, state, open_at, opened_by_id, \
         opened_by_name, opened_by_role, assignee_user_id, assignee_name, arrived_late, work_done, \
         customer_rating, customer_signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, '', $12, $13, $14, $15, $16, $17, $18, $19, '', '', 0, '', 0, '')",
    )
    .bind(&w.id)
    .bind(&w.property_id)
    .bind(w.number)
    .bind(w.source.code())
    .bind(w.unit_id.as_deref())
    .bind(w.equipment_id.as_deref())
    .bind(w.inspection_id.as_deref())
    .bind(&w.description)
    .bind(w.urgency.code())
    .bind(&w.team)
    .bind(&w.requester.name)
    .bind(requester_phone)
    .bind(w.contact_number)
    .bind(w.booked_at.map(to_micros))
    .bind(w.state.code())
    .bind(to_micros(w.opened_at))
    .bind(&w.opened_by.user_id)
    .bind(&w.opened_by.name)
    .bind(&w.opened_by.role)
    .execute(&mut **tx)
    .await?;
    let event = Payload::WorkOrderOpened(WorkOrderOpened {
        work_order_id: w.id.clone(),
        number: w.number,
        source: source_to_proto(w.source).into(),
        unit_id: w.unit_id.clone().unwrap_or_default(),
        equipment_id: w.equipment_id.clone().unwrap_or_default(),
        inspection_id: w.inspection_id.clone().unwrap_or_default(),
        urgency: urgency_to_proto(w.urgency).into(),
    });
    outbox.append(tx, &w.property_id, event).await?;
    Ok(w)
}

pub fn source_to_proto(s: Source) -> pb::WorkOrderSource {
    match s {
        Source::CustomerRequest => pb::WorkOrderSource::CustomerRequest,
        Source::Inspection => pb::WorkOrderSource::Inspection,
    }
}

pub fn urgency_to_proto(u: Urgency) -> pb::Urgency {
    match u {
        Urgency::Emergency => pb::Urgency::Emergency,
        Urgency::Ordinary => pb::Urgency::Ordinary,
    }
}

/// WO-1: a work order from a customer's request, once per request id.
pub async fn open(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    w: WorkOrder,
) -> Result<Created<WorkOrder>> {
    let mut tx = db.begin().await?;
    let scope = format!("CreateWorkOrder/{}", w.property_id);
    if let Claim::Retry(id) = idempotency::claim(
        &mut tx,
        db.keyring(),
        &scope,
        request_id,
        &w.id,
        to_micros(w.opened_at),
    )
    .await?
    {
        return Ok(Created::Retry(id));
    }
    // rule WO-1: the unit and the equipment are the property's; a refusal writes nothing (the
    // request id's claim and the number go with the rollback).
    let mut v = Violations::new();
    if let Some(u) = &w.unit_id
        && !super::units::is_known(&mut tx, &w.property_id, u).await?
    {
        v.add("unit_id", UNKNOWN_UNIT);
    }
    if let Some(e) = &w.equipment_id
        && !super::equipment::equipment_exists(&mut tx, &w.property_id, e).await?
    {
        v.add("equipment_id", "is not equipment of this property");
    }
    v.check()?;
    // rule ARC-6: the requester's phone is sealed, bound to the order's row.
    let phone = db.seal(TABLE, &w.id, "requester_phone", &w.requester.phone)?;
    let w = insert(&mut tx, outbox, w, phone).await?;
    tx.commit().await?;
    outbox.notify();
    Ok(Created::New(w))
}

pub async fn get(db: &Store, property_id: &str, id: &str) -> Result<WorkOrder> {
    let mut tx = db.read().await?;
    let w = load(db, &mut tx, property_id, id).await?;
    tx.commit().await?;
    Ok(w)
}

async fn load(db: &Store, tx: &mut Tx, property_id: &str, id: &str) -> Result<WorkOrder> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM work_orders WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let w = row
        .map(|row| from_row(db, &row))
        .transpose()?
        .ok_or_else(|| Error::not_found("work order", id))?;
    with_parts(tx, w).await
}

/// Loads the order for a change: touching the row first holds it until the commit.
async fn load_for_update(
    db: &Store,
    tx: &mut Tx,
    property_id: &str,
    id: &str,
) -> Result<WorkOrder> {
    sqlx::query("UPDATE work_orders SET state = state WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    load(db, tx, property_id, id).await
}

async fn save(db: &Store, tx: &mut Tx, w: &WorkOrder) -> Result<()> {
    let by = w.completed_by.as_ref();
    sqlx::query(
        "UPDATE work_orders SET state = $2, assignee_user_id = $3, assignee_name = $4, \
         dispatch_at = $5, arrival_due_at = $6, arrive_at = $7, arrived_late = $8, work_done = $9, \
         complete_at = $10, customer_rating = $11, customer_signature = '', \
         customer_signature_sealed = $12, completed_by_id = $13, completed_by_name = $14, \
         completed_by_role = $15 WHERE id = $1",
    )
    .bind(&w.id)
    .bind(w.state.code())
    .bind(&w.assignee_user_id)
    .bind(&w.assignee_name)
    .bind(w.dispatched_at.map(to_micros))
    .bind(w.arrival_due_at.map(to_micros))
    .bind(w.arrived_at.map(to_micros))
    .bind(flag(w.arrived_late))
    .bind(&w.work_done)
    .bind(w.completed_at.map(to_micros))
    .bind(i64::from(w.customer_rating))
    // rule ARC-6: the customer's signature (WO-3) is sealed, bound to the order's row.
    .bind(db.seal(TABLE, &w.id, "customer_signature", &w.customer_signature)?)
    .bind(by.map(|a| a.user_id.clone()))
    .bind(by.map(|a| a.name.clone()))
    .bind(by.map(|a| a.role.clone()))
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM work_order_parts WHERE work_order_id = $1")
        .bind(&w.id)
        .execute(&mut **tx)
        .await?;
    for (i, p) in w.parts.iter().enumerate() {
        sqlx::query(
            "INSERT INTO work_order_parts (work_order_id, position, name, quantity, unit) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&w.id)
        .bind(i as i64)
        .bind(&p.name)
        .bind(p.quantity)
        .bind(&p.unit)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn dispatch(
    db: &Store,
    property_id: &str,
    id: &str,
    assignee: (String, String),
    rules: &EngineeringRules,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut tx = db.begin().await?;
    let mut w = load_for_update(db, &mut tx, property_id, id).await?;
    w.dispatch(assignee.0, assignee.1, now, rules)?;
    save(db, &mut tx, &w).await?;
    tx.commit().await?;
    Ok(w)
}

pub async fn arrive(
    db: &Store,
    property_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<WorkOrder> {
    let mut tx = db.begin().await?;
    let mut w = load_for_update(db, &mut tx, property_id, id).await?;
    w.arrive(now)?;
    save(db, &mut tx, &w).await?;
    tx.commit().await?;
    Ok(w)
}

/// What completing says.
pub struct Completion {
    pub work_done: String,
    pub parts: Vec<Part>,
    pub rating: i32,
    pub signature: String,
}

/// What completing found.
pub enum Completed {
    Done(Box<WorkOrder>),
    /// WO-3: a customer's repair is rated and signed; these fields are missing.
    MissingCustomer(Vec<(&'static str, &'static str)>),
}

/// WO-3: completes the order; repaired equipment is intact again unless a fault is still
/// open on it; the `WorkOrderCompleted` event feeds the follow-up visit (VIS-4).
pub async fn complete(
    db: &Store,
    outbox: &Outbox,
    property_id: &str,
    id: &str,
    c: Completion,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Completed> {
    let mut tx = db.begin().await?;
    let mut w = load_for_update(db, &mut tx, property_id, id).await?;
    if w.needs_customer_signature() {
        let mut missing = Vec::new();
        if !(1..=5).contains(&c.rating) {
            missing.push((
                "customer_rating",
                "the customer rates the repair from 1 to 5",
            ));
        }
        if c.signature.trim().is_empty() {
            missing.push((
                "customer_signature",
                "the customer signs the completed repair",
            ));
        }
        if !missing.is_empty() {
            return Ok(Completed::MissingCustomer(missing));
        }
    }
    w.complete(c.work_done, c.parts, c.rating, c.signature, by, now)?;
    save(db, &mut tx, &w).await?;
    if let Some(equipment_id) = &w.equipment_id {
        let (open,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM faults WHERE equipment_id = $1 AND is_open = 1")
                .bind(equipment_id)
                .fetch_one(&mut *tx)
                .await?;
        if open == 0 {
            super::equipment::set_condition(&mut tx, equipment_id, Condition::Intact).await?;
        }
    }
    let event = Payload::WorkOrderCompleted(WorkOrderCompleted {
        work_order_id: w.id.clone(),
        number: w.number,
        source: source_to_proto(w.source).into(),
        unit_id: w.unit_id.clone().unwrap_or_default(),
        equipment_id: w.equipment_id.clone().unwrap_or_default(),
        complete_time: Some(to_timestamp(now)),
        customer_rating: w.customer_rating,
        contact_number: w.contact_number.unwrap_or_default(),
        arrived_late: w.arrived_late,
    });
    outbox.append(&mut tx, &w.property_id, event).await?;
    tx.commit().await?;
    outbox.notify();
    tracing::info!(property = %w.property_id, number = w.number, "work order completed");
    Ok(Completed::Done(Box::new(w)))
}

/// Which work orders a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub source: Option<Source>,
    pub inspection_id: String,
    pub before_number: Option<i64>,
}

pub async fn list(db: &Store, property_id: &str, f: &Filter, limit: i64) -> Result<Vec<WorkOrder>> {
    let mut tx = db.read().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM work_orders WHERE property_id = $1 AND ($2 = '' OR state = $2) \
         AND ($3 = '' OR source = $3) AND ($4 = '' OR inspection_id = $4) AND number < $5 \
         ORDER BY number DESC LIMIT $6"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(f.state.map(State::code).unwrap_or_default())
        .bind(f.source.map(Source::code).unwrap_or_default())
        .bind(&f.inspection_id)
        .bind(f.before_number.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(with_parts(&mut tx, from_row(db, row)?).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// The ids of the orders an inspection opened.
pub async fn ids_of_inspection(tx: &mut Tx, inspection_id: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM work_orders WHERE inspection_id = $1 ORDER BY number")
            .bind(inspection_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
