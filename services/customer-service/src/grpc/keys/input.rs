//! The key desk's requests read into the domain: their shape checked (`Violations`), the
//! records they create built.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use wuye_kit::{Error, Result, Violations, from_proto, identity::Actor, time::from_timestamp};
use wuye_proto::customerservice as pb;

use crate::{
    app::keys::{Claimant, CountedReturn, IdToRecord},
    domain::keys::{
        self as rules, Audit, Borrower, Chase, ChaseMethod, Collector, Disclaimer, FormIds, IdType,
        KeySet, KeySetState, KeySource, Loan, LoanPurpose, LoanState, OnFile, ShownId,
    },
};

/// An optional timestamp of a request, checked.
fn optional_time(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Option<DateTime<Utc>> {
    let ts = ts?;
    let at = from_timestamp(ts);
    if at.is_none() {
        v.add(field, "is not a valid time");
    }
    at
}

fn not_future(field: &str, at: DateTime<Utc>, now: DateTime<Utc>, v: &mut Violations) {
    if at > now + chrono::Duration::minutes(1) {
        v.add(field, "is in the future");
    }
}

fn check_request_id(v: &mut Violations, value: &str) {
    v.required_text("request_id", value, 100);
}

fn id_field(v: &mut Violations, field: &str, value: &str) {
    v.required_text(field, value, 64);
}

fn check_quantity(v: &mut Violations, field: &str, quantity: i32) {
    if !(1..=rules::MAX_KEYS).contains(&quantity) {
        v.add(field, format!("must be between 1 and {}", rules::MAX_KEYS));
    }
}

/// A document of the form read and masked; the empty document when it is not one.
fn shown_id(v: &mut Violations, prefix: &str, id_type: i32, number: &str) -> ShownId {
    match from_proto::<pb::IdDocumentType, IdType>(id_type) {
        Some(t) => rules::mask_id(&format!("{prefix}id_number"), t, number, v),
        None => {
            v.add(
                &format!("{prefix}id_document_type"),
                "is not an identity document type",
            );
            None
        }
    }
    .unwrap_or_else(ShownId::none)
}

/// The designated collectors of the form, with the documents they showed.
fn collectors(
    v: &mut Violations,
    collectors: &[pb::DesignatedCollector],
) -> (Vec<Collector>, Vec<ShownId>) {
    if collectors.len() > rules::MAX_COLLECTORS {
        v.add(
            "collectors",
            format!("at most {} designated collectors", rules::MAX_COLLECTORS),
        );
    }
    collectors
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let prefix = format!("collectors[{i}].");
            rules::check_person(&prefix, &c.name, &c.phone, false, v);
            let id = shown_id(v, &prefix, c.id_document_type, &c.id_number);
            let collector = Collector {
                name: c.name.trim().to_owned(),
                phone: c.phone.trim().to_owned(),
                id: id.masked.clone(),
                // Made by the store, which holds the keyring (KEY-9).
                id_digest: None,
            };
            (collector, id)
        })
        .unzip()
}

