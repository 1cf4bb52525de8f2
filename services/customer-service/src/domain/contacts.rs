//! The call and visit log (客户来电来访登记表, CMP-1, CMP-2).

use chrono::{DateTime, Utc};
use wuye_kit::identity::Actor;

use super::complaints::{Channel, Complainant, Complaint};

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

/// What a contact is logged with (CMP-1); the number comes from the log (CMP-2).
pub struct Contact {
    pub channel: Channel,
    pub kind: ContactKind,
    pub caller: Complainant,
    pub unit_id: Option<String>,
    pub summary: String,
}

impl ContactEntry {
    /// A new entry of `property_id`'s log, logged by `actor` at `now`; numbered when stored.
    pub fn log(property_id: String, c: Contact, actor: Actor, now: DateTime<Utc>) -> ContactEntry {
        ContactEntry {
            property_id,
            number: 0,
            channel: c.channel,
            kind: c.kind,
            caller: c.caller,
            unit_id: c.unit_id,
            summary: c.summary,
            registered_at: now,
            registered_by: actor,
            complaint_id: None,
        }
    }

    /// The log entry of a complaint registered without one, under `number`.
    pub fn of_complaint(c: &Complaint, number: i64) -> ContactEntry {
        ContactEntry {
            property_id: c.property_id.clone(),
            number,
            channel: c.channel,
            kind: ContactKind::Complaint,
            caller: c.complainant.clone(),
            unit_id: c.unit_id.clone(),
            summary: c.description.chars().take(200).collect(),
            registered_at: c.registered_at,
            registered_by: c.registered_by.clone(),
            complaint_id: Some(c.id.clone()),
        }
    }
}
