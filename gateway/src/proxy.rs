//! The transparent gRPC proxy: routes a call by its path to the upstream of its package and
//! passes the bodies through untouched (any message, any streaming shape).
//!
//! Every call has a deadline: the caller's (`grpc-timeout`) or the gateway's upstream timeout,
//! whichever is sooner, counted from the call's arrival. The upstream is told the time that is
//! left (so it stops working on a call nobody waits for), and the gateway stops waiting then:
//! `DEADLINE_EXCEEDED` when it was the caller's deadline, `UNAVAILABLE` when it was the
//! gateway's timeout (the upstream did not answer in time: retrying later may help). An
//! upstream that is down (refuses connections) is `UNAVAILABLE` at once.

use std::{collections::BTreeMap, time::Duration};

use anyhow::Context as _;
use axum::{body::Body, extract::Request, response::Response};
use http::HeaderValue;
use tokio::time::Instant;
use tonic::{
    Status,
    transport::{Channel, Endpoint},
};
use tower::ServiceExt as _;
use wuye_kit::identity::{Caller, IDENTITY_HEADER, InternalKey, PROPERTY_HEADER};

use crate::policy::split_method;

#[derive(Clone)]
pub struct Proxy {
    /// (package prefix, channel), longest prefix first.
    upstreams: Vec<(String, Channel)>,
    identity: InternalKey,
    /// The longest wait for an upstream's answer.
    timeout: Duration,
}

/// When a call arrived at the gateway, put in its extensions by the gate: its deadline counts
/// from there.
#[derive(Debug, Clone, Copy)]
pub struct Arrival(pub Instant);

/// The `grpc-timeout` metadata key.
const GRPC_TIMEOUT: &str = "grpc-timeout";

impl Proxy {
    /// Channels to `upstreams` (package prefix → address); nothing connects until a call needs
    /// it, so the gateway starts before its upstreams.
    pub fn new(
        upstreams: &BTreeMap<String, String>,
        timeout: Duration,
        identity: InternalKey,
    ) -> anyhow::Result<Self> {
        let mut channels = Vec::new();
        for (prefix, address) in upstreams {
            let channel = Endpoint::from_shared(address.clone())
                .with_context(|| format!("upstreams.\"{prefix}\": bad address {address}"))?
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
        let deadline = Deadline::of_call(&parts.headers, arrived, self.timeout);
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
            let identity = self
                .identity
                .sign(&caller)
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
        let left = deadline.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return status(deadline.expired());
        }
        parts
            .headers
            .insert(GRPC_TIMEOUT, encode_grpc_timeout(left));
        let request = http::Request::from_parts(parts, tonic::body::Body::new(body));
        // The answer's headers must come by the deadline (a stream then flows on).
        let answer = tokio::time::timeout_at(deadline.at, channel.clone().oneshot(request)).await;
        match answer {
            Ok(Ok(response)) => response.map(Body::new),
            Err(_) => status(deadline.expired()),
            Ok(Err(e)) if timed_out(&e) => status(deadline.expired()),
            Ok(Err(e)) => {
                // The server's span names the method.
                tracing::warn!(error = %e, "upstream unavailable");
                status(Status::unavailable("upstream unavailable"))
            }
        }
    }
}

/// A call's deadline and whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Deadline {
    at: Instant,
    /// The caller's `grpc-timeout` set it (it was sooner than the gateway's timeout).
    callers: bool,
}

impl Deadline {
    fn of_call(headers: &http::HeaderMap, arrived: Instant, timeout: Duration) -> Self {
        match headers.get(GRPC_TIMEOUT).and_then(parse_grpc_timeout) {
            Some(asked) if asked < timeout => Deadline {
                at: arrived + asked,
                callers: true,
            },
            _ => Deadline {
                at: arrived + timeout,
                callers: false,
            },
        }
    }

    fn expired(self) -> Status {
        if self.callers {
            Status::deadline_exceeded("the caller's deadline passed before the upstream answered")
        } else {
            Status::unavailable("the upstream did not answer in time")
        }
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
    use wuye_kit::config::Secret;

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
    fn the_sooner_deadline_wins() {
        let now = Instant::now();
        let mut headers = http::HeaderMap::new();
        let gateway = Duration::from_secs(10);
        assert_eq!(
            Deadline::of_call(&headers, now, gateway),
            Deadline {
                at: now + gateway,
                callers: false
            }
        );
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("2S"));
        assert_eq!(
            Deadline::of_call(&headers, now, gateway),
            Deadline {
                at: now + Duration::from_secs(2),
                callers: true
            }
        );
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("1M"));
        assert!(!Deadline::of_call(&headers, now, gateway).callers);
        let status = Deadline::of_call(&headers, now, gateway).expired();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("5m"));
        let status = Deadline::of_call(&headers, now, gateway).expired();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
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
        let key = InternalKey::new(
            &Secret::new(wuye_kit::DEV_INTERNAL_KEY),
            Duration::from_secs(60),
        );
        let proxy = Proxy::new(&upstreams, Duration::from_secs(1), key.unwrap()).unwrap();
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
