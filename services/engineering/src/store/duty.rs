use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use wuye_kit::{
    Result,
    db::{Db, Tx, from_micros, to_micros},
};

use super::{Table, decode, flag, get_actor, get_flag, get_opt_actor, get_time};
use crate::domain::duty::{
    DutyEntry, EntryKind, Fault, Incident, Shift, ShiftState, ShiftSwap, SwapState,
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

const SHIFTS: Table<Shift> = Table {
    name: "shifts",
    columns: SHIFT_COLUMNS,
    from_row: shift_from_row,
};

/// The periods of `user_id`'s other shifts that may overlap `period` (the SQL selects
/// candidates; the domain says what overlapping means).
pub async fn periods_near(
    tx: &mut Tx,
    property_id: &str,
    user_id: &str,
    period: (DateTime<Utc>, DateTime<Utc>),
    except_shift: &str,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
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
    rows.iter()
        .map(|row| {
            Ok((
                from_micros(row.try_get("start_at")?),
                from_micros(row.try_get("end_at")?),
            ))
        })
        .collect()
}

pub async fn insert_shift(tx: &mut Tx, s: &Shift) -> Result<()> {
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_shift(db: &Db, property_id: &str, id: &str) -> Result<Option<Shift>> {
    SHIFTS.by_id(db.pool(), property_id, id).await
}

pub async fn shift_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<Shift>> {
    SHIFTS.by_id(&mut **tx, property_id, id).await
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

const SWAPS: Table<ShiftSwap> = Table {
    name: "shift_swaps",
    columns: SWAP_COLUMNS,
    from_row: swap_from_row,
};

pub async fn get_swap(db: &Db, property_id: &str, id: &str) -> Result<Option<ShiftSwap>> {
    SWAPS.by_id(db.pool(), property_id, id).await
}

pub async fn swap_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<ShiftSwap>> {
    SWAPS.by_id(&mut **tx, property_id, id).await
}

pub async fn insert_swap(tx: &mut Tx, swap: &ShiftSwap) -> Result<()> {
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
    .bind(to_micros(swap.requested_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the decision of a decided swap.
pub async fn save_decision(tx: &mut Tx, swap: &ShiftSwap) -> Result<()> {
    let by = swap.decided_by.as_ref();
    sqlx::query(
        "UPDATE shift_swaps SET state = $2, decided_by_id = $3, decided_by_name = $4, \
         decided_by_role = $5, decide_at = $6 WHERE id = $1",
    )
    .bind(&swap.id)
    .bind(swap.state.code())
    .bind(by.map(|a| a.user_id.clone()))
    .bind(by.map(|a| a.name.clone()))
    .bind(by.map(|a| a.role.clone()))
    .bind(swap.decided_at.map(to_micros))
    .execute(&mut **tx)
    .await?;
    Ok(())
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

const ENTRIES: Table<DutyEntry> = Table {
    name: "duty_entries",
    columns: ENTRY_COLUMNS,
    from_row: entry_from_row,
};

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

pub async fn get_entry(db: &Db, property_id: &str, id: &str) -> Result<Option<DutyEntry>> {
    ENTRIES.by_id(db.pool(), property_id, id).await
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

const INCIDENTS: Table<Incident> = Table {
    name: "incidents",
    columns: INCIDENT_COLUMNS,
    from_row: incident_from_row,
};

pub async fn insert_incident(tx: &mut Tx, i: &Incident) -> Result<()> {
    sqlx::query(
        "INSERT INTO incidents (id, property_id, description, is_open, shift_id, report_at, \
         reported_by_id, reported_by_name, reported_by_role, close_at, resolution) \
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, NULL, '')",
    )
    .bind(&i.id)
    .bind(&i.property_id)
    .bind(&i.description)
    .bind(&i.shift_id)
    .bind(to_micros(i.reported_at))
    .bind(&i.reported_by.user_id)
    .bind(&i.reported_by.name)
    .bind(&i.reported_by.role)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn incident_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<Incident>> {
    INCIDENTS.by_id(&mut **tx, property_id, id).await
}

pub async fn get_incident(db: &Db, property_id: &str, id: &str) -> Result<Option<Incident>> {
    INCIDENTS.by_id(db.pool(), property_id, id).await
}

/// Writes the closing of a closed incident.
pub async fn save_closed_incident(tx: &mut Tx, i: &Incident) -> Result<()> {
    sqlx::query("UPDATE incidents SET is_open = 0, close_at = $2, resolution = $3 WHERE id = $1")
        .bind(&i.id)
        .bind(i.closed_at.map(to_micros))
        .bind(&i.resolution)
        .execute(&mut **tx)
        .await?;
    Ok(())
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

const FAULTS: Table<Fault> = Table {
    name: "faults",
    columns: FAULT_COLUMNS,
    from_row: fault_from_row,
};

pub async fn insert_fault(tx: &mut Tx, f: &Fault) -> Result<()> {
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
    .bind(to_micros(f.reported_at))
    .bind(&f.reported_by.user_id)
    .bind(&f.reported_by.name)
    .bind(&f.reported_by.role)
    .bind(f.stopped_handover_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn fault_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Option<Fault>> {
    FAULTS.by_id(&mut **tx, property_id, id).await
}

pub async fn get_fault(db: &Db, property_id: &str, id: &str) -> Result<Option<Fault>> {
    FAULTS.by_id(db.pool(), property_id, id).await
}

/// Writes the clearing of a cleared fault.
pub async fn save_cleared_fault(tx: &mut Tx, f: &Fault) -> Result<()> {
    sqlx::query("UPDATE faults SET is_open = 0, clear_at = $2, resolution = $3 WHERE id = $1")
        .bind(&f.id)
        .bind(f.cleared_at.map(to_micros))
        .bind(&f.resolution)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How many faults are open on the equipment.
pub async fn open_faults_on(tx: &mut Tx, equipment_id: &str) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM faults WHERE equipment_id = $1 AND is_open = 1")
            .bind(equipment_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n)
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
