//! Complaints (客户投诉): intake, numbering, the reply deadline, and the life of a complaint
//! (CMP-5) as a state machine.

use chrono::{DateTime, Duration, Utc};
use wuye_kit::{Error, Result, identity::Actor, properties::Property};

pub mod filter;
pub use filter::{Filter, Query, ReplyDue};

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
    let note = fill(&mut next, step, at)?;
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

/// Writes what `step` says into `next` (the complaint before it): the note its record keeps.
fn fill(next: &mut Complaint, step: Step, at: DateTime<Utc>) -> Result<String> {
    Ok(match step {
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
            if next.major.is_some() {
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
    })
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
mod tests;
