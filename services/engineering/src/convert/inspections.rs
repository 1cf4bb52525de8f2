//! Inspections.

use wuye_kit::time::to_timestamp;
use wuye_proto::engineering as pb;

use crate::domain::inspections::{ItemKind, Kind, Observed, Seen, State as InspectionState, Value};

wuye_kit::enum_conversions!(Kind <=> pb::InspectionKind { Daily, Weekly, Monthly });

wuye_kit::enum_conversions!(InspectionState <=> pb::InspectionState { Due, Done, Missed });

wuye_kit::enum_conversions!(Observed <=> pb::ObservedState { Normal, Stopped, Abnormal, Fault });

wuye_kit::enum_conversions!(ItemKind => pb::ItemKind { State, Count, MeterReading, YesNo, Text });

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
