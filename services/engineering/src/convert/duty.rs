//! Duty.

use wuye_proto::engineering as pb;

use super::{at, at_opt};
use crate::domain::duty::{
    DutyEntry, EntryKind, Fault, Incident, Shift, ShiftState, ShiftSwap, SwapState,
};

wuye_kit::enum_conversions!(ShiftState => pb::ShiftState {
    Scheduled = Scheduled,
    OnDuty = OnDuty,
    HandedOver = HandedOver,
    Ended = Ended,
});

wuye_kit::enum_conversions!(SwapState => pb::SwapState {
    Pending = Pending,
    Approved = Approved,
    Rejected = Rejected,
});

wuye_kit::enum_conversions!(EntryKind <=> pb::DutyEntryKind {
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
