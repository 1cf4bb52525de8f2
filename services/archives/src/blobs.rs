//! The document store: where document content lives, by key (`<property>/<document id>`).
//! Local disk by default, S3-compatible storage with the `s3` feature. Content is written
//! once under a new key and never overwritten (ARC-9), except to seal in place what was
//! stored in clear before documents were sealed.
//!
//! Content is sealed at rest (ARC-6: ID card copies and house files are confidential) with
//! the archives' keyring, in chunks ([`wuye_kit::seal::StreamSealer`]), so a document streams
//! in and out without being held in memory whole. Each document's stream is bound to its key
//! in the store (property and document id, so to the version: each version has its own id):
//! content moved to another document, cut, reordered or changed does not open. The checksum
//! recorded and reported is the clear content's, as uploaded.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart, path::Path};
use sha2::{Digest, Sha256};
use wuye_kit::seal::{Keyring, STREAM_MAGIC, StreamOpener, is_sealed_stream};

/// Parts handed to the store while a document streams in.
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Pieces of content per message while a document streams out.
pub const CHUNK_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct DocumentStore {
    store: Arc<dyn ObjectStore>,
    keyring: Keyring,
}

/// A document's content as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub size_bytes: i64,
    /// Of the clear content.
    pub sha256: String,
    /// The key it is sealed under.
    pub key_id: String,
}

/// Why writing content failed.
#[derive(Debug)]
pub enum WriteError {
    /// The content is larger than the limit.
    TooLarge(u64),
    /// The sender's stream failed or broke off.
    Source(tonic::Status),
    Store(anyhow::Error),
}

/// Why reading content failed.
#[derive(Debug)]
pub enum ReadError {
    /// The store did not give the content.
    Store(anyhow::Error),
    /// The stored content is not what was written: changed, cut, moved from another
    /// document, or in clear where it was sealed.
    Damaged(anyhow::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Store(e) => write!(f, "document store: {e:#}"),
            ReadError::Damaged(e) => write!(f, "document content does not open: {e:#}"),
        }
    }
}

/// What sealing content stored in clear did.
#[derive(Debug, PartialEq, Eq)]
pub enum SealedInPlace {
    /// Sealed now, under this key.
    Sealed(String),
    /// It was sealed already (before a restart that left its record behind), under this key.
    AlreadySealed(String),
}

/// The place a document's stream is sealed for: its key in the store.
fn context(key: &str) -> String {
    format!("archives/document/{key}")
}

/// Opens the object store at `url`: `file:///dir` or, with the `s3` feature,
/// `s3://bucket/prefix`.
pub fn open_object_store(url: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    if let Some(dir) = url.strip_prefix("file://") {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("store {dir}: {e}"))?;
        Ok(Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir)?,
        ))
    } else if url.starts_with("s3://") {
        open_s3(url)
    } else {
        anyhow::bail!("a store must be file:///dir or s3://bucket/prefix");
    }
}

impl DocumentStore {
    /// The store `store`, sealing under `keyring`.
    pub fn new(store: Arc<dyn ObjectStore>, keyring: Keyring) -> Self {
        Self { store, keyring }
    }

    /// A store in memory, for tests.
    pub fn in_memory(keyring: Keyring) -> Self {
        Self::new(Arc::new(object_store::memory::InMemory::new()), keyring)
    }

