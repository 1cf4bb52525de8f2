//! The archive register (查阅登记, ARC-12): what every call writes into it, its reading and
//! verification, and the jobs that keep it: checkpoints outside the database, and the one-time
//! re-linking of entries hashed before links were keyed.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use wuye_kit::{
    Error, Result, clock::SharedClock, db::Db, properties::Properties, scope::Scope, seal::Keyring,
};

use crate::{
    Archives,
    domain::{
        Refusal,
        audit::{Action, Entry, GENESIS, Happening, Outcome, Verification, Verifier},
        checkpoints::Checkpoint,
    },
    register::CheckpointStore,
    store,
};

/// What an audited call is about.
pub(crate) struct Subject<'a> {
    pub action: Action,
    pub kind: &'static str,
    pub id: &'a str,
    pub access_request_id: &'a str,
}

/// What the caller of `scope` did with `subject`, now.
pub(crate) fn happening(
    a: &Archives,
    scope: &Scope<'_>,
    subject: &Subject<'_>,
    outcome: Outcome,
    reason: &str,
    detail: String,
) -> Happening {
    Happening {
        property_id: scope.property().id.clone(),
        occurred_at: a.clock.now(),
        actor: scope.actor(),
        action: subject.action,
        outcome,
        reason: reason.to_owned(),
        subject_kind: subject.kind,
        subject_id: subject.id.to_owned(),
        access_request_id: subject.access_request_id.to_owned(),
        detail,
    }
}

/// What was done, as the register names it.
pub(crate) fn done(
    a: &Archives,
    scope: &Scope<'_>,
    subject: &Subject<'_>,
    detail: String,
) -> Happening {
    happening(a, scope, subject, Outcome::Done, "", detail)
}

/// Records `happening` in a transaction of its own: a reading, or a refusal, whose call writes
/// nothing else.
pub(crate) async fn record(a: &Archives, happening: Happening) -> Result<()> {
    let mut tx = a.db.begin().await?;
    store::audit::append(&mut tx, &a.keyring, happening).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a refusal in the register (ARC-12), then gives the refusal to the caller.
pub(crate) async fn refuse(
    a: &Archives,
    scope: &Scope<'_>,
    subject: &Subject<'_>,
    refusal: Refusal,
) -> Error {
    let happening = happening(
        a,
        scope,
        subject,
        Outcome::Refused,
        refusal.reason(),
        String::new(),
    );
    if let Err(e) = record(a, happening).await {
        return e;
    }
    tracing::info!(property = %scope.property().id, action = subject.action.code(), reason = refusal.reason(), "archive access refused");
    Error::from(refusal)
}

/// Entries of the property after `after_seq`, oldest first.
pub(crate) async fn list(
    a: &Archives,
    scope: &Scope<'_>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Entry>> {
    store::audit::list(&a.db, &scope.property().id, after_seq, limit).await
}

/// Recomputes the keyed chain of the property up to its head, and holds it against the
/// newest checkpoint that verifies (ARC-12).
pub(crate) async fn verify(a: &Archives, scope: &Scope<'_>) -> Result<Verification> {
    let property_id = &scope.property().id;
    // rule ARC-12: the checkpoint first, then the head, so that a checkpoint written
    // meanwhile never lies beyond the head read.
    let newest = a
        .checkpoints
        .newest(property_id, &a.keyring)
        .await
        .map_err(|e| Error::Internal(e.context("reading the register's checkpoints")))?;
    // The head first: entries appended meanwhile lie beyond it and are left for next time.
    let head = store::audit::head(a.db.pool(), property_id).await?;
    let verifier = Verifier::new(&a.keyring).against(newest.checkpoint, newest.invalid);
    let v = walk(
        &mut *a.db.pool().acquire().await?,
        property_id,
        0,
        head,
        verifier,
    )
    .await?;
    if !v.intact {
        tracing::error!(property = %property_id, seq = v.first_broken_seq, problem = %v.problem, "archive register chain is broken");
    }
    Ok(v)
}

/// Feeds `verifier` the entries after `after` up to `head`, page by page, and gives its
/// verdict.
async fn walk(
    conn: &mut AnyConnection,
    property_id: &str,
    mut after: i64,
    head: Option<(i64, String)>,
    mut verifier: Verifier<'_>,
) -> Result<Verification> {
    let up_to = head.as_ref().map_or(i64::MAX, |(seq, _)| *seq);
    'pages: loop {
        let entries = store::audit::page(&mut *conn, property_id, after, up_to).await?;
        if entries.is_empty() {
            break;
        }
        for entry in &entries {
            after = entry.seq;
            if !verifier.push(entry) {
                break 'pages;
            }
        }
    }
    Ok(verifier.finish(head))
}

/// Checks the chain from the entry `since` recorded (the whole chain without one) up to
/// `head`: what a new checkpoint at `head` vouches for.
async fn verify_since(
    db: &Db,
    keyring: &Keyring,
    property_id: &str,
    since: Option<Checkpoint>,
    head: (i64, String),
) -> Result<Verification> {
    let conn = &mut *db.pool().acquire().await?;
    match since {
        None => walk(conn, property_id, 0, Some(head), Verifier::new(keyring)).await,
        Some(checkpoint) => {
            let after = checkpoint.seq - 1;
            let verifier = Verifier::from_checkpoint(keyring, checkpoint);
            walk(conn, property_id, after, Some(head), verifier).await
        }
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
pub async fn run_checkpoints(job: Checkpointing, every: Duration) {
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
        verify_since(&job.db, &job.keyring, property_id, since, head.clone()).await?;
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
        match relink(db, keyring, &property_id).await? {
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

/// What re-linking a chain did.
#[derive(Debug)]
enum Relinked {
    /// Every entry is now linked under the current key.
    Done(i64),
    /// The chain did not hold as it was written: it was left untouched.
    Broken(Verification),
}

/// Re-links a property's whole chain under the keyring's current key, once it verified as it
/// was written (plain hashes included), in one transaction holding the head: either every
/// entry is re-linked or none is.
async fn relink(db: &Db, keyring: &Keyring, property_id: &str) -> Result<Relinked> {
    let mut tx = db.begin().await?;
    let head = store::audit::lock_head(&mut tx, property_id).await?;
    let up_to = head.as_ref().map_or(i64::MAX, |(seq, _)| *seq);
    let verifier = Verifier::as_it_was(keyring);
    let verification = walk(&mut tx, property_id, 0, head, verifier).await?;
    if !verification.intact {
        tx.rollback().await?;
        return Ok(Relinked::Broken(verification));
    }
    let mut previous = GENESIS.to_owned();
    let mut after = 0;
    loop {
        let entries = store::audit::page(&mut *tx, property_id, after, up_to).await?;
        if entries.is_empty() {
            break;
        }
        for mut entry in entries {
            after = entry.seq;
            entry.relink(previous, keyring)?;
            store::audit::set_link(&mut tx, &entry).await?;
            previous = entry.hash;
        }
    }
    store::audit::set_head_hash(&mut tx, property_id, &previous).await?;
    tx.commit().await?;
    Ok(Relinked::Done(verification.checked))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
