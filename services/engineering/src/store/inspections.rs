//! The inspections' SQL: the schedule's rows, their checklist items and what was recorded.

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Tx, from_micros, to_micros},
};

use super::{decode, flag, get_flag, get_opt_actor, get_time};
use crate::domain::inspections::{Filter, Inspection, Item, ItemKind, Kind, State, Value};

const COLUMNS: &str = "id, property_id, kind, zone_id, assignee_user_id, assignee_name, \
    window_start_at, due_at, record_at, recorded_by_id, recorded_by_name, recorded_by_role, \
    findings, major_finding, spot_checked_by_id, spot_checked_by_name, spot_checked_by_role, \
    spot_check_at, spot_check_note";

fn from_row(row: &AnyRow) -> Result<Inspection> {
    let zone_id: String = row.try_get("zone_id")?;
    Ok(Inspection {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        kind: decode(row.try_get("kind")?, Kind::from_code, "inspection kind")?,
        zone_id: (!zone_id.is_empty()).then_some(zone_id),
        assignee_user_id: row.try_get("assignee_user_id")?,
        assignee_name: row.try_get("assignee_name")?,
        window_start: from_micros(row.try_get("window_start_at")?),
        due_at: from_micros(row.try_get("due_at")?),
        items: Vec::new(),
        recorded_at: get_time(row, "record_at")?,
        recorded_by: get_opt_actor(row, "recorded_by")?,
        findings: row.try_get("findings")?,
        major_finding: row.try_get("major_finding")?,
        work_order_ids: Vec::new(),
        spot_checked_by: get_opt_actor(row, "spot_checked_by")?,
        spot_checked_at: get_time(row, "spot_check_at")?,
        spot_check_note: row.try_get("spot_check_note")?,
    })
}

async fn fill(tx: &mut Tx, i: &mut Inspection) -> Result<()> {
    let rows = sqlx::query(
        "SELECT item_key, kind, label, equipment_id, unit, min_value, max_value, repair, value, \
         failed FROM inspection_items WHERE inspection_id = $1 ORDER BY position",
    )
    .bind(&i.id)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        let kind = decode(row.try_get("kind")?, ItemKind::from_code, "item kind")?;
        let value: Option<String> = row.try_get("value")?;
        let value = match value {
            None => None,
            Some(text) => Some(Value::from_text(kind, &text).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("item value {text:?} does not read back"))
            })?),
        };
        i.items.push(Item {
            key: row.try_get("item_key")?,
            kind,
            label: row.try_get("label")?,
            equipment_id: row.try_get("equipment_id")?,
            unit: row.try_get("unit")?,
            min: row.try_get("min_value")?,
            max: row.try_get("max_value")?,
            repair: get_flag(&row, "repair")?,
            value,
            failed: get_flag(&row, "failed")?,
        });
    }
    i.work_order_ids = super::work_orders::ids_of_inspection(tx, &i.id).await?;
    Ok(())
}

/// The inspection `id` of the property, with its items and work orders.
pub async fn load(tx: &mut Tx, property_id: &str, id: &str) -> Result<Inspection> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inspections WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let mut i = row
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("inspection", id))?;
    fill(tx, &mut i).await?;
    Ok(i)
}

