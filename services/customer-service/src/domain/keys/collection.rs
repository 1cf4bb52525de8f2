//! Collection against ID (KEY-9): who may take the keys, refusals, and IDs recorded again.

use chrono::{DateTime, Utc};
use wuye_kit::{Error, Result, identity::Actor};

use super::{KeySet, KeySetState, MaskedId, ShownId, closed};

/// A refused collection, as the log keeps it (KEY-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    pub id: String,
    pub key_set_id: String,
    pub key_number: i64,
    pub refusal: Refusal,
    pub claimant_name: String,
    pub id_shown: MaskedId,
    pub refused_at: DateTime<Utc>,
    pub refused_by: Actor,
}

/// KEY-9: keys on loan, or already collected, cannot be handed over.
pub fn check_collect_state(set: &KeySet) -> Result<()> {
    match set.state {
        KeySetState::Collected => Err(closed()),
        KeySetState::OnLoan => Err(Error::rule(
            "KEYS_ON_LOAN",
            "keys of this set are lent out: they come back before the set is collected",
        )),
        KeySetState::InCabinet => Ok(()),
    }
}

/// Why a collection was refused (KEY-9); the refusal is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No ID shown, or one that is not the document on the form.
    IdNotVerified,
    /// Neither the customer nor a designated collector.
    NotDesignated,
    /// The form recorded the person's document when only its masked number was kept: that
    /// cannot tell one document from another ending the same way, so the person's ID is
    /// recorded on the custody again before the keys go.
    IdOnFileUnverifiable,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::IdNotVerified => "ID_NOT_VERIFIED",
            Refusal::NotDesignated => "COLLECTOR_NOT_DESIGNATED",
            Refusal::IdOnFileUnverifiable => "ID_ON_FILE_UNVERIFIABLE",
        }
    }

    pub fn from_reason(reason: &str) -> Option<Self> {
        match reason {
            "ID_NOT_VERIFIED" => Some(Refusal::IdNotVerified),
            "COLLECTOR_NOT_DESIGNATED" => Some(Refusal::NotDesignated),
            "ID_ON_FILE_UNVERIFIABLE" => Some(Refusal::IdOnFileUnverifiable),
            _ => None,
        }
    }

    pub fn to_error(self) -> Error {
        match self {
            Refusal::IdNotVerified => Error::rule(
                "ID_NOT_VERIFIED",
                "no identity document proves who the claimant is: the keys are not handed over \
                 (KEY-9)",
            ),
            Refusal::NotDesignated => Error::rule(
                "COLLECTOR_NOT_DESIGNATED",
                "the claimant is neither the customer nor a collector the customer designated \
                 (KEY-9)",
            ),
            Refusal::IdOnFileUnverifiable => Error::rule(
                "ID_ON_FILE_UNVERIFIABLE",
                "this custody was recorded when only the last four characters of the person's \
                 ID were kept, which cannot prove the document shown is theirs: the keys are not \
                 handed over until the person's ID is recorded on the custody again with the \
                 customer service supervisor (KEY-9)",
            ),
        }
    }
}

/// Whose document on the form a claimant is checked against (KEY-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFile {
    Customer,
    /// The designated collector at this position of the form.
    Collector(usize),
}

/// KEY-9: who may take the keys. `Ok(Ok(designated))` tells whether a designated collector
/// (not the customer) takes them; `Ok(Err(refusal))` is a refusal.
///
/// When the form recorded the person's document, the one shown must be that document: the
/// same type and the same whole number, which `same_number` checks against the keyed digest on
/// file (the keyring is the caller's; an error there is a fault, not a refusal). A masked
/// number alone never proves it: two documents may end the same way.
pub fn identify_collector(
    set: &KeySet,
    claimant: &str,
    shown: &ShownId,
    same_number: impl FnOnce(OnFile, &[u8]) -> Result<bool>,
) -> Result<std::result::Result<bool, Refusal>> {
    if shown.is_none() {
        return Ok(Err(Refusal::IdNotVerified));
    }
    let claimant = claimant.trim();
    let on_file = if claimant == set.customer_name {
        Some((
            OnFile::Customer,
            &set.customer_id,
            set.customer_id_digest.as_deref(),
        ))
    } else {
        set.collectors
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == claimant)
            .map(|(i, c)| (OnFile::Collector(i), &c.id, c.id_digest.as_deref()))
    };
    let Some((whose, id_on_file, digest)) = on_file else {
        return Ok(Err(Refusal::NotDesignated));
    };
    let designated = whose != OnFile::Customer;
    // The form recorded no document for the person: any valid ID with their name will do.
    if id_on_file.is_none() {
        return Ok(Ok(designated));
    }
    if id_on_file.id_type != shown.masked.id_type {
        return Ok(Err(Refusal::IdNotVerified));
    }
    match digest {
        Some(digest) if same_number(whose, digest)? => Ok(Ok(designated)),
        Some(_) => Ok(Err(Refusal::IdNotVerified)),
        // Recorded before digests were kept. A masked number that differs is certainly
        // another document; one that agrees proves nothing, and is never taken as proof.
        None if id_on_file.masked != shown.masked.masked => Ok(Err(Refusal::IdNotVerified)),
        None => Ok(Err(Refusal::IdOnFileUnverifiable)),
    }
}

