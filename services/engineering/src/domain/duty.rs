//! Duty (工程维修人员值班制度): the roster, who holds the duty, the duty record, and the
//! incidents and faults a shift handles.

use chrono::{DateTime, Duration, Utc};
use wuye_kit::identity::Actor;

use super::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftState {
    Scheduled,
    /// Holds the duty: problems are this shift's (HO-6).
    OnDuty,
    HandedOver,
    Ended,
}

wuye_kit::text_codes!(ShiftState {
    Scheduled => "scheduled",
    OnDuty => "on_duty",
    HandedOver => "handed_over",
    Ended => "ended",
});

/// The longest shift the roster takes.
pub const MAX_SHIFT_HOURS: i64 = 24;

/// The posts a person on a roster shift holds at the property (DUTY-1, DUTY-2): the duty is
/// held by the maintenance staff, technicians (工程技工 / 值班人员) and the maintenance foreman,
/// who sign the handover (HO-6); the engineering manager supervises the duty, not holds it.
pub const SHIFT_ROLES: &[&str] = &["technician", "maintenance_foreman"];

/// The posts of the person a shift swap gives the shift to: whoever may hold a shift
/// ([`SHIFT_ROLES`], DUTY-1).
pub const SWAP_ROLES: &[&str] = SHIFT_ROLES;

#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub id: String,
    pub property_id: String,
    pub user_id: String,
    pub user_name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub state: ShiftState,
    pub scheduled_by: Actor,
    pub on_duty_at: Option<DateTime<Utc>>,
    pub handed_over_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
}

