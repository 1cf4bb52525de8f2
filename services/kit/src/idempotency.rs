//! `request_id` idempotency for create calls: a retry returns the first result, never a
//! duplicate, also when the retry races the first call. A request id belongs to its caller and
//! to the request it first came with: the same id from another person is another request, and
//! the same id with a different request is refused (`REQUEST_ID_REUSED`), as payment APIs do
//! with idempotency keys, instead of silently answering with the first record.

use prost::Message;
use sha2::{Digest, Sha256};

use crate::{Error, Result, db::Tx, identity::Caller, seal::Keyring};

/// The reason a request id used before for another request is refused with.
pub const REQUEST_ID_REUSED: &str = "REQUEST_ID_REUSED";

/// What claiming a request id found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time: create the resource with the id that was claimed.
    New,
    /// A retry: the resource created by the first call.
    Retry(String),
}

/// A create call's request id as the service claims it: whose it is and what was asked.
#[derive(Clone)]
pub struct RequestId {
    id: String,
    caller: String,
    /// SHA-256 of the request as sent; only a keyed digest of it is stored, since the
    /// request holds personal data.
    digest: [u8; 32],
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestId")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl RequestId {
    /// The request id of `request` (its `request_id` field) sent by `caller`.
    pub fn new(caller: &Caller, request_id: &str, request: &impl Message) -> Self {
        Self::of_bytes(caller, request_id, &request.encode_to_vec())
    }

    /// The request id of a request known by its bytes (a streamed upload: its header and
    /// the digest of its content).
    pub fn of_bytes(caller: &Caller, request_id: &str, request: &[u8]) -> Self {
        Self {
            id: request_id.to_owned(),
            caller: caller.user_id.clone(),
            digest: Sha256::digest(request).into(),
        }
    }

    /// A request id the service makes itself from what it is about (the visit a complaint is
    /// raised from): the same whoever's call leads to it.
    pub fn internal(request_id: &str) -> Self {
        Self {
            id: request_id.to_owned(),
            caller: String::from("service"),
            digest: Sha256::digest(request_id.as_bytes()).into(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }
}

/// Claims `request_id` within `scope` (the method and property) for the resource `id`, inside
/// the transaction that creates it. A concurrent claim of the same key waits for this one to
/// commit (or roll back) and then sees its result. The request's fingerprint is kept under a
/// key of `keyring`.
pub async fn claim(
    tx: &mut Tx,
    keyring: &Keyring,
    scope: &str,
    request_id: &RequestId,
    id: &str,
    now_micros: i64,
) -> Result<Claim> {
    let scope = format!("{scope}/{}", request_id.caller);
    let context = format!("request/{scope}/{}", request_id.id);
    let fingerprint = keyring.digest_value(&context, &request_id.digest);
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, request_id, resource_id, create_at, fingerprint) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, request_id) DO NOTHING \
         RETURNING resource_id",
    )
    .bind(&scope)
    .bind(&request_id.id)
    .bind(id)
    .bind(now_micros)
    .bind(fingerprint)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        return Ok(Claim::New);
    }
    let (first, stored): (String, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT resource_id, fingerprint FROM idempotency_keys \
         WHERE scope = $1 AND request_id = $2",
    )
    .bind(&scope)
    .bind(&request_id.id)
    .fetch_one(&mut **tx)
    .await?;
    // Ids claimed before fingerprints were kept cannot be compared: they stay retries.
    if let Some(stored) = stored
        && !keyring.digest_matches(&context, &request_id.digest, &stored)?
    {
        return Err(Error::rule(
            REQUEST_ID_REUSED,
            "this request_id was used for a different request: use a new request_id for a new \
             request, and the same request to retry",
        ));
    }
    Ok(Claim::Retry(first))
}
