//! `request_id` idempotency for create calls: a retry returns the first result, never a
//! duplicate, also when the retry races the first call.

use crate::{Result, db::Tx};

/// What claiming a request id found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time: create the resource with the id that was claimed.
    New,
    /// A retry: the resource created by the first call.
    Retry(String),
}

/// Claims `request_id` within `scope` (the method and property) for the resource `id`, inside
/// the transaction that creates it. A concurrent claim of the same key waits for this one to
/// commit (or roll back) and then sees its result.
pub async fn claim(
    tx: &mut Tx,
    scope: &str,
    request_id: &str,
    id: &str,
    now_micros: i64,
) -> Result<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, request_id, resource_id, create_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (scope, request_id) DO NOTHING RETURNING resource_id",
    )
    .bind(scope)
    .bind(request_id)
    .bind(id)
    .bind(now_micros)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        return Ok(Claim::New);
    }
    let first: (String,) = sqlx::query_as(
        "SELECT resource_id FROM idempotency_keys WHERE scope = $1 AND request_id = $2",
    )
    .bind(scope)
    .bind(request_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Claim::Retry(first.0))
}
