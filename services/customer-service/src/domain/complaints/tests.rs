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
        calendar: std::sync::Arc::new(wuye_kit::calendar::Calendar::parse("cn", calendar).unwrap()),
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

fn actor(role: &str) -> Actor {
    Actor {
        user_id: format!("{role}-1"),
        name: role.into(),
        role: role.into(),
    }
}

fn registered() -> Complaint {
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0).unwrap();
    Complaint {
        id: "c".into(),
        property_id: "p".into(),
        number: 1,
        channel: Channel::Phone,
        complainant: Complainant {
            name: "李明".into(),
            phone: String::new(),
        },
        unit_id: None,
        category: "卫生".into(),
        description: "垃圾".into(),
        severity: Severity::General,
        state: State::Registered,
        registered_at: at,
        reply_due_at: at + Duration::days(2),
        registered_by: actor("front_desk"),
        team: String::new(),
        plan: String::new(),
        remedial_measures: String::new(),
        handling_report: String::new(),
        replied_at: None,
        closed_at: None,
        results_told: 0,
        major: None,
        escalation: None,
        steps: Vec::new(),
    }
}

fn note() -> String {
    "n".into()
}

/// Takes the steps of CMP-5 up to the result told.
fn to_result_told(mut c: Complaint, at: DateTime<Utc>) -> Complaint {
    for (step, role) in [
        (
            Step::SendToTeam {
                team: "保洁班".into(),
                note: note(),
            },
            "front_desk",
        ),
        (
            Step::ProposePlan {
                plan: "加派人手".into(),
                remedial_measures: "上门致歉".into(),
            },
            "cs_supervisor",
        ),
        (Step::ConfirmPlan { note: note() }, "project_manager"),
        (Step::CommunicatePlan { note: note() }, "cs_clerk"),
        (Step::StartWork { note: note() }, "cs_supervisor"),
        (Step::UrgeWork { note: note() }, "project_manager_assistant"),
        (
            Step::ReportHandling {
                report: "已清运".into(),
            },
            "cs_clerk",
        ),
        (Step::TellResult { note: note() }, "cs_supervisor"),
    ] {
        c = apply(&c, step, &actor(role), at).unwrap();
    }
    c
}

#[test]
fn a_complaint_goes_from_registration_to_a_satisfied_close() {
    // rule CMP-5
    let at = Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0).unwrap();
    let c = to_result_told(registered(), at);
    assert_eq!(c.state, State::ResultTold);
    assert_eq!(c.replied_at, Some(at));
    let closed = apply(
        &c,
        Step::Verdict {
            satisfied: true,
            comment: "满意".into(),
        },
        &actor("cs_supervisor"),
        at,
    )
    .unwrap();
    assert_eq!(closed.state, State::Closed);
    assert_eq!(closed.closed_at, Some(at));
    assert_eq!(closed.results_told, 1);
    let actions: Vec<Action> = closed.steps.iter().map(|s| s.action).collect();
    assert_eq!(actions.len(), 9);
    assert_eq!(actions[5], Action::UrgeWork);
    assert_eq!(closed.steps[5].from, closed.steps[5].to);
}

#[test]
fn dissatisfaction_sends_it_back_to_the_team() {
    // rule CMP-5: "直到客户满意为止"
    let at = Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0).unwrap();
    let c = to_result_told(registered(), at);
    let back = apply(
        &c,
        Step::Verdict {
            satisfied: false,
            comment: "还是很脏".into(),
        },
        &actor("cs_clerk"),
        at,
    )
    .unwrap();
    assert_eq!(back.state, State::SentToTeam);
    assert_eq!(back.closed_at, None);
    // The second round goes through the plan again; the reply time stays the first one.
    let later = at + Duration::days(1);
    let mut again = back;
    for (step, role) in [
        (
            Step::ProposePlan {
                plan: "每日两次".into(),
                remedial_measures: "减免".into(),
            },
            "cs_supervisor",
        ),
        (
            Step::ConfirmPlan { note: note() },
            "project_manager_assistant",
        ),
        (Step::CommunicatePlan { note: note() }, "front_desk"),
        (Step::StartWork { note: note() }, "maintenance_foreman"),
        (Step::ReportHandling { report: "r".into() }, "cs_supervisor"),
        (Step::TellResult { note: note() }, "cs_supervisor"),
        (
            Step::Verdict {
                satisfied: true,
                comment: String::new(),
            },
            "cs_supervisor",
        ),
    ] {
        again = apply(&again, step, &actor(role), later).unwrap();
    }
    assert_eq!(again.state, State::Closed);
    assert_eq!((again.replied_at, again.results_told), (Some(at), 2));
}

