//! What the gateway and `wuye login` both read of an OpenID provider: its discovery document
//! and its JSON Web Key Set. Only signature keys of the families wuye verifies are kept: RSA
//! (RS256), EC P-256 (ES256), OKP Ed25519 (EdDSA); a key that does not parse, or is for
//! something else, is skipped (and said why).

use std::collections::HashMap;

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};
use serde::Deserialize;

/// The discovery document's URL of `issuer` (`<issuer>/.well-known/openid-configuration`).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// The parts of a provider's discovery document wuye reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
}

impl Discovery {
    /// The document must name `issuer`, exactly (OpenID Connect Discovery 4.3).
    pub fn check_issuer(&self, issuer: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.issuer == issuer,
            "the discovery document names the issuer {:?}, not {issuer}",
            self.issuer
        );
        Ok(())
    }
}

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

/// The usable keys of a JWKS document by `kid` (a key without one under "").
pub type Keys = HashMap<String, JwksKey>;

/// Why no key of a set verifies a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoKey {
    /// The set holds no key of the token's `kid` ("" for a token without one).
    Unknown(String),
    /// The key named does not verify tokens of the header's algorithm.
    Refused(Algorithm),
}

impl std::fmt::Display for NoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoKey::Unknown(kid) => write!(f, "unknown kid {kid:?}"),
            NoKey::Refused(alg) => write!(f, "the key does not sign {alg:?} tokens"),
        }
    }
}

impl std::error::Error for NoKey {}

/// The key of `keys` that verifies a token of `header`: the one of its `kid` (a token without
/// a `kid`: the key without one, or the set's only key), if it accepts the header's algorithm.
pub fn key_for<'k>(keys: &'k Keys, header: &jsonwebtoken::Header) -> Result<&'k JwksKey, NoKey> {
    let kid = header.kid.as_deref().unwrap_or_default();
    let only = || (header.kid.is_none() && keys.len() == 1).then(|| keys.values().next())?;
    let key = keys
        .get(kid)
        .or_else(only)
        .ok_or_else(|| NoKey::Unknown(kid.to_owned()))?;
    if !key.accepts(header.alg) {
        return Err(NoKey::Refused(header.alg));
    }
    Ok(key)
}

/// The usable keys of a JWKS document, and what was skipped, with why.
pub fn parse_jwks(document: &serde_json::Value) -> (Keys, Vec<String>) {
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

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, jwk::Jwk};
    use serde_json::json;

    use super::*;

    /// A JWK of the public development Ed25519 key, with `kid` if given.
    fn ed_jwk(kid: Option<&str>) -> serde_json::Value {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../deploy/dev-keys/jwt-ed25519.pem"),
        )
        .unwrap();
        let key = EncodingKey::from_ed_pem(&pem).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap();
        jwk.common.key_id = kid.map(str::to_owned);
        serde_json::to_value(jwk).unwrap()
    }

    fn header(alg: Algorithm, kid: Option<&str>) -> Header {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        header
    }

    #[test]
    fn the_key_is_the_one_of_the_kid_and_must_accept_the_algorithm() {
        let (keys, skipped) =
            parse_jwks(&json!({"keys": [ed_jwk(Some("k1")), ed_jwk(Some("k2"))]}));
        assert!(skipped.is_empty(), "{skipped:?}");
        assert!(key_for(&keys, &header(Algorithm::EdDSA, Some("k1"))).is_ok());
        assert_eq!(
            key_for(&keys, &header(Algorithm::EdDSA, Some("k3"))).unwrap_err(),
            NoKey::Unknown("k3".into())
        );
        assert_eq!(
            key_for(&keys, &header(Algorithm::RS256, Some("k1"))).unwrap_err(),
            NoKey::Refused(Algorithm::RS256)
        );
        // Without a kid: only where the set leaves no doubt.
        assert!(key_for(&keys, &header(Algorithm::EdDSA, None)).is_err());
        let (one, _) = parse_jwks(&json!({"keys": [ed_jwk(Some("k1"))]}));
        assert!(key_for(&one, &header(Algorithm::EdDSA, None)).is_ok());
        let (unnamed, _) = parse_jwks(&json!({"keys": [ed_jwk(None), ed_jwk(Some("k1"))]}));
        assert!(key_for(&unnamed, &header(Algorithm::EdDSA, None)).is_ok());
    }

    #[test]
    fn the_discovery_document_must_name_its_issuer_exactly() {
        let found: Discovery = serde_json::from_value(json!({
            "issuer": "https://sso.example.com/realms/wuye",
            "jwks_uri": "https://sso.example.com/realms/wuye/certs",
        }))
        .unwrap();
        assert!(
            found
                .check_issuer("https://sso.example.com/realms/wuye")
                .is_ok()
        );
        assert!(
            found
                .check_issuer("https://sso.example.com/realms/wuye/")
                .is_err()
        );
        assert!(found.check_issuer("https://impostor.example").is_err());
        assert_eq!(found.token_endpoint, None);
        assert_eq!(
            discovery_url("https://sso.example.com/realms/wuye/"),
            "https://sso.example.com/realms/wuye/.well-known/openid-configuration"
        );
    }
}
