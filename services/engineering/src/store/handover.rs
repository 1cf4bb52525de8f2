use super::Store;
use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};
use tonic_types::FieldViolation;
use wuye_kit::{
    Error, Result,
    db::{Db, Tx, from_micros, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    outbox::Outbox,
    properties::EngineeringRules,
    time::to_timestamp,
};
use wuye_proto::events::{HandoverCompleted, HandoverRefused, event::Payload};

use super::{
    alerts, decode,
    duty::{insert_entry, open_faults_needing_both, open_incident_ids, save_shift, shift_in},
    equipment::{Created, all_equipment, all_items},
    flag, get_actor, get_flag, get_time, lock_duty, set_duty,
};
use crate::domain::{
    Refusal,
    alerts::{Alert, AlertKind},
    duty::{DutyEntry, EntryKind, ShiftState},
    handover::{
        Arrival, Blocker, Briefing, Cleanliness, Count, EquipmentCheck, Fitness, Handover,
        HandoverRefusal, InventoryCheck, LastRecordReading, Observation, Preparation, Running,
        Side, SignError, Signed, State, Surroundings, distinct_codes, is_ho7_refusal,
        preparation_late,
    },
};

/// A handover and what blocks its signatures now.
#[derive(Debug, Clone)]
pub struct View {
    pub handover: Handover,
    pub blockers: Vec<Blocker>,
}

const COLUMNS: &str = "id, property_id, state, outgoing_shift_id, outgoing_user_id, \
    incoming_shift_id, incoming_user_id, prepare_at, prepare_late, prepare_equipment_ok, \
    prepare_rooms_cleaned, prepare_note, arrive_at, arrive_late, fitness, equipment_check_at, \
    record_read_at, record_regular, record_note, inventory_check_at, cleanliness_at, clean, \
    cleanliness_note, brief_at, brief_summary, brief_points, both_clear, outgoing_sign_at, \
    incoming_sign_at, complete_at, stopped_by_fault_id";

fn from_row(row: &AnyRow) -> Result<Handover> {
    let arrival = match get_time(row, "arrive_at")? {
        None => None,
        Some(at) => Some(Arrival {
            at,
            late: get_flag(row, "arrive_late")?,
            fitness: decode(
                &row.try_get::<Option<String>, _>("fitness")?
                    .unwrap_or_default(),
                Fitness::from_code,
                "fitness",
            )?,
        }),
    };
    Ok(Handover {
        id: row.try_get("id")?,
        property_id: row.try_get("property_id")?,
        state: decode(row.try_get("state")?, State::from_code, "handover state")?,
        outgoing_shift_id: row.try_get("outgoing_shift_id")?,
        outgoing_user_id: row.try_get("outgoing_user_id")?,
        incoming_shift_id: row.try_get("incoming_shift_id")?,
        incoming_user_id: row.try_get("incoming_user_id")?,
        preparation: Preparation {
            at: from_micros(row.try_get("prepare_at")?),
            late: get_flag(row, "prepare_late")?,
            equipment_ok: get_flag(row, "prepare_equipment_ok")?,
            rooms_cleaned: get_flag(row, "prepare_rooms_cleaned")?,
            note: row.try_get("prepare_note")?,
        },
        arrival,
        // Filled in from their own tables.
        equipment_check: get_time(row, "equipment_check_at")?.map(|at| EquipmentCheck {
            at,
            observations: Vec::new(),
        }),
        last_record: match get_time(row, "record_read_at")? {
            None => None,
            Some(at) => Some(LastRecordReading {
                at,
                regular: get_flag(row, "record_regular")?,
                note: row.try_get("record_note")?,
            }),
        },
        inventory: get_time(row, "inventory_check_at")?.map(|at| InventoryCheck {
            at,
            counts: Vec::new(),
        }),
        cleanliness: match get_time(row, "cleanliness_at")? {
            None => None,
            Some(at) => Some(Cleanliness {
                at,
                clean: get_flag(row, "clean")?,
                note: row.try_get("cleanliness_note")?,
            }),
        },
        briefing: match get_time(row, "brief_at")? {
            None => None,
            Some(at) => Some(Briefing {
                at,
                summary: row.try_get("brief_summary")?,
                points_to_watch: row.try_get("brief_points")?,
                both_clear: get_flag(row, "both_clear")?,
            }),
        },
        outgoing_signed_at: get_time(row, "outgoing_sign_at")?,
        incoming_signed_at: get_time(row, "incoming_sign_at")?,
        completed_at: get_time(row, "complete_at")?,
        stopped_by_fault: row.try_get("stopped_by_fault_id")?,
        refusals: Vec::new(),
    })
}

/// Reads the rest of a handover: observations, counts and refusals.
async fn fill(tx: &mut Tx, h: &mut Handover) -> Result<()> {
    if let Some(check) = &mut h.equipment_check {
        let rows = sqlx::query(
            "SELECT equipment_id, running, matches_record, note FROM handover_observations \
             WHERE handover_id = $1 ORDER BY position",
        )
        .bind(&h.id)
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            check.observations.push(Observation {
                equipment_id: row.try_get("equipment_id")?,
                running: decode(row.try_get("running")?, Running::from_code, "running state")?,
                matches_record: get_flag(&row, "matches_record")?,
                note: row.try_get("note")?,
            });
        }
    }
    if let Some(inv) = &mut h.inventory {
        let rows = sqlx::query(
            "SELECT item_id, name, listed, counted FROM handover_counts \
             WHERE handover_id = $1 ORDER BY position",
        )
        .bind(&h.id)
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            inv.counts.push(Count {
                item_id: row.try_get("item_id")?,
                name: row.try_get("name")?,
                listed: row.try_get("listed")?,
                counted: row.try_get("counted")?,
            });
        }
    }
    let refusals = sqlx::query(
        "SELECT id, refuse_at, refused_to_id, refused_to_name, refused_to_role \
         FROM handover_refusals WHERE handover_id = $1 ORDER BY refuse_at, id",
    )
    .bind(&h.id)
    .fetch_all(&mut **tx)
    .await?;
    for r in refusals {
        let id: String = r.try_get("id")?;
        let rows = sqlx::query(
            "SELECT code, subject, description, ho7 FROM handover_refusal_reasons \
             WHERE refusal_id = $1 ORDER BY position",
        )
        .bind(&id)
        .fetch_all(&mut **tx)
        .await?;
        let mut reasons = Vec::with_capacity(rows.len());
        for row in rows {
            let code: String = row.try_get("code")?;
            reasons.push(Blocker {
                code: stable_code(&code)?,
                subject: row.try_get("subject")?,
                description: row.try_get("description")?,
                ho7: get_flag(&row, "ho7")?,
            });
        }
        h.refusals.push(HandoverRefusal {
            at: from_micros(r.try_get("refuse_at")?),
            refused_to: get_actor(&r, "refused_to")?,
            reasons,
        });
    }
    Ok(())
}

