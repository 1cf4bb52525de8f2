//! Visits and repair follow-ups.

use chrono::{DateTime, Utc};
use wuye_kit::{identity::Actor, time::to_timestamp};
use wuye_proto::customerservice as pb;

use crate::domain::visits::{Channel, Kind, RepairFollowUp, Satisfaction, Visit};

wuye_kit::enum_conversions!(Kind <=> pb::VisitKind { Routine, Repair, MoveIn });

wuye_kit::enum_conversions!(Channel <=> pb::VisitChannel { OnSite, Phone, Online });

wuye_kit::enum_conversions!(Satisfaction <=> pb::VisitSatisfaction { Satisfied, BasicallySatisfied, Dissatisfied });

/// A visit as shown at `now`: whether its promised reply is overdue (VIS-2) depends on when
/// it is looked at.
pub(crate) struct VisitAt(pub Visit, pub DateTime<Utc>);

/// A reply or settlement: its text, who gave it and when.
type Done = (
    String,
    Option<wuye_proto::common::Actor>,
    Option<prost_types::Timestamp>,
);

fn done(d: &Option<(String, Actor, DateTime<Utc>)>) -> Done {
    match d {
        Some((text, by, at)) => (text.clone(), Some(by.to_proto()), Some(to_timestamp(*at))),
        None => (String::new(), None, None),
    }
}

impl From<VisitAt> for pb::Visit {
    fn from(VisitAt(v, now): VisitAt) -> Self {
        let reply_overdue = v.reply_overdue(now);
        let (question, reply_due_time, (reply, replied_by, reply_time)) = match &v.promise {
            Some(p) => (
                p.question.clone(),
                Some(to_timestamp(p.reply_due_at)),
                done(&p.reply),
            ),
            None => (String::new(), None, done(&None)),
        };
        let (major_problem, meeting_date, (settlement, settled_by, settle_time)) = match &v.major {
            Some(m) => (
                m.problem.clone(),
                m.meeting_date.format("%Y-%m-%d").to_string(),
                done(&m.settled),
            ),
            None => (String::new(), String::new(), done(&None)),
        };
        let (complaint_id, complaint_number) = v.complaint.unwrap_or_default();
        Self {
            id: v.id,
            property_id: v.property_id,
            kind: pb::VisitKind::from(v.kind).into(),
            household_id: v.household_id.unwrap_or_default(),
            unit_id: v.unit_id,
            unit_label: v.unit_label,
            work_order_id: v.work_order_id,
            customer: Some(pb::VisitedCustomer {
                name: v.customer_name,
                phone: v.customer_phone,
            }),
            visit_time: Some(to_timestamp(v.visited_at)),
            channel: pb::VisitChannel::from(v.channel).into(),
            visitor: Some(v.visitor.to_proto()),
            content: v.content,
            satisfaction: pb::VisitSatisfaction::from(v.satisfaction).into(),
            question,
            reply_due_time,
            reply_time,
            reply,
            replied_by,
            reply_overdue,
            major_problem,
            meeting_date,
            settle_time,
            settlement,
            settled_by,
            complaint_id,
            complaint_number,
            create_time: Some(to_timestamp(v.created_at)),
        }
    }
}

impl From<RepairFollowUp> for pb::RepairFollowUp {
    fn from(f: RepairFollowUp) -> Self {
        let (visit_id, visit_time) = match f.visit {
            Some((id, at)) => (id, Some(to_timestamp(at))),
            None => (String::new(), None),
        };
        Self {
            work_order_id: f.work_order_id,
            work_order_number: f.number,
            unit_id: f.unit_id,
            unit_label: f.unit_label,
            complete_time: Some(to_timestamp(f.completed_at)),
            customer_rating: f.customer_rating,
            contact_number: f.contact_number,
            visit_id,
            visit_time,
        }
    }
}
