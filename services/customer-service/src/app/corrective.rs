//! Corrective and preventive actions (纠正预防措施, CMP-8): opened from a complaint, acted on,
//! and verified by someone other than who acted.

use wuye_kit::{
    Error, Result,
    db::to_micros,
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};

use crate::{
    CustomerService,
    domain::corrective::{self, CorrectiveAction, CorrectiveState},
    store,
};

/// OpenCorrectiveAction on a complaint of the property, once per request id; a retry answers
/// the action the first call opened.
pub(crate) async fn open(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    complaint_id: String,
    problem: String,
) -> Result<CorrectiveAction> {
    let property_id = &scope.property().id;
    let a = CorrectiveAction {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        complaint_id,
        state: CorrectiveState::Open,
        problem,
        opened_by: scope.actor(),
        opened_at: cs.clock.now(),
        measures: String::new(),
        acted: None,
        effective: false,
        verification: String::new(),
        verified: None,
    };
    let mut tx = cs.db.begin().await?;
    let claim = format!("OpenCorrectiveAction/{property_id}");
    let now = to_micros(a.opened_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, cs.db.keyring(), &claim, request_id, &a.id, now).await?
    {
        drop(tx);
        return store::corrective::get(&cs.db, property_id, &id)
            .await?
            .ok_or_else(|| Error::not_found("corrective action", id));
    }
    if !store::complaints::exists(&mut tx, property_id, &a.complaint_id).await? {
        return Err(Error::invalid(
            "complaint_id",
            "is not a complaint of this property",
        ));
    }
    store::corrective::insert(&mut tx, &a).await?;
    tx.commit().await?;
    Ok(a)
}

/// RecordCorrectiveMeasures: the measures taken, again while not verified.
pub(crate) async fn act(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    measures: String,
) -> Result<CorrectiveAction> {
    let (actor, now) = (scope.actor(), cs.clock.now());
    change(cs, scope, id, |a| {
        corrective::act(a, measures.clone(), &actor, now)
    })
    .await
}

/// VerifyCorrectiveAction: whether the measures worked, by someone who did not take them.
pub(crate) async fn verify(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    effective: bool,
    verification: String,
) -> Result<CorrectiveAction> {
    let (actor, now) = (scope.actor(), cs.clock.now());
    change(cs, scope, id, |a| {
        corrective::verify(a, effective, verification.clone(), &actor, now)
    })
    .await
}

/// Changes a corrective action by `change`, a rule of the domain, in one transaction; the
/// update applies only if nobody changed it meanwhile.
async fn change(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    change: impl Fn(&CorrectiveAction) -> Result<CorrectiveAction>,
) -> Result<CorrectiveAction> {
    let mut tx = cs.db.begin().await?;
    let before = store::corrective::load(&mut tx, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("corrective action", id))?;
    let after = change(&before)?;
    if !store::corrective::update(&mut tx, &before, &after).await? {
        return Err(Error::Unavailable(
            "the corrective action changed meanwhile: try again".into(),
        ));
    }
    tx.commit().await?;
    Ok(after)
}

/// ListCorrectiveActions: newest first (ids are time-ordered), below `before`.
pub(crate) async fn list(
    cs: &CustomerService,
    scope: &Scope<'_>,
    open_only: bool,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<CorrectiveAction>> {
    store::corrective::list(&cs.db, &scope.property().id, open_only, before, limit).await
}
