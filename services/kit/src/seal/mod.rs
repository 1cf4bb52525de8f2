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
        Ok(String::from_utf8(self.open_bytes_value(context, stored)?)?)
    }

    /// [`Keyring::seal_value`] of bytes (a signature image); empty stays `None`.
    pub fn seal_bytes_value(&self, context: &str, clear: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        if clear.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.seal_bytes(context, clear)?.to_bytes()))
    }

    /// Opens bytes written by [`Keyring::seal_bytes_value`] (or a text by
    /// [`Keyring::seal_value`]); `None` is empty.
    pub fn open_bytes_value(
        &self,
        context: &str,
        stored: Option<&[u8]>,
    ) -> anyhow::Result<Vec<u8>> {
        match stored {
            None => Ok(Vec::new()),
            Some(bytes) => self.open_bytes(context, &Sealed::from_bytes(bytes)?),
        }
    }

    /// Encrypts `clear` for the place `context` (such as "household_file/<id>/phone").
    pub fn seal(&self, context: &str, clear: &str) -> anyhow::Result<Sealed> {
        self.seal_bytes(context, clear.as_bytes())
    }

    /// Encrypts the bytes `clear` for the place `context`.
    pub fn seal_bytes(&self, context: &str, clear: &[u8]) -> anyhow::Result<Sealed> {
        let cipher = &self.keys[&self.current].cipher;
        let nonce =
            Nonce::try_generate().map_err(|e| anyhow::anyhow!("no randomness for a nonce: {e}"))?;
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: clear,
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
        Ok(String::from_utf8(self.open_bytes(context, sealed)?)?)
    }

    /// Decrypts bytes sealed for `context` under any key of the ring.
    pub fn open_bytes(&self, context: &str, sealed: &Sealed) -> anyhow::Result<Vec<u8>> {
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
        Ok(clear)
    }

    fn key(&self, id: &str) -> anyhow::Result<&Key> {
        self.keys
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("encryption key {id} is not configured"))
    }

    /// The keyed digest of `value` for `context` under the current key, as one column value:
    /// the key id's length, the key id, then the 32 bytes of HMAC-SHA-256.
    pub fn digest_value(&self, context: &str, value: &[u8]) -> Vec<u8> {
        self.digest_value_with(&self.current, context, value)
    }

    /// [`Keyring::digest_value`] under every key of the ring, the current one first: what a
    /// digest stored under any of them is, so values digested before a rotation are found.
    pub fn digest_values_every_key(&self, context: &str, value: &[u8]) -> Vec<Vec<u8>> {
        let mut ids: Vec<&String> = self.keys.keys().filter(|id| **id != self.current).collect();
        ids.sort();
        std::iter::once(&self.current)
            .chain(ids)
            .map(|id| self.digest_value_with(id, context, value))
            .collect()
    }

    /// How many keys the ring holds.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn digest_value_with(&self, key_id: &str, context: &str, value: &[u8]) -> Vec<u8> {
        let digest = self.digest_with(key_id, context, value);
        let mut out = Vec::with_capacity(1 + key_id.len() + DIGEST_LEN);
        out.push(key_id.len() as u8);
        out.extend_from_slice(key_id.as_bytes());
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

// Chunked sealing of streams: content too large to hold in memory at once (a scanned ID card,
// a 50 MB house file; ARC-6), sealed and opened piece by piece.

/// What a sealed stream starts with, so that content stored in clear before streams were
/// sealed is told apart: a non-ASCII first byte and a line break, as PNG does, which no text
/// and no common document format begins with.
pub const STREAM_MAGIC: &[u8; 8] = b"\x89WUYESL\n";
/// The format of [`StreamSealer`]'s output.
const STREAM_VERSION: u8 = 1;
/// Clear bytes per chunk. 64 KiB keeps the overhead (16 bytes a chunk) at 0.02 % and what a
/// reader holds back to one chunk; the size is recorded in each stream's header, so a change
/// here leaves streams sealed before readable.
pub const STREAM_CHUNK_BYTES: usize = 64 * 1024;
/// The largest chunk a header may announce: bounds what a reader buffers whatever it is given.
const MAX_STREAM_CHUNK_BYTES: usize = 16 * 1024 * 1024;
const STREAM_PREFIX_LEN: usize = 7;
/// The random salt each stream's own key is derived from.
const STREAM_SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
/// What a stream's key is derived for (a keyed digest of its salt): never a digest of a value.
const STREAM_KEY_CONTEXT: &str = "wuye sealed stream key v1";

/// Seals a stream in chunks (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
/// Vizár, as in `aead::stream`): the header is the magic, the format version, the chunk size,
/// the key id, a random salt and a random nonce prefix; each chunk is ChaCha20-Poly1305 under
/// the nonce prefix ‖ chunk counter (32 bits) ‖ last-chunk flag, with the context and the whole
/// header as associated data. So a chunk opens only in its place, in its stream, for its
/// context and key; a stream cut at a chunk boundary does not end with a last chunk and is
/// refused.
///
/// The chunks are sealed under a key of the stream's own, a keyed digest of its salt under the
/// ring's key: a 56-bit nonce prefix alone could repeat across millions of documents sealed
/// under one key, and a repeated nonce would expose both streams.
pub struct StreamSealer {
    chunker: Chunker,
    key_id: String,
    header: Option<Vec<u8>>,
    /// Clear bytes not sealed yet: the last chunk is sealed only once the end is known.
    pending: Vec<u8>,
}

