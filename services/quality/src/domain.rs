//! The rules of the escalation inbox (ESC-1 to ESC-3): who may take which step, in which state,
//! and what the property is told. Pure: no I/O, no protobuf types.

use chrono::{DateTime, Utc};
use wuye_kit::{Error, Result, identity::Actor};

pub const MAX_TEXT: usize = 4_000;
pub const MAX_ACTIONS: usize = 50;
pub const MAX_SOURCE: usize = 100;

/// Roles whose scope is every property: they see every escalation (DOMAIN.md "Who is who").
pub use wuye_kit::roles::HEADQUARTERS_ROLES;
/// The quality department's officers, who handle escalations.
pub const QUALITY_OFFICER: &str = "quality_officer";
/// The posts of the officer an escalation is assigned to (ESC-3): the quality department
/// assigns it to one of its officers (品质管理部, a headquarters post).
pub const ASSIGNEE_ROLES: &[&str] = &[QUALITY_OFFICER];
/// Who answers the department's questions at the property.
pub const PROPERTY_ANSWERERS: &[&str] = &[
    "project_manager",
    "project_manager_assistant",
    "cs_supervisor",
];
/// The role of another wuye service's own calls (the gateway's relay).
pub const SERVICE_ROLE: &str = "service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Received,
    Assigned,
    InformationRequested,
    Decided,
    Closed,
}

wuye_kit::text_codes!(State {
    Received => "received",
    Assigned => "assigned",
    InformationRequested => "information_requested",
    Decided => "decided",
    Closed => "closed",
});

/// Why a complaint was escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// ESC-1: marked by the project manager or assistant (CMP-7).
    Major,
    /// ESC-2: registered as serious.
    Serious,
    /// ESC-2: reply deadline missed (CMP-3).
    ReplyOverdue,
    /// ESC-2: still open a month after registration.
    Unresolved,
    /// ESC-2: the same problem recurring the property's number of times (CMP-9).
    Recurring,
}

wuye_kit::text_codes!(Reason {
    Major => "major",
    Serious => "serious",
    ReplyOverdue => "reply_overdue",
    Unresolved => "unresolved",
    Recurring => "recurring",
});

/// A complaint's severity, as customer service gives it; kept by its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Minor,
    General,
    Serious,
}

wuye_kit::text_codes!(Severity {
    Minor => "minor",
    General => "general",
    Serious => "serious",
});

/// An escalation as the relay delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub property_id: String,
    pub source: String,
    pub source_seq: i64,
    pub complaint_id: String,
    pub complaint_number: i64,
    pub severity: Severity,
    pub category: String,
    pub reason: Reason,
    pub detail: String,
}

/// A new reason for an escalation the department had closed opens it again.
pub fn reopens(state: State, created: bool, new_reason: bool) -> bool {
    new_reason && !created && state == State::Closed
}

/// A step of the department's handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Assign {
        assignee: Actor,
    },
    RequestInformation {
        question: String,
    },
    ProvideInformation {
        answer: String,
    },
    Decide {
        decision: String,
        corrective_actions: Vec<String>,
    },
    Close {
        note: String,
    },
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Assign { .. } => "assign",
            Step::RequestInformation { .. } => "request information",
            Step::ProvideInformation { .. } => "provide information",
            Step::Decide { .. } => "decide",
            Step::Close { .. } => "close",
        }
    }
}

/// Refuses `step` to a role that may not take it.
pub fn check_role(role: &str, step: &Step) -> Result<()> {
    let allowed = match step {
        Step::ProvideInformation { .. } => PROPERTY_ANSWERERS.contains(&role),
        _ => role == QUALITY_OFFICER,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("role {role} may not {} an escalation", step.name()),
        ))
    }
}

