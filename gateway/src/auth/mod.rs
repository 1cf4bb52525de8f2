//! Authentication of callers: a bearer JWT in the `authorization` metadata. Which way it is
//! checked follows its (unverified) `iss` claim:
//! - an issuer of `auth.oidc` (the company's OpenID Connect provider): an ID token, verified by
//!   discovery and the provider's JWKS (cached, refetched on an unknown `kid` and every
//!   `jwks_refresh_secs`), whose person claim is looked up in the staff directory; the person
//!   acts in one of their current posts per call (`x-wuye-post`);
//! - `auth.issuer` ("wuye"): a script token of the static keys (`auth.keys`), role and
//!   properties from its claims;
//! - anything else: refused `UNKNOWN_ISSUER`.
//!
//! Every refusal is `UNAUTHENTICATED` with an `ErrorInfo` reason (see [`reason`]); the log says
//! why in detail, never with the token or the person's data.

mod dev_issuer;
pub mod dev_people;
mod directory;
mod issuer;
mod oidc;
mod post;
mod static_keys;

use serde::{Deserialize, Serialize};
use wuye_kit::Error;

pub use dev_issuer::{DEV_ISSUER_PATH, DevIssuer, dev_issuer_absent, dev_issuer_url};
pub use directory::{Held, SignedIn, StaffDirectory};
pub use issuer::Issuer;
pub use oidc::Oidc;
pub use post::{POST_HEADER, choose_post};
pub use static_keys::{
    Authenticator, Claims, DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEV_KID, DEV_PRIVATE_KEY_PEM,
    DEV_PUBLIC_KEY_PEM, KeyAlgorithm, User, VerifyKey, sign_dev_token, sign_token,
};
/// The HTTP client of the providers' documents.
pub use wuye_kit::http::Client as Fetcher;
pub use wuye_kit::oidc::{JwksKey, parse_jwks};

/// Clock skew tolerated on `exp`, `nbf` and `iat` by default.
pub(crate) const LEEWAY_SECS: u64 = 30;
/// The longest a token may live by default (`exp` − `iat`): a working day.
pub(crate) const MAX_LIFETIME_SECS: u64 = 12 * 3600;

/// The `ErrorInfo` reasons of refused credentials (`UNAUTHENTICATED`).
pub mod reason {
    /// Past its `exp` (and the leeway): sign in again.
    pub const TOKEN_EXPIRED: &str = "TOKEN_EXPIRED";
    /// Its `iss` is neither a configured OpenID provider nor the script tokens' issuer.
    pub const UNKNOWN_ISSUER: &str = "UNKNOWN_ISSUER";
    /// Its `aud` (or `azp`) names no client this gateway accepts.
    pub const WRONG_AUDIENCE: &str = "WRONG_AUDIENCE";
    /// Malformed, badly signed, an unknown `kid`, a refused algorithm, a claim missing.
    pub const BAD_TOKEN: &str = "BAD_TOKEN";
    /// Nobody in the staff directory signs in with the token's person claim.
    pub const NOT_IN_DIRECTORY: &str = "NOT_IN_DIRECTORY";
    /// The person left the company.
    pub const STAFF_LEFT: &str = "STAFF_LEFT";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Required `iss` of script tokens (`wuye token`).
    pub issuer: String,
    /// Required `aud` of script tokens.
    pub audience: String,
    /// Keys script tokens may be signed with, chosen by the token header's `kid`. Outside
    /// development these (or `oidc`) must be configured; in development none means the public
    /// development key.
    pub keys: Vec<VerifyKey>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// The longest lifetime (`exp` − `iat`) of a token accepted, in seconds.
    pub max_lifetime_secs: u64,
    /// The company's OpenID Connect providers whose ID tokens sign staff in.
    pub oidc: Vec<OidcIssuerSettings>,
    /// How long the staff directory's answer for a sign-in is used, in seconds: a person who
    /// left, or whose posts changed, is seen within this.
    pub directory_cache_secs: u64,
    /// The longest wait for a provider's discovery document or JWKS, in milliseconds.
    pub fetch_timeout_ms: u64,
    /// The largest discovery document or JWKS read, in bytes.
    pub fetch_max_bytes: usize,
    /// Development only: serve the development sign-in (`/dev/oidc`) and trust its issuer;
    /// off, a development gateway has no such routes and trusts only the configured issuers.
    pub dev_sign_in: bool,
    /// Development only: the lifetime of the development issuer's ID tokens, in seconds.
    pub dev_token_ttl_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
            keys: Vec::new(),
            leeway_secs: LEEWAY_SECS,
            max_lifetime_secs: MAX_LIFETIME_SECS,
            oidc: Vec::new(),
            directory_cache_secs: 10,
            fetch_timeout_ms: 5_000,
            fetch_max_bytes: 1024 * 1024,
            dev_sign_in: true,
            dev_token_ttl_secs: 3600,
        }
    }
}

