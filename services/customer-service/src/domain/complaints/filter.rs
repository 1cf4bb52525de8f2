//! Which complaints a list shows: every filter set must hold (AND).

use chrono::{DateTime, Duration, Utc};

use super::{Complaint, Severity, State};

/// The longest reply window a list may ask for, in hours (30 days).
pub const MAX_DUE_WITHIN_HOURS: i32 = 720;
/// The longest free text a list may search for, in characters.
pub const MAX_QUERY: usize = 100;

#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub severity: Option<Severity>,
    pub unit_id: Option<String>,
    /// The building as asked; the register may write it "2" or "2栋".
    pub building: Option<String>,
    /// The complainant's phone, normalized ([`crate::domain::normalize_phone`]).
    pub complainant_phone: Option<String>,
    pub category: Option<String>,
    pub team: Option<String>,
    /// Registered at or after.
    pub registered_from: Option<DateTime<Utc>>,
    /// Registered before.
    pub registered_to: Option<DateTime<Utc>>,
    pub reply: Option<ReplyDue>,
    pub query: Option<Query>,
    /// Only numbers below this one (the page token).
    pub before_number: Option<i64>,
}

/// Unreplied complaints by their reply deadline (CMP-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyDue {
    /// The deadline has passed without a reply, as ListOverdueComplaints.
    Overdue,
    /// The deadline is within so many hours and has not passed.
    Within(u32),
}

impl ReplyDue {
    /// The reply deadlines it takes at `now`: at or after the first when there is one, and
    /// before the second.
    pub fn deadlines(self, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, DateTime<Utc>) {
        match self {
            ReplyDue::Overdue => (None, now),
            ReplyDue::Within(hours) => (Some(now), now + Duration::hours(i64::from(hours))),
        }
    }

    /// Whether `c` is one at `now`: the rule the store's query applies.
    pub fn holds(self, c: &Complaint, now: DateTime<Utc>) -> bool {
        let (from, to) = self.deadlines(now);
        c.replied_at.is_none()
            && c.state != State::Closed
            && from.is_none_or(|from| c.reply_due_at >= from)
            && c.reply_due_at < to
    }
}

/// Free text: the complaint's number ("12", "#12") or a piece of its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub number: Option<i64>,
    /// Trimmed, ASCII letters in lower case (the store compares descriptions so).
    pub text: String,
}

impl Query {
    /// The query of `text`; `None` when it is blank.
    pub fn of(text: &str) -> Option<Query> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let number = text.trim_start_matches('#').trim().parse().ok();
        Some(Query {
            number: number.filter(|n: &i64| *n > 0),
            text: text.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::complaints::{Channel, Complainant, Registration};
    use chrono::TimeZone;
    use wuye_kit::identity::Actor;

    fn complaint(due: DateTime<Utc>) -> Complaint {
        let registration = Registration {
            channel: Channel::Phone,
            complainant: Complainant {
                name: "李明".into(),
                phone: String::new(),
            },
            unit_id: None,
            category: "卫生".into(),
            description: "楼道".into(),
            severity: Severity::General,
            note: String::new(),
        };
        let actor = Actor {
            user_id: "u1".into(),
            name: "王芳".into(),
            role: "front_desk".into(),
        };
        let property = wuye_kit::properties::Property {
            id: "p1".into(),
            name: "阳光花园".into(),
            time_zone: chrono_tz::Asia::Shanghai,
            calendar: std::sync::Arc::new(wuye_kit::calendar::Calendar::weekends_only("plain")),
            rules: Default::default(),
        };
        let mut c = Complaint::register("c1".into(), &property, registration, actor, due);
        c.reply_due_at = due;
        c
    }

    #[test]
    fn a_deadline_is_overdue_or_due_within_never_both() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0).unwrap();
        let within = ReplyDue::Within(24);
        for (due, overdue, soon) in [
            (now - Duration::seconds(1), true, false),
            (now, false, true),
            (now + Duration::hours(23), false, true),
            (now + Duration::hours(24), false, false),
        ] {
            let c = complaint(due);
            assert_eq!(ReplyDue::Overdue.holds(&c, now), overdue, "{due}");
            assert_eq!(
                ReplyDue::Overdue.holds(&c, now),
                super::super::reply_overdue(&c, now)
            );
            assert_eq!(within.holds(&c, now), soon, "{due}");
        }
        let mut replied = complaint(now - Duration::hours(1));
        replied.replied_at = Some(now - Duration::hours(2));
        assert!(!ReplyDue::Overdue.holds(&replied, now));
    }

    #[test]
    fn a_query_is_a_number_or_text() {
        let q = Query::of(" #12 ").unwrap();
        assert_eq!((q.number, q.text.as_str()), (Some(12), "#12"));
        let q = Query::of("Wi-Fi 漏水").unwrap();
        assert_eq!((q.number, q.text.as_str()), (None, "wi-fi 漏水"));
        assert_eq!(Query::of("  "), None);
        assert_eq!(Query::of("-3").unwrap().number, None);
    }
}