/// Why a shift's times cannot go on the roster, if they cannot.
pub fn shift_times_problem(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<String> {
    if end <= start {
        Some("must be after start_time".into())
    } else if end - start > Duration::hours(MAX_SHIFT_HOURS) {
        Some(format!("a shift lasts at most {MAX_SHIFT_HOURS} hours"))
    } else {
        None
    }
}

/// Whether two half-open periods overlap (DUTY-1: one person, one shift at a time).
pub fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

impl Shift {
    /// Takes the duty without a handover: only when nobody holds it (checked by the caller)
    /// and only a scheduled shift.
    pub fn open_duty(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        self.take_over(now)
    }

    /// The shift takes the duty, by a handover (HO-6) or by opening it.
    pub fn take_over(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        match self.state {
            ShiftState::Scheduled => {
                self.state = ShiftState::OnDuty;
                self.on_duty_at = Some(now);
                Ok(())
            }
            _ => Err(Refusal::new(
                "SHIFT_NOT_SCHEDULED",
                "only a scheduled shift can take the duty",
            )),
        }
    }

    /// DUTY-1: a swap is asked for a shift not yet started, by its person or the foreman.
    pub fn check_swap_request(&self, requester_id: &str, by_foreman: bool) -> Result<(), Refusal> {
        if self.state != ShiftState::Scheduled {
            return Err(Refusal::new(
                "SHIFT_NOT_SCHEDULED",
                "only a shift not yet started can be swapped",
            ));
        }
        if !by_foreman && self.user_id != requester_id {
            return Err(Refusal::new(
                "NOT_YOUR_SHIFT",
                "a technician asks to swap only their own shift",
            ));
        }
        Ok(())
    }

    /// The duty passed to the next shift (HO-6).
    pub fn hand_over(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        match self.state {
            ShiftState::OnDuty => {
                self.state = ShiftState::HandedOver;
                self.handed_over_at = Some(now);
                Ok(())
            }
            _ => Err(Refusal::new(
                "NOT_ON_DUTY",
                "the shift does not hold the duty",
            )),
        }
    }

    /// The person leaves. HO-7: while the incoming person has not taken over, the outgoing
    /// person may not leave.
    pub fn end(&mut self, now: DateTime<Utc>) -> Result<(), Refusal> {
        match self.state {
            ShiftState::HandedOver => {
                self.state = ShiftState::Ended;
                self.left_at = Some(now);
                Ok(())
            }
            ShiftState::OnDuty => Err(Refusal::new(
                "INCOMING_NOT_TAKEN_OVER",
                "the shift still holds the duty: nobody has taken over",
            )),
            ShiftState::Scheduled => Err(Refusal::new(
                "SHIFT_NOT_STARTED",
                "the shift has not started",
            )),
            ShiftState::Ended => Err(Refusal::new("SHIFT_ENDED", "the shift has already ended")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapState {
    Pending,
    Approved,
    Rejected,
}

wuye_kit::text_codes!(SwapState { Pending => "pending", Approved => "approved", Rejected => "rejected" });

#[derive(Debug, Clone, PartialEq)]
pub struct ShiftSwap {
    pub id: String,
    pub property_id: String,
    pub shift_id: String,
    pub from_user_id: String,
    pub to_user_id: String,
    pub to_user_name: String,
    pub reason: String,
    pub state: SwapState,
    pub requested_by: Actor,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<Actor>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl ShiftSwap {
    /// DUTY-1: the foreman or the manager decides; an approved swap gives `shift` to the
    /// other person, provided the shift is still only scheduled.
    pub fn decide(
        &mut self,
        approve: bool,
        shift: &mut Shift,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        if self.state != SwapState::Pending {
            return Err(Refusal::new("SWAP_DECIDED", "the swap is already decided"));
        }
        if approve {
            if shift.state != ShiftState::Scheduled {
                return Err(Refusal::new(
                    "SHIFT_NOT_SCHEDULED",
                    "only a shift not yet started can be swapped",
                ));
            }
            if shift.user_id != self.from_user_id {
                return Err(Refusal::new(
                    "SHIFT_CHANGED_HANDS",
                    "the shift no longer belongs to the person who asked",
                ));
            }
            shift.user_id = self.to_user_id.clone();
            shift.user_name = self.to_user_name.clone();
        }
        self.state = if approve {
            SwapState::Approved
        } else {
            SwapState::Rejected
        };
        self.decided_by = Some(by);
        self.decided_at = Some(now);
        Ok(())
    }
}

/// What a duty record entry is about (DUTY-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Event,
    EquipmentState,
    Fault,
    Incident,
    Cleaning,
    Handover,
    Note,
}

wuye_kit::text_codes!(EntryKind {
    Event => "event",
    EquipmentState => "equipment_state",
    Fault => "fault",
    Incident => "incident",
    Cleaning => "cleaning",
    Handover => "handover",
    Note => "note",
});

impl EntryKind {
    /// Faults, incidents and handovers are written by their own calls, so that the record
    /// and their state never disagree.
    pub fn written_by_hand(self) -> bool {
        matches!(
            self,
            EntryKind::Event | EntryKind::EquipmentState | EntryKind::Cleaning | EntryKind::Note
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DutyEntry {
    pub id: String,
    pub property_id: String,
    pub shift_id: String,
    pub kind: EntryKind,
    pub text: String,
    pub equipment_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Actor,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    pub property_id: String,
    pub description: String,
    pub open: bool,
    pub shift_id: String,
    pub reported_at: DateTime<Utc>,
    pub reported_by: Actor,
    pub closed_at: Option<DateTime<Utc>>,
    pub resolution: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub id: String,
    pub property_id: String,
    pub equipment_id: String,
    pub description: String,
    pub needs_both_shifts: bool,
    pub open: bool,
    pub shift_id: String,
    pub reported_at: DateTime<Utc>,
    pub reported_by: Actor,
    pub cleared_at: Option<DateTime<Utc>>,
    pub resolution: String,
    pub stopped_handover_id: Option<String>,
}

impl Incident {
    /// The incident is handled.
    pub fn close(&mut self, resolution: String, now: DateTime<Utc>) -> Result<(), Refusal> {
        if !self.open {
            return Err(Refusal::new(
                "INCIDENT_CLOSED",
                "the incident is already closed",
            ));
        }
        self.open = false;
        self.closed_at = Some(now);
        self.resolution = resolution;
        Ok(())
    }
}

impl Fault {
    /// The fault is handled.
    pub fn clear(&mut self, resolution: String, now: DateTime<Utc>) -> Result<(), Refusal> {
        if !self.open {
            return Err(Refusal::new(
                "FAULT_CLEARED",
                "the fault is already cleared",
            ));
        }
        self.open = false;
        self.cleared_at = Some(now);
        self.resolution = resolution;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, h, 0, 0).unwrap()
    }

    fn actor() -> Actor {
        Actor {
            user_id: "f1".into(),
            name: "领班".into(),
            role: "maintenance_foreman".into(),
        }
    }

    fn shift() -> Shift {
        Shift {
            id: "s1".into(),
            property_id: "p".into(),
            user_id: "t1".into(),
            user_name: "张".into(),
            start: at(8),
            end: at(16),
            state: ShiftState::Scheduled,
            scheduled_by: actor(),
            on_duty_at: None,
            handed_over_at: None,
            left_at: None,
        }
    }

    #[test]
    fn the_outgoing_person_may_not_leave_before_the_handover() {
        // rule HO-7 (接班人未到岗，交班人不准下班)
        let mut s = shift();
        assert_eq!(s.end(at(16)).unwrap_err().reason, "SHIFT_NOT_STARTED");
        s.take_over(at(8)).unwrap();
        assert_eq!(s.end(at(16)).unwrap_err().reason, "INCOMING_NOT_TAKEN_OVER");
        s.hand_over(at(16)).unwrap();
        s.end(at(16)).unwrap();
        assert_eq!(s.state, ShiftState::Ended);
        assert_eq!(s.end(at(17)).unwrap_err().reason, "SHIFT_ENDED");
    }

    #[test]
    fn swaps_need_a_decision_and_a_scheduled_shift() {
        // rule DUTY-1
        let mut s = shift();
        let mut swap = ShiftSwap {
            id: "w".into(),
            property_id: "p".into(),
            shift_id: "s1".into(),
            from_user_id: "t1".into(),
            to_user_id: "t2".into(),
            to_user_name: "李".into(),
            reason: "家中有事".into(),
            state: SwapState::Pending,
            requested_by: actor(),
            requested_at: at(1),
            decided_by: None,
            decided_at: None,
        };
        let mut started = s.clone();
        started.take_over(at(8)).unwrap();
        assert_eq!(
            swap.clone()
                .decide(true, &mut started, actor(), at(2))
                .unwrap_err()
                .reason,
            "SHIFT_NOT_SCHEDULED"
        );
        swap.decide(true, &mut s, actor(), at(2)).unwrap();
        assert_eq!(
            (s.user_id.as_str(), swap.state),
            ("t2", SwapState::Approved)
        );
        assert_eq!(
            swap.decide(false, &mut s, actor(), at(3))
                .unwrap_err()
                .reason,
            "SWAP_DECIDED"
        );
    }

    #[test]
    fn shifts_overlap_or_not() {
        assert!(overlaps((at(8), at(16)), (at(15), at(23))));
        assert!(!overlaps((at(8), at(16)), (at(16), at(23))));
        assert!(shift_times_problem(at(8), at(8)).is_some());
        assert!(shift_times_problem(at(8), at(16)).is_none());
    }
}
