//! Shift handover (交接班制度) as a state machine: HO-1 to HO-8.
//!
//! A handover collects the steps of the seed (the outgoing person's preparation, the incoming
//! person's arrival and fitness, equipment check, reading of the last record, inventory count,
//! cleanliness check, the briefing) and refuses each signature while a blocker holds. Blockers
//! are of two sorts: the HO-7 conditions (a refusal is recorded and the engineering manager
//! alerted) and steps not yet done. Every blocker is listed, never only the first.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use wuye_kit::{identity::Actor, properties::EngineeringRules};

use super::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    InProgress,
    /// A fault during the handover stopped it (HO-8).
    Stopped,
    Completed,
}

wuye_kit::text_codes!(State { InProgress => "in_progress", Stopped => "stopped", Completed => "completed" });

/// HO-7: tired, drunk, ill or injured is unfit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fitness {
    Fit,
    Tired,
    Drunk,
    Ill,
    Injured,
}

wuye_kit::text_codes!(Fitness { Fit => "fit", Tired => "tired", Drunk => "drunk", Ill => "ill", Injured => "injured" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    Normal,
    /// HO-3: dealt with at once by the outgoing person before the handover proper.
    AbnormalKnownCause,
    /// HO-7: abnormal and nobody can say why.
    AbnormalUnknownCause,
}

wuye_kit::text_codes!(Running {
    Normal => "normal",
    AbnormalKnownCause => "abnormal_known_cause",
    AbnormalUnknownCause => "abnormal_unknown_cause",
});

/// HO-7 conditions: a signature refused for one of these is a recorded refusal and alerts
/// the engineering manager.
pub mod ho7 {
    pub const LAST_SHIFT_NOT_EXPLAINED: &str = "LAST_SHIFT_NOT_EXPLAINED";
    pub const RECORD_IRREGULAR: &str = "RECORD_IRREGULAR";
    pub const ROOM_UNCLEAN: &str = "ROOM_UNCLEAN";
    pub const RECORDS_DIFFER_FROM_EQUIPMENT: &str = "RECORDS_DIFFER_FROM_EQUIPMENT";
    pub const INCOMING_NOT_ARRIVED: &str = "INCOMING_NOT_ARRIVED";
    pub const INCOMING_UNFIT: &str = "INCOMING_UNFIT";
    pub const INCIDENT_IN_PROGRESS: &str = "INCIDENT_IN_PROGRESS";
    pub const FAULT_UNDER_REPAIR: &str = "FAULT_UNDER_REPAIR";
    pub const EQUIPMENT_ABNORMAL_UNKNOWN: &str = "EQUIPMENT_ABNORMAL_UNKNOWN";
    pub const INVENTORY_MISMATCH: &str = "INVENTORY_MISMATCH";
}

/// Steps not yet done and states that forbid a call.
pub mod steps {
    pub const HANDOVER_STOPPED: &str = "HANDOVER_STOPPED";
    pub const ANOMALY_NOT_HANDLED: &str = "ANOMALY_NOT_HANDLED";
    pub const EQUIPMENT_NOT_CHECKED: &str = "EQUIPMENT_NOT_CHECKED";
    pub const LAST_RECORD_NOT_READ: &str = "LAST_RECORD_NOT_READ";
    pub const INVENTORY_NOT_COUNTED: &str = "INVENTORY_NOT_COUNTED";
    pub const CLEANLINESS_NOT_CHECKED: &str = "CLEANLINESS_NOT_CHECKED";
    pub const NOT_BRIEFED: &str = "NOT_BRIEFED";
}

#[derive(Debug, Clone, PartialEq)]
pub struct Preparation {
    pub at: DateTime<Utc>,
    pub late: bool,
    pub equipment_ok: bool,
    pub rooms_cleaned: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub at: DateTime<Utc>,
    pub late: bool,
    pub fitness: Fitness,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub equipment_id: String,
    pub running: Running,
    pub matches_record: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EquipmentCheck {
    pub at: DateTime<Utc>,
    pub observations: Vec<Observation>,
}

impl EquipmentCheck {
    /// HO-3: any equipment running abnormally.
    fn has_anomaly(&self) -> bool {
        self.observations
            .iter()
            .any(|o| o.running != Running::Normal)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LastRecordReading {
    pub at: DateTime<Utc>,
    pub regular: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    pub item_id: String,
    pub name: String,
    pub listed: i64,
    pub counted: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InventoryCheck {
    pub at: DateTime<Utc>,
    pub counts: Vec<Count>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cleanliness {
    pub at: DateTime<Utc>,
    pub clean: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Briefing {
    pub at: DateTime<Utc>,
    pub summary: String,
    pub points_to_watch: String,
    pub both_clear: bool,
}

/// One reason a handover cannot be signed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    pub code: &'static str,
    /// The equipment, item, incident or fault concerned, or empty.
    pub subject: String,
    pub description: String,
    /// An HO-7 condition rather than a step not yet done.
    pub ho7: bool,
}

impl Blocker {
    fn ho7(code: &'static str, subject: &str, description: impl Into<String>) -> Self {
        Self {
            code,
            subject: subject.to_owned(),
            description: description.into(),
            ho7: true,
        }
    }

    fn step(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            subject: String::new(),
            description: description.into(),
            ho7: false,
        }
    }
}

/// A recorded refusal (HO-7).
#[derive(Debug, Clone, PartialEq)]
pub struct HandoverRefusal {
    pub at: DateTime<Utc>,
    /// Who was refused: the person who tried to sign.
    pub refused_to: Actor,
    pub reasons: Vec<Blocker>,
}

impl HandoverRefusal {
    /// The distinct reason codes, in the order first listed.
    pub fn codes(&self) -> Vec<&'static str> {
        distinct_codes(&self.reasons)
    }
}

pub fn distinct_codes(blockers: &[Blocker]) -> Vec<&'static str> {
    let mut seen = BTreeSet::new();
    blockers
        .iter()
        .filter(|b| seen.insert(b.code))
        .map(|b| b.code)
        .collect()
}

/// The facts outside the handover's own record that HO-7 looks at, read when it is judged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Surroundings {
    /// Incidents being handled.
    pub open_incidents: Vec<String>,
    /// Open faults whose repair needs both people.
    pub faults_needing_both: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handover {
    pub id: String,
    pub property_id: String,
    pub state: State,
    pub outgoing_shift_id: String,
    pub outgoing_user_id: String,
    pub incoming_shift_id: String,
    pub incoming_user_id: String,
    pub preparation: Preparation,
    pub arrival: Option<Arrival>,
    pub equipment_check: Option<EquipmentCheck>,
    pub last_record: Option<LastRecordReading>,
    pub inventory: Option<InventoryCheck>,
    pub cleanliness: Option<Cleanliness>,
    pub briefing: Option<Briefing>,
    pub outgoing_signed_at: Option<DateTime<Utc>>,
    pub incoming_signed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub stopped_by_fault: Option<String>,
    pub refusals: Vec<HandoverRefusal>,
}

/// A handover and what blocks its signatures now.
#[derive(Debug, Clone)]
pub struct View {
    pub handover: Handover,
    pub blockers: Vec<Blocker>,
}

impl View {
    /// The blockers of a handover not yet completed, judged with `around`.
    pub fn of(handover: Handover, around: &Surroundings) -> Self {
        let blockers = if handover.state == State::Completed {
            Vec::new()
        } else {
            handover.blockers(around)
        };
        Self { handover, blockers }
    }
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

/// Which of the two people acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Outgoing,
    Incoming,
}

/// What a signature did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// The first of the two signatures.
    Once,
    /// Both signed: the duty passes to the incoming shift (HO-6).
    Completed,
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SignError {
    /// A state that forbids signing at all (completed, already signed).
    Refused(Refusal),
    /// Every blocker that holds. When one is an HO-7 condition, the refusal is recorded.
    Blocked(Vec<Blocker>),
}

/// HO-1: the outgoing person starts preparing `outgoing_prepare_minutes` before the end of
/// the shift; later is late.
pub fn preparation_late(
    now: DateTime<Utc>,
    shift_end: DateTime<Utc>,
    rules: &EngineeringRules,
) -> bool {
    now > shift_end - Duration::minutes(i64::from(rules.outgoing_prepare_minutes))
}

/// HO-2: the incoming person arrives `incoming_early_minutes` before the shift; later is late.
pub fn arrival_late(
    now: DateTime<Utc>,
    shift_start: DateTime<Utc>,
    rules: &EngineeringRules,
) -> bool {
    now > shift_start - Duration::minutes(i64::from(rules.incoming_early_minutes))
}

impl Handover {
    /// HO-1: the outgoing person prepared; the handover starts.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        id: String,
        property_id: String,
        outgoing: (&str, &str),
        incoming: (&str, &str),
        preparation: Preparation,
    ) -> Result<Self, Refusal> {
        if outgoing.1 == incoming.1 {
            return Err(Refusal::new(
                "SAME_PERSON",
                "the incoming shift belongs to the outgoing person",
            ));
        }
        Ok(Self {
            id,
            property_id,
            state: State::InProgress,
            outgoing_shift_id: outgoing.0.to_owned(),
            outgoing_user_id: outgoing.1.to_owned(),
            incoming_shift_id: incoming.0.to_owned(),
            incoming_user_id: incoming.1.to_owned(),
            preparation,
            arrival: None,
            equipment_check: None,
            last_record: None,
            inventory: None,
            cleanliness: None,
            briefing: None,
            outgoing_signed_at: None,
            incoming_signed_at: None,
            completed_at: None,
            stopped_by_fault: None,
            refusals: Vec::new(),
        })
    }

    /// The side `user_id` acts on, if any.
    pub fn side_of(&self, user_id: &str) -> Option<Side> {
        if user_id == self.outgoing_user_id {
            Some(Side::Outgoing)
        } else if user_id == self.incoming_user_id {
            Some(Side::Incoming)
        } else {
            None
        }
    }

    fn require_in_progress(&self) -> Result<(), Refusal> {
        match self.state {
            State::InProgress => Ok(()),
            State::Stopped => Err(Refusal::new(
                steps::HANDOVER_STOPPED,
                "a fault stopped the handover: handle it, then restart (HO-8)",
            )),
            State::Completed => Err(Refusal::new(
                "HANDOVER_COMPLETED",
                "the handover is completed",
            )),
        }
    }

    fn require_arrived(&self) -> Result<(), Refusal> {
        self.require_in_progress()?;
        if self.arrival.is_none() {
            return Err(Refusal::new(
                ho7::INCOMING_NOT_ARRIVED,
                "the incoming person has not arrived",
            ));
        }
        Ok(())
    }

    /// HO-3: the handover proper starts only once the equipment was checked and runs normally.
    fn require_proper(&self) -> Result<(), Refusal> {
        self.require_arrived()?;
        match &self.equipment_check {
            Some(check) if !check.has_anomaly() => Ok(()),
            _ => Err(Refusal::new(
                "EQUIPMENT_CHECK_FIRST",
                "check the equipment and handle any anomaly first (HO-3)",
            )),
        }
    }

    /// A signature attests what was seen: any new step asks both to sign again.
    fn clear_signatures(&mut self) {
        self.outgoing_signed_at = None;
        self.incoming_signed_at = None;
    }

    /// HO-2 and HO-7: the incoming person is there, fit or not.
    pub fn record_arrival(
        &mut self,
        fitness: Fitness,
        now: DateTime<Utc>,
        incoming_shift_start: DateTime<Utc>,
        rules: &EngineeringRules,
    ) -> Result<(), Refusal> {
        self.require_in_progress()?;
        if self.arrival.is_some() {
            return Err(Refusal::new(
                "ALREADY_ARRIVED",
                "the incoming person's arrival is recorded; an unfit person is replaced",
            ));
        }
        self.arrival = Some(Arrival {
            at: now,
            late: arrival_late(now, incoming_shift_start, rules),
            fitness,
        });
        self.clear_signatures();
        Ok(())
    }

    /// HO-7: a replacement for an unfit or absent incoming person. Everything the incoming
    /// person did is theirs alone, so the replacement arrives and checks anew, and is briefed.
    pub fn replace_incoming(&mut self, shift_id: &str, user_id: &str) -> Result<(), Refusal> {
        self.require_in_progress()?;
        if user_id == self.outgoing_user_id {
            return Err(Refusal::new(
                "SAME_PERSON",
                "the replacement is the outgoing person",
            ));
        }
        if user_id == self.incoming_user_id {
            return Err(Refusal::new(
                "SAME_PERSON",
                "the replacement is the incoming person already",
            ));
        }
        self.incoming_shift_id = shift_id.to_owned();
        self.incoming_user_id = user_id.to_owned();
        self.arrival = None;
        self.equipment_check = None;
        self.last_record = None;
        self.inventory = None;
        self.cleanliness = None;
        self.briefing = None;
        self.clear_signatures();
        Ok(())
    }

    /// HO-3: the incoming person's check, one observation per piece of equipment (checked by
    /// the caller). Checking again after an anomaly was handled replaces the earlier check.
    pub fn check_equipment(
        &mut self,
        observations: Vec<Observation>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.require_arrived()?;
        self.equipment_check = Some(EquipmentCheck {
            at: now,
            observations,
        });
        self.clear_signatures();
        Ok(())
    }

    /// HO-5: the last duty record read, regular or not.
    pub fn read_last_record(
        &mut self,
        regular: bool,
        note: String,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.require_proper()?;
        self.last_record = Some(LastRecordReading {
            at: now,
            regular,
            note,
        });
        self.clear_signatures();
        Ok(())
    }

    /// HO-5: every item of the inventory list counted (checked by the caller).
    pub fn count_inventory(
        &mut self,
        counts: Vec<Count>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.require_proper()?;
        self.inventory = Some(InventoryCheck { at: now, counts });
        self.clear_signatures();
        Ok(())
    }

    /// HO-5, DUTY-3: the cleaning checked; an unclean room is redone and checked again.
    pub fn check_cleanliness(
        &mut self,
        clean: bool,
        note: String,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.require_proper()?;
        self.cleanliness = Some(Cleanliness {
            at: now,
            clean,
            note,
        });
        self.clear_signatures();
        Ok(())
    }

    /// HO-4: the outgoing person's briefing, until both are clear.
    pub fn brief(&mut self, briefing: Briefing) -> Result<(), Refusal> {
        self.require_proper()?;
        self.briefing = Some(briefing);
        self.clear_signatures();
        Ok(())
    }

    /// HO-8: a fault during the handover stops it. Signatures and the equipment check lapse:
    /// the equipment is no longer what was seen.
    pub fn stop(&mut self, fault_id: &str) -> bool {
        if self.state != State::InProgress {
            return false;
        }
        self.state = State::Stopped;
        self.stopped_by_fault = Some(fault_id.to_owned());
        self.equipment_check = None;
        self.briefing = None;
        self.clear_signatures();
        true
    }

    /// HO-8: the handover starts again once the outgoing person handled the fault.
    pub fn restart(&mut self, fault_still_open: bool) -> Result<(), Refusal> {
        match self.state {
            State::Stopped if fault_still_open => Err(Refusal::new(
                "FAULT_STILL_OPEN",
                "the fault that stopped the handover is not cleared yet",
            )),
            State::Stopped => {
                self.state = State::InProgress;
                self.stopped_by_fault = None;
                Ok(())
            }
            _ => Err(Refusal::new(
                "HANDOVER_NOT_STOPPED",
                "only a stopped handover is restarted",
            )),
        }
    }

    /// Every blocker that holds now, HO-7 conditions and steps not yet done alike.
    pub fn blockers(&self, around: &Surroundings) -> Vec<Blocker> {
        let mut out = Vec::new();
        if self.state == State::Stopped {
            out.push(Blocker {
                code: steps::HANDOVER_STOPPED,
                subject: self.stopped_by_fault.clone().unwrap_or_default(),
                description: "a fault stopped the handover (HO-8)".into(),
                ho7: false,
            });
        }
        match &self.arrival {
            None => out.push(Blocker::ho7(
                ho7::INCOMING_NOT_ARRIVED,
                &self.incoming_user_id,
                "the incoming person has not arrived; the outgoing person may not leave",
            )),
            Some(a) if a.fitness != Fitness::Fit => out.push(Blocker::ho7(
                ho7::INCOMING_UNFIT,
                &self.incoming_user_id,
                format!(
                    "the incoming person is {} and no replacement is found",
                    a.fitness.code()
                ),
            )),
            Some(_) => {}
        }
        self.equipment_blockers(&mut out);
        self.reading_blockers(&mut out);
        for id in &around.open_incidents {
            out.push(Blocker::ho7(
                ho7::INCIDENT_IN_PROGRESS,
                id,
                "an incident is being handled",
            ));
        }
        for id in &around.faults_needing_both {
            out.push(Blocker::ho7(
                ho7::FAULT_UNDER_REPAIR,
                id,
                "a fault under repair needs both people",
            ));
        }
        out
    }

    /// HO-3 and HO-7: the equipment check, each observation's anomaly and record.
    fn equipment_blockers(&self, out: &mut Vec<Blocker>) {
        let Some(check) = &self.equipment_check else {
            out.push(Blocker::step(
                steps::EQUIPMENT_NOT_CHECKED,
                "the incoming person has not checked the equipment (HO-3)",
            ));
            return;
        };
        for o in &check.observations {
            match o.running {
                Running::Normal => {}
                Running::AbnormalKnownCause => out.push(Blocker {
                    code: steps::ANOMALY_NOT_HANDLED,
                    subject: o.equipment_id.clone(),
                    description: "an anomaly is handled before the handover (HO-3)".into(),
                    ho7: false,
                }),
                Running::AbnormalUnknownCause => out.push(Blocker::ho7(
                    ho7::EQUIPMENT_ABNORMAL_UNKNOWN,
                    &o.equipment_id,
                    "the equipment runs abnormally and the cause is unknown",
                )),
            }
            if !o.matches_record {
                out.push(Blocker::ho7(
                    ho7::RECORDS_DIFFER_FROM_EQUIPMENT,
                    &o.equipment_id,
                    "the record differs from the equipment's actual state",
                ));
            }
        }
    }

    /// HO-4, HO-5 and HO-7: the last record, the inventory, the cleaning and the briefing.
    fn reading_blockers(&self, out: &mut Vec<Blocker>) {
        match &self.last_record {
            None => out.push(Blocker::step(
                steps::LAST_RECORD_NOT_READ,
                "the incoming person has not read the last duty record (HO-5)",
            )),
            Some(r) if !r.regular => out.push(Blocker::ho7(
                ho7::RECORD_IRREGULAR,
                "",
                "the last duty record is irregular",
            )),
            Some(_) => {}
        }
        match &self.inventory {
            None => out.push(Blocker::step(
                steps::INVENTORY_NOT_COUNTED,
                "the inventory list has not been counted (HO-5)",
            )),
            Some(inv) => {
                for c in inv.counts.iter().filter(|c| c.counted != c.listed) {
                    out.push(Blocker::ho7(
                        ho7::INVENTORY_MISMATCH,
                        &c.item_id,
                        format!("{}: {} counted, {} listed", c.name, c.counted, c.listed),
                    ));
                }
            }
        }
        match &self.cleanliness {
            None => out.push(Blocker::step(
                steps::CLEANLINESS_NOT_CHECKED,
                "the cleaning has not been checked (HO-5)",
            )),
            Some(c) if !c.clean => out.push(Blocker::ho7(
                ho7::ROOM_UNCLEAN,
                "",
                "the duty room or an equipment room is not clean",
            )),
            Some(_) => {}
        }
        match &self.briefing {
            None => out.push(Blocker::step(
                steps::NOT_BRIEFED,
                "the outgoing person has not briefed the incoming one (HO-4)",
            )),
            Some(b) if !b.both_clear => out.push(Blocker::ho7(
                ho7::LAST_SHIFT_NOT_EXPLAINED,
                "",
                "the last shift is not clearly explained",
            )),
            Some(_) => {}
        }
    }

    /// Whether `caller` may take a step that `who` may take.
    pub fn allows(&self, who: Who, caller: &Actor) -> Result<(), Refusal> {
        let side = self.side_of(&caller.user_id);
        let ok = match who {
            Who::Outgoing => side == Some(Side::Outgoing),
            Who::Incoming => side == Some(Side::Incoming),
            Who::IncomingOrSupervisor => side == Some(Side::Incoming) || is_supervisor(caller),
            Who::Anyone => side.is_some() || is_supervisor(caller),
        };
        if ok {
            return Ok(());
        }
        let (reason, message) = match who {
            Who::Outgoing => ("NOT_OUTGOING", "only the outgoing person does this step"),
            _ => ("NOT_INCOMING", "only the incoming person does this step"),
        };
        Err(Refusal::new(reason, message))
    }

    /// HO-6: a signature of `side`. Refused while any blocker holds; the second signature
    /// completes the handover.
    pub fn sign(
        &mut self,
        side: Side,
        around: &Surroundings,
        now: DateTime<Utc>,
    ) -> Result<Signed, SignError> {
        if self.state == State::Completed {
            return Err(SignError::Refused(Refusal::new(
                "HANDOVER_COMPLETED",
                "the handover is completed",
            )));
        }
        let signed = match side {
            Side::Outgoing => self.outgoing_signed_at,
            Side::Incoming => self.incoming_signed_at,
        };
        if signed.is_some() {
            return Err(SignError::Refused(Refusal::new(
                "ALREADY_SIGNED",
                "already signed; waiting for the other signature",
            )));
        }
        let blockers = self.blockers(around);
        if !blockers.is_empty() {
            return Err(SignError::Blocked(blockers));
        }
        match side {
            Side::Outgoing => self.outgoing_signed_at = Some(now),
            Side::Incoming => self.incoming_signed_at = Some(now),
        }
        if self.outgoing_signed_at.is_some() && self.incoming_signed_at.is_some() {
            self.state = State::Completed;
            self.completed_at = Some(now);
            Ok(Signed::Completed)
        } else {
            Ok(Signed::Once)
        }
    }
}

/// Whether a refused signature is an HO-7 refusal (recorded, and the manager alerted).
pub fn is_ho7_refusal(blockers: &[Blocker]) -> bool {
    blockers.iter().any(|b| b.ho7)
}

#[cfg(test)]
mod tests;
