//! The transport: validates requests and converts between protobuf and domain types. The
//! rules live in `domain`, the SQL in `store`.

mod alerts;
mod duty;
mod equipment;
mod figures;
mod handover;
mod inspections;
mod work_orders;

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wuye_kit::{
    Result, Violations, page,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::engineering as pb;

use crate::domain::{
    MAX_ID,
    duty::{EntryKind, ShiftState, SwapState},
    equipment::{Condition, InventoryCategory},
    handover::{Fitness, Running, State as HandoverState},
};

const MAX_REQUEST_ID: usize = 100;

fn ts(at: Option<DateTime<Utc>>) -> Option<Timestamp> {
    at.map(to_timestamp)
}

/// A required timestamp field.
fn required_time(
    v: &mut Violations,
    field: &str,
    value: &Option<Timestamp>,
) -> Option<DateTime<Utc>> {
    match value.as_ref().map(from_timestamp) {
        Some(Some(at)) => Some(at),
        Some(None) => {
            v.add(field, "is not a valid time");
            None
        }
        None => {
            v.add(field, "must be set");
            None
        }
    }
}

/// An optional timestamp field.
fn optional_time(
    v: &mut Violations,
    field: &str,
    value: &Option<Timestamp>,
) -> Option<DateTime<Utc>> {
    match value.as_ref().map(from_timestamp) {
        Some(Some(at)) => Some(at),
        Some(None) => {
            v.add(field, "is not a valid time");
            None
        }
        None => None,
    }
}

fn check_request_id(v: &mut Violations, value: &str) {
    v.required_text("request_id", value, MAX_REQUEST_ID);
}

fn id_field(v: &mut Violations, field: &str, value: &str) {
    v.required_text(field, value, MAX_ID);
}

/// The id a page of a list ordered by id continues from; empty for the first page.
fn token_id(token: &str) -> Result<String> {
    Ok(page::decode(token)?.unwrap_or_default())
}

/// A page token of the form "<micros>|<id>".
fn token_pair(token: &str) -> Result<Option<(i64, String)>> {
    match page::decode(token)? {
        None => Ok(None),
        Some(key) => {
            let (at, id) = key.split_once('|').ok_or_else(page::bad_token)?;
            Ok(Some((
                at.parse().map_err(|_| page::bad_token())?,
                id.to_owned(),
            )))
        }
    }
}

fn pair_token(at: DateTime<Utc>, id: &str) -> String {
    page::encode(&format!("{}|{id}", at.timestamp_micros()))
}

/// The next page token when the page is full.
fn next_token<T>(items: &[T], limit: i64, key: impl Fn(&T) -> String) -> String {
    match items.last() {
        Some(last) if items.len() as i64 == limit => key(last),
        _ => String::new(),
    }
}

fn condition_to_proto(c: Condition) -> pb::EquipmentCondition {
    match c {
        Condition::Intact => pb::EquipmentCondition::Intact,
        Condition::Faulty => pb::EquipmentCondition::Faulty,
    }
}

fn category_from_proto(value: i32) -> Option<InventoryCategory> {
    match pb::InventoryCategory::try_from(value).ok()? {
        pb::InventoryCategory::Unspecified => None,
        pb::InventoryCategory::Instrument => Some(InventoryCategory::Instrument),
        pb::InventoryCategory::Tool => Some(InventoryCategory::Tool),
        pb::InventoryCategory::PlantRoomKey => Some(InventoryCategory::PlantRoomKey),
        pb::InventoryCategory::FixedAsset => Some(InventoryCategory::FixedAsset),
        pb::InventoryCategory::Valuable => Some(InventoryCategory::Valuable),
    }
}

fn category_to_proto(c: InventoryCategory) -> pb::InventoryCategory {
    match c {
        InventoryCategory::Instrument => pb::InventoryCategory::Instrument,
        InventoryCategory::Tool => pb::InventoryCategory::Tool,
        InventoryCategory::PlantRoomKey => pb::InventoryCategory::PlantRoomKey,
        InventoryCategory::FixedAsset => pb::InventoryCategory::FixedAsset,
        InventoryCategory::Valuable => pb::InventoryCategory::Valuable,
    }
}

fn shift_state_to_proto(s: ShiftState) -> pb::ShiftState {
    match s {
        ShiftState::Scheduled => pb::ShiftState::Scheduled,
        ShiftState::OnDuty => pb::ShiftState::OnDuty,
        ShiftState::HandedOver => pb::ShiftState::HandedOver,
        ShiftState::Ended => pb::ShiftState::Ended,
    }
}

fn swap_state_to_proto(s: SwapState) -> pb::SwapState {
    match s {
        SwapState::Pending => pb::SwapState::Pending,
        SwapState::Approved => pb::SwapState::Approved,
        SwapState::Rejected => pb::SwapState::Rejected,
    }
}

fn entry_kind_from_proto(value: i32) -> Option<EntryKind> {
    match pb::DutyEntryKind::try_from(value).ok()? {
        pb::DutyEntryKind::Unspecified => None,
        pb::DutyEntryKind::Event => Some(EntryKind::Event),
        pb::DutyEntryKind::EquipmentState => Some(EntryKind::EquipmentState),
        pb::DutyEntryKind::Fault => Some(EntryKind::Fault),
        pb::DutyEntryKind::Incident => Some(EntryKind::Incident),
        pb::DutyEntryKind::Cleaning => Some(EntryKind::Cleaning),
        pb::DutyEntryKind::Handover => Some(EntryKind::Handover),
        pb::DutyEntryKind::Note => Some(EntryKind::Note),
    }
}

fn entry_kind_to_proto(k: EntryKind) -> pb::DutyEntryKind {
    match k {
        EntryKind::Event => pb::DutyEntryKind::Event,
        EntryKind::EquipmentState => pb::DutyEntryKind::EquipmentState,
        EntryKind::Fault => pb::DutyEntryKind::Fault,
        EntryKind::Incident => pb::DutyEntryKind::Incident,
        EntryKind::Cleaning => pb::DutyEntryKind::Cleaning,
        EntryKind::Handover => pb::DutyEntryKind::Handover,
        EntryKind::Note => pb::DutyEntryKind::Note,
    }
}

fn handover_state_from_proto(value: i32) -> Option<HandoverState> {
    match pb::HandoverState::try_from(value).ok()? {
        pb::HandoverState::Unspecified => None,
        pb::HandoverState::InProgress => Some(HandoverState::InProgress),
        pb::HandoverState::Stopped => Some(HandoverState::Stopped),
        pb::HandoverState::Completed => Some(HandoverState::Completed),
    }
}

fn handover_state_to_proto(s: HandoverState) -> pb::HandoverState {
    match s {
        HandoverState::InProgress => pb::HandoverState::InProgress,
        HandoverState::Stopped => pb::HandoverState::Stopped,
        HandoverState::Completed => pb::HandoverState::Completed,
    }
}

fn fitness_from_proto(value: i32) -> Option<Fitness> {
    match pb::Fitness::try_from(value).ok()? {
        pb::Fitness::Unspecified => None,
        pb::Fitness::Fit => Some(Fitness::Fit),
        pb::Fitness::Tired => Some(Fitness::Tired),
        pb::Fitness::Drunk => Some(Fitness::Drunk),
        pb::Fitness::Ill => Some(Fitness::Ill),
        pb::Fitness::Injured => Some(Fitness::Injured),
    }
}

fn fitness_to_proto(f: Fitness) -> pb::Fitness {
    match f {
        Fitness::Fit => pb::Fitness::Fit,
        Fitness::Tired => pb::Fitness::Tired,
        Fitness::Drunk => pb::Fitness::Drunk,
        Fitness::Ill => pb::Fitness::Ill,
        Fitness::Injured => pb::Fitness::Injured,
    }
}

fn running_from_proto(value: i32) -> Option<Running> {
    match pb::RunningState::try_from(value).ok()? {
        pb::RunningState::Unspecified => None,
        pb::RunningState::Normal => Some(Running::Normal),
        pb::RunningState::AbnormalKnownCause => Some(Running::AbnormalKnownCause),
        pb::RunningState::AbnormalUnknownCause => Some(Running::AbnormalUnknownCause),
    }
}

fn running_to_proto(r: Running) -> pb::RunningState {
    match r {
        Running::Normal => pb::RunningState::Normal,
        Running::AbnormalKnownCause => pb::RunningState::AbnormalKnownCause,
        Running::AbnormalUnknownCause => pb::RunningState::AbnormalUnknownCause,
    }
}
