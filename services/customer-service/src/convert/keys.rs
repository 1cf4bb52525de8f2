//! Key custody (KeyService) ↔ its domain.

use wuye_kit::time::to_timestamp;
use wuye_proto::customerservice as pb;

use crate::domain::keys::{
    Alert, Audit, Chase, ChaseMethod, Figures, IdRecord, IdType, KeyReturn, KeySet, KeySetState,
    KeySource, Loan, LoanPurpose, LoanState, OnFile, RefusalRecord,
};

wuye_kit::enum_conversions!(KeySource <=> pb::KeySource { Developer, Customer });
wuye_kit::enum_conversions!(KeySetState <=> pb::KeySetState { InCabinet, OnLoan, Collected });
wuye_kit::enum_conversions!(LoanPurpose <=> pb::LoanPurpose { Repair, VacantPatrol });
wuye_kit::enum_conversions!(ChaseMethod <=> pb::ChaseMethod { Phone, Visit });
wuye_kit::enum_conversions!(LoanState <=> pb::KeyLoanState { Open, Returned });

/// Unspecified is "no document".
impl TryFrom<pb::IdDocumentType> for IdType {
    type Error = ();

    fn try_from(value: pb::IdDocumentType) -> Result<Self, ()> {
        Ok(match value {
            pb::IdDocumentType::Unspecified => IdType::None,
            pb::IdDocumentType::ResidentIdCard => IdType::ResidentIdCard,
            pb::IdDocumentType::Passport => IdType::Passport,
            pb::IdDocumentType::HomeReturnPermit => IdType::HomeReturnPermit,
            pb::IdDocumentType::Other => IdType::Other,
        })
    }
}

wuye_kit::enum_conversions!(IdType => pb::IdDocumentType {
    None = Unspecified,
    ResidentIdCard = ResidentIdCard,
    Passport = Passport,
    HomeReturnPermit = HomeReturnPermit,
    Other = Other,
});

impl From<IdRecord> for pb::CustodyIdRecord {
    fn from(r: IdRecord) -> Self {
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
            id_document_type: pb::IdDocumentType::from(r.document.id_type).into(),
            id_number_masked: r.document.masked,
            record_time: Some(to_timestamp(r.recorded_at)),
            recorded_by: Some(r.recorded_by.to_proto()),
        }
    }
}

impl From<KeySet> for pb::KeySet {
    /// The set as of the answer's moment ([`KeySet::as_of`]).
    fn from(s: KeySet) -> Self {
        let keys_in_cabinet = s.keys_in_cabinet();
        pb::KeySet {
            id: s.id,
            property_id: s.property_id,
            number: s.number,
            source: pb::KeySource::from(s.source).into(),
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
                    id_document_type: pb::IdDocumentType::from(c.id.id_type).into(),
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
            state: pb::KeySetState::from(s.state).into(),
            keys_in_cabinet,
            keys_out: s.keys_out,
            current_loan: s.current_loan.map(|l| (*l).into()),
            entrust_time: Some(to_timestamp(s.entrusted_at)),
            entrusted_by: Some(s.entrusted_by.to_proto()),
            collection: s.collection.map(|c| pb::KeyCollection {
                collector_name: c.collector_name,
                designated_collector: c.designated,
                id_document_type: pb::IdDocumentType::from(c.id.id_type).into(),
                id_number_masked: c.id.masked,
                signer_name: c.signer_name,
                collect_time: Some(to_timestamp(c.collected_at)),
                handed_over_by: Some(c.handed_over_by.to_proto()),
            }),
        }
    }
}

impl From<KeyReturn> for pb::KeyReturn {
    fn from(r: KeyReturn) -> Self {
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
}

impl From<Chase> for pb::KeyChase {
    fn from(c: Chase) -> Self {
        pb::KeyChase {
            id: c.id,
            method: pb::ChaseMethod::from(c.method).into(),
            contacted: c.contacted,
            result: c.result,
            promised_return_time: c.promised_return_at.map(to_timestamp),
            chase_time: Some(to_timestamp(c.chased_at)),
            chased_by: Some(c.chased_by.to_proto()),
        }
    }
}

impl From<Loan> for pb::KeyLoan {
    /// The loan as of the answer's moment ([`Loan::as_of`]): overdue once `overdue_at` is set.
    fn from(l: Loan) -> Self {
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
            purpose: pb::LoanPurpose::from(l.purpose).into(),
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
            state: pb::KeyLoanState::from(l.state).into(),
            overdue: l.overdue_at.is_some(),
            overdue_time: l.overdue_at.map(to_timestamp),
            lent_by: Some(l.lent_by.to_proto()),
            returns: l.returns.into_iter().map(Into::into).collect(),
            chases: l.chases.into_iter().map(Into::into).collect(),
            close_time: l.closed_at.map(to_timestamp),
        }
    }
}

impl From<RefusalRecord> for pb::KeyRefusal {
    fn from(r: RefusalRecord) -> Self {
        pb::KeyRefusal {
            id: r.id,
            key_set_id: r.key_set_id,
            key_number: r.key_number,
            reason: r.refusal.reason().to_owned(),
            claimant_name: r.claimant_name,
            id_document_type: pb::IdDocumentType::from(r.id_shown.id_type).into(),
            id_number_masked: r.id_shown.masked,
            refuse_time: Some(to_timestamp(r.refused_at)),
            refused_by: Some(r.refused_by.to_proto()),
        }
    }
}

impl From<Alert> for pb::KeyAlert {
    fn from(a: Alert) -> Self {
        pb::KeyAlert {
            seq: a.seq,
            property_id: a.property_id,
            loan: Some(a.loan.into()),
            raise_time: Some(to_timestamp(a.raised_at)),
        }
    }
}

impl From<Audit> for pb::KeyAudit {
    fn from(a: Audit) -> Self {
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
}

impl From<Figures> for pb::KeyFigures {
    fn from(f: Figures) -> Self {
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
}
