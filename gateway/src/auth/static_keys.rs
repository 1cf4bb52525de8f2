//! Script tokens: bearer JWTs of the issuer `auth.issuer` ("wuye"), minted by `wuye token` (or
//! a company's own tooling for scripts and service accounts) and signed with one of the
//! configured static keys. Role and properties come from the claims. The token's `kid` picks
//! the key, so keys rotate by configuring old and new together.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use wuye_kit::{Error, config::Secret};

use super::{AuthSettings, Refusal, unix_now};

/// The development signing key. It is public in the repository: never trust it in production.
pub const DEV_PRIVATE_KEY_PEM: &str = include_str!("../../../deploy/dev-keys/jwt-ed25519.pem");
/// The public half of [`DEV_PRIVATE_KEY_PEM`], the default verification key.
pub const DEV_PUBLIC_KEY_PEM: &str = include_str!("../../../deploy/dev-keys/jwt-ed25519.pub.pem");
/// The `kid` of the development key.
pub const DEV_KID: &str = "dev-1";
/// Default `iss` and `aud` of user tokens.
pub const DEFAULT_ISSUER: &str = "wuye";
pub const DEFAULT_AUDIENCE: &str = "wuye";

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
        self.authenticate(super::bearer(headers)?)
    }

    /// Verifies a token; the caller learns only that it was refused, the log says why.
    pub fn authenticate(&self, token: &str) -> Result<User, Error> {
        let now = unix_now();
        if let Some((user, until)) = self.remembered(token)
            && now < until
        {
            return Ok(user);
        }
        let (user, exp) = self.verify(token).map_err(Refusal::into_error)?;
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
    fn verify(&self, token: &str) -> Result<(User, u64), Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(Refusal::jwt)?;
        let kid = header.kid.ok_or_else(|| Refusal::bad("token has no kid"))?;
        let (key, validation) = self
            .keys
            .get(&kid)
            .ok_or_else(|| Refusal::bad("unknown kid"))?;
        let claims = jsonwebtoken::decode::<UserClaims>(token, key, validation)
            .map_err(Refusal::jwt)?
            .claims;
        // `exp` and `nbf` are checked by the validation; a token issued in the future or
        // living longer than allowed is not one the provider should have issued.
        super::check_lifetime(claims.iat, claims.exp, self.leeway, self.max_lifetime)?;
        if claims.sub.is_empty() || claims.role.is_empty() {
            return Err(Refusal::bad("sub and role are required"));
        }
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

#[cfg(test)]
#[path = "tests/static_keys.rs"]
mod tests;
