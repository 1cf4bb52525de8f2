//! ID tokens of an OpenID provider served by the test itself (discovery and JWKS over real
//! HTTP), signed with the fixed test-only keys of `keys/` (never trusted anywhere else).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use wuye_kit::Error;

use super::*;
use crate::auth::{
    Fetcher, Issuer, OidcAlgorithm, OidcIssuerSettings, StaffDirectory, parse_jwks, reason,
    unix_now,
};

const RSA_1: &str = include_str!("keys/rsa-1.pem");
const RSA_2: &str = include_str!("keys/rsa-2.pem");
const EC_1: &str = include_str!("keys/ec-1.pem");
const ED_1: &str = include_str!("keys/ed-1.pem");

fn jwk(file: &str, kid: &str, alg: Option<&str>) -> Value {
    let text = match file {
        "rsa-1" => include_str!("keys/rsa-1.jwk.json"),
        "rsa-2" => include_str!("keys/rsa-2.jwk.json"),
        "ec-1" => include_str!("keys/ec-1.jwk.json"),
        _ => include_str!("keys/ed-1.jwk.json"),
    };
    let mut value: Value = serde_json::from_str(text).unwrap();
    value["kid"] = kid.into();
    value["use"] = "sig".into();
    if let Some(alg) = alg {
        value["alg"] = alg.into();
    }
    value
}

/// A provider of the test: its discovery document and JWKS, how often each was fetched.
struct TestProvider {
    addr: SocketAddr,
    jwks: Arc<Mutex<Value>>,
    /// The issuer its discovery document names.
    named: Arc<Mutex<String>>,
    /// Answer 500 to everything.
    down: Arc<Mutex<bool>>,
    jwks_fetches: Arc<AtomicUsize>,
}