    /// Streams `content` to `key` sealed, counting and hashing the clear content, refusing
    /// more than `max_bytes`. Nothing stays behind when it fails.
    pub async fn write<S>(
        &self,
        key: &str,
        mut content: S,
        max_bytes: u64,
    ) -> Result<Written, WriteError>
    where
        S: Stream<Item = Result<Bytes, tonic::Status>> + Unpin,
    {
        let mut sealer = self
            .keyring
            .stream_sealer(&context(key))
            .map_err(WriteError::Store)?;
        let key_id = sealer.key_id().to_owned();
        let path = Path::from(key);
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| WriteError::Store(e.into()))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let failure = loop {
            match content.next().await {
                None => break None,
                Some(Err(status)) => break Some(WriteError::Source(status)),
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max_bytes {
                        break Some(WriteError::TooLarge(max_bytes));
                    }
                    hasher.update(&chunk);
                    let sealed = match sealer.push(&chunk) {
                        Ok(sealed) => sealed,
                        Err(e) => break Some(WriteError::Store(e)),
                    };
                    if let Err(e) = writer.wait_for_capacity(4).await {
                        break Some(WriteError::Store(e.into()));
                    }
                    writer.put(Bytes::from(sealed));
                }
            }
        };
        let last = match failure {
            None => sealer.finish().map_err(WriteError::Store),
            Some(failure) => Err(failure),
        };
        let last = match last {
            Ok(last) => last,
            Err(failure) => {
                let _ = writer.abort().await;
                return Err(failure);
            }
        };
        writer.put(Bytes::from(last));
        writer
            .finish()
            .await
            .map_err(|e| WriteError::Store(e.into()))?;
        Ok(Written {
            size_bytes: size as i64,
            sha256: hex::encode(hasher.finalize()),
            key_id,
        })
    }

    /// The clear content at `key` in pieces of about [`CHUNK_BYTES`]. Sealed content is
    /// opened chunk by chunk: nothing of a chunk that does not authenticate is given out.
    /// Content in clear (stored before documents were sealed) is given as it is, unless the
    /// document is recorded as `sealed`.
    pub async fn read(
        &self,
        key: &str,
        sealed: bool,
    ) -> Result<impl Stream<Item = Result<Bytes, ReadError>> + Send + use<>, ReadError> {
        let stream = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(|e| ReadError::Store(e.into()))?
            .into_stream()
            .map(|r| r.map_err(|e| ReadError::Store(e.into())));
        let opener = self.keyring.stream_opener(&context(key));
        Ok(rechunk(open(stream, opener, sealed)))
    }

    /// Seals in place the content at `key` stored in clear before documents were sealed,
    /// once it matched `sha256` and `size_bytes` as recorded: the object is replaced whole
    /// (the store swaps it in once complete), or left as it was.
    pub async fn seal_in_place(
        &self,
        key: &str,
        sha256: &str,
        size_bytes: i64,
    ) -> anyhow::Result<SealedInPlace> {
        let path = Path::from(key);
        let mut clear = self.store.get(&path).await?.into_stream();
        let mut first = BytesMut::new();
        // Enough of the beginning to tell whether it is sealed already.
        while first.len() < STREAM_MAGIC.len() {
            match clear.next().await {
                Some(piece) => first.extend_from_slice(&piece?),
                None => break,
            }
        }
        if is_sealed_stream(&first) {
            let mut opener = self.keyring.stream_opener(&context(key));
            opener.push(&first)?;
            while opener.key_id().is_none() {
                match clear.next().await {
                    Some(piece) => {
                        opener.push(&piece?)?;
                    }
                    None => anyhow::bail!("the sealed content at {key} is cut in its header"),
                }
            }
            return Ok(SealedInPlace::AlreadySealed(
                opener.key_id().expect("read").to_owned(),
            ));
        }
        let mut sealer = self.keyring.stream_sealer(&context(key))?;
        let key_id = sealer.key_id().to_owned();
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut hasher = Sha256::new();
        let mut size = 0i64;
        let mut piece = Ok(first.freeze());
        let result = loop {
            let bytes = match piece {
                Ok(bytes) => bytes,
                Err(e) => break Err(e),
            };
            hasher.update(&bytes);
            size += bytes.len() as i64;
            if let Err(e) = writer.wait_for_capacity(4).await {
                break Err(e.into());
            }
            match sealer.push(&bytes) {
                Ok(sealed) => writer.put(Bytes::from(sealed)),
                Err(e) => break Err(e),
            }
            match clear.next().await {
                Some(next) => piece = next.map_err(anyhow::Error::from),
                None => break Ok(()),
            }
        };
        let result = result.and_then(|()| {
            anyhow::ensure!(
                size == size_bytes && hex::encode(hasher.finalize()) == sha256,
                "the content at {key} does not match its recorded hash: it is left as it is"
            );
            sealer.finish()
        });
        match result {
            Ok(last) => {
                writer.put(Bytes::from(last));
                writer.finish().await?;
                Ok(SealedInPlace::Sealed(key_id))
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Removes content no record refers to (an upload whose record was not written).
    pub async fn remove(&self, key: &str) {
        if let Err(e) = self.store.delete(&Path::from(key)).await {
            tracing::warn!(key, error = %e, "removing unreferenced document content failed");
        }
    }
}

/// How stored content is being read.
enum Reading {
    /// Not enough of it yet to tell sealed from clear.
    Deciding(BytesMut, StreamOpener),
    Clear,
    Sealed(StreamOpener),
    Done,
}

/// The clear content of `stored`: opened when it begins as a sealed stream, as it is
/// otherwise (refused when it was recorded `sealed`).
fn open<S>(
    stored: S,
    opener: StreamOpener,
    sealed: bool,
) -> impl Stream<Item = Result<Bytes, ReadError>> + Send
where
    S: Stream<Item = Result<Bytes, ReadError>> + Send + Unpin,
{
    let damaged = ReadError::Damaged;
    futures::stream::unfold(
        (stored, Reading::Deciding(BytesMut::new(), opener)),
        move |(mut stored, state)| async move {
            let mut state = state;
            loop {
                let (item, next) = match state {
                    Reading::Done => return None,
                    Reading::Clear => match stored.next().await {
                        Some(Ok(bytes)) => (Ok(bytes), Reading::Clear),
                        Some(Err(e)) => (Err(e), Reading::Done),
                        None => return None,
                    },
                    Reading::Sealed(mut opener) => match stored.next().await {
                        Some(Ok(bytes)) => match opener.push(&bytes) {
                            Ok(clear) if clear.is_empty() => {
                                state = Reading::Sealed(opener);
                                continue;
                            }
                            Ok(clear) => (Ok(Bytes::from(clear)), Reading::Sealed(opener)),
                            Err(e) => (Err(damaged(e)), Reading::Done),
                        },
                        Some(Err(e)) => (Err(e), Reading::Done),
                        None => (
                            opener.finish().map(Bytes::from).map_err(damaged),
                            Reading::Done,
                        ),
                    },
                    Reading::Deciding(mut start, mut opener) => {
                        let ended = match stored.next().await {
                            Some(Ok(bytes)) => {
                                start.extend_from_slice(&bytes);
                                false
                            }
                            Some(Err(e)) => return Some((Err(e), (stored, Reading::Done))),
                            None => true,
                        };
                        if !ended && start.len() < STREAM_MAGIC.len() {
                            state = Reading::Deciding(start, opener);
                            continue;
                        }
                        if is_sealed_stream(&start) {
                            match opener.push(&start) {
                                Err(e) => (Err(damaged(e)), Reading::Done),
                                Ok(_) if ended => (
                                    opener.finish().map(Bytes::from).map_err(damaged),
                                    Reading::Done,
                                ),
                                Ok(clear) if clear.is_empty() => {
                                    state = Reading::Sealed(opener);
                                    continue;
                                }
                                Ok(clear) => (Ok(Bytes::from(clear)), Reading::Sealed(opener)),
                            }
                        } else if sealed {
                            // rule ARC-6: content recorded sealed is never given out in clear
                            // from the store, whatever was put there since.
                            let e = anyhow::anyhow!(
                                "the stored content of a sealed document is in clear"
                            );
                            (Err(damaged(e)), Reading::Done)
                        } else if start.is_empty() {
                            return None;
                        } else {
                            (
                                Ok(start.freeze()),
                                if ended { Reading::Done } else { Reading::Clear },
                            )
                        }
                    }
                };
                return Some((item, (stored, next)));
            }
        },
    )
}

/// Gathers small pieces into pieces of about [`CHUNK_BYTES`].
fn rechunk<S, E>(stream: S) -> impl Stream<Item = Result<Bytes, E>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Send,
{
    futures::stream::unfold(
        (Box::pin(stream), BytesMut::new(), false),
        |(mut stream, mut buf, mut done)| async move {
            loop {
                if buf.len() >= CHUNK_BYTES || (done && !buf.is_empty()) {
                    let take = buf.len().min(CHUNK_BYTES);
                    let piece = buf.split_to(take).freeze();
                    return Some((Ok(piece), (stream, buf, done)));
                }
                if done {
                    return None;
                }
                match stream.next().await {
                    Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
                    Some(Err(e)) => return Some((Err(e), (stream, BytesMut::new(), true))),
                    None => done = true,
                }
            }
        },
    )
}

#[cfg(feature = "s3")]
fn open_s3(url: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let store = object_store::aws::AmazonS3Builder::from_env()
        .with_url(url)
        .build()?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3"))]
fn open_s3(_url: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    anyhow::bail!("this build has no S3 support: build wuye-archives with the `s3` feature")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wuye_kit::config::Secret;

    const K1: &str = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(&Secret::new(spec)).unwrap()
    }

    fn chunks(
        data: &[u8],
        size: usize,
    ) -> impl Stream<Item = Result<Bytes, tonic::Status>> + Unpin {
        let pieces: Vec<_> = data
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(pieces)
    }

    /// What reading gives: the clear bytes before an error, and the error.
    async fn read_all(
        store: &DocumentStore,
        key: &str,
        sealed: bool,
    ) -> (Vec<u8>, Option<ReadError>) {
        let mut out = Vec::new();
        let mut stream = match store.read(key, sealed).await {
            Ok(s) => Box::pin(s),
            Err(e) => return (out, Some(e)),
        };
        while let Some(piece) = stream.next().await {
            match piece {
                Ok(piece) => {
                    assert!(piece.len() <= CHUNK_BYTES);
                    out.extend_from_slice(&piece);
                }
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len as u32).map(|i| (i % 251) as u8).collect()
    }

    fn on_disk(dir: &std::path::Path, keyring: Keyring) -> DocumentStore {
        let url = format!("file://{}", dir.display());
        DocumentStore::new(open_object_store(&url).unwrap(), keyring)
    }

    #[tokio::test]
    async fn content_round_trips_sealed_on_disk_with_the_clear_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = on_disk(dir.path(), ring(K1));
        let data = data(3_000_000);
        let written = store
            .write("p/d1", chunks(&data, 70_000), 10_000_000)
            .await
            .unwrap();
        assert_eq!(written.size_bytes, data.len() as i64);
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(written.key_id, "k1");
        let (back, error) = read_all(&store, "p/d1", true).await;
        assert!(error.is_none(), "{error:?}");
        assert!(back == data);
        // On disk: sealed, a tag per 64 KiB chunk, no run of the clear content.
        let stored = std::fs::read(dir.path().join("p/d1")).unwrap();
        assert!(is_sealed_stream(&stored));
        let chunks = data.len().div_ceil(wuye_kit::seal::STREAM_CHUNK_BYTES);
        assert_eq!(stored.len(), 39 + data.len() + 16 * chunks);
        assert!(!stored.windows(64).any(|w| w == &data[1000..1064]));
        // A rotated keyring still opens it.
        let rotated = on_disk(dir.path(), ring(&format!("{K2},{K1}")));
        assert!(read_all(&rotated, "p/d1", true).await.0 == data);
    }

    #[tokio::test]
    async fn too_large_content_leaves_nothing() {
        let store = DocumentStore::in_memory(ring(K1));
        let data = vec![7u8; 1000];
        let err = store
            .write("p/d2", chunks(&data, 100), 999)
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::TooLarge(999)));
        assert!(matches!(
            store.read("p/d2", true).await,
            Err(ReadError::Store(_))
        ));
    }

    #[tokio::test]
    async fn changed_cut_or_moved_content_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = on_disk(dir.path(), ring(K1));
        let data = data(300_000);
        for key in ["p/a", "p/b"] {
            store
                .write(key, chunks(&data, 10_000), 1 << 30)
                .await
                .unwrap();
        }
        let path = dir.path().join("p/a");
        let sealed = std::fs::read(&path).unwrap();
        let check = |what: &'static str, bytes: Vec<u8>| {
            let store = store.clone();
            let path = path.clone();
            let data = data.clone();
            async move {
                std::fs::write(&path, bytes).unwrap();
                let (released, error) = read_all(&store, "p/a", true).await;
                assert!(
                    matches!(error, Some(ReadError::Damaged(_))),
                    "{what}: {error:?}"
                );
                assert!(
                    data.starts_with(&released),
                    "{what}: altered bytes given out"
                );
            }
        };
        let mut changed = sealed.clone();
        changed[200_000] ^= 1;
        check("a changed byte", changed).await;
        check("cut at a chunk", sealed[..39 + 2 * (65_536 + 16)].to_vec()).await;
        check("cut in the header", sealed[..12].to_vec()).await;
        check(
            "moved from another document",
            std::fs::read(dir.path().join("p/b")).unwrap(),
        )
        .await;
        // Clear content where a sealed document was: refused, not given out.
        check("put there in clear", data.clone()).await;
        // Without the key it was sealed with.
        std::fs::write(&path, &sealed).unwrap();
        let without = on_disk(dir.path(), ring(K2));
        assert!(matches!(
            read_all(&without, "p/a", true).await.1,
            Some(ReadError::Damaged(_))
        ));
    }

    #[tokio::test]
    async fn content_stored_in_clear_before_is_read_and_sealed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = on_disk(dir.path(), ring(K1));
        let data = data(200_000);
        let sha = hex::encode(Sha256::digest(&data));
        std::fs::create_dir_all(dir.path().join("p")).unwrap();
        for (name, content) in [
            ("old", &data[..]),
            ("tiny", &b"ab"[..]),
            ("empty", &b""[..]),
        ] {
            std::fs::write(dir.path().join("p").join(name), content).unwrap();
            let (back, error) = read_all(&store, &format!("p/{name}"), false).await;
            assert!(error.is_none(), "{name}: {error:?}");
            assert_eq!(back, content, "{name}");
        }
        // Not the recorded content: left as it is.
        assert!(
            store
                .seal_in_place("p/old", &"0".repeat(64), 200_000)
                .await
                .is_err()
        );
        assert_eq!(std::fs::read(dir.path().join("p/old")).unwrap(), data);
        assert_eq!(
            store.seal_in_place("p/old", &sha, 200_000).await.unwrap(),
            SealedInPlace::Sealed("k1".into())
        );
        let stored = std::fs::read(dir.path().join("p/old")).unwrap();
        assert!(is_sealed_stream(&stored));
        assert!(read_all(&store, "p/old", true).await.0 == data);
        // Once sealed, sealing again finds it so, under the key it names.
        let rotated = on_disk(dir.path(), ring(&format!("{K2},{K1}")));
        assert_eq!(
            rotated.seal_in_place("p/old", &sha, 200_000).await.unwrap(),
            SealedInPlace::AlreadySealed("k1".into())
        );
        let empty = hex::encode(Sha256::digest(b""));
        assert_eq!(
            store.seal_in_place("p/empty", &empty, 0).await.unwrap(),
            SealedInPlace::Sealed("k1".into())
        );
        assert_eq!(read_all(&store, "p/empty", true).await.0, b"");
    }
}
