//! The call and visit log (客户来电来访登记表, CMP-1, CMP-2).

use chrono::{DateTime, Utc};
use wuye_kit::identity::Actor;

use super::complaints::{Channel, Complainant};

/// What a contact was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Inquiry,
    Repair,
    Suggestion,
    Praise,
    Complaint,
}

wuye_kit::text_codes!(ContactKind {
    Inquiry => "inquiry",
    Repair => "repair",
    Suggestion => "suggestion",
    Praise => "praise",
    Complaint => "complaint",
});

/// An entry of the log. The caller's name and phone are personal data: never logged.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEntry {
    pub property_id: String,
    /// The property's number, shared by the complaint the entry becomes (CMP-2).
    pub number: i64,
    pub channel: Channel,
    pub kind: ContactKind,
    pub caller: Complainant,
    pub unit_id: Option<String>,
    pub summary: String,
    pub registered_at: DateTime<Utc>,
    pub registered_by: Actor,
    pub complaint_id: Option<String>,
}
