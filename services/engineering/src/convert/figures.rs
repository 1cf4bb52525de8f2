//! Figures.

use wuye_proto::engineering as pb;

use crate::domain::figures::{Coverage, Figures};

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