/// Writes `i` unless the schedule already made the same one; whether it was new.
pub async fn insert_if_new(tx: &mut Tx, i: &Inspection) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO inspections (id, property_id, kind, zone_id, assignee_user_id, assignee_name, \
         window_start_at, due_at, findings, major_finding, spot_check_note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', '', '') \
         ON CONFLICT (property_id, kind, zone_id, window_start_at) DO NOTHING RETURNING id",
    )
    .bind(&i.id)
    .bind(&i.property_id)
    .bind(i.kind.code())
    .bind(i.zone_id.clone().unwrap_or_default())
    .bind(&i.assignee_user_id)
    .bind(&i.assignee_name)
    .bind(to_micros(i.window_start))
    .bind(to_micros(i.due_at))
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_none() {
        return Ok(false);
    }
    for (n, item) in i.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO inspection_items (inspection_id, position, item_key, kind, label, \
             equipment_id, unit, min_value, max_value, repair, value, failed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, 0)",
        )
        .bind(&i.id)
        .bind(n as i64)
        .bind(&item.key)
        .bind(item.kind.code())
        .bind(&item.label)
        .bind(item.equipment_id.as_deref())
        .bind(&item.unit)
        .bind(item.min)
        .bind(item.max)
        .bind(flag(item.repair))
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// Inspections by due time; the state is judged at `now`.
pub async fn list(
    tx: &mut Tx,
    property_id: &str,
    f: &Filter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Inspection>> {
    let (after_due, after_id) = f.after.clone().unwrap_or((i64::MIN, String::new()));
    let state = match f.state {
        None => 0,
        Some(State::Due) => 1,
        Some(State::Done) => 2,
        Some(State::Missed) => 3,
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM inspections WHERE property_id = $1 \
         AND ($2 = '' OR kind = $2) AND ($3 = '' OR zone_id = $3) \
         AND due_at >= $4 AND due_at < $5 \
         AND ($6 = 0 \
              OR ($6 = 1 AND record_at IS NULL AND due_at > $7) \
              OR ($6 = 2 AND record_at IS NOT NULL) \
              OR ($6 = 3 AND record_at IS NULL AND due_at <= $7)) \
         AND (due_at > $8 OR (due_at = $8 AND id > $9)) \
         ORDER BY due_at, id LIMIT $10"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(f.kind.map(Kind::code).unwrap_or_default())
        .bind(&f.zone_id)
        .bind(f.due_from.map_or(i64::MIN, to_micros))
        .bind(f.due_before.map_or(i64::MAX, to_micros))
        .bind(state)
        .bind(to_micros(now))
        .bind(after_due)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut i = from_row(row)?;
        fill(tx, &mut i).await?;
        out.push(i);
    }
    Ok(out)
}

/// Loads the inspection for a change: touching the row first holds it until the commit.
pub async fn lock(tx: &mut Tx, property_id: &str, id: &str) -> Result<Inspection> {
    sqlx::query("UPDATE inspections SET findings = findings WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    load(tx, property_id, id).await
}

/// Writes what was recorded of `i`: who, when, the findings and each item's value.
pub async fn save_record(tx: &mut Tx, i: &Inspection) -> Result<()> {
    let by = i.recorded_by.as_ref();
    sqlx::query(
        "UPDATE inspections SET record_at = $2, recorded_by_id = $3, recorded_by_name = $4, \
         recorded_by_role = $5, findings = $6, major_finding = $7 WHERE id = $1",
    )
    .bind(&i.id)
    .bind(i.recorded_at.map(to_micros))
    .bind(by.map(|a| a.user_id.clone()))
    .bind(by.map(|a| a.name.clone()))
    .bind(by.map(|a| a.role.clone()))
    .bind(&i.findings)
    .bind(&i.major_finding)
    .execute(&mut **tx)
    .await?;
    for (n, item) in i.items.iter().enumerate() {
        sqlx::query(
            "UPDATE inspection_items SET value = $3, failed = $4 \
             WHERE inspection_id = $1 AND position = $2",
        )
        .bind(&i.id)
        .bind(n as i64)
        .bind(item.value.as_ref().map(Value::to_text))
        .bind(flag(item.failed))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes the countersignature of `i` (INS-3).
pub async fn save_spot_check(tx: &mut Tx, i: &Inspection) -> Result<()> {
    let by = i.spot_checked_by.as_ref();
    sqlx::query(
        "UPDATE inspections SET spot_checked_by_id = $2, spot_checked_by_name = $3, \
         spot_checked_by_role = $4, spot_check_at = $5, spot_check_note = $6 WHERE id = $1",
    )
    .bind(&i.id)
    .bind(by.map(|a| a.user_id.clone()))
    .bind(by.map(|a| a.name.clone()))
    .bind(by.map(|a| a.role.clone()))
    .bind(i.spot_checked_at.map(to_micros))
    .bind(&i.spot_check_note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
