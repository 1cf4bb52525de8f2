//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

// Keys
mod keys;
// Surveys
mod surveys;
pub(crate) use self::surveys::{CampaignAt, FormOf, StatisticsOf};
