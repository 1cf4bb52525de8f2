//! Authentication of users: a bearer JWT in the `authorization` metadata, signed by the
//! company's identity provider (or by `wuye token` in development) with one of the configured
//! keys. The token's `kid` picks the key, so keys rotate by configuring old and new together.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wuye_kit::{Error, config::Secret};

/// The development signing key. It is public in the repository: never trust it in production.
pub const DEV_PRIVATE_KEY_PEM: &str = include_str!("../../deploy/dev-keys/jwt-ed25519.pem");
/// The public half of [`DEV_PRIVATE_KEY_PEM`], the default verification key.
pub const DEV_PUBLIC_KEY_PEM: &str = include_str!("../../deploy/dev-keys/jwt-ed25519.pub.pem");
/// The `kid` of the development key.
pub const DEV_KID: &str = "dev-1";
/// Default `iss` and `aud` of user tokens.
pub const DEFAULT_ISSUER: &str = "wuye";
pub const DEFAULT_AUDIENCE: &str = "wuye";

/// Clock skew tolerated on `exp`, `nbf` and `iat` by default.
const LEEWAY_SECS: u64 = 30;
/// The longest a token may live by default (`exp` − `iat`): a working day.
const MAX_LIFETIME_SECS: u64 = 12 * 3600;

/// The signature algorithms a verification key may be configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    EdDSA,
    RS256,
    HS256,
}

impl KeyAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::HS256 => Algorithm::HS256,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Required `iss` of user tokens.
    pub issuer: String,
    /// Required `aud` of user tokens.
    pub audience: String,
    /// Keys accepted, chosen by the token header's `kid`. Required outside development; in
    /// development none means the public development key.
    pub keys: Vec<VerifyKey>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// The longest lifetime (`exp` − `iat`) of a token accepted, in seconds.
    pub max_lifetime_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
            keys: Vec::new(),
            leeway_secs: LEEWAY_SECS,
            max_lifetime_secs: MAX_LIFETIME_SECS,
        }
    }
}

/// One key that user tokens may be signed with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyKey {
    pub kid: String,
    pub algorithm: KeyAlgorithm,
    /// PEM public key (EdDSA, RS256), inline.
    pub public_key_pem: String,
    /// PEM public key (EdDSA, RS256) read from a file, instead of `public_key_pem`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_file: Option<PathBuf>,
    /// Shared secret (HS256), at least 32 bytes.
    pub secret: Secret,
}

impl Default for VerifyKey {
    fn default() -> Self {
        Self {
            kid: String::new(),
            algorithm: KeyAlgorithm::EdDSA,
            public_key_pem: String::new(),
            public_key_file: None,
            secret: Secret::default(),
        }
    }
}

impl VerifyKey {
    /// The development key (`kid` "dev-1").
    pub fn development() -> Self {
        Self {
            kid: DEV_KID.into(),
            public_key_pem: DEV_PUBLIC_KEY_PEM.into(),
            ..Self::default()
        }
    }

    /// The key, refusing the public development key outside development.
    fn decoding_key(&self, dev: bool) -> anyhow::Result<DecodingKey> {
        if self.algorithm == KeyAlgorithm::HS256 {
            anyhow::ensure!(
                self.secret.expose().len() >= 32,
                "an HS256 secret must be at least 32 bytes"
            );
            return Ok(DecodingKey::from_secret(self.secret.expose().as_bytes()));
        }
        let pem = match &self.public_key_file {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?,
            None => self.public_key_pem.clone(),
        };
        anyhow::ensure!(!pem.trim().is_empty(), "a public key is required");
        if wuye_kit::dev::same_pem(&pem, DEV_PUBLIC_KEY_PEM) {
            anyhow::ensure!(
                dev,
                "is the public development key (deploy/dev-keys): configure your own \
                 (WUYE_GATEWAY__AUTH__KEYS), or run in development with dev = true \
                 (WUYE_GATEWAY__DEV)"
            );
            tracing::warn!(kid = %self.kid, "accepting tokens of the public DEVELOPMENT key");
        }
        let key = match self.algorithm {
            KeyAlgorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
            _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
        };
        key.context("not a PEM public key of this algorithm")
    }
}

/// A verified user, as the token describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub name: String,
    /// One role code of DOMAIN.md "Who is who".
    pub role: String,
    /// Property ids the user works for; headquarters roles span all whatever this says.
    pub properties: Vec<String>,
}

/// The claims of a user token, for signing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// User id.
    pub sub: String,
    pub name: String,
    pub role: String,
    pub properties: Vec<String>,
    pub iat: u64,
    pub exp: u64,
    /// Not valid before, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

impl Claims {
    /// Claims with the default issuer and audience, valid for `ttl` from now.
    pub fn new(
        user_id: &str,
        name: &str,
        role: &str,
        properties: &[String],
        ttl: Duration,
    ) -> Self {
        let now = unix_now();
        Self {
            iss: DEFAULT_ISSUER.into(),
            aud: DEFAULT_AUDIENCE.into(),
            sub: user_id.into(),
            name: name.into(),
            role: role.into(),
            properties: properties.to_vec(),
            iat: now,
            exp: now + ttl.as_secs(),
            nbf: None,
        }
    }
}

/// Signs `claims` with `key`: a PEM private key for EdDSA and RS256, the secret's bytes for
/// HS256.
pub fn sign_token(
    algorithm: KeyAlgorithm,
    key: &[u8],
    kid: &str,
    claims: &Claims,
) -> anyhow::Result<String> {
    let key = match algorithm {
        KeyAlgorithm::EdDSA => EncodingKey::from_ed_pem(key)?,
        KeyAlgorithm::RS256 => EncodingKey::from_rsa_pem(key)?,
        KeyAlgorithm::HS256 => EncodingKey::from_secret(key),
    };
    let mut header = Header::new(algorithm.jwt());
    header.kid = Some(kid.into());
    Ok(jsonwebtoken::encode(&header, claims, &key)?)
}

