//! Work orders.

use wuye_kit::time::to_timestamp;
use wuye_proto::{
    engineering as pb,
    events::{WorkOrderCompleted, WorkOrderOpened},
};

use crate::domain::work_orders::{Part, Source, State as WorkOrderState, Urgency, WorkOrder};

impl TryFrom<pb::Urgency> for Urgency {
    type Error = ();

    fn try_from(u: pb::Urgency) -> Result<Self, ()> {
        match u {
            pb::Urgency::Unspecified => Err(()),
            pb::Urgency::Emergency => Ok(Urgency::Emergency),
            pb::Urgency::Ordinary => Ok(Urgency::Ordinary),
        }
    }
}

impl From<Urgency> for pb::Urgency {
    fn from(u: Urgency) -> Self {
        match u {
            Urgency::Emergency => pb::Urgency::Emergency,
            Urgency::Ordinary => pb::Urgency::Ordinary,
        }
    }
}

impl TryFrom<pb::WorkOrderSource> for Source {
    type Error = ();

    fn try_from(s: pb::WorkOrderSource) -> Result<Self, ()> {
        match s {
            pb::WorkOrderSource::Unspecified => Err(()),
            pb::WorkOrderSource::CustomerRequest => Ok(Source::CustomerRequest),
            pb::WorkOrderSource::Inspection => Ok(Source::Inspection),
        }
    }
}

impl From<Source> for pb::WorkOrderSource {
    fn from(s: Source) -> Self {
        match s {
            Source::CustomerRequest => pb::WorkOrderSource::CustomerRequest,
            Source::Inspection => pb::WorkOrderSource::Inspection,
        }
    }
}

impl TryFrom<pb::WorkOrderState> for WorkOrderState {
    type Error = ();

    fn try_from(s: pb::WorkOrderState) -> Result<Self, ()> {
        match s {
            pb::WorkOrderState::Unspecified => Err(()),
            pb::WorkOrderState::Open => Ok(WorkOrderState::Open),
            pb::WorkOrderState::Dispatched => Ok(WorkOrderState::Dispatched),
            pb::WorkOrderState::Arrived => Ok(WorkOrderState::Arrived),
            pb::WorkOrderState::Completed => Ok(WorkOrderState::Completed),
        }
    }
}

impl From<WorkOrderState> for pb::WorkOrderState {
    fn from(s: WorkOrderState) -> Self {
        match s {
            WorkOrderState::Open => pb::WorkOrderState::Open,
            WorkOrderState::Dispatched => pb::WorkOrderState::Dispatched,
            WorkOrderState::Arrived => pb::WorkOrderState::Arrived,
            WorkOrderState::Completed => pb::WorkOrderState::Completed,
        }
    }
}

/// Names and units as people write them, without the spaces around.
impl From<pb::Part> for Part {
    fn from(p: pb::Part) -> Self {
        Part {
            name: p.name.trim().to_owned(),
            quantity: p.quantity,
            unit: p.unit.trim().to_owned(),
        }
    }
}

impl From<Part> for pb::Part {
    fn from(p: Part) -> Self {
        pb::Part {
            name: p.name,
            quantity: p.quantity,
            unit: p.unit,
        }
    }
}

impl From<WorkOrder> for pb::WorkOrder {
    fn from(w: WorkOrder) -> Self {
        pb::WorkOrder {
            id: w.id,
            property_id: w.property_id,
            number: w.number,
            source: pb::WorkOrderSource::from(w.source).into(),
            unit_id: w.unit_id.unwrap_or_default(),
            equipment_id: w.equipment_id.unwrap_or_default(),
            inspection_id: w.inspection_id.unwrap_or_default(),
            description: w.description,
            urgency: pb::Urgency::from(w.urgency).into(),
            team: w.team,
            requester: Some(pb::Requester {
                name: w.requester.name,
                phone: w.requester.phone,
            }),
            contact_number: w.contact_number.unwrap_or_default(),
            booked_time: w.booked_at.map(to_timestamp),
            state: pb::WorkOrderState::from(w.state).into(),
            open_time: Some(to_timestamp(w.opened_at)),
            opened_by: Some(w.opened_by.to_proto()),
            assignee_user_id: w.assignee_user_id,
            assignee_name: w.assignee_name,
            dispatch_time: w.dispatched_at.map(to_timestamp),
            arrival_due_time: w.arrival_due_at.map(to_timestamp),
            arrive_time: w.arrived_at.map(to_timestamp),
            arrived_late: w.arrived_late,
            work_done: w.work_done,
            parts: w.parts.into_iter().map(Into::into).collect(),
            complete_time: w.completed_at.map(to_timestamp),
            customer_rating: w.customer_rating,
            customer_signature: w.customer_signature,
            completed_by: w.completed_by.map(|a| a.to_proto()),
        }
    }
}

impl From<&WorkOrder> for WorkOrderOpened {
    fn from(w: &WorkOrder) -> Self {
        WorkOrderOpened {
            work_order_id: w.id.clone(),
            number: w.number,
            source: pb::WorkOrderSource::from(w.source).into(),
            unit_id: w.unit_id.clone().unwrap_or_default(),
            equipment_id: w.equipment_id.clone().unwrap_or_default(),
            inspection_id: w.inspection_id.clone().unwrap_or_default(),
            urgency: pb::Urgency::from(w.urgency).into(),
        }
    }
}

impl From<&WorkOrder> for WorkOrderCompleted {
    fn from(w: &WorkOrder) -> Self {
        WorkOrderCompleted {
            work_order_id: w.id.clone(),
            number: w.number,
            source: pb::WorkOrderSource::from(w.source).into(),
            unit_id: w.unit_id.clone().unwrap_or_default(),
            equipment_id: w.equipment_id.clone().unwrap_or_default(),
            complete_time: w.completed_at.map(to_timestamp),
            customer_rating: w.customer_rating,
            contact_number: w.contact_number.unwrap_or_default(),
            arrived_late: w.arrived_late,
        }
    }
}
