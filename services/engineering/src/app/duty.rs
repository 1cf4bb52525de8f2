//! The roster, the duty and its record, incidents and faults (DUTY-1 to DUTY-4, HO-6 to
//! HO-8). Every change of duty, incident and fault takes the property's duty lock first.

use chrono::{DateTime, Utc};
use wuye_kit::{Error, Result, db::Tx, idempotency::RequestId, identity::Actor, scope::Scope};
use wuye_proto::events::{HandoverStopped, event::Payload};

use super::Claimed;
use crate::{
    Engineering,
    domain::{
        Refusal,
        duty::{
            DutyEntry, EntryKind, Fault, Incident, SHIFT_ROLES, SWAP_ROLES, Shift, ShiftState,
            ShiftSwap, SwapState, overlaps,
        },
        equipment::Condition,
    },
    store::{
        self, DutyHolder, duty as duty_store,
        equipment::{equipment_exists, set_condition},
        handover as handover_store, lock_duty, set_duty,
    },
};

/// Which shifts a list shows.
pub(crate) use crate::store::duty::ShiftFilter;

/// A shift to put on the roster.
pub(crate) struct NewShift {
    /// The staff id of the person on duty.
    pub user_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A swap asked for: the shift to the other person.
pub(crate) struct NewSwap {
    pub shift_id: String,
    /// The staff id of the person taking the shift.
    pub to_user_id: String,
    pub reason: String,
}

/// A fault as reported.
pub(crate) struct NewFault {
    pub equipment_id: String,
    pub description: String,
    pub needs_both_shifts: bool,
}

/// An entry of the record, written now by `by`.
pub(super) fn entry(
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

pub(super) async fn shift_in(tx: &mut Tx, property_id: &str, id: &str) -> Result<Shift> {
    duty_store::shift_in(tx, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("shift", id))
}

async fn shift(eng: &Engineering, property_id: &str, id: &str) -> Result<Shift> {
    found(
        duty_store::get_shift(&eng.db, property_id, id).await?,
        "shift",
        id,
    )
}

/// The record read, or `NOT_FOUND`.
fn found<T>(record: Option<T>, what: &'static str, id: &str) -> Result<T> {
    record.ok_or_else(|| Error::not_found(what, id))
}

/// DUTY-1: whether the shift's person has another shift overlapping it.
async fn has_overlap(tx: &mut Tx, s: &Shift) -> Result<bool> {
    let period = (s.start, s.end);
    let near = duty_store::periods_near(tx, &s.property_id, &s.user_id, period, &s.id).await?;
    Ok(near.into_iter().any(|other| overlaps(period, other)))
}

fn overlap_refusal() -> Error {
    Refusal::new(
        "SHIFT_OVERLAP",
        "the person already has a shift overlapping this one",
    )
    .into()
}

fn nobody_on_duty() -> Error {
    Refusal::new(
        "NO_ONE_ON_DUTY",
        "nobody holds the duty: open it or hand it over first",
    )
    .into()
}

fn not_equipment() -> Error {
    Error::invalid("equipment_id", "is not equipment of this property")
}

pub(crate) async fn create_shift(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewShift,
) -> Result<Shift> {
    let property_id = &scope.property().id;
    let person = eng
        .directory
        .check(property_id, "user_id", &new.user_id, SHIFT_ROLES);
    let person = person.await?;
    let now = eng.clock.now();
    let s = Shift {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        user_id: person.person_id,
        user_name: person.name,
        start: new.start,
        end: new.end,
        state: ShiftState::Scheduled,
        scheduled_by: scope.actor(),
        on_duty_at: None,
        handed_over_at: None,
        left_at: None,
    };
    let claimed = super::begin_create(eng, "CreateShift", scope, request_id, &s.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => return shift(eng, &s.property_id, &id).await,
    };
    if has_overlap(&mut tx, &s).await? {
        return Err(overlap_refusal());
    }
    duty_store::insert_shift(&mut tx, &s).await?;
    tx.commit().await?;
    Ok(s)
}

pub(crate) async fn list_shifts(
    eng: &Engineering,
    scope: &Scope<'_>,
    filter: &ShiftFilter,
    limit: i64,
) -> Result<Vec<Shift>> {
    duty_store::list_shifts(&eng.db, &scope.property().id, filter, limit).await
}

/// A swap request of a scheduled shift, by its person or the foreman.
pub(crate) async fn request_swap(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewSwap,
) -> Result<ShiftSwap> {
    let property_id = &scope.property().id;
    let to = eng
        .directory
        .check(property_id, "to_user_id", &new.to_user_id, SWAP_ROLES);
    let to = to.await?;
    let swap = ShiftSwap {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        shift_id: new.shift_id,
        from_user_id: String::new(),
        to_user_id: to.person_id,
        to_user_name: to.name,
        reason: new.reason,
        state: SwapState::Pending,
        requested_by: scope.actor(),
        requested_at: eng.clock.now(),
        decided_by: None,
        decided_at: None,
    };
    let now = swap.requested_at;
    let claimed = super::begin_create(eng, "RequestShiftSwap", scope, request_id, &swap.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => {
            let first = duty_store::get_swap(&eng.db, property_id, &id).await?;
            return found(first, "shift swap", &id);
        }
    };
    let shift = shift_in(&mut tx, property_id, &swap.shift_id).await?;
    let foreman = scope.caller().role == "maintenance_foreman";
    shift.check_swap_request(&swap.requested_by.user_id, foreman)?;
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
    duty_store::insert_swap(&mut tx, &swap).await?;
    tx.commit().await?;
    Ok(swap)
}

/// DUTY-1: approves or rejects a swap; an approved swap gives the shift to the other person.
pub(crate) async fn decide_swap(
    eng: &Engineering,
    scope: &Scope<'_>,
    swap_id: &str,
    approve: bool,
) -> Result<(ShiftSwap, Shift)> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    // Swaps change the roster the handover reads: they queue with it.
    lock_duty(&mut tx, property_id).await?;
    let mut swap = duty_store::swap_in(&mut tx, property_id, swap_id)
        .await?
        .ok_or_else(|| Error::not_found("shift swap", swap_id))?;
    let mut shift = shift_in(&mut tx, property_id, &swap.shift_id).await?;
    swap.decide(approve, &mut shift, scope.actor(), now)?;
    if approve && has_overlap(&mut tx, &shift).await? {
        return Err(overlap_refusal());
    }
    duty_store::save_decision(&mut tx, &swap).await?;
    duty_store::save_shift(&mut tx, &shift).await?;
    tx.commit().await?;
    Ok((swap, shift))
}

/// Gives the duty to a scheduled shift when nobody holds it.
pub(crate) async fn open_duty(
    eng: &Engineering,
    scope: &Scope<'_>,
    shift_id: &str,
) -> Result<Shift> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
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
    duty_store::save_shift(&mut tx, &shift).await?;
    set_duty(&mut tx, property_id, &shift.id, now, None).await?;
    let text = "值班开始（首班）".to_owned();
    let e = entry(
        property_id,
        &shift.id,
        EntryKind::Event,
        text,
        None,
        &scope.actor(),
        now,
    );
    duty_store::insert_entry(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(shift)
}

/// Who holds the duty, and their shift.
pub(crate) async fn on_duty(
    eng: &Engineering,
    scope: &Scope<'_>,
) -> Result<(Option<Shift>, DutyHolder)> {
    let property_id = &scope.property().id;
    let holder = store::duty_holder(&eng.db, property_id).await?;
    let shift = match &holder.shift_id {
        Some(id) => Some(shift(eng, property_id, id).await?),
        None => None,
    };
    Ok((shift, holder))
}

/// The person leaves their shift: refused while it holds the duty (HO-7). A technician ends
/// only their own shift.
pub(crate) async fn end_shift(
    eng: &Engineering,
    scope: &Scope<'_>,
    shift_id: &str,
) -> Result<Shift> {
    let property_id = &scope.property().id;
    let caller = scope.caller();
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    lock_duty(&mut tx, property_id).await?;
    let mut shift = shift_in(&mut tx, property_id, shift_id).await?;
    if caller.role == "technician" && caller.user_id != shift.user_id {
        return Err(
            Refusal::new("NOT_YOUR_SHIFT", "a technician ends only their own shift").into(),
        );
    }
    shift.end(now)?;
    duty_store::save_shift(&mut tx, &shift).await?;
    tx.commit().await?;
    Ok(shift)
}

/// DUTY-4: an entry in the record of the shift on duty.
pub(crate) async fn add_entry(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    kind: EntryKind,
    text: String,
    equipment_id: Option<String>,
) -> Result<DutyEntry> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut e = entry(
        property_id,
        "",
        kind,
        text,
        equipment_id,
        &scope.actor(),
        now,
    );
    let claimed = super::begin_create(eng, "AddDutyRecordEntry", scope, request_id, &e.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => {
            let first = duty_store::get_entry(&eng.db, property_id, &id).await?;
            return found(first, "duty record entry", &id);
        }
    };
    let holder = lock_duty(&mut tx, property_id).await?;
    e.shift_id = holder.shift_id.ok_or_else(nobody_on_duty)?;
    if let Some(equipment) = &e.equipment_id
        && !equipment_exists(&mut tx, property_id, equipment).await?
    {
        return Err(not_equipment());
    }
    duty_store::insert_entry(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(e)
}

pub(crate) async fn list_entries(
    eng: &Engineering,
    scope: &Scope<'_>,
    shift_id: &str,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Vec<DutyEntry>> {
    let property_id = &scope.property().id;
    duty_store::list_entries(&eng.db, property_id, shift_id, after, limit).await
}

/// An incident being handled: it blocks handovers while open (HO-7) and goes in the record.
pub(crate) async fn report_incident(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    description: String,
) -> Result<Incident> {
    let property_id = &scope.property().id;
    let mut i = Incident {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        description,
        open: true,
        shift_id: String::new(),
        reported_at: eng.clock.now(),
        reported_by: scope.actor(),
        closed_at: None,
        resolution: String::new(),
    };
    let now = i.reported_at;
    let claimed = super::begin_create(eng, "ReportIncident", scope, request_id, &i.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => {
            let first = duty_store::get_incident(&eng.db, property_id, &id).await?;
            return found(first, "incident", &id);
        }
    };
    let holder = lock_duty(&mut tx, property_id).await?;
    i.shift_id = holder.shift_id.ok_or_else(nobody_on_duty)?;
    duty_store::insert_incident(&mut tx, &i).await?;
    let text = format!("事故：{}", i.description);
    let e = entry(
        property_id,
        &i.shift_id,
        EntryKind::Incident,
        text,
        None,
        &i.reported_by,
        now,
    );
    duty_store::insert_entry(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(i)
}

pub(crate) async fn close_incident(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    resolution: String,
) -> Result<Incident> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let holder = lock_duty(&mut tx, property_id).await?;
    let mut i = duty_store::incident_in(&mut tx, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("incident", id))?;
    i.close(resolution, now)?;
    duty_store::save_closed_incident(&mut tx, &i).await?;
    if let Some(shift_id) = holder.shift_id {
        let text = format!("事故处理完毕：{}", i.resolution);
        let e = entry(
            property_id,
            &shift_id,
            EntryKind::Incident,
            text,
            None,
            &scope.actor(),
            now,
        );
        duty_store::insert_entry(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok(i)
}

/// Incidents newest first, before the id of the page token.
pub(crate) async fn list_incidents(
    eng: &Engineering,
    scope: &Scope<'_>,
    open_only: bool,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Incident>> {
    let property_id = &scope.property().id;
    duty_store::list_incidents(&eng.db, property_id, open_only, before_id, limit).await
}

/// A fault: the equipment is faulty, it goes in the record, and a handover in progress
/// stops (HO-8).
pub(crate) async fn report_fault(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewFault,
) -> Result<Fault> {
    let property_id = &scope.property().id;
    let mut f = Fault {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        equipment_id: new.equipment_id,
        description: new.description,
        needs_both_shifts: new.needs_both_shifts,
        open: true,
        shift_id: String::new(),
        reported_at: eng.clock.now(),
        reported_by: scope.actor(),
        cleared_at: None,
        resolution: String::new(),
        stopped_handover_id: None,
    };
    let now = f.reported_at;
    let claimed = super::begin_create(eng, "ReportFault", scope, request_id, &f.id, now);
    let mut tx = match claimed.await? {
        Claimed::New(tx) => tx,
        Claimed::Retry(id) => {
            let first = duty_store::get_fault(&eng.db, property_id, &id).await?;
            return found(first, "fault", &id);
        }
    };
    let holder = lock_duty(&mut tx, property_id).await?;
    f.shift_id = holder.shift_id.ok_or_else(nobody_on_duty)?;
    if !equipment_exists(&mut tx, property_id, &f.equipment_id).await? {
        return Err(not_equipment());
    }
    if let Some(mut h) = handover_store::open_handover(&mut tx, property_id).await?
        && h.stop(&f.id)
    {
        handover_store::save(&mut tx, &h).await?;
        f.stopped_handover_id = Some(h.id);
    }
    duty_store::insert_fault(&mut tx, &f).await?;
    set_condition(&mut tx, &f.equipment_id, Condition::Faulty).await?;
    let text = format!("故障：{}", f.description);
    let equipment = Some(f.equipment_id.clone());
    let e = entry(
        property_id,
        &f.shift_id,
        EntryKind::Fault,
        text,
        equipment,
        &f.reported_by,
        now,
    );
    duty_store::insert_entry(&mut tx, &e).await?;
    if let Some(handover_id) = &f.stopped_handover_id {
        let event = Payload::HandoverStopped(HandoverStopped {
            handover_id: handover_id.clone(),
            fault_id: f.id.clone(),
            equipment_id: f.equipment_id.clone(),
        });
        eng.outbox.append(&mut tx, property_id, event).await?;
    }
    tx.commit().await?;
    if f.stopped_handover_id.is_some() {
        eng.outbox.notify();
    }
    Ok(f)
}

/// The fault is handled: the equipment is intact again unless another fault is open on it.
pub(crate) async fn clear_fault(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    resolution: String,
) -> Result<Fault> {
    let property_id = &scope.property().id;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let holder = lock_duty(&mut tx, property_id).await?;
    let mut f = duty_store::fault_in(&mut tx, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("fault", id))?;
    f.clear(resolution, now)?;
    duty_store::save_cleared_fault(&mut tx, &f).await?;
    if duty_store::open_faults_on(&mut tx, &f.equipment_id).await? == 0 {
        set_condition(&mut tx, &f.equipment_id, Condition::Intact).await?;
    }
    if let Some(shift_id) = holder.shift_id {
        let text = format!("故障排除：{}", f.resolution);
        let equipment = Some(f.equipment_id.clone());
        let by = scope.actor();
        let e = entry(
            property_id,
            &shift_id,
            EntryKind::Fault,
            text,
            equipment,
            &by,
            now,
        );
        duty_store::insert_entry(&mut tx, &e).await?;
    }
    tx.commit().await?;
    Ok(f)
}

/// Faults newest first, before the id of the page token.
pub(crate) async fn list_faults(
    eng: &Engineering,
    scope: &Scope<'_>,
    open_only: bool,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Fault>> {
    let property_id = &scope.property().id;
    duty_store::list_faults(&eng.db, property_id, open_only, before_id, limit).await
}
