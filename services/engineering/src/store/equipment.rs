use sqlx::{AnyConnection, Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
};

use super::{Table, decode, flag, get_flag};
use crate::domain::equipment::{
    Condition, Equipment, InventoryCategory, InventoryItem, Meter, Zone,
};

const ZONE_COLUMNS: &str = "id, property_id, name, technician_user_id, technician_name, create_at";

fn zone_from_row(row: &AnyRow) -> Result<Zone> {
    Ok(Zone {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        name: row.try_get("name")?,
        technician_user_id: row.try_get("technician_user_id")?,
        technician_name: row.try_get("technician_name")?,
        created_at: from_micros(row.try_get("create_at")?),
    })
}

const ZONES: Table<Zone> = Table {
    name: "zones",
    columns: ZONE_COLUMNS,
    from_row: zone_from_row,
};

pub async fn insert_zone(tx: &mut Tx, zone: &Zone) -> Result<()> {
    sqlx::query(
        "INSERT INTO zones (id, property_id, name, technician_user_id, technician_name, create_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&zone.id)
    .bind(&zone.property_id)
    .bind(&zone.name)
    .bind(&zone.technician_user_id)
    .bind(&zone.technician_name)
    .bind(to_micros(zone.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_zone(db: &Db, property_id: &str, id: &str) -> Result<Option<Zone>> {
    ZONES.by_id(db.pool(), property_id, id).await
}

/// Zones by name, after `after` (a page token).
pub async fn list_zones(db: &Db, property_id: &str, after: &str, limit: i64) -> Result<Vec<Zone>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ZONE_COLUMNS} FROM zones WHERE property_id = $1 AND name > $2 \
         ORDER BY name LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(zone_from_row).collect()
}

pub async fn all_zones(tx: &mut Tx, property_id: &str) -> Result<Vec<Zone>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ZONE_COLUMNS} FROM zones WHERE property_id = $1 ORDER BY name"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(zone_from_row).collect()
}

/// Gives the zone to another technician; `None` when there is no such zone.
pub async fn assign_zone(
    db: &Db,
    property_id: &str,
    id: &str,
    user_id: &str,
    name: &str,
) -> Result<Option<Zone>> {
    let done = sqlx::query(
        "UPDATE zones SET technician_user_id = $3, technician_name = $4 \
         WHERE property_id = $1 AND id = $2",
    )
    .bind(property_id)
    .bind(id)
    .bind(user_id)
    .bind(name)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get_zone(db, property_id, id).await
}

const EQUIPMENT_COLUMNS: &str =
    "id, property_id, number, name, kind, location, zone_id, large, condition, create_at";

fn equipment_from_row(row: &AnyRow) -> Result<Equipment> {
    Ok(Equipment {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        location: row.try_get("location")?,
        zone_id: row.try_get("zone_id")?,
        large: get_flag(row, "large")?,
        meters: Vec::new(),
        condition: decode(row.try_get("condition")?, Condition::from_code, "condition")?,
        created_at: from_micros(row.try_get("create_at")?),
    })
}

const EQUIPMENT: Table<Equipment> = Table {
    name: "equipment",
    columns: EQUIPMENT_COLUMNS,
    from_row: equipment_from_row,
};

/// Fills in the meters of `equipment`.
async fn with_meters<'e, E>(executor: E, mut equipment: Vec<Equipment>) -> Result<Vec<Equipment>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if equipment.is_empty() {
        return Ok(equipment);
    }
    // One query for the page: the ids are ours (UUIDs), bound one by one.
    let placeholders: Vec<String> = (1..=equipment.len()).map(|i| format!("${i}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT equipment_id, name, unit, min_value, max_value FROM equipment_meters \
         WHERE equipment_id IN ({}) ORDER BY equipment_id, position",
        placeholders.join(", ")
    ));
    let mut query = sqlx::query(sql);
    for e in &equipment {
        query = query.bind(e.id.clone());
    }
    let rows = query.fetch_all(executor).await?;
    for row in rows {
        let id: String = row.try_get("equipment_id")?;
        if let Some(e) = equipment.iter_mut().find(|e| e.id == id) {
            e.meters.push(Meter {
                name: row.try_get("name")?,
                unit: row.try_get("unit")?,
                min: row.try_get("min_value")?,
                max: row.try_get("max_value")?,
            });
        }
    }
    Ok(equipment)
}

