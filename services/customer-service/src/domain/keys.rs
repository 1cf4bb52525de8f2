//! Key custody (钥匙委托管理, KEY-1 to KEY-11): the custody register, loans and returns, the
//! overdue limit, collection against ID, retention, the cabinet audit and per-person figures.
//! Names, phones and ID numbers here are personal data: never logged.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use wuye_kit::{
    Error, Result, Violations,
    document::{escape, page, table},
    identity::Actor,
};

use super::{is_plausible_phone, units::UnitState};

pub const MAX_NAME: usize = 50;
pub const MAX_PHONE: usize = 30;
pub const MAX_TEXT: usize = 500;
pub const MAX_SLOT: usize = 20;
pub const MAX_KEYS: i32 = 50;
pub const MAX_COLLECTORS: usize = 5;
pub const MAX_SIGNATURE_IMAGE: usize = 256 * 1024;
/// The longest loan a clerk records: longer work needs a new loan.
pub const MAX_LOAN_DAYS: i64 = 90;

/// Whose keys the center keeps (KEY-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Developer,
    Customer,
}

wuye_kit::text_codes!(KeySource { Developer => "developer", Customer => "customer" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySetState {
    InCabinet,
    OnLoan,
    Collected,
}

wuye_kit::text_codes!(KeySetState {
    InCabinet => "in_cabinet",
    OnLoan => "on_loan",
    Collected => "collected",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanPurpose {
    Repair,
    VacantPatrol,
}

wuye_kit::text_codes!(LoanPurpose { Repair => "repair", VacantPatrol => "vacant_patrol" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanState {
    Open,
    Returned,
}

wuye_kit::text_codes!(LoanState { Open => "open", Returned => "returned" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaseMethod {
    Phone,
    Visit,
}

wuye_kit::text_codes!(ChaseMethod { Phone => "phone", Visit => "visit" });

/// Identity documents (KEY-9). `None` is stored for "no document on file".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdType {
    None,
    ResidentIdCard,
    Passport,
    HomeReturnPermit,
    Other,
}

wuye_kit::text_codes!(IdType {
    None => "",
    ResidentIdCard => "resident_id_card",
    Passport => "passport",
    HomeReturnPermit => "home_return_permit",
    Other => "other",
});

/// An identity document as kept: its type and the masked number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedId {
    pub id_type: IdType,
    pub masked: String,
}

impl MaskedId {
    pub fn none() -> Self {
        Self {
            id_type: IdType::None,
            masked: String::new(),
        }
    }

    pub fn is_none(&self) -> bool {
        self.id_type == IdType::None
    }
}

/// A document number as the desk reads it and as its keyed digest is made (KEY-9): whitespace
/// removed, upper case.
pub fn normalize_id_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// An identity document as shown at the desk: its masked form, which is kept for display, and
/// the whole normalized number, which is only ever compared through a keyed digest (KEY-9):
/// never stored, never logged (its `Debug` shows the masked form only).
#[derive(Clone, PartialEq, Eq)]
pub struct ShownId {
    pub masked: MaskedId,
    number: String,
}

impl std::fmt::Debug for ShownId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShownId")
            .field("masked", &self.masked)
            .finish_non_exhaustive()
    }
}

impl ShownId {
    pub fn none() -> Self {
        Self {
            masked: MaskedId::none(),
            number: String::new(),
        }
    }

    pub fn is_none(&self) -> bool {
        self.masked.is_none()
    }

    /// The whole normalized number; empty for no document.
    pub fn number(&self) -> &str {
        &self.number
    }
}

/// Checks a document number as read from the document: a typo in a resident ID card fails its
/// check digit. Only the masked form (the last four characters, the rest starred) is kept;
/// the whole number goes no further than its keyed digest.
pub fn mask_id(field: &str, id_type: IdType, number: &str, v: &mut Violations) -> Option<ShownId> {
    let number = normalize_id_number(number);
    match id_type {
        IdType::None => {
            if !number.is_empty() {
                v.add(field, "a document number needs its document type");
            }
            return Some(ShownId::none());
        }
        IdType::ResidentIdCard => {
            if !is_valid_resident_id(&number) {
                v.add(
                    field,
                    "is not a resident ID card number (18 characters, check digit)",
                );
                return None;
            }
        }
        IdType::Passport | IdType::HomeReturnPermit | IdType::Other => {
            let len = number.chars().count();
            if !(5..=30).contains(&len) || !number.chars().all(|c| c.is_ascii_alphanumeric()) {
                v.add(field, "must be 5 to 30 letters or digits");
                return None;
            }
        }
    }
    Some(ShownId {
        masked: MaskedId {
            id_type,
            masked: wuye_kit::personal::mask_id_number(&number),
        },
        number,
    })
}

/// GB 11643: 17 digits and a check character (ISO 7064 MOD 11-2).
fn is_valid_resident_id(number: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (c, w) in chars[..17].iter().zip(WEIGHTS) {
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        sum += d * w;
    }
    chars[17] == CHECK[(sum % 11) as usize]
}

/// A person named on the form who may collect the keys (KEY-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    pub name: String,
    pub phone: String,
    pub id: MaskedId,
    /// The keyed digest of the whole number of `id` (KEY-9); `None` when no document is on
    /// file, or for a custody recorded when only the masked number was kept.
    pub id_digest: Option<Vec<u8>>,
}

/// The customer's signed acceptance of the disclaimer (KEY-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclaimer {
    pub signer_name: String,
    pub image: Option<Vec<u8>>,
    pub signed_at: DateTime<Utc>,
}

/// The hand-over that closes a custody (KEY-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub collector_name: String,
    pub designated: bool,
    pub id: MaskedId,
    pub signer_name: String,
    pub collected_at: DateTime<Utc>,
    pub handed_over_by: Actor,
}

/// An entry of the custody register with its authorization form.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySet {
    pub id: String,
    pub property_id: String,
    pub number: i64,
    pub source: KeySource,
    pub unit_id: String,
    pub unit_label: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_id: MaskedId,
    /// The keyed digest of the whole number of `customer_id`, as for [`Collector::id_digest`].
    pub customer_id_digest: Option<Vec<u8>>,
    pub key_count: i32,
    pub reason: String,
    pub collection_conditions: String,
    pub collectors: Vec<Collector>,
    pub disclaimer: Disclaimer,
    pub tag: String,
    pub slot: String,
    pub state: KeySetState,
    pub keys_out: i32,
    pub entrusted_at: DateTime<Utc>,
    pub entrusted_by: Actor,
    pub collection: Option<Collection>,
    /// The open loan, while keys are out.
    pub current_loan: Option<Box<Loan>>,
}