/// The state after `step`, or the refusal of a step out of order.
pub fn next_state(state: State, step: &Step) -> Result<State> {
    use State::*;
    let next = match (state, step) {
        (Received | Assigned, Step::Assign { .. }) => Some(Assigned),
        // Reassigning keeps the question open.
        (InformationRequested, Step::Assign { .. }) => Some(InformationRequested),
        (Assigned, Step::RequestInformation { .. }) => Some(InformationRequested),
        (InformationRequested, Step::ProvideInformation { .. }) => Some(Assigned),
        (Assigned, Step::Decide { .. }) => Some(Decided),
        (Decided, Step::Close { .. }) => Some(Closed),
        _ => None,
    };
    next.ok_or_else(|| {
        let mut error = Error::rule(
            "STEP_OUT_OF_ORDER",
            format!(
                "cannot {} an escalation that is {}",
                step.name(),
                state.code().replace('_', " ")
            ),
        );
        if let Error::Rule { metadata, .. } = &mut error {
            metadata.insert("state".to_owned(), state.code().to_owned());
        }
        error
    })
}

/// What the property is told on its complaint after a change to `state` (ESC-3).
pub fn property_text(
    state: State,
    question: Option<&str>,
    decision: &str,
    actions: &[String],
) -> String {
    match state {
        State::InformationRequested => question.unwrap_or_default().to_owned(),
        State::Decided | State::Closed => decision_text(decision, actions),
        State::Received | State::Assigned => String::new(),
    }
}

/// The decision with its corrective actions, numbered, as the complaint shows it.
pub fn decision_text(decision: &str, actions: &[String]) -> String {
    let mut text = decision.to_owned();
    if !actions.is_empty() {
        text.push_str("\n纠正预防措施:");
        for (i, action) in actions.iter().enumerate() {
            text.push_str(&format!("\n{}. {action}", i + 1));
        }
    }
    text
}

/// Whether a caller of `role` authorized for `property` (None: company-wide) may see the
/// escalations of `escalation_property`.
pub fn may_read(role: &str, property: Option<&str>, escalation_property: &str) -> bool {
    HEADQUARTERS_ROLES.contains(&role) || property == Some(escalation_property)
}

