use super::Store;
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    outbox::Outbox,
    time::to_timestamp,
};
use wuye_proto::events::{UnitRegistered, event::Payload};

use super::decode;
use crate::domain::units::{Unit, UnitState};

const COLUMNS: &str = "id, property_id, building, entrance, floor, room, area_m2, state, create_at";

/// Writes `unit` with its `UnitRegistered` event, in `tx` (the caller notifies the outbox after
/// the commit): a unit is never in the register without the other departments learning of it.
pub async fn insert(tx: &mut Tx, outbox: &Outbox, unit: &Unit) -> Result<()> {
    sqlx::query(
        "INSERT INTO units (id, property_id, building, entrance, floor, room, area_m2, state, \
         create_at, announced) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)",
    )
    .bind(&unit.id)
    .bind(&unit.property_id)
    .bind(&unit.building)
    .bind(&unit.entrance)
    .bind(i64::from(unit.floor))
    .bind(&unit.room)
    .bind(unit.area_m2)
    .bind(unit.state.code())
    .bind(to_micros(unit.created_at))
    .execute(&mut **tx)
    .await?;
    outbox
        .append(tx, &unit.property_id, registered(unit))
        .await?;
    Ok(())
}

/// The event announcing `unit` to the departments that take unit ids (WO-1).
fn registered(unit: &Unit) -> Payload {
    Payload::UnitRegistered(UnitRegistered {
        unit_id: unit.id.clone(),
        unit_label: unit.label(),
        building: unit.building.clone(),
        entrance: unit.entrance.clone(),
        room: unit.room.clone(),
        register_time: Some(to_timestamp(unit.created_at)),
    })
}

/// Units announced per transaction at start-up.
const ANNOUNCE_BATCH: i64 = 500;

/// Announces once each unit registered before units were announced (`announced = 0`): its
/// `UnitRegistered` event and the mark are written in one transaction, a batch at a time. Runs
/// before the service serves. The conditional mark makes a unit announced by a concurrent
/// start (another replica) skipped here, so no unit is announced twice.
pub async fn announce_unannounced(db: &Db, outbox: &Outbox) -> Result<u64> {
    let mut announced = 0;
    loop {
        let mut tx = db.begin().await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM units WHERE announced = 0 ORDER BY id LIMIT $1"
        ));
        let rows = sqlx::query(sql)
            .bind(ANNOUNCE_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(announced);
        }
        for row in &rows {
            let unit = from_row(row)?;
            let marked =
                sqlx::query("UPDATE units SET announced = 1 WHERE id = $1 AND announced = 0")
                    .bind(&unit.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if marked == 1 {
                outbox
                    .append(&mut tx, &unit.property_id, registered(&unit))
                    .await?;
                announced += 1;
            }
        }
        tx.commit().await?;
        outbox.notify();
    }
}

pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<Option<Unit>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM units WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A unit of the property, read inside a writing transaction.
pub async fn get_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<Unit>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM units WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether `id` is a unit of the property, read inside a writing transaction.
pub async fn exists(tx: &mut Tx, property_id: &str, id: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM units WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// The key a page of units continues after: building, entrance and room.
pub type UnitKey = (String, String, String);

/// Units ordered by building, entrance and room, after `after`.
pub async fn list(
    db: &Db,
    property_id: &str,
    building: Option<&str>,
    after: Option<&UnitKey>,
    limit: i64,
) -> Result<Vec<Unit>> {
    let (b, e, r) = after.cloned().unwrap_or_default();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM units WHERE property_id = $1 \
         AND ($2 = '' OR building = $2) \
         AND ($3 = 0 OR (building, entrance, room) > ($4, $5, $6)) \
         ORDER BY building, entrance, room LIMIT $7"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(building.unwrap_or_default())
        .bind(i64::from(after.is_some()))
        .bind(b)
        .bind(e)
        .bind(r)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

pub(super) fn from_row(row: &AnyRow) -> Result<Unit> {
    Ok(Unit {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        building: row.try_get("building")?,
        entrance: row.try_get("entrance")?,
        floor: row.try_get::<i64, _>("floor")? as i32,
        room: row.try_get("room")?,
        area_m2: row.try_get("area_m2")?,
        state: decode(row.try_get("state")?, UnitState::from_code, "unit state")?,
        created_at: from_micros(row.try_get("create_at")?),
    })
}

pub enum Created {
    New(Unit),
    /// A retry of the request id: the unit the first call created.
    Retry(String),
}

/// Adds `unit` to the register with its `UnitRegistered` event, once per request id. A second
/// unit at the same building, entrance and room is refused as `ALREADY_EXISTS`.
pub async fn create(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    unit: Unit,
) -> Result<Created> {
    let mut tx = db.begin().await?;
    let scope = format!("CreateUnit/{}", unit.property_id);
    let now = to_micros(unit.created_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &unit.id, now).await?
    {
        return Ok(Created::Retry(id));
    }
    insert(&mut tx, outbox, &unit).await?;
    tx.commit().await?;
    outbox.notify();
    Ok(Created::New(unit))
}
