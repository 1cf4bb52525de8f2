use tonic::{Request, Response, Status};
use wuye_kit::{Error, identity};
use wuye_proto::engineering::{self as pb, figures_service_server::FiguresService};

use crate::{
    Engineering,
    domain::{
        figures::{
            Coverage, coverage, intact_rate, month_window, parse_month, percent, reason_counts,
        },
        inspections::Kind,
    },
    store::figures as store,
};

#[tonic::async_trait]
impl FiguresService for Engineering {
    async fn get_engineering_figures(
        &self,
        request: Request<pb::GetEngineeringFiguresRequest>,
    ) -> Result<Response<pb::GetEngineeringFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let first = parse_month(&req.month)
            .ok_or_else(|| Error::invalid("month", "must be a month, YYYY-MM"))?;
        let (start, end) = month_window(first, property.time_zone);
        let m = store::month(&self.db, &property.id, start, end).await?;
        let now = self.clock.now();
        let target = property.rules.engineering.intact_rate_target_percent;
        let intact = intact_rate(&m.equipment_results, m.equipment_count);
        let refused_handovers = {
            let mut ids: Vec<&str> = m.refusals.iter().map(|(h, _)| h.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len() as i64
        };
        let arrived = m.arrived_on_time + m.arrived_late;
        let figures = pb::Figures {
            property_id: property.id.clone(),
            month: req.month,
            daily: Some(coverage_to_proto(coverage(&m.due, Some(Kind::Daily), now))),
            weekly: Some(coverage_to_proto(coverage(&m.due, Some(Kind::Weekly), now))),
            monthly: Some(coverage_to_proto(coverage(
                &m.due,
                Some(Kind::Monthly),
                now,
            ))),
            all_inspections: Some(coverage_to_proto(coverage(&m.due, None, now))),
            intact: Some(pb::IntactRate {
                inspected: intact.inspected,
                intact: intact.intact,
                not_inspected: intact.not_inspected,
                rate_percent: intact.percent(),
                target_percent: target,
                meets_target: intact.meets(target),
            }),
            handovers: Some(pb::HandoverFigures {
                completed: m.handovers_completed,
                refusals: m.refusals.len() as i64,
                refused_handovers,
                reasons: reason_counts(m.refusals.iter().map(|(_, r)| r.as_slice()))
                    .into_iter()
                    .map(|(code, count)| pb::ReasonCount { code, count })
                    .collect(),
            }),
            work_orders: Some(pb::WorkOrderFigures {
                opened: m.work_orders_opened,
                completed: m.work_orders_completed,
                arrived_on_time: m.arrived_on_time,
                arrived_late: m.arrived_late,
                on_time_percent: percent(m.arrived_on_time, arrived),
            }),
        };
        Ok(Response::new(pb::GetEngineeringFiguresResponse {
            figures: Some(figures),
        }))
    }
}

fn coverage_to_proto(c: Coverage) -> pb::InspectionCoverage {
    pb::InspectionCoverage {
        due: c.due,
        done: c.done,
        pending: c.pending,
        missed: c.missed,
        coverage_percent: c.percent(),
    }
}
