//! The cabinet: audits against the register and the per-person figures (KEY-11).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use wuye_kit::{Error, Result, idempotency::RequestId, scope::Scope};

use super::once;
use crate::{
    CustomerService,
    app::Once,
    domain::keys::{self as rules, Audit, Figures},
    store::keys as store,
};

/// Checks the counts against the register as it stands in the same transaction and records
/// the audit, once per request id.
pub(crate) async fn audit(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    mut audit: Audit,
    counted: BTreeMap<String, i32>,
) -> Result<Audit> {
    let property_id = &scope.property().id;
    let claimed = once(
        cs,
        "AuditKeyCabinet",
        scope,
        request_id,
        &audit.id,
        audit.audited_at,
    )
    .await?;
    let id = match claimed {
        Once::Retry(id) => id,
        Once::New(mut tx) => {
            let register = store::register_slots(&mut tx, property_id).await?;
            audit.mismatches = rules::audit(&register, &counted);
            audit.slots_checked = rules::slots_checked(&register, &counted);
            store::insert_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            audit.id
        }
    };
    let audit = store::get_audit(&cs.db, property_id, &id)
        .await?
        .ok_or_else(|| Error::not_found("key audit", &id))?;
    if !audit.mismatches.is_empty() {
        tracing::warn!(
            audit_id = %audit.id,
            mismatches = audit.mismatches.len(),
            "key cabinet differs from the register"
        );
    }
    Ok(audit)
}

/// KEY-11: the figures of the property's staff by month, `from` to `to` inclusive.
pub(crate) async fn figures(
    cs: &CustomerService,
    scope: &Scope<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Figures>> {
    let property = scope.property();
    let (start, end) = rules::month_window(from, to, property.time_zone);
    let occurrences = store::occurrences(&cs.db, &property.id, start, end).await?;
    Ok(rules::figures(&occurrences, property.time_zone))
}