impl KeySet {
    pub fn keys_in_cabinet(&self) -> i32 {
        if self.state == KeySetState::Collected {
            0
        } else {
            self.key_count - self.keys_out
        }
    }
}

/// The staff member who borrows (KEY-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Borrower {
    /// Empty when the borrower has no wuye user.
    pub user_id: String,
    pub name: String,
    pub department: String,
    pub phone: String,
}

/// A return counted by the clerk (KEY-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReturn {
    pub id: String,
    pub loan_id: String,
    /// Keys out before this return.
    pub expected: i32,
    pub received: i32,
    pub returned_at: DateTime<Utc>,
    pub received_by: Actor,
    pub note: String,
}

/// A chase of an overdue loan (KEY-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chase {
    pub id: String,
    pub loan_id: String,
    pub method: ChaseMethod,
    pub contacted: String,
    pub result: String,
    pub promised_return_at: Option<DateTime<Utc>>,
    pub chased_at: DateTime<Utc>,
    pub chased_by: Actor,
}

/// An entry of the borrowing register (钥匙借用登记表).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loan {
    pub id: String,
    pub property_id: String,
    pub key_set_id: String,
    pub key_number: i64,
    pub unit_id: String,
    pub unit_label: String,
    pub slot: String,
    pub quantity: i32,
    pub keys_out: i32,
    pub purpose: LoanPurpose,
    pub reason: String,
    pub borrower: Borrower,
    pub borrower_signature: String,
    pub borrowed_at: DateTime<Utc>,
    pub expected_return_at: DateTime<Utc>,
    pub state: LoanState,
    /// When the loan passed its limit, once the overdue check or a late return noted it.
    pub overdue_at: Option<DateTime<Utc>>,
    pub lent_by: Actor,
    pub returns: Vec<KeyReturn>,
    pub chases: Vec<Chase>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Loan {
    /// KEY-8: when the loan passed its limit, if it has by `now`.
    pub fn overdue_since(&self, now: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
        let limit = overdue_at(self.expected_return_at, days);
        self.overdue_at
            .or((self.state == LoanState::Open && now > limit).then_some(limit))
    }
}

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

/// A check of the cabinet against the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub id: String,
    pub property_id: String,
    pub audited_at: DateTime<Utc>,
    pub audited_by: Actor,
    pub slots_checked: i32,
    pub mismatches: Vec<SlotMismatch>,
    pub note: String,
}

/// KEY-1: developer keys are for units nobody has moved into; a customer entrusts the keys of
/// a unit that has been sold.
pub fn check_source(source: KeySource, unit: UnitState) -> Result<()> {
    match (source, unit) {
        (KeySource::Developer, UnitState::Occupied) => Err(Error::rule(
            "UNIT_MOVED_INTO",
            "the developer hands over keys only of units nobody has moved into (KEY-1)",
        )),
        (KeySource::Customer, UnitState::Unsold) => Err(Error::rule(
            "UNIT_UNSOLD",
            "an unsold unit has no customer: its keys come from the developer (KEY-1)",
        )),
        _ => Ok(()),
    }
}

/// The tag on the keys: the customer's name and the unit (KEY-5).
pub fn tag(customer_name: &str, unit_label: &str) -> String {
    format!("{customer_name} {unit_label}")
}

/// KEY-3: the clerk states the disclaimer; without the customer's signature, no custody.
pub fn check_disclaimer(accepted: bool, signer_name: &str) -> Result<()> {
    if !accepted || signer_name.trim().is_empty() {
        return Err(Error::rule(
            "DISCLAIMER_NOT_SIGNED",
            "the customer has not signed to accept that the center keeps no responsibility for \
             property in the home: no custody without the signature (KEY-3)",
        ));
    }
    Ok(())
}

