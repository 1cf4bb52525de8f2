//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wuye_kit::time::to_timestamp;
use wuye_proto::engineering as pb;

use crate::domain::{
    alerts::{Alert, AlertKind},
    duty::{DutyEntry, EntryKind, Fault, Incident, Shift, ShiftState, ShiftSwap, SwapState},
    equipment::{Condition, Equipment, InventoryCategory, InventoryItem, Meter, Zone},
    handover::{
        Arrival, Blocker, Briefing, Cleanliness, Count, EquipmentCheck, Fitness, Handover,
        HandoverRefusal, InventoryCheck, LastRecordReading, Observation, Preparation, Running,
        State as HandoverState, View,
    },
};

/// One proto enum ↔ one domain enum, variant by variant: `From` the domain enum and, with
/// `<=>`, `TryFrom` the proto enum, its unspecified value refused.
macro_rules! enum_map {
    ($domain:ident <=> $proto:ty { $($d:ident = $p:ident),+ $(,)? }) => {
        enum_map!($domain => $proto { $($d = $p),+ });
        impl TryFrom<$proto> for $domain {
            type Error = ();
            fn try_from(p: $proto) -> Result<Self, ()> {
                match p {
                    $(<$proto>::$p => Ok($domain::$d),)+
                    _ => Err(()),
                }
            }
        }
    };
    ($domain:ident => $proto:ty { $($d:ident = $p:ident),+ $(,)? }) => {
        impl From<$domain> for $proto {
            fn from(d: $domain) -> Self {
                match d { $($domain::$d => <$proto>::$p,)+ }
            }
        }
    };
}

fn at(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(to_timestamp(t))
}

fn at_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(to_timestamp)
}

// Duty

enum_map!(ShiftState => pb::ShiftState {
    Scheduled = Scheduled,
    OnDuty = OnDuty,
    HandedOver = HandedOver,
    Ended = Ended,
});

enum_map!(SwapState => pb::SwapState {
    Pending = Pending,
    Approved = Approved,
    Rejected = Rejected,
});

enum_map!(EntryKind <=> pb::DutyEntryKind {
    Event = Event,
    EquipmentState = EquipmentState,
    Fault = Fault,
    Incident = Incident,
    Cleaning = Cleaning,
    Handover = Handover,
    Note = Note,
});

impl From<Shift> for pb::Shift {
    fn from(s: Shift) -> Self {
        pb::Shift {
            id: s.id,
            property_id: s.property_id,
            user_id: s.user_id,
            user_name: s.user_name,
            start_time: at(s.start),
            end_time: at(s.end),
            state: pb::ShiftState::from(s.state).into(),
            scheduled_by: Some(s.scheduled_by.to_proto()),
            on_duty_time: at_opt(s.on_duty_at),
            handed_over_time: at_opt(s.handed_over_at),
            left_time: at_opt(s.left_at),
        }
    }
}

impl From<ShiftSwap> for pb::ShiftSwap {
    fn from(s: ShiftSwap) -> Self {
        pb::ShiftSwap {
            id: s.id,
            property_id: s.property_id,
            shift_id: s.shift_id,
            from_user_id: s.from_user_id,
            to_user_id: s.to_user_id,
            to_user_name: s.to_user_name,
            reason: s.reason,
            state: pb::SwapState::from(s.state).into(),
            requested_by: Some(s.requested_by.to_proto()),
            request_time: at(s.requested_at),
            decided_by: s.decided_by.map(|a| a.to_proto()),
            decide_time: at_opt(s.decided_at),
        }
    }
}

impl From<DutyEntry> for pb::DutyRecordEntry {
    fn from(e: DutyEntry) -> Self {
        pb::DutyRecordEntry {
            id: e.id,
            property_id: e.property_id,
            shift_id: e.shift_id,
            kind: pb::DutyEntryKind::from(e.kind).into(),
            text: e.text,
            equipment_id: e.equipment_id.unwrap_or_default(),
            record_time: at(e.recorded_at),
            recorded_by: Some(e.recorded_by.to_proto()),
        }
    }
}

