//! ID tokens of the company's OpenID providers: verified with the provider's keys, their
//! person claim looked up in the staff directory.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use wuye_kit::Error;

use super::{Issuer, Refusal, SignedIn, StaffDirectory, check_lifetime, reason, unix_now};

/// How many verified tokens are remembered; past that the memory starts afresh.
const VERIFIED_TOKENS: usize = 10_000;
/// How long a verdict is trusted at most, in seconds (and never past the token's expiry nor
/// the directory's cache time).
const VERIFIED_FOR_SECS: u64 = 60;

/// The OpenID providers and the directory behind them.
pub struct Oidc {
    issuers: HashMap<String, Arc<Issuer>>,
    directory: StaffDirectory,
    /// Token → (issuer, person claim value, when the verdict lapses). Only the sign-in is
    /// kept: the person and their posts come from the directory's cache on every call.
    verified: Mutex<HashMap<String, (String, String, u64)>>,
    leeway: u64,
    max_lifetime: u64,
    verified_for: u64,
}

impl Oidc {
    pub fn new(
        issuers: Vec<Arc<Issuer>>,
        directory: StaffDirectory,
        leeway: u64,
        max_lifetime: u64,
        directory_cache_secs: u64,
    ) -> anyhow::Result<Self> {
        let mut by_name = HashMap::new();
        for issuer in issuers {
            let name = issuer.name().to_owned();
            anyhow::ensure!(
                by_name.insert(name.clone(), issuer).is_none(),
                "auth.oidc: issuer {name} is configured twice"
            );
        }
        Ok(Self {
            issuers: by_name,
            directory,
            verified: Mutex::default(),
            leeway,
            max_lifetime,
            verified_for: VERIFIED_FOR_SECS.min(directory_cache_secs),
        })
    }

    /// Whether `iss` is one of the providers.
    pub fn knows(&self, iss: &str) -> bool {
        self.issuers.contains_key(iss)
    }

    pub fn issuers(&self) -> impl Iterator<Item = &Arc<Issuer>> {
        self.issuers.values()
    }

    /// The person an ID token of `iss` (one of the providers) signs in.
    pub async fn authenticate(&self, iss: &str, token: &str) -> Result<SignedIn, Error> {
        let now = unix_now();
        let remembered = self
            .verified
            .lock()
            .ok()
            .and_then(|v| v.get(token).cloned());
        let sign_in = match remembered {
            Some((issuer, sign_in, until)) if issuer == iss && now < until => sign_in,
            _ => {
                let (sign_in, exp) = self.verify(iss, token).await?;
                let until = exp.min(now + self.verified_for);
                if let Ok(mut verified) = self.verified.lock() {
                    if verified.len() >= VERIFIED_TOKENS {
                        verified.clear();
                    }
                    verified.insert(token.to_owned(), (iss.to_owned(), sign_in.clone(), until));
                }
                sign_in
            }
        };
        self.directory.sign_in(&sign_in).await
    }

    /// The token's person claim and expiry, if its signature and claims hold.
    async fn verify(&self, iss: &str, token: &str) -> Result<(String, u64), Error> {
        let issuer = self.issuers.get(iss).ok_or_else(|| {
            Refusal::new(reason::UNKNOWN_ISSUER, "not a configured issuer").into_error()
        })?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Refusal::jwt(e).into_error())?;
        if !issuer.algorithms.contains(&header.alg) {
            return Err(Refusal::bad(format!(
                "algorithm {:?} is not accepted from {iss}",
                header.alg
            ))
            .into_error());
        }
        let key = issuer.key(&header).await?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[iss]);
        validation.set_audience(&issuer.settings.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| Refusal::jwt(e).into_error())?
            .claims;
        self.check_claims(
            &claims,
            &issuer.settings.audiences,
            &issuer.settings.person_claim,
        )
        .map_err(Refusal::into_error)
    }

    /// What the validation does not check: `iat`, the lifetime, `azp`, the person claim.
    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        audiences: &[String],
        person_claim: &str,
    ) -> Result<(String, u64), Refusal> {
        let number = |name: &str| claims.get(name).and_then(Value::as_u64);
        let iat = number("iat").ok_or_else(|| Refusal::bad("no iat"))?;
        let exp = number("exp").ok_or_else(|| Refusal::bad("no exp"))?;
        check_lifetime(iat, exp, self.leeway, self.max_lifetime)?;
        let several = claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|aud| aud.len() > 1);
        match claims.get("azp") {
            Some(Value::String(azp)) if audiences.contains(azp) => {}
            None if !several => {}
            _ => {
                return Err(Refusal::new(
                    reason::WRONG_AUDIENCE,
                    "azp is missing or not one of the audiences",
                ));
            }
        }
        let person = match claims.get(person_claim) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(Refusal::bad(format!("no {person_claim} claim"))),
        };
        Ok((person, exp))
    }
}

#[cfg(test)]
#[path = "tests/oidc.rs"]
mod tests;