/// One set per cabinet slot at a time (KEY-5).
pub fn slot_taken() -> Error {
    Error::rule("SLOT_TAKEN", "another key set is in this cabinet slot")
}

/// The slot as written on the cabinet: trimmed, upper case ("a-03" is "A-03").
pub fn normalize_slot(slot: &str) -> String {
    slot.trim().to_uppercase()
}

fn closed() -> Error {
    Error::rule(
        "CUSTODY_CLOSED",
        "the keys have been collected: the custody is closed",
    )
}

/// KEY-6: a set is lent to one borrower at a time, from the keys in the cabinet.
pub fn check_borrow(set: &KeySet, quantity: i32) -> Result<()> {
    match set.state {
        KeySetState::Collected => Err(closed()),
        KeySetState::OnLoan => Err(Error::rule(
            "KEYS_OUT",
            "keys of this set are lent out: they come back before the set is lent again",
        )),
        KeySetState::InCabinet if quantity > set.key_count => Err(Error::invalid(
            "quantity",
            format!("the set has {} keys", set.key_count),
        )),
        KeySetState::InCabinet => Ok(()),
    }
}

/// What a counted return does to its loan (KEY-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnOutcome {
    /// Every key lent is back: the loan closes and the set is back in the cabinet.
    Complete,
    /// Keys are still missing: recorded as a discrepancy, the loan stays open for them.
    Short { missing: i32 },
}

/// KEY-7: the clerk counts the keys back; more than are out is refused.
pub fn check_return(state: LoanState, keys_out: i32, received: i32) -> Result<ReturnOutcome> {
    if state == LoanState::Returned {
        return Err(Error::rule(
            "LOAN_RETURNED",
            "every key of this loan is already back",
        ));
    }
    if received > keys_out {
        let mut e = Error::rule(
            "COUNT_EXCEEDS_LENT",
            format!("{received} keys counted but only {keys_out} are out on this loan"),
        );
        if let Error::Rule { metadata, .. } = &mut e {
            metadata.insert("keys_out".into(), keys_out.to_string());
        }
        return Err(e);
    }
    Ok(if received == keys_out {
        ReturnOutcome::Complete
    } else {
        ReturnOutcome::Short {
            missing: keys_out - received,
        }
    })
}

/// KEY-8: a loan passes its limit `days` after its expected return.
pub fn overdue_at(expected_return: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    expected_return + Duration::days(i64::from(days))
}

/// The expected returns before which an open loan is past its limit at `now`.
pub fn overdue_cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - Duration::days(i64::from(days))
}

/// KEY-8: chasing is for a loan with keys out past its limit.
pub fn check_chase(state: LoanState, overdue: bool) -> Result<()> {
    if state == LoanState::Returned {
        return Err(Error::rule(
            "LOAN_RETURNED",
            "every key of this loan is already back",
        ));
    }
    if !overdue {
        return Err(Error::rule(
            "LOAN_NOT_OVERDUE",
            "the loan has not passed its limit yet",
        ));
    }
    Ok(())
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

/// KEY-10: custodies closed before this instant are purged.
pub fn retention_cutoff(now: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What the register says a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotOnRecord {
    pub slot: String,
    pub key_set_id: String,
    pub key_number: i64,
    pub keys_in_cabinet: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMismatch {
    pub slot: String,
    pub expected: i32,
    pub counted: i32,
    pub key_set_id: String,
    pub key_number: i64,
}

/// Compares the count of each slot with the register; a slot of the register not counted is
/// empty, a counted slot the register does not know holds keys it should not.
pub fn audit(register: &[SlotOnRecord], counted: &BTreeMap<String, i32>) -> Vec<SlotMismatch> {
    let mut mismatches = Vec::new();
    let by_slot: HashMap<&str, &SlotOnRecord> =
        register.iter().map(|r| (r.slot.as_str(), r)).collect();
    for r in register {
        let count = counted.get(&r.slot).copied().unwrap_or(0);
        if count != r.keys_in_cabinet {
            mismatches.push(SlotMismatch {
                slot: r.slot.clone(),
                expected: r.keys_in_cabinet,
                counted: count,
                key_set_id: r.key_set_id.clone(),
                key_number: r.key_number,
            });
        }
    }
    for (slot, &count) in counted {
        if count > 0 && !by_slot.contains_key(slot.as_str()) {
            mismatches.push(SlotMismatch {
                slot: slot.clone(),
                expected: 0,
                counted: count,
                key_set_id: String::new(),
                key_number: 0,
            });
        }
    }
    mismatches.sort_by(|a, b| a.slot.cmp(&b.slot));
    mismatches
}

/// A month "YYYY-MM".
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()
}

/// The UTC instants from the start of `from` to the start of the month after `to`, counted in
/// the property's time zone.
pub fn month_window(from: NaiveDate, to: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let end = to.checked_add_months(Months::new(1)).unwrap_or(to);
    (start(from), start(end))
}

/// Months between two first days, inclusive.
pub fn months_between(from: NaiveDate, to: NaiveDate) -> i32 {
    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1
}

/// What counts in the per-person figures (KEY-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deed {
    LoanHandled,
    ReturnReceived,
    LoanBorrowed,
    OverdueLoan,
    Chase,
    Refusal,
}

/// One deed of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub deed: Deed,
    pub user_id: String,
    pub name: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub month: String,
    pub user_id: String,
    pub name: String,
    pub loans_handled: i32,
    pub returns_received: i32,
    pub loans_borrowed: i32,
    pub overdue_loans: i32,
    pub chases: i32,
    pub refusals: i32,
}