impl From<Incident> for pb::Incident {
    fn from(i: Incident) -> Self {
        pb::Incident {
            id: i.id,
            property_id: i.property_id,
            description: i.description,
            open: i.open,
            shift_id: i.shift_id,
            report_time: at(i.reported_at),
            reported_by: Some(i.reported_by.to_proto()),
            close_time: at_opt(i.closed_at),
            resolution: i.resolution,
        }
    }
}

impl From<Fault> for pb::Fault {
    fn from(f: Fault) -> Self {
        pb::Fault {
            id: f.id,
            property_id: f.property_id,
            equipment_id: f.equipment_id,
            description: f.description,
            needs_both_shifts: f.needs_both_shifts,
            open: f.open,
            shift_id: f.shift_id,
            report_time: at(f.reported_at),
            reported_by: Some(f.reported_by.to_proto()),
            clear_time: at_opt(f.cleared_at),
            resolution: f.resolution,
            stopped_handover_id: f.stopped_handover_id.unwrap_or_default(),
        }
    }
}

// Handover

enum_map!(HandoverState <=> pb::HandoverState {
    InProgress = InProgress,
    Stopped = Stopped,
    Completed = Completed,
});

enum_map!(Fitness <=> pb::Fitness {
    Fit = Fit,
    Tired = Tired,
    Drunk = Drunk,
    Ill = Ill,
    Injured = Injured,
});

enum_map!(Running <=> pb::RunningState {
    Normal = Normal,
    AbnormalKnownCause = AbnormalKnownCause,
    AbnormalUnknownCause = AbnormalUnknownCause,
});

impl From<&Blocker> for pb::HandoverBlocker {
    fn from(b: &Blocker) -> Self {
        pb::HandoverBlocker {
            code: b.code.to_owned(),
            subject: b.subject.clone(),
            description: b.description.clone(),
            ho7: b.ho7,
        }
    }
}

impl From<Preparation> for pb::Preparation {
    fn from(p: Preparation) -> Self {
        pb::Preparation {
            prepare_time: at(p.at),
            late: p.late,
            equipment_ok: p.equipment_ok,
            rooms_cleaned: p.rooms_cleaned,
            note: p.note,
        }
    }
}

impl From<Arrival> for pb::Arrival {
    fn from(a: Arrival) -> Self {
        pb::Arrival {
            arrive_time: at(a.at),
            late: a.late,
            fitness: pb::Fitness::from(a.fitness).into(),
        }
    }
}

impl From<Observation> for pb::EquipmentObservation {
    fn from(o: Observation) -> Self {
        pb::EquipmentObservation {
            equipment_id: o.equipment_id,
            running: pb::RunningState::from(o.running).into(),
            matches_record: o.matches_record,
            note: o.note,
        }
    }
}

