//! Customer service's figures of a property and month for the headquarters portfolio (HQ-1):
//! the complaints registered in the month, counted as the CMP-9 analysis counts them.

use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use wuye_kit::{Error, calendar::start_of_day, identity};
use wuye_proto::customerservice::{
    self as pb, customer_service_figures_service_server::CustomerServiceFiguresService,
};

use crate::{CustomerService, domain::analysis, store::complaints as store};

#[tonic::async_trait]
impl CustomerServiceFiguresService for CustomerService {
    async fn get_complaint_figures(
        &self,
        request: Request<pb::GetComplaintFiguresRequest>,
    ) -> Result<Response<pb::GetComplaintFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let first = month_start(&req.month)
            .ok_or_else(|| Error::invalid("month", "must be a month, YYYY-MM"))?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| Error::invalid("month", "is out of range"))?;
        let from = start_of_day(first, property.time_zone);
        let to = start_of_day(next, property.time_zone);
        let facts = store::facts(&self.db, &property.id, from, to).await?;
        let threshold = property.rules.complaints.recurring_threshold.max(1) as usize;
        let a = analysis::analyse(&facts, self.clock.now(), threshold);
        let counts = |map: std::collections::BTreeMap<&'static str, i64>| {
            map.into_iter()
                .map(|(key, count)| pb::Count {
                    key: key.to_owned(),
                    count,
                })
                .collect()
        };
        Ok(Response::new(pb::GetComplaintFiguresResponse {
            figures: Some(pb::ComplaintFigures {
                property_id: property.id.clone(),
                month: req.month,
                registered: a.total,
                by_severity: counts(a.by_severity),
                by_state: counts(a.by_state),
                replies_due: a.replies_due,
                replies_on_time: a.replies_on_time,
            }),
        }))
    }
}

/// The first day of "YYYY-MM".
fn month_start(month: &str) -> Option<NaiveDate> {
    let (year, month) = month.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_parse() {
        assert_eq!(
            super::month_start("2026-11"),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
        );
        assert_eq!(super::month_start("2026-13"), None);
        assert_eq!(super::month_start("2026-1"), None);
        assert_eq!(super::month_start("nope"), None);
    }
}
