use std::path::Path;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::*;
use crate::auth::{LEEWAY_SECS, MAX_LIFETIME_SECS};

/// Another Ed25519 key, for tokens the gateway must refuse.
const OTHER_PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFcA0dNa5Bj9WqZmeJTQCHNcb7cubmTvgM2+nkVJbIB4
-----END PRIVATE KEY-----
";
const OTHER_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAmLCQYJQ/oalf6Q+VyN8tKwdws/3FIgnVh0c7hxX/IHk=
-----END PUBLIC KEY-----
";
const HS_SECRET: &str = "0123456789abcdef0123456789abcdef";

fn dev_auth() -> Authenticator {
    Authenticator::new(&AuthSettings::default(), true).unwrap()
}

fn claims() -> Claims {
    Claims::new(
        "u1",
        "王芳",
        "front_desk",
        &["sunshine-garden".into()],
        Duration::from_secs(600),
    )
}

fn dev_sign(claims: &Claims) -> String {
    sign_token(
        KeyAlgorithm::EdDSA,
        DEV_PRIVATE_KEY_PEM.as_bytes(),
        DEV_KID,
        claims,
    )
    .unwrap()
}

fn refused(auth: &Authenticator, token: &str) {
    let err = auth.authenticate(token).unwrap_err();
    assert!(matches!(err, Error::Refused { .. }), "{err:?}");
}

#[test]
fn accepts_a_good_dev_token() {
    let token = sign_dev_token(
        "front_desk",
        &["sunshine-garden".into()],
        "u1",
        "王芳",
        Duration::from_secs(60),
    )
    .unwrap();
    let user = dev_auth().authenticate(&token).unwrap();
    assert_eq!(
        user,
        User {
            user_id: "u1".into(),
            name: "王芳".into(),
            role: "front_desk".into(),
            properties: vec!["sunshine-garden".into()],
        }
    );
}

#[test]
fn reads_the_bearer_header() {
    let mut headers = http::HeaderMap::new();
    assert!(dev_auth().authenticate_headers(&headers).is_err());
    let value = format!("Bearer {}", dev_sign(&claims()));
    headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
    assert_eq!(
        dev_auth().authenticate_headers(&headers).unwrap().user_id,
        "u1"
    );
    headers.insert(http::header::AUTHORIZATION, "Basic dTpw".parse().unwrap());
    assert!(dev_auth().authenticate_headers(&headers).is_err());
}

#[test]
fn refuses_an_unsigned_token() {
    let auth = dev_auth();
    let good = dev_sign(&claims());
    let mut parts = good.split('.');
    let (_, payload, signature) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"dev-1"}"#);
    refused(&auth, &format!("{none}.{payload}."));
    refused(&auth, &format!("{none}.{payload}.{signature}"));
    // A good token with its signature cut off.
    refused(&auth, &good[..good.rfind('.').unwrap() + 1]);
}

#[test]
fn refuses_a_token_of_another_key() {
    let token = sign_token(
        KeyAlgorithm::EdDSA,
        OTHER_PRIVATE_KEY_PEM.as_bytes(),
        DEV_KID,
        &claims(),
    )
    .unwrap();
    refused(&dev_auth(), &token);
}

#[test]
fn refuses_algorithm_confusion() {
    // HS256 "signed" with the public key, which an attacker knows.
    let token = sign_token(
        KeyAlgorithm::HS256,
        DEV_PUBLIC_KEY_PEM.as_bytes(),
        DEV_KID,
        &claims(),
    )
    .unwrap();
    refused(&dev_auth(), &token);
}

#[test]
fn a_verified_token_is_remembered_until_it_expires() {
    let auth = dev_auth();
    let token = dev_sign(&claims());
    let user = auth.authenticate(&token).unwrap();
    assert_eq!(auth.authenticate(&token).unwrap(), user);
    let (_, until) = auth.remembered(&token).expect("remembered");
    assert!(until <= unix_now() + VERIFIED_FOR_SECS);

    // Within the leeway a token still verifies, but its verdict is not kept past expiry.
    let mut c = claims();
    c.exp = unix_now() - 1;
    let late = dev_sign(&c);
    auth.authenticate(&late).unwrap();
    let (_, until) = auth.remembered(&late).expect("remembered");
    assert!(until < unix_now());
    // A verdict that lapsed is not used: the token is checked again, and refused past the
    // leeway.
    let mut c = claims();
    c.exp = unix_now() - LEEWAY_SECS - 10;
    let expired = dev_sign(&c);
    auth.verified
        .lock()
        .unwrap()
        .insert(expired.clone(), (user, 0));
    refused(&auth, &expired);
}

#[test]
fn refuses_wrong_audience_issuer_and_expired() {
    let auth = dev_auth();
    let mut c = claims();
    c.aud = "someone-else".into();
    refused(&auth, &dev_sign(&c));
    let mut c = claims();
    c.iss = "someone-else".into();
    refused(&auth, &dev_sign(&c));
    let mut c = claims();
    c.exp = unix_now() - LEEWAY_SECS - 10;
    refused(&auth, &dev_sign(&c));
}

