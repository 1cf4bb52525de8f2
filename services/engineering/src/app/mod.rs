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
pub(crate) mod work_orders;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};

use crate::Engineering;

/// Claims `request_id` in `tx` for the new resource `id`, under `<method>/<property>`:
/// `Some(id of what the first call created)` when the call is a retry.
pub(crate) async fn claim(
    eng: &Engineering,
    tx: &mut Tx,
    method: &str,
    scope: &Scope<'_>,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let key = format!("{method}/{}", scope.property().id);
    match idempotency::claim(tx, eng.db.keyring(), &key, request_id, id, to_micros(now)).await? {
        Claim::Retry(first) => Ok(Some(first)),
        Claim::New => Ok(None),
    }
}