/// The `'static` code of a stored reason.
fn stable_code(code: &str) -> Result<&'static str> {
    use crate::domain::handover::{ho7, steps};
    const CODES: &[&str] = &[
        ho7::LAST_SHIFT_NOT_EXPLAINED,
        ho7::RECORD_IRREGULAR,
        ho7::ROOM_UNCLEAN,
        ho7::RECORDS_DIFFER_FROM_EQUIPMENT,
        ho7::INCOMING_NOT_ARRIVED,
        ho7::INCOMING_UNFIT,
        ho7::INCIDENT_IN_PROGRESS,
        ho7::FAULT_UNDER_REPAIR,
        ho7::EQUIPMENT_ABNORMAL_UNKNOWN,
        ho7::INVENTORY_MISMATCH,
        steps::HANDOVER_STOPPED,
        steps::ANOMALY_NOT_HANDLED,
        steps::EQUIPMENT_NOT_CHECKED,
        steps::LAST_RECORD_NOT_READ,
        steps::INVENTORY_NOT_COUNTED,
        steps::CLEANLINESS_NOT_CHECKED,
        steps::NOT_BRIEFED,
    ];
    CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown handover reason {code:?}")))
}

async fn load(tx: &mut Tx, property_id: &str, id: &str) -> Result<Handover> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handovers WHERE property_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(property_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let mut h = row
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("handover", id))?;
    fill(tx, &mut h).await?;
    Ok(h)
}

