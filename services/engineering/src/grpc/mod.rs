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
use wuye_kit::{Violations, time::from_timestamp};

use crate::domain::MAX_ID;

const MAX_REQUEST_ID: usize = 100;

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
