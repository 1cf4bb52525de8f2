//! The department's figures of a property's month (INS-4, HO-7, WO-2).

use chrono::NaiveDate;
use wuye_kit::{Result, db::to_micros, scope::Scope};

use crate::{
    Engineering,
    domain::figures::{Figures, Month, equipment_results, month_window},
    store::{self, figures as counts},
};

/// The figures of the month starting on `first`, named `month`: every count from one view of
/// the database, the inspections judged now.
pub(crate) async fn month(
    eng: &Engineering,
    scope: &Scope<'_>,
    month: String,
    first: NaiveDate,
) -> Result<Figures> {
    let property = scope.property();
    let id = &property.id;
    let (start, end) = month_window(first, property.time_zone);
    let w = (to_micros(start), to_micros(end));
    let mut tx = eng.db.read().await?;
    let mut m = Month {
        due: counts::due_inspections(&mut tx, id, w).await?,
        equipment_results: equipment_results(counts::inspected_items(&mut tx, id, w).await?),
        equipment_count: store::equipment::count_equipment(&mut tx, id).await?,
        handovers_completed: counts::handovers_completed(&mut tx, id, w).await?,
        refusals: counts::refusals(&mut tx, id, w).await?,
        work_orders_opened: counts::work_orders_opened(&mut tx, id, w).await?,
        work_orders_completed: counts::work_orders_completed(&mut tx, id, w).await?,
        ..Month::default()
    };
    let (arrived, late) = counts::arrivals(&mut tx, id, w).await?;
    m.arrived_late = late;
    m.arrived_on_time = arrived - late;
    tx.rollback().await?;
    let target = property.rules.engineering.intact_rate_target_percent;
    Ok(Figures::of(id.clone(), month, &m, eng.clock.now(), target))
}
