//! The engineering manager's alerts: listed and acknowledged (HO-7, INS-2). They are raised
//! by the handover and the inspections, inside their own transactions.

use wuye_kit::{Error, Result, scope::Scope};

use crate::{
    Engineering,
    domain::alerts::{Alert, AlertKind},
    store::alerts as store,
};

/// Alerts newest first, before the id of the page token.
pub(crate) async fn list(
    eng: &Engineering,
    scope: &Scope<'_>,
    open_only: bool,
    kind: Option<AlertKind>,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Alert>> {
    let property_id = &scope.property().id;
    store::list(&eng.db, property_id, open_only, kind, before_id, limit).await
}

pub(crate) async fn acknowledge(eng: &Engineering, scope: &Scope<'_>, id: &str) -> Result<Alert> {
    let now = eng.clock.now();
    let mut tx = eng.db.begin().await?;
    let mut alert = store::alert_in(&mut tx, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("alert", id))?;
    alert.acknowledge(scope.actor(), now)?;
    store::save_acknowledged(&mut tx, &alert).await?;
    tx.commit().await?;
    Ok(alert)
}
