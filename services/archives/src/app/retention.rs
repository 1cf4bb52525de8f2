//! The retention of closed records (KEY-10, ARC-12): handed over by the departments, kept
//! sealed for their years, destroyed only on the supervisor's approval of a proposal.

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
        audit::Action,
        retention::{
            self as rules, Proposal, ProposalState, RetainedRecord, RetainedState, RetentionClass,
        },
    },
    store,
};

/// A closed record as its department hands it over, its shape checked.
pub(crate) struct HandOver {
    pub source: String,
    pub record_kind: String,
    pub record_id: String,
    pub class: RetentionClass,
    pub closed_at: DateTime<Utc>,
    pub summary: String,
    pub content: Vec<u8>,
}

/// A destruction proposal with the records it holds.
pub(crate) struct ProposalView {
    pub proposal: Proposal,
    pub records: Vec<RetainedRecord>,
}

/// Keeps a closed record for the years of its class (KEY-10, ARC-12), its content sealed
/// (ARC-6); a retry gives the first.
pub(crate) async fn hand_over(
    a: &Archives,
    scope: &Scope<'_>,
    request_id: &RequestId,
    h: HandOver,
) -> Result<RetainedRecord> {
    let property = scope.property();
    let now = a.clock.now();
    // rules KEY-10, ARC-12
    let years = rules::years(h.class, property);
    let record = RetainedRecord {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property.id.clone(),
        source: h.source,
        record_kind: h.record_kind,
        record_id: h.record_id,
        class: h.class,
        closed_at: h.closed_at,
        retain_until: rules::retain_until(h.closed_at, years, property),
        summary: h.summary,
        size_bytes: h.content.len() as i64,
        state: RetainedState::Kept,
        proposal_id: None,
        destroyed_at: None,
        handed_over_by: scope.actor(),
        handed_over_at: now,
    };
    let mut tx = a.db.begin().await?;
    if let Claim::Retry(first) = super::claim(
        a,
        &mut tx,
        "HandOverRecord",
        scope,
        request_id,
        &record.id,
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return store::retention::get(&a.db, &property.id, &first)
            .await?
            .ok_or_else(|| Error::not_found("retained record", first));
    }
    // rule ARC-6: the content is personal data, sealed for its row.
    let sealed = a
        .keyring
        .seal_bytes_value(
            &format!("retained_records/{}/content", record.id),
            &h.content,
        )
        .map_err(Error::Internal)?;
    store::retention::insert(&mut tx, &record, sealed).await?;
    let subject = Subject {
        action: Action::HandOverRecord,
        kind: "retained_record",
        id: &record.id,
        access_request_id: "",
    };
    let detail = format!(
        "{} {} from {}, {} years",
        record.record_kind, record.record_id, record.source, years
    );
    let happening = audit::done(a, scope, &subject, detail);
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    Ok(record)
}

pub(crate) async fn list(
    a: &Archives,
    scope: &Scope<'_>,
    state: Option<RetainedState>,
    after: &str,
    limit: i64,
) -> Result<Vec<RetainedRecord>> {
    store::retention::list(&a.db, &scope.property().id, state, after, limit).await
}

/// Proposes the destruction of every kept record past its retention (ARC-12); `None` when
/// there is none. A retry gives the first proposal.
pub(crate) async fn propose(
    a: &Archives,
    scope: &Scope<'_>,
    request_id: &RequestId,
) -> Result<Option<ProposalView>> {
    let property_id = &scope.property().id;
    let now = a.clock.now();
    let proposal = Proposal {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.clone(),
        state: ProposalState::Proposed,
        proposed_by: scope.actor(),
        proposed_at: now,
        approved_by: None,
        approved_at: None,
    };
    let mut tx = a.db.begin().await?;
    if let Claim::Retry(first) = super::claim(
        a,
        &mut tx,
        "ProposeDestruction",
        scope,
        request_id,
        &proposal.id,
        now,
    )
    .await?
    {
        tx.rollback().await?;
        return get_proposal(a, scope, &first).await.map(Some);
    }
    // rule ARC-12: only what is past its retention.
    let proposed = store::retention::propose_due(&mut tx, &proposal, now).await?;
    if proposed == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let subject = Subject {
        action: Action::ProposeDestruction,
        kind: "destruction_proposal",
        id: &proposal.id,
        access_request_id: "",
    };
    let detail = format!("{proposed} records past their retention");
    let happening = audit::done(a, scope, &subject, detail);
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    tracing::info!(property = %property_id, records = proposed, "destruction proposed");
    get_proposal(a, scope, &proposal.id).await.map(Some)
}

/// Destroys the records of a proposal on the supervisor's approval, never the proposer's own
/// (ARC-12); a refusal is registered.
pub(crate) async fn approve(a: &Archives, scope: &Scope<'_>, id: &str) -> Result<ProposalView> {
    let property_id = &scope.property().id;
    let subject = Subject {
        action: Action::ApproveDestruction,
        kind: "destruction_proposal",
        id,
        access_request_id: "",
    };
    let now = a.clock.now();
    let mut tx = a.db.begin().await?;
    let proposal = store::retention::get_proposal(&mut *tx, property_id, id)
        .await?
        .ok_or_else(|| Error::not_found("destruction proposal", id))?;
    // rule ARC-12: destruction needs the supervisor's approval, not the proposer's own.
    if let Err(refusal) = rules::check_approval(&proposal, &scope.actor()) {
        tx.rollback().await?;
        return Err(audit::refuse(a, scope, &subject, refusal).await);
    }
    let destroyed = store::retention::destroy(&mut tx, id, &scope.actor(), now).await?;
    let happening = audit::done(a, scope, &subject, format!("{destroyed} records destroyed"));
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    tracing::info!(property = %property_id, records = destroyed, "records destroyed");
    get_proposal(a, scope, id).await
}

pub(crate) async fn get_proposal(
    a: &Archives,
    scope: &Scope<'_>,
    id: &str,
) -> Result<ProposalView> {
    let proposal = store::retention::get_proposal(a.db.pool(), &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("destruction proposal", id))?;
    let records = store::retention::records_of(a.db.pool(), &proposal.id).await?;
    Ok(ProposalView { proposal, records })
}