/// KEY-11: counts by month (in the property's time zone) and person, a person being their
/// user id or, for a borrower without one, their name.
pub fn figures(occurrences: &[Occurrence], tz: Tz) -> Vec<Figures> {
    let mut by: BTreeMap<(String, String, String), Figures> = BTreeMap::new();
    for o in occurrences {
        let month = o.at.with_timezone(&tz).format("%Y-%m").to_string();
        let key = if o.user_id.is_empty() {
            (month.clone(), String::new(), o.name.clone())
        } else {
            (month.clone(), o.user_id.clone(), String::new())
        };
        let f = by.entry(key).or_insert_with(|| Figures {
            month,
            user_id: o.user_id.clone(),
            name: o.name.clone(),
            ..Default::default()
        });
        let count = match o.deed {
            Deed::LoanHandled => &mut f.loans_handled,
            Deed::ReturnReceived => &mut f.returns_received,
            Deed::LoanBorrowed => &mut f.loans_borrowed,
            Deed::OverdueLoan => &mut f.overdue_loans,
            Deed::Chase => &mut f.chases,
            Deed::Refusal => &mut f.refusals,
        };
        *count += 1;
    }
    let mut out: Vec<Figures> = by.into_values().collect();
    out.sort_by(|a, b| (&a.month, &a.name, &a.user_id).cmp(&(&b.month, &b.name, &b.user_id)));
    out
}

/// Checks a name and phone pair of the form.
pub fn check_person(
    prefix: &str,
    name: &str,
    phone: &str,
    phone_required: bool,
    v: &mut Violations,
) {
    v.required_text(&format!("{prefix}name"), name, MAX_NAME);
    let field = format!("{prefix}phone");
    if phone_required {
        v.required_text(&field, phone, MAX_PHONE);
    } else {
        v.max_text(&field, phone, MAX_PHONE);
    }
    if !phone.trim().is_empty() && !is_plausible_phone(phone.trim()) {
        v.add(&field, "is not a phone number");
    }
}

