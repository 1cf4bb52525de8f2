//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wuye_kit::time::to_timestamp;

fn at(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(to_timestamp(t))
}

fn at_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(to_timestamp)
}

mod alerts;
mod duty;
mod equipment;
mod figures;
mod handover;
mod inspections;
mod work_orders;
