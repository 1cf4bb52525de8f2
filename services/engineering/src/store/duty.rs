use super::Store;
use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    outbox::Outbox,
};
use wuye_proto::events::{HandoverStopped, event::Payload};

use super::{
    decode, equipment::Created, flag, get_actor, get_flag, get_opt_actor, get_time, lock_duty,
    set_duty,
};
use crate::domain::{
    Refusal,
    duty::{
        DutyEntry, EntryKind, Fault, Incident, Shift, ShiftState, ShiftSwap, SwapState, overlaps,
    },
    equipment::Condition,
};

const SHIFT_COLUMNS: &str = "id, property_id, user_id, user_name, start_at, end_at, state, \
    scheduled_by_id, scheduled_by_name, scheduled_by_role, on_duty_at, handed_over_at, left_at";

fn shift_from_row(row: &AnyRow) -> Result<Shift> {
    Ok(Shift {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        user_id: row.try_get("user_id")?,
        user_name: row.try_get("user_name")?,
        start: from_micros(row.try_get("start_at")?),
        end: from_micros(row.try_get("end_at")?),
        state: decode(row.try_get("state")?, ShiftState::from_code, "shift state")?,
        scheduled_by: get_actor(row, "scheduled_by")?,
        on_duty_at: get_time(row, "on_duty_at")?,
        handed_over_at: get_time(row, "handed_over_at")?,
        left_at: get_time(row, "left_at")?,
    })
}

/// Whether `user_id` has another shift overlapping `period`.
async fn has_overlap(
    tx: &mut Tx,
    property_id: &str,
    user_id: &str,
    period: (DateTime<Utc>, DateTime<Utc>),
    except_shift: &str,
) -> Result<bool> {
    let rows = sqlx::query(
        "SELECT start_at, end_at FROM shifts WHERE property_id = $1 AND user_id = $2 \
         AND id <> $3 AND start_at < $4 AND end_at > $5",
    )
    .bind(property_id)
    .bind(user_id)
    .bind(except_shift)
    .bind(to_micros(period.1))
    .bind(to_micros(period.0))
    .fetch_all(&mut **tx)
    .await?;
    // The SQL selects candidates; the domain says what overlapping means.
    for row in rows {
        let other = (
            from_micros(row.try_get("start_at")?),
            from_micros(row.try_get("end_at")?),
        );
        if overlaps(period, other) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn overlap_refusal() -> Error {
    Refusal::new(
        "SHIFT_OVERLAP",
        "the person already has a shift overlapping this one",
    )
    .into()
}

pub async fn create_shift(
    db: &Store,
    request_id: &RequestId,
    s: Shift,
    now: DateTime<Utc>,
) -> Result<Created<Shift>> {
    let mut tx = db.begin().await?;
    let scope = format!("CreateShift/{}", s.property_id);
    let now = to_micros(now);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &s.id, now).await?
    {
        return Ok(Created::Retry(id));
    }
    if has_overlap(&mut tx, &s.property_id, &s.user_id, (s.start, s.end), &s.id).await? {
        return Err(overlap_refusal());
    }
    sqlx::query(
        "INSERT INTO shifts (id, property_id, user_id, user_name, start_at, end_at, state, \
         scheduled_by_id, scheduled_by_name, scheduled_by_role, on_duty_at, handed_over_at, left_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL)",
    )
    .bind(&s.id)
    .bind(&s.property_id)
    .bind(&s.user_id)
    .bind(&s.user_name)
    .bind(to_micros(s.start))
    .bind(to_micros(s.end))
    .bind(s.state.code())
    .bind(&s.scheduled_by.user_id)
    .bind(&s.scheduled_by.name)
    .bind(&s.scheduled_by.role)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Created::New(s))
}

pub async fn get_shift(db: &Db, property_id: &str, id: &str) -> Result<Option<Shift>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(shift_from_row).transpose()
}

pub async fn shift_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Shift> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref()
        .map(shift_from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("shift", id))
}