/// Part two of the authorization form (客户托管钥匙委托书 第二联), which the customer keeps
/// (KEY-4).
pub fn render_form_part_two(
    set: &KeySet,
    property_name: &str,
    tz: Tz,
    printed_at: DateTime<Utc>,
) -> String {
    let date = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d").to_string();
    let source = match set.source {
        KeySource::Developer => "发展商交楼托管",
        KeySource::Customer => "客户托管",
    };
    let facts = [
        ("物业", property_name.to_owned()),
        ("钥匙编号", set.number.to_string()),
        ("联次", "第二联 客户保管".to_owned()),
        ("打印", date(printed_at)),
    ];
    let form = table(
        &["项目", "内容"],
        [
            ["日期".to_owned(), date(set.entrusted_at)],
            ["单位编号".to_owned(), set.unit_label.clone()],
            ["客户姓名".to_owned(), set.customer_name.clone()],
            ["托管类别".to_owned(), source.to_owned()],
            ["钥匙数量".to_owned(), format!("{} 把", set.key_count)],
            ["托存原因".to_owned(), set.reason.clone()],
            [
                "领取钥匙的要求".to_owned(),
                set.collection_conditions.clone(),
            ],
        ],
    );
    let collectors = if set.collectors.is_empty() {
        "<p>指定领钥匙人：无（仅限客户本人凭有效证件领取）</p>\n".to_owned()
    } else {
        format!(
            "<p>指定领钥匙人（凭有效证件领取）：</p>\n{}",
            table(
                &["姓名", "联系电话", "证件"],
                set.collectors.iter().map(|c| {
                    [
                        c.name.clone(),
                        c.phone.clone(),
                        if c.id.is_none() {
                            String::new()
                        } else {
                            c.id.masked.clone()
                        },
                    ]
                }),
            )
        )
    };
    let body = format!(
        "{form}{collectors}\
         <p>声明：本服务中心代为保管钥匙，不承担为客户保管家庭财产的责任。</p>\n\
         <p>客户领取钥匙时须出示有效身份证件；客户指定的领钥匙人须出示本人有效身份证件。</p>\n\
         <div class=\"signature\"><span>客户签名：{signer}（{signed}）</span>\
         <span>管理员：{clerk}</span></div>\n",
        signer = escape(&set.disclaimer.signer_name),
        signed = date(set.disclaimer.signed_at),
        clerk = escape(&set.entrusted_by.name),
    );
    page("客户托管钥匙委托书", &facts, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            user_id: "u1".into(),
            name: "李管理员".into(),
            role: "cs_clerk".into(),
        }
    }

    fn set(state: KeySetState) -> KeySet {
        KeySet {
            id: "k1".into(),
            property_id: "p1".into(),
            number: 1,
            source: KeySource::Customer,
            unit_id: "u".into(),
            unit_label: "3-2-1502".into(),
            customer_name: "王建国".into(),
            customer_phone: "13911112222".into(),
            customer_id: MaskedId::none(),
            customer_id_digest: None,
            key_count: 3,
            reason: "出差".into(),
            collection_conditions: "本人或指定人凭证件".into(),
            collectors: vec![Collector {
                name: "王小丽".into(),
                phone: String::new(),
                id: MaskedId {
                    id_type: IdType::ResidentIdCard,
                    masked: "**************002X".into(),
                },
                id_digest: Some(digest(OnFile::Collector(0), "11010519491231002X")),
            }],
            disclaimer: Disclaimer {
                signer_name: "王建国".into(),
                image: None,
                signed_at: Utc::now(),
            },
            tag: tag("王建国", "3-2-1502"),
            slot: "A-01".into(),
            state,
            keys_out: 0,
            entrusted_at: Utc::now(),
            entrusted_by: actor(),
            collection: None,
            current_loan: None,
        }
    }

    fn shown(number: &str) -> ShownId {
        let mut v = Violations::new();
        let id = mask_id("id_number", IdType::ResidentIdCard, number, &mut v).unwrap();
        assert!(v.is_empty());
        id
    }

    /// A stand-in for the keyed digest: whose record and the number, so that a check against
    /// the wrong person's record fails too.
    fn digest(whose: OnFile, number: &str) -> Vec<u8> {
        format!("{whose:?}/{number}").into_bytes()
    }

    /// KEY-9 with the stand-in digest.
    fn check(set: &KeySet, claimant: &str, id: &ShownId) -> std::result::Result<bool, Refusal> {
        identify_collector(set, claimant, id, |whose, on_file| {
            Ok(on_file == digest(whose, id.number()))
        })
        .unwrap()
    }

    #[test]
    fn resident_id_check_digit_and_mask() {
        // rule KEY-9: only the masked number is kept
        let mut v = Violations::new();
        let id = mask_id("f", IdType::ResidentIdCard, " 1101051949 1231002x", &mut v).unwrap();
        assert_eq!(id.masked.masked, "**************002X");
        // The whole number as digested: no whitespace, upper case.
        assert_eq!(id.number(), "11010519491231002X");
        assert!(!format!("{id:?}").contains("110105"), "never in a log line");
        assert!(v.is_empty());
        assert!(mask_id("f", IdType::ResidentIdCard, "110105194912310021", &mut v).is_none());
        assert!(mask_id("f", IdType::Passport, "E1234", &mut v).is_some());
        assert!(mask_id("f", IdType::Passport, "E12", &mut v).is_none());
        assert_eq!(
            mask_id("f", IdType::None, "", &mut v),
            Some(ShownId::none())
        );
        assert!(!v.is_empty());
    }

    #[test]
    fn no_signature_no_custody() {
        // rule KEY-3
        assert!(check_disclaimer(true, "王建国").is_ok());
        for (accepted, name) in [(false, "王建国"), (true, "  ")] {
            let Err(Error::Rule { reason, .. }) = check_disclaimer(accepted, name) else {
                panic!("refused");
            };
            assert_eq!(reason, "DISCLAIMER_NOT_SIGNED");
        }
    }

    #[test]
    fn a_set_out_is_not_lent_again() {
        // rule KEY-6
        assert!(check_borrow(&set(KeySetState::InCabinet), 3).is_ok());
        assert!(matches!(
            check_borrow(&set(KeySetState::InCabinet), 4),
            Err(Error::InvalidArgument(_))
        ));
        let Err(Error::Rule { reason, .. }) = check_borrow(&set(KeySetState::OnLoan), 1) else {
            panic!("refused");
        };
        assert_eq!(reason, "KEYS_OUT");
    }

    #[test]
    fn returns_are_counted() {
        // rule KEY-7
        assert_eq!(
            check_return(LoanState::Open, 3, 3).unwrap(),
            ReturnOutcome::Complete
        );
        assert_eq!(
            check_return(LoanState::Open, 3, 2).unwrap(),
            ReturnOutcome::Short { missing: 1 }
        );
        let Err(Error::Rule { reason, .. }) = check_return(LoanState::Open, 1, 2) else {
            panic!("refused");
        };
        assert_eq!(reason, "COUNT_EXCEEDS_LENT");
        assert!(check_return(LoanState::Returned, 0, 1).is_err());
    }

    #[test]
    fn overdue_after_the_configured_days() {
        // rule KEY-8
        let due = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        assert_eq!(overdue_at(due, 1), due + Duration::days(1));
        assert_eq!(overdue_cutoff(due + Duration::days(1), 1), due);
        assert!(check_chase(LoanState::Open, false).is_err());
        assert!(check_chase(LoanState::Open, true).is_ok());
    }

    #[test]
    fn only_the_customer_or_a_designated_collector_with_id() {
        // rule KEY-9
        let s = set(KeySetState::InCabinet);
        let card = shown("11010519491231002X");
        assert_eq!(check(&s, "王建国", &card), Ok(false));
        assert_eq!(check(&s, "王小丽", &card), Ok(true));
        assert_eq!(
            check(&s, "王建国", &ShownId::none()),
            Err(Refusal::IdNotVerified)
        );
        assert_eq!(check(&s, "张三", &card), Err(Refusal::NotDesignated));
        // The designated collector's ID is on the form: another document does not do.
        let other = shown("110105194912310038");
        assert_eq!(check(&s, "王小丽", &other), Err(Refusal::IdNotVerified));
        // Nor another valid card ending in the same four characters.
        let same_end = shown("11010519510615002X");
        assert_eq!(same_end.masked, card.masked);
        assert_eq!(check(&s, "王小丽", &same_end), Err(Refusal::IdNotVerified));
        // Nor the right number as another type of document.
        let mut v = Violations::new();
        let passport = mask_id("f", IdType::Passport, "11010519491231002X", &mut v).unwrap();
        assert_eq!(check(&s, "王小丽", &passport), Err(Refusal::IdNotVerified));
        assert!(check_collect_state(&set(KeySetState::OnLoan)).is_err());
        assert!(check_collect_state(&set(KeySetState::Collected)).is_err());
    }

    #[test]
    fn a_masked_number_alone_is_never_proof() {
        // rule KEY-9: a custody recorded before digests were kept
        let mut s = set(KeySetState::InCabinet);
        s.collectors[0].id_digest = None;
        let card = shown("11010519491231002X");
        assert_eq!(
            check(&s, "王小丽", &card),
            Err(Refusal::IdOnFileUnverifiable)
        );
        assert_eq!(
            check(&s, "王小丽", &shown("11010519510615002X")),
            Err(Refusal::IdOnFileUnverifiable)
        );
        // A masked number that differs is another document.
        assert_eq!(
            check(&s, "王小丽", &shown("110105194912310038")),
            Err(Refusal::IdNotVerified)
        );
        // The customer recorded no document: their name and any valid ID, as before.
        assert_eq!(check(&s, "王建国", &card), Ok(false));
        // Without a digest the keyring is not even asked; with one, its fault is a fault, not
        // a refusal.
        let unasked = identify_collector(&s, "王小丽", &card, |_, _| {
            Err(Error::Internal(anyhow::anyhow!("no key")))
        });
        assert!(matches!(unasked, Ok(Err(Refusal::IdOnFileUnverifiable))));
        s.collectors[0].id_digest = Some(digest(OnFile::Collector(0), card.number()));
        let fault = identify_collector(&s, "王小丽", &card, |_, _| {
            Err(Error::Internal(anyhow::anyhow!("no key")))
        });
        assert!(matches!(fault, Err(Error::Internal(_))));
        for refusal in [
            Refusal::IdNotVerified,
            Refusal::NotDesignated,
            Refusal::IdOnFileUnverifiable,
        ] {
            assert_eq!(Refusal::from_reason(refusal.reason()), Some(refusal));
            let Error::Rule { reason, .. } = refusal.to_error() else {
                panic!("a rule refusal");
            };
            assert_eq!(reason, refusal.reason());
        }
    }

    #[test]
    fn an_id_is_recorded_again_only_where_the_form_kept_no_digest() {
        // rule KEY-9: a custody recorded before digests were kept
        let mut s = set(KeySetState::InCabinet);
        s.collectors[0].id_digest = None;
        s.customer_id = shown("440300199001011238").masked;
        let refusal = |r: Result<&str>| match r {
            Err(Error::Rule { reason, .. }) => reason,
            other => panic!("a rule refusal, not {other:?}"),
        };
        let card = shown("11010519491231002X");
        assert_eq!(
            check_record_id(&s, OnFile::Collector(0), &card).unwrap(),
            "王小丽"
        );
        // A card ending the same way passes this check: the masked number cannot tell them
        // apart, which is why the supervisor reads the whole number from the document itself.
        assert!(check_record_id(&s, OnFile::Collector(0), &shown("11010519510615002X")).is_ok());
        assert_eq!(
            check_record_id(&s, OnFile::Customer, &shown("440300199001011238")).unwrap(),
            "王建国"
        );
        // Another document: another masked number, or another type.
        let Err(Error::Rule {
            reason, metadata, ..
        }) = check_record_id(&s, OnFile::Collector(0), &shown("110105194912310038"))
        else {
            panic!("refused");
        };
        assert_eq!(reason, "ID_DOES_NOT_MATCH_RECORD");
        assert_eq!(metadata["mismatch"], "number");
        let mut v = Violations::new();
        let passport = mask_id("f", IdType::Passport, "11010519491231002X", &mut v).unwrap();
        let Err(Error::Rule { metadata, .. }) =
            check_record_id(&s, OnFile::Collector(0), &passport)
        else {
            panic!("refused");
        };
        assert_eq!(metadata["mismatch"], "document_type");
        // A digest on file is never replaced, whatever is shown.
        s.collectors[0].id_digest = Some(digest(OnFile::Collector(0), card.number()));
        assert_eq!(
            refusal(check_record_id(&s, OnFile::Collector(0), &card)),
            "ID_ALREADY_ON_FILE"
        );
        assert_eq!(
            refusal(check_record_id(&s, OnFile::Collector(0), &passport)),
            "ID_ALREADY_ON_FILE"
        );
        // No document on the form for the person: nothing to record again.
        let mut none = set(KeySetState::InCabinet);
        none.collectors[0].id = MaskedId::none();
        none.collectors[0].id_digest = None;
        assert_eq!(
            refusal(check_record_id(&none, OnFile::Customer, &card)),
            "NO_ID_ON_FILE"
        );
        assert_eq!(
            refusal(check_record_id(&none, OnFile::Collector(0), &card)),
            "NO_ID_ON_FILE"
        );
        // Bad input: a position the form does not have, no document.
        s.collectors[0].id_digest = None;
        assert!(matches!(
            check_record_id(&s, OnFile::Collector(1), &card),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            check_record_id(&s, OnFile::Collector(0), &ShownId::none()),
            Err(Error::InvalidArgument(_))
        ));
        // Only while the custody is open; keys out on a loan do not stop it.
        assert!(
            check_record_id(
                &set_in(&s, KeySetState::OnLoan),
                OnFile::Collector(0),
                &card
            )
            .is_ok()
        );
        assert_eq!(
            refusal(check_record_id(
                &set_in(&s, KeySetState::Collected),
                OnFile::Collector(0),
                &card
            )),
            "CUSTODY_CLOSED"
        );
        assert_eq!(ID_RECORDERS, ["cs_supervisor"], "never the clerk");
    }

    fn set_in(s: &KeySet, state: KeySetState) -> KeySet {
        KeySet { state, ..s.clone() }
    }

    #[test]
    fn retention_counts_calendar_years() {
        // rule KEY-10
        let now = Utc.with_ymd_and_hms(2028, 11, 28, 0, 0, 0).unwrap();
        assert_eq!(
            retention_cutoff(now, 2),
            Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn audit_reports_every_difference() {
        let register = vec![
            SlotOnRecord {
                slot: "A-01".into(),
                key_set_id: "k1".into(),
                key_number: 1,
                keys_in_cabinet: 3,
            },
            SlotOnRecord {
                slot: "A-02".into(),
                key_set_id: "k2".into(),
                key_number: 2,
                keys_in_cabinet: 2,
            },
            SlotOnRecord {
                slot: "A-03".into(),
                key_set_id: "k3".into(),
                key_number: 3,
                keys_in_cabinet: 1,
            },
        ];
        let counted = BTreeMap::from([
            ("A-01".to_owned(), 3),
            ("A-02".to_owned(), 1),
            ("B-09".to_owned(), 2),
        ]);
        let slots: Vec<(String, i32, i32)> = audit(&register, &counted)
            .into_iter()
            .map(|m| (m.slot, m.expected, m.counted))
            .collect();
        assert_eq!(
            slots,
            [
                ("A-02".to_owned(), 2, 1),
                ("A-03".to_owned(), 1, 0),
                ("B-09".to_owned(), 0, 2)
            ]
        );
    }

    #[test]
    fn figures_by_month_in_the_property_zone() {
        // rule KEY-11
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-11-30 17:00 UTC is already December in Shanghai.
        let late = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap();
        let early = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap();
        let o = |deed, user: &str, name: &str, at| Occurrence {
            deed,
            user_id: user.into(),
            name: name.into(),
            at,
        };
        let figures = figures(
            &[
                o(Deed::LoanHandled, "c1", "李", early),
                o(Deed::LoanHandled, "c1", "李", late),
                o(Deed::Chase, "c1", "李", early),
                o(Deed::LoanBorrowed, "", "张师傅", early),
                o(Deed::OverdueLoan, "", "张师傅", early),
            ],
            tz,
        );
        let lines: Vec<(&str, &str, i32, i32, i32)> = figures
            .iter()
            .map(|f| {
                (
                    f.month.as_str(),
                    f.name.as_str(),
                    f.loans_handled,
                    f.chases,
                    f.overdue_loans,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("2026-11", "张师傅", 0, 0, 1),
                ("2026-11", "李", 1, 1, 0),
                ("2026-12", "李", 1, 0, 0),
            ]
        );
    }

    #[test]
    fn months() {
        let from = parse_month("2026-11").unwrap();
        let to = parse_month("2027-01").unwrap();
        assert_eq!(months_between(from, to), 3);
        assert!(parse_month("2026-13").is_none());
        let (start, end) = month_window(from, from, chrono_tz::Asia::Shanghai);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap());
    }

    #[test]
    fn form_part_two_escapes_and_states_the_disclaimer() {
        let mut s = set(KeySetState::InCabinet);
        s.reason = "<b>出差</b>".into();
        let html = render_form_part_two(&s, "阳光花园", chrono_tz::Asia::Shanghai, Utc::now());
        assert!(html.contains("第二联"));
        assert!(html.contains("不承担为客户保管家庭财产的责任"));
        assert!(html.contains("&lt;b&gt;出差"));
        assert!(html.contains("**************002X"));
    }

    mod properties {
        //! No sequence of loans, returns and collections reaches an invalid custody: keys out
        //! never below zero nor above the set, a set is never both lent and collected, a
        //! collected set stays collected, and a refused step changes nothing (KEY-6 to KEY-9).
        //! The steps change the set as the store does, guarded by these rules.
        use proptest::prelude::*;

        use super::*;

        /// One loan of the borrowing register: its state and the keys it still has out.
        #[derive(Debug, Clone, PartialEq)]
        struct OpenLoan {
            state: LoanState,
            keys_out: i32,
        }

        #[derive(Debug, Clone)]
        enum Call {
            Borrow(i32),
            Return(i32),
            Collect { claimant: usize, id: usize },
        }

        const CLAIMANTS: [&str; 3] = ["王建国", "王小丽", "张三"];

        fn call() -> impl Strategy<Value = Call> {
            // Quantities as the desk accepts them (1 to MAX_KEYS), around the set's 3 keys.
            prop_oneof![
                3 => (1..=5i32).prop_map(Call::Borrow),
                4 => (1..=5i32).prop_map(Call::Return),
                1 => (0..CLAIMANTS.len(), 0..3usize)
                    .prop_map(|(claimant, id)| Call::Collect { claimant, id }),
            ]
        }

        /// Takes `call` on the set and its latest loan; `Err` when a rule refuses it.
        fn take(set: &mut KeySet, loan: &mut Option<OpenLoan>, call: Call) -> Result<(), ()> {
            match call {
                Call::Borrow(quantity) => {
                    check_borrow(set, quantity).map_err(drop)?;
                    set.state = KeySetState::OnLoan;
                    set.keys_out = quantity;
                    *loan = Some(OpenLoan {
                        state: LoanState::Open,
                        keys_out: quantity,
                    });
                }
                Call::Return(received) => {
                    let current = loan.as_mut().ok_or(())?;
                    let outcome =
                        check_return(current.state, current.keys_out, received).map_err(drop)?;
                    current.keys_out -= received;
                    set.keys_out -= received;
                    if outcome == ReturnOutcome::Complete {
                        current.state = LoanState::Returned;
                        set.state = KeySetState::InCabinet;
                    }
                }
                Call::Collect { claimant, id } => {
                    check_collect_state(set).map_err(drop)?;
                    let id = match id {
                        0 => ShownId::none(),
                        1 => shown("11010519491231002X"),
                        _ => shown("110105194912310038"),
                    };
                    let designated = check(set, CLAIMANTS[claimant], &id).map_err(drop)?;
                    set.state = KeySetState::Collected;
                    set.collection = Some(Collection {
                        collector_name: CLAIMANTS[claimant].into(),
                        designated,
                        id: id.masked,
                        signer_name: CLAIMANTS[claimant].into(),
                        collected_at: Utc::now(),
                        handed_over_by: actor(),
                    });
                }
            }
            Ok(())
        }

        proptest! {
            // 256 cases, or PROPTEST_CASES.
            #[test]
            fn no_sequence_of_custody_steps_reaches_an_invalid_set(
                calls in prop::collection::vec(call(), 1..40)
            ) {
                let mut set = set(KeySetState::InCabinet);
                let mut loan = None;
                for call in calls {
                    let before = (set.clone(), loan.clone());
                    let taken = take(&mut set, &mut loan, call.clone());
                    if taken.is_err() {
                        prop_assert_eq!(&(set.clone(), loan.clone()), &before, "refused: {:?}", call);
                    }
                    if before.0.state == KeySetState::Collected {
                        prop_assert!(taken.is_err(), "collected stays collected: {:?}", call);
                    }
                    // Invariants of every reachable custody.
                    prop_assert!(0 <= set.keys_out && set.keys_out <= set.key_count);
                    prop_assert!((0..=set.key_count).contains(&set.keys_in_cabinet()));
                    let lent = loan.as_ref().is_some_and(|l| l.state == LoanState::Open);
                    prop_assert_eq!(set.state == KeySetState::OnLoan, lent);
                    if let Some(l) = &loan {
                        prop_assert!(l.keys_out >= 0);
                        prop_assert_eq!(l.keys_out == 0, l.state == LoanState::Returned);
                        if l.state == LoanState::Open {
                            prop_assert_eq!(l.keys_out, set.keys_out);
                        }
                    }
                    match set.state {
                        KeySetState::InCabinet => prop_assert_eq!(set.keys_out, 0),
                        KeySetState::OnLoan => prop_assert!(set.keys_out > 0),
                        // Never both lent and collected.
                        KeySetState::Collected => {
                            prop_assert_eq!(set.keys_out, 0);
                            prop_assert!(!lent);
                            let c = set.collection.as_ref().unwrap();
                            prop_assert!(!c.id.is_none(), "collected without an ID");
                        }
                    }
                    prop_assert_eq!(set.collection.is_some(), set.state == KeySetState::Collected);
                }
            }
        }
    }
}
