//! Retention of closed records (KEY-10: key records 2 years; ARC-12: archives 10 years unless
//! a record class says otherwise) and their destruction, which needs approval.

use chrono::{DateTime, Days, Months, Utc};
use wuye_kit::{calendar::start_of_day, identity::Actor, properties::Property};

use super::{Refusal, SUPERVISOR_ROLE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionClass {
    /// KEY-10.
    KeyRecord,
    /// ARC-12.
    Archive,
}

wuye_kit::text_codes!(RetentionClass { KeyRecord => "key_record", Archive => "archive" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainedState {
    Kept,
    Proposed,
    Destroyed,
}

wuye_kit::text_codes!(RetainedState { Kept => "kept", Proposed => "proposed", Destroyed => "destroyed" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalState {
    Proposed,
    Destroyed,
}

wuye_kit::text_codes!(ProposalState { Proposed => "proposed", Destroyed => "destroyed" });

#[derive(Debug, Clone, PartialEq)]
pub struct RetainedRecord {
    pub id: String,
    pub property_id: String,
    pub source: String,
    pub record_kind: String,
    pub record_id: String,
    pub class: RetentionClass,
    pub closed_at: DateTime<Utc>,
    pub retain_until: DateTime<Utc>,
    pub summary: String,
    pub size_bytes: i64,
    pub state: RetainedState,
    pub proposal_id: Option<String>,
    pub destroyed_at: Option<DateTime<Utc>>,
    pub handed_over_by: Actor,
    pub handed_over_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub id: String,
    pub property_id: String,
    pub state: ProposalState,
    pub proposed_by: Actor,
    pub proposed_at: DateTime<Utc>,
    pub approved_by: Option<Actor>,
    pub approved_at: Option<DateTime<Utc>>,
}

pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;
pub const MAX_SUMMARY: usize = 500;
pub const MAX_KIND: usize = 50;
pub const MAX_SOURCE: usize = 50;
pub const MAX_RECORD_ID: usize = 100;

/// Years a class is kept at the property (KEY-10, ARC-12).
pub fn years(class: RetentionClass, property: &Property) -> u32 {
    match class {
        RetentionClass::KeyRecord => property.rules.keys.retention_years,
        RetentionClass::Archive => property.rules.archives.retention_years,
    }
}

/// The first instant a record closed at `closed_at` may be destroyed: after the whole day,
/// `years` later, of its closing in the property's time zone (29 February counts to
/// 28 February).
pub fn retain_until(closed_at: DateTime<Utc>, years: u32, property: &Property) -> DateTime<Utc> {
    let closed_day = closed_at.with_timezone(&property.time_zone).date_naive();
    let last_day = closed_day
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(chrono::NaiveDate::MAX);
    start_of_day(last_day + Days::new(1), property.time_zone)
}

pub fn is_due(record: &RetainedRecord, now: DateTime<Utc>) -> bool {
    record.state == RetainedState::Kept && now >= record.retain_until
}

/// ARC-12: destruction is approved by the CS supervisor, not by the one who proposed it.
pub fn check_approval(proposal: &Proposal, approver: &Actor) -> Result<(), Refusal> {
    if approver.role != SUPERVISOR_ROLE {
        return Err(Refusal::denied(
            "NOT_SUPERVISOR",
            "destruction is approved by the customer service supervisor",
        ));
    }
    if approver.user_id == proposal.proposed_by.user_id {
        return Err(Refusal::denied(
            "SELF_APPROVAL",
            "the proposer of a destruction cannot approve it",
        ));
    }
    if proposal.state != ProposalState::Proposed {
        return Err(Refusal::rule(
            "ALREADY_DECIDED",
            "the proposal was carried out already",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use wuye_kit::{calendar::Calendar, properties::Rules};

    fn property() -> Property {
        Property {
            id: "p".into(),
            name: "p".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            calendar: std::sync::Arc::new(Calendar::weekends_only("plain")),
            rules: Rules::default(),
        }
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn key_records_two_years_archives_ten() {
        // rules KEY-10, ARC-12
        let p = property();
        assert_eq!(years(RetentionClass::KeyRecord, &p), 2);
        assert_eq!(years(RetentionClass::Archive, &p), 10);
        let closed = shanghai(2024, 11, 27, 15);
        assert_eq!(retain_until(closed, 2, &p), shanghai(2026, 11, 28, 0));
        assert_eq!(
            retain_until(shanghai(2024, 2, 29, 9), 2, &p),
            shanghai(2026, 3, 1, 0)
        );
    }

    #[test]
    fn approval_by_another_supervisor() {
        // rule ARC-12
        let clerk = Actor {
            user_id: "c".into(),
            name: "c".into(),
            role: "cs_clerk".into(),
        };
        let boss = Actor {
            user_id: "b".into(),
            name: "b".into(),
            role: "cs_supervisor".into(),
        };
        let mut proposal = Proposal {
            id: "x".into(),
            property_id: "p".into(),
            state: ProposalState::Proposed,
            proposed_by: clerk.clone(),
            proposed_at: DateTime::UNIX_EPOCH,
            approved_by: None,
            approved_at: None,
        };
        assert!(check_approval(&proposal, &boss).is_ok());
        assert_eq!(
            check_approval(&proposal, &clerk).unwrap_err().reason(),
            "NOT_SUPERVISOR"
        );
        proposal.proposed_by = boss.clone();
        assert_eq!(
            check_approval(&proposal, &boss).unwrap_err().reason(),
            "SELF_APPROVAL"
        );
    }
}
