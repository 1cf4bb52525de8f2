//! Encryption of personal identifiers at rest (ARC-6, ARC-11): ChaCha20-Poly1305 under a key
//! of the configured keyring (`encryption_keys` of [`crate::ServiceSettings`], from
//! `WUYE_<COMPONENT>__ENCRYPTION_KEYS`). Each value is stored with the id of its key, so keys
//! rotate without re-encrypting everything at once, and is bound to its row and field
//! (associated data), so a ciphertext copied into another row does not decrypt.
//!
//! The same keys also give keyed digests (HMAC-SHA-256 under a subkey of each key): a value
//! that must be compared but never read back, such as an identity document number (KEY-9),
//! is kept as its digest, which nobody without the keyring can recompute from a guess.

use std::collections::HashMap;

use crate::config::Secret;
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Generate, Payload},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NONCE_LEN: usize = 12;
/// The length of a keyed digest.
pub const DIGEST_LEN: usize = 32;
/// What the digest subkey of a key is derived for: never the encryption key itself.
const DIGEST_SUBKEY: &[u8] = b"wuye keyed digest v1";

type HmacSha256 = Hmac<Sha256>;

/// The development keyring. It is public (deploy/dev-keys/README.md): never use it with real
/// customer data, set `WUYE_<COMPONENT>__ENCRYPTION_KEYS`.
pub const DEV_KEYS: &str = "dev=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A value as stored: the key's id and nonce‖ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

impl Sealed {
    /// One self-describing value for a single column: the key id's length, the key id, then
    /// nonce‖ciphertext.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.key_id.len() + self.bytes.len());
        // Key ids are at most 32 bytes (checked by `Keyring::parse`).
        out.push(self.key_id.len() as u8);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Reads back what [`Sealed::to_bytes`] wrote.
    pub fn from_bytes(stored: &[u8]) -> anyhow::Result<Self> {
        let (&len, rest) = stored
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("sealed value is empty"))?;
        let len = usize::from(len);
        anyhow::ensure!(rest.len() > len + NONCE_LEN, "sealed value is too short");
        let (key_id, bytes) = rest.split_at(len);
        Ok(Self {
            key_id: std::str::from_utf8(key_id)?.to_owned(),
            bytes: bytes.to_vec(),
        })
    }
}

/// One key of the ring: the cipher, and the subkey of its keyed digests.
#[derive(Clone)]
struct Key {
    cipher: ChaCha20Poly1305,
    digest: [u8; DIGEST_LEN],
}