/// Who may record a person's ID on a custody again (KEY-9): the CS supervisor only. The
/// whole number recorded is the proof the hand-over later rests on: whoever records it decides
/// what document opens the cabinet to whom. The clerk, who hands the keys over against it, may
/// not also replace it; the supervisor, who organizes and checks the key desk, does it and is
/// named in the record.
pub const ID_RECORDERS: &[&str] = &["cs_supervisor"];

/// A person's ID recorded again on a custody (KEY-9), as the register keeps it: the masked
/// number and who recorded it when; the whole number went no further than its keyed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRecord {
    pub id: String,
    pub property_id: String,
    pub key_set_id: String,
    pub key_number: i64,
    pub whose: OnFile,
    /// The person's name on the form.
    pub holder_name: String,
    pub document: MaskedId,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Actor,
}

/// KEY-9: the keyed digest of a person's whole number on the form is never replaced.
pub fn id_already_on_file() -> Error {
    Error::rule(
        "ID_ALREADY_ON_FILE",
        "the whole number of this person's ID is on file already, and it is never replaced \
         (KEY-9)",
    )
}

fn id_mismatch(mismatch: &str, message: &str) -> Error {
    let mut e = Error::rule("ID_DOES_NOT_MATCH_RECORD", message);
    if let Error::Rule { metadata, .. } = &mut e {
        metadata.insert("mismatch".into(), mismatch.into());
    }
    e
}

/// KEY-9: whether the document `shown` may be recorded again as the ID of `whose` on `set`;
/// returns the person's name on the form. Only for an open custody whose form recorded that
/// person's document when only its masked number was kept: a keyed digest on file is never
/// replaced, and the document shown must be of the type on file with the same masked number,
/// so the record can only complete what the form said, never change who may collect.
pub fn check_record_id<'a>(set: &'a KeySet, whose: OnFile, shown: &ShownId) -> Result<&'a str> {
    if shown.is_none() {
        return Err(Error::invalid(
            "id_number",
            "the number on the document is needed",
        ));
    }
    if set.state == KeySetState::Collected {
        return Err(closed());
    }
    let (name, on_file, digest) = match whose {
        OnFile::Customer => (
            set.customer_name.as_str(),
            &set.customer_id,
            set.customer_id_digest.as_deref(),
        ),
        OnFile::Collector(i) => {
            let Some(c) = set.collectors.get(i) else {
                return Err(Error::invalid(
                    "collector_position",
                    match set.collectors.len() {
                        0 => "the form names no designated collector".to_owned(),
                        n => format!("the form names {n} designated collectors, from position 0"),
                    },
                ));
            };
            (c.name.as_str(), &c.id, c.id_digest.as_deref())
        }
    };
    if on_file.is_none() {
        return Err(Error::rule(
            "NO_ID_ON_FILE",
            "the form records no identity document for this person: there is none to record \
             again, and the person collects with any valid ID under their name (KEY-9)",
        ));
    }
    if digest.is_some() {
        return Err(id_already_on_file());
    }
    if on_file.id_type != shown.masked.id_type {
        return Err(id_mismatch(
            "document_type",
            "the document shown is not of the type the form records for this person: nothing \
             was recorded (KEY-9)",
        ));
    }
    if on_file.masked != shown.masked.masked {
        return Err(id_mismatch(
            "number",
            "the number shown is not the one the form records for this person (its masked form \
             differs): it is another document, and nothing was recorded (KEY-9)",
        ));
    }
    Ok(name)
}
