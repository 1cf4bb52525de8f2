//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums (unspecified →
//! `Err(())`), `From` to their enums and messages. The transport converts requests and answers
//! with it; the application, the payloads of its events.

use wuye_kit::time::to_timestamp;
use wuye_proto::{customerservice as cs, quality as pb};

use crate::domain::{Escalation, Information, Reason, ReasonReceived, Severity, State};

wuye_kit::enum_conversions!(State <=> pb::EscalationState {
        Received,
        Assigned,
        InformationRequested,
        Decided,
        Closed,
    }
);
wuye_kit::enum_conversions!(Reason <=> pb::EscalationReason {
        Major,
        Serious,
        ReplyOverdue,
        Unresolved,
        Recurring,
    }
);
wuye_kit::enum_conversions!(Severity <=> cs::Severity {
        Minor,
        General,
        Serious
    }
);

impl From<ReasonReceived> for pb::ReasonReceived {
    fn from(r: ReasonReceived) -> Self {
        pb::ReasonReceived {
            reason: pb::EscalationReason::from(r.reason).into(),
            detail: r.detail,
            receive_time: Some(to_timestamp(r.received_at)),
            source: r.source,
            source_seq: r.source_seq,
        }
    }
}

impl From<Information> for pb::InformationRequest {
    fn from(i: Information) -> Self {
        let (answer, answered_by, answer_time) = match i.answer {
            Some((text, by, at)) => (text, Some(by.to_proto()), Some(to_timestamp(at))),
            None => (String::new(), None, None),
        };
        pb::InformationRequest {
            seq: i.seq as i32,
            question: i.question,
            asked_by: Some(i.asked_by.to_proto()),
            ask_time: Some(to_timestamp(i.asked_at)),
            answer,
            answered_by,
            answer_time,
        }
    }
}

impl From<Escalation> for pb::Escalation {
    fn from(e: Escalation) -> Self {
        pb::Escalation {
            id: e.id,
            property_id: e.property_id,
            complaint_id: e.complaint_id,
            complaint_number: e.complaint_number,
            severity: Severity::from_code(&e.severity)
                .map_or(cs::Severity::Unspecified, Into::into)
                .into(),
            category: e.category,
            state: pb::EscalationState::from(e.state).into(),
            reasons: e.reasons.into_iter().map(Into::into).collect(),
            receive_time: Some(to_timestamp(e.received_at)),
            assignee: e.assignee.as_ref().map(|(a, _)| a.to_proto()),
            assign_time: e.assignee.as_ref().map(|(_, at)| to_timestamp(*at)),
            information_requests: e.information.into_iter().map(Into::into).collect(),
            decision: e.decision,
            corrective_actions: e.corrective_actions,
            decided_by: e.decided.as_ref().map(|(a, _)| a.to_proto()),
            decide_time: e.decided.as_ref().map(|(_, at)| to_timestamp(*at)),
            close_note: e.close_note,
            closed_by: e.closed.as_ref().map(|(a, _)| a.to_proto()),
            close_time: e.closed.as_ref().map(|(_, at)| to_timestamp(*at)),
            update_time: Some(to_timestamp(e.updated_at)),
        }
    }
}
