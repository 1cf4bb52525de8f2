use super::Store;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    outbox::Outbox,
    properties::EngineeringRules,
};
use wuye_proto::events::{MajorFindingReported, event::Payload};

use super::{
    alerts, decode,
    equipment::{Created, all_equipment, all_zones},
    flag, get_flag, get_opt_actor, get_time,
};
use crate::domain::{
    alerts::{Alert, AlertKind},
    equipment::Condition,
    inspections::{
        Inspection, Item, ItemKind, Kind, RecordError, State, Value, daily_checklist, daily_window,
        monthly_checklist, monthly_window, weekly_checklist, weekly_window,
    },
    work_orders::{Requester, Source, State as WorkOrderState, Urgency, WorkOrder},
};

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

async fn load(tx: &mut Tx, property_id: &str, id: &str) -> Result<Inspection> {
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

pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<Inspection> {
    let mut tx = db.read().await?;
    let i = load(&mut tx, property_id, id).await?;
    tx.commit().await?;
    Ok(i)
}

/// Writes `i` unless the schedule already made the same one; whether it was new.
async fn insert_if_new(tx: &mut Tx, i: &Inspection) -> Result<bool> {
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

fn new_inspection(
    property_id: &str,
    kind: Kind,
    zone: Option<(&str, &str, &str)>,
    window: (DateTime<Utc>, DateTime<Utc>),
    items: Vec<Item>,
) -> Inspection {
    let (zone_id, user_id, name) = match zone {
        Some((z, u, n)) => (Some(z.to_owned()), u.to_owned(), n.to_owned()),
        None => (None, String::new(), String::new()),
    };
    Inspection {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.to_owned(),
        kind,
        zone_id,
        assignee_user_id: user_id,
        assignee_name: name,
        window_start: window.0,
        due_at: window.1,
        items,
        recorded_at: None,
        recorded_by: None,
        findings: String::new(),
        major_finding: String::new(),
        work_order_ids: Vec::new(),
        spot_checked_by: None,
        spot_checked_at: None,
        spot_check_note: String::new(),
    }
}

/// The schedule for `day`: each zone's daily (INS-1), the week's (INS-3) and, when the
/// property has them, the month's (INS-4). What exists already is left alone.
pub async fn generate(
    db: &Db,
    property_id: &str,
    day: NaiveDate,
    tz: Tz,
    rules: &EngineeringRules,
) -> Result<Vec<Inspection>> {
    let mut tx = db.begin().await?;
    let zones = all_zones(&mut tx, property_id).await?;
    let equipment = all_equipment(&mut tx, property_id).await?;
    let mut planned = Vec::new();
    for z in &zones {
        let mine: Vec<_> = equipment
            .iter()
            .filter(|e| e.zone_id == z.id)
            .cloned()
            .collect();
        planned.push(new_inspection(
            property_id,
            Kind::Daily,
            Some((&z.id, &z.technician_user_id, &z.technician_name)),
            daily_window(day, tz),
            daily_checklist(&mine, rules),
        ));
    }
    let large: Vec<_> = equipment.iter().filter(|e| e.large).cloned().collect();
    planned.push(new_inspection(
        property_id,
        Kind::Weekly,
        None,
        weekly_window(day, tz, rules.weekly_inspection_weekday),
        weekly_checklist(&large),
    ));
    if rules.monthly_inspections {
        planned.push(new_inspection(
            property_id,
            Kind::Monthly,
            None,
            monthly_window(day, tz),
            monthly_checklist(&equipment),
        ));
    }
    let mut created = Vec::new();
    for i in planned {
        if insert_if_new(&mut tx, &i).await? {
            created.push(i);
        }
    }
    tx.commit().await?;
    Ok(created)
}

/// Which inspections a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub kind: Option<Kind>,
    pub state: Option<State>,
    pub zone_id: String,
    pub due_from: Option<DateTime<Utc>>,
    pub due_before: Option<DateTime<Utc>>,
    /// After this (due, id), the page token.
    pub after: Option<(i64, String)>,
}

/// Inspections by due time; the state is judged at `now`.
pub async fn list(
    db: &Db,
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
    let mut tx = db.read().await?;
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
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut i = from_row(row)?;
        fill(&mut tx, &mut i).await?;
        out.push(i);
    }
    tx.commit().await?;
    Ok(out)
}

