//! Complaints, the call and visit log, corrective actions, the analysis and the figures.

use chrono::{DateTime, Utc};
use wuye_kit::{identity::Actor, properties::Property, time::to_timestamp};
use wuye_proto::customerservice as pb;

use crate::{
    app::figures::CareFigures,
    domain::{
        analysis::{Counts, PeriodAnalysis},
        complaints::{
            Action, Channel, Complainant, Complaint, EscalationState, Severity, State, StepRecord,
        },
        contacts::{ContactEntry, ContactKind},
        corrective::{CorrectiveAction, CorrectiveState},
    },
};

wuye_kit::enum_conversions!(Channel <=> pb::Channel { Letter, Phone, Fax, Visit, App });
wuye_kit::enum_conversions!(Severity <=> pb::Severity { Minor, General, Serious });
wuye_kit::enum_conversions!(State <=> pb::ComplaintState {
    Registered,
    SentToTeam,
    PlanProposed,
    PlanConfirmed,
    Communicated,
    InProgress,
    Reported,
    ResultTold,
    Closed,
});
wuye_kit::enum_conversions!(EscalationState <=> pb::EscalationState {
    Received,
    Assigned,
    InformationRequested,
    Decided,
    Closed,
});
wuye_kit::enum_conversions!(Action <=> pb::StepAction {
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
});
wuye_kit::enum_conversions!(ContactKind <=> pb::ContactKind { Inquiry, Repair, Suggestion, Praise, Complaint });
wuye_kit::enum_conversions!(CorrectiveState <=> pb::CorrectiveActionState { Open, Acted, Verified });

impl From<Complainant> for pb::Complainant {
    fn from(c: Complainant) -> Self {
        pb::Complainant {
            name: c.name,
            phone: c.phone,
        }
    }
}

impl From<StepRecord> for pb::ComplaintStep {
    fn from(s: StepRecord) -> Self {
        pb::ComplaintStep {
            seq: s.seq as i32,
            action: pb::StepAction::from(s.action).into(),
            from_state: pb::ComplaintState::from(s.from).into(),
            to_state: pb::ComplaintState::from(s.to).into(),
            actor: Some(s.actor.to_proto()),
            time: Some(to_timestamp(s.at)),
            note: s.note,
        }
    }
}