/// The property's handover in progress or stopped, if any (one at a time).
pub async fn open_handover(tx: &mut Tx, property_id: &str) -> Result<Option<Handover>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM handovers WHERE property_id = $1 AND state IN ('in_progress', 'stopped') \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(property_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(None),
        Some((id,)) => Ok(Some(load(tx, property_id, &id).await?)),
    }
}

async fn insert(tx: &mut Tx, h: &Handover) -> Result<()> {
    sqlx::query(
        "INSERT INTO handovers (id, property_id, state, outgoing_shift_id, outgoing_user_id, \
         incoming_shift_id, incoming_user_id, prepare_at, prepare_late, prepare_equipment_ok, \
         prepare_rooms_cleaned, prepare_note, arrive_late, record_regular, record_note, clean, \
         cleanliness_note, brief_summary, brief_points, both_clear) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, '', 0, '', '', '', 0)",
    )
    .bind(&h.id)
    .bind(&h.property_id)
    .bind(h.state.code())
    .bind(&h.outgoing_shift_id)
    .bind(&h.outgoing_user_id)
    .bind(&h.incoming_shift_id)
    .bind(&h.incoming_user_id)
    .bind(to_micros(h.preparation.at))
    .bind(flag(h.preparation.late))
    .bind(flag(h.preparation.equipment_ok))
    .bind(flag(h.preparation.rooms_cleaned))
    .bind(&h.preparation.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes the handover's state and steps (refusals are appended on their own).
pub async fn save(tx: &mut Tx, h: &Handover) -> Result<()> {
    let a = h.arrival.as_ref();
    let r = h.last_record.as_ref();
    let c = h.cleanliness.as_ref();
    let b = h.briefing.as_ref();
    sqlx::query(
        "UPDATE handovers SET state = $2, incoming_shift_id = $3, incoming_user_id = $4, \
         arrive_at = $5, arrive_late = $6, fitness = $7, equipment_check_at = $8, \
         record_read_at = $9, record_regular = $10, record_note = $11, inventory_check_at = $12, \
         cleanliness_at = $13, clean = $14, cleanliness_note = $15, brief_at = $16, \
         brief_summary = $17, brief_points = $18, both_clear = $19, outgoing_sign_at = $20, \
         incoming_sign_at = $21, complete_at = $22, stopped_by_fault_id = $23 WHERE id = $1",
    )
    .bind(&h.id)
    .bind(h.state.code())
    .bind(&h.incoming_shift_id)
    .bind(&h.incoming_user_id)
    .bind(a.map(|a| to_micros(a.at)))
    .bind(flag(a.is_some_and(|a| a.late)))
    .bind(a.map(|a| a.fitness.code()))
    .bind(h.equipment_check.as_ref().map(|e| to_micros(e.at)))
    .bind(r.map(|r| to_micros(r.at)))
    .bind(flag(r.is_some_and(|r| r.regular)))
    .bind(r.map(|r| r.note.clone()).unwrap_or_default())
    .bind(h.inventory.as_ref().map(|i| to_micros(i.at)))
    .bind(c.map(|c| to_micros(c.at)))
    .bind(flag(c.is_some_and(|c| c.clean)))
    .bind(c.map(|c| c.note.clone()).unwrap_or_default())
    .bind(b.map(|b| to_micros(b.at)))
    .bind(b.map(|b| b.summary.clone()).unwrap_or_default())
    .bind(b.map(|b| b.points_to_watch.clone()).unwrap_or_default())
    .bind(flag(b.is_some_and(|b| b.both_clear)))
    .bind(h.outgoing_signed_at.map(to_micros))
    .bind(h.incoming_signed_at.map(to_micros))
    .bind(h.completed_at.map(to_micros))
    .bind(h.stopped_by_fault.as_deref())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM handover_observations WHERE handover_id = $1")
        .bind(&h.id)
        .execute(&mut **tx)
        .await?;
    if let Some(check) = &h.equipment_check {
        for (i, o) in check.observations.iter().enumerate() {
            sqlx::query(
                "INSERT INTO handover_observations (handover_id, position, equipment_id, running, \
                 matches_record, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&h.id)
            .bind(i as i64)
            .bind(&o.equipment_id)
            .bind(o.running.code())
            .bind(flag(o.matches_record))
            .bind(&o.note)
            .execute(&mut **tx)
            .await?;
        }
    }
    sqlx::query("DELETE FROM handover_counts WHERE handover_id = $1")
        .bind(&h.id)
        .execute(&mut **tx)
        .await?;
    if let Some(inv) = &h.inventory {
        for (i, c) in inv.counts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO handover_counts (handover_id, position, item_id, name, listed, counted) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&h.id)
            .bind(i as i64)
            .bind(&c.item_id)
            .bind(&c.name)
            .bind(c.listed)
            .bind(c.counted)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

async fn surroundings(tx: &mut Tx, property_id: &str) -> Result<Surroundings> {
    Ok(Surroundings {
        open_incidents: open_incident_ids(tx, property_id).await?,
        faults_needing_both: open_faults_needing_both(tx, property_id).await?,
    })
}

async fn view(tx: &mut Tx, h: Handover) -> Result<View> {
    let around = surroundings(tx, &h.property_id).await?;
    let blockers = if h.state == State::Completed {
        Vec::new()
    } else {
        h.blockers(&around)
    };
    Ok(View {
        handover: h,
        blockers,
    })
}

pub async fn get(db: &Db, property_id: &str, id: &str) -> Result<View> {
    let mut tx = db.read().await?;
    let h = load(&mut tx, property_id, id).await?;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    Ok(v)
}

pub async fn list(
    db: &Db,
    property_id: &str,
    state: Option<State>,
    before_id: &str,
    limit: i64,
) -> Result<Vec<View>> {
    let mut tx = db.read().await?;
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM handovers WHERE property_id = $1 AND ($2 = '' OR state = $2) \
         AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4",
    )
    .bind(property_id)
    .bind(state.map(State::code).unwrap_or_default())
    .bind(before_id)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id,) in ids {
        let h = load(&mut tx, property_id, &id).await?;
        out.push(view(&mut tx, h).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// What the outgoing person says when starting.
pub struct Start {
    pub handover_id: String,
    pub incoming_shift_id: String,
    pub equipment_ok: bool,
    pub rooms_cleaned: bool,
    pub note: String,
}

/// HO-1: the person on duty starts the handover to `incoming_shift_id`.
pub async fn start(
    db: &Store,
    request_id: &RequestId,
    property_id: &str,
    s: Start,
    caller: &Actor,
    rules: &EngineeringRules,
    now: DateTime<Utc>,
) -> Result<Created<View>> {
    let mut tx = db.begin().await?;
    let scope = format!("StartHandover/{property_id}");
    if let Claim::Retry(id) = idempotency::claim(
        &mut tx,
        db.keyring(),
        &scope,
        request_id,
        &s.handover_id,
        to_micros(now),
    )
    .await?
    {
        return Ok(Created::Retry(id));
    }
    let holder = lock_duty(&mut tx, property_id).await?;
    let Some(on_duty) = holder.shift_id else {
        return Err(Refusal::new("NO_ONE_ON_DUTY", "nobody holds the duty to hand over").into());
    };
    let outgoing = shift_in(&mut tx, property_id, &on_duty).await?;
    if outgoing.user_id != caller.user_id {
        return Err(
            Refusal::new("NOT_ON_DUTY", "only the person on duty starts a handover").into(),
        );
    }
    if open_handover(&mut tx, property_id).await?.is_some() {
        return Err(Refusal::new("HANDOVER_IN_PROGRESS", "a handover is already under way").into());
    }
    let incoming = shift_in(&mut tx, property_id, &s.incoming_shift_id).await?;
    if incoming.state != ShiftState::Scheduled {
        return Err(Refusal::new(
            "SHIFT_NOT_SCHEDULED",
            "the incoming shift is not a scheduled shift",
        )
        .into());
    }
    let h = Handover::start(
        s.handover_id,
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
    insert(&mut tx, &h).await?;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    Ok(Created::New(v))
}

/// Who may take a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Outgoing,
    Incoming,
    /// The incoming person, or the foreman or manager for them.
    IncomingOrSupervisor,
    /// Either person, or the foreman or manager.
    Anyone,
}

fn is_supervisor(caller: &Actor) -> bool {
    matches!(
        caller.role.as_str(),
        "maintenance_foreman" | "engineering_manager"
    )
}

fn check_who(h: &Handover, who: Who, caller: &Actor) -> Result<()> {
    let side = h.side_of(&caller.user_id);
    let ok = match who {
        Who::Outgoing => side == Some(Side::Outgoing),
        Who::Incoming => side == Some(Side::Incoming),
        Who::IncomingOrSupervisor => side == Some(Side::Incoming) || is_supervisor(caller),
        Who::Anyone => side.is_some() || is_supervisor(caller),
    };
    if ok {
        Ok(())
    } else {
        let (reason, message) = match who {
            Who::Outgoing => ("NOT_OUTGOING", "only the outgoing person does this step"),
            _ => ("NOT_INCOMING", "only the incoming person does this step"),
        };
        Err(Refusal::new(reason, message).into())
    }
}

/// A handover step's input.
pub enum Step {
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

/// Takes one step of the handover in one transaction, after the duty lock.
pub async fn step(
    db: &Db,
    property_id: &str,
    id: &str,
    step: Step,
    caller: &Actor,
    rules: &EngineeringRules,
    now: DateTime<Utc>,
) -> Result<View> {
    let mut tx = db.begin().await?;
    lock_duty(&mut tx, property_id).await?;
    let mut h = load(&mut tx, property_id, id).await?;
    if !matches!(step, Step::Replace { .. }) {
        check_who(&h, step.who(), caller)?;
    }
    match step {
        Step::Arrival(fitness) => {
            let incoming = shift_in(&mut tx, property_id, &h.incoming_shift_id).await?;
            h.record_arrival(fitness, now, incoming.start, rules)?;
        }
        Step::Replace { incoming_shift_id } => {
            let incoming = shift_in(&mut tx, property_id, &incoming_shift_id).await?;
            if incoming.state != ShiftState::Scheduled {
                return Err(Refusal::new(
                    "SHIFT_NOT_SCHEDULED",
                    "the replacement's shift is not a scheduled shift",
                )
                .into());
            }
            h.replace_incoming(&incoming.id, &incoming.user_id)?;
        }
        Step::Equipment(observations) => {
            // HO-3: each piece of equipment, once.
            let equipment = all_equipment(&mut tx, property_id).await?;
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
            if !v.is_empty() {
                return Err(Error::InvalidArgument(v));
            }
            h.check_equipment(observations, now)?;
        }
        Step::LastRecord { regular, note } => h.read_last_record(regular, note, now)?,
        Step::Inventory(counted) => {
            // HO-5: every item of the list, once; what the list says is taken from it.
            let items = all_items(&mut tx, property_id).await?;
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
            if !v.is_empty() {
                return Err(Error::InvalidArgument(v));
            }
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
                Some(fault) => super::duty::fault_is_open(&mut tx, property_id, fault).await?,
                None => false,
            };
            h.restart(open)?;
        }
    }
    save(&mut tx, &h).await?;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    Ok(v)
}

/// What a signature came to.
pub enum SignOutcome {
    Signed(Box<View>),
    /// Every blocker that held. When one is an HO-7 condition, the refusal was recorded, the
    /// manager alerted, and the event written.
    Blocked(Vec<Blocker>),
}

/// HO-6, HO-7: the caller signs. The second signature passes the duty: the outgoing shift
/// is handed over, the incoming one on duty, both records say so, and the event is written.
pub async fn sign(
    db: &Db,
    outbox: &Outbox,
    property_id: &str,
    id: &str,
    caller: &Actor,
    now: DateTime<Utc>,
) -> Result<SignOutcome> {
    let mut tx = db.begin().await?;
    lock_duty(&mut tx, property_id).await?;
    let mut h = load(&mut tx, property_id, id).await?;
    let Some(side) = h.side_of(&caller.user_id) else {
        return Err(Refusal::new(
            "NOT_A_PARTY",
            "only the outgoing and the incoming person sign",
        )
        .into());
    };
    let around = surroundings(&mut tx, property_id).await?;
    match h.sign(side, &around, now) {
        Ok(Signed::Once) => {
            save(&mut tx, &h).await?;
        }
        Ok(Signed::Completed) => {
            save(&mut tx, &h).await?;
            pass_duty(&mut tx, outbox, &h, caller, now).await?;
        }
        Err(SignError::Refused(r)) => return Err(r.into()),
        Err(SignError::Blocked(blockers)) => {
            if !is_ho7_refusal(&blockers) {
                // Steps not yet done: nothing to record.
                return Ok(SignOutcome::Blocked(blockers));
            }
            record_refusal(&mut tx, outbox, &h, caller, &blockers, now).await?;
            tx.commit().await?;
            outbox.notify();
            tracing::info!(property = %property_id, handover = %h.id, "handover refused (HO-7)");
            return Ok(SignOutcome::Blocked(blockers));
        }
    }
    let completed = h.state == State::Completed;
    let v = view(&mut tx, h).await?;
    tx.commit().await?;
    if completed {
        outbox.notify();
        tracing::info!(property = %property_id, handover = %v.handover.id, "handover completed");
    }
    Ok(SignOutcome::Signed(Box::new(v)))
}

async fn pass_duty(
    tx: &mut Tx,
    outbox: &Outbox,
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
        insert_entry(
            tx,
            &DutyEntry {
                id: uuid::Uuid::now_v7().to_string(),
                property_id: h.property_id.clone(),
                shift_id: shift.id.clone(),
                kind: EntryKind::Handover,
                text,
                equipment_id: None,
                recorded_at: now,
                recorded_by: caller.clone(),
            },
        )
        .await?;
    }
    let event = Payload::HandoverCompleted(HandoverCompleted {
        handover_id: h.id.clone(),
        outgoing_shift_id: outgoing.id.clone(),
        incoming_shift_id: incoming.id.clone(),
        outgoing_user_id: outgoing.user_id.clone(),
        incoming_user_id: incoming.user_id.clone(),
        complete_time: Some(to_timestamp(now)),
    });
    outbox.append(tx, &h.property_id, event).await?;
    Ok(())
}

/// HO-7: the refusal with every reason, the manager's alert and the event, in `tx`.
async fn record_refusal(
    tx: &mut Tx,
    outbox: &Outbox,
    h: &Handover,
    caller: &Actor,
    blockers: &[Blocker],
    now: DateTime<Utc>,
) -> Result<()> {
    let refusal_id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO handover_refusals (id, handover_id, property_id, refuse_at, refused_to_id, \
         refused_to_name, refused_to_role) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&refusal_id)
    .bind(&h.id)
    .bind(&h.property_id)
    .bind(to_micros(now))
    .bind(&caller.user_id)
    .bind(&caller.name)
    .bind(&caller.role)
    .execute(&mut **tx)
    .await?;
    for (i, b) in blockers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO handover_refusal_reasons (refusal_id, position, code, subject, \
             description, ho7) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&refusal_id)
        .bind(i as i64)
        .bind(b.code)
        .bind(&b.subject)
        .bind(&b.description)
        .bind(flag(b.ho7))
        .execute(&mut **tx)
        .await?;
    }
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
    alerts::insert(tx, &alert).await?;
    let event = Payload::HandoverRefused(HandoverRefused {
        handover_id: h.id.clone(),
        outgoing_user_id: h.outgoing_user_id.clone(),
        incoming_user_id: h.incoming_user_id.clone(),
        reasons,
        refuse_time: Some(to_timestamp(now)),
    });
    outbox.append(tx, &h.property_id, event).await?;
    Ok(())
}