impl TestProvider {
    async fn start(keys: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let provider = Self {
            addr,
            jwks: Arc::new(Mutex::new(json!({ "keys": keys }))),
            named: Arc::new(Mutex::new(format!("http://{addr}"))),
            down: Arc::default(),
            jwks_fetches: Arc::default(),
        };
        let (jwks, named, down, fetches) = (
            provider.jwks.clone(),
            provider.named.clone(),
            provider.down.clone(),
            provider.jwks_fetches.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (jwks, named, down, fetches) =
                    (jwks.clone(), named.clone(), down.clone(), fetches.clone());
                let service = hyper::service::service_fn(move |request: http::Request<_>| {
                    let body = match request.uri().path() {
                        _ if *down.lock().unwrap() => None,
                        "/.well-known/openid-configuration" => Some(json!({
                            "issuer": *named.lock().unwrap(),
                            "jwks_uri": format!("http://{addr}/jwks"),
                        })),
                        "/jwks" => {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            Some(jwks.lock().unwrap().clone())
                        }
                        _ => None,
                    };
                    let response = match body {
                        Some(body) => http::Response::new(Full::new(Bytes::from(body.to_string()))),
                        None => http::Response::builder()
                            .status(500)
                            .body(Full::new(Bytes::new()))
                            .unwrap(),
                    };
                    async move { Ok::<_, Infallible>(response) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        provider
    }

    fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn settings(&self) -> OidcIssuerSettings {
        OidcIssuerSettings {
            issuer: self.issuer(),
            audiences: vec!["wuye-console".into(), "wuye-cli".into()],
            ..OidcIssuerSettings::default()
        }
    }

    fn set_keys(&self, keys: Vec<Value>) {
        *self.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

fn fetcher() -> Fetcher {
    Fetcher::builder()
        .timeout(Duration::from_secs(5))
        .max_bytes(1024 * 1024)
        .build()
        .unwrap()
}

fn oidc_of(settings: Vec<OidcIssuerSettings>) -> Oidc {
    let issuers = settings
        .iter()
        .map(|s| Arc::new(Issuer::new(s, fetcher()).unwrap()))
        .collect();
    let directory = StaffDirectory::new(None, Duration::from_secs(10), Duration::from_secs(1));
    Oidc::new(issuers, directory, 30, 12 * 3600, 10).unwrap()
}

/// Standard claims of a token of `iss` for the console.
fn claims(iss: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": iss,
        "aud": "wuye-console",
        "sub": "wang.fang",
        "email": "wang.fang@example.com",
        "iat": now,
        "exp": now + 600,
    })
}

fn sign(alg: Algorithm, pem: &str, kid: &str, claims: &Value) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::HS256 => Ok(EncodingKey::from_secret(pem.as_bytes())),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn refusal(result: Result<(String, u64), Error>) -> &'static str {
    match result {
        Err(Error::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn parses_rsa_p256_and_ed25519_keys_and_skips_the_rest() {
    let mut p384 = jwk("ec-1", "p384", None);
    p384["crv"] = "P-384".into();
    let mut encryption = jwk("rsa-2", "enc", None);
    encryption["use"] = "enc".into();
    let document = json!({ "keys": [
        jwk("rsa-1", "rs", Some("RS256")),
        jwk("ec-1", "es", Some("ES256")),
        jwk("ed-1", "ed", None),
        jwk("rsa-2", "ps", Some("PS256")),
        jwk("rsa-2", "misfit", Some("ES256")),
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
        {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "YyvZeWjW7gg4v7Era5jSjlxWNmOmGCCBfixSFIb5AkQ"},
        p384,
        encryption,
        {"kid": "junk"},
    ]});
    let (keys, skipped) = parse_jwks(&document);
    let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
    kids.sort();
    assert_eq!(kids, ["ed", "es", "rs"]);
    assert_eq!(skipped.len(), 7, "{skipped:?}");
    assert!(keys["rs"].accepts(Algorithm::RS256));
    assert!(!keys["rs"].accepts(Algorithm::ES256));
    assert!(keys["es"].accepts(Algorithm::ES256));
    assert!(keys["ed"].accepts(Algorithm::EdDSA));
    assert!(!keys["ed"].accepts(Algorithm::RS256));
    assert!(parse_jwks(&json!({"nothing": 1})).0.is_empty());
}

#[tokio::test]
async fn verifies_rs256_es256_and_eddsa_tokens() {
    let provider = TestProvider::start(vec![
        jwk("rsa-1", "rs", Some("RS256")),
        jwk("ec-1", "es", None),
        jwk("ed-1", "ed", Some("EdDSA")),
    ])
    .await;
    let oidc = oidc_of(vec![provider.settings()]);
    let iss = provider.issuer();
    let c = claims(&iss);
    for (alg, pem, kid) in [
        (Algorithm::RS256, RSA_1, "rs"),
        (Algorithm::ES256, EC_1, "es"),
        (Algorithm::EdDSA, ED_1, "ed"),
    ] {
        let (person, exp) = oidc.verify(&iss, &sign(alg, pem, kid, &c)).await.unwrap();
        assert_eq!(person, "wang.fang");
        assert_eq!(exp, c["exp"].as_u64().unwrap());
    }
    // Fetched once for all three.
    assert_eq!(provider.fetches(), 1);
    // A key used with another algorithm than its own, or another kind of key's.
    let refused = oidc
        .verify(&iss, &sign(Algorithm::EdDSA, ED_1, "rs", &c))
        .await;
    assert_eq!(refusal(refused), reason::BAD_TOKEN);
    // HMAC with the public key (algorithm confusion) is never accepted.
    let confused = sign(
        Algorithm::HS256,
        include_str!("keys/rsa-1.jwk.json"),
        "rs",
        &c,
    );
    assert_eq!(
        refusal(oidc.verify(&iss, &confused).await),
        reason::BAD_TOKEN
    );
    // Only the algorithms configured.
    let only_rsa = OidcIssuerSettings {
        algorithms: vec![OidcAlgorithm::RS256],
        ..provider.settings()
    };
    let oidc = oidc_of(vec![only_rsa]);
    let refused = oidc
        .verify(&iss, &sign(Algorithm::EdDSA, ED_1, "ed", &c))
        .await;
    assert_eq!(refusal(refused), reason::BAD_TOKEN);
}

#[tokio::test]
async fn refuses_wrong_issuer_audience_expired_and_missing_claims() {
    let provider = TestProvider::start(vec![jwk("ed-1", "ed", None)]).await;
    let oidc = oidc_of(vec![provider.settings()]);
    let iss = provider.issuer();
    let token = |c: &Value| sign(Algorithm::EdDSA, ED_1, "ed", c);
    let now = unix_now();

    let other = "https://sso.elsewhere.example";
    assert!(!oidc.knows(other));
    let refused = oidc.verify(other, &token(&claims(other))).await;
    assert_eq!(refusal(refused), reason::UNKNOWN_ISSUER);
    // The iss the token was routed by is the one its signature must carry.
    let refused = oidc.verify(&iss, &token(&claims(other))).await;
    assert_eq!(refusal(refused), reason::UNKNOWN_ISSUER);

    let mut c = claims(&iss);
    c["aud"] = "someone-else".into();
    assert_eq!(
        refusal(oidc.verify(&iss, &token(&c)).await),
        reason::WRONG_AUDIENCE
    );
    // Several audiences: azp must be one of ours.
    c["aud"] = json!(["wuye-console", "someone-else"]);
    assert_eq!(
        refusal(oidc.verify(&iss, &token(&c)).await),
        reason::WRONG_AUDIENCE
    );
    c["azp"] = "someone-else".into();
    assert_eq!(
        refusal(oidc.verify(&iss, &token(&c)).await),
        reason::WRONG_AUDIENCE
    );
    c["azp"] = "wuye-cli".into();
    oidc.verify(&iss, &token(&c)).await.unwrap();
    // One audience among several configured, as a string.
    c = claims(&iss);
    c["aud"] = "wuye-cli".into();
    oidc.verify(&iss, &token(&c)).await.unwrap();

    let mut c = claims(&iss);
    c["exp"] = (now - 120).into();
    c["iat"] = (now - 720).into();
    assert_eq!(
        refusal(oidc.verify(&iss, &token(&c)).await),
        reason::TOKEN_EXPIRED
    );
    let mut c = claims(&iss);
    c["exp"] = (now + 30 * 24 * 3600).into();
    assert_eq!(
        refusal(oidc.verify(&iss, &token(&c)).await),
        reason::BAD_TOKEN
    );
    let mut c = claims(&iss);
    c["nbf"] = (now + 3600).into();
    assert_eq!(
        refusal(oidc.verify(&iss, &token(&c)).await),
        reason::BAD_TOKEN
    );
    for missing in ["iat", "exp", "sub", "aud"] {
        let mut c = claims(&iss);
        c.as_object_mut().unwrap().remove(missing);
        let reason = refusal(oidc.verify(&iss, &token(&c)).await);
        assert_ne!(reason, "", "{missing}");
    }
    assert_eq!(
        refusal(oidc.verify(&iss, "not.a.token").await),
        reason::BAD_TOKEN
    );
}

#[tokio::test]
async fn the_person_claim_is_configurable() {
    let provider = TestProvider::start(vec![jwk("ed-1", "ed", None)]).await;
    let by_email = OidcIssuerSettings {
        person_claim: "email".into(),
        ..provider.settings()
    };
    let oidc = oidc_of(vec![by_email]);
    let iss = provider.issuer();
    let token = sign(Algorithm::EdDSA, ED_1, "ed", &claims(&iss));
    assert_eq!(
        oidc.verify(&iss, &token).await.unwrap().0,
        "wang.fang@example.com"
    );
    let mut c = claims(&iss);
    c.as_object_mut().unwrap().remove("email");
    let token = sign(Algorithm::EdDSA, ED_1, "ed", &c);
    assert_eq!(refusal(oidc.verify(&iss, &token).await), reason::BAD_TOKEN);
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_again_at_most_so_often() {
    let provider = TestProvider::start(vec![jwk("rsa-1", "k1", None)]).await;
    let settings = OidcIssuerSettings {
        min_refetch_secs: 3600,
        ..provider.settings()
    };
    let issuer = Arc::new(Issuer::new(&settings, fetcher()).unwrap());
    let directory = StaffDirectory::new(None, Duration::from_secs(10), Duration::from_secs(1));
    let oidc = Oidc::new(vec![issuer.clone()], directory, 30, 12 * 3600, 10).unwrap();
    let iss = provider.issuer();
    let c = claims(&iss);
    oidc.verify(&iss, &sign(Algorithm::RS256, RSA_1, "k1", &c))
        .await
        .unwrap();
    assert_eq!(provider.fetches(), 1);

    // The provider rotates to k2: within the rate limit the new kid is refused, and made-up
    // kids do not make the gateway fetch.
    provider.set_keys(vec![jwk("rsa-2", "k2", None)]);
    let rotated = sign(Algorithm::RS256, RSA_2, "k2", &c);
    assert_eq!(
        refusal(oidc.verify(&iss, &rotated).await),
        reason::BAD_TOKEN
    );
    for kid in ["x1", "x2", "x3"] {
        let made_up = sign(Algorithm::RS256, RSA_2, kid, &c);
        assert_eq!(
            refusal(oidc.verify(&iss, &made_up).await),
            reason::BAD_TOKEN
        );
    }
    assert_eq!(provider.fetches(), 1);
    // The old key still works meanwhile.
    oidc.verify(&iss, &sign(Algorithm::RS256, RSA_1, "k1", &c))
        .await
        .unwrap();

    // Once the limit passed, the unknown kid fetches the keys again: rotated without restart.
    issuer.age(Duration::from_secs(3601));
    oidc.verify(&iss, &rotated).await.unwrap();
    assert_eq!(provider.fetches(), 2);
    // The retired key is gone.
    let old = sign(Algorithm::RS256, RSA_1, "k1", &c);
    assert_eq!(refusal(oidc.verify(&iss, &old).await), reason::BAD_TOKEN);
}

/// The header of an EdDSA token signed with the key `kid`.
fn ed_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    header
}

#[tokio::test]
async fn keys_are_refreshed_when_due_and_kept_when_the_provider_fails() {
    let provider = TestProvider::start(vec![jwk("ed-1", "ed", None)]).await;
    let settings = OidcIssuerSettings {
        jwks_refresh_secs: 60,
        min_refetch_secs: 0,
        ..provider.settings()
    };
    let issuer = Issuer::new(&settings, fetcher()).unwrap();
    issuer.key(&ed_header("ed")).await.unwrap();
    issuer.key(&ed_header("ed")).await.unwrap();
    assert_eq!(provider.fetches(), 1);
    // Due: fetched again on use.
    issuer.age(Duration::from_secs(61));
    issuer.key(&ed_header("ed")).await.unwrap();
    assert_eq!(provider.fetches(), 2);
    // The provider is down: the keys held stay in use.
    *provider.down.lock().unwrap() = true;
    issuer.age(Duration::from_secs(61));
    issuer.key(&ed_header("ed")).await.unwrap();
    issuer.refresh(true).await;
    assert_eq!(issuer.key_count(), 1);
    issuer.key(&ed_header("ed")).await.unwrap();
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_or_names_another_issuer_gives_no_keys() {
    // Nothing listens there: the gateway starts, tokens are refused as unavailable.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let settings = OidcIssuerSettings {
        issuer: format!("http://{addr}"),
        audiences: vec!["wuye".into()],
        ..OidcIssuerSettings::default()
    };
    let issuer = Issuer::new(&settings, fetcher()).unwrap();
    let err = issuer.key(&ed_header("k")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be reached"), "{err}");

    let provider = TestProvider::start(vec![jwk("ed-1", "ed", None)]).await;
    *provider.named.lock().unwrap() = "https://impostor.example".into();
    let issuer = Issuer::new(&provider.settings(), fetcher()).unwrap();
    assert!(matches!(
        issuer.key(&ed_header("ed")).await,
        Err(Error::Unavailable(_))
    ));
    assert_eq!(
        provider.fetches(),
        0,
        "the JWKS of a wrong discovery is not fetched"
    );
}

#[test]
fn refuses_bad_issuer_settings() {
    let bad = |settings: OidcIssuerSettings| Issuer::new(&settings, fetcher()).is_err();
    let good = OidcIssuerSettings {
        issuer: "https://sso.example.com/realms/wuye".into(),
        audiences: vec!["wuye-console".into()],
        ..OidcIssuerSettings::default()
    };
    assert!(!bad(good.clone()));
    assert_eq!(
        good.discovery(),
        "https://sso.example.com/realms/wuye/.well-known/openid-configuration"
    );
    assert!(bad(OidcIssuerSettings {
        issuer: "http://sso.example.com".into(),
        ..good.clone()
    }));
    assert!(bad(OidcIssuerSettings {
        audiences: vec![],
        ..good.clone()
    }));
    assert!(bad(OidcIssuerSettings {
        person_claim: String::new(),
        ..good.clone()
    }));
    assert!(bad(OidcIssuerSettings {
        algorithms: vec![],
        ..good.clone()
    }));
    assert!(bad(OidcIssuerSettings {
        discovery_url: "http://sso.example.com/.well-known/openid-configuration".into(),
        ..good.clone()
    }));
    assert!(bad(OidcIssuerSettings {
        issuer: String::new(),
        ..good
    }));
}

#[tokio::test]
async fn a_verdict_is_kept_no_longer_than_the_directory_cache() {
    let provider = TestProvider::start(vec![jwk("ed-1", "ed", None)]).await;
    let issuers = vec![Arc::new(
        Issuer::new(&provider.settings(), fetcher()).unwrap(),
    )];
    let directory = StaffDirectory::new(None, Duration::from_secs(5), Duration::from_secs(1));
    let oidc = Oidc::new(issuers, directory, 30, 12 * 3600, 5).unwrap();
    let iss = provider.issuer();
    let token = sign(Algorithm::EdDSA, ED_1, "ed", &claims(&iss));
    // No directory here: unavailable, but the token itself was verified and remembered.
    let err = oidc.authenticate(&iss, &token).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    let (_, sign_in, until) = oidc.verified.lock().unwrap()[&token].clone();
    assert_eq!(sign_in, "wang.fang");
    assert!(
        until <= unix_now() + 5,
        "kept past the directory's cache time"
    );
}
