use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use wuye_kit::{
    Result,
    db::{Db, from_micros, to_micros},
};

use super::decode;
use crate::domain::{
    figures::{DueInspection, EquipmentResult},
    inspections::Kind,
};

/// The raw counts of a month, for the domain's figures.
#[derive(Debug, Default)]
pub struct Month {
    pub due: Vec<DueInspection>,
    pub equipment_results: Vec<EquipmentResult>,
    pub equipment_count: i64,
    pub handovers_completed: i64,
    /// Per refusal: its handover and its HO-7 reason codes.
    pub refusals: Vec<(String, Vec<String>)>,
    pub work_orders_opened: i64,
    pub work_orders_completed: i64,
    pub arrived_on_time: i64,
    pub arrived_late: i64,
}

async fn count(
    conn: &mut AnyConnection,
    sql: &'static str,
    property_id: &str,
    window: (i64, i64),
) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(property_id)
        .bind(window.0)
        .bind(window.1)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Reads the month `[start, end)` of a property, every count from one view of the database.
pub async fn month(
    db: &Db,
    property_id: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Month> {
    let w = (to_micros(start), to_micros(end));
    let mut m = Month::default();
    let mut tx = db.read().await?;
    // Inspections due in the month: their window starts in it.
    let rows = sqlx::query(
        "SELECT kind, due_at, record_at FROM inspections WHERE property_id = $1 \
         AND window_start_at >= $2 AND window_start_at < $3",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        m.due.push(DueInspection {
            kind: decode(row.try_get("kind")?, Kind::from_code, "inspection kind")?,
            due_at: from_micros(row.try_get("due_at")?),
            recorded: row.try_get::<Option<i64>, _>("record_at")?.is_some(),
        });
    }
    // Equipment results of the inspections recorded in the month.
    let rows = sqlx::query(
        "SELECT i.id AS inspection_id, i.record_at AS record_at, it.equipment_id AS equipment_id, \
         it.failed AS failed FROM inspections i \
         JOIN inspection_items it ON it.inspection_id = i.id \
         WHERE i.property_id = $1 AND i.record_at >= $2 AND i.record_at < $3 \
         AND it.equipment_id IS NOT NULL",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_all(&mut *tx)
    .await?;
    // One result per inspection and equipment: intact when none of its items failed.
    let mut results: BTreeMap<(String, String), EquipmentResult> = BTreeMap::new();
    for row in rows {
        let inspection: String = row.try_get("inspection_id")?;
        let equipment: String = row.try_get("equipment_id")?;
        let failed = row.try_get::<i64, _>("failed")? != 0;
        let at = from_micros(row.try_get("record_at")?);
        results
            .entry((inspection, equipment.clone()))
            .or_insert(EquipmentResult {
                equipment_id: equipment,
                recorded_at: at,
                intact: true,
            })
            .intact &= !failed;
    }
    m.equipment_results = results.into_values().collect();
    m.equipment_count = super::equipment::count_equipment(&mut tx, property_id).await?;
    m.handovers_completed = count(
        &mut tx,
        "SELECT COUNT(*) FROM handovers WHERE property_id = $1 AND complete_at >= $2 AND complete_at < $3",
        property_id,
        w,
    )
    .await?;
    let rows = sqlx::query(
        "SELECT r.id AS refusal_id, r.handover_id AS handover_id, rr.code AS code \
         FROM handover_refusals r JOIN handover_refusal_reasons rr ON rr.refusal_id = r.id \
         WHERE r.property_id = $1 AND r.refuse_at >= $2 AND r.refuse_at < $3 AND rr.ho7 = 1 \
         ORDER BY r.id, rr.position",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_all(&mut *tx)
    .await?;
    let mut refusals: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for row in rows {
        let refusal: String = row.try_get("refusal_id")?;
        let handover: String = row.try_get("handover_id")?;
        refusals
            .entry(refusal)
            .or_insert((handover, Vec::new()))
            .1
            .push(row.try_get("code")?);
    }
    m.refusals = refusals.into_values().collect();
    m.work_orders_opened = count(
        &mut tx,
        "SELECT COUNT(*) FROM work_orders WHERE property_id = $1 AND open_at >= $2 AND open_at < $3",
        property_id,
        w,
    )
    .await?;
    m.work_orders_completed = count(
        &mut tx,
        "SELECT COUNT(*) FROM work_orders WHERE property_id = $1 AND complete_at >= $2 AND complete_at < $3",
        property_id,
        w,
    )
    .await?;
    // Arrivals of the month and, of those, the late ones: one read of the arrival index.
    let (arrived, late): (i64, i64) = sqlx::query_as(
        // PostgreSQL sums BIGINT as NUMERIC: cast back.
        "SELECT COUNT(*), CAST(COALESCE(SUM(arrived_late), 0) AS BIGINT) FROM work_orders \
         WHERE property_id = $1 AND arrive_at >= $2 AND arrive_at < $3",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_one(&mut *tx)
    .await?;
    m.arrived_late = late;
    m.arrived_on_time = arrived - late;
    tx.rollback().await?;
    Ok(m)
}
