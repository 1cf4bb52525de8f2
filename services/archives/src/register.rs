//! The archive register (查阅登记, ARC-12) outside the request path: its checkpoints, kept in
//! a store the database does not hold, the job that writes them, and the one-time re-linking
//! of entries hashed before links were keyed.
//!
//! Checkpoints live under `audit-checkpoints/<property>/<bucket>/<seq>` of the checkpoint
//! store (the document store unless configured apart), the bucket being `seq / 10000`, so the
//! newest is found by listing a bucket rather than every checkpoint ever written.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path};
use wuye_kit::{clock::SharedClock, db::Db, properties::Properties, seal::Keyring};

use crate::{
    domain::checkpoints::Checkpoint,
    store::{self, audit::Relinked},
};

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

/// What the checkpoint job needs.
#[derive(Clone)]
pub struct Checkpointing {
    pub db: Db,
    pub keyring: Keyring,
    pub clock: SharedClock,
    pub properties: Properties,
    pub checkpoints: CheckpointStore,
    /// The longest a grown register waits for its next checkpoint.
    pub interval: chrono::Duration,
}

/// Every `every` (the service's `jobs_interval_ms`): writes a checkpoint of each property's
/// register that grew since its last one, once `interval` has passed since it, and only when
/// the chain still holds from that checkpoint to the head — so a register cut back and grown
/// again never gets a checkpoint that would hide it.
pub async fn run(job: Checkpointing, every: Duration) {
    let mut last: HashMap<String, Progress> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for property in job.properties.iter() {
            if let Err(e) = checkpoint(&job, &property.id, &mut last).await {
                tracing::warn!(property = %property.id, error = %e, "writing a register checkpoint failed");
            }
        }
    }
}

/// Where the job stands with one property's register.
#[derive(Debug, Default)]
struct Progress {
    /// The newest checkpoint, written or found in the store.
    checkpoint: Option<Checkpoint>,
    /// The head at which the chain was last found not to hold: not checked again (nor
    /// reported again) until the register moves on.
    broken_at: Option<(i64, String)>,
}

/// The checkpoint of one property, when one is due.
async fn checkpoint(
    job: &Checkpointing,
    property_id: &str,
    last: &mut HashMap<String, Progress>,
) -> anyhow::Result<()> {
    if !last.contains_key(property_id) {
        let newest = job.checkpoints.newest(property_id, &job.keyring).await?;
        let progress = Progress {
            checkpoint: newest.checkpoint,
            broken_at: None,
        };
        last.insert(property_id.to_owned(), progress);
    }
    let progress = last.get_mut(property_id).expect("inserted above");
    let Some(head) = store::audit::head(job.db.pool(), property_id).await? else {
        return Ok(());
    };
    if progress.broken_at.as_ref() == Some(&head) {
        return Ok(());
    }
    let now = job.clock.now();
    if let Some(cp) = &progress.checkpoint {
        // rule ARC-12: a head behind its checkpoint, or beside it, is a register cut back.
        if head.0 < cp.seq || (head.0 == cp.seq && head.1 != cp.head) {
            tracing::error!(
                property = property_id,
                head = head.0,
                checkpoint = cp.seq,
                "the archive register no longer reaches the entry of its last checkpoint: \
                 entries were removed"
            );
            progress.broken_at = Some(head);
            return Ok(());
        }
        if head.0 == cp.seq || !due(cp.made_at, now, job.interval) {
            return Ok(());
        }
    }
    // rule ARC-12: a checkpoint vouches only for a chain that holds up to it.
    let since = progress.checkpoint.clone();
    let verification =
        store::audit::verify_since(&job.db, &job.keyring, property_id, since, head.clone()).await?;
    if !verification.intact {
        tracing::error!(
            property = property_id,
            seq = verification.first_broken_seq,
            problem = %verification.problem,
            "the archive register does not hold since its last checkpoint: no checkpoint is written"
        );
        progress.broken_at = Some(head);
        return Ok(());
    }
    let checkpoint = Checkpoint::make(property_id, head.0, &head.1, now, &job.keyring)?;
    job.checkpoints.write(&checkpoint).await?;
    tracing::debug!(
        property = property_id,
        seq = checkpoint.seq,
        "register checkpoint written"
    );
    progress.checkpoint = Some(checkpoint);
    progress.broken_at = None;
    Ok(())
}

/// Whether the next checkpoint after one made at `made_at` is due; a clock set back does not
/// hold checkpoints back until it catches up.
fn due(made_at: DateTime<Utc>, now: DateTime<Utc>, interval: chrono::Duration) -> bool {
    now < made_at || now - made_at >= interval
}

/// At start-up: re-links under the keyring the chains that still hold entries hashed before
/// links were keyed (plain SHA-256, which anyone can recompute), each after it verified as it
/// was written. A chain that does not verify is left as it is, and keeps being reported broken.
/// A property that already has checkpoints had a keyed chain: plain entries in it were written
/// since, by someone without the keyring, and are not re-linked.
pub async fn relink_plain_entries(
    db: &Db,
    keyring: &Keyring,
    checkpoints: &CheckpointStore,
    enabled: bool,
) -> anyhow::Result<()> {
    for property_id in store::audit::unkeyed_properties(db).await? {
        if !enabled {
            tracing::warn!(
                property = %property_id,
                "the archive register holds entries with plain hashes and audit_relink_plain_entries \
                 is off: they are reported as broken"
            );
            continue;
        }
        if checkpoints.any(&property_id).await? {
            tracing::error!(
                property = %property_id,
                "the archive register holds entries with plain hashes although it was \
                 checkpointed keyed: they were written without the keyring and are not re-linked"
            );
            continue;
        }
        match store::audit::relink(db, keyring, &property_id).await? {
            Relinked::Done(entries) => tracing::info!(
                property = %property_id,
                entries,
                key = keyring.current_key_id(),
                "archive register re-linked under the keyring"
            ),
            Relinked::Broken(v) => tracing::error!(
                property = %property_id,
                seq = v.first_broken_seq,
                problem = %v.problem,
                "the archive register does not hold as it was written: it is left as it is"
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wuye_kit::config::Secret;

    const K1: &str = "k1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::hours(hours)
    }

    #[test]
    fn checkpoints_are_due_after_the_interval_or_when_the_clock_went_back() {
        let hour = chrono::Duration::hours(1);
        assert!(!due(at(10), at(10), hour));
        assert!(due(at(10), at(11), hour));
        assert!(due(at(10), at(9), hour));
        assert!(due(at(10), at(10), chrono::Duration::zero()));
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
