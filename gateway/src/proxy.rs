//! The transparent gRPC proxy: routes a call by its path to the upstream of its package and
//! passes the bodies through untouched (any message, any streaming shape).
//!
//! Deadlines: the caller's (`grpc-timeout`) counts from the call's arrival at the gateway and
//! covers the whole call; the upstream is told what is left of it, and past it the caller gets
//! `DEADLINE_EXCEEDED`. The gateway's own upstream timeout is its patience for an answer once
//! the request is sent (a long upload is not cut short by it); past it the upstream call is
//! cancelled (which the upstream sees at once) and the caller gets `UNAVAILABLE`, as when the
//! upstream is down (refuses connections).

use std::{
    collections::BTreeMap,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use anyhow::Context as _;
use axum::{body::Body, extract::Request, response::Response};
use bytes::Bytes;
use http::HeaderValue;
use tokio::{sync::oneshot, time::Instant};
use tonic::{Status, transport::Channel};
use tower::ServiceExt as _;
use wuye_kit::identity::{Caller, IDENTITY_HEADER, PROPERTY_HEADER, Signer, department_of};

use crate::policy::split_method;

#[derive(Clone)]
pub struct Proxy {
    /// (package prefix, channel), longest prefix first.
    upstreams: Vec<(String, Channel)>,
    identity: Signer,
    /// The longest wait for an upstream's answer once the request is sent.
    timeout: Duration,
}

/// When a call arrived at the gateway, put in its extensions by the gate: the caller's
/// deadline counts from there.
#[derive(Debug, Clone, Copy)]
pub struct Arrival(pub Instant);

/// The `grpc-timeout` metadata key.
const GRPC_TIMEOUT: &str = "grpc-timeout";

/// How much sooner than the caller's deadline the gateway answers `DEADLINE_EXCEEDED`. tonic's
/// server keeps its own timer on the same `grpc-timeout`, started a moment before the gate
/// stamps the arrival, and answers `CANCELLED` when it fires first; a lead of two timer ticks
/// lets the gateway's answer come first.
const DEADLINE_LEAD: Duration = Duration::from_millis(2);

impl Proxy {
    /// Channels to `upstreams` (package prefix → address), over mutual TLS with `tls`; nothing
    /// connects until a call needs it, so the gateway starts before its upstreams.
    pub fn new(
        upstreams: &BTreeMap<String, String>,
        timeout: Duration,
        identity: Signer,
        tls: Option<&wuye_kit::tls::Tls>,
    ) -> anyhow::Result<Self> {
        let mut channels = Vec::new();
        for (prefix, address) in upstreams {
            let channel = wuye_kit::tls::endpoint(address, tls)
                .with_context(|| format!("upstreams.\"{prefix}\""))?
                .connect_timeout(timeout)
                .connect_lazy();
            channels.push((prefix.clone(), channel));
        }
        channels.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(Self {
            upstreams: channels,
            identity,
            timeout,
        })
    }

    /// Whether an upstream serves `method` (`package.Service/Method`).
    pub fn routes(&self, method: &str) -> bool {
        self.upstream(method).is_some()
    }

    /// The upstream with the longest package prefix of the method's service.
    fn upstream(&self, method: &str) -> Option<&Channel> {
        let (service, _) = split_method(method)?;
        self.upstreams
            .iter()
            .find(|(prefix, _)| {
                service
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
            .map(|(_, channel)| channel)
    }

    /// Forwards a call. The [`Caller`] in the request's extensions, put there by the gate,
    /// travels as the signed internal identity; the user's token and any identity the client
    /// sent are dropped. Failures are gRPC statuses, as clients expect.
    pub async fn forward(&self, request: Request) -> Response {
        let (mut parts, body) = request.into_parts();
        let arrived = parts
            .extensions
            .get::<Arrival>()
            .map_or_else(Instant::now, |a| a.0);
        let deadline = parts
            .headers
            .get(GRPC_TIMEOUT)
            .and_then(parse_grpc_timeout)
            .map(|timeout| arrived + timeout);
        let caller = parts.extensions.remove::<Caller>();
        parts.headers.remove(http::header::AUTHORIZATION);
        parts.headers.remove(IDENTITY_HEADER);
        let Some(channel) = self.upstream(parts.uri.path().trim_start_matches('/')) else {
            return status(Status::unimplemented("no upstream serves this method"));
        };
        if let Some(caller) = caller {
            // One property per call: the one the gate authorized, even if the client sent more.
            parts.headers.remove(PROPERTY_HEADER);
            if let Some(property) = caller.property.as_deref() {
                match HeaderValue::try_from(property) {
                    Ok(value) => parts.headers.insert(PROPERTY_HEADER, value),
                    Err(_) => return status(Status::internal("internal error")),
                };
            }
            // Addressed to the department of the method, for this method only.
            let Some(audience) = department_of(parts.uri.path()) else {
                return status(Status::unimplemented("no department serves this method"));
            };
            let identity = self
                .identity
                .sign(&caller, audience, parts.uri.path())
                .map_err(Status::from)
                .and_then(|token| {
                    HeaderValue::try_from(token).map_err(|_| Status::internal("internal error"))
                });
            match identity {
                Ok(value) => parts.headers.insert(IDENTITY_HEADER, value),
                Err(e) => return status(e),
            };
        }
        // The service's span continues this call's trace (the gateway's span is its parent).
        wuye_kit::telemetry::inject_context(&mut parts.headers);
        if let Some(at) = deadline {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return status(deadline_passed());
            }
            parts
                .headers
                .insert(GRPC_TIMEOUT, encode_grpc_timeout(left));
        }
        let (body, sent) = SentBody::new(body);
        let request = http::Request::from_parts(parts, tonic::body::Body::new(body));
        // The answer's headers must come in time (a stream then flows on).
        let answer = channel.clone().oneshot(request);
        let patience = async {
            let _ = sent.await;
            tokio::time::sleep(self.timeout).await;
        };
        let callers = async {
            match deadline {
                Some(at) => {
                    tokio::time::sleep_until(at.checked_sub(DEADLINE_LEAD).unwrap_or(at)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            answer = answer => match answer {
                // The upstream gave up on the deadline it was told (tonic answers CANCELLED):
                // for the caller that is its deadline passing.
                Ok(response) if deadline.is_some_and(|at| Instant::now() >= at)
                    && gave_up(response.headers()) => status(deadline_passed()),
                Ok(response) => response.map(Body::new),
                // tonic's own timer on the caller's grpc-timeout.
                Err(e) if timed_out(&e) => status(deadline_passed()),
                Err(e) => {
                    // The server's span names the method.
                    tracing::warn!(error = %e, "upstream unavailable");
                    status(Status::unavailable("upstream unavailable"))
                }
            },
            () = patience => {
                tracing::warn!(timeout = ?self.timeout, "upstream did not answer in time");
                status(Status::unavailable("the upstream did not answer in time"))
            }
            () = callers => status(deadline_passed()),
        }
    }
}

/// Whether an answer's headers carry the status of a call given up on its deadline.
fn gave_up(headers: &http::HeaderMap) -> bool {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from);
    matches!(
        code,
        Some(tonic::Code::Cancelled | tonic::Code::DeadlineExceeded)
    )
}

fn deadline_passed() -> Status {
    Status::deadline_exceeded("the caller's deadline passed before the upstream answered")
}

/// A request body that tells when it has been sent whole (or failed, or was dropped): the
/// gateway's patience for the answer starts then.
struct SentBody {
    inner: Body,
    sending: Option<oneshot::Sender<()>>,
}

impl SentBody {
    fn new(inner: Body) -> (Self, oneshot::Receiver<()>) {
        let (sending, sent) = oneshot::channel();
        let body = Self {
            inner,
            sending: Some(sending),
        };
        (body, sent)
    }
}

impl http_body::Body for SentBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        let ended = match &frame {
            Some(Ok(frame)) => frame.is_trailers() || self.inner.is_end_stream(),
            _ => true,
        };
        if ended {
            // Dropping the sender is the signal.
            self.sending = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The duration of a `grpc-timeout` value (at most 8 digits and a unit: H, M, S, m, u, n), or
/// `None` when it is not one; a malformed value is ignored, as tonic does.
pub fn parse_grpc_timeout(value: &HeaderValue) -> Option<Duration> {
    let value = value.to_str().ok()?;
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(n * 3600),
        'M' => Duration::from_secs(n * 60),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `left` as a `grpc-timeout` value in the finest unit that fits 8 digits, rounded up: the
/// upstream gets the whole time that is left, never more than a unit over it.
pub fn encode_grpc_timeout(left: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let units: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    let nanos = left.as_nanos();
    let (n, unit) = units
        .iter()
        .map(|&(size, unit)| (nanos.div_ceil(size), unit))
        .find(|&(n, _)| n <= MAX)
        .unwrap_or((MAX, 'H'));
    HeaderValue::try_from(format!("{n}{unit}")).expect("digits and a letter")
}

/// Whether the upstream timeout (`upstream_timeout_ms` or the caller's `grpc-timeout`)
/// elapsed, somewhere down the transport error's sources.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn status(status: Status) -> Response {
    status.into_http()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_round_trip_without_shortening() {
        for left in [
            Duration::from_nanos(1),
            Duration::from_micros(1500),
            Duration::from_millis(300),
            Duration::from_secs(10),
            Duration::from_secs(3 * 3600 + 1),
            Duration::from_secs(10_000 * 3600),
        ] {
            let value = encode_grpc_timeout(left);
            assert!(value.len() <= 9, "{value:?}");
            let back = parse_grpc_timeout(&value).unwrap();
            assert!(back >= left, "{left:?} became {back:?}");
        }
        assert_eq!(encode_grpc_timeout(Duration::from_millis(300)), "300000u");
        for bad in ["", "m", "10", "10x", "123456789m", "-1S", "1.5S", "১S"] {
            let value = HeaderValue::try_from(bad).unwrap();
            assert_eq!(parse_grpc_timeout(&value), None, "{bad}");
        }
        assert_eq!(
            parse_grpc_timeout(&HeaderValue::from_static("2M")),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn a_request_tells_when_it_is_sent() {
        use http_body::Body as _;

        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let (body, mut sent) = SentBody::new(Body::from("two frames"));
        let mut body = Box::pin(body);
        assert!(
            sent.try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Empty)
        );
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            frame.unwrap();
        }
        assert_eq!(sent.try_recv(), Err(oneshot::error::TryRecvError::Closed));
        // A body dropped before its end counts as sent: the wait for the answer begins.
        let (body, mut sent) = SentBody::new(Body::from("unread"));
        drop(body);
        assert_eq!(sent.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    }

    #[tokio::test]
    async fn routes_by_the_longest_package_prefix() {
        let upstreams = BTreeMap::from([
            (
                "wuye.customerservice.v1".into(),
                "http://127.0.0.1:1".into(),
            ),
            ("wuye.customerservice".into(), "http://127.0.0.1:2".into()),
            (
                "wuye.quality.v1.ReportService".into(),
                "http://127.0.0.1:3".into(),
            ),
        ]);
        let signer = wuye_kit::IdentitySettings::default()
            .signer("gateway", true)
            .unwrap();
        let proxy = Proxy::new(&upstreams, Duration::from_secs(1), signer, None).unwrap();
        assert_eq!(proxy.upstreams[0].0, "wuye.quality.v1.ReportService");
        assert_eq!(proxy.upstreams[1].0, "wuye.customerservice.v1");
        assert!(proxy.routes("wuye.customerservice.v1.ComplaintService/CreateComplaint"));
        assert!(proxy.routes("wuye.customerservice.v2.ComplaintService/CreateComplaint"));
        assert!(proxy.routes("wuye.quality.v1.ReportService/Get"));
        assert!(!proxy.routes("wuye.quality.v1.ReportServiceX/Get"));
        assert!(!proxy.routes("wuye.customerservicex.v1.S/M"));
        assert!(!proxy.routes("wuye.engineering.v1.S/M"));
        assert!(!proxy.routes("not a method"));
    }
}
