//! Between the key custody domain and its protobuf messages.

use chrono::{DateTime, Utc};
use wuye_kit::time::to_timestamp;
use wuye_proto::customerservice as pb;

use crate::{
    domain::keys::{
        Audit, Chase, ChaseMethod, Figures, IdRecord, IdType, KeyReturn, KeySet, KeySetState,
        KeySource, Loan, LoanPurpose, LoanState, OnFile, RefusalRecord,
    },
    store::keys::AlertRow,
};

pub(super) fn source_from_proto(value: i32) -> Option<KeySource> {
    match pb::KeySource::try_from(value).ok()? {
        pb::KeySource::Unspecified => None,
        pb::KeySource::Developer => Some(KeySource::Developer),
        pb::KeySource::Customer => Some(KeySource::Customer),
    }
}

fn source_to_proto(source: KeySource) -> pb::KeySource {
    match source {
        KeySource::Developer => pb::KeySource::Developer,
        KeySource::Customer => pb::KeySource::Customer,
    }
}

pub(super) fn key_set_state_from_proto(value: i32) -> Option<KeySetState> {
    match pb::KeySetState::try_from(value).ok()? {
        pb::KeySetState::Unspecified => None,
        pb::KeySetState::InCabinet => Some(KeySetState::InCabinet),
        pb::KeySetState::OnLoan => Some(KeySetState::OnLoan),
        pb::KeySetState::Collected => Some(KeySetState::Collected),
    }
}

fn key_set_state_to_proto(state: KeySetState) -> pb::KeySetState {
    match state {
        KeySetState::InCabinet => pb::KeySetState::InCabinet,
        KeySetState::OnLoan => pb::KeySetState::OnLoan,
        KeySetState::Collected => pb::KeySetState::Collected,
    }
}

/// `None` for a value that is no document type; unspecified is "no document".
pub(super) fn id_type_from_proto(value: i32) -> Option<IdType> {
    Some(match pb::IdDocumentType::try_from(value).ok()? {
        pb::IdDocumentType::Unspecified => IdType::None,
        pb::IdDocumentType::ResidentIdCard => IdType::ResidentIdCard,
        pb::IdDocumentType::Passport => IdType::Passport,
        pb::IdDocumentType::HomeReturnPermit => IdType::HomeReturnPermit,
        pb::IdDocumentType::Other => IdType::Other,
    })
}

fn id_type_to_proto(id_type: IdType) -> pb::IdDocumentType {
    match id_type {
        IdType::None => pb::IdDocumentType::Unspecified,
        IdType::ResidentIdCard => pb::IdDocumentType::ResidentIdCard,
        IdType::Passport => pb::IdDocumentType::Passport,
        IdType::HomeReturnPermit => pb::IdDocumentType::HomeReturnPermit,
        IdType::Other => pb::IdDocumentType::Other,
    }
}

/// Whose ID on the form; `None` for an unknown holder or a position that cannot be one.
pub(super) fn holder_from_proto(holder: i32, collector_position: i32) -> Option<OnFile> {
    match pb::IdHolder::try_from(holder).ok()? {
        pb::IdHolder::Unspecified => None,
        pb::IdHolder::Customer => Some(OnFile::Customer),
        pb::IdHolder::DesignatedCollector => usize::try_from(collector_position)
            .ok()
            .map(OnFile::Collector),
    }
}

pub(super) fn id_record_to_proto(r: IdRecord) -> pb::CustodyIdRecord {
    let (holder, collector_position) = match r.whose {
        OnFile::Customer => (pb::IdHolder::Customer, 0),
        OnFile::Collector(i) => (
            pb::IdHolder::DesignatedCollector,
            i32::try_from(i).unwrap_or(i32::MAX),
        ),
    };
    pb::CustodyIdRecord {
        id: r.id,
        key_set_id: r.key_set_id,
        key_number: r.key_number,
        holder: holder.into(),
        collector_position,
        holder_name: r.holder_name,
        id_document_type: id_type_to_proto(r.document.id_type).into(),
        id_number_masked: r.document.masked,
        record_time: Some(to_timestamp(r.recorded_at)),
        recorded_by: Some(r.recorded_by.to_proto()),
    }
}

