//! Complaints (客户投诉): intake, numbering, the reply deadline, and the life of a complaint
//! (CMP-5) as a state machine.

use chrono::{DateTime, Duration, Utc};
use wuye_kit::{Error, Result, identity::Actor, properties::Property};

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
    pub team: String,
    pub plan: String,
    pub remedial_measures: String,
    pub handling_report: String,
    /// The reply of CMP-3: when the plan was first communicated to the complainant.
    pub replied_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// How many times the result was told; 1 at a close means satisfied the first time.
    pub results_told: u32,
    pub major: Option<String>,
    pub escalation: Option<Escalation>,
    pub steps: Vec<StepRecord>,
}

/// What a complaint is registered with (CMP-1); the number comes from the log (CMP-2).
pub struct Registration {
    pub channel: Channel,
    pub complainant: Complainant,
    pub unit_id: Option<String>,
    pub category: String,
    pub description: String,
    pub severity: Severity,
    /// Kept on the registration step.
    pub note: String,
}

impl Complaint {
    /// A new complaint of `property` registered by `actor` at `now`, with its reply deadline
    /// (CMP-3) and its registration step.
    pub fn register(
        id: String,
        property: &Property,
        r: Registration,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Complaint {
        Complaint {
            id,
            property_id: property.id.clone(),
            number: 0,
            channel: r.channel,
            complainant: r.complainant,
            unit_id: r.unit_id,
            category: r.category.trim().to_owned(),
            description: r.description,
            severity: r.severity,
            state: State::Registered,
            registered_at: now,
            reply_due_at: reply_due(now, r.severity, property),
            registered_by: actor.clone(),
            team: String::new(),
            plan: String::new(),
            remedial_measures: String::new(),
            handling_report: String::new(),
            replied_at: None,
            closed_at: None,
            results_told: 0,
            major: None,
            escalation: None,
            steps: vec![StepRecord {
                seq: 1,
                action: Action::Register,
                from: State::Registered,
                to: State::Registered,
                actor,
                at: now,
                note: r.note,
            }],
        }
    }
}

/// The quality department's handling of an escalated complaint (ESC-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub state: EscalationState,
    pub decision: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationState {
    Received,
    Assigned,
    InformationRequested,
    Decided,
    Closed,
}

wuye_kit::text_codes!(EscalationState {
    Received => "received",
    Assigned => "assigned",
    InformationRequested => "information_requested",
    Decided => "decided",
    Closed => "closed",
});

/// What was done at a step of the complaint's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Register,
    SendToTeam,
    ProposePlan,
    ConfirmPlan,
    RejectPlan,
    CommunicatePlan,
    StartWork,
    UrgeWork,
    ReportHandling,
    TellResult,
    CustomerSatisfied,
    CustomerDissatisfied,
    MarkMajor,
}

wuye_kit::text_codes!(Action {
    Register => "register",
    SendToTeam => "send_to_team",
    ProposePlan => "propose_plan",
    ConfirmPlan => "confirm_plan",
    RejectPlan => "reject_plan",
    CommunicatePlan => "communicate_plan",
    StartWork => "start_work",
    UrgeWork => "urge_work",
    ReportHandling => "report_handling",
    TellResult => "tell_result",
    CustomerSatisfied => "customer_satisfied",
    CustomerDissatisfied => "customer_dissatisfied",
    MarkMajor => "mark_major",
});

/// One recorded step: who did what, when, from which state to which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub seq: u32,
    pub action: Action,
    pub from: State,
    pub to: State,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub note: String,
}

/// A step someone asks to take, with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    SendToTeam {
        team: String,
        note: String,
    },
    ProposePlan {
        plan: String,
        remedial_measures: String,
    },
    ConfirmPlan {
        note: String,
    },
    RejectPlan {
        reason: String,
    },
    CommunicatePlan {
        note: String,
    },
    StartWork {
        note: String,
    },
    UrgeWork {
        note: String,
    },
    ReportHandling {
        report: String,
    },
    TellResult {
        note: String,
    },
    Verdict {
        satisfied: bool,
        comment: String,
    },
    MarkMajor {
        reason: String,
    },
}

impl Step {
    pub fn action(&self) -> Action {
        match self {
            Step::SendToTeam { .. } => Action::SendToTeam,
            Step::ProposePlan { .. } => Action::ProposePlan,
            Step::ConfirmPlan { .. } => Action::ConfirmPlan,
            Step::RejectPlan { .. } => Action::RejectPlan,
            Step::CommunicatePlan { .. } => Action::CommunicatePlan,
            Step::StartWork { .. } => Action::StartWork,
            Step::UrgeWork { .. } => Action::UrgeWork,
            Step::ReportHandling { .. } => Action::ReportHandling,
            Step::TellResult { .. } => Action::TellResult,
            Step::Verdict {
                satisfied: true, ..
            } => Action::CustomerSatisfied,
            Step::Verdict {
                satisfied: false, ..
            } => Action::CustomerDissatisfied,
            Step::MarkMajor { .. } => Action::MarkMajor,
        }
    }
}

