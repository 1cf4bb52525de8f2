//! A provider's JSON Web Key Set: the signing keys by `kid`. Only signature keys of the
//! families wuye verifies are kept: RSA (RS256), EC P-256 (ES256), OKP Ed25519 (EdDSA); a
//! key that does not parse, or is for something else, is skipped (and named in the log).

use std::collections::HashMap;

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};

/// The kinds of keys wuye verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Rsa,
    EcP256,
    Ed25519,
}

impl Family {
    /// Whether tokens signed with `alg` can be verified with a key of this family.
    pub fn fits(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (Family::Rsa, Algorithm::RS256)
                | (Family::EcP256, Algorithm::ES256)
                | (Family::Ed25519, Algorithm::EdDSA)
        )
    }
}

/// One verification key of a provider.
#[derive(Clone)]
pub struct JwksKey {
    pub key: DecodingKey,
    pub family: Family,
    /// The key's own `alg`, when it names one: a token must then be signed with that.
    pub alg: Option<Algorithm>,
}

impl std::fmt::Debug for JwksKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksKey")
            .field("family", &self.family)
            .field("alg", &self.alg)
            .finish()
    }
}

impl JwksKey {
    /// Whether a token whose header says `alg` may be verified with this key.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.family.fits(alg) && self.alg.is_none_or(|own| own == alg)
    }
}

/// The usable keys of a JWKS document by `kid` (a key without one under ""), and what was
/// skipped, with why.
pub fn parse_jwks(document: &serde_json::Value) -> (HashMap<String, JwksKey>, Vec<String>) {
    let mut keys = HashMap::new();
    let mut skipped = Vec::new();
    let Some(listed) = document.get("keys").and_then(|k| k.as_array()) else {
        skipped.push("the document has no keys array".to_owned());
        return (keys, skipped);
    };
    for (i, value) in listed.iter().enumerate() {
        let kid = value
            .get("kid")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_owned();
        match parse_key(value) {
            Ok(key) => {
                if keys.insert(kid.clone(), key).is_some() {
                    skipped.push(format!(
                        "key {i} (kid {kid:?}): kid listed twice, last kept"
                    ));
                }
            }
            Err(why) => skipped.push(format!("key {i} (kid {kid:?}): {why}")),
        }
    }
    (keys, skipped)
}

fn parse_key(value: &serde_json::Value) -> Result<JwksKey, String> {
    let jwk: Jwk = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    if let Some(usage) = &jwk.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        return Err("not a signature key (use)".into());
    }
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Family::Rsa,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Family::EcP256,
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Family::Ed25519
        }
        AlgorithmParameters::OctetKey(_) => return Err("a shared secret is never accepted".into()),
        _ => return Err("not an RSA, P-256 or Ed25519 key".into()),
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(other) => return Err(format!("algorithm {other:?} is not verified here")),
    };
    if let Some(alg) = alg
        && !family.fits(alg)
    {
        return Err(format!("algorithm {alg:?} does not fit a {family:?} key"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    Ok(JwksKey { key, family, alg })
}