impl From<Complaint> for pb::Complaint {
    fn from(c: Complaint) -> Self {
        pb::Complaint {
            id: c.id,
            property_id: c.property_id,
            number: c.number,
            channel: pb::Channel::from(c.channel).into(),
            complainant: Some(c.complainant.into()),
            unit_id: c.unit_id.unwrap_or_default(),
            category: c.category,
            description: c.description,
            severity: pb::Severity::from(c.severity).into(),
            state: pb::ComplaintState::from(c.state).into(),
            register_time: Some(to_timestamp(c.registered_at)),
            reply_due_time: Some(to_timestamp(c.reply_due_at)),
            registered_by: Some(c.registered_by.to_proto()),
            team: c.team,
            plan: c.plan,
            remedial_measures: c.remedial_measures,
            handling_report: c.handling_report,
            reply_time: c.replied_at.map(to_timestamp),
            close_time: c.closed_at.map(to_timestamp),
            results_told: c.results_told as i32,
            major: c.major.is_some(),
            major_reason: c.major.unwrap_or_default(),
            escalation: c.escalation.map(|e| pb::Escalation {
                state: pb::EscalationState::from(e.state).into(),
                decision: e.decision,
                update_time: Some(to_timestamp(e.updated_at)),
            }),
            steps: c.steps.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ContactEntry> for pb::ContactEntry {
    fn from(e: ContactEntry) -> Self {
        pb::ContactEntry {
            property_id: e.property_id,
            number: e.number,
            channel: pb::Channel::from(e.channel).into(),
            kind: pb::ContactKind::from(e.kind).into(),
            caller: Some(e.caller.into()),
            unit_id: e.unit_id.unwrap_or_default(),
            summary: e.summary,
            register_time: Some(to_timestamp(e.registered_at)),
            registered_by: Some(e.registered_by.to_proto()),
            complaint_id: e.complaint_id.unwrap_or_default(),
        }
    }
}

impl From<CorrectiveAction> for pb::CorrectiveAction {
    fn from(a: CorrectiveAction) -> Self {
        let done = |d: Option<(Actor, DateTime<Utc>)>| match d {
            Some((actor, at)) => (Some(actor.to_proto()), Some(to_timestamp(at))),
            None => (None, None),
        };
        let (acted_by, act_time) = done(a.acted);
        let (verified_by, verify_time) = done(a.verified);
        pb::CorrectiveAction {
            id: a.id,
            property_id: a.property_id,
            complaint_id: a.complaint_id,
            state: pb::CorrectiveActionState::from(a.state).into(),
            problem: a.problem,
            opened_by: Some(a.opened_by.to_proto()),
            open_time: Some(to_timestamp(a.opened_at)),
            measures: a.measures,
            acted_by,
            act_time,
            effective: a.effective,
            verification: a.verification,
            verified_by,
            verify_time,
        }
    }
}

/// Counts by key, in the keys' order.
fn counts<K: Into<String>>(counts: impl IntoIterator<Item = (K, i64)>) -> Vec<pb::Count> {
    counts
        .into_iter()
        .map(|(key, count)| pb::Count {
            key: key.into(),
            count,
        })
        .collect()
}

impl From<PeriodAnalysis> for pb::ComplaintAnalysis {
    fn from(p: PeriodAnalysis) -> Self {
        let a = p.analysis;
        pb::ComplaintAnalysis {
            period_start: Some(to_timestamp(p.from)),
            period_end: Some(to_timestamp(p.to)),
            total: a.total,
            reply_on_time_rate: a.reply_on_time_rate(),
            satisfied_first_time_rate: a.satisfied_first_time_rate(),
            by_category: counts(a.by_category),
            by_severity: counts(a.by_severity),
            by_channel: counts(a.by_channel),
            by_state: counts(a.by_state),
            replies_due: a.replies_due,
            replies_on_time: a.replies_on_time,
            mean_hours_to_reply: a.mean_hours_to_reply,
            mean_hours_to_close: a.mean_hours_to_close,
            closed: a.closed,
            closed_first_time: a.closed_first_time,
            recurring: a
                .recurring
                .into_iter()
                .map(|r| pb::RecurringProblem {
                    category: r.category,
                    building: r.building,
                    unit_id: r.unit_id.unwrap_or_default(),
                    complaint_numbers: r.numbers,
                })
                .collect(),
        }
    }
}

/// The counted figures; the property and the month are the request's.
impl From<Counts> for pb::ComplaintFigures {
    fn from(a: Counts) -> Self {
        pb::ComplaintFigures {
            registered: a.total,
            by_severity: counts(a.by_severity),
            by_state: counts(a.by_state),
            replies_due: a.replies_due,
            replies_on_time: a.replies_on_time,
            ..Default::default()
        }
    }
}

/// The counted figures; the property is the request's.
impl From<CareFigures> for pb::CustomerCareFigures {
    fn from(f: CareFigures) -> Self {
        pb::CustomerCareFigures {
            property_id: String::new(),
            survey_campaigns: f.survey_campaigns,
            forms_distributed: f.forms_distributed,
            forms_returned: f.forms_returned,
            ratings: f.ratings,
            ratings_satisfied: f.ratings_satisfied,
            repairs_completed: f.repairs_completed,
            repairs_visited: f.repairs_visited,
            households_occupied: f.households_occupied,
            households_visited: f.households_visited,
        }
    }
}

/// A property's settings as PropertyService answers them. A function, not `From`: neither
/// type is this crate's.
pub(crate) fn property_settings(p: &Property) -> pb::PropertySettings {
    let r = &p.rules;
    pb::PropertySettings {
        property: Some(p.to_proto()),
        holiday_calendar: p.calendar.name.clone(),
        rules: Some(pb::PropertyRules {
            complaint_reply_days_minor: r.complaints.reply_days.minor,
            complaint_reply_days_general: r.complaints.reply_days.general,
            complaint_reply_days_serious: r.complaints.reply_days.serious,
            complaint_reply_in_working_days: r.complaints.reply_in_working_days,
            key_overdue_after_days: r.keys.overdue_after_days,
            key_retention_years: r.keys.retention_years,
            archive_filing_working_days: r.archives.filing_working_days,
            archive_retention_years: r.archives.retention_years,
            handover_outgoing_prepare_minutes: r.engineering.outgoing_prepare_minutes,
            handover_incoming_early_minutes: r.engineering.incoming_early_minutes,
            repair_emergency_arrival_minutes: r.engineering.emergency_arrival_minutes,
            repair_ordinary_arrival_minutes: r.engineering.ordinary_arrival_minutes,
            intact_rate_target_percent: r.engineering.intact_rate_target_percent,
            survey_every_months: r.surveys.campaign_every_months,
            survey_publish_within_days: r.surveys.publish_within_days,
            repair_follow_up_target_percent: r.surveys.repair_follow_up_target_percent,
            move_in_visit_target_percent: r.surveys.move_in_visit_target_percent,
        }),
    }
}
