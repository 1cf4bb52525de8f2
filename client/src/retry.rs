//! Retries. A call is sent again, after a pause that grows, for at most [`Policy::attempts`]
//! attempts in all, when its failure says nothing was done, or when sending it again is
//! harmless:
//! - a connection that was never made: any call (nothing was sent);
//! - `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `ABORTED`: only an idempotent call, that is a read
//!   (Get, List, …) or a request carrying a `request_id` (a retry returns the first call's
//!   record). The gateway answers `UNAVAILABLE` also when the department took the call and
//!   did not answer in time, so for any other call each of these may have taken effect, and it
//!   is not sent again.
//!
//! Client-streaming calls are never sent again (their messages are not kept). A call's
//! `grpc-timeout` covers all its attempts.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tonic::{Code, body::Body};
use tower::{Service, ServiceExt};

use crate::connection::{BoxError, Transport};

/// How a connection retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts in all, the first included (1: no retries).
    pub attempts: u32,
    /// The pause before the second attempt; each later one doubles, up to `longest_pause`.
    pub first_pause: Duration,
    pub longest_pause: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_pause: Duration::from_millis(50),
            longest_pause: Duration::from_secs(1),
        }
    }
}

/// Whether sending a call again could do twice what it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// A read, or a request with a request id: sending it again is harmless.
    Idempotent,
    /// Anything else: it may be sent again only when it was never sent.
    Once,
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection was never made: nothing was sent.
    NotSent,
    /// An answer with this status, or a call broken on the way (tonic's code for it).
    Status(Code),
}

impl Policy {
    /// Every call once.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// Whether a call that failed so on attempt `attempt` (from 1) is sent again.
    pub fn retries(&self, attempt: u32, idempotency: Idempotency, failure: Failure) -> bool {
        attempt < self.attempts
            && match failure {
                Failure::NotSent => true,
                Failure::Status(code) => {
                    idempotency == Idempotency::Idempotent
                        && matches!(
                            code,
                            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted
                        )
                }
            }
    }

    /// The pause after attempt `attempt` (from 1): the doubling pause, between half of it and
    /// all of it, so that callers refused together do not come back together.
    pub fn pause(&self, attempt: u32) -> Duration {
        let doubled = self
            .first_pause
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let full = doubled.min(self.longest_pause);
        let jitter = {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(attempt) % 1000
        };
        full / 2 + full / 2 * jitter as u32 / 1000
    }
}

pub(crate) use wuye_proto::{Method, method};

/// The idempotency of one call of `method`, `body` its gRPC frame.
pub(crate) fn idempotency(method: &Method, body: &[u8]) -> Idempotency {
    if method.read || (method.request_id != 0 && carries(body, method.request_id)) {
        Idempotency::Idempotent
    } else {
        Idempotency::Once
    }
}

/// Whether the (uncompressed) gRPC frame `body` holds a non-empty string field `number` at the
/// top level of its message.
fn carries(body: &[u8], number: u32) -> bool {
    let Some(([0, l0, l1, l2, l3], mut message)) =
        body.split_first_chunk::<5>().map(|(h, m)| (*h, m))
    else {
        return false;
    };
    if message.len() != u32::from_be_bytes([l0, l1, l2, l3]) as usize {
        return false;
    }
    let mut found = false;
    while !message.is_empty() {
        let Some(tag) = varint(&mut message) else {
            return false;
        };
        let skip = match tag & 7 {
            0 => varint(&mut message).map(|_| 0),
            1 => Some(8),
            5 => Some(4),
            2 => varint(&mut message).and_then(|n| usize::try_from(n).ok()),
            _ => None,
        };
        let Some(skip) = skip.filter(|n| *n <= message.len()) else {
            return false;
        };
        if tag >> 3 == u64::from(number) && tag & 7 == 2 {
            found = skip > 0;
        }
        message = &message[skip..];
    }
    found
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

/// The `grpc-timeout` of a call.
fn timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (amount, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = amount.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Whether `error` (a transport's) says the connection was never made.
fn never_sent(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut at = Some(error);
    while let Some(e) = at {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            )
        {
            return true;
        }
        at = e.source();
    }
    false
}

/// The status an answer's head carries (trailers-only answers: refusals), if not OK.
fn refused(response: &http::Response<Body>) -> Option<Code> {
    let code = response.headers().get("grpc-status")?.to_str().ok()?;
    let code = Code::from_i32(code.parse().ok()?);
    (code != Code::Ok).then_some(code)
}

/// One attempt's copy of the call.
fn attempt(template: &http::Request<()>, body: &Bytes) -> http::Request<Body> {
    let mut request = http::Request::new(Body::new(Full::new(body.clone())));
    *request.method_mut() = template.method().clone();
    *request.uri_mut() = template.uri().clone();
    *request.version_mut() = template.version();
    *request.headers_mut() = template.headers().clone();
    *request.extensions_mut() = template.extensions().clone();
    request
}

/// Sends `request` on `transport` (ready for it), again while `policy` says so.
pub(crate) async fn send(
    mut transport: Transport,
    request: http::Request<Body>,
    method: Method,
    policy: Policy,
) -> Result<http::Response<Body>, BoxError> {
    let started = tokio::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let mut template = http::Request::from_parts(parts, ());
    let deadline = timeout(template.headers()).map(|t| started + t);
    let idempotency = idempotency(&method, &body);
    let mut number = 1;
    let mut request = attempt(&template, &body);
    loop {
        let (answer, failure) = match transport.call(request).await {
            Ok(response) => {
                let failure = refused(&response).map(Failure::Status);
                (Ok(response), failure)
            }
            Err(e) if never_sent(e.as_ref()) => (Err(e), Some(Failure::NotSent)),
            Err(e) => {
                let status = tonic::Status::from_error(e);
                let failure = Failure::Status(status.code());
                (Err(BoxError::from(status)), Some(failure))
            }
        };
        if !failure.is_some_and(|f| policy.retries(number, idempotency, f)) {
            return answer;
        };
        let pause = policy.pause(number);
        let now = tokio::time::Instant::now();
        if let Some(deadline) = deadline {
            // What is left of the caller's time, after the pause.
            let Some(left) = deadline.checked_duration_since(now + pause) else {
                return answer;
            };
            let value = format!("{}m", left.as_millis().max(1));
            template.headers_mut().insert(
                "grpc-timeout",
                http::HeaderValue::try_from(value).expect("digits"),
            );
        }
        tokio::time::sleep(pause).await;
        number += 1;
        request = attempt(&template, &body);
        transport.ready().await?;
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
