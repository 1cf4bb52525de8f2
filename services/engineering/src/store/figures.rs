//! The counts of a property's month `[start, end)`, given in microseconds, for the figures.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use wuye_kit::{
    Result,
    db::{Tx, from_micros},
};

use super::decode;
use crate::domain::{
    figures::{DueInspection, InspectedItem},
    inspections::Kind,
};

/// A month as microseconds: from its start, before its end.
pub type Window = (i64, i64);

async fn count(
    conn: &mut AnyConnection,
    sql: &'static str,
    property_id: &str,
    window: Window,
) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(property_id)
        .bind(window.0)
        .bind(window.1)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Inspections due in the month: their window starts in it.
pub async fn due_inspections(
    tx: &mut Tx,
    property_id: &str,
    w: Window,
) -> Result<Vec<DueInspection>> {
    let rows = sqlx::query(
        "SELECT kind, due_at, record_at FROM inspections WHERE property_id = $1 \
         AND window_start_at >= $2 AND window_start_at < $3",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DueInspection {
                kind: decode(row.try_get("kind")?, Kind::from_code, "inspection kind")?,
                due_at: from_micros(row.try_get("due_at")?),
                recorded: row.try_get::<Option<i64>, _>("record_at")?.is_some(),
            })
        })
        .collect()
}

/// The equipment items of the inspections recorded in the month.
pub async fn inspected_items(
    tx: &mut Tx,
    property_id: &str,
    w: Window,
) -> Result<Vec<InspectedItem>> {
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
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InspectedItem {
                inspection_id: row.try_get("inspection_id")?,
                equipment_id: row.try_get("equipment_id")?,
                recorded_at: from_micros(row.try_get("record_at")?),
                failed: row.try_get::<i64, _>("failed")? != 0,
            })
        })
        .collect()
}

pub async fn handovers_completed(tx: &mut Tx, property_id: &str, w: Window) -> Result<i64> {
    count(
        tx,
        "SELECT COUNT(*) FROM handovers WHERE property_id = $1 AND complete_at >= $2 AND complete_at < $3",
        property_id,
        w,
    )
    .await
}

/// The handovers refused in the month: per refusal, its handover and its HO-7 reason codes.
pub async fn refusals(
    tx: &mut Tx,
    property_id: &str,
    w: Window,
) -> Result<Vec<(String, Vec<String>)>> {
    let rows = sqlx::query(
        "SELECT r.id AS refusal_id, r.handover_id AS handover_id, rr.code AS code \
         FROM handover_refusals r JOIN handover_refusal_reasons rr ON rr.refusal_id = r.id \
         WHERE r.property_id = $1 AND r.refuse_at >= $2 AND r.refuse_at < $3 AND rr.ho7 = 1 \
         ORDER BY r.id, rr.position",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_all(&mut **tx)
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
    Ok(refusals.into_values().collect())
}

pub async fn work_orders_opened(tx: &mut Tx, property_id: &str, w: Window) -> Result<i64> {
    count(
        tx,
        "SELECT COUNT(*) FROM work_orders WHERE property_id = $1 AND open_at >= $2 AND open_at < $3",
        property_id,
        w,
    )
    .await
}

pub async fn work_orders_completed(tx: &mut Tx, property_id: &str, w: Window) -> Result<i64> {
    count(
        tx,
        "SELECT COUNT(*) FROM work_orders WHERE property_id = $1 AND complete_at >= $2 AND complete_at < $3",
        property_id,
        w,
    )
    .await
}

/// Arrivals of the month and, of those, the late ones: one read of the arrival index.
pub async fn arrivals(tx: &mut Tx, property_id: &str, w: Window) -> Result<(i64, i64)> {
    let counts = sqlx::query_as(
        // PostgreSQL sums BIGINT as NUMERIC: cast back.
        "SELECT COUNT(*), CAST(COALESCE(SUM(arrived_late), 0) AS BIGINT) FROM work_orders \
         WHERE property_id = $1 AND arrive_at >= $2 AND arrive_at < $3",
    )
    .bind(property_id)
    .bind(w.0)
    .bind(w.1)
    .fetch_one(&mut **tx)
    .await?;
    Ok(counts)
}
