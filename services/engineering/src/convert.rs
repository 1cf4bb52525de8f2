//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

use wuye_kit::time::to_timestamp;
use wuye_proto::{
    engineering as pb,
    events::{WorkOrderCompleted, WorkOrderOpened},
};

use crate::domain::{
    figures::{Coverage, Figures},
    inspections::{ItemKind, Kind, Observed, Seen, State as InspectionState, Value},
    work_orders::{Part, Source, State as WorkOrderState, Urgency, WorkOrder},
};

// Inspections

impl TryFrom<pb::InspectionKind> for Kind {
    type Error = ();

    fn try_from(k: pb::InspectionKind) -> Result<Self, ()> {
        match k {
            pb::InspectionKind::Unspecified => Err(()),
            pb::InspectionKind::Daily => Ok(Kind::Daily),
            pb::InspectionKind::Weekly => Ok(Kind::Weekly),
            pb::InspectionKind::Monthly => Ok(Kind::Monthly),
        }
    }
}

impl From<Kind> for pb::InspectionKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Daily => pb::InspectionKind::Daily,
            Kind::Weekly => pb::InspectionKind::Weekly,
            Kind::Monthly => pb::InspectionKind::Monthly,
        }
    }
}

impl TryFrom<pb::InspectionState> for InspectionState {
    type Error = ();

    fn try_from(s: pb::InspectionState) -> Result<Self, ()> {
        match s {
            pb::InspectionState::Unspecified => Err(()),
            pb::InspectionState::Due => Ok(InspectionState::Due),
            pb::InspectionState::Done => Ok(InspectionState::Done),
            pb::InspectionState::Missed => Ok(InspectionState::Missed),
        }
    }
}

impl From<InspectionState> for pb::InspectionState {
    fn from(s: InspectionState) -> Self {
        match s {
            InspectionState::Due => pb::InspectionState::Due,
            InspectionState::Done => pb::InspectionState::Done,
            InspectionState::Missed => pb::InspectionState::Missed,
        }
    }
}

impl TryFrom<pb::ObservedState> for Observed {
    type Error = ();

    fn try_from(o: pb::ObservedState) -> Result<Self, ()> {
        match o {
            pb::ObservedState::Unspecified => Err(()),
            pb::ObservedState::Normal => Ok(Observed::Normal),
            pb::ObservedState::Stopped => Ok(Observed::Stopped),
            pb::ObservedState::Abnormal => Ok(Observed::Abnormal),
            pb::ObservedState::Fault => Ok(Observed::Fault),
        }
    }
}

impl From<Observed> for pb::ObservedState {
    fn from(o: Observed) -> Self {
        match o {
            Observed::Normal => pb::ObservedState::Normal,
            Observed::Stopped => pb::ObservedState::Stopped,
            Observed::Abnormal => pb::ObservedState::Abnormal,
            Observed::Fault => pb::ObservedState::Fault,
        }
    }
}

impl From<ItemKind> for pb::ItemKind {
    fn from(k: ItemKind) -> Self {
        match k {
            ItemKind::State => pb::ItemKind::State,
            ItemKind::Count => pb::ItemKind::Count,
            ItemKind::MeterReading => pb::ItemKind::MeterReading,
            ItemKind::YesNo => pb::ItemKind::YesNo,
            ItemKind::Text => pb::ItemKind::Text,
        }
    }
}

/// A state that is not an observed state is no value.
impl TryFrom<pb::item_value::Value> for Value {
    type Error = ();

    fn try_from(v: pb::item_value::Value) -> Result<Self, ()> {
        use pb::item_value::Value as V;
        Ok(match v {
            V::State(s) => Value::State(wuye_kit::from_proto::<pb::ObservedState, _>(s).ok_or(())?),
            V::Count(c) => Value::Count(c),
            V::Reading(x) => Value::Reading(x),
            V::Yes(b) => Value::Yes(b),
            V::Text(t) => Value::Text(t),
        })
    }
}

impl From<Value> for pb::ItemValue {
    fn from(v: Value) -> Self {
        use pb::item_value::Value as V;
        pb::ItemValue {
            value: Some(match v {
                Value::State(o) => V::State(pb::ObservedState::from(o).into()),
                Value::Count(c) => V::Count(c),
                Value::Reading(x) => V::Reading(x),
                Value::Yes(b) => V::Yes(b),
                Value::Text(t) => V::Text(t),
            }),
        }
    }
}

/// The inspection with its state at the time it was seen.
impl From<Seen> for pb::Inspection {
    fn from(Seen { inspection: i, at }: Seen) -> Self {
        pb::Inspection {
            state: pb::InspectionState::from(i.state(at)).into(),
            id: i.id,
            property_id: i.property_id,
            kind: pb::InspectionKind::from(i.kind).into(),
            zone_id: i.zone_id.unwrap_or_default(),
            assignee_user_id: i.assignee_user_id,
            assignee_name: i.assignee_name,
            window_start_time: Some(to_timestamp(i.window_start)),
            due_time: Some(to_timestamp(i.due_at)),
            items: i
                .items
                .into_iter()
                .map(|item| pb::ChecklistItem {
                    key: item.key,
                    kind: pb::ItemKind::from(item.kind).into(),
                    label: item.label,
                    equipment_id: item.equipment_id.unwrap_or_default(),
                    unit: item.unit,
                    min: item.min,
                    max: item.max,
                    value: item.value.map(Into::into),
                    failed: item.failed,
                })
                .collect(),
            record_time: i.recorded_at.map(to_timestamp),
            recorded_by: i.recorded_by.map(|a| a.to_proto()),
            findings: i.findings,
            major_finding: i.major_finding,
            work_order_ids: i.work_order_ids,
            spot_checked_by: i.spot_checked_by.map(|a| a.to_proto()),
            spot_check_time: i.spot_checked_at.map(to_timestamp),
            spot_check_note: i.spot_check_note,
        }
    }
}

// Work orders

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

// Figures

impl From<Coverage> for pb::InspectionCoverage {
    fn from(c: Coverage) -> Self {
        pb::InspectionCoverage {
            due: c.due,
            done: c.done,
            pending: c.pending,
            missed: c.missed,
            coverage_percent: c.percent(),
        }
    }
}

impl From<Figures> for pb::Figures {
    fn from(f: Figures) -> Self {
        let target = f.intact_target_percent;
        pb::Figures {
            property_id: f.property_id,
            month: f.month,
            daily: Some(f.daily.into()),
            weekly: Some(f.weekly.into()),
            monthly: Some(f.monthly.into()),
            all_inspections: Some(f.all_inspections.into()),
            intact: Some(pb::IntactRate {
                inspected: f.intact.inspected,
                intact: f.intact.intact,
                not_inspected: f.intact.not_inspected,
                rate_percent: f.intact.percent(),
                target_percent: target,
                meets_target: f.intact.meets(target),
            }),
            handovers: Some(pb::HandoverFigures {
                completed: f.handovers.completed,
                refusals: f.handovers.refusals,
                refused_handovers: f.handovers.refused_handovers,
                reasons: f
                    .handovers
                    .reasons
                    .into_iter()
                    .map(|(code, count)| pb::ReasonCount { code, count })
                    .collect(),
            }),
            work_orders: Some(pb::WorkOrderFigures {
                opened: f.work_orders.opened,
                completed: f.work_orders.completed,
                arrived_on_time: f.work_orders.arrived_on_time,
                arrived_late: f.work_orders.arrived_late,
                on_time_percent: f.work_orders.on_time_percent,
            }),
        }
    }
}
