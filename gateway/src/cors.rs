//! CORS for gRPC-Web callers in browsers: the preflight is answered for the origins the
//! gateway is configured with, and answers expose the gRPC status headers to the page. No
//! origin is allowed unless configured (deny by default); without one a browser's preflight
//! gets no CORS headers and the browser refuses the call. CORS only says which pages may
//! read answers: every call is still authenticated and authorized by the gate.

use std::time::Duration;

use anyhow::Context as _;
use http::{HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowOrigin, CorsLayer};
use wuye_kit::identity::PROPERTY_HEADER;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins of the internal web apps allowed to call over gRPC-Web, exactly as browsers
    /// send them ("https://ops.example.com", scheme, host and port); none by default. A
    /// wildcard is refused.
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds.
    pub max_age_s: u64,
}

/// The request headers a gRPC-Web client sends, and the response headers it reads.
const REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
    PROPERTY_HEADER,
    crate::auth::POST_HEADER,
    "traceparent",
    "tracestate",
];
const RESPONSE_HEADERS: &[&str] = &["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// The CORS layer of `settings`, or None when no origin is allowed.
pub fn layer(settings: &CorsSettings) -> anyhow::Result<Option<CorsLayer>> {
    if settings.allowed_origins.is_empty() {
        return Ok(None);
    }
    let mut origins = Vec::new();
    for origin in &settings.allowed_origins {
        origins.push(
            checked_origin(origin).with_context(|| format!("cors.allowed_origins: {origin:?}"))?,
        );
    }
    let names = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST])
            .allow_headers(names(REQUEST_HEADERS))
            .expose_headers(names(RESPONSE_HEADERS))
            .max_age(Duration::from_secs(settings.max_age_s)),
    ))
}

/// An origin as browsers send it: scheme, host and optional port, nothing else.
fn checked_origin(origin: &str) -> anyhow::Result<HeaderValue> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .context("must start with https:// or http://")?;
    anyhow::ensure!(
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')),
        "must be scheme://host[:port], without a path, a wildcard or a trailing slash"
    );
    Ok(HeaderValue::from_str(origin)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origin_no_cors_and_origins_are_checked() {
        assert!(layer(&CorsSettings::default()).unwrap().is_none());
        let ok = CorsSettings {
            allowed_origins: vec![
                "https://ops.example.com".into(),
                "http://localhost:5173".into(),
            ],
            max_age_s: 600,
        };
        assert!(layer(&ok).unwrap().is_some());
        for bad in [
            "*",
            "https://*.example.com",
            "ops.example.com",
            "https://a.com/",
            "https://",
        ] {
            let settings = CorsSettings {
                allowed_origins: vec![bad.into()],
                max_age_s: 0,
            };
            assert!(layer(&settings).is_err(), "{bad}");
        }
    }
}
