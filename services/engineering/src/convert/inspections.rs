//! Inspections.

use wuye_kit::time::to_timestamp;
use wuye_proto::engineering as pb;

use crate::domain::inspections::{ItemKind, Kind, Observed, Seen, State as InspectionState, Value};

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