pub async fn zone_exists(tx: &mut Tx, property_id: &str, id: &str) -> Result<bool> {
    let zone = sqlx::query("SELECT 1 FROM zones WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(zone.is_some())
}

/// Writes new equipment and its meters.
pub async fn insert_equipment(tx: &mut Tx, e: &Equipment) -> Result<()> {
    sqlx::query(
        "INSERT INTO equipment (id, property_id, number, name, kind, location, zone_id, large, \
         condition, create_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.id)
    .bind(&e.property_id)
    .bind(&e.number)
    .bind(&e.name)
    .bind(&e.kind)
    .bind(&e.location)
    .bind(&e.zone_id)
    .bind(flag(e.large))
    .bind(e.condition.code())
    .bind(to_micros(e.created_at))
    .execute(&mut **tx)
    .await?;
    for (i, m) in e.meters.iter().enumerate() {
        sqlx::query(
            "INSERT INTO equipment_meters (equipment_id, position, name, unit, min_value, max_value) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(i as i64)
        .bind(&m.name)
        .bind(&m.unit)
        .bind(m.min)
        .bind(m.max)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn get_equipment(db: &Db, property_id: &str, id: &str) -> Result<Option<Equipment>> {
    let Some(e) = EQUIPMENT.by_id(db.pool(), property_id, id).await? else {
        return Ok(None);
    };
    Ok(with_meters(db.pool(), vec![e]).await?.pop())
}

/// Equipment by number after `after`, of one zone when `zone_id` is not empty.
pub async fn list_equipment(
    db: &Db,
    property_id: &str,
    zone_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Equipment>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {EQUIPMENT_COLUMNS} FROM equipment WHERE property_id = $1 \
         AND ($2 = '' OR zone_id = $2) AND number > $3 ORDER BY number LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(zone_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let list = rows
        .iter()
        .map(equipment_from_row)
        .collect::<Result<Vec<_>>>()?;
    with_meters(db.pool(), list).await
}

/// Every piece of equipment of the property, by number, read inside a transaction.
pub async fn all_equipment(tx: &mut Tx, property_id: &str) -> Result<Vec<Equipment>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {EQUIPMENT_COLUMNS} FROM equipment WHERE property_id = $1 ORDER BY number"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .fetch_all(&mut **tx)
        .await?;
    let list = rows
        .iter()
        .map(equipment_from_row)
        .collect::<Result<Vec<_>>>()?;
    with_meters(&mut **tx, list).await
}

pub async fn equipment_exists(tx: &mut Tx, property_id: &str, id: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM equipment WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

pub async fn set_condition(tx: &mut Tx, id: &str, condition: Condition) -> Result<()> {
    sqlx::query("UPDATE equipment SET condition = $2 WHERE id = $1")
        .bind(id)
        .bind(condition.code())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn count_equipment(conn: &mut AnyConnection, property_id: &str) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM equipment WHERE property_id = $1")
        .bind(property_id)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

const ITEM_COLUMNS: &str = "id, property_id, category, name, count, create_at";

fn item_from_row(row: &AnyRow) -> Result<InventoryItem> {
    Ok(InventoryItem {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        category: decode(
            row.try_get("category")?,
            InventoryCategory::from_code,
            "inventory category",
        )?,
        name: row.try_get("name")?,
        count: row.try_get("count")?,
        created_at: from_micros(row.try_get("create_at")?),
    })
}

const ITEMS: Table<InventoryItem> = Table {
    name: "inventory_items",
    columns: ITEM_COLUMNS,
    from_row: item_from_row,
};

pub async fn insert_item(tx: &mut Tx, item: &InventoryItem) -> Result<()> {
    sqlx::query(
        "INSERT INTO inventory_items (id, property_id, category, name, count, create_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&item.id)
    .bind(&item.property_id)
    .bind(item.category.code())
    .bind(&item.name)
    .bind(item.count)
    .bind(to_micros(item.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_item(db: &Db, property_id: &str, id: &str) -> Result<Option<InventoryItem>> {
    ITEMS.by_id(db.pool(), property_id, id).await
}

/// Items by id (creation order) after `after`.
pub async fn list_items(
    db: &Db,
    property_id: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<InventoryItem>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM inventory_items WHERE property_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(item_from_row).collect()
}

pub async fn all_items(tx: &mut Tx, property_id: &str) -> Result<Vec<InventoryItem>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM inventory_items WHERE property_id = $1 ORDER BY id"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(item_from_row).collect()
}

pub async fn update_item_count(
    db: &Db,
    property_id: &str,
    id: &str,
    count: i64,
) -> Result<Option<InventoryItem>> {
    let done =
        sqlx::query("UPDATE inventory_items SET count = $3 WHERE property_id = $1 AND id = $2")
            .bind(property_id)
            .bind(id)
            .bind(count)
            .execute(db.pool())
            .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    get_item(db, property_id, id).await
}
