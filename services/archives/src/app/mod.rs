//! The use cases of the archives: one function per RPC verb and per job. Each owns its
//! transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, registers what happened (ARC-12) and commits. Property data is reached only
//! with the call's [`wuye_kit::scope::Scope`].

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod documents;
pub(crate) mod files;
pub(crate) mod retention;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};

use crate::Archives;

/// Claims `request_id` of a call to `method` at the scope's property for the resource `id`,
/// inside the transaction that creates it.
async fn claim(
    a: &Archives,
    tx: &mut Tx,
    method: &str,
    scope: &Scope<'_>,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Claim> {
    let claim_scope = format!("{method}/{}", scope.property().id);
    idempotency::claim(tx, &a.keyring, &claim_scope, request_id, id, to_micros(now)).await
}