/// The keys personal identifiers are encrypted with; the first encrypts.
#[derive(Clone)]
pub struct Keyring {
    current: String,
    keys: HashMap<String, Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Parses `id=<64 hex digits>,id2=…`.
    pub fn parse(spec: &Secret) -> anyhow::Result<Self> {
        let mut current = None;
        let mut keys = HashMap::new();
        for entry in spec
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (id, hex_key) = entry
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("an encryption key entry is not id=hex"))?;
            let id = id.trim();
            anyhow::ensure!(
                !id.is_empty()
                    && id.len() <= 32
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "encryption key ids are 1 to 32 letters, digits, - or _"
            );
            let bytes = hex::decode(hex_key.trim())
                .map_err(|_| anyhow::anyhow!("encryption key {id} is not hex"))?;
            anyhow::ensure!(
                bytes.len() == 32,
                "encryption key {id} must be 32 bytes (64 hex digits)"
            );
            let cipher = ChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| anyhow::anyhow!("encryption key {id} must be 32 bytes"))?;
            let digest = mac(&bytes, &[DIGEST_SUBKEY]);
            anyhow::ensure!(
                keys.insert(id.to_owned(), Key { cipher, digest }).is_none(),
                "encryption key {id} is listed twice"
            );
            current.get_or_insert_with(|| id.to_owned());
        }
        let current = current.ok_or_else(|| anyhow::anyhow!("no encryption key is configured"))?;
        Ok(Self { current, keys })
    }

    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// The keyring of `spec`, the `encryption_keys` setting of `service`. In development an
    /// empty setting is the public development keyring; outside it the setting is required
    /// and may not hold the public development key.
    pub fn configured(spec: &Secret, service: &str, dev: bool) -> anyhow::Result<Self> {
        if spec.is_empty() {
            if !dev {
                return Err(crate::dev::refuse(
                    service,
                    "encryption_keys",
                    "is not configured",
                ));
            }
            return Self::parse(&Secret::new(DEV_KEYS));
        }
        let ring = Self::parse(spec)?;
        let public = Self::parse(&Secret::new(DEV_KEYS))?.keys["dev"].digest;
        if !dev && ring.keys.values().any(|key| key.digest == public) {
            return Err(crate::dev::refuse(
                service,
                "encryption_keys",
                "holds the public development key (deploy/dev-keys)",
            ));
        }
        Ok(ring)
    }

    /// Seals `clear` for `context` as one column value ([`Sealed::to_bytes`]); an empty value
    /// stays empty (`None`), as there is nothing to protect.
    pub fn seal_value(&self, context: &str, clear: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if clear.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.seal(context, clear)?.to_bytes()))
    }

    /// Opens a column value written by [`Keyring::seal_value`]; `None` is the empty value.
    pub fn open_value(&self, context: &str, stored: Option<&[u8]>) -> anyhow::Result<String> {
        match stored {
            None => Ok(String::new()),
            Some(bytes) => self.open(context, &Sealed::from_bytes(bytes)?),
        }
    }

    /// Encrypts `clear` for the place `context` (such as "household_file/<id>/phone").
    pub fn seal(&self, context: &str, clear: &str) -> anyhow::Result<Sealed> {
        let cipher = &self.keys[&self.current].cipher;
        let nonce =
            Nonce::try_generate().map_err(|e| anyhow::anyhow!("no randomness for a nonce: {e}"))?;
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: clear.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut bytes = nonce.as_slice().to_vec();
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: self.current.clone(),
            bytes,
        })
    }

    /// Decrypts a value sealed for `context` under any key of the ring.
    pub fn open(&self, context: &str, sealed: &Sealed) -> anyhow::Result<String> {
        let cipher = &self.key(&sealed.key_id)?.cipher;
        anyhow::ensure!(sealed.bytes.len() > NONCE_LEN, "sealed value is too short");
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
        let clear = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("a sealed value does not open with key {}", sealed.key_id)
            })?;
        Ok(String::from_utf8(clear)?)
    }

    fn key(&self, id: &str) -> anyhow::Result<&Key> {
        self.keys
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("encryption key {id} is not configured"))
    }

    /// The keyed digest of `value` for `context` under the current key, as one column value:
    /// the key id's length, the key id, then the 32 bytes of HMAC-SHA-256.
    pub fn digest_value(&self, context: &str, value: &[u8]) -> Vec<u8> {
        let digest = self.digest_with(&self.current, context, value);
        let mut out = Vec::with_capacity(1 + self.current.len() + DIGEST_LEN);
        out.push(self.current.len() as u8);
        out.extend_from_slice(self.current.as_bytes());
        out.extend_from_slice(&digest);
        out
    }

    /// Whether `value` is the one whose digest [`Keyring::digest_value`] stored, under the key
    /// it was made with; the comparison takes the same time wherever the bytes differ.
    pub fn digest_matches(
        &self,
        context: &str,
        value: &[u8],
        stored: &[u8],
    ) -> anyhow::Result<bool> {
        let (&len, rest) = stored
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("stored digest is empty"))?;
        let len = usize::from(len);
        anyhow::ensure!(
            rest.len() == len + DIGEST_LEN,
            "stored digest has a bad length"
        );
        let (key_id, expected) = rest.split_at(len);
        let key_id = std::str::from_utf8(key_id)?;
        let mut mac = HmacSha256::new_from_slice(&self.key(key_id)?.digest)
            .expect("HMAC takes any key length");
        digest_input(&mut mac, context, value);
        Ok(mac.verify_slice(expected).is_ok())
    }

    /// The keyed digest of `value` for `context` under the key `key_id`: for chains whose
    /// links record the key they were made with.
    pub fn digest_with_key(
        &self,
        key_id: &str,
        context: &str,
        value: &[u8],
    ) -> anyhow::Result<[u8; DIGEST_LEN]> {
        self.key(key_id)?;
        Ok(self.digest_with(key_id, context, value))
    }

    fn digest_with(&self, key_id: &str, context: &str, value: &[u8]) -> [u8; DIGEST_LEN] {
        let mut mac = HmacSha256::new_from_slice(&self.keys[key_id].digest)
            .expect("HMAC takes any key length");
        digest_input(&mut mac, context, value);
        mac.finalize().into_bytes().into()
    }
}