pub async fn save_shift(tx: &mut Tx, s: &Shift) -> Result<()> {
    sqlx::query(
        "UPDATE shifts SET user_id = $2, user_name = $3, state = $4, on_duty_at = $5, \
         handed_over_at = $6, left_at = $7 WHERE id = $1",
    )
    .bind(&s.id)
    .bind(&s.user_id)
    .bind(&s.user_name)
    .bind(s.state.code())
    .bind(s.on_duty_at.map(to_micros))
    .bind(s.handed_over_at.map(to_micros))
    .bind(s.left_at.map(to_micros))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which shifts a list shows.
#[derive(Debug, Default)]
pub struct ShiftFilter {
    pub start_from: Option<DateTime<Utc>>,
    pub start_before: Option<DateTime<Utc>>,
    pub user_id: String,
    /// After this (start, id), the page token.
    pub after: Option<(i64, String)>,
}

pub async fn list_shifts(
    db: &Db,
    property_id: &str,
    f: &ShiftFilter,
    limit: i64,
) -> Result<Vec<Shift>> {
    let (after_start, after_id) = f.after.clone().unwrap_or((i64::MIN, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SHIFT_COLUMNS} FROM shifts WHERE property_id = $1 \
         AND start_at >= $2 AND start_at < $3 AND ($4 = '' OR user_id = $4) \
         AND (start_at > $5 OR (start_at = $5 AND id > $6)) \
         ORDER BY start_at, id LIMIT $7"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(f.start_from.map_or(i64::MIN, to_micros))
        .bind(f.start_before.map_or(i64::MAX, to_micros))
        .bind(&f.user_id)
        .bind(after_start)
        .bind(after_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(shift_from_row).collect()
}

const SWAP_COLUMNS: &str = "id, property_id, shift_id, from_user_id, to_user_id, to_user_name, \
    reason, state, requested_by_id, requested_by_name, requested_by_role, request_at, \
    decided_by_id, decided_by_name, decided_by_role, decide_at";

fn swap_from_row(row: &AnyRow) -> Result<ShiftSwap> {
    Ok(ShiftSwap {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        shift_id: row.try_get("shift_id")?,
        from_user_id: row.try_get("from_user_id")?,
        to_user_id: row.try_get("to_user_id")?,
        to_user_name: row.try_get("to_user_name")?,
        reason: row.try_get("reason")?,
        state: decode(row.try_get("state")?, SwapState::from_code, "swap state")?,
        requested_by: get_actor(row, "requested_by")?,
        requested_at: from_micros(row.try_get("request_at")?),
        decided_by: get_opt_actor(row, "decided_by")?,
        decided_at: get_time(row, "decide_at")?,
    })
}

pub async fn get_swap(db: &Db, property_id: &str, id: &str) -> Result<Option<ShiftSwap>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SWAP_COLUMNS} FROM shift_swaps WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(swap_from_row).transpose()
}

/// Records a swap request of a scheduled shift, by its person or the foreman.
pub async fn request_swap(
    db: &Store,
    request_id: &RequestId,
    swap: ShiftSwap,
    requester_is_foreman: bool,
) -> Result<Created<ShiftSwap>> {
    let mut tx = db.begin().await?;
    let scope = format!("RequestShiftSwap/{}", swap.property_id);
    let now = to_micros(swap.requested_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &swap.id, now).await?
    {
        return Ok(Created::Retry(id));
    }
    let shift = shift_in(&mut tx, &swap.property_id, &swap.shift_id).await?;
    if shift.state != ShiftState::Scheduled {
        return Err(Refusal::new(
            "SHIFT_NOT_SCHEDULED",
            "only a shift not yet started can be swapped",
        )
        .into());
    }
    if !requester_is_foreman && shift.user_id != swap.requested_by.user_id {
        return Err(Refusal::new(
            "NOT_YOUR_SHIFT",
            "a technician asks to swap only their own shift",
        )
        .into());
    }
    if shift.user_id == swap.to_user_id {
        return Err(Error::invalid(
            "to_user_id",
            "is the shift's person already",
        ));
    }
    let swap = ShiftSwap {
        from_user_id: shift.user_id,
        ..swap
    };
    sqlx::query(
        "INSERT INTO shift_swaps (id, property_id, shift_id, from_user_id, to_user_id, to_user_name, \
         reason, state, requested_by_id, requested_by_name, requested_by_role, request_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&swap.id)
    .bind(&swap.property_id)
    .bind(&swap.shift_id)
    .bind(&swap.from_user_id)
    .bind(&swap.to_user_id)
    .bind(&swap.to_user_name)
    .bind(&swap.reason)
    .bind(swap.state.code())
    .bind(&swap.requested_by.user_id)
    .bind(&swap.requested_by.name)
    .bind(&swap.requested_by.role)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Created::New(swap))
}

/// DUTY-1: approves or rejects a swap; an approved swap gives the shift to the other person.
pub async fn decide_swap(
    db: &Db,
    property_id: &str,
    swap_id: &str,
    approve: bool,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<(ShiftSwap, Shift)> {
    let mut tx = db.begin().await?;
    // Swaps change the roster the handover reads: they queue with it.
    lock_duty(&mut tx, property_id).await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SWAP_COLUMNS} FROM shift_swaps WHERE property_id = $1 AND id = $2"
    ));
    let mut swap = sqlx::query(sql)
        .bind(property_id)
        .bind(swap_id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(swap_from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("shift swap", swap_id))?;
    let mut shift = shift_in(&mut tx, property_id, &swap.shift_id).await?;
    swap.decide(approve, &mut shift, by, now)?;
    if approve
        && has_overlap(
            &mut tx,
            property_id,
            &shift.user_id,
            (shift.start, shift.end),
            &shift.id,
        )
        .await?
    {
        return Err(overlap_refusal());
    }
    let decided_by = swap.decided_by.clone().expect("decided");
    sqlx::query(
        "UPDATE shift_swaps SET state = $2, decided_by_id = $3, decided_by_name = $4, \
         decided_by_role = $5, decide_at = $6 WHERE id = $1",
    )
    .bind(&swap.id)
    .bind(swap.state.code())
    .bind(&decided_by.user_id)
    .bind(&decided_by.name)
    .bind(&decided_by.role)
    .bind(swap.decided_at.map(to_micros))
    .execute(&mut *tx)
    .await?;
    save_shift(&mut tx, &shift).await?;
    tx.commit().await?;
    Ok((swap, shift))
}

