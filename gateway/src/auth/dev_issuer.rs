//! Development sign-in: in development only, the gateway is an OpenID issuer of its own at
//! `http://<its address>/dev/oidc`, signing ID tokens for any sign-in asked with the public
//! development key. The gateway trusts it as one of its OpenID providers, so a development
//! sign-in goes through discovery, the JWKS and the staff directory as a real one does.
//!
//! Routes (plain HTTP, HTTP/1.1 or h2c, outside the policy gate):
//! - `GET  /dev/oidc/.well-known/openid-configuration`
//! - `GET  /dev/oidc/jwks`: the development key as an OKP JWK, kid `dev-1`
//! - `POST /dev/oidc/token`, form `sign_in=<value>`: `{"id_token", "token_type", "expires_in"}`
//!
//! - `GET  /dev/oidc/people`: who may sign in (see `dev_people`)
//!
//! They are plain HTTP routes of the kit's server, beside gRPC on the gateway's listener
//! ([`wuye_kit::server::Server::http_routes`]), outside CORS, the gate and the limits.
//! Outside development every path under /dev/oidc is not found.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    response::{IntoResponse as _, Response},
    routing::{get, post},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use bytes::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::{DEFAULT_AUDIENCE, DEV_KID, DEV_PRIVATE_KEY_PEM, DEV_PUBLIC_KEY_PEM, unix_now};

/// Where the development issuer lives on the gateway.
pub const DEV_ISSUER_PATH: &str = "/dev/oidc";

/// The largest token request read, in bytes.
const MAX_FORM_BYTES: usize = 4096;

/// What answers under [`DEV_ISSUER_PATH`] when the development issuer is not served.
pub fn dev_issuer_absent() -> Router {
    Router::new().fallback(|| async { json_answer(404, &json!({ "error": "not_found" })) })
}

/// The development issuer's URL for a gateway listening on `addr`.
pub fn dev_issuer_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}{DEV_ISSUER_PATH}")
}

/// The development issuer.
pub struct DevIssuer {
    issuer: String,
    key: EncodingKey,
    jwk: serde_json::Value,
    ttl: Duration,
}

impl DevIssuer {
    /// The issuer at `issuer` (its URL), whose tokens live `ttl`.
    pub fn new(issuer: String, ttl: Duration) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(DEV_PRIVATE_KEY_PEM.as_bytes())?;
        let body: String = DEV_PUBLIC_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body.trim())?;
        // An Ed25519 SubjectPublicKeyInfo ends with the 32 bytes of the key.
        anyhow::ensure!(der.len() == 44, "not an Ed25519 public key");
        let jwk = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": "EdDSA",
            "kid": DEV_KID,
            "x": URL_SAFE_NO_PAD.encode(&der[12..]),
        });
        Ok(Self {
            issuer,
            key,
            jwk,
            ttl,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// An ID token for `sign_in`.
    pub fn sign(&self, sign_in: &str) -> anyhow::Result<String> {
        let now = unix_now();
        let claims = json!({
            "iss": self.issuer,
            "aud": DEFAULT_AUDIENCE,
            "sub": sign_in,
            "iat": now,
            "exp": now + self.ttl.as_secs(),
        });
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(DEV_KID.into());
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }

    fn discovery(&self) -> serde_json::Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/jwks", self.issuer),
            "token_endpoint": format!("{}/token", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
        })
    }

    /// The development routes, under [`DEV_ISSUER_PATH`].
    pub fn router(self) -> Router {
        Router::new()
            .route(
                &format!("{DEV_ISSUER_PATH}/.well-known/openid-configuration"),
                get(|State(issuer): State<Arc<Self>>| async move {
                    json_answer(200, &issuer.discovery())
                }),
            )
            .route(
                &format!("{DEV_ISSUER_PATH}/jwks"),
                get(|State(issuer): State<Arc<Self>>| async move {
                    json_answer(200, &json!({ "keys": [issuer.jwk] }))
                }),
            )
            .route(
                &format!("{DEV_ISSUER_PATH}/token"),
                post(|State(issuer): State<Arc<Self>>, form: Bytes| async move {
                    issuer.token(&form)
                })
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
            )
            .fallback(|| async { json_answer(404, &json!({ "error": "not_found" })) })
            .with_state(Arc::new(self))
    }

    /// Answers a token request of the form `form`.
    fn token(&self, form: &[u8]) -> Response {
        let sign_in = form_value(form, "sign_in").unwrap_or_default();
        if sign_in.trim().is_empty() {
            let why = "the form needs sign_in=<the directory's sign_in of a person>";
            return json_answer(
                400,
                &json!({ "error": "invalid_request", "error_description": why }),
            );
        }
        match self.sign(&sign_in) {
            Ok(token) => json_answer(
                200,
                &json!({
                    "id_token": token,
                    "token_type": "Bearer",
                    "expires_in": self.ttl.as_secs(),
                }),
            ),
            Err(e) => {
                tracing::error!(error = %e, "signing a development token");
                json_answer(500, &json!({ "error": "server_error" }))
            }
        }
    }
}

pub(super) fn json_answer(status: u16, body: &serde_json::Value) -> Response {
    (
        http::StatusCode::from_u16(status).unwrap_or_default(),
        [
            (http::header::CONTENT_TYPE, "application/json"),
            (http::header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The value of `name` in an `application/x-www-form-urlencoded` body.
fn form_value(form: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(form).ok()?;
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key)? == name).then(|| percent_decode(value))?
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlencoded_forms() {
        assert_eq!(
            form_value(b"a=1&sign_in=wang%40example.com", "sign_in").as_deref(),
            Some("wang@example.com")
        );
        assert_eq!(
            form_value(b"sign_in=%E7%8E%8B+fang", "sign_in").as_deref(),
            Some("王 fang")
        );
        assert_eq!(form_value(b"sign_in=%E7%8", "sign_in"), None);
        assert_eq!(form_value(b"other=1", "sign_in"), None);
    }

    #[test]
    fn unspecified_addresses_become_loopback() {
        assert_eq!(
            dev_issuer_url("0.0.0.0:50050".parse().unwrap()),
            "http://127.0.0.1:50050/dev/oidc"
        );
        assert_eq!(
            dev_issuer_url("127.0.0.1:9".parse().unwrap()),
            "http://127.0.0.1:9/dev/oidc"
        );
    }
}