/// Opens what a [`StreamSealer`] wrote, releasing only clear bytes whose chunk authenticated.
pub struct StreamOpener {
    keyring: Keyring,
    context: String,
    /// Sealed bytes not opened yet (the header, then at most a chunk and what follows it).
    pending: Vec<u8>,
    chunker: Option<Chunker>,
    key_id: Option<String>,
}

/// The cipher, associated data and position of one stream.
struct Chunker {
    cipher: ChaCha20Poly1305,
    aad: Vec<u8>,
    prefix: [u8; STREAM_PREFIX_LEN],
    counter: u32,
    chunk: usize,
}

impl Chunker {
    fn nonce(&self, last: bool) -> Nonce {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..STREAM_PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[STREAM_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&self.counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Nonce::from(nonce)
    }

    fn advance(&mut self) -> anyhow::Result<()> {
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| anyhow::anyhow!("a sealed stream has too many chunks"))?;
        Ok(())
    }

    fn seal(&mut self, clear: &[u8], last: bool, out: &mut Vec<u8>) -> anyhow::Result<()> {
        use chacha20poly1305::AeadInOut;
        let mut chunk = clear.to_vec();
        self.cipher
            .encrypt_in_place(&self.nonce(last), &self.aad, &mut chunk)
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        out.extend_from_slice(&chunk);
        if !last {
            self.advance()?;
        }
        Ok(())
    }

    fn open(&mut self, sealed: &[u8], last: bool, out: &mut Vec<u8>) -> anyhow::Result<()> {
        use chacha20poly1305::AeadInOut;
        anyhow::ensure!(sealed.len() >= TAG_LEN, "a sealed stream is cut short");
        let mut chunk = sealed.to_vec();
        self.cipher
            .decrypt_in_place(&self.nonce(last), &self.aad, &mut chunk)
            .map_err(|_| {
                anyhow::anyhow!(
                    "chunk {} of a sealed stream does not open: changed, moved, reordered or cut",
                    self.counter
                )
            })?;
        out.extend_from_slice(&chunk);
        if !last {
            self.advance()?;
        }
        Ok(())
    }
}

/// The associated data of every chunk: the context (length first) and the stream's header.
fn stream_aad(context: &str, header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(8 + context.len() + header.len());
    aad.extend_from_slice(&(context.len() as u64).to_be_bytes());
    aad.extend_from_slice(context.as_bytes());
    aad.extend_from_slice(header);
    aad
}

/// Whether stored content begins as a sealed stream does; `start` is at least its first
/// [`STREAM_MAGIC`]`.len()` bytes, or all of it when it is shorter.
pub fn is_sealed_stream(start: &[u8]) -> bool {
    start.starts_with(STREAM_MAGIC)
}

impl Keyring {
    /// Starts sealing a stream for the place `context` (such as "archives/document/p/d1")
    /// under the current key, in chunks of [`STREAM_CHUNK_BYTES`].
    pub fn stream_sealer(&self, context: &str) -> anyhow::Result<StreamSealer> {
        self.stream_sealer_chunked(context, STREAM_CHUNK_BYTES)
    }

    fn stream_sealer_chunked(&self, context: &str, chunk: usize) -> anyhow::Result<StreamSealer> {
        anyhow::ensure!(
            (1..=MAX_STREAM_CHUNK_BYTES).contains(&chunk),
            "bad chunk size"
        );
        let no_randomness = |e| anyhow::anyhow!("no randomness for a stream: {e}");
        let salt = <[u8; STREAM_SALT_LEN]>::try_generate().map_err(no_randomness)?;
        let prefix = <[u8; STREAM_PREFIX_LEN]>::try_generate().map_err(no_randomness)?;
        let key_id = self.current.clone();
        let mut header = Vec::with_capacity(
            STREAM_MAGIC.len() + 6 + key_id.len() + STREAM_SALT_LEN + STREAM_PREFIX_LEN,
        );
        header.extend_from_slice(STREAM_MAGIC);
        header.push(STREAM_VERSION);
        header.extend_from_slice(&(chunk as u32).to_be_bytes());
        // Key ids are at most 32 bytes (checked by `Keyring::parse`).
        header.push(key_id.len() as u8);
        header.extend_from_slice(key_id.as_bytes());
        header.extend_from_slice(&salt);
        header.extend_from_slice(&prefix);
        Ok(StreamSealer {
            chunker: Chunker {
                cipher: self.stream_cipher(&key_id, &salt)?,
                aad: stream_aad(context, &header),
                prefix,
                counter: 0,
                chunk,
            },
            key_id,
            header: Some(header),
            pending: Vec::with_capacity(chunk),
        })
    }

