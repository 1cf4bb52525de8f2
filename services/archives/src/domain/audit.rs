//! The archive register (查阅登记, ARC-12): append-only entries chained by keyed links. Each
//! entry's link is HMAC-SHA-256, under a key of the archives' keyring that the database does
//! not hold, over the previous entry's link and the entry's own content: changing an entry
//! breaks its link, removing one breaks the chain after it, and nobody without the keyring
//! can rehash what follows. The head (last number and link) catches a removed last entry;
//! checkpoints kept outside the database ([`super::checkpoints`]) catch a register cut back
//! with its head.
//!
//! Each entry names the key its link was made with, so the keyring rotates and old links
//! still verify. Entries written before links were keyed carry no key id and a plain SHA-256
//! hash; they are re-linked under the keyring once, at start-up, after their chain verified
//! as it was (see `crate::register`), and are never accepted as they are afterwards.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use wuye_kit::{db::to_micros, identity::Actor, seal::Keyring};

use super::checkpoints::Checkpoint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    UploadDocument,
    ReadDocument,
    ReadPersonalData,
    RecordPersonalData,
    CopyDocument,
    RequestAccess,
    ApproveAccess,
    RejectAccess,
    HandOverRecord,
    ProposeDestruction,
    ApproveDestruction,
}

wuye_kit::text_codes!(Action {
    UploadDocument => "upload_document",
    ReadDocument => "read_document",
    ReadPersonalData => "read_personal_data",
    RecordPersonalData => "record_personal_data",
    CopyDocument => "copy_document",
    RequestAccess => "request_access",
    ApproveAccess => "approve_access",
    RejectAccess => "reject_access",
    HandOverRecord => "hand_over_record",
    ProposeDestruction => "propose_destruction",
    ApproveDestruction => "approve_destruction",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Refused,
}

wuye_kit::text_codes!(Outcome { Done => "done", Refused => "refused" });

/// What happened, before it takes its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Happening {
    pub property_id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub action: Action,
    pub outcome: Outcome,
    /// The stable reason of a refusal; empty when done.
    pub reason: String,
    pub subject_kind: &'static str,
    pub subject_id: String,
    pub access_request_id: String,
    /// Never a personal identifier.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub property_id: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    /// Stored codes, kept as text so that an entry read back hashes exactly as stored.
    pub action: String,
    pub outcome: String,
    pub reason: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub access_request_id: String,
    pub detail: String,
    /// The id of the keyring's key the link was made with; empty for an entry hashed before
    /// links were keyed.
    pub key_id: String,
    /// The previous entry's link.
    pub previous_hash: String,
    /// The entry's link: lowercase hex HMAC-SHA-256 (plain SHA-256 before links were keyed).
    pub hash: String,
}

/// The context of the keyed links, so that no other keyed digest of the keyring is a link.
const LINK_CONTEXT: &str = "archives/audit-link";

/// The previous hash of the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Happening {
    /// The entry at `seq` after an entry linked `previous_hash`, linked under the keyring's
    /// current key.
    pub fn chain(
        self,
        seq: i64,
        previous_hash: String,
        keyring: &Keyring,
    ) -> anyhow::Result<Entry> {
        let mut entry = Entry {
            seq,
            property_id: self.property_id,
            occurred_at: self.occurred_at,
            actor: self.actor,
            action: self.action.code().to_owned(),
            outcome: self.outcome.code().to_owned(),
            reason: self.reason,
            subject_kind: self.subject_kind.to_owned(),
            subject_id: self.subject_id,
            access_request_id: self.access_request_id,
            detail: self.detail,
            key_id: String::new(),
            previous_hash: String::new(),
            hash: String::new(),
        };
        entry.relink(previous_hash, keyring)?;
        Ok(entry)
    }
}

