//! The shift handover (HO-1 to HO-8): start, the steps, the signatures. Every step takes the
//! property's duty lock first, so a handover, the faults and the incidents change one at a
//! time.

use chrono::{DateTime, Utc};
use tonic_types::FieldViolation;
use wuye_kit::{
    Error, Result, db::Tx, idempotency::RequestId, identity::Actor, properties::EngineeringRules,
    scope::Scope, time::to_timestamp,
};
use wuye_proto::events::{HandoverCompleted, HandoverRefused, event::Payload};

use super::{
    Claimed,
    duty::{entry, shift_in},
};
use crate::{
    Engineering,
    domain::{
        Refusal,
        alerts::{Alert, AlertKind},
        duty::{EntryKind, ShiftState},
        handover::{
            Blocker, Briefing, Count, Fitness, Handover, Observation, Preparation, SignError,
            Signed, State, View, Who, distinct_codes, is_ho7_refusal, preparation_late,
        },
    },
    store::{
        alerts as alert_store,
        duty::{self as duty_store, insert_entry, save_shift},
        equipment::{all_equipment, all_items},
        handover as store, lock_duty, set_duty,
    },
};

/// What the outgoing person says when starting.
pub(crate) struct Start {
    pub incoming_shift_id: String,
    pub equipment_ok: bool,
    pub rooms_cleaned: bool,
    pub note: String,
}

/// A handover step's input.
pub(crate) enum Step {
    Arrival(Fitness),
    Replace {
        incoming_shift_id: String,
    },
    Equipment(Vec<Observation>),
    LastRecord {
        regular: bool,
        note: String,
    },
    /// (item id, counted) for every item.
    Inventory(Vec<(String, i64)>),
    Cleanliness {
        clean: bool,
        note: String,
    },
    Briefing {
        summary: String,
        points_to_watch: String,
        both_clear: bool,
    },
    Restart,
}

impl Step {
    fn who(&self) -> Who {
        match self {
            Step::Arrival(_) => Who::IncomingOrSupervisor,
            // The policy admits only the foreman and the manager.
            Step::Replace { .. } | Step::Restart => Who::Anyone,
            Step::Briefing { .. } => Who::Outgoing,
            Step::Equipment(_)
            | Step::LastRecord { .. }
            | Step::Inventory(_)
            | Step::Cleanliness { .. } => Who::Incoming,
        }
    }
}

/// What a signature came to.
pub(crate) enum SignOutcome {
    Signed(Box<View>),
    /// Every blocker that held. When one is an HO-7 condition, the refusal was recorded, the
    /// manager alerted, and the event written.
    Blocked(Vec<Blocker>),
}

async fn view(tx: &mut Tx, h: Handover) -> Result<View> {
    let around = store::surroundings(tx, &h.property_id).await?;
    Ok(View::of(h, &around))
}

fn not_scheduled(message: &str) -> Error {
    Refusal::new("SHIFT_NOT_SCHEDULED", message.to_owned()).into()
}

pub(crate) async fn get(eng: &Engineering, scope: &Scope<'_>, id: &str) -> Result<View> {
    let mut tx = eng.db.read().await?;
    let h = store::load(&mut tx, &scope.property().id, id).await?;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    Ok(v)
}

