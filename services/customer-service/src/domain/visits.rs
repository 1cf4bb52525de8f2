//! Follow-up visits (回访, VIS-1 to VIS-6): the visit record, promised replies, major problems
//! for the regular meeting, the repair follow-up rate and move-in visit coverage.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use wuye_kit::{Error, Result, identity::Actor};

pub const MAX_CONTENT: usize = 4000;
pub const MAX_NAME: usize = 50;
pub const MAX_PHONE: usize = 30;

/// VIS-1: "客户服务部主管及管理员、工程管理部经理、项目经理、项目经理助理应定期对相关客户进行回访".
pub const VISITORS: &[&str] = &[
    "cs_supervisor",
    "cs_clerk",
    "engineering_manager",
    "project_manager",
    "project_manager_assistant",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Routine,
    Repair,
    MoveIn,
}

wuye_kit::text_codes!(Kind { Routine => "routine", Repair => "repair", MoveIn => "move_in" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    OnSite,
    Phone,
    Online,
}

wuye_kit::text_codes!(Channel { OnSite => "on_site", Phone => "phone", Online => "online" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

wuye_kit::text_codes!(Satisfaction {
    Satisfied => "satisfied",
    BasicallySatisfied => "basically_satisfied",
    Dissatisfied => "dissatisfied",
});

/// A question not answered on the spot (VIS-2).
#[derive(Debug, Clone, PartialEq)]
pub struct Promise {
    pub question: String,
    pub reply_due_at: DateTime<Utc>,
    pub reply: Option<(String, Actor, DateTime<Utc>)>,
}

/// A major problem for the regular meeting (VIS-3).
#[derive(Debug, Clone, PartialEq)]
pub struct MajorProblem {
    pub problem: String,
    pub meeting_date: NaiveDate,
    pub settled: Option<(String, Actor, DateTime<Utc>)>,
}

/// A visit record (回访记录). The customer's name, phone and words are personal data: never
/// logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub id: String,
    pub property_id: String,
    pub kind: Kind,
    pub household_id: Option<String>,
    pub unit_id: String,
    pub unit_label: String,
    pub work_order_id: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub visited_at: DateTime<Utc>,
    pub channel: Channel,
    pub visitor: Actor,
    pub content: String,
    pub satisfaction: Satisfaction,
    pub promise: Option<Promise>,
    pub major: Option<MajorProblem>,
    pub complaint: Option<(String, i64)>,
    pub created_at: DateTime<Utc>,
}

impl Visit {
    /// VIS-2: the promised reply time passed without a reply.
    pub fn reply_overdue(&self, now: DateTime<Utc>) -> bool {
        self.promise
            .as_ref()
            .is_some_and(|p| p.reply.is_none() && p.reply_due_at < now)
    }

    /// VIS-2: the promise is kept once.
    pub fn check_reply(&self) -> Result<()> {
        match &self.promise {
            None => Err(Error::rule(
                "NO_REPLY_PROMISED",
                "no reply was promised on this visit",
            )),
            Some(p) if p.reply.is_some() => Err(Error::rule(
                "REPLY_ALREADY_GIVEN",
                "the promised reply was given already",
            )),
            Some(_) => Ok(()),
        }
    }

    /// VIS-3: a major problem is settled once.
    pub fn check_settle(&self) -> Result<()> {
        match &self.major {
            None => Err(Error::rule(
                "NO_MAJOR_PROBLEM",
                "the visit raised no major problem",
            )),
            Some(m) if m.settled.is_some() => Err(Error::rule(
                "PROBLEM_SETTLED",
                "the major problem is settled already",
            )),
            Some(_) => Ok(()),
        }
    }

    /// VIS-6: only a dissatisfied customer's visit becomes a complaint.
    pub fn check_raise(&self) -> Result<()> {
        if self.satisfaction != Satisfaction::Dissatisfied {
            return Err(Error::rule(
                "VISIT_NOT_DISSATISFIED",
                "the customer was not dissatisfied on this visit",
            ));
        }
        Ok(())
    }
}

/// A completed repair due for its follow-up visit (VIS-4), as engineering announced it.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairFollowUp {
    pub work_order_id: String,
    pub number: i64,
    pub unit_id: String,
    pub unit_label: String,
    pub completed_at: DateTime<Utc>,
    pub customer_rating: i32,
    pub contact_number: i64,
    /// The first follow-up visit.
    pub visit: Option<(String, DateTime<Utc>)>,
}

/// VIS-5: a move-in visit comes after the household moved in.
pub fn check_move_in_visit(
    moved_in_at: DateTime<Utc>,
    living: bool,
    visited_at: DateTime<Utc>,
) -> Result<()> {
    if !living {
        return Err(Error::rule(
            "HOUSEHOLD_MOVED_OUT",
            "the household has moved out",
        ));
    }
    if visited_at < moved_in_at {
        return Err(Error::rule(
            "VISIT_BEFORE_MOVE_IN",
            "a move-in visit takes place after the household moved in",
        ));
    }
    Ok(())
}

/// VIS-4: a repair follow-up is of a completed repair engineering announced here; it visits
/// the repair's unit (`due`, when there is one).
pub fn check_repair_due(due: Option<String>) -> Result<String> {
    due.ok_or_else(|| {
        Error::rule(
            "REPAIR_NOT_DUE",
            "no completed repair of this work order is due for a follow-up here",
        )
    })
}

/// The instants [start, end) of a month (1 to 12) or, with month 0, of a year, in the
/// property's time zone.
pub fn period(year: i32, month: u32, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    if !(2000..=2100).contains(&year) {
        return Err(Error::invalid("year", "must be between 2000 and 2100"));
    }
    let (from, to) = match month {
        0 => ((year, 1), (year + 1, 1)),
        1..=11 => ((year, month), (year, month + 1)),
        12 => ((year, 12), (year + 1, 1)),
        _ => {
            return Err(Error::invalid(
                "month",
                "must be 1 to 12, or 0 for the year",
            ));
        }
    };
    let start = |(y, m): (i32, u32)| {
        tz.with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| Error::invalid("month", "has no start in the property's time zone"))
    };
    Ok((start(from)?, start(to)?))
}