/// The signed disclaimer of the form (KEY-3), signed at entrustment unless stated.
fn disclaimer(
    v: &mut Violations,
    disclaimer: Option<pb::DisclaimerSignature>,
    entrusted_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (bool, Disclaimer) {
    let d = disclaimer.unwrap_or_default();
    v.max_text("disclaimer.signer_name", &d.signer_name, rules::MAX_NAME);
    if d.signature_image.len() > rules::MAX_SIGNATURE_IMAGE {
        v.add("disclaimer.signature_image", "must be at most 256 KiB");
    }
    let signed_at =
        optional_time(d.sign_time.as_ref(), "disclaimer.sign_time", v).unwrap_or(entrusted_at);
    not_future("disclaimer.sign_time", signed_at, now, v);
    let disclaimer = Disclaimer {
        signer_name: d.signer_name.trim().to_owned(),
        image: (!d.signature_image.is_empty()).then_some(d.signature_image),
        signed_at,
    };
    (d.accepted, disclaimer)
}

/// The text of the form: KEY-2, a customer states why and on what conditions the keys may be
/// collected.
fn conditions(v: &mut Violations, req: &pb::EntrustKeysRequest, customer: bool) {
    if customer {
        v.required_text("reason", &req.reason, rules::MAX_TEXT);
        v.required_text(
            "collection_conditions",
            &req.collection_conditions,
            rules::MAX_TEXT,
        );
    } else {
        v.max_text("reason", &req.reason, rules::MAX_TEXT);
        v.max_text(
            "collection_conditions",
            &req.collection_conditions,
            rules::MAX_TEXT,
        );
    }
}

/// An entrustment as the form states it: the set to take into custody and the documents read.
pub(super) fn entrustment(
    req: pb::EntrustKeysRequest,
    property_id: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(KeySet, FormIds)> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "unit_id", &req.unit_id);
    let source = from_proto::<pb::KeySource, KeySource>(req.source);
    if source.is_none() {
        v.add("source", "must be developer or customer");
    }
    let customer = source == Some(KeySource::Customer);
    rules::check_person(
        "customer_",
        &req.customer_name,
        &req.customer_phone,
        customer,
        &mut v,
    );
    check_quantity(&mut v, "key_count", req.key_count);
    conditions(&mut v, &req, customer);
    v.required_text("slot", &req.slot, rules::MAX_SLOT);
    let (collectors, collector_ids) = collectors(&mut v, &req.collectors);
    let customer_id = shown_id(
        &mut v,
        "customer_",
        req.customer_id_document_type,
        &req.customer_id_number,
    );
    let entrusted_at =
        optional_time(req.entrust_time.as_ref(), "entrust_time", &mut v).unwrap_or(now);
    not_future("entrust_time", entrusted_at, now, &mut v);
    let (accepted, disclaimer) = disclaimer(&mut v, req.disclaimer, entrusted_at, now);
    v.check()?;
    rules::check_disclaimer(accepted, &disclaimer.signer_name)?; // rule KEY-3
    let set = KeySet {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.to_owned(),
        number: 0,
        source: source.unwrap_or(KeySource::Customer),
        unit_id: req.unit_id,
        unit_label: String::new(),
        customer_name: req.customer_name.trim().to_owned(),
        customer_phone: req.customer_phone.trim().to_owned(),
        customer_id: customer_id.masked.clone(),
        customer_id_digest: None,
        key_count: req.key_count,
        reason: req.reason.trim().to_owned(),
        collection_conditions: req.collection_conditions.trim().to_owned(),
        collectors,
        disclaimer,
        tag: String::new(),
        slot: rules::normalize_slot(&req.slot),
        state: KeySetState::InCabinet,
        keys_out: 0,
        entrusted_at,
        entrusted_by: actor,
        collection: None,
        current_loan: None,
    };
    let ids = FormIds {
        customer: customer_id,
        collectors: collector_ids,
    };
    Ok((set, ids))
}

/// KEY-6: when the keys are expected back, given, in the future and within the longest loan.
fn expected_return(
    v: &mut Violations,
    ts: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let expected = optional_time(ts, "expected_return_time", v);
    match expected {
        None if ts.is_none() => v.add("expected_return_time", "must be given (预借期)"),
        Some(at) if at <= now => v.add("expected_return_time", "must be in the future"),
        Some(at) if at > now + chrono::Duration::days(rules::MAX_LOAN_DAYS) => v.add(
            "expected_return_time",
            format!("must be within {} days", rules::MAX_LOAN_DAYS),
        ),
        _ => {}
    }
    expected
}