    /// Whether the ring holds the key `key_id`: what was sealed under a key no longer listed
    /// does not open, which is a fault of the configuration rather than damage.
    pub fn holds_key(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    /// The cipher of one stream: under a keyed digest of its salt.
    fn stream_cipher(&self, key_id: &str, salt: &[u8]) -> anyhow::Result<ChaCha20Poly1305> {
        let key = self.digest_with_key(key_id, STREAM_KEY_CONTEXT, salt)?;
        ChaCha20Poly1305::new_from_slice(&key).map_err(|_| anyhow::anyhow!("bad stream key"))
    }

    /// Starts opening a stream sealed for `context` under any key of the ring.
    pub fn stream_opener(&self, context: &str) -> StreamOpener {
        StreamOpener {
            keyring: self.clone(),
            context: context.to_owned(),
            pending: Vec::new(),
            chunker: None,
            key_id: None,
        }
    }
}

impl StreamSealer {
    /// The id of the key the stream is sealed under.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Takes the next clear bytes; gives the sealed bytes ready to be written (the header
    /// first), which may be none yet.
    pub fn push(&mut self, mut clear: &[u8]) -> anyhow::Result<Vec<u8>> {
        let chunk = self.chunker.chunk;
        let mut out = self.header.take().unwrap_or_default();
        while !clear.is_empty() {
            // A full chunk is sealed only when more follows it: until then it may be the last.
            if self.pending.len() == chunk {
                self.chunker.seal(&self.pending, false, &mut out)?;
                self.pending.clear();
            }
            let take = (chunk - self.pending.len()).min(clear.len());
            self.pending.extend_from_slice(&clear[..take]);
            clear = &clear[take..];
        }
        Ok(out)
    }

    /// Seals what remains as the last chunk (empty when the stream is); gives the last bytes.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        let mut out = self.header.take().unwrap_or_default();
        self.chunker.seal(&self.pending, true, &mut out)?;
        Ok(out)
    }
}

impl StreamOpener {
    /// The id of the key the stream was sealed under, once its header has been read.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Takes the next sealed bytes; gives the clear bytes of the chunks that opened, which
    /// may be none yet. An error means the stream is not what was sealed for this context.
    pub fn push(&mut self, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.pending.extend_from_slice(sealed);
        let mut out = Vec::new();
        if self.chunker.is_none() && !self.read_header()? {
            return Ok(out);
        }
        let chunker = self.chunker.as_mut().expect("the header was read");
        let sealed_chunk = chunker.chunk + TAG_LEN;
        // A full chunk is not the last only when more bytes follow it.
        let mut start = 0;
        while self.pending.len() - start > sealed_chunk {
            chunker.open(&self.pending[start..start + sealed_chunk], false, &mut out)?;
            start += sealed_chunk;
        }
        self.pending.drain(..start);
        Ok(out)
    }

    /// Opens the last chunk; fails when the stream was cut short.
    pub fn finish(mut self) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(
            self.chunker.is_some() || self.read_header()?,
            "a sealed stream is cut short in its header"
        );
        let mut out = Vec::new();
        let chunker = self.chunker.as_mut().expect("the header was read");
        chunker.open(&self.pending, true, &mut out)?;
        Ok(out)
    }

    /// Reads the header once it is all there: true when it was.
    fn read_header(&mut self) -> anyhow::Result<bool> {
        let fixed = STREAM_MAGIC.len() + 1 + 4 + 1;
        let head = &self.pending;
        let known = head.len().min(STREAM_MAGIC.len());
        anyhow::ensure!(
            head[..known] == STREAM_MAGIC[..known],
            "not a sealed stream"
        );
        if head.len() < fixed {
            return Ok(false);
        }
        anyhow::ensure!(
            head[STREAM_MAGIC.len()] == STREAM_VERSION,
            "sealed stream format {} is unknown",
            head[STREAM_MAGIC.len()]
        );
        let at = STREAM_MAGIC.len() + 1;
        let chunk = u32::from_be_bytes(head[at..at + 4].try_into().expect("4 bytes")) as usize;
        anyhow::ensure!(
            (1..=MAX_STREAM_CHUNK_BYTES).contains(&chunk),
            "a sealed stream announces a bad chunk size"
        );
        let id_len = usize::from(head[at + 4]);
        let salt_at = fixed + id_len;
        let len = salt_at + STREAM_SALT_LEN + STREAM_PREFIX_LEN;
        if head.len() < len {
            return Ok(false);
        }
        let key_id = std::str::from_utf8(&head[fixed..salt_at])?.to_owned();
        let cipher = self
            .keyring
            .stream_cipher(&key_id, &head[salt_at..salt_at + STREAM_SALT_LEN])?;
        let mut prefix = [0u8; STREAM_PREFIX_LEN];
        prefix.copy_from_slice(&head[salt_at + STREAM_SALT_LEN..len]);
        self.chunker = Some(Chunker {
            cipher,
            aad: stream_aad(&self.context, &head[..len]),
            prefix,
            counter: 0,
            chunk,
        });
        self.key_id = Some(key_id);
        self.pending.drain(..len);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