/// A share with its target met or not: `met` compares integers, so 5 of 100 meets 5%.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    pub part: i64,
    pub whole: i64,
    pub target_percent: u32,
}

impl Coverage {
    /// VIS-4's rate is 1 when nothing was completed (nothing left unvisited); VIS-5's is 0
    /// when nobody lives there (`empty`).
    pub fn rate(&self, empty: f64) -> f64 {
        if self.whole == 0 {
            empty
        } else {
            self.part as f64 / self.whole as f64
        }
    }

    pub fn met(&self) -> bool {
        self.part * 100 >= i64::from(self.target_percent) * self.whole
    }
}

/// A meeting date as written ("2026-12-01").
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid(field, "must be a date YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn actor() -> Actor {
        Actor {
            user_id: "cs-1".into(),
            name: "客服".into(),
            role: "cs_clerk".into(),
        }
    }

    fn visit() -> Visit {
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0).unwrap();
        Visit {
            id: "v1".into(),
            property_id: "p1".into(),
            kind: Kind::Routine,
            household_id: Some("h1".into()),
            unit_id: "u1".into(),
            unit_label: "3-2-1502".into(),
            work_order_id: String::new(),
            customer_name: "李明".into(),
            customer_phone: String::new(),
            visited_at: at,
            channel: Channel::OnSite,
            visitor: actor(),
            content: "电梯经常停运".into(),
            satisfaction: Satisfaction::Dissatisfied,
            promise: None,
            major: None,
            complaint: None,
            created_at: at,
        }
    }

    fn reason(r: Result<()>) -> &'static str {
        match r {
            Err(Error::Rule { reason, .. }) => reason,
            other => panic!("expected a rule refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_a_repair_engineering_completed_is_followed_up() {
        // rule VIS-4
        assert_eq!(check_repair_due(Some("u1".into())).unwrap(), "u1");
        assert_eq!(reason(check_repair_due(None).map(drop)), "REPAIR_NOT_DUE");
    }

    #[test]
    fn a_promised_reply_past_its_time_is_overdue() {
        // rule VIS-2
        let mut v = visit();
        assert_eq!(reason(v.check_reply()), "NO_REPLY_PROMISED");
        let due = v.visited_at + Duration::days(2);
        v.promise = Some(Promise {
            question: "何时修电梯".into(),
            reply_due_at: due,
            reply: None,
        });
        assert!(!v.reply_overdue(due));
        assert!(v.reply_overdue(due + Duration::seconds(1)));
        assert!(v.check_reply().is_ok());
        v.promise.as_mut().unwrap().reply = Some(("下周一".into(), actor(), due));
        assert!(!v.reply_overdue(due + Duration::days(9)));
        assert_eq!(reason(v.check_reply()), "REPLY_ALREADY_GIVEN");
    }

    #[test]
    fn only_a_dissatisfied_visit_becomes_a_complaint() {
        // rule VIS-6
        let mut v = visit();
        assert!(v.check_raise().is_ok());
        v.satisfaction = Satisfaction::BasicallySatisfied;
        assert_eq!(reason(v.check_raise()), "VISIT_NOT_DISSATISFIED");
    }

    #[test]
    fn a_major_problem_is_settled_once() {
        // rule VIS-3
        let mut v = visit();
        assert_eq!(reason(v.check_settle()), "NO_MAJOR_PROBLEM");
        v.major = Some(MajorProblem {
            problem: "电梯".into(),
            meeting_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            settled: None,
        });
        assert!(v.check_settle().is_ok());
        v.major.as_mut().unwrap().settled = Some(("已修".into(), actor(), v.visited_at));
        assert_eq!(reason(v.check_settle()), "PROBLEM_SETTLED");
    }

    #[test]
    fn months_and_years_in_the_property_time_zone() {
        let tz = chrono_tz::Asia::Shanghai;
        let (from, to) = period(2026, 12, tz).unwrap();
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap());
        assert_eq!(to, Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap());
        let (from, to) = period(2026, 0, tz).unwrap();
        assert_eq!(to - from, Duration::days(365));
        assert!(period(2026, 13, tz).is_err());
        assert!(period(1999, 1, tz).is_err());
    }

    #[test]
    fn targets_compare_exactly() {
        // rule VIS-4, VIS-5
        let c = |part, whole, target_percent| Coverage {
            part,
            whole,
            target_percent,
        };
        assert!(c(5, 100, 5).met());
        assert!(!c(4, 100, 5).met());
        assert!(!c(9, 10, 100).met());
        assert!(c(0, 0, 100).met());
        assert_eq!(c(0, 0, 100).rate(1.0), 1.0);
        assert_eq!(c(1, 3, 5).rate(0.0), 1.0 / 3.0);
    }

    #[test]
    fn a_move_in_visit_follows_the_move_in() {
        // rule VIS-5
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0).unwrap();
        assert!(check_move_in_visit(at, true, at).is_ok());
        assert_eq!(
            reason(check_move_in_visit(at, true, at - Duration::hours(1))),
            "VISIT_BEFORE_MOVE_IN"
        );
        assert_eq!(
            reason(check_move_in_visit(at, false, at)),
            "HOUSEHOLD_MOVED_OUT"
        );
    }

    mod properties {
        //! No sequence of replies, settlements and raises reaches an invalid visit: a promised
        //! reply is given once, a major problem settled once, only a dissatisfied visit becomes
        //! a complaint and always the same one, and a refused call changes nothing (VIS-2,
        //! VIS-3, VIS-6). The calls change the visit as the service does.
        use proptest::prelude::*;

        use super::*;

        #[derive(Debug, Clone)]
        enum Call {
            Reply,
            Settle,
            Raise,
        }

        fn satisfaction() -> impl Strategy<Value = Satisfaction> {
            prop_oneof![
                Just(Satisfaction::Satisfied),
                Just(Satisfaction::BasicallySatisfied),
                Just(Satisfaction::Dissatisfied),
            ]
        }

        proptest! {
            // 256 cases, or PROPTEST_CASES.
            #[test]
            fn no_sequence_of_calls_reaches_an_invalid_visit(
                satisfaction in satisfaction(),
                promised in any::<bool>(),
                major in any::<bool>(),
                calls in prop::collection::vec(
                    prop_oneof![Just(Call::Reply), Just(Call::Settle), Just(Call::Raise)],
                    1..20,
                ),
            ) {
                let mut v = visit();
                v.satisfaction = satisfaction;
                v.promise = promised.then(|| Promise {
                    question: "何时修电梯".into(),
                    reply_due_at: v.visited_at + Duration::days(2),
                    reply: None,
                });
                v.major = major.then(|| MajorProblem {
                    problem: "电梯".into(),
                    meeting_date: v.visited_at.date_naive(),
                    settled: None,
                });
                let at = v.visited_at + Duration::days(1);
                for call in calls {
                    let before = v.clone();
                    let taken = match call {
                        Call::Reply => v.check_reply().map(|()| {
                            v.promise.as_mut().unwrap().reply = Some(("下周".into(), actor(), at));
                        }),
                        Call::Settle => v.check_settle().map(|()| {
                            v.major.as_mut().unwrap().settled = Some(("已修".into(), actor(), at));
                        }),
                        // Raising again answers the complaint of the first raise.
                        Call::Raise => v.check_raise().map(|()| {
                            v.complaint.get_or_insert(("c1".into(), 1));
                        }),
                    };
                    if taken.is_err() {
                        prop_assert_eq!(&v, &before, "a refused call changes nothing");
                    }
                    match call {
                        Call::Reply if before.promise.as_ref().is_some_and(|p| p.reply.is_some()) => {
                            prop_assert!(taken.is_err(), "replied twice");
                        }
                        Call::Settle if before.major.as_ref().is_some_and(|m| m.settled.is_some()) => {
                            prop_assert!(taken.is_err(), "settled twice");
                        }
                        _ => {}
                    }
                    // Invariants of every reachable visit.
                    prop_assert_eq!(v.promise.is_some(), promised);
                    prop_assert_eq!(v.major.is_some(), major);
                    if v.complaint.is_some() {
                        prop_assert_eq!(v.satisfaction, Satisfaction::Dissatisfied);
                    }
                    if before.complaint.is_some() {
                        prop_assert_eq!(&v.complaint, &before.complaint);
                    }
                    if v.promise.as_ref().is_some_and(|p| p.reply.is_some()) {
                        prop_assert!(!v.reply_overdue(at + Duration::days(30)));
                    }
                }
            }
        }
    }
}
