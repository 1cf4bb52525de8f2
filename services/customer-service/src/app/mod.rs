//! The use cases of customer service: one function per RPC verb and scheduled job. Each owns
//! its transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, appends the outbox event and commits. Property data is reached only with
//! the call's [`wuye_kit::scope::Scope`].

/// Public for the benchmark, which measures the storage limit through [`complaints::create`].
pub mod complaints;
pub(crate) mod contacts;
pub(crate) mod corrective;
pub(crate) mod figures;
pub(crate) mod households;
pub(crate) mod keys;
pub(crate) mod properties;
pub(crate) mod surveys;
pub(crate) mod units;
pub(crate) mod visits;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
};

use crate::store::Store;

/// The service's own check of who may act, beside the gateway's policy.
pub(crate) fn require_role(actor: &Actor, roles: &[&str], what: &str) -> Result<()> {
    if roles.contains(&actor.role.as_str()) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("role {} is not among those who {what}", actor.role),
        ))
    }
}

/// A write begun under a request id (`wuye_kit::idempotency`): new, or a retry.
pub(crate) enum Once {
    /// The first call: its transaction, holding the claim until it commits.
    New(Tx),
    /// A retry: the id of the record the first call made.
    Retry(String),
}

/// Begins a transaction and claims `request_id` in it under `key` (the method and the
/// property, or the record it is within) for the record `id`.
pub(crate) async fn begin_once(
    db: &Store,
    key: &str,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Once> {
    let mut tx = db.begin().await?;
    match idempotency::claim(&mut tx, db.keyring(), key, request_id, id, to_micros(now)).await? {
        Claim::New => Ok(Once::New(tx)),
        Claim::Retry(first) => Ok(Once::Retry(first)),
    }
}
