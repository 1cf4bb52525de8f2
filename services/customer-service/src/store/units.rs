use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
};

use super::decode;
use crate::domain::units::{Unit, UnitState};

const COLUMNS: &str = "id, property_id, building, entrance, floor, room, area_m2, state, create_at";

/// Writes `unit` in `tx`, marked announced: the caller appends its `UnitRegistered` event in
/// the same transaction (WO-1).
pub async fn insert(tx: &mut Tx, unit: &Unit) -> Result<()> {
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
    Ok(())
}

/// Up to `limit` units registered before units were announced (`announced = 0`).
pub async fn unannounced(tx: &mut Tx, limit: i64) -> Result<Vec<Unit>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM units WHERE announced = 0 ORDER BY id LIMIT $1"
    ));
    let rows = sqlx::query(sql).bind(limit).fetch_all(&mut **tx).await?;
    rows.iter().map(from_row).collect()
}

/// Marks the unit announced; false when a concurrent start (another replica) marked it first.
pub async fn mark_announced(tx: &mut Tx, id: &str) -> Result<bool> {
    let marked = sqlx::query("UPDATE units SET announced = 1 WHERE id = $1 AND announced = 0")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(marked == 1)
}

/// Makes the unit occupied; false when it already was. Of two concurrent move-ins only one
/// changes the unit.
pub async fn occupy(tx: &mut Tx, id: &str) -> Result<bool> {
    let changed =
        sqlx::query("UPDATE units SET state = 'occupied' WHERE id = $1 AND state <> 'occupied'")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(changed == 1)
}

/// Makes the unit vacant (its household moved out).
pub async fn vacate(tx: &mut Tx, id: &str) -> Result<()> {
    sqlx::query("UPDATE units SET state = 'vacant' WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
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

/// The units of the property whose room, its ASCII letters in upper case, is `room`: where a
/// label's unit is among (FindUnit).
pub async fn with_room(db: &Db, property_id: &str, room: &str) -> Result<Vec<Unit>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM units WHERE property_id = $1 AND UPPER(room) = $2 \
         ORDER BY building, entrance, room"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(room)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
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