#[test]
fn refusals_change_nothing_and_say_why() {
    let at = Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0).unwrap();
    let c = registered();
    // A skipped step.
    let e = apply(
        &c,
        Step::ConfirmPlan { note: note() },
        &actor("project_manager"),
        at,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Rule {
            reason: "STEP_OUT_OF_ORDER",
            ..
        }
    ));
    // A wrong role.
    let e = apply(
        &c,
        Step::SendToTeam {
            team: "t".into(),
            note: note(),
        },
        &actor("technician"),
        at,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::PermissionDenied {
            reason: "ROLE_NOT_ALLOWED",
            ..
        }
    ));
    // A closed complaint.
    let closed = apply(
        &to_result_told(c.clone(), at),
        Step::Verdict {
            satisfied: true,
            comment: String::new(),
        },
        &actor("cs_supervisor"),
        at,
    )
    .unwrap();
    let e = apply(
        &closed,
        Step::MarkMajor { reason: "r".into() },
        &actor("project_manager"),
        at,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Rule {
            reason: "COMPLAINT_CLOSED",
            ..
        }
    ));
    // Marked major once.
    let major = apply(
        &c,
        Step::MarkMajor {
            reason: "需公司协调".into(),
        },
        &actor("project_manager"),
        at,
    )
    .unwrap();
    assert_eq!(
        (major.state, major.major.as_deref()),
        (State::Registered, Some("需公司协调"))
    );
    let e = apply(
        &major,
        Step::MarkMajor {
            reason: "again".into(),
        },
        &actor("project_manager"),
        at,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::Rule {
            reason: "ALREADY_MAJOR",
            ..
        }
    ));
}

