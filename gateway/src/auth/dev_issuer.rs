//! Development sign-in: in development only, the gateway is an OpenID issuer of its own at
//! `http://<its address>/dev/oidc`, signing ID tokens for any sign-in asked with the public
//! development key. The gateway trusts it as one of its OpenID providers, so a development
//! sign-in goes through discovery, the JWKS and the staff directory as a real one does.
//!
//! Routes (plain HTTP/1.1, outside the policy gate):
//! - `GET  /dev/oidc/.well-known/openid-configuration`
//! - `GET  /dev/oidc/jwks`: the development key as an OKP JWK, kid `dev-1`
//! - `POST /dev/oidc/token`, form `sign_in=<value>`: `{"id_token", "token_type", "expires_in"}`
//!
//! The kit's server answers only gRPC (and gRPC-Web), so in development the gateway's
//! listener is held by a [`Front`]: it looks at the first bytes of each connection, serves
//! these routes itself, and passes every other connection, untouched, to the gRPC server on a
//! loopback listener of its own. Outside development there is no front and no such route.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio::{
    net::{TcpListener, TcpStream},
    time::Instant,
};

use super::{DEFAULT_AUDIENCE, DEV_KID, DEV_PRIVATE_KEY_PEM, DEV_PUBLIC_KEY_PEM, unix_now};

/// Where the development issuer lives on the gateway.
pub const DEV_ISSUER_PATH: &str = "/dev/oidc";

/// The largest token request read, in bytes.
const MAX_FORM_BYTES: usize = 4096;

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

    /// Answers one request of the development routes.
    pub async fn answer<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = request.uri().path().to_owned();
        let route = path.strip_prefix(DEV_ISSUER_PATH).unwrap_or("-");
        match (request.method().as_str(), route) {
            ("GET", "/.well-known/openid-configuration") => json_answer(200, &self.discovery()),
            ("GET", "/jwks") => json_answer(200, &json!({ "keys": [self.jwk] })),
            ("POST", "/token") => self.token(request.into_body()).await,
            _ => json_answer(404, &json!({ "error": "not_found" })),
        }
    }

    async fn token<B>(&self, body: B) -> http::Response<Full<Bytes>>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Ok(form) = Limited::new(body, MAX_FORM_BYTES).collect().await else {
            return json_answer(400, &json!({ "error": "invalid_request" }));
        };
        let form = form.to_bytes();
        let sign_in = form_value(&form, "sign_in").unwrap_or_default();
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

fn json_answer(status: u16, body: &serde_json::Value) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
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

/// The gateway's listener in development: the development routes, and every other
/// connection passed on to the gRPC server at `inner`.
pub struct Front {
    pub listener: TcpListener,
    pub inner: SocketAddr,
    pub issuer: Arc<DevIssuer>,
}

/// How the first bytes of a development route's request look.
const DEV_REQUESTS: [&[u8]; 2] = [b"GET /dev/oidc/", b"POST /dev/oidc/"];
/// The longest wait for a connection's first bytes before it is passed on.
const FIRST_BYTES_WAIT: Duration = Duration::from_secs(1);

impl Front {
    /// Accepts until dropped (the server stops accepting as it begins to stop). A connection
    /// taken lives on by itself until either end closes it, so calls in flight finish as the
    /// gRPC server stops gracefully.
    pub async fn run(self) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, self.inner, self.issuer.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

async fn connection(stream: TcpStream, inner: SocketAddr, issuer: Arc<DevIssuer>) {
    let _ = stream.set_nodelay(true);
    if asks_dev_route(&stream).await {
        let service = hyper::service::service_fn(move |request| {
            let issuer = issuer.clone();
            async move { Ok::<_, Infallible>(issuer.answer(request).await) }
        });
        // One request per connection: the next one on it may be a gRPC-Web call.
        let served = hyper::server::conn::http1::Builder::new()
            .keep_alive(false)
            .serve_connection(TokioIo::new(stream), service)
            .await;
        if let Err(e) = served {
            tracing::debug!(error = %e, "development sign-in connection");
        }
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(inner).await else {
        tracing::warn!(%inner, "the gateway's gRPC server cannot be reached");
        return;
    };
    let _ = upstream.set_nodelay(true);
    let mut stream = stream;
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut upstream).await;
}

/// Whether the connection's first bytes are a request of the development routes; bytes are
/// only looked at, left for whoever serves the connection.
async fn asks_dev_route(stream: &TcpStream) -> bool {
    let deadline = Instant::now() + FIRST_BYTES_WAIT;
    let mut buf = [0u8; 16];
    loop {
        let seen = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => &buf[..n],
            _ => return false,
        };
        if DEV_REQUESTS.iter().any(|r| seen.starts_with(r)) {
            return true;
        }
        if !DEV_REQUESTS.iter().any(|r| r.starts_with(seen)) {
            return false;
        }
        // A prefix of one: wait for more.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