/// Who may take each step (CMP-5; ESC-1 for marking a complaint major). The gateway's policy
/// says the same per RPC; the service checks again so no path around the policy skips a rule.
pub fn roles_for(action: Action) -> &'static [&'static str] {
    const CS_DESK: &[&str] = &["front_desk", "cs_clerk", "cs_supervisor"];
    const TEAM_LEADERS: &[&str] = &[
        "maintenance_foreman",
        "engineering_manager",
        "cs_supervisor",
        "project_manager_assistant",
    ];
    const MANAGERS: &[&str] = &["project_manager", "project_manager_assistant"];
    match action {
        Action::Register => &[
            "front_desk",
            "cs_clerk",
            "cs_supervisor",
            "project_manager",
            "project_manager_assistant",
        ],
        Action::SendToTeam | Action::CommunicatePlan => CS_DESK,
        Action::ProposePlan | Action::StartWork => TEAM_LEADERS,
        Action::ConfirmPlan | Action::RejectPlan | Action::MarkMajor => MANAGERS,
        // "由客户服务部主管或项目经理助理敦促".
        Action::UrgeWork => &["cs_supervisor", "project_manager_assistant"],
        Action::ReportHandling => &["cs_clerk", "cs_supervisor"],
        // "由客户服务部主管负责与客户联系，报告处理结果".
        Action::TellResult => &["cs_supervisor"],
        Action::CustomerSatisfied | Action::CustomerDissatisfied => &["cs_supervisor", "cs_clerk"],
    }
}

/// The states a step may start from, and the state it leads to (`None`: it stays).
fn transition(step: &Step) -> (&'static [State], Option<State>) {
    use State::*;
    match step {
        Step::SendToTeam { .. } => (&[Registered], Some(SentToTeam)),
        Step::ProposePlan { .. } => (&[SentToTeam], Some(PlanProposed)),
        Step::ConfirmPlan { .. } => (&[PlanProposed], Some(PlanConfirmed)),
        Step::RejectPlan { .. } => (&[PlanProposed], Some(SentToTeam)),
        Step::CommunicatePlan { .. } => (&[PlanConfirmed], Some(Communicated)),
        Step::StartWork { .. } => (&[Communicated], Some(InProgress)),
        Step::UrgeWork { .. } => (&[InProgress], None),
        Step::ReportHandling { .. } => (&[InProgress], Some(Reported)),
        Step::TellResult { .. } => (&[Reported], Some(ResultTold)),
        Step::Verdict {
            satisfied: true, ..
        } => (&[ResultTold], Some(Closed)),
        // "直到客户满意为止": back to the team with the customer's reason.
        Step::Verdict {
            satisfied: false, ..
        } => (&[ResultTold], Some(SentToTeam)),
        // Any open complaint may need the company (closed ones are refused before).
        Step::MarkMajor { .. } => (
            &[
                Registered,
                SentToTeam,
                PlanProposed,
                PlanConfirmed,
                Communicated,
                InProgress,
                Reported,
                ResultTold,
            ],
            None,
        ),
    }
}

/// Takes `step` on the complaint: the complaint after it, with the step recorded, or why not.
/// Nothing changes on a refusal.
pub fn apply(
    complaint: &Complaint,
    step: Step,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<Complaint> {
    let action = step.action();
    if !roles_for(action).contains(&actor.role.as_str()) {
        return Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!(
                "role {} may not {}",
                actor.role,
                action.code().replace('_', " ")
            ),
        ));
    }
    if complaint.state == State::Closed {
        return Err(Error::rule(
            "COMPLAINT_CLOSED",
            "the complaint is closed: the customer was satisfied",
        ));
    }
    let (from, to) = transition(&step);
    if !from.contains(&complaint.state) {
        let expected: Vec<&str> = from.iter().map(|s| s.code()).collect();
        let mut metadata = std::collections::HashMap::new();
        metadata.insert("state".to_owned(), complaint.state.code().to_owned());
        metadata.insert("expected".to_owned(), expected.join(","));
        return Err(Error::Rule {
            reason: "STEP_OUT_OF_ORDER",
            message: format!(
                "cannot {} now: the complaint is {}, and this step needs it {}",
                action.code().replace('_', " "),
                complaint.state.code().replace('_', " "),
                expected.join(" or ").replace('_', " ")
            ),
            metadata,
        });
    }
    let mut next = complaint.clone();
    let to = to.unwrap_or(complaint.state);
    let note = match step {
        Step::SendToTeam { team, note } => {
            next.team = team.clone();
            if note.is_empty() {
                team
            } else {
                format!("{team}: {note}")
            }
        }
        Step::ProposePlan {
            plan,
            remedial_measures,
        } => {
            next.plan = plan.clone();
            next.remedial_measures = remedial_measures.clone();
            format!("{plan}；{remedial_measures}")
        }
        Step::CommunicatePlan { note } => {
            // The first communication is the reply CMP-3 measures.
            next.replied_at.get_or_insert(at);
            note
        }
        Step::ReportHandling { report } => {
            next.handling_report = report.clone();
            report
        }
        Step::TellResult { note } => {
            next.results_told += 1;
            note
        }
        Step::Verdict { satisfied, comment } => {
            if satisfied {
                next.closed_at = Some(at);
            }
            comment
        }
        Step::MarkMajor { reason } => {
            if complaint.major.is_some() {
                return Err(Error::rule(
                    "ALREADY_MAJOR",
                    "the complaint is already marked as major",
                ));
            }
            next.major = Some(reason.clone());
            reason
        }
        Step::ConfirmPlan { note } | Step::StartWork { note } | Step::UrgeWork { note } => note,
        Step::RejectPlan { reason } => reason,
    };
    next.state = to;
    next.steps.push(StepRecord {
        seq: complaint.steps.len() as u32 + 1,
        action,
        from: complaint.state,
        to,
        actor: actor.clone(),
        at,
        note,
    });
    Ok(next)
}

/// Whether the reply deadline has passed without a reply (CMP-3).
pub fn reply_overdue(complaint: &Complaint, now: DateTime<Utc>) -> bool {
    complaint.replied_at.is_none()
        && complaint.state != State::Closed
        && complaint.reply_due_at < now
}

/// Lengths the front desk may write, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_CATEGORY: usize = 50;
pub const MAX_NAME: usize = 50;
pub const MAX_PHONE: usize = 30;
pub const MAX_NOTE: usize = 2000;
pub const MAX_TEAM: usize = 50;

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
}
