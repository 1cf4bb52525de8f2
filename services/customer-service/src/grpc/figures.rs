//! Customer service's figures of a property and period for the headquarters portfolio (HQ-1):
//! the complaints registered in the period, counted as the CMP-9 analysis counts them, and the
//! surveys (CS-4) and visits (VIS-4, VIS-5) as their own statistics count them.

use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use wuye_kit::Error;
use wuye_proto::customerservice::{
    self as pb, customer_service_figures_service_server::CustomerServiceFiguresService,
};

use crate::{CustomerService, app::figures as app};

/// The longest period the figures are asked for: a year.
const MAX_MONTHS: u32 = 12;

#[tonic::async_trait]
impl CustomerServiceFiguresService for CustomerService {
    async fn get_complaint_figures(
        &self,
        request: Request<pb::GetComplaintFiguresRequest>,
    ) -> Result<Response<pb::GetComplaintFiguresResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (first, next) = months(&req.month, &req.to_month)?;
        let counts = app::complaints(self, &scope, first, next).await?;
        Ok(Response::new(pb::GetComplaintFiguresResponse {
            figures: Some(pb::ComplaintFigures {
                property_id: scope.property().id.clone(),
                month: req.month,
                ..counts.into()
            }),
        }))
    }

    async fn get_customer_care_figures(
        &self,
        request: Request<pb::GetCustomerCareFiguresRequest>,
    ) -> Result<Response<pb::GetCustomerCareFiguresResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (first, next) = months(&req.month, &req.to_month)?;
        let figures = app::customer_care(self, &scope, first, next).await?;
        Ok(Response::new(pb::GetCustomerCareFiguresResponse {
            figures: Some(pb::CustomerCareFigures {
                property_id: scope.property().id.clone(),
                ..figures.into()
            }),
        }))
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