#[test]
fn refuses_tokens_not_yet_valid_issued_later_or_living_too_long() {
    let auth = dev_auth();
    let now = unix_now();
    let day = 24 * 3600;
    let mut c = claims();
    c.nbf = Some(now + day);
    refused(&auth, &dev_sign(&c));
    let mut c = claims();
    c.iat = now + day;
    c.exp = now + day + 600;
    refused(&auth, &dev_sign(&c));
    let mut c = claims();
    c.exp = now + 100 * 365 * day;
    refused(&auth, &dev_sign(&c));
    // Within the leeway and the lifetime: accepted.
    let mut c = claims();
    c.nbf = Some(now + LEEWAY_SECS / 2);
    c.exp = c.iat + MAX_LIFETIME_SECS;
    auth.authenticate(&dev_sign(&c)).unwrap();
    // A token without iat has no lifetime to check.
    #[derive(Serialize)]
    struct NoIat<'a> {
        iss: &'a str,
        aud: &'a str,
        sub: &'a str,
        role: &'a str,
        exp: u64,
    }
    let header = Header {
        kid: Some(DEV_KID.into()),
        ..Header::new(Algorithm::EdDSA)
    };
    let no_iat = jsonwebtoken::encode(
        &header,
        &NoIat {
            iss: DEFAULT_ISSUER,
            aud: DEFAULT_AUDIENCE,
            sub: "u1",
            role: "front_desk",
            exp: now + 600,
        },
        &EncodingKey::from_ed_pem(DEV_PRIVATE_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap();
    refused(&auth, &no_iat);
}

#[test]
fn production_refuses_the_development_key_and_no_key() {
    let err = Authenticator::new(&AuthSettings::default(), false)
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("WUYE_GATEWAY__AUTH__KEYS"),
        "{err:#}"
    );
    let explicit = AuthSettings {
        keys: vec![VerifyKey::development()],
        ..AuthSettings::default()
    };
    let err = Authenticator::new(&explicit, false).err().unwrap();
    assert!(
        format!("{err:#}").contains("public development key"),
        "{err:#}"
    );
    // The same key through a file is still the development key.
    let from_file = AuthSettings {
        keys: vec![VerifyKey {
            kid: "k".into(),
            public_key_file: Some(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../deploy/dev-keys/jwt-ed25519.pub.pem"),
            ),
            ..VerifyKey::default()
        }],
        ..AuthSettings::default()
    };
    assert!(Authenticator::new(&from_file, false).is_err());
    let own = AuthSettings {
        keys: vec![VerifyKey {
            kid: "prod".into(),
            public_key_pem: OTHER_PUBLIC_KEY_PEM.into(),
            ..VerifyKey::default()
        }],
        ..AuthSettings::default()
    };
    assert!(Authenticator::new(&own, false).is_ok());
}

#[test]
fn refuses_tokens_without_a_known_kid() {
    let auth = dev_auth();
    let token = sign_token(
        KeyAlgorithm::EdDSA,
        DEV_PRIVATE_KEY_PEM.as_bytes(),
        "dev-2",
        &claims(),
    )
    .unwrap();
    refused(&auth, &token);
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims(),
        &EncodingKey::from_ed_pem(DEV_PRIVATE_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap();
    refused(&auth, &no_kid);
    refused(&auth, "not-a-token");
}

#[test]
fn rotation_accepts_every_configured_key() {
    let settings = AuthSettings {
        keys: vec![
            VerifyKey::development(),
            VerifyKey {
                kid: "prod-2".into(),
                public_key_pem: OTHER_PUBLIC_KEY_PEM.into(),
                ..VerifyKey::default()
            },
            VerifyKey {
                kid: "shared".into(),
                algorithm: KeyAlgorithm::HS256,
                secret: Secret::new(HS_SECRET),
                ..VerifyKey::default()
            },
        ],
        ..AuthSettings::default()
    };
    let auth = Authenticator::new(&settings, true).unwrap();
    let other = sign_token(
        KeyAlgorithm::EdDSA,
        OTHER_PRIVATE_KEY_PEM.as_bytes(),
        "prod-2",
        &claims(),
    )
    .unwrap();
    let shared = sign_token(
        KeyAlgorithm::HS256,
        HS_SECRET.as_bytes(),
        "shared",
        &claims(),
    )
    .unwrap();
    for token in [dev_sign(&claims()), other, shared] {
        assert_eq!(auth.authenticate(&token).unwrap().role, "front_desk");
    }
    // The key is chosen by kid: the dev key's token under another kid fails.
    let misfiled = sign_token(
        KeyAlgorithm::EdDSA,
        DEV_PRIVATE_KEY_PEM.as_bytes(),
        "prod-2",
        &claims(),
    )
    .unwrap();
    refused(&auth, &misfiled);
}

#[test]
fn refuses_bad_key_settings() {
    let bad = |key: VerifyKey| {
        Authenticator::new(
            &AuthSettings {
                keys: vec![key],
                ..AuthSettings::default()
            },
            true,
        )
        .is_err()
    };
    assert!(bad(VerifyKey::default()));
    assert!(bad(VerifyKey {
        kid: "k".into(),
        ..VerifyKey::default()
    }));
    assert!(bad(VerifyKey {
        kid: "k".into(),
        algorithm: KeyAlgorithm::HS256,
        secret: Secret::new("short"),
        ..VerifyKey::default()
    }));
    assert!(bad(VerifyKey {
        kid: "k".into(),
        algorithm: KeyAlgorithm::RS256,
        public_key_pem: DEV_PUBLIC_KEY_PEM.into(),
        ..VerifyKey::default()
    }));
    assert!(
        Authenticator::new(
            &AuthSettings {
                keys: vec![VerifyKey::development(), VerifyKey::development()],
                ..AuthSettings::default()
            },
            true,
        )
        .is_err()
    );
}
