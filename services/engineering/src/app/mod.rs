//! The use cases of engineering: one function per RPC verb and scheduled job. Each owns its
//! transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, appends the outbox event and commits. Property data is reached only with
//! the call's [`wuye_kit::scope::Scope`].

pub(crate) mod alerts;
pub(crate) mod duty;
pub(crate) mod equipment;
pub(crate) mod figures;
pub(crate) mod handover;
pub(crate) mod inspections;
pub(crate) mod units;
pub(crate) mod work_orders;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};

use crate::Engineering;

/// The write transaction of a create, its request id claimed, or the retry it turned out to
/// be.
pub(crate) enum Claimed {
    New(Tx),
    /// The id of what the first call created.
    Retry(String),
}

/// Opens the write transaction of a create and claims `request_id` in it for the new
/// resource `id`, under `<method>/<property>`.
pub(crate) async fn begin_create(
    eng: &Engineering,
    method: &str,
    scope: &Scope<'_>,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Claimed> {
    let mut tx = eng.db.begin().await?;
    let key = format!("{method}/{}", scope.property().id);
    let keyring = eng.db.keyring();
    match idempotency::claim(&mut tx, keyring, &key, request_id, id, to_micros(now)).await? {
        Claim::New => Ok(Claimed::New(tx)),
        // Nothing was written: the transaction ends unused.
        Claim::Retry(first) => Ok(Claimed::Retry(first)),
    }
}
