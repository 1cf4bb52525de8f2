//! Customer service's figures of a property and period for the headquarters portfolio (HQ-1):
//! the complaints registered in the period, counted as the CMP-9 analysis counts them, and the
//! surveys (CS-4) and visits (VIS-4, VIS-5) as their own statistics count them.

use chrono::NaiveDate;
use wuye_kit::{Result, calendar::start_of_day, scope::Scope};

use crate::{
    CustomerService,
    domain::{analysis::Counts, surveys as survey_rules},
    store,
};

/// GetComplaintFigures: the complaints registered from the day `first` to the day before
/// `next`, in the property's time zone.
pub(crate) async fn complaints(
    cs: &CustomerService,
    scope: &Scope<'_>,
    first: NaiveDate,
    next: NaiveDate,
) -> Result<Counts> {
    let property = scope.property();
    let from = start_of_day(first, property.time_zone);
    let to = start_of_day(next, property.time_zone);
    let groups =
        store::complaints::period_counts(&cs.db, &property.id, from, to, cs.clock.now()).await?;
    Ok(Counts::of(&groups))
}

/// The customer care figures of a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CareFigures {
    pub survey_campaigns: i64,
    pub forms_distributed: i64,
    pub forms_returned: i64,
    pub ratings: i64,
    pub ratings_satisfied: i64,
    pub repairs_completed: i64,
    pub repairs_visited: i64,
    pub households_occupied: i64,
    pub households_visited: i64,
}

/// GetCustomerCareFigures: the surveys, repair follow-ups and move-in visits from the day
/// `first` to the day before `next`.
pub(crate) async fn customer_care(
    cs: &CustomerService,
    scope: &Scope<'_>,
    first: NaiveDate,
    next: NaiveDate,
) -> Result<CareFigures> {
    let property = scope.property();
    let from = start_of_day(first, property.time_zone);
    let to = start_of_day(next, property.time_zone);
    let mut figures = CareFigures::default();
    // rule CS-4: the campaigns running in [from, to), each counted whole from its forms.
    for campaign in store::surveys::running_in(&cs.db, &property.id, from, to).await? {
        let (distributed, returned, counts) = store::surveys::counts(&cs.db, &campaign.id).await?;
        let stats = survey_rules::statistics(&campaign, distributed, returned, &counts);
        figures.survey_campaigns += 1;
        figures.forms_distributed += stats.distributed;
        figures.forms_returned += stats.returned;
        figures.ratings += stats.rated;
        figures.ratings_satisfied += stats.satisfied;
    }
    // rule VIS-4: repairs completed in the period, visited whenever.
    let repairs = store::visits::completed_in(&cs.db, &property.id, from, to).await?;
    figures.repairs_completed = repairs.len() as i64;
    figures.repairs_visited = repairs.iter().filter(|r| r.visit.is_some()).count() as i64;
    // rule VIS-5
    let (occupied, visited) =
        store::visits::move_in_coverage(&cs.db, &property.id, from, to).await?;
    figures.households_occupied = occupied;
    figures.households_visited = visited;
    Ok(figures)
}
