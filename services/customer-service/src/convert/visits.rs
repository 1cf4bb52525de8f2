//! Visits and repair follow-ups.

use chrono::{DateTime, Utc};
use wuye_kit::{identity::Actor, time::to_timestamp};
use wuye_proto::customerservice as pb;

use crate::domain::visits::{Channel, Kind, RepairFollowUp, Satisfaction, Visit};

impl TryFrom<pb::VisitKind> for Kind {
    type Error = ();

    fn try_from(kind: pb::VisitKind) -> Result<Self, ()> {
        match kind {
            pb::VisitKind::Unspecified => Err(()),
            pb::VisitKind::Routine => Ok(Self::Routine),
            pb::VisitKind::Repair => Ok(Self::Repair),
            pb::VisitKind::MoveIn => Ok(Self::MoveIn),
        }
    }
}

impl From<Kind> for pb::VisitKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Routine => Self::Routine,
            Kind::Repair => Self::Repair,
            Kind::MoveIn => Self::MoveIn,
        }
    }
}

impl TryFrom<pb::VisitChannel> for Channel {
    type Error = ();

    fn try_from(channel: pb::VisitChannel) -> Result<Self, ()> {
        match channel {
            pb::VisitChannel::Unspecified => Err(()),
            pb::VisitChannel::OnSite => Ok(Self::OnSite),
            pb::VisitChannel::Phone => Ok(Self::Phone),
            pb::VisitChannel::Online => Ok(Self::Online),
        }
    }
}

impl From<Channel> for pb::VisitChannel {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::OnSite => Self::OnSite,
            Channel::Phone => Self::Phone,
            Channel::Online => Self::Online,
        }
    }
}

impl TryFrom<pb::VisitSatisfaction> for Satisfaction {
    type Error = ();

    fn try_from(satisfaction: pb::VisitSatisfaction) -> Result<Self, ()> {
        match satisfaction {
            pb::VisitSatisfaction::Unspecified => Err(()),
            pb::VisitSatisfaction::Satisfied => Ok(Self::Satisfied),
            pb::VisitSatisfaction::BasicallySatisfied => Ok(Self::BasicallySatisfied),
            pb::VisitSatisfaction::Dissatisfied => Ok(Self::Dissatisfied),
        }
    }
}

impl From<Satisfaction> for pb::VisitSatisfaction {
    fn from(satisfaction: Satisfaction) -> Self {
        match satisfaction {
            Satisfaction::Satisfied => Self::Satisfied,
            Satisfaction::BasicallySatisfied => Self::BasicallySatisfied,
            Satisfaction::Dissatisfied => Self::Dissatisfied,
        }
    }
}

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