/// A loan as the borrowing register records it (KEY-6).
pub(super) fn loan(
    req: pb::BorrowKeysRequest,
    property_id: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Loan> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "key_set_id", &req.key_set_id);
    check_quantity(&mut v, "quantity", req.quantity);
    let purpose = from_proto::<pb::LoanPurpose, LoanPurpose>(req.purpose);
    if purpose.is_none() {
        v.add("purpose", "must be repair or vacant_patrol");
    }
    v.required_text("reason", &req.reason, rules::MAX_TEXT);
    let borrower = req.borrower.unwrap_or_default();
    // The staff id is looked up in the directory by the use case, which records their name.
    v.required_text("borrower.user_id", &borrower.user_id, 64);
    rules::check_phone("borrower.phone", &borrower.phone, true, &mut v);
    v.required_text("borrower.department", &borrower.department, rules::MAX_NAME);
    // KEY-6: the borrower signs the borrowing register.
    v.required_text(
        "borrower_signature",
        &req.borrower_signature,
        rules::MAX_NAME,
    );
    let expected = expected_return(&mut v, req.expected_return_time.as_ref(), now);
    v.check()?;
    Ok(Loan {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.to_owned(),
        key_set_id: req.key_set_id,
        key_number: 0,
        unit_id: String::new(),
        unit_label: String::new(),
        slot: String::new(),
        quantity: req.quantity,
        keys_out: req.quantity,
        purpose: purpose.unwrap_or(LoanPurpose::Repair),
        reason: req.reason.trim().to_owned(),
        borrower: Borrower {
            user_id: borrower.user_id.trim().to_owned(),
            name: String::new(),
            department: borrower.department.trim().to_owned(),
            phone: borrower.phone.trim().to_owned(),
        },
        borrower_signature: req.borrower_signature.trim().to_owned(),
        borrowed_at: now,
        expected_return_at: expected.unwrap_or(now),
        state: LoanState::Open,
        overdue_at: None,
        lent_by: actor,
        returns: Vec::new(),
        chases: Vec::new(),
        closed_at: None,
    })
}

pub(super) fn counted_return(req: pb::ReturnKeysRequest) -> Result<CountedReturn> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "loan_id", &req.loan_id);
    check_quantity(&mut v, "quantity", req.quantity);
    v.max_text("note", &req.note, rules::MAX_TEXT);
    v.check()?;
    Ok(CountedReturn {
        loan_id: req.loan_id,
        received: req.quantity,
        note: req.note.trim().to_owned(),
    })
}

pub(super) fn chase(
    req: pb::RecordKeyChaseRequest,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Chase> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "loan_id", &req.loan_id);
    let method = from_proto::<pb::ChaseMethod, ChaseMethod>(req.method);
    if method.is_none() {
        v.add("method", "must be phone or visit");
    }
    v.required_text("contacted", &req.contacted, 100);
    v.required_text("result", &req.result, rules::MAX_TEXT);
    let promised = optional_time(
        req.promised_return_time.as_ref(),
        "promised_return_time",
        &mut v,
    );
    v.check()?;
    Ok(Chase {
        id: uuid::Uuid::now_v7().to_string(),
        loan_id: req.loan_id,
        method: method.unwrap_or(ChaseMethod::Phone),
        contacted: req.contacted.trim().to_owned(),
        result: req.result.trim().to_owned(),
        promised_return_at: promised,
        chased_at: now,
        chased_by: actor,
    })
}

pub(super) fn claimant(req: pb::CollectKeysRequest) -> Result<Claimant> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "key_set_id", &req.key_set_id);
    v.required_text("collector_name", &req.collector_name, rules::MAX_NAME);
    // KEY-9: the collector signs the register.
    v.required_text("signer_name", &req.signer_name, rules::MAX_NAME);
    let id_type = from_proto::<pb::IdDocumentType, IdType>(req.id_document_type);
    if id_type.is_none() {
        v.add("id_document_type", "is not an identity document type");
    }
    let id_type = id_type.unwrap_or(IdType::None);
    // Both empty: no ID was shown, which is refused (and logged), not bad input.
    let id_shown = if id_type == IdType::None && req.id_number.trim().is_empty() {
        Some(ShownId::none())
    } else {
        rules::mask_id("id_number", id_type, &req.id_number, &mut v)
    };
    v.check()?;
    Ok(Claimant {
        key_set_id: req.key_set_id,
        name: req.collector_name.trim().to_owned(),
        id_shown: id_shown.unwrap_or_else(ShownId::none),
        signer_name: req.signer_name.trim().to_owned(),
    })
}

