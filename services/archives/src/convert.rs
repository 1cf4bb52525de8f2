//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums (unspecified →
//! `Err(())`), `From` to their enums and messages. The transport converts requests and answers
//! with it.

use wuye_kit::time::to_timestamp;
use wuye_proto::archives as pb;

use crate::{
    app::{files::FileView, retention::ProposalView},
    domain::{
        access::{AccessRequest, AccessState, CopyRecord, OfficialReading, ReaderKind},
        audit::{Action, Entry, Outcome},
        documents::Document,
        files::{Category, FilingState},
        retention::{ProposalState, RetainedRecord, RetainedState, RetentionClass},
    },
};

wuye_kit::enum_conversions!(Category <=> pb::DocumentCategory {
        Personal,
        Family,
        House,
        Decoration,
        Fees,
        Photos
    }
);
wuye_kit::enum_conversions!(FilingState <=> pb::FilingState {
        Open,
        Overdue,
        Filed,
        FiledLate
    }
);
wuye_kit::enum_conversions!(AccessState <=> pb::AccessState {
        Pending,
        Approved,
        Rejected
    }
);
wuye_kit::enum_conversions!(ReaderKind <=> pb::ReaderKind {
        Staff,
        GovernmentOfficial
    }
);
wuye_kit::enum_conversions!(RetentionClass <=> pb::RetentionClass { KeyRecord, Archive });
wuye_kit::enum_conversions!(RetainedState <=> pb::RetainedState {
        Kept,
        Proposed,
        Destroyed
    }
);
wuye_kit::enum_conversions!(ProposalState <=> pb::ProposalState {
        Proposed,
        Destroyed
    }
);
wuye_kit::enum_conversions!(Outcome <=> pb::AuditOutcome { Done, Refused });
wuye_kit::enum_conversions!(Action <=> pb::AuditAction {
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
);

/// A category as the wire's `i32`.
fn category(c: Category) -> i32 {
    pb::DocumentCategory::from(c).into()
}

impl From<FileView> for pb::HouseholdFile {
    fn from(v: FileView) -> Self {
        let f = v.file;
        pb::HouseholdFile {
            id: f.id,
            property_id: f.property_id,
            household_id: f.household_id,
            unit_id: f.unit_id,
            unit_label: f.unit_label,
            move_in_time: Some(to_timestamp(f.moved_in_at)),
            filing_due_time: Some(to_timestamp(f.filing_due_at)),
            filed_time: f.filed_at.map(to_timestamp),
            filing_state: pb::FilingState::from(v.state).into(),
            present_categories: v.present.into_iter().map(category).collect(),
            missing_categories: v.missing.into_iter().map(category).collect(),
            holder_name: f.holder_name,
            masked_id_number: v.masked_id_number,
            masked_phone: v.masked_phone,
            open_time: Some(to_timestamp(f.opened_at)),
        }
    }
}

impl From<Document> for pb::Document {
    fn from(d: Document) -> Self {
        pb::Document {
            id: d.id,
            property_id: d.property_id,
            household_file_id: d.household_file_id,
            category: category(d.category),
            title: d.title,
            content_type: d.content_type,
            version: d.version,
            supersedes_document_id: d.supersedes_id.unwrap_or_default(),
            superseded: d.superseded,
            correction_reason: d.correction_reason,
            size_bytes: d.size_bytes,
            sha256: d.sha256,
            upload_time: Some(to_timestamp(d.uploaded_at)),
            uploaded_by: Some(d.uploaded_by.to_proto()),
        }
    }
}

impl From<CopyRecord> for pb::CopyRecord {
    fn from(c: CopyRecord) -> Self {
        pb::CopyRecord {
            id: c.id,
            property_id: c.property_id,
            document_id: c.document_id,
            access_request_id: c.access_request_id,
            copies: c.copies,
            purpose: c.purpose,
            copied_by: Some(c.copied_by.to_proto()),
            copy_time: Some(to_timestamp(c.copied_at)),
        }
    }
}

impl From<pb::OfficialReading> for OfficialReading {
    fn from(o: pb::OfficialReading) -> Self {
        OfficialReading {
            official_name: o.official_name.trim().to_owned(),
            official_body: o.official_body.trim().to_owned(),
            proof_kind: o.proof_kind.trim().to_owned(),
            proof_number: o.proof_number.trim().to_owned(),
        }
    }
}

impl From<OfficialReading> for pb::OfficialReading {
    fn from(o: OfficialReading) -> Self {
        pb::OfficialReading {
            official_name: o.official_name,
            official_body: o.official_body,
            proof_kind: o.proof_kind,
            proof_number: o.proof_number,
        }
    }
}

impl From<AccessRequest> for pb::AccessRequest {
    fn from(a: AccessRequest) -> Self {
        pb::AccessRequest {
            id: a.id,
            property_id: a.property_id,
            household_file_id: a.household_file_id,
            document_ids: a.document_ids,
            personal_data: a.personal_data,
            copying: a.copying,
            purpose: a.purpose,
            reader_kind: pb::ReaderKind::from(a.reader_kind).into(),
            official: a.official.map(Into::into),
            valid_until_time: Some(to_timestamp(a.valid_until)),
            state: pb::AccessState::from(a.state).into(),
            requested_by: Some(a.requested_by.to_proto()),
            request_time: Some(to_timestamp(a.requested_at)),
            decided_by: a.decided_by.map(|d| d.to_proto()),
            decide_time: a.decided_at.map(to_timestamp),
            decision_note: a.decision_note,
        }
    }
}

impl From<Entry> for pb::AuditEntry {
    fn from(e: Entry) -> Self {
        pb::AuditEntry {
            property_id: e.property_id,
            seq: e.seq,
            occur_time: Some(to_timestamp(e.occurred_at)),
            actor: Some(e.actor.to_proto()),
            action: Action::from_code(&e.action)
                .map_or(pb::AuditAction::Unspecified, Into::into)
                .into(),
            outcome: Outcome::from_code(&e.outcome)
                .map_or(pb::AuditOutcome::Unspecified, Into::into)
                .into(),
            reason: e.reason,
            subject_kind: e.subject_kind,
            subject_id: e.subject_id,
            access_request_id: e.access_request_id,
            detail: e.detail,
            hash: e.hash,
            previous_hash: e.previous_hash,
            key_id: e.key_id,
        }
    }
}

impl From<RetainedRecord> for pb::RetainedRecord {
    fn from(r: RetainedRecord) -> Self {
        pb::RetainedRecord {
            id: r.id,
            property_id: r.property_id,
            source: r.source,
            record_kind: r.record_kind,
            record_id: r.record_id,
            retention_class: pb::RetentionClass::from(r.class).into(),
            close_time: Some(to_timestamp(r.closed_at)),
            retain_until_time: Some(to_timestamp(r.retain_until)),
            summary: r.summary,
            state: pb::RetainedState::from(r.state).into(),
            destruction_proposal_id: r.proposal_id.unwrap_or_default(),
            destroy_time: r.destroyed_at.map(to_timestamp),
            handed_over_by: Some(r.handed_over_by.to_proto()),
            hand_over_time: Some(to_timestamp(r.handed_over_at)),
            size_bytes: r.size_bytes,
        }
    }
}

impl From<ProposalView> for pb::DestructionProposal {
    fn from(v: ProposalView) -> Self {
        let p = v.proposal;
        pb::DestructionProposal {
            id: p.id,
            property_id: p.property_id,
            state: pb::ProposalState::from(p.state).into(),
            records: v.records.into_iter().map(Into::into).collect(),
            proposed_by: Some(p.proposed_by.to_proto()),
            propose_time: Some(to_timestamp(p.proposed_at)),
            approved_by: p.approved_by.map(|a| a.to_proto()),
            approve_time: p.approved_at.map(to_timestamp),
        }
    }
}
