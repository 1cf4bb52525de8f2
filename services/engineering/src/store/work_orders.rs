//! The work orders' SQL. The requester's phone and the customer's signature are sealed at rest
//! (ARC-6), bound to the order's row.

use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
};

use super::{Store, decode, flag, get_actor, get_flag, get_opt_actor, get_time};
use crate::domain::work_orders::{Filter, Part, Requester, Source, State, Urgency, WorkOrder};

const COLUMNS: &str = "id, property_id, number, source, unit_id, equipment_id, inspection_id, \
    description, urgency, team, requester_name, requester_phone_sealed, contact_number, booked_at, \
    state, open_at, opened_by_id, opened_by_name, opened_by_role, assignee_user_id, assignee_name, \
    dispatch_at, arrival_due_at, arrive_at, arrived_late, work_done, complete_at, customer_rating, \
    customer_signature_sealed, completed_by_id, completed_by_name, completed_by_role";

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

/// Numbers and writes the new order `w`, its requester's phone sealed for its place.
pub async fn insert(db: &Store, tx: &mut Tx, mut w: WorkOrder) -> Result<WorkOrder> {
    w.number = next_number(tx, &w.property_id).await?;
    // rule ARC-6: the requester's phone is sealed, bound to the order's row.
    let requester_phone = db.seal(TABLE, &w.id, "requester_phone", &w.requester.phone)?;
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
    Ok(w)
}

/// The order `id` of the property, with its parts.
pub async fn load(db: &Store, tx: &mut Tx, property_id: &str, id: &str) -> Result<WorkOrder> {
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
pub async fn load_for_update(
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

/// Writes the order's progress: dispatch, arrival, completion and parts.
pub async fn save(db: &Store, tx: &mut Tx, w: &WorkOrder) -> Result<()> {
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

/// The faults still open on the equipment (equipment stays faulty while one is).
pub async fn open_faults(tx: &mut Tx, equipment_id: &str) -> Result<i64> {
    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM faults WHERE equipment_id = $1 AND is_open = 1")
            .bind(equipment_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(open)
}

/// Work orders, the newest first.
pub async fn list(
    db: &Store,
    tx: &mut Tx,
    property_id: &str,
    f: &Filter,
    limit: i64,
) -> Result<Vec<WorkOrder>> {
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
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(with_parts(tx, from_row(db, row)?).await?);
    }
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