/// Gives the duty to a scheduled shift when nobody holds it.
pub async fn open_duty(
    db: &Db,
    property_id: &str,
    shift_id: &str,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Shift> {
    let mut tx = db.begin().await?;
    let holder = lock_duty(&mut tx, property_id).await?;
    if holder.shift_id.is_some() {
        return Err(Refusal::new(
            "DUTY_HELD",
            "a shift holds the duty: it passes only by a handover (HO-6)",
        )
        .into());
    }
    let mut shift = shift_in(&mut tx, property_id, shift_id).await?;
    shift.open_duty(now)?;
    save_shift(&mut tx, &shift).await?;
    set_duty(&mut tx, property_id, &shift.id, now, None).await?;
    insert_entry(
        &mut tx,
        &DutyEntry {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property_id.to_owned(),
            shift_id: shift.id.clone(),
            kind: EntryKind::Event,
            text: "值班开始（首班）".into(),
            equipment_id: None,
            recorded_at: now,
            recorded_by: by,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(shift)
}

/// The person leaves their shift: refused while it holds the duty (HO-7). A technician ends
/// only their own shift.
pub async fn end_shift(
    db: &Db,
    property_id: &str,
    shift_id: &str,
    caller: &Actor,
    now: DateTime<Utc>,
) -> Result<Shift> {
    let mut tx = db.begin().await?;
    lock_duty(&mut tx, property_id).await?;
    let mut shift = shift_in(&mut tx, property_id, shift_id).await?;
    if caller.role == "technician" && caller.user_id != shift.user_id {
        return Err(
            Refusal::new("NOT_YOUR_SHIFT", "a technician ends only their own shift").into(),
        );
    }
    shift.end(now)?;
    save_shift(&mut tx, &shift).await?;
    tx.commit().await?;
    Ok(shift)
}

const ENTRY_COLUMNS: &str = "id, property_id, shift_id, kind, text, equipment_id, record_at, \
    recorded_by_id, recorded_by_name, recorded_by_role";

fn entry_from_row(row: &AnyRow) -> Result<DutyEntry> {
    Ok(DutyEntry {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        shift_id: row.try_get("shift_id")?,
        kind: decode(
            row.try_get("kind")?,
            EntryKind::from_code,
            "duty entry kind",
        )?,
        text: row.try_get("text")?,
        equipment_id: row.try_get("equipment_id")?,
        recorded_at: from_micros(row.try_get("record_at")?),
        recorded_by: get_actor(row, "recorded_by")?,
    })
}

pub async fn insert_entry(tx: &mut Tx, e: &DutyEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO duty_entries (id, property_id, shift_id, kind, text, equipment_id, record_at, \
         recorded_by_id, recorded_by_name, recorded_by_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.id)
    .bind(&e.property_id)
    .bind(&e.shift_id)
    .bind(e.kind.code())
    .bind(&e.text)
    .bind(e.equipment_id.as_deref())
    .bind(to_micros(e.recorded_at))
    .bind(&e.recorded_by.user_id)
    .bind(&e.recorded_by.name)
    .bind(&e.recorded_by.role)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn nobody_on_duty() -> Error {
    Refusal::new(
        "NO_ONE_ON_DUTY",
        "nobody holds the duty: open it or hand it over first",
    )
    .into()
}

/// DUTY-4: an entry in the record of the shift on duty. `entry.shift_id` is filled in here.
pub async fn add_entry(
    db: &Store,
    request_id: &RequestId,
    mut entry: DutyEntry,
) -> Result<Created<DutyEntry>> {
    let mut tx = db.begin().await?;
    let scope = format!("AddDutyRecordEntry/{}", entry.property_id);
    let now = to_micros(entry.recorded_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &entry.id, now).await?
    {
        return Ok(Created::Retry(id));
    }
    let holder = lock_duty(&mut tx, &entry.property_id).await?;
    entry.shift_id = holder.shift_id.ok_or_else(nobody_on_duty)?;
    if let Some(e) = &entry.equipment_id
        && !super::equipment::equipment_exists(&mut tx, &entry.property_id, e).await?
    {
        return Err(Error::invalid(
            "equipment_id",
            "is not equipment of this property",
        ));
    }
    insert_entry(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Created::New(entry))
}

pub async fn get_entry(db: &Db, property_id: &str, id: &str) -> Result<Option<DutyEntry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM duty_entries WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// The duty record in writing order, of one shift when `shift_id` is not empty.
pub async fn list_entries(
    db: &Db,
    property_id: &str,
    shift_id: &str,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<DutyEntry>> {
    let (after_at, after_id) = after.unwrap_or((i64::MIN, String::new()));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM duty_entries WHERE property_id = $1 \
         AND ($2 = '' OR shift_id = $2) AND (record_at > $3 OR (record_at = $3 AND id > $4)) \
         ORDER BY record_at, id LIMIT $5"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(shift_id)
        .bind(after_at)
        .bind(after_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(entry_from_row).collect()
}

const INCIDENT_COLUMNS: &str = "id, property_id, description, is_open, shift_id, report_at, \
    reported_by_id, reported_by_name, reported_by_role, close_at, resolution";

fn incident_from_row(row: &AnyRow) -> Result<Incident> {
    Ok(Incident {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        description: row.try_get("description")?,
        open: get_flag(row, "is_open")?,
        shift_id: row.try_get("shift_id")?,
        reported_at: from_micros(row.try_get("report_at")?),
        reported_by: get_actor(row, "reported_by")?,
        closed_at: get_time(row, "close_at")?,
        resolution: row.try_get("resolution")?,
    })
}

fn entry(
    property_id: &str,
    shift_id: &str,
    kind: EntryKind,
    text: String,
    equipment_id: Option<String>,
    by: &Actor,
    at: DateTime<Utc>,
) -> DutyEntry {
    DutyEntry {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.to_owned(),
        shift_id: shift_id.to_owned(),
        kind,
        text,
        equipment_id,
        recorded_at: at,
        recorded_by: by.clone(),
    }
}

/// An incident being handled: it blocks handovers while open (HO-7) and goes in the record.
pub async fn report_incident(
    db: &Store,
    request_id: &RequestId,
    mut i: Incident,
) -> Result<Created<Incident>> {
    let mut tx = db.begin().await?;
    let scope = format!("ReportIncident/{}", i.property_id);
    let now = to_micros(i.reported_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &i.id, now).await?
    {
        return Ok(Created::Retry(id));
    }
    let holder = lock_duty(&mut tx, &i.property_id).await?;
    i.shift_id = holder.shift_id.ok_or_else(nobody_on_duty)?;
    sqlx::query(
        "INSERT INTO incidents (id, property_id, description, is_open, shift_id, report_at, \
         reported_by_id, reported_by_name, reported_by_role, close_at, resolution) \
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, NULL, '')",
    )
    .bind(&i.id)
    .bind(&i.property_id)
    .bind(&i.description)
    .bind(&i.shift_id)
    .bind(now)
    .bind(&i.reported_by.user_id)
    .bind(&i.reported_by.name)
    .bind(&i.reported_by.role)
    .execute(&mut *tx)
    .await?;
    let e = entry(
        &i.property_id,
        &i.shift_id,
        EntryKind::Incident,
        format!("事故：{}", i.description),
        None,
        &i.reported_by,
        i.reported_at,
    );
    insert_entry(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(Created::New(i))
}

async fn incident_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Incident> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref()
        .map(incident_from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("incident", id))
}

pub async fn get_incident(db: &Db, property_id: &str, id: &str) -> Result<Incident> {
    let mut tx = db.read().await?;
    let i = incident_in(&mut tx, property_id, id).await?;
    tx.commit().await?;
    Ok(i)
}

pub async fn close_incident(
    db: &Db,
    property_id: &str,
    id: &str,
    resolution: String,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Incident> {
    let mut tx = db.begin().await?;
    let holder = lock_duty(&mut tx, property_id).await?;
    let mut i = incident_in(&mut tx, property_id, id).await?;
    if !i.open {
        return Err(Refusal::new("INCIDENT_CLOSED", "the incident is already closed").into());
    }
    i.open = false;
    i.closed_at = Some(now);
    i.resolution = resolution;
    sqlx::query("UPDATE incidents SET is_open = 0, close_at = $2, resolution = $3 WHERE id = $1")
        .bind(&i.id)
        .bind(to_micros(now))
        .bind(&i.resolution)
        .execute(&mut *tx)
        .await?;
    if let Some(shift_id) = holder.shift_id {
        let e = entry(
            property_id,
            &shift_id,
            EntryKind::Incident,
            format!("事故处理完毕：{}", i.resolution),
            None,
            &by,
            now,
        );
        insert_entry(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok(i)
}

/// Incidents newest first (by id, which follows creation).
pub async fn list_incidents(
    db: &Db,
    property_id: &str,
    open_only: bool,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Incident>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE property_id = $1 \
         AND ($2 = 0 OR is_open = 1) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(flag(open_only))
        .bind(before_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(incident_from_row).collect()
}

pub async fn open_incident_ids(tx: &mut Tx, property_id: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM incidents WHERE property_id = $1 AND is_open = 1 ORDER BY id",
    )
    .bind(property_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

const FAULT_COLUMNS: &str = "id, property_id, equipment_id, description, needs_both, is_open, \
    shift_id, report_at, reported_by_id, reported_by_name, reported_by_role, clear_at, \
    resolution, stopped_handover_id";

fn fault_from_row(row: &AnyRow) -> Result<Fault> {
    Ok(Fault {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        equipment_id: row.try_get("equipment_id")?,
        description: row.try_get("description")?,
        needs_both_shifts: get_flag(row, "needs_both")?,
        open: get_flag(row, "is_open")?,
        shift_id: row.try_get("shift_id")?,
        reported_at: from_micros(row.try_get("report_at")?),
        reported_by: get_actor(row, "reported_by")?,
        cleared_at: get_time(row, "clear_at")?,
        resolution: row.try_get("resolution")?,
        stopped_handover_id: row.try_get("stopped_handover_id")?,
    })
}

/// A fault: the equipment is faulty, it goes in the record, and a handover in progress
/// stops (HO-8).
pub async fn report_fault(
    db: &Store,
    outbox: &Outbox,
    request_id: &RequestId,
    mut f: Fault,
) -> Result<Created<Fault>> {
    let mut tx = db.begin().await?;
    let scope = format!("ReportFault/{}", f.property_id);
    let now = to_micros(f.reported_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, db.keyring(), &scope, request_id, &f.id, now).await?
    {
        return Ok(Created::Retry(id));
    }
    let holder = lock_duty(&mut tx, &f.property_id).await?;
    f.shift_id = holder.shift_id.ok_or_else(nobody_on_duty)?;
    if !super::equipment::equipment_exists(&mut tx, &f.property_id, &f.equipment_id).await? {
        return Err(Error::invalid(
            "equipment_id",
            "is not equipment of this property",
        ));
    }
    let mut stopped = None;
    if let Some(mut h) = super::handover::open_handover(&mut tx, &f.property_id).await?
        && h.stop(&f.id)
    {
        super::handover::save(&mut tx, &h).await?;
        stopped = Some(h.id);
    }
    f.stopped_handover_id = stopped.clone();
    sqlx::query(
        "INSERT INTO faults (id, property_id, equipment_id, description, needs_both, is_open, \
         shift_id, report_at, reported_by_id, reported_by_name, reported_by_role, clear_at, \
         resolution, stopped_handover_id) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, NULL, '', $11)",
    )
    .bind(&f.id)
    .bind(&f.property_id)
    .bind(&f.equipment_id)
    .bind(&f.description)
    .bind(flag(f.needs_both_shifts))
    .bind(&f.shift_id)
    .bind(now)
    .bind(&f.reported_by.user_id)
    .bind(&f.reported_by.name)
    .bind(&f.reported_by.role)
    .bind(f.stopped_handover_id.as_deref())
    .execute(&mut *tx)
    .await?;
    super::equipment::set_condition(&mut tx, &f.equipment_id, Condition::Faulty).await?;
    let e = entry(
        &f.property_id,
        &f.shift_id,
        EntryKind::Fault,
        format!("故障：{}", f.description),
        Some(f.equipment_id.clone()),
        &f.reported_by,
        f.reported_at,
    );
    insert_entry(&mut tx, &e).await?;
    if let Some(handover_id) = &stopped {
        let event = Payload::HandoverStopped(HandoverStopped {
            handover_id: handover_id.clone(),
            fault_id: f.id.clone(),
            equipment_id: f.equipment_id.clone(),
        });
        outbox.append(&mut tx, &f.property_id, event).await?;
    }
    tx.commit().await?;
    if stopped.is_some() {
        outbox.notify();
    }
    Ok(Created::New(f))
}

async fn fault_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Fault> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {FAULT_COLUMNS} FROM faults WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref()
        .map(fault_from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("fault", id))
}

pub async fn get_fault(db: &Db, property_id: &str, id: &str) -> Result<Fault> {
    let mut tx = db.read().await?;
    let f = fault_in(&mut tx, property_id, id).await?;
    tx.commit().await?;
    Ok(f)
}

pub async fn fault_is_open(tx: &mut Tx, property_id: &str, id: &str) -> Result<bool> {
    Ok(fault_in(tx, property_id, id).await?.open)
}

/// The fault is handled: the equipment is intact again unless another fault is open on it.
pub async fn clear_fault(
    db: &Db,
    property_id: &str,
    id: &str,
    resolution: String,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Fault> {
    let mut tx = db.begin().await?;
    let holder = lock_duty(&mut tx, property_id).await?;
    let mut f = fault_in(&mut tx, property_id, id).await?;
    if !f.open {
        return Err(Refusal::new("FAULT_CLEARED", "the fault is already cleared").into());
    }
    f.open = false;
    f.cleared_at = Some(now);
    f.resolution = resolution;
    sqlx::query("UPDATE faults SET is_open = 0, clear_at = $2, resolution = $3 WHERE id = $1")
        .bind(&f.id)
        .bind(to_micros(now))
        .bind(&f.resolution)
        .execute(&mut *tx)
        .await?;
    let (others,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM faults WHERE equipment_id = $1 AND is_open = 1")
            .bind(&f.equipment_id)
            .fetch_one(&mut *tx)
            .await?;
    if others == 0 {
        super::equipment::set_condition(&mut tx, &f.equipment_id, Condition::Intact).await?;
    }
    if let Some(shift_id) = holder.shift_id {
        let e = entry(
            property_id,
            &shift_id,
            EntryKind::Fault,
            format!("故障排除：{}", f.resolution),
            Some(f.equipment_id.clone()),
            &by,
            now,
        );
        insert_entry(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok(f)
}

pub async fn list_faults(
    db: &Db,
    property_id: &str,
    open_only: bool,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Fault>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {FAULT_COLUMNS} FROM faults WHERE property_id = $1 \
         AND ($2 = 0 OR is_open = 1) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(property_id)
        .bind(flag(open_only))
        .bind(before_id)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(fault_from_row).collect()
}

/// HO-7: open faults whose repair needs both people.
pub async fn open_faults_needing_both(tx: &mut Tx, property_id: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM faults WHERE property_id = $1 AND is_open = 1 AND needs_both = 1 ORDER BY id",
    )
    .bind(property_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
