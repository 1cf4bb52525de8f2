//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

mod complaints;
mod households;
mod keys;
mod surveys;
mod visits;

pub(crate) use complaints::property_settings;
pub(crate) use surveys::{CampaignAt, FormOf, StatisticsOf};
pub(crate) use visits::VisitAt;