#[test]
fn a_reply_is_overdue_only_past_its_deadline_and_unreplied() {
    let c = registered();
    assert!(!reply_overdue(&c, c.reply_due_at));
    assert!(reply_overdue(&c, c.reply_due_at + Duration::seconds(1)));
    let replied = Complaint {
        replied_at: Some(c.registered_at),
        ..c.clone()
    };
    assert!(!reply_overdue(&replied, c.reply_due_at + Duration::days(9)));
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

mod properties {
    //! No sequence of steps, by any role, reaches an invalid complaint (CMP-5).
    use proptest::prelude::*;

    use super::*;

    const ROLES: &[&str] = &[
        "front_desk",
        "cs_clerk",
        "cs_supervisor",
        "project_manager",
        "project_manager_assistant",
        "maintenance_foreman",
        "engineering_manager",
        "technician",
        "resident",
    ];

    fn step() -> impl Strategy<Value = Step> {
        let text = || "[a-z投诉 ]{0,8}";
        prop_oneof![
            (text(), text()).prop_map(|(team, note)| Step::SendToTeam { team, note }),
            (text(), text()).prop_map(|(plan, remedial_measures)| Step::ProposePlan {
                plan,
                remedial_measures
            }),
            text().prop_map(|note| Step::ConfirmPlan { note }),
            text().prop_map(|reason| Step::RejectPlan { reason }),
            text().prop_map(|note| Step::CommunicatePlan { note }),
            text().prop_map(|note| Step::StartWork { note }),
            text().prop_map(|note| Step::UrgeWork { note }),
            text().prop_map(|report| Step::ReportHandling { report }),
            text().prop_map(|note| Step::TellResult { note }),
            (any::<bool>(), text())
                .prop_map(|(satisfied, comment)| Step::Verdict { satisfied, comment }),
            text().prop_map(|reason| Step::MarkMajor { reason }),
        ]
    }

    /// The step that moves a complaint in `state` on (`choice` picks among the ways on),
    /// so that sequences also reach the end of the complaint's life.
    fn next_step(state: State, choice: bool) -> Step {
        let note = String::new;
        match state {
            State::Registered => Step::SendToTeam {
                team: "保洁班".into(),
                note: note(),
            },
            State::SentToTeam => Step::ProposePlan {
                plan: "p".into(),
                remedial_measures: "r".into(),
            },
            State::PlanProposed if choice => Step::ConfirmPlan { note: note() },
            State::PlanProposed => Step::RejectPlan { reason: note() },
            State::PlanConfirmed => Step::CommunicatePlan { note: note() },
            State::Communicated => Step::StartWork { note: note() },
            State::InProgress if choice => Step::ReportHandling { report: note() },
            State::InProgress => Step::UrgeWork { note: note() },
            State::Reported => Step::TellResult { note: note() },
            State::ResultTold => Step::Verdict {
                satisfied: choice,
                comment: note(),
            },
            State::Closed => Step::MarkMajor { reason: note() },
        }
    }

    /// A call: a random step by a random role, or the step that moves the complaint on by
    /// one of the roles allowed to take it.
    #[derive(Debug, Clone)]
    enum Call {
        Random(Step, usize),
        Next { choice: bool, role: usize },
    }

    fn call() -> impl Strategy<Value = Call> {
        prop_oneof![
            1 => (step(), 0..ROLES.len()).prop_map(|(step, role)| Call::Random(step, role)),
            2 => (prop::bool::weighted(0.7), 0usize..8)
                .prop_map(|(choice, role)| Call::Next { choice, role }),
        ]
    }

    proptest! {
        // 256 cases, or PROPTEST_CASES.
        #[test]
        fn no_sequence_of_steps_reaches_an_invalid_complaint(
            calls in prop::collection::vec((call(), 0i64..72), 1..60)
        ) {
            let mut c = registered();
            let mut at = c.registered_at;
            for (call, hours) in calls {
                at += Duration::hours(hours);
                let (step, role) = match call {
                    Call::Random(step, role) => (step, role),
                    Call::Next { choice, role } => {
                        let step = next_step(c.state, choice);
                        let allowed = roles_for(step.action());
                        let role = allowed[role % allowed.len()];
                        (step, ROLES.iter().position(|r| *r == role).unwrap())
                    }
                };
                let before = c.clone();
                let action = step.action();
                match apply(&c, step, &actor(ROLES[role]), at) {
                    Err(_) => {
                        // Nothing changes on a refusal.
                        prop_assert_eq!(&c, &before);
                    }
                    Ok(next) => {
                        prop_assert!(roles_for(action).contains(&ROLES[role]));
                        prop_assert_ne!(before.state, State::Closed, "closed stays closed");
                        // One step recorded, numbered in order, from the state it left.
                        prop_assert_eq!(next.steps.len(), before.steps.len() + 1);
                        let record = next.steps.last().unwrap();
                        prop_assert_eq!(record.seq as usize, next.steps.len());
                        prop_assert_eq!((record.action, record.from, record.to),
                            (action, before.state, next.state));
                        // What intake set never changes.
                        prop_assert_eq!((&next.id, next.number, &next.description),
                            (&before.id, before.number, &before.description));
                        prop_assert_eq!(next.registered_at, before.registered_at);
                        // The first reply time, the major mark stay once set.
                        if before.replied_at.is_some() {
                            prop_assert_eq!(next.replied_at, before.replied_at);
                        }
                        if before.major.is_some() {
                            prop_assert_eq!(&next.major, &before.major);
                        }
                        prop_assert!(next.results_told >= before.results_told);
                        c = next;
                    }
                }
                // Invariants of every reachable complaint.
                prop_assert_eq!(c.closed_at.is_some(), c.state == State::Closed);
                if c.state == State::Closed {
                    // Closed only on a satisfied customer after a result was told.
                    prop_assert!(c.results_told >= 1);
                    prop_assert_eq!(c.steps.last().unwrap().action, Action::CustomerSatisfied);
                }
                // Past the plan's communication, the reply is recorded (CMP-3).
                if matches!(c.state, State::Communicated | State::InProgress
                    | State::Reported | State::ResultTold | State::Closed)
                {
                    prop_assert!(c.replied_at.is_some());
                }
                if c.state != State::Registered {
                    prop_assert!(!c.team.is_empty() || c.steps.iter()
                        .any(|s| s.action == Action::SendToTeam));
                }
                let told = c.steps.iter().filter(|s| s.action == Action::TellResult).count();
                prop_assert_eq!(told, c.results_told as usize);
            }
        }
    }
}