impl Entry {
    /// A versioned, length-prefixed encoding of every field but the link, so no two different
    /// entries encode alike. Version 2 (keyed) also covers the key id.
    fn encode(&self, keyed: bool) -> Vec<u8> {
        let micros = to_micros(self.occurred_at).to_string();
        let seq = self.seq.to_string();
        let version = if keyed {
            "wuye-archives-audit-v2"
        } else {
            "wuye-archives-audit-v1"
        };
        let mut fields = vec![
            version,
            &self.property_id,
            &seq,
            &micros,
            &self.actor.user_id,
            &self.actor.name,
            &self.actor.role,
            &self.action,
            &self.outcome,
            &self.reason,
            &self.subject_kind,
            &self.subject_id,
            &self.access_request_id,
            &self.detail,
        ];
        if keyed {
            fields.push(&self.key_id);
        }
        fields.push(&self.previous_hash);
        let mut out = Vec::new();
        for field in fields {
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }

    /// The keyed link of the entry under the key it names; fails when the keyring does not
    /// hold that key.
    pub fn keyed_link(&self, keyring: &Keyring) -> anyhow::Result<String> {
        let mac = keyring.digest_with_key(&self.key_id, LINK_CONTEXT, &self.encode(true))?;
        Ok(hex::encode(mac))
    }

    /// The plain SHA-256 hash an entry got before links were keyed, which anyone can
    /// recompute: trusted only to check a chain as it was, once, before re-linking it.
    pub fn plain_hash(&self) -> String {
        hex::encode(Sha256::digest(self.encode(false)))
    }

    /// Links the entry after `previous_hash` under the keyring's current key.
    pub fn relink(&mut self, previous_hash: String, keyring: &Keyring) -> anyhow::Result<()> {
        self.key_id = keyring.current_key_id().to_owned();
        self.previous_hash = previous_hash;
        self.hash = self.keyed_link(keyring)?;
        Ok(())
    }
}

/// Equal links, compared in the same time wherever they differ: the verdict must not tell
/// someone guessing a link how much of it was right.
fn same_link(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub intact: bool,
    pub checked: i64,
    /// The first entry that does not hold; 0 when intact, or when what does not hold is a
    /// checkpoint rather than an entry.
    pub first_broken_seq: i64,
    pub problem: String,
    /// The newest checkpoint that verified, which the chain was held against.
    pub checkpoint: Option<(i64, DateTime<Utc>)>,
    /// Checkpoints newer than that one that do not verify.
    pub invalid_checkpoints: i64,
}

/// Checks a chain entry by entry, in the order of their numbers, so a long register is read
/// page by page.
#[derive(Debug)]
pub struct Verifier<'k> {
    keyring: &'k Keyring,
    /// Whether entries hashed before links were keyed are checked as they were (only to
    /// re-link them) rather than refused.
    as_it_was: bool,
    expected_seq: i64,
    /// None when resuming at a checkpoint, whose entry's predecessor is not read.
    previous_hash: Option<String>,
    checked: i64,
    broken: Option<(i64, String)>,
    checkpoint: Option<Checkpoint>,
    invalid_checkpoints: i64,
}

impl<'k> Verifier<'k> {
    /// Checks a chain from its first entry: every link keyed.
    pub fn new(keyring: &'k Keyring) -> Self {
        Self {
            keyring,
            as_it_was: false,
            expected_seq: 1,
            previous_hash: Some(GENESIS.to_owned()),
            checked: 0,
            broken: None,
            checkpoint: None,
            invalid_checkpoints: 0,
        }
    }

    /// Checks a chain from its first entry as it was written, entries hashed before links
    /// were keyed included.
    pub fn as_it_was(keyring: &'k Keyring) -> Self {
        Self {
            as_it_was: true,
            ..Self::new(keyring)
        }
    }

    /// Checks a chain from the entry `checkpoint` recorded, which must still be there
    /// unchanged, onwards.
    pub fn from_checkpoint(keyring: &'k Keyring, checkpoint: Checkpoint) -> Self {
        Self {
            expected_seq: checkpoint.seq,
            previous_hash: None,
            checkpoint: Some(checkpoint),
            ..Self::new(keyring)
        }
    }

    /// Also holds the chain against the newest checkpoint that verified (the chain must still
    /// reach its entry, unchanged), with the number of newer checkpoints that did not.
    pub fn against(mut self, checkpoint: Option<Checkpoint>, invalid_checkpoints: i64) -> Self {
        self.checkpoint = checkpoint;
        self.invalid_checkpoints = invalid_checkpoints;
        self
    }

