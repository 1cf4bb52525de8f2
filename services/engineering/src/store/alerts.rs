use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
};

use super::{Table, decode, flag, get_opt_actor, get_time};
use crate::domain::alerts::{Alert, AlertKind};

const COLUMNS: &str = "id, property_id, kind, subject_id, message, reasons, raise_at, \
    acknowledged_by_id, acknowledged_by_name, acknowledged_by_role, acknowledge_at";

fn from_row(row: &AnyRow) -> Result<Alert> {
    let reasons: String = row.try_get("reasons")?;
    Ok(Alert {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        kind: decode(row.try_get("kind")?, AlertKind::from_code, "alert kind")?,
        subject_id: row.try_get("subject_id")?,
        message: row.try_get("message")?,
        reasons: reasons
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        raised_at: from_micros(row.try_get("raise_at")?),
        acknowledged_by: get_opt_actor(row, "acknowledged_by")?,
        acknowledged_at: get_time(row, "acknowledge_at")?,
    })
}

const ALERTS: Table<Alert> = Table {
    name: "alerts",
    columns: COLUMNS,
    from_row,
};

pub async fn insert(tx: &mut Tx, a: &Alert) -> Result<()> {
    sqlx::query(
        "INSERT INTO alerts (id, property_id, kind, subject_id, message, reasons, raise_at, \
         acknowledged) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
    )
    .bind(&a.id)
    .bind(&a.property_id)
    .bind(a.kind.code())
    .bind(&a.subject_id)
    .bind(&a.message)
    .bind(a.reasons.join(","))
    .bind(to_micros(a.raised_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Alerts newest first, before `before_id` (the page token).
pub async fn list(
    db: &Db,
    property_id: &str,
    open_only: bool,
    kind: Option<AlertKind>,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Alert>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE property_id = $1 AND ($2 = 0 OR acknowledged = 0) \
         AND ($3 = '' OR kind = $3) AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(flag(open_only))
        .bind(kind.map(AlertKind::code).unwrap_or_default())
        .bind(before_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn alert_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<Alert>> {
    ALERTS.by_id(&mut **tx, property_id, id).await
}

/// Writes an acknowledgement. The condition on `acknowledged` makes a concurrent second
/// acknowledgement a no-op.
pub async fn save_acknowledged(tx: &mut Tx, a: &Alert) -> Result<()> {
    let by = a.acknowledged_by.as_ref();
    sqlx::query(
        "UPDATE alerts SET acknowledged = 1, acknowledged_by_id = $2, acknowledged_by_name = $3, \
         acknowledged_by_role = $4, acknowledge_at = $5 WHERE id = $1 AND acknowledged = 0",
    )
    .bind(&a.id)
    .bind(by.map(|b| b.user_id.clone()))
    .bind(by.map(|b| b.name.clone()))
    .bind(by.map(|b| b.role.clone()))
    .bind(a.acknowledged_at.map(to_micros))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