/// Handovers newest first, before the id of the page token.
pub(crate) async fn list(
    eng: &Engineering,
    scope: &Scope<'_>,
    state: Option<State>,
    before_id: &str,
    limit: i64,
) -> Result<Vec<View>> {
    let property_id = &scope.property().id;
    let mut tx = eng.db.read().await?;
    let ids = store::list_ids(&mut tx, property_id, state, before_id, limit).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let h = store::load(&mut tx, property_id, &id).await?;
        out.push(view(&mut tx, h).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// HO-1: the person on duty starts the handover to `incoming_shift_id`.
pub(crate) async fn start(
    eng: &Engineering,
    scope: &Scope<'_>,
    request_id: &RequestId,
    s: Start,
) -> Result<View> {
    let property_id = &scope.property().id;
    let id = uuid::Uuid::now_v7().to_string();
    let now = eng.clock.now();
    let claimed = super::begin_create(eng, "StartHandover", scope, request_id, &id, now);
    let view = match claimed.await? {
        Claimed::Retry(first) => get(eng, scope, &first).await?,
        Claimed::New(mut tx) => {
            let rules = &scope.property().rules.engineering;
            let h = prepare(&mut tx, property_id, id, s, &scope.actor(), rules, now).await?;
            store::insert(&mut tx, &h).await?;
            let v = view(&mut tx, h).await?;
            tx.commit().await?;
            v
        }
    };
    tracing::info!(property = %property_id, handover = %view.handover.id, "handover started");
    Ok(view)
}

/// The checks of HO-1 and the handover they start.
async fn prepare(
    tx: &mut Tx,
    property_id: &str,
    id: String,
    s: Start,
    caller: &Actor,
    rules: &EngineeringRules,
    now: DateTime<Utc>,
) -> Result<Handover> {
    let holder = lock_duty(tx, property_id).await?;
    let Some(on_duty) = holder.shift_id else {
        return Err(Refusal::new("NO_ONE_ON_DUTY", "nobody holds the duty to hand over").into());
    };
    let outgoing = shift_in(tx, property_id, &on_duty).await?;
    if outgoing.user_id != caller.user_id {
        return Err(
            Refusal::new("NOT_ON_DUTY", "only the person on duty starts a handover").into(),
        );
    }
    if store::open_handover(tx, property_id).await?.is_some() {
        return Err(Refusal::new("HANDOVER_IN_PROGRESS", "a handover is already under way").into());
    }
    let incoming = shift_in(tx, property_id, &s.incoming_shift_id).await?;
    if incoming.state != ShiftState::Scheduled {
        return Err(not_scheduled("the incoming shift is not a scheduled shift"));
    }
    let h = Handover::start(
        id,
        property_id.to_owned(),
        (&outgoing.id, &outgoing.user_id),
        (&incoming.id, &incoming.user_id),
        Preparation {
            at: now,
            late: preparation_late(now, outgoing.end, rules),
            equipment_ok: s.equipment_ok,
            rooms_cleaned: s.rooms_cleaned,
            note: s.note,
        },
    )?;
    Ok(h)
}

/// Takes one step of the handover in one transaction, after the duty lock.
pub(crate) async fn step(
    eng: &Engineering,
    scope: &Scope<'_>,
    id: &str,
    step: Step,
) -> Result<View> {
    let property_id = &scope.property().id;
    let rules = &scope.property().rules.engineering;
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    lock_duty(&mut tx, property_id).await?;
    let mut h = store::load(&mut tx, property_id, id).await?;
    if !matches!(step, Step::Replace { .. }) {
        h.allows(step.who(), &scope.actor())?;
    }
    match step {
        Step::Arrival(fitness) => {
            let incoming = shift_in(&mut tx, property_id, &h.incoming_shift_id).await?;
            h.record_arrival(fitness, now, incoming.start, rules)?;
        }
        Step::Replace { incoming_shift_id } => {
            let incoming = shift_in(&mut tx, property_id, &incoming_shift_id).await?;
            if incoming.state != ShiftState::Scheduled {
                return Err(not_scheduled(
                    "the replacement's shift is not a scheduled shift",
                ));
            }
            h.replace_incoming(&incoming.id, &incoming.user_id)?;
        }
        Step::Equipment(observations) => {
            check_observations(&mut tx, property_id, &observations).await?;
            h.check_equipment(observations, now)?;
        }
        Step::LastRecord { regular, note } => h.read_last_record(regular, note, now)?,
        Step::Inventory(counted) => {
            let counts = counts(&mut tx, property_id, &counted).await?;
            h.count_inventory(counts, now)?;
        }
        Step::Cleanliness { clean, note } => h.check_cleanliness(clean, note, now)?,
        Step::Briefing {
            summary,
            points_to_watch,
            both_clear,
        } => h.brief(Briefing {
            at: now,
            summary,
            points_to_watch,
            both_clear,
        })?,
        Step::Restart => {
            let open = match &h.stopped_by_fault {
                Some(fault) => {
                    duty_store::fault_in(&mut tx, property_id, fault)
                        .await?
                        .ok_or_else(|| Error::not_found("fault", fault))?
                        .open
                }
                None => false,
            };
            h.restart(open)?;
        }
    }
    store::save(&mut tx, &h).await?;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    Ok(v)
}

/// HO-3: each piece of equipment of the property, once.
async fn check_observations(
    tx: &mut Tx,
    property_id: &str,
    observations: &[Observation],
) -> Result<()> {
    let equipment = all_equipment(tx, property_id).await?;
    let mut v = Vec::new();
    for (i, o) in observations.iter().enumerate() {
        if !equipment.iter().any(|e| e.id == o.equipment_id) {
            v.push(FieldViolation::new(
                format!("observations[{i}].equipment_id"),
                "is not equipment of this property",
            ));
        } else if observations[..i]
            .iter()
            .any(|p| p.equipment_id == o.equipment_id)
        {
            v.push(FieldViolation::new(
                format!("observations[{i}].equipment_id"),
                "is checked twice",
            ));
        }
    }
    for e in &equipment {
        if !observations.iter().any(|o| o.equipment_id == e.id) {
            v.push(FieldViolation::new(
                "observations",
                format!("equipment {} is not checked", e.number),
            ));
        }
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(v))
    }
}

/// HO-5: every item of the list, once; what the list says is taken from it.
async fn counts(tx: &mut Tx, property_id: &str, counted: &[(String, i64)]) -> Result<Vec<Count>> {
    let items = all_items(tx, property_id).await?;
    let mut v = Vec::new();
    let mut counts = Vec::with_capacity(items.len());
    for (i, (item_id, _)) in counted.iter().enumerate() {
        if !items.iter().any(|it| &it.id == item_id) {
            v.push(FieldViolation::new(
                format!("counts[{i}].item_id"),
                "is not on the inventory list",
            ));
        } else if counted[..i].iter().any(|(p, _)| p == item_id) {
            v.push(FieldViolation::new(
                format!("counts[{i}].item_id"),
                "is counted twice",
            ));
        }
    }
    for item in &items {
        match counted.iter().find(|(id, _)| *id == item.id) {
            None => v.push(FieldViolation::new(
                "counts",
                format!("{} is not counted", item.name),
            )),
            Some((_, n)) => counts.push(Count {
                item_id: item.id.clone(),
                name: item.name.clone(),
                listed: item.count,
                counted: *n,
            }),
        }
    }
    if v.is_empty() {
        Ok(counts)
    } else {
        Err(Error::InvalidArgument(v))
    }
}

/// HO-6, HO-7: the caller signs. The second signature passes the duty: the outgoing shift
/// is handed over, the incoming one on duty, both records say so, and the event is written.
pub(crate) async fn sign(eng: &Engineering, scope: &Scope<'_>, id: &str) -> Result<SignOutcome> {
    let property_id = &scope.property().id;
    let caller = scope.actor();
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    lock_duty(&mut tx, property_id).await?;
    let mut h = store::load(&mut tx, property_id, id).await?;
    let Some(side) = h.side_of(&caller.user_id) else {
        return Err(Refusal::new(
            "NOT_A_PARTY",
            "only the outgoing and the incoming person sign",
        )
        .into());
    };
    let around = store::surroundings(&mut tx, property_id).await?;
    match h.sign(side, &around, now) {
        Ok(Signed::Once) => store::save(&mut tx, &h).await?,
        Ok(Signed::Completed) => {
            store::save(&mut tx, &h).await?;
            pass_duty(eng, &mut tx, &h, &caller, now).await?;
        }
        Err(SignError::Refused(r)) => return Err(r.into()),
        Err(SignError::Blocked(blockers)) => {
            if !is_ho7_refusal(&blockers) {
                // Steps not yet done: nothing to record.
                return Ok(SignOutcome::Blocked(blockers));
            }
            record_refusal(eng, &mut tx, &h, &caller, &blockers, now).await?;
            tx.commit().await?;
            eng.outbox.notify();
            tracing::info!(property = %property_id, handover = %h.id, "handover refused (HO-7)");
            return Ok(SignOutcome::Blocked(blockers));
        }
    }
    let completed = h.state == State::Completed;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    if completed {
        eng.outbox.notify();
        tracing::info!(property = %property_id, handover = %v.handover.id, "handover completed");
    }
    Ok(SignOutcome::Signed(Box::new(v)))
}

/// HO-6: the duty passes to the incoming shift, in `tx`.
async fn pass_duty(
    eng: &Engineering,
    tx: &mut Tx,
    h: &Handover,
    caller: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut outgoing = shift_in(tx, &h.property_id, &h.outgoing_shift_id).await?;
    let mut incoming = shift_in(tx, &h.property_id, &h.incoming_shift_id).await?;
    outgoing.hand_over(now)?;
    incoming.take_over(now)?;
    save_shift(tx, &outgoing).await?;
    save_shift(tx, &incoming).await?;
    set_duty(tx, &h.property_id, &incoming.id, now, Some(&h.id)).await?;
    for (shift, text) in [
        (
            &outgoing,
            format!("交班完成，值班交给 {}", incoming.user_name),
        ),
        (
            &incoming,
            format!("接班完成，自 {} 处接班", outgoing.user_name),
        ),
    ] {
        let e = entry(
            &h.property_id,
            &shift.id,
            EntryKind::Handover,
            text,
            None,
            caller,
            now,
        );
        insert_entry(tx, &e).await?;
    }
    let event = Payload::HandoverCompleted(HandoverCompleted {
        handover_id: h.id.clone(),
        outgoing_shift_id: outgoing.id.clone(),
        incoming_shift_id: incoming.id.clone(),
        outgoing_user_id: outgoing.user_id.clone(),
        incoming_user_id: incoming.user_id.clone(),
        complete_time: Some(to_timestamp(now)),
    });
    eng.outbox.append(tx, &h.property_id, event).await?;
    Ok(())
}

/// HO-7: the refusal with every reason, the manager's alert and the event, in `tx`.
async fn record_refusal(
    eng: &Engineering,
    tx: &mut Tx,
    h: &Handover,
    caller: &Actor,
    blockers: &[Blocker],
    now: DateTime<Utc>,
) -> Result<()> {
    store::insert_refusal(tx, h, caller, blockers, now).await?;
    // The manager is called for the HO-7 conditions; steps not done are the parties' own.
    let ho7: Vec<Blocker> = blockers.iter().filter(|b| b.ho7).cloned().collect();
    let reasons: Vec<String> = distinct_codes(&ho7)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let alert = Alert {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: h.property_id.clone(),
        kind: AlertKind::HandoverRefused,
        subject_id: h.id.clone(),
        message: format!("交接班被拒绝：{}", reasons.join("、")),
        reasons: reasons.clone(),
        raised_at: now,
        acknowledged_by: None,
        acknowledged_at: None,
    };
    alert_store::insert(tx, &alert).await?;
    let event = Payload::HandoverRefused(HandoverRefused {
        handover_id: h.id.clone(),
        outgoing_user_id: h.outgoing_user_id.clone(),
        incoming_user_id: h.incoming_user_id.clone(),
        reasons,
        refuse_time: Some(to_timestamp(now)),
    });
    eng.outbox.append(tx, &h.property_id, event).await?;
    Ok(())
}