/// The context and the value, the context's length first so that no split of one string
/// into the two gives another's digest.
fn digest_input(mac: &mut HmacSha256, context: &str, value: &[u8]) {
    mac.update(&(context.len() as u64).to_be_bytes());
    mac.update(context.as_bytes());
    mac.update(value);
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn sealed_values_open_and_hide_the_clear_text() {
        let ring = Keyring::parse(&Secret::new(K1)).unwrap();
        let sealed = ring.seal("f1/phone", "13800138000").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!String::from_utf8_lossy(&sealed.bytes).contains("13800138000"));
        assert_eq!(ring.open("f1/phone", &sealed).unwrap(), "13800138000");
        // Bound to its place: the same bytes elsewhere do not open.
        assert!(ring.open("f2/phone", &sealed).is_err());
        // A fresh nonce each time.
        assert_ne!(ring.seal("f1/phone", "13800138000").unwrap(), sealed);
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = Keyring::parse(&Secret::new(K1)).unwrap();
        let sealed = old.seal("c", "110101199001011234").unwrap();
        let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
        assert_eq!(rotated.current_key_id(), "k2");
        assert_eq!(rotated.open("c", &sealed).unwrap(), "110101199001011234");
        assert_eq!(rotated.seal("c", "x").unwrap().key_id, "k2");
        let without_old = Keyring::parse(&Secret::new(K2)).unwrap();
        assert!(without_old.open("c", &sealed).is_err());
    }

    #[test]
    fn column_values_carry_their_key() {
        let old = Keyring::parse(&Secret::new(K1)).unwrap();
        let stored = old.seal_value("t/1/phone", "13800138000").unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains("13800138000"));
        let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
        assert_eq!(
            rotated.open_value("t/1/phone", Some(&stored)).unwrap(),
            "13800138000"
        );
        assert!(rotated.open_value("t/2/phone", Some(&stored)).is_err());
        let fresh = rotated.seal_value("t/1/phone", "1").unwrap().unwrap();
        assert_eq!(Sealed::from_bytes(&fresh).unwrap().key_id, "k2");
        assert_eq!(rotated.seal_value("t/1/phone", "").unwrap(), None);
        assert_eq!(rotated.open_value("t/1/phone", None).unwrap(), "");
        assert!(Sealed::from_bytes(&[]).is_err());
        assert!(Sealed::from_bytes(&[5, b'k']).is_err());
        assert!(Keyring::parse(&Secret::new(DEV_KEYS)).is_ok());
    }

    #[test]
    fn digests_match_only_their_value_context_and_keyring() {
        let old = Keyring::parse(&Secret::new(K1)).unwrap();
        let stored = old.digest_value("set/1/collector/0", b"110101199001011234");
        assert!(
            old.digest_matches("set/1/collector/0", b"110101199001011234", &stored)
                .unwrap()
        );
        // Another number ending the same way, another place, another keyring: no match.
        assert!(
            !old.digest_matches("set/1/collector/0", b"110101198801011234", &stored)
                .unwrap()
        );
        assert!(
            !old.digest_matches("set/2/collector/0", b"110101199001011234", &stored)
                .unwrap()
        );
        let other = Keyring::parse(&Secret::new(K2.replace("k2", "k1"))).unwrap();
        assert!(
            !other
                .digest_matches("set/1/collector/0", b"110101199001011234", &stored)
                .unwrap()
        );
        // Deterministic under one key, so equal values can be found; rotation keeps old
        // digests checkable under the key they name.
        assert_eq!(
            stored,
            old.digest_value("set/1/collector/0", b"110101199001011234")
        );
        let rotated = Keyring::parse(&Secret::new(format!("{K2},{K1}"))).unwrap();
        assert!(
            rotated
                .digest_matches("set/1/collector/0", b"110101199001011234", &stored)
                .unwrap()
        );
        assert_ne!(
            rotated.digest_value("set/1/collector/0", b"110101199001011234"),
            stored
        );
        // The digest key is not the encryption key: the digest is not a MAC under it.
        assert_ne!(
            &stored[3..],
            &mac(&hex::decode(&K1[3..]).unwrap(), &[b"110101199001011234"])
        );
        assert!(old.digest_matches("c", b"x", &[]).is_err());
        assert!(
            Keyring::parse(&Secret::new(K2))
                .unwrap()
                .digest_matches("set/1/collector/0", b"110101199001011234", &stored)
                .is_err()
        );
    }

    #[test]
    fn bad_keyrings_are_refused() {
        for spec in [
            "",
            "k1",
            "k1=00",
            "k1=zz",
            &format!("{K1},{K1}"),
            "bad id=00",
        ] {
            assert!(Keyring::parse(&Secret::new(spec)).is_err(), "{spec}");
        }
    }
}
