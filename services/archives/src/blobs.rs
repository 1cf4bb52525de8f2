//! The document store: where document content lives, by key (`<property>/<document id>`).
//! Local disk by default, S3-compatible storage with the `s3` feature. Content is written
//! once under a new key and never overwritten (ARC-9).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart, path::Path};
use sha2::{Digest, Sha256};

/// Parts handed to the store while a document streams in.
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Pieces of content per message while a document streams out.
pub const CHUNK_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct DocumentStore {
    store: Arc<dyn ObjectStore>,
}

/// A document's content as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub size_bytes: i64,
    pub sha256: String,
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

impl DocumentStore {
    /// Opens the store at `url`: `file:///dir` or, with the `s3` feature, `s3://bucket/prefix`.
    pub fn open(url: &str) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("document store {dir}: {e}"))?;
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
        } else if url.starts_with("s3://") {
            open_s3(url)?
        } else {
            anyhow::bail!("document_store must be file:///dir or s3://bucket/prefix");
        };
        Ok(Self { store })
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Self {
        Self {
            store: Arc::new(object_store::memory::InMemory::new()),
        }
    }

    /// Streams `content` to `key`, counting and hashing it, refusing more than `max_bytes`.
    /// Nothing stays behind when it fails.
    pub async fn write<S>(
        &self,
        key: &str,
        mut content: S,
        max_bytes: u64,
    ) -> Result<Written, WriteError>
    where
        S: Stream<Item = Result<Bytes, tonic::Status>> + Unpin,
    {
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
                    if let Err(e) = writer.wait_for_capacity(4).await {
                        break Some(WriteError::Store(e.into()));
                    }
                    writer.put(chunk);
                }
            }
        };
        if let Some(failure) = failure {
            let _ = writer.abort().await;
            return Err(failure);
        }
        writer
            .finish()
            .await
            .map_err(|e| WriteError::Store(e.into()))?;
        Ok(Written {
            size_bytes: size as i64,
            sha256: hex::encode(hasher.finalize()),
        })
    }

    /// The content at `key` in pieces of about [`CHUNK_BYTES`].
    pub async fn read(
        &self,
        key: &str,
    ) -> anyhow::Result<impl Stream<Item = anyhow::Result<Bytes>> + Send + use<>> {
        let stream = self.store.get(&Path::from(key)).await?.into_stream();
        Ok(rechunk(stream.map(|r| r.map_err(anyhow::Error::from))))
    }

    /// Removes content no record refers to (an upload whose record was not written).
    pub async fn remove(&self, key: &str) {
        if let Err(e) = self.store.delete(&Path::from(key)).await {
            tracing::warn!(key, error = %e, "removing unreferenced document content failed");
        }
    }
}

/// Gathers small pieces into pieces of about [`CHUNK_BYTES`].
fn rechunk<S>(stream: S) -> impl Stream<Item = anyhow::Result<Bytes>> + Send
where
    S: Stream<Item = anyhow::Result<Bytes>> + Send + Unpin,
{
    futures::stream::unfold(
        (stream, BytesMut::new(), false),
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

    async fn read_all(store: &DocumentStore, key: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stream = Box::pin(store.read(key).await.unwrap());
        while let Some(piece) = stream.next().await {
            let piece = piece.unwrap();
            assert!(piece.len() <= CHUNK_BYTES);
            out.extend_from_slice(&piece);
        }
        out
    }

    #[tokio::test]
    async fn content_round_trips_on_disk_with_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = DocumentStore::open(&format!("file://{}", dir.path().display())).unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let written = store
            .write("p/d1", chunks(&data, 70_000), 10_000_000)
            .await
            .unwrap();
        assert_eq!(written.size_bytes, data.len() as i64);
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(read_all(&store, "p/d1").await, data);
    }

    #[tokio::test]
    async fn too_large_content_leaves_nothing() {
        let store = DocumentStore::in_memory();
        let data = vec![7u8; 1000];
        let err = store
            .write("p/d2", chunks(&data, 100), 999)
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::TooLarge(999)));
        assert!(store.read("p/d2").await.is_err());
    }
}