pub(super) fn purpose_from_proto(value: i32) -> Option<LoanPurpose> {
    match pb::LoanPurpose::try_from(value).ok()? {
        pb::LoanPurpose::Unspecified => None,
        pb::LoanPurpose::Repair => Some(LoanPurpose::Repair),
        pb::LoanPurpose::VacantPatrol => Some(LoanPurpose::VacantPatrol),
    }
}

fn purpose_to_proto(purpose: LoanPurpose) -> pb::LoanPurpose {
    match purpose {
        LoanPurpose::Repair => pb::LoanPurpose::Repair,
        LoanPurpose::VacantPatrol => pb::LoanPurpose::VacantPatrol,
    }
}

pub(super) fn chase_method_from_proto(value: i32) -> Option<ChaseMethod> {
    match pb::ChaseMethod::try_from(value).ok()? {
        pb::ChaseMethod::Unspecified => None,
        pb::ChaseMethod::Phone => Some(ChaseMethod::Phone),
        pb::ChaseMethod::Visit => Some(ChaseMethod::Visit),
    }
}

fn chase_method_to_proto(method: ChaseMethod) -> pb::ChaseMethod {
    match method {
        ChaseMethod::Phone => pb::ChaseMethod::Phone,
        ChaseMethod::Visit => pb::ChaseMethod::Visit,
    }
}

pub(super) fn key_set_to_proto(s: KeySet, now: DateTime<Utc>, days: u32) -> pb::KeySet {
    let keys_in_cabinet = s.keys_in_cabinet();
    pb::KeySet {
        id: s.id,
        property_id: s.property_id,
        number: s.number,
        source: source_to_proto(s.source).into(),
        unit_id: s.unit_id,
        unit_label: s.unit_label,
        customer_name: s.customer_name,
        customer_phone: s.customer_phone,
        key_count: s.key_count,
        reason: s.reason,
        collection_conditions: s.collection_conditions,
        collectors: s
            .collectors
            .into_iter()
            .map(|c| pb::DesignatedCollector {
                name: c.name,
                phone: c.phone,
                id_document_type: id_type_to_proto(c.id.id_type).into(),
                id_number: c.id.masked,
            })
            .collect(),
        disclaimer: Some(pb::DisclaimerSignature {
            accepted: true,
            signer_name: s.disclaimer.signer_name,
            signature_image: s.disclaimer.image.unwrap_or_default(),
            sign_time: Some(to_timestamp(s.disclaimer.signed_at)),
        }),
        tag: s.tag,
        slot: s.slot,
        state: key_set_state_to_proto(s.state).into(),
        keys_in_cabinet,
        keys_out: s.keys_out,
        current_loan: s.current_loan.map(|l| loan_to_proto(*l, now, days)),
        entrust_time: Some(to_timestamp(s.entrusted_at)),
        entrusted_by: Some(s.entrusted_by.to_proto()),
        collection: s.collection.map(|c| pb::KeyCollection {
            collector_name: c.collector_name,
            designated_collector: c.designated,
            id_document_type: id_type_to_proto(c.id.id_type).into(),
            id_number_masked: c.id.masked,
            signer_name: c.signer_name,
            collect_time: Some(to_timestamp(c.collected_at)),
            handed_over_by: Some(c.handed_over_by.to_proto()),
        }),
    }
}

pub(super) fn return_to_proto(r: KeyReturn) -> pb::KeyReturn {
    pb::KeyReturn {
        id: r.id,
        expected: r.expected,
        received: r.received,
        missing: r.expected - r.received,
        return_time: Some(to_timestamp(r.returned_at)),
        received_by: Some(r.received_by.to_proto()),
        note: r.note,
    }
}