/// An escalation as the department keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub id: String,
    pub property_id: String,
    pub complaint_id: String,
    pub complaint_number: i64,
    /// The complaint's severity code as customer service gave it.
    pub severity: String,
    pub category: String,
    pub state: State,
    pub received_at: DateTime<Utc>,
    pub reasons: Vec<ReasonReceived>,
    pub assignee: Option<(Actor, DateTime<Utc>)>,
    pub information: Vec<Information>,
    pub decision: String,
    pub corrective_actions: Vec<String>,
    pub decided: Option<(Actor, DateTime<Utc>)>,
    pub close_note: String,
    pub closed: Option<(Actor, DateTime<Utc>)>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReasonReceived {
    pub reason: Reason,
    pub detail: String,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub source_seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Information {
    pub seq: i64,
    pub question: String,
    pub asked_by: Actor,
    pub asked_at: DateTime<Utc>,
    pub answer: Option<(String, Actor, DateTime<Utc>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer() -> Actor {
        Actor {
            user_id: "q1".into(),
            name: "品质专员".into(),
            role: QUALITY_OFFICER.into(),
        }
    }

    #[test]
    fn the_handling_goes_in_order() {
        // rule ESC-3
        let assign = Step::Assign {
            assignee: officer(),
        };
        let ask = Step::RequestInformation {
            question: "整改记录?".into(),
        };
        let answer = Step::ProvideInformation {
            answer: "见附件".into(),
        };
        let decide = Step::Decide {
            decision: "协调开发商".into(),
            corrective_actions: vec![],
        };
        let close = Step::Close {
            note: String::new(),
        };
        let mut state = State::Received;
        for (step, expected) in [
            (&assign, State::Assigned),
            (&ask, State::InformationRequested),
            (&assign, State::InformationRequested),
            (&answer, State::Assigned),
            (&decide, State::Decided),
            (&close, State::Closed),
        ] {
            state = next_state(state, step).unwrap();
            assert_eq!(state, expected);
        }
        assert!(next_state(State::Received, &decide).is_err());
        assert!(next_state(State::Assigned, &close).is_err());
        assert!(next_state(State::Closed, &assign).is_err());
        assert!(next_state(State::Decided, &ask).is_err());
    }

    #[test]
    fn only_officers_handle_and_only_the_property_answers() {
        let decide = Step::Decide {
            decision: "x".into(),
            corrective_actions: vec![],
        };
        assert!(check_role(QUALITY_OFFICER, &decide).is_ok());
        assert!(check_role("project_manager", &decide).is_err());
        assert!(check_role("hq_viewer", &decide).is_err());
        let answer = Step::ProvideInformation { answer: "y".into() };
        assert!(check_role("project_manager", &answer).is_ok());
        assert!(check_role(QUALITY_OFFICER, &answer).is_err());
    }

    #[test]
    fn property_roles_read_only_their_property() {
        assert!(may_read("quality_officer", None, "p1"));
        assert!(may_read("hq_viewer", Some("p2"), "p1"));
        assert!(may_read("project_manager", Some("p1"), "p1"));
        assert!(!may_read("project_manager", Some("p2"), "p1"));
        assert!(!may_read("project_manager", None, "p1"));
    }

    #[test]
    fn the_property_is_told_the_decision_with_its_actions() {
        let actions = vec!["更换电梯门机".to_owned(), "每周复查".to_owned()];
        let text = property_text(State::Decided, None, "由公司协调", &actions);
        assert_eq!(
            text,
            "由公司协调\n纠正预防措施:\n1. 更换电梯门机\n2. 每周复查"
        );
        assert_eq!(
            property_text(State::InformationRequested, Some("问"), "", &[]),
            "问"
        );
        assert_eq!(property_text(State::Assigned, None, "d", &[]), "");
    }

    mod properties {
        //! No sequence of steps, by any role, takes an escalation out of ESC-3's order.
        use proptest::prelude::*;

        use super::*;

        const ROLES: &[&str] = &[
            QUALITY_OFFICER,
            "hq_viewer",
            "project_manager",
            "project_manager_assistant",
            "cs_supervisor",
            "front_desk",
            SERVICE_ROLE,
        ];

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                Just(Step::Assign {
                    assignee: officer()
                }),
                "[a-z?]{0,6}".prop_map(|question| Step::RequestInformation { question }),
                "[a-z]{0,6}".prop_map(|answer| Step::ProvideInformation { answer }),
                prop::collection::vec("[a-z]{1,4}", 0..3).prop_map(|corrective_actions| {
                    Step::Decide {
                        decision: "d".into(),
                        corrective_actions,
                    }
                }),
                "[a-z]{0,6}".prop_map(|note| Step::Close { note }),
            ]
        }

        proptest! {
            // 256 cases, or PROPTEST_CASES.
            #[test]
            fn no_sequence_of_steps_breaks_the_order_of_handling(
                calls in prop::collection::vec((step(), 0..ROLES.len()), 1..40)
            ) {
                let mut state = State::Received;
                // Questions asked and not answered.
                let mut open_questions = 0i32;
                let mut decided = false;
                for (step, role) in calls {
                    let taken = check_role(ROLES[role], &step)
                        .and_then(|()| next_state(state, &step));
                    let Ok(next) = taken else {
                        // A refused step leaves the escalation as it was.
                        continue;
                    };
                    prop_assert_ne!(state, State::Closed, "closed stays closed");
                    match &step {
                        Step::ProvideInformation { .. } => {
                            prop_assert!(PROPERTY_ANSWERERS.contains(&ROLES[role]));
                            prop_assert!(open_questions > 0, "an answer needs a question");
                            open_questions -= 1;
                        }
                        Step::RequestInformation { .. } => {
                            prop_assert_eq!(open_questions, 0, "one question at a time");
                            open_questions += 1;
                        }
                        Step::Decide { .. } => {
                            prop_assert_eq!(ROLES[role], QUALITY_OFFICER);
                            prop_assert_eq!(open_questions, 0, "no decision on a pending question");
                            decided = true;
                        }
                        Step::Close { .. } => prop_assert!(decided, "closed only once decided"),
                        Step::Assign { .. } => {
                            prop_assert!(!decided, "a decided escalation is not reassigned");
                        }
                    }
                    prop_assert!(open_questions >= 0);
                    state = next;
                    prop_assert_eq!(open_questions > 0, state == State::InformationRequested);
                    prop_assert_eq!(decided, matches!(state, State::Decided | State::Closed));
                }
            }
        }
    }
}
