//! Work orders.

use wuye_kit::time::to_timestamp;
use wuye_proto::{
    engineering as pb,
    events::{WorkOrderCompleted, WorkOrderOpened},
};

use crate::domain::work_orders::{Part, Source, State as WorkOrderState, Urgency, WorkOrder};

wuye_kit::enum_conversions!(Urgency <=> pb::Urgency { Emergency, Ordinary });

wuye_kit::enum_conversions!(Source <=> pb::WorkOrderSource { CustomerRequest, Inspection });

wuye_kit::enum_conversions!(WorkOrderState <=> pb::WorkOrderState { Open, Dispatched, Arrived, Completed });

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