pub(super) fn chase_to_proto(c: Chase) -> pb::KeyChase {
    pb::KeyChase {
        id: c.id,
        method: chase_method_to_proto(c.method).into(),
        contacted: c.contacted,
        result: c.result,
        promised_return_time: c.promised_return_at.map(to_timestamp),
        chase_time: Some(to_timestamp(c.chased_at)),
        chased_by: Some(c.chased_by.to_proto()),
    }
}

pub(super) fn loan_to_proto(l: Loan, now: DateTime<Utc>, days: u32) -> pb::KeyLoan {
    let overdue_since = l.overdue_since(now, days);
    pb::KeyLoan {
        id: l.id,
        property_id: l.property_id,
        key_set_id: l.key_set_id,
        key_number: l.key_number,
        unit_id: l.unit_id,
        unit_label: l.unit_label,
        slot: l.slot,
        quantity: l.quantity,
        keys_out: l.keys_out,
        purpose: purpose_to_proto(l.purpose).into(),
        reason: l.reason,
        borrower: Some(pb::Borrower {
            user_id: l.borrower.user_id,
            name: l.borrower.name,
            department: l.borrower.department,
            phone: l.borrower.phone,
        }),
        borrower_signature: l.borrower_signature,
        borrow_time: Some(to_timestamp(l.borrowed_at)),
        expected_return_time: Some(to_timestamp(l.expected_return_at)),
        state: match l.state {
            LoanState::Open => pb::KeyLoanState::Open,
            LoanState::Returned => pb::KeyLoanState::Returned,
        }
        .into(),
        overdue: overdue_since.is_some(),
        overdue_time: overdue_since.map(to_timestamp),
        lent_by: Some(l.lent_by.to_proto()),
        returns: l.returns.into_iter().map(return_to_proto).collect(),
        chases: l.chases.into_iter().map(chase_to_proto).collect(),
        close_time: l.closed_at.map(to_timestamp),
    }
}

pub(super) fn refusal_to_proto(r: RefusalRecord) -> pb::KeyRefusal {
    pb::KeyRefusal {
        id: r.id,
        key_set_id: r.key_set_id,
        key_number: r.key_number,
        reason: r.refusal.reason().to_owned(),
        claimant_name: r.claimant_name,
        id_document_type: id_type_to_proto(r.id_shown.id_type).into(),
        id_number_masked: r.id_shown.masked,
        refuse_time: Some(to_timestamp(r.refused_at)),
        refused_by: Some(r.refused_by.to_proto()),
    }
}

pub(super) fn alert_to_proto(
    property_id: &str,
    a: AlertRow,
    now: DateTime<Utc>,
    days: u32,
) -> pb::KeyAlert {
    pb::KeyAlert {
        seq: a.seq,
        property_id: property_id.to_owned(),
        loan: Some(loan_to_proto(a.loan, now, days)),
        raise_time: Some(to_timestamp(a.raised_at)),
    }
}

pub(super) fn audit_to_proto(a: Audit) -> pb::KeyAudit {
    pb::KeyAudit {
        id: a.id,
        audit_time: Some(to_timestamp(a.audited_at)),
        audited_by: Some(a.audited_by.to_proto()),
        slots_checked: a.slots_checked,
        mismatches: a
            .mismatches
            .into_iter()
            .map(|m| pb::SlotMismatch {
                slot: m.slot,
                expected: m.expected,
                counted: m.counted,
                key_set_id: m.key_set_id,
                key_number: m.key_number,
            })
            .collect(),
        note: a.note,
    }
}

pub(super) fn figures_to_proto(f: Figures) -> pb::KeyFigures {
    pb::KeyFigures {
        month: f.month,
        user_id: f.user_id,
        name: f.name,
        loans_handled: f.loans_handled,
        returns_received: f.returns_received,
        loans_borrowed: f.loans_borrowed,
        overdue_loans: f.overdue_loans,
        chases: f.chases,
        refusals: f.refusals,
    }
}