    /// Checks the next entry; false once the chain is broken (the rest need not be read).
    pub fn push(&mut self, entry: &Entry) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.checked += 1;
        if let Some(problem) = self.problem(entry) {
            self.broken = Some(problem);
            return false;
        }
        self.expected_seq += 1;
        self.previous_hash = Some(entry.hash.clone());
        true
    }

    fn problem(&self, entry: &Entry) -> Option<(i64, String)> {
        if entry.seq != self.expected_seq {
            return Some((
                self.expected_seq,
                format!("entry {} is missing", self.expected_seq),
            ));
        }
        if self
            .previous_hash
            .as_ref()
            .is_some_and(|previous| !same_link(&entry.previous_hash, previous))
        {
            return Some((
                entry.seq,
                "previous hash does not match the entry before".to_owned(),
            ));
        }
        if entry.key_id.is_empty() {
            if !self.as_it_was {
                return Some((
                    entry.seq,
                    format!(
                        "entry {} has a plain hash, not a keyed link: it was rewritten",
                        entry.seq
                    ),
                ));
            }
            if !same_link(&entry.plain_hash(), &entry.hash) {
                return Some((entry.seq, "hash does not match the content".to_owned()));
            }
        } else {
            match entry.keyed_link(self.keyring) {
                Err(_) => {
                    return Some((
                        entry.seq,
                        format!(
                            "entry {} is linked under key {}, which is not in the keyring: it \
                             cannot be checked",
                            entry.seq, entry.key_id
                        ),
                    ));
                }
                Ok(link) if !same_link(&link, &entry.hash) => {
                    return Some((entry.seq, "hash does not match the content".to_owned()));
                }
                Ok(_) => {}
            }
        }
        if let Some(checkpoint) = &self.checkpoint
            && checkpoint.seq == entry.seq
            && !same_link(&checkpoint.head, &entry.hash)
        {
            return Some((
                entry.seq,
                format!(
                    "entry {} is not the one the checkpoint of {} recorded: the register was \
                     rewritten back past it",
                    entry.seq,
                    checkpoint.made_at.to_rfc3339()
                ),
            ));
        }
        None
    }

    /// The verdict, given the chain's head (its last number and hash) when there is one.
    pub fn finish(self, head: Option<(i64, String)>) -> Verification {
        let last_seq = self.expected_seq - 1;
        let last_hash = self.previous_hash.clone().unwrap_or_default();
        let checkpoint = self.checkpoint.as_ref();
        let broken = self
            .broken
            .or_else(|| match head {
                Some((seq, _)) if seq > last_seq => {
                    Some((last_seq + 1, format!("entry {} is missing", last_seq + 1)))
                }
                Some((seq, hash)) if seq == last_seq && !same_link(&hash, &last_hash) => Some((
                    seq,
                    "the last entry does not match the head of the chain".to_owned(),
                )),
                Some((seq, _)) if seq < last_seq => {
                    Some((seq + 1, "entries after the head of the chain".to_owned()))
                }
                None if last_seq > 0 => Some((1, "the head of the chain is missing".to_owned())),
                _ => None,
            })
            .or_else(|| {
                // rule ARC-12: a register cut back together with its head still ends before
                // the entry its newest checkpoint recorded.
                checkpoint.filter(|c| c.seq > last_seq).map(|c| {
                    (
                        last_seq + 1,
                        format!(
                            "entries {} to {} are missing: the checkpoint of {} recorded the \
                             register up to entry {}",
                            last_seq + 1,
                            c.seq,
                            c.made_at.to_rfc3339(),
                            c.seq
                        ),
                    )
                })
            })
            .or_else(|| {
                (self.invalid_checkpoints > 0).then(|| {
                    (
                        0,
                        format!(
                            "{} checkpoint(s) of the register do not verify: forged, damaged, or \
                             made under a key no longer in the keyring",
                            self.invalid_checkpoints
                        ),
                    )
                })
            });
        let (intact, first_broken_seq, problem) = match broken {
            Some((seq, problem)) => (false, seq, problem),
            None => (true, 0, String::new()),
        };
        Verification {
            intact,
            checked: self.checked,
            first_broken_seq,
            problem,
            checkpoint: checkpoint.map(|c| (c.seq, c.made_at)),
            invalid_checkpoints: self.invalid_checkpoints,
        }
    }
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

    fn happening(n: i64) -> Happening {
        Happening {
            property_id: "p".into(),
            occurred_at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(n),
            actor: Actor {
                user_id: "u".into(),
                name: "王芳".into(),
                role: "cs_clerk".into(),
            },
            action: Action::ReadDocument,
            outcome: Outcome::Done,
            reason: String::new(),
            subject_kind: "document",
            subject_id: format!("d{n}"),
            access_request_id: "a1".into(),
            detail: String::new(),
        }
    }

    /// Entries `from..=to` after `previous`, linked under `keyring`.
    fn extend(entries: &mut Vec<Entry>, to: i64, keyring: &Keyring) {
        let from = entries.len() as i64 + 1;
        for seq in from..=to {
            let previous = entries
                .last()
                .map_or(GENESIS.to_owned(), |e| e.hash.clone());
            entries.push(happening(seq).chain(seq, previous, keyring).unwrap());
        }
    }

    fn chain(n: i64) -> Vec<Entry> {
        let mut entries = Vec::new();
        extend(&mut entries, n, &ring(K1));
        entries
    }

    /// The chain as the register wrote it before links were keyed.
    fn plain_chain(n: i64) -> Vec<Entry> {
        let mut previous = GENESIS.to_owned();
        chain(n)
            .into_iter()
            .map(|mut e| {
                e.key_id = String::new();
                e.previous_hash = previous.clone();
                e.hash = e.plain_hash();
                previous = e.hash.clone();
                e
            })
            .collect()
    }

    fn run(mut v: Verifier<'_>, entries: &[Entry], head: Option<(i64, String)>) -> Verification {
        for e in entries {
            if !v.push(e) {
                break;
            }
        }
        v.finish(head)
    }

    fn verify(entries: &[Entry], head: Option<(i64, String)>) -> Verification {
        run(Verifier::new(&ring(K1)), entries, head)
    }

    fn head(entries: &[Entry]) -> Option<(i64, String)> {
        entries.last().map(|e| (e.seq, e.hash.clone()))
    }

    fn checkpoint(entries: &[Entry], seq: i64) -> Checkpoint {
        let e = &entries[seq as usize - 1];
        Checkpoint::make(
            "p",
            e.seq,
            &e.hash,
            DateTime::UNIX_EPOCH + chrono::Duration::hours(1),
            &ring(K1),
        )
        .unwrap()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        // rule ARC-12
        let entries = chain(5);
        let v = verify(&entries, head(&entries));
        assert!(v.intact, "{v:?}");
        assert_eq!(v.checked, 5);
        assert!(verify(&[], None).intact);
        assert!(
            entries
                .iter()
                .all(|e| e.key_id == "k1" && e.hash.len() == 64)
        );
    }

    #[test]
    fn a_changed_entry_is_found() {
        // rule ARC-12
        let mut entries = chain(5);
        let h = head(&entries);
        entries[2].detail = "changed".into();
        let v = verify(&entries, h);
        assert_eq!((v.intact, v.first_broken_seq), (false, 3));
        assert!(v.problem.contains("hash"), "{v:?}");
    }

    #[test]
    fn a_rehashed_entry_breaks_the_link_after_it() {
        // rule ARC-12: recomputing the changed entry's own hash does not help.
        let mut entries = chain(5);
        let h = head(&entries);
        entries[2].subject_id = "other".into();
        entries[2].hash = entries[2].keyed_link(&ring(K1)).unwrap();
        let v = verify(&entries, h);
        assert_eq!((v.intact, v.first_broken_seq), (false, 4));
    }

    #[test]
    fn removed_entries_are_found_in_the_middle_and_at_the_end() {
        // rule ARC-12
        let mut entries = chain(5);
        let h = head(&entries);
        entries.remove(1);
        let v = verify(&entries, h.clone());
        assert_eq!((v.intact, v.first_broken_seq), (false, 2));
        let mut entries = chain(5);
        entries.pop();
        let v = verify(&entries, h);
        assert_eq!((v.intact, v.first_broken_seq), (false, 5));
        let entries = chain(2);
        assert_eq!(verify(&entries, None).first_broken_seq, 1);
    }

    #[test]
    fn a_chain_rewritten_without_the_key_is_found() {
        // rule ARC-12: an entry removed, the rest renumbered and rehashed in plain SHA-256
        // (or linked under a key of someone else's), with a matching head.
        for forged_key in [None, Some(ring(&K2.replace("k2", "k1")))] {
            let mut entries = chain(5);
            entries.remove(2);
            let mut previous = entries[1].hash.clone();
            for (i, e) in entries.iter_mut().enumerate().skip(2) {
                e.seq = i as i64 + 1;
                match &forged_key {
                    None => {
                        e.key_id = String::new();
                        e.previous_hash = previous.clone();
                        e.hash = e.plain_hash();
                    }
                    Some(other) => e.relink(previous.clone(), other).unwrap(),
                }
                previous = e.hash.clone();
            }
            let v = verify(&entries, head(&entries));
            assert_eq!((v.intact, v.first_broken_seq), (false, 3), "{v:?}");
        }
    }

    #[test]
    fn links_verify_under_the_key_they_name_after_rotation() {
        let mut entries = chain(3);
        let rotated = ring(&format!("{K2},{K1}"));
        extend(&mut entries, 5, &rotated);
        assert_eq!(entries[3].key_id, "k2");
        let v = run(Verifier::new(&rotated), &entries, head(&entries));
        assert!(v.intact, "{v:?}");
        // Without the old key the old links cannot be vouched for.
        let v = run(Verifier::new(&ring(K2)), &entries, head(&entries));
        assert_eq!((v.intact, v.first_broken_seq), (false, 1));
        assert!(v.problem.contains("key k1"), "{v:?}");
    }

    #[test]
    fn plain_hashes_are_accepted_only_as_they_were_before_relinking() {
        let old = plain_chain(4);
        let v = verify(&old, head(&old));
        assert_eq!((v.intact, v.first_broken_seq), (false, 1));
        assert!(v.problem.contains("plain hash"), "{v:?}");
        let keyring = ring(K1);
        assert!(run(Verifier::as_it_was(&keyring), &old, head(&old)).intact);
        let mut changed = old.clone();
        changed[1].detail = "x".into();
        let v = run(Verifier::as_it_was(&keyring), &changed, head(&changed));
        assert_eq!((v.intact, v.first_broken_seq), (false, 2));
        // Re-linked, the chain is keyed throughout.
        let mut relinked = old;
        let mut previous = GENESIS.to_owned();
        for e in &mut relinked {
            e.relink(previous, &keyring).unwrap();
            previous = e.hash.clone();
        }
        assert_eq!(relinked, chain(4));
        assert!(verify(&relinked, head(&relinked)).intact);
    }

    #[test]
    fn a_chain_cut_back_or_regrown_past_a_checkpoint_is_found() {
        // rule ARC-12
        let entries = chain(6);
        let cp = checkpoint(&entries, 5);
        let keyring = ring(K1);
        let v = run(
            Verifier::new(&keyring).against(Some(cp.clone()), 0),
            &entries,
            head(&entries),
        );
        assert!(v.intact, "{v:?}");
        assert_eq!(v.checkpoint, Some((5, cp.made_at)));
        // Cut back to entry 3, head and all.
        let cut = &entries[..3];
        let v = run(
            Verifier::new(&keyring).against(Some(cp.clone()), 0),
            cut,
            head(cut),
        );
        assert_eq!((v.intact, v.first_broken_seq), (false, 4), "{v:?}");
        assert!(v.problem.contains("checkpoint"), "{v:?}");
        // Cut back, then grown again by honest entries past the checkpoint.
        let mut regrown = entries[..3].to_vec();
        for seq in 4..=6 {
            let mut h = happening(seq);
            h.detail = "later".into();
            let previous = regrown.last().unwrap().hash.clone();
            regrown.push(h.chain(seq, previous, &keyring).unwrap());
        }
        let v = run(
            Verifier::new(&keyring).against(Some(cp.clone()), 0),
            &regrown,
            head(&regrown),
        );
        assert_eq!((v.intact, v.first_broken_seq), (false, 5), "{v:?}");
        // Resuming at the checkpoint: the entries after it check, the regrown chain does not.
        let v = run(
            Verifier::from_checkpoint(&keyring, cp.clone()),
            &entries[4..],
            head(&entries),
        );
        assert!(v.intact, "{v:?}");
        let v = run(
            Verifier::from_checkpoint(&keyring, cp),
            &regrown[4..],
            head(&regrown),
        );
        assert_eq!((v.intact, v.first_broken_seq), (false, 5), "{v:?}");
    }

    #[test]
    fn checkpoints_that_do_not_verify_are_reported() {
        let entries = chain(2);
        let keyring = ring(K1);
        let v = run(
            Verifier::new(&keyring).against(None, 2),
            &entries,
            head(&entries),
        );
        assert_eq!(
            (v.intact, v.first_broken_seq, v.invalid_checkpoints),
            (false, 0, 2)
        );
        assert!(v.problem.contains("2 checkpoint(s)"), "{v:?}");
    }
}
