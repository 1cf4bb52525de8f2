//! Access to household files (ARC-7 to ARC-11): requests, and the supervisor's decisions.

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result,
    idempotency::{Claim, RequestId},
    scope::Scope,
};

use super::audit::{self, Subject};
use crate::{
    Archives,
    domain::{
        access::{AccessRequest, AccessState, OfficialReading, ReaderKind, check_decision},
        audit::Action,
    },
    store,
};

/// An access request as asked for, its shape checked.
pub(crate) struct NewAccess {
    pub household_file_id: String,
    pub document_ids: Vec<String>,
    pub personal_data: bool,
    pub copying: bool,
    pub purpose: String,
    pub reader_kind: ReaderKind,
    pub official: Option<OfficialReading>,
    pub valid_until: DateTime<Utc>,
}

/// Records a pending access request for the supervisor to decide; a retry gives the first.
pub(crate) async fn create(
    a: &Archives,
    scope: &Scope<'_>,
    request_id: &RequestId,
    new: NewAccess,
) -> Result<AccessRequest> {
    let property_id = &scope.property().id;
    let now = a.clock.now();
    let mut access = AccessRequest {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        household_file_id: new.household_file_id,
        document_ids: new.document_ids,
        personal_data: new.personal_data,
        copying: new.copying,
        purpose: new.purpose,
        reader_kind: new.reader_kind,
        official: new.official,
        valid_until: new.valid_until,
        state: AccessState::Pending,
        requested_by: scope.actor(),
        requested_at: now,
        decided_by: None,
        decided_at: None,
        decision_note: String::new(),
    };
    access.document_ids.sort();
    let mut tx = a.db.begin().await?;
    if let Claim::Retry(first) = super::claim(
        a,
        &mut tx,
        "CreateAccessRequest",
        scope,
        request_id,
        &access.id,
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return get(a, scope, &first).await;
    }
    store::files::get(&mut *tx, property_id, &access.household_file_id)
        .await?
        .ok_or_else(|| Error::not_found("household file", &access.household_file_id))?;
    let found =
        store::documents::count_in_file(&mut tx, &access.household_file_id, &access.document_ids)
            .await?;
    if found != access.document_ids.len() as i64 {
        return Err(Error::invalid(
            "document_ids",
            "must be documents of the household file",
        ));
    }
    store::access::insert(&mut tx, &access).await?;
    let subject = Subject {
        action: Action::RequestAccess,
        kind: "access_request",
        id: &access.id,
        access_request_id: &access.id,
    };
    let detail = match &access.official {
        Some(o) => format!(
            "government official of {} with {} {}",
            o.official_body, o.proof_kind, o.proof_number
        ),
        None => "staff".to_owned(),
    };
    let happening = audit::done(a, scope, &subject, detail);
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    Ok(access)
}

/// ARC-9, ARC-11: the supervisor's decision, never on their own request; a refusal is
/// registered like the decision would have been.
pub(crate) async fn decide(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
    state: AccessState,
    note: &str,
) -> Result<AccessRequest> {
    let property_id = &scope.property().id;
    let action = match state {
        AccessState::Approved => Action::ApproveAccess,
        _ => Action::RejectAccess,
    };
    let subject = Subject {
        action,
        kind: "access_request",
        id,
        access_request_id: id,
    };
    let now = a.clock.now();
    let mut tx = a.db.begin().await?;
    let access = store::access::get(&mut tx, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("access request", id))?;
    if let Err(refusal) = check_decision(&access, &scope.actor(), now) {
        tx.rollback().await?;
        return Err(audit::refuse(a, scope, &subject, refusal).await);
    }
    if !store::access::decide(&mut tx, id, state, &scope.actor(), now, note).await? {
        return Err(Error::rule(
            "ALREADY_DECIDED",
            "the access request was decided already",
        ));
    }
    let happening = audit::done(a, scope, &subject, String::new());
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    tracing::info!(property = %property_id, access_request = %id, state = state.code(), "access request decided");
    get(a, scope, id).await
}

pub(crate) async fn get(a: &Archives, scope: &Scope<'_>, id: &str) -> Result<AccessRequest> {
    named(a, scope, id)
        .await?
        .ok_or_else(|| Error::not_found("access request", id))
}

/// Requests of the property, newest first, before the id `before` (empty: from the newest).
pub(crate) async fn list(
    a: &Archives,
    scope: &Scope<'_>,
    state: Option<AccessState>,
    before: &str,
    limit: i64,
) -> Result<Vec<AccessRequest>> {
    let mut tx = a.db.read().await?;
    let requests = store::access::list(&mut tx, &scope.property().id, state, before, limit).await?;
    tx.commit().await?;
    Ok(requests)
}

/// The access request a use names, if it exists in the property: `None` when none is named.
pub(crate) async fn named(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
) -> Result<Option<AccessRequest>> {
    if id.is_empty() {
        return Ok(None);
    }
    let mut tx = a.db.read().await?;
    let request = store::access::get(&mut tx, &scope.property().id, id).await?;
    tx.commit().await?;
    Ok(request)
}
