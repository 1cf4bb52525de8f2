//! The transparent gRPC proxy: routes a call by its path to the upstream of its package and
//! passes the bodies through untouched (any message, any streaming shape).

use std::{collections::BTreeMap, time::Duration};

use anyhow::Context as _;
use axum::{body::Body, extract::Request, response::Response};
use http::HeaderValue;
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
}

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
                .timeout(timeout)
                .connect_lazy();
            channels.push((prefix.clone(), channel));
        }
        channels.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(Self {
            upstreams: channels,
            identity,
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
        let request = http::Request::from_parts(parts, tonic::body::Body::new(body));
        match channel.clone().oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(e) if timed_out(&e) => status(Status::deadline_exceeded(
                "the upstream did not answer in time",
            )),
            Err(e) => {
                // The server's span names the method.
                tracing::warn!(error = %e, "upstream unavailable");
                status(Status::unavailable("upstream unavailable"))
            }
        }
    }
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
