//! Complaints (客户投诉): intake, numbering and the reply deadline.

use chrono::{DateTime, Duration, Utc};
use wuye_kit::{identity::Actor, properties::Property};

/// How the customer reached the service center (CMP-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Letter,
    Phone,
    Fax,
    Visit,
    App,
}

/// CMP-4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Minor,
    General,
    Serious,
}

/// The steps of CMP-5. Intake registers; the lifecycle moves a complaint on from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Registered,
    SentToTeam,
    PlanProposed,
    PlanConfirmed,
    Communicated,
    InProgress,
    Reported,
    ResultTold,
    Closed,
}

/// The person who complains. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complainant {
    pub name: String,
    pub phone: String,
}

/// A registered complaint.
#[derive(Debug, Clone, PartialEq)]
pub struct Complaint {
    pub id: String,
    pub property_id: String,
    /// Shared with the call and visit log entry (CMP-2).
    pub number: i64,
    pub channel: Channel,
    pub complainant: Complainant,
    pub unit_id: Option<String>,
    pub category: String,
    pub description: String,
    pub severity: Severity,
    pub state: State,
    pub registered_at: DateTime<Utc>,
    pub reply_due_at: DateTime<Utc>,
    pub registered_by: Actor,
}

/// Lengths the front desk may write, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_CATEGORY: usize = 50;
pub const MAX_NAME: usize = 50;
pub const MAX_PHONE: usize = 30;

/// CMP-3: the responsible department replies within the property's limit for the severity,
/// counted from registration: calendar days to the hour, or, when the property counts working
/// days, to the end of the last working day of its holiday calendar.
pub fn reply_due(
    registered_at: DateTime<Utc>,
    severity: Severity,
    property: &Property,
) -> DateTime<Utc> {
    let rules = &property.rules.complaints;
    let days = match severity {
        Severity::Minor => rules.reply_days.minor,
        Severity::General => rules.reply_days.general,
        Severity::Serious => rules.reply_days.serious,
    };
    if rules.reply_in_working_days {
        property
            .calendar
            .working_day_deadline(registered_at, property.time_zone, days)
    } else {
        registered_at + Duration::days(i64::from(days))
    }
}

wuye_kit::text_codes!(Channel { Letter => "letter", Phone => "phone", Fax => "fax", Visit => "visit", App => "app" });
wuye_kit::text_codes!(Severity { Minor => "minor", General => "general", Serious => "serious" });
wuye_kit::text_codes!(State {
    Registered => "registered",
    SentToTeam => "sent_to_team",
    PlanProposed => "plan_proposed",
    PlanConfirmed => "plan_confirmed",
    Communicated => "communicated",
    InProgress => "in_progress",
    Reported => "reported",
    ResultTold => "result_told",
    Closed => "closed",
});

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use wuye_kit::properties::ReplyDays;

    use super::*;

    fn property(working_days: bool) -> Property {
        let mut rules = wuye_kit::properties::Rules::default();
        rules.complaints.reply_days = ReplyDays {
            minor: 3,
            general: 2,
            serious: 1,
        };
        rules.complaints.reply_in_working_days = working_days;
        let calendar = "[[year]]\nyear = 2026\nholidays = [\"2026-10-01..2026-10-07\"]\nworkdays = [\"2026-10-10\"]";
        Property {
            id: "p".into(),
            name: "p".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            calendar: std::sync::Arc::new(
                wuye_kit::calendar::Calendar::parse("cn", calendar).unwrap(),
            ),
            rules,
        }
    }

    #[test]
    fn reply_deadline_follows_severity() {
        // rule CMP-3, CMP-4
        let p = property(false);
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap();
        assert_eq!(reply_due(at, Severity::Minor, &p), at + Duration::days(3));
        assert_eq!(reply_due(at, Severity::General, &p), at + Duration::days(2));
        assert_eq!(reply_due(at, Severity::Serious, &p), at + Duration::days(1));
    }

    #[test]
    fn reply_deadline_in_working_days_skips_weekends_and_holidays() {
        // rule CMP-3 with working days: registered Wednesday 30 September 2026 in Shanghai;
        // 1–7 October are 国庆 holidays, Saturday 10 October is worked.
        let p = property(true);
        let tz = chrono_tz::Asia::Shanghai;
        let at = tz
            .with_ymd_and_hms(2026, 9, 30, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let end_of = |d| {
            tz.with_ymd_and_hms(2026, 10, d, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(reply_due(at, Severity::Serious, &p), end_of(9)); // Thu 8 Oct
        assert_eq!(reply_due(at, Severity::General, &p), end_of(10)); // Fri 9 Oct
        assert_eq!(reply_due(at, Severity::Minor, &p), end_of(11)); // Sat 10 Oct, worked
    }

    #[test]
    fn codes_round_trip() {
        for s in [Severity::Minor, Severity::General, Severity::Serious] {
            assert_eq!(Severity::from_code(s.code()), Some(s));
        }
        assert_eq!(State::from_code("closed"), Some(State::Closed));
        assert_eq!(Channel::from_code("telegram"), None);
    }

    #[test]
    fn phones() {
        use crate::domain::is_plausible_phone;
        assert!(is_plausible_phone("138 0013 8000"));
        assert!(is_plausible_phone("+86 (10) 6552-9988"));
        assert!(!is_plausible_phone("call me"));
        assert!(!is_plausible_phone("12"));
    }
}