/// The signature algorithms accepted from an OpenID provider: `none` and the HMAC ones
/// cannot be named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OidcAlgorithm {
    RS256,
    ES256,
    EdDSA,
}

impl OidcAlgorithm {
    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            OidcAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            OidcAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            OidcAlgorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// One OpenID Connect provider (issuer) of the company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcIssuerSettings {
    /// The issuer URL, exactly as the ID tokens' `iss` and the discovery document's `issuer`
    /// say it (such as `https://sso.example.com/realms/wuye`).
    pub issuer: String,
    /// The client ids of the company's wuye apps at this provider: an ID token's `aud` must
    /// name one (and its `azp`, when it names several).
    pub audiences: Vec<String>,
    /// The claim whose value the staff directory knows as a person's `sign_in`: `sub`
    /// (default), `email`, `preferred_username`, …
    pub person_claim: String,
    /// The discovery document's URL, when not `<issuer>/.well-known/openid-configuration`.
    pub discovery_url: String,
    /// How often the provider's keys are fetched again, in seconds.
    pub jwks_refresh_secs: u64,
    /// The least time between two fetches of the keys, in seconds: a token with an unknown
    /// `kid` triggers a fetch at most this often.
    pub min_refetch_secs: u64,
    /// The signature algorithms accepted.
    pub algorithms: Vec<OidcAlgorithm>,
}

impl Default for OidcIssuerSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audiences: Vec::new(),
            person_claim: "sub".into(),
            discovery_url: String::new(),
            jwks_refresh_secs: 3600,
            min_refetch_secs: 10,
            algorithms: vec![
                OidcAlgorithm::RS256,
                OidcAlgorithm::ES256,
                OidcAlgorithm::EdDSA,
            ],
        }
    }
}

impl OidcIssuerSettings {
    /// The discovery document's URL.
    pub fn discovery(&self) -> String {
        if self.discovery_url.is_empty() {
            wuye_kit::oidc::discovery_url(&self.issuer)
        } else {
            self.discovery_url.clone()
        }
    }
}

/// Why a credential was refused: the reason the caller learns, and the detail the log keeps.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub reason: &'static str,
    pub detail: String,
}

impl Refusal {
    pub fn new(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }

    pub fn bad(detail: impl Into<String>) -> Self {
        Self::new(reason::BAD_TOKEN, detail)
    }

    /// A refusal of the JWT library, by its kind.
    pub fn jwt(e: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        let reason = match e.kind() {
            ErrorKind::ExpiredSignature => reason::TOKEN_EXPIRED,
            ErrorKind::InvalidAudience => reason::WRONG_AUDIENCE,
            ErrorKind::InvalidIssuer => reason::UNKNOWN_ISSUER,
            _ => reason::BAD_TOKEN,
        };
        Self::new(reason, e.to_string())
    }

    /// The error the caller gets; the detail goes to the log only.
    pub fn into_error(self) -> Error {
        tracing::info!(reason = self.reason, detail = %self.detail, "token refused");
        Error::refused(self.reason, message(self.reason))
    }
}

/// What a caller is told for each reason: nothing of the token or the person.
fn message(reason: &str) -> &'static str {
    match reason {
        reason::TOKEN_EXPIRED => "the token expired: sign in again",
        reason::UNKNOWN_ISSUER => "the token's issuer is not one this gateway trusts",
        reason::WRONG_AUDIENCE => "the token was not issued for this gateway (audience)",
        reason::NOT_IN_DIRECTORY => "nobody in the staff directory signs in with this account",
        reason::STAFF_LEFT => "this account's person has left the company",
        _ => "invalid token",
    }
}

/// The bearer token of a call's metadata.
pub fn bearer(headers: &http::HeaderMap) -> Result<&str, Error> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or_else(|| Error::Unauthenticated("a bearer token is required".into()))
}

/// The token's `iss`, unverified: only to choose how to verify it.
pub fn unverified_issuer(token: &str) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    jsonwebtoken::dangerous::insecure_decode_claims::<Iss>(token)
        .map(|claims| claims.iss)
        .map_err(|e| Refusal::bad(format!("no readable iss: {e}")).into_error())
}

/// A token issued in the future or living longer than allowed is not one the issuer should
/// have issued (`exp` and `nbf` are checked by the JWT validation).
pub(crate) fn check_lifetime(
    iat: u64,
    exp: u64,
    leeway: u64,
    max_lifetime: u64,
) -> Result<(), Refusal> {
    if iat > unix_now() + leeway {
        return Err(Refusal::bad("iat is in the future"));
    }
    if exp.saturating_sub(iat) > max_lifetime {
        return Err(Refusal::bad(
            "the token lives longer than auth.max_lifetime_secs",
        ));
    }
    Ok(())
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
