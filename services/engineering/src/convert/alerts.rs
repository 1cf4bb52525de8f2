//! Alerts.

use wuye_proto::engineering as pb;

use super::{at, at_opt};
use crate::domain::alerts::{Alert, AlertKind};

wuye_kit::enum_conversions!(AlertKind <=> pb::AlertKind {
    HandoverRefused = HandoverRefused,
    MajorFinding = MajorFinding,
});

impl From<Alert> for pb::Alert {
    fn from(a: Alert) -> Self {
        pb::Alert {
            id: a.id,
            property_id: a.property_id,
            kind: pb::AlertKind::from(a.kind).into(),
            subject_id: a.subject_id,
            message: a.message,
            reasons: a.reasons,
            raise_time: at(a.raised_at),
            acknowledged: a.acknowledged_by.is_some(),
            acknowledged_by: a.acknowledged_by.map(|x| x.to_proto()),
            acknowledge_time: at_opt(a.acknowledged_at),
        }
    }
}