async fn lock(tx: &mut Tx, property_id: &str, id: &str) -> Result<Inspection> {
    sqlx::query("UPDATE inspections SET findings = findings WHERE property_id = $1 AND id = $2")
        .bind(property_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    load(tx, property_id, id).await
}

/// The checklist a caller records.
pub struct Recording {
    pub results: Vec<(String, Value)>,
    pub findings: String,
    pub major_finding: String,
}

pub enum Recorded {
    Done(Box<Inspection>),
    /// Bad input: (field, description) for each mistake.
    Invalid(Vec<(String, String)>),
}

/// Records a checklist: failed items open work orders linked to the inspection (INS-5) and
/// mark their equipment faulty; a major finding alerts the manager (INS-2).
pub async fn record(
    db: &Db,
    outbox: &Outbox,
    property_id: &str,
    id: &str,
    r: Recording,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Recorded> {
    let mut tx = db.begin().await?;
    let mut i = lock(&mut tx, property_id, id).await?;
    i.may_record(&by.user_id, &by.role)?;
    match i.record(r.results, r.findings, r.major_finding, by.clone(), now) {
        Ok(()) => {}
        Err(RecordError::Invalid(v)) => return Ok(Recorded::Invalid(v)),
        Err(RecordError::Refused(refusal)) => return Err(refusal.into()),
    }
    sqlx::query(
        "UPDATE inspections SET record_at = $2, recorded_by_id = $3, recorded_by_name = $4, \
         recorded_by_role = $5, findings = $6, major_finding = $7 WHERE id = $1",
    )
    .bind(&i.id)
    .bind(to_micros(now))
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .bind(&i.findings)
    .bind(&i.major_finding)
    .execute(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
    }
    for (equipment_id, intact) in i.equipment_results() {
        if !intact {
            super::equipment::set_condition(&mut tx, &equipment_id, Condition::Faulty).await?;
        }
    }
    for opening in i.work_orders_to_open() {
        let w = WorkOrder {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property_id.to_owned(),
            number: 0,
            source: Source::Inspection,
            unit_id: None,
            equipment_id: opening.equipment_id,
            inspection_id: Some(i.id.clone()),
            description: opening.description,
            urgency: Urgency::Ordinary,
            team: INSPECTION_TEAM.into(),
            requester: Requester::default(),
            contact_number: None,
            booked_at: None,
            state: WorkOrderState::Open,
            opened_at: now,
            opened_by: by.clone(),
            assignee_user_id: String::new(),
            assignee_name: String::new(),
            dispatched_at: None,
            arrival_due_at: None,
            arrived_at: None,
            arrived_late: false,
            work_done: String::new(),
            parts: Vec::new(),
            completed_at: None,
            customer_rating: 0,
            customer_signature: String::new(),
            completed_by: None,
        };
        let w = super::work_orders::open_in(&mut tx, outbox, w).await?;
        i.work_order_ids.push(w.id);
    }
    if !i.major_finding.trim().is_empty() {
        let alert_id = uuid::Uuid::now_v7().to_string();
        raise_major_finding(
            &mut tx,
            outbox,
            alert_id,
            property_id,
            &i.id,
            "",
            &i.major_finding,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    outbox.notify();
    tracing::info!(
        property = %property_id,
        inspection = %i.id,
        work_orders = i.work_order_ids.len(),
        "inspection recorded"
    );
    Ok(Recorded::Done(Box::new(i)))
}

/// The team inspection work orders go to until the foreman dispatches them.
const INSPECTION_TEAM: &str = "工程维修";

/// INS-2: the manager's alert and the event, in `tx`; the alert's id.
#[allow(clippy::too_many_arguments)]
async fn raise_major_finding(
    tx: &mut Tx,
    outbox: &Outbox,
    alert_id: String,
    property_id: &str,
    inspection_id: &str,
    equipment_id: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let alert = Alert {
        id: alert_id,
        property_id: property_id.to_owned(),
        kind: AlertKind::MajorFinding,
        subject_id: inspection_id.to_owned(),
        message: format!("巡检重大情况：{description}"),
        reasons: Vec::new(),
        raised_at: now,
        acknowledged_by: None,
        acknowledged_at: None,
    };
    alerts::insert(tx, &alert).await?;
    let event = Payload::MajorFindingReported(MajorFindingReported {
        alert_id: alert.id.clone(),
        inspection_id: inspection_id.to_owned(),
        equipment_id: equipment_id.to_owned(),
        description: description.to_owned(),
    });
    outbox.append(tx, property_id, event).await?;
    Ok(alert.id)
}

/// INS-2: a major finding reported at once, during a round or outside one.
#[allow(clippy::too_many_arguments)]
pub async fn report_major_finding(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    property_id: &str,
    inspection_id: &str,
    equipment_id: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<Created<String>> {
    let mut tx = db.begin().await?;
    let alert_id = uuid::Uuid::now_v7().to_string();
    let scope = format!("ReportMajorFinding/{property_id}");
    if let Claim::Retry(id) = idempotency::claim(
        &mut tx,
        db.keyring(),
        &scope,
        request_id,
        &alert_id,
        to_micros(now),
    )
    .await?
    {
        return Ok(Created::Retry(id));
    }
    if !inspection_id.is_empty() {
        load(&mut tx, property_id, inspection_id).await?;
    }
    if !equipment_id.is_empty()
        && !super::equipment::equipment_exists(&mut tx, property_id, equipment_id).await?
    {
        return Err(Error::invalid(
            "equipment_id",
            "is not equipment of this property",
        ));
    }
    let id = raise_major_finding(
        &mut tx,
        outbox,
        alert_id,
        property_id,
        inspection_id,
        equipment_id,
        description,
        now,
    )
    .await?;
    tx.commit().await?;
    outbox.notify();
    Ok(Created::New(id))
}

/// INS-3: the manager countersigns a technician's daily record.
pub async fn spot_check(
    db: &Db,
    property_id: &str,
    id: &str,
    note: String,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Inspection> {
    let mut tx = db.begin().await?;
    let mut i = lock(&mut tx, property_id, id).await?;
    i.spot_check(by.clone(), note, now)?;
    sqlx::query(
        "UPDATE inspections SET spot_checked_by_id = $2, spot_checked_by_name = $3, \
         spot_checked_by_role = $4, spot_check_at = $5, spot_check_note = $6 WHERE id = $1",
    )
    .bind(&i.id)
    .bind(&by.user_id)
    .bind(&by.name)
    .bind(&by.role)
    .bind(to_micros(now))
    .bind(&i.spot_check_note)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(i)
}