impl From<EquipmentCheck> for pb::EquipmentCheck {
    fn from(c: EquipmentCheck) -> Self {
        pb::EquipmentCheck {
            check_time: at(c.at),
            observations: c.observations.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<LastRecordReading> for pb::LastRecordReading {
    fn from(r: LastRecordReading) -> Self {
        pb::LastRecordReading {
            read_time: at(r.at),
            regular: r.regular,
            note: r.note,
        }
    }
}

impl From<Count> for pb::InventoryCount {
    fn from(c: Count) -> Self {
        pb::InventoryCount {
            item_id: c.item_id,
            name: c.name,
            listed: c.listed,
            counted: c.counted,
        }
    }
}

impl From<InventoryCheck> for pb::InventoryCheck {
    fn from(i: InventoryCheck) -> Self {
        pb::InventoryCheck {
            check_time: at(i.at),
            counts: i.counts.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Cleanliness> for pb::CleanlinessCheck {
    fn from(c: Cleanliness) -> Self {
        pb::CleanlinessCheck {
            check_time: at(c.at),
            clean: c.clean,
            note: c.note,
        }
    }
}

impl From<Briefing> for pb::Briefing {
    fn from(b: Briefing) -> Self {
        pb::Briefing {
            brief_time: at(b.at),
            summary: b.summary,
            points_to_watch: b.points_to_watch,
            both_clear: b.both_clear,
        }
    }
}

impl From<HandoverRefusal> for pb::HandoverRefusal {
    fn from(r: HandoverRefusal) -> Self {
        pb::HandoverRefusal {
            refuse_time: at(r.at),
            refused_to: Some(r.refused_to.to_proto()),
            reasons: r.reasons.iter().map(Into::into).collect(),
        }
    }
}

impl From<View> for pb::Handover {
    fn from(v: View) -> Self {
        let View {
            handover: h,
            blockers,
        } = v;
        let Handover {
            id,
            property_id,
            state,
            outgoing_shift_id,
            outgoing_user_id,
            incoming_shift_id,
            incoming_user_id,
            preparation,
            arrival,
            equipment_check,
            last_record,
            inventory,
            cleanliness,
            briefing,
            outgoing_signed_at,
            incoming_signed_at,
            completed_at,
            stopped_by_fault,
            refusals,
        } = h;
        pb::Handover {
            id,
            property_id,
            state: pb::HandoverState::from(state).into(),
            outgoing_shift_id,
            outgoing_user_id,
            incoming_shift_id,
            incoming_user_id,
            preparation: Some(preparation.into()),
            arrival: arrival.map(Into::into),
            equipment_check: equipment_check.map(Into::into),
            last_record: last_record.map(Into::into),
            inventory: inventory.map(Into::into),
            cleanliness: cleanliness.map(Into::into),
            briefing: briefing.map(Into::into),
            outgoing_sign_time: at_opt(outgoing_signed_at),
            incoming_sign_time: at_opt(incoming_signed_at),
            complete_time: at_opt(completed_at),
            stopped_by_fault_id: stopped_by_fault.unwrap_or_default(),
            refusals: refusals.into_iter().map(Into::into).collect(),
            blockers: blockers.iter().map(Into::into).collect(),
        }
    }
}

// Alerts

enum_map!(AlertKind <=> pb::AlertKind {
    HandoverRefused = HandoverRefused,
    MajorFinding = MajorFinding,
});

impl From<Alert> for pb::Alert {
    fn from(a: Alert) -> Self {
        pb::Alert {
            id: a.id,
            property_id: a.property_id,
            kind: pb::AlertKind::from(a.kind).into(),
            subject_id: a.subject_id,
            message: a.message,
            reasons: a.reasons,
            raise_time: at(a.raised_at),
            acknowledged: a.acknowledged_by.is_some(),
            acknowledged_by: a.acknowledged_by.map(|x| x.to_proto()),
            acknowledge_time: at_opt(a.acknowledged_at),
        }
    }
}

// Equipment

enum_map!(Condition => pb::EquipmentCondition {
    Intact = Intact,
    Faulty = Faulty,
});

enum_map!(InventoryCategory <=> pb::InventoryCategory {
    Instrument = Instrument,
    Tool = Tool,
    PlantRoomKey = PlantRoomKey,
    FixedAsset = FixedAsset,
    Valuable = Valuable,
});

impl From<Zone> for pb::Zone {
    fn from(z: Zone) -> Self {
        pb::Zone {
            id: z.id,
            property_id: z.property_id,
            name: z.name,
            technician_user_id: z.technician_user_id,
            technician_name: z.technician_name,
            create_time: at(z.created_at),
        }
    }
}

impl From<Meter> for pb::Meter {
    fn from(m: Meter) -> Self {
        pb::Meter {
            name: m.name,
            unit: m.unit,
            min: m.min,
            max: m.max,
        }
    }
}

impl From<Equipment> for pb::Equipment {
    fn from(e: Equipment) -> Self {
        pb::Equipment {
            id: e.id,
            property_id: e.property_id,
            number: e.number,
            name: e.name,
            r#type: e.kind,
            location: e.location,
            zone_id: e.zone_id,
            large: e.large,
            meters: e.meters.into_iter().map(Into::into).collect(),
            condition: pb::EquipmentCondition::from(e.condition).into(),
            create_time: at(e.created_at),
        }
    }
}

impl From<InventoryItem> for pb::InventoryItem {
    fn from(i: InventoryItem) -> Self {
        pb::InventoryItem {
            id: i.id,
            property_id: i.property_id,
            category: pb::InventoryCategory::from(i.category).into(),
            name: i.name,
            count: i.count,
            create_time: at(i.created_at),
        }
    }
}
