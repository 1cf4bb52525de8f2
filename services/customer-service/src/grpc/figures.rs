//! Customer service's figures of a property and period for the headquarters portfolio (HQ-1):
//! the complaints registered in the period, counted as the CMP-9 analysis counts them, and the
//! surveys (CS-4) and visits (VIS-4, VIS-5) as their own statistics count them.

use chrono::{DateTime, NaiveDate, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{Error, calendar::start_of_day, identity};
use wuye_proto::customerservice::{
    self as pb, customer_service_figures_service_server::CustomerServiceFiguresService,
};

use crate::{
    CustomerService,
    domain::{analysis, surveys as survey_rules},
    store::{complaints as store, surveys as survey_store, visits as visit_store},
};

/// The longest period the figures are asked for: a year.
const MAX_MONTHS: u32 = 12;

#[tonic::async_trait]
impl CustomerServiceFiguresService for CustomerService {
    async fn get_complaint_figures(
        &self,
        request: Request<pb::GetComplaintFiguresRequest>,
    ) -> Result<Response<pb::GetComplaintFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let (first, next) = months(&req.month, &req.to_month)?;
        let from = start_of_day(first, property.time_zone);
        let to = start_of_day(next, property.time_zone);
        let groups =
            store::period_counts(&self.db, &property.id, from, to, self.clock.now()).await?;
        let a = analysis::Counts::of(&groups);
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

    async fn get_customer_care_figures(
        &self,
        request: Request<pb::GetCustomerCareFiguresRequest>,
    ) -> Result<Response<pb::GetCustomerCareFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let (first, next) = months(&req.month, &req.to_month)?;
        let from = start_of_day(first, property.time_zone);
        let to = start_of_day(next, property.time_zone);
        let mut figures = self.survey_figures(&property.id, from, to).await?;
        // rule VIS-4: repairs completed in the period, visited whenever.
        let repairs = visit_store::completed_in(&self.db, &property.id, from, to).await?;
        figures.repairs_completed = repairs.len() as i64;
        figures.repairs_visited = repairs.iter().filter(|r| r.visit.is_some()).count() as i64;
        // rule VIS-5
        let (occupied, visited) =
            visit_store::move_in_coverage(&self.db, &property.id, from, to).await?;
        figures.households_occupied = occupied;
        figures.households_visited = visited;
        figures.property_id = property.id.clone();
        Ok(Response::new(pb::GetCustomerCareFiguresResponse {
            figures: Some(figures),
        }))
    }
}

impl CustomerService {
    /// rule CS-4: the campaigns running in [from, to), each counted whole from its forms.
    async fn survey_figures(
        &self,
        property_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> wuye_kit::Result<pb::CustomerCareFigures> {
        let mut figures = pb::CustomerCareFigures::default();
        for campaign in survey_store::running_in(&self.db, property_id, from, to).await? {
            let (distributed, returned, counts) =
                survey_store::counts(&self.db, &campaign.id).await?;
            let stats = survey_rules::statistics(&campaign, distributed, returned, &counts);
            figures.survey_campaigns += 1;
            figures.forms_distributed += stats.distributed;
            figures.forms_returned += stats.returned;
            figures.ratings += stats.rated;
            figures.ratings_satisfied += stats.satisfied;
        }
        Ok(figures)
    }
}

/// The period of `month` to `to_month` (inclusive; empty: `month` alone) as the first day of
/// the first month and the first day after the last.
fn months(month: &str, to_month: &str) -> wuye_kit::Result<(NaiveDate, NaiveDate)> {
    let first =
        month_start(month).ok_or_else(|| Error::invalid("month", "must be a month, YYYY-MM"))?;
    let last = if to_month.is_empty() {
        first
    } else {
        month_start(to_month)
            .ok_or_else(|| Error::invalid("to_month", "must be a month, YYYY-MM"))?
    };
    if last < first {
        return Err(Error::invalid("to_month", "must not be before month"));
    }
    let next = last
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| Error::invalid("to_month", "is out of range"))?;
    if first
        .checked_add_months(chrono::Months::new(MAX_MONTHS))
        .is_none_or(|limit| next > limit)
    {
        return Err(Error::invalid(
            "to_month",
            "the period is at most 12 months",
        ));
    }
    Ok((first, next))
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
    use chrono::NaiveDate;

    #[test]
    fn months_parse() {
        assert_eq!(
            super::month_start("2026-11"),
            NaiveDate::from_ymd_opt(2026, 11, 1)
        );
        assert_eq!(super::month_start("2026-13"), None);
        assert_eq!(super::month_start("2026-1"), None);
        assert_eq!(super::month_start("nope"), None);
    }

    #[test]
    fn periods_run_from_the_first_month_to_the_day_after_the_last() {
        let day = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(
            super::months("2026-11", "").unwrap(),
            (day(2026, 11), day(2026, 12))
        );
        assert_eq!(
            super::months("2026-10", "2026-12").unwrap(),
            (day(2026, 10), day(2027, 1))
        );
        assert_eq!(
            super::months("2026-01", "2026-12").unwrap(),
            (day(2026, 1), day(2027, 1))
        );
        assert!(super::months("2026-01", "2027-01").is_err());
        assert!(super::months("2026-11", "2026-10").is_err());
        assert!(super::months("2026-11", "2026-1").is_err());
    }
}
