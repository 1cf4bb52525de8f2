//! The archive register (查阅登记, ARC-12): append-only entries chained by hashes. Each
//! entry's hash covers the previous entry's hash and the entry's own content, so changing an
//! entry breaks its hash and removing one breaks the chain after it; the head (last number
//! and hash) catches a removed last entry.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use wuye_kit::{db::to_micros, identity::Actor};

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
    pub previous_hash: String,
    pub hash: String,
}

/// The previous hash of the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Happening {
    /// The entry at `seq` after an entry hashed `previous_hash`.
    pub fn chain(self, seq: i64, previous_hash: String) -> Entry {
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
            previous_hash,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        entry
    }
}

impl Entry {
    /// SHA-256 over a versioned, length-prefixed encoding of every field but the hash, so
    /// no two different entries encode alike.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let micros = to_micros(self.occurred_at).to_string();
        let seq = self.seq.to_string();
        for field in [
            "wuye-archives-audit-v1",
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
            &self.previous_hash,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub intact: bool,
    pub checked: i64,
    /// The first entry that does not hold; 0 when intact.
    pub first_broken_seq: i64,
    pub problem: String,
}

/// Checks a chain entry by entry, in the order of their numbers, so a long register is read
/// page by page.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    previous_hash: String,
    checked: i64,
    broken: Option<(i64, String)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            previous_hash: GENESIS.to_owned(),
            checked: 0,
            broken: None,
        }
    }
}

impl Verifier {
    /// Checks the next entry; false once the chain is broken (the rest need not be read).
    pub fn push(&mut self, entry: &Entry) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.checked += 1;
        let problem = if entry.seq != self.expected_seq {
            Some((
                self.expected_seq,
                format!("entry {} is missing", self.expected_seq),
            ))
        } else if entry.previous_hash != self.previous_hash {
            Some((
                entry.seq,
                "previous hash does not match the entry before".to_owned(),
            ))
        } else if entry.compute_hash() != entry.hash {
            Some((entry.seq, "hash does not match the content".to_owned()))
        } else {
            None
        };
        if let Some(p) = problem {
            self.broken = Some(p);
            return false;
        }
        self.expected_seq += 1;
        self.previous_hash = entry.hash.clone();
        true
    }

    /// The verdict, given the chain's head (its last number and hash) when there is one.
    pub fn finish(self, head: Option<(i64, String)>) -> Verification {
        let last_seq = self.expected_seq - 1;
        let broken = self.broken.or_else(|| match head {
            Some((seq, _)) if seq > last_seq => {
                Some((last_seq + 1, format!("entry {} is missing", last_seq + 1)))
            }
            Some((seq, hash)) if seq == last_seq && hash != self.previous_hash => Some((
                seq,
                "the last entry does not match the head of the chain".to_owned(),
            )),
            Some((seq, _)) if seq < last_seq => {
                Some((seq + 1, "entries after the head of the chain".to_owned()))
            }
            None if last_seq > 0 => Some((1, "the head of the chain is missing".to_owned())),
            _ => None,
        });
        match broken {
            Some((seq, problem)) => Verification {
                intact: false,
                checked: self.checked,
                first_broken_seq: seq,
                problem,
            },
            None => Verification {
                intact: true,
                checked: self.checked,
                first_broken_seq: 0,
                problem: String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn chain(n: i64) -> Vec<Entry> {
        let mut previous = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let e = happening(seq).chain(seq, previous.clone());
                previous = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[Entry], head: Option<(i64, String)>) -> Verification {
        let mut v = Verifier::default();
        for e in entries {
            if !v.push(e) {
                break;
            }
        }
        v.finish(head)
    }

    fn head(entries: &[Entry]) -> Option<(i64, String)> {
        entries.last().map(|e| (e.seq, e.hash.clone()))
    }

    #[test]
    fn an_untouched_chain_verifies() {
        // rule ARC-12
        let entries = chain(5);
        let v = verify(&entries, head(&entries));
        assert!(v.intact, "{v:?}");
        assert_eq!(v.checked, 5);
        assert!(verify(&[], None).intact);
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
        entries[2].hash = entries[2].compute_hash();
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
}