/// A development token (`wuye token`), signed with the development key.
pub fn sign_dev_token(
    role: &str,
    properties: &[String],
    user_id: &str,
    name: &str,
    ttl: Duration,
) -> anyhow::Result<String> {
    let claims = Claims::new(user_id, name, role, properties, ttl);
    sign_token(
        KeyAlgorithm::EdDSA,
        DEV_PRIVATE_KEY_PEM.as_bytes(),
        DEV_KID,
        &claims,
    )
}

/// What the gateway reads from a token; `iss`, `aud` and `exp` are checked by `Validation`.
#[derive(Deserialize)]
struct UserClaims {
    sub: String,
    #[serde(default)]
    name: String,
    role: String,
    #[serde(default)]
    properties: Vec<String>,
    iat: u64,
    exp: u64,
}

/// Verifies user tokens against the configured keys.
#[derive(Clone)]
pub struct Authenticator {
    keys: Arc<HashMap<String, (DecodingKey, Validation)>>,
    /// Tokens verified lately, with when the verdict lapses: an app sends the same token with
    /// every call, and checking its signature each time (Ed25519, RSA) costs more than the
    /// rest of the gateway's work on a call.
    verified: Arc<Mutex<HashMap<String, (User, u64)>>>,
    leeway: u64,
    max_lifetime: u64,
}

/// How many verified tokens are remembered; past that the memory starts afresh.
const VERIFIED_TOKENS: usize = 10_000;
/// How long a verdict is trusted at most, in seconds (and never past the token's expiry).
const VERIFIED_FOR_SECS: u64 = 60;

impl Authenticator {
    /// Verifies tokens signed with `settings.keys`; in development (`dev`) with the public
    /// development key when none is configured, and never with it otherwise.
    pub fn new(settings: &AuthSettings, dev: bool) -> anyhow::Result<Self> {
        let development = [VerifyKey::development()];
        let configured = match settings.keys.as_slice() {
            [] if dev => &development[..],
            [] => anyhow::bail!(
                "auth.keys is not configured: configure the keys of your identity provider \
                 (WUYE_GATEWAY__AUTH__KEYS), or run in development with dev = true \
                 (WUYE_GATEWAY__DEV)"
            ),
            keys => keys,
        };
        let mut keys = HashMap::new();
        for key in configured {
            anyhow::ensure!(!key.kid.is_empty(), "auth.keys: every key needs a kid");
            let decoding = key
                .decoding_key(dev)
                .with_context(|| format!("auth.keys: key {}", key.kid))?;
            // One algorithm per key: `alg: none` and algorithm confusion fail here.
            let mut validation = Validation::new(key.algorithm.jwt());
            validation.leeway = settings.leeway_secs;
            validation.validate_nbf = true;
            validation.set_issuer(&[&settings.issuer]);
            validation.set_audience(&[&settings.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            anyhow::ensure!(
                keys.insert(key.kid.clone(), (decoding, validation))
                    .is_none(),
                "auth.keys: kid {} is configured twice",
                key.kid
            );
        }
        Ok(Self {
            keys: Arc::new(keys),
            verified: Arc::default(),
            leeway: settings.leeway_secs,
            max_lifetime: settings.max_lifetime_secs,
        })
    }

    /// Verifies the bearer token of a call's metadata.
    pub fn authenticate_headers(&self, headers: &http::HeaderMap) -> Result<User, Error> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| Error::Unauthenticated("a bearer token is required".into()))?;
        self.authenticate(token)
    }

    /// Verifies a token; the caller learns only that it was refused, the log says why.
    pub fn authenticate(&self, token: &str) -> Result<User, Error> {
        let now = unix_now();
        if let Some((user, until)) = self.remembered(token)
            && now < until
        {
            return Ok(user);
        }
        let (user, exp) = self.verify(token).map_err(|reason| {
            tracing::info!(%reason, "token refused");
            Error::Unauthenticated("invalid token".into())
        })?;
        let until = exp.min(now + VERIFIED_FOR_SECS);
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(token.to_owned(), (user.clone(), until));
        }
        Ok(user)
    }

    fn remembered(&self, token: &str) -> Option<(User, u64)> {
        self.verified.lock().ok()?.get(token).cloned()
    }

    /// The token's user and expiry, if its signature and claims hold.
    fn verify(&self, token: &str) -> anyhow::Result<(User, u64)> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.context("token has no kid")?;
        let (key, validation) = self.keys.get(&kid).context("unknown kid")?;
        let claims = jsonwebtoken::decode::<UserClaims>(token, key, validation)?.claims;
        // `exp` and `nbf` are checked by the validation; a token issued in the future or
        // living longer than allowed is not one the provider should have issued.
        anyhow::ensure!(
            claims.iat <= unix_now() + self.leeway,
            "iat is in the future"
        );
        anyhow::ensure!(
            claims.exp.saturating_sub(claims.iat) <= self.max_lifetime,
            "the token lives longer than auth.max_lifetime_secs"
        );
        anyhow::ensure!(
            !claims.sub.is_empty() && !claims.role.is_empty(),
            "sub and role are required"
        );
        let user = User {
            name: if claims.name.is_empty() {
                claims.sub.clone()
            } else {
                claims.name
            },
            user_id: claims.sub,
            role: claims.role,
            properties: claims.properties,
        };
        Ok((user, claims.exp))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;

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
        assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
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
}
