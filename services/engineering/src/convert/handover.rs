//! Handover.

use wuye_proto::engineering as pb;

use super::{at, at_opt};
use crate::domain::handover::{
    Arrival, Blocker, Briefing, Cleanliness, Count, EquipmentCheck, Fitness, Handover,
    HandoverRefusal, InventoryCheck, LastRecordReading, Observation, Preparation, Running,
    State as HandoverState, View,
};

wuye_kit::enum_conversions!(HandoverState <=> pb::HandoverState {
    InProgress = InProgress,
    Stopped = Stopped,
    Completed = Completed,
});

wuye_kit::enum_conversions!(Fitness <=> pb::Fitness {
    Fit = Fit,
    Tired = Tired,
    Drunk = Drunk,
    Ill = Ill,
    Injured = Injured,
});

wuye_kit::enum_conversions!(Running <=> pb::RunningState {
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
