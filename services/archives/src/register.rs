//! The checkpoints of the archive register (查阅登记, ARC-12), kept in a store the database
//! does not hold. The job that writes them is in `app::audit`.
//!
//! Checkpoints live under `audit-checkpoints/<property>/<bucket>/<seq>` of the checkpoint
//! store (the document store unless configured apart), the bucket being `seq / 10000`, so the
//! newest is found by listing a bucket rather than every checkpoint ever written.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path};
use wuye_kit::seal::Keyring;

use crate::domain::checkpoints::Checkpoint;

const PREFIX: &str = "audit-checkpoints";
/// Entries per bucket of checkpoint names.
const BUCKET: i64 = 10_000;

/// Where checkpoints of the register are kept.
#[derive(Clone)]
pub struct CheckpointStore {
    store: Arc<dyn ObjectStore>,
}

/// The newest checkpoint of a property that verifies, and how many newer ones do not.
#[derive(Debug, Default)]
pub struct Newest {
    pub checkpoint: Option<Checkpoint>,
    pub invalid: i64,
}

impl CheckpointStore {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    fn property_dir(property_id: &str) -> Path {
        Path::from_iter([PREFIX, property_id])
    }

    fn location(checkpoint: &Checkpoint) -> Path {
        let bucket = format!("{:010}", checkpoint.seq / BUCKET);
        let name = format!("{:020}", checkpoint.seq);
        Path::from_iter([PREFIX, checkpoint.property_id.as_str(), &bucket, &name])
    }

    /// Writes `checkpoint`; one of the same number is replaced (another replica's, equally
    /// valid).
    pub async fn write(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let payload = PutPayload::from(checkpoint.to_text().into_bytes());
        self.store.put(&Self::location(checkpoint), payload).await?;
        Ok(())
    }

    /// Whether any checkpoint of the property was ever written, valid or not.
    pub async fn any(&self, property_id: &str) -> anyhow::Result<bool> {
        let mut listing = self.store.list(Some(&Self::property_dir(property_id)));
        Ok(listing.try_next().await?.is_some())
    }

    /// The newest checkpoint of `property_id` that `keyring` verifies, newest bucket first;
    /// newer objects that do not verify (forged, damaged, under a key no longer held) are
    /// counted and logged.
    pub async fn newest(&self, property_id: &str, keyring: &Keyring) -> anyhow::Result<Newest> {
        let dir = Self::property_dir(property_id);
        let mut buckets: Vec<(i64, Path)> = self
            .store
            .list_with_delimiter(Some(&dir))
            .await?
            .common_prefixes
            .into_iter()
            .filter_map(|p| Some((p.filename()?.parse().ok()?, p)))
            .collect();
        buckets.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        let mut newest = Newest::default();
        for (_, bucket) in buckets {
            let mut objects: Vec<(Option<i64>, Path)> = self
                .store
                .list_with_delimiter(Some(&bucket))
                .await?
                .objects
                .into_iter()
                .map(|o| {
                    (
                        o.location.filename().and_then(|n| n.parse().ok()),
                        o.location,
                    )
                })
                .collect();
            objects.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
            for (seq, location) in objects {
                match self.read(&location, seq, property_id, keyring).await {
                    Ok(checkpoint) => {
                        newest.checkpoint = Some(checkpoint);
                        return Ok(newest);
                    }
                    Err(e) => {
                        tracing::error!(property = property_id, checkpoint = %location, error = %e, "a register checkpoint does not verify");
                        newest.invalid += 1;
                    }
                }
            }
        }
        Ok(newest)
    }

    async fn read(
        &self,
        location: &Path,
        seq: Option<i64>,
        property_id: &str,
        keyring: &Keyring,
    ) -> anyhow::Result<Checkpoint> {
        let bytes = self.store.get(location).await?.bytes().await?;
        let checkpoint = Checkpoint::parse(std::str::from_utf8(&bytes)?)?;
        checkpoint.verify(keyring, property_id)?;
        anyhow::ensure!(
            seq == Some(checkpoint.seq),
            "the checkpoint is not stored under its own number"
        );
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use wuye_kit::config::Secret;

    const K1: &str = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::hours(hours)
    }

    #[tokio::test]
    async fn the_newest_valid_checkpoint_is_found_across_buckets() {
        let store = CheckpointStore::new(Arc::new(object_store::memory::InMemory::new()));
        let keyring = Keyring::parse(&Secret::new(K1)).unwrap();
        assert!(!store.any("p").await.unwrap());
        assert!(
            store
                .newest("p", &keyring)
                .await
                .unwrap()
                .checkpoint
                .is_none()
        );
        for seq in [5, 9_999, 10_000, 25_001] {
            let cp = Checkpoint::make("p", seq, &"ab".repeat(32), at(seq), &keyring).unwrap();
            store.write(&cp).await.unwrap();
        }
        let newest = store.newest("p", &keyring).await.unwrap();
        assert_eq!(newest.checkpoint.unwrap().seq, 25_001);
        assert_eq!(newest.invalid, 0);
        // A forged newer one (another key under the same id), and garbage: skipped, counted.
        let other = Keyring::parse(&Secret::new(K1.replace("0001", "ff01"))).unwrap();
        let forged = Checkpoint::make("p", 30_000, &"cd".repeat(32), at(1), &other).unwrap();
        store.write(&forged).await.unwrap();
        store
            .store
            .put(
                &Path::from("audit-checkpoints/p/0000000003/junk"),
                PutPayload::from_static(b"junk"),
            )
            .await
            .unwrap();
        let newest = store.newest("p", &keyring).await.unwrap();
        assert_eq!(newest.checkpoint.unwrap().seq, 25_001);
        assert_eq!(newest.invalid, 2);
        // Another property's checkpoint copied in does not count as this one's.
        let theirs = Checkpoint::make("q", 40_000, &"ef".repeat(32), at(1), &keyring).unwrap();
        store
            .store
            .put(
                &Path::from("audit-checkpoints/p/0000000004/00000000000000040000"),
                PutPayload::from(theirs.to_text().into_bytes()),
            )
            .await
            .unwrap();
        let newest = store.newest("p", &keyring).await.unwrap();
        assert_eq!(newest.checkpoint.unwrap().seq, 25_001);
        assert_eq!(newest.invalid, 3);
        assert!(store.any("p").await.unwrap());
        assert!(!store.any("r").await.unwrap());
    }
}
