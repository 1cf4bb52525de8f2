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
    inspections::{Kind, Observed, State as InspectionState},
    work_orders::{Source, State as WorkOrderState, Urgency},
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

fn urgency_from_proto(value: i32) -> Option<Urgency> {
    match pb::Urgency::try_from(value).ok()? {
        pb::Urgency::Unspecified => None,
        pb::Urgency::Emergency => Some(Urgency::Emergency),
        pb::Urgency::Ordinary => Some(Urgency::Ordinary),
    }
}

fn source_from_proto(value: i32) -> Option<Source> {
    match pb::WorkOrderSource::try_from(value).ok()? {
        pb::WorkOrderSource::Unspecified => None,
        pb::WorkOrderSource::CustomerRequest => Some(Source::CustomerRequest),
        pb::WorkOrderSource::Inspection => Some(Source::Inspection),
    }
}

fn work_order_state_from_proto(value: i32) -> Option<WorkOrderState> {
    match pb::WorkOrderState::try_from(value).ok()? {
        pb::WorkOrderState::Unspecified => None,
        pb::WorkOrderState::Open => Some(WorkOrderState::Open),
        pb::WorkOrderState::Dispatched => Some(WorkOrderState::Dispatched),
        pb::WorkOrderState::Arrived => Some(WorkOrderState::Arrived),
        pb::WorkOrderState::Completed => Some(WorkOrderState::Completed),
    }
}

fn work_order_state_to_proto(s: WorkOrderState) -> pb::WorkOrderState {
    match s {
        WorkOrderState::Open => pb::WorkOrderState::Open,
        WorkOrderState::Dispatched => pb::WorkOrderState::Dispatched,
        WorkOrderState::Arrived => pb::WorkOrderState::Arrived,
        WorkOrderState::Completed => pb::WorkOrderState::Completed,
    }
}

fn kind_from_proto(value: i32) -> Option<Kind> {
    match pb::InspectionKind::try_from(value).ok()? {
        pb::InspectionKind::Unspecified => None,
        pb::InspectionKind::Daily => Some(Kind::Daily),
        pb::InspectionKind::Weekly => Some(Kind::Weekly),
        pb::InspectionKind::Monthly => Some(Kind::Monthly),
    }
}

fn kind_to_proto(k: Kind) -> pb::InspectionKind {
    match k {
        Kind::Daily => pb::InspectionKind::Daily,
        Kind::Weekly => pb::InspectionKind::Weekly,
        Kind::Monthly => pb::InspectionKind::Monthly,
    }
}

fn inspection_state_from_proto(value: i32) -> Option<InspectionState> {
    match pb::InspectionState::try_from(value).ok()? {
        pb::InspectionState::Unspecified => None,
        pb::InspectionState::Due => Some(InspectionState::Due),
        pb::InspectionState::Done => Some(InspectionState::Done),
        pb::InspectionState::Missed => Some(InspectionState::Missed),
    }
}

fn inspection_state_to_proto(s: InspectionState) -> pb::InspectionState {
    match s {
        InspectionState::Due => pb::InspectionState::Due,
        InspectionState::Done => pb::InspectionState::Done,
        InspectionState::Missed => pb::InspectionState::Missed,
    }
}

fn observed_from_proto(value: i32) -> Option<Observed> {
    match pb::ObservedState::try_from(value).ok()? {
        pb::ObservedState::Unspecified => None,
        pb::ObservedState::Normal => Some(Observed::Normal),
        pb::ObservedState::Stopped => Some(Observed::Stopped),
        pb::ObservedState::Abnormal => Some(Observed::Abnormal),
        pb::ObservedState::Fault => Some(Observed::Fault),
    }
}

fn observed_to_proto(o: Observed) -> pb::ObservedState {
    match o {
        Observed::Normal => pb::ObservedState::Normal,
        Observed::Stopped => pb::ObservedState::Stopped,
        Observed::Abnormal => pb::ObservedState::Abnormal,
        Observed::Fault => pb::ObservedState::Fault,
    }
}