pub(super) fn id_to_record(req: pb::RecordCustodyIdRequest) -> Result<IdToRecord> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "key_set_id", &req.key_set_id);
    let whose = match pb::IdHolder::try_from(req.holder) {
        Ok(pb::IdHolder::Customer) => {
            if req.collector_position != 0 {
                v.add(
                    "collector_position",
                    "is only for a designated collector: zero for the customer",
                );
            }
            Some(OnFile::Customer)
        }
        Ok(pb::IdHolder::DesignatedCollector) => {
            let whose = usize::try_from(req.collector_position)
                .ok()
                .map(OnFile::Collector);
            if whose.is_none() {
                v.add("collector_position", "must not be negative");
            }
            whose
        }
        _ => {
            v.add("holder", "must be the customer or a designated collector");
            None
        }
    };
    // The same checks as at entrustment (a resident ID card's check digit and so on); a
    // document is needed, since it is what is recorded.
    let shown = match from_proto::<pb::IdDocumentType, IdType>(req.id_document_type) {
        None | Some(IdType::None) => {
            v.add("id_document_type", "must be an identity document type");
            None
        }
        Some(_) if req.id_number.trim().is_empty() => {
            v.add("id_number", "must be given, as read from the document");
            None
        }
        Some(t) => rules::mask_id("id_number", t, &req.id_number, &mut v),
    };
    v.check()?;
    // Both are there once the request passed its checks.
    let (Some(whose), Some(shown)) = (whose, shown) else {
        return Err(Error::invalid("holder", "is not a person on the form"));
    };
    Ok(IdToRecord {
        key_set_id: req.key_set_id,
        whose,
        shown,
    })
}

pub(super) fn audit(
    req: pb::AuditKeyCabinetRequest,
    property_id: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Audit, BTreeMap<String, i32>)> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    v.max_text("note", &req.note, rules::MAX_TEXT);
    if req.counts.len() > 2000 {
        v.add("counts", "at most 2000 slots");
    }
    let mut counted = BTreeMap::new();
    for (i, c) in req.counts.iter().enumerate() {
        v.required_text(&format!("counts[{i}].slot"), &c.slot, rules::MAX_SLOT);
        if !(0..=rules::MAX_KEYS).contains(&c.counted) {
            v.add(
                &format!("counts[{i}].counted"),
                format!("must be between 0 and {}", rules::MAX_KEYS),
            );
        }
        if counted
            .insert(rules::normalize_slot(&c.slot), c.counted)
            .is_some()
        {
            v.add(&format!("counts[{i}].slot"), "is counted twice");
        }
    }
    v.check()?;
    let audit = Audit {
        id: uuid::Uuid::now_v7().to_string(),
        property_id: property_id.to_owned(),
        audited_at: now,
        audited_by: actor,
        slots_checked: 0,
        mismatches: Vec::new(),
        note: req.note.trim().to_owned(),
    };
    Ok((audit, counted))
}

pub(super) fn months(req: &pb::GetKeyFiguresRequest) -> Result<(NaiveDate, NaiveDate)> {
    let mut v = Violations::new();
    let from = rules::parse_month(&req.from_month);
    if from.is_none() {
        v.add("from_month", "must be a month YYYY-MM");
    }
    let to = rules::parse_month(&req.to_month);
    if to.is_none() {
        v.add("to_month", "must be a month YYYY-MM");
    }
    if let (Some(f), Some(t)) = (from, to) {
        match rules::months_between(f, t) {
            n if n < 1 => v.add("to_month", "must not be before from_month"),
            n if n > 24 => v.add("to_month", "at most 24 months at a time"),
            _ => {}
        }
    }
    v.check()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(Error::invalid("from_month", "must be a month YYYY-MM"));
    };
    Ok((from, to))
}
