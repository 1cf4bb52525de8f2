use tonic::{Request, Response, Status};
use wuye_kit::{Error, identity, page, time::to_timestamp};
use wuye_proto::archives::{self as pb, audit_service_server::AuditService};

use super::next_token;
use crate::{
    Archives,
    domain::audit::{Action, Entry, Outcome},
    store,
};

#[tonic::async_trait]
impl AuditService for Archives {
    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token)?
            .map(|s| s.parse::<i64>().map_err(|_| page::bad_token()))
            .transpose()?
            .unwrap_or(0);
        let entries = store::audit::list(&self.db, &property.id, after, limit).await?;
        let next_page_token = next_token(&entries, limit, |e| e.seq.to_string());
        Ok(Response::new(pb::ListAuditEntriesResponse {
            entries: entries.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        // rule ARC-12: the checkpoint first, then the head, so that a checkpoint written
        // meanwhile never lies beyond the head read.
        let newest = self
            .checkpoints
            .newest(&property.id, &self.keyring)
            .await
            .map_err(|e| Error::Internal(e.context("reading the register's checkpoints")))?;
        let v = store::audit::verify(
            &self.db,
            &self.keyring,
            &property.id,
            newest.checkpoint,
            newest.invalid,
        )
        .await?;
        if !v.intact {
            tracing::error!(property = %property.id, seq = v.first_broken_seq, problem = %v.problem, "archive register chain is broken");
        }
        Ok(Response::new(pb::VerifyAuditChainResponse {
            intact: v.intact,
            entries_checked: v.checked,
            first_broken_seq: v.first_broken_seq,
            problem: v.problem,
            checkpoint_seq: v.checkpoint.map_or(0, |(seq, _)| seq),
            checkpoint_time: v.checkpoint.map(|(_, at)| to_timestamp(at)),
            invalid_checkpoints: v.invalid_checkpoints,
        }))
    }
}

fn action_to_proto(code: &str) -> pb::AuditAction {
    match Action::from_code(code) {
        None => pb::AuditAction::Unspecified,
        Some(Action::UploadDocument) => pb::AuditAction::UploadDocument,
        Some(Action::ReadDocument) => pb::AuditAction::ReadDocument,
        Some(Action::ReadPersonalData) => pb::AuditAction::ReadPersonalData,
        Some(Action::RecordPersonalData) => pb::AuditAction::RecordPersonalData,
        Some(Action::CopyDocument) => pb::AuditAction::CopyDocument,
        Some(Action::RequestAccess) => pb::AuditAction::RequestAccess,
        Some(Action::ApproveAccess) => pb::AuditAction::ApproveAccess,
        Some(Action::RejectAccess) => pb::AuditAction::RejectAccess,
        Some(Action::HandOverRecord) => pb::AuditAction::HandOverRecord,
        Some(Action::ProposeDestruction) => pb::AuditAction::ProposeDestruction,
        Some(Action::ApproveDestruction) => pb::AuditAction::ApproveDestruction,
    }
}

fn to_proto(e: Entry) -> pb::AuditEntry {
    pb::AuditEntry {
        property_id: e.property_id,
        seq: e.seq,
        occur_time: Some(to_timestamp(e.occurred_at)),
        actor: Some(e.actor.to_proto()),
        action: action_to_proto(&e.action).into(),
        outcome: match Outcome::from_code(&e.outcome) {
            Some(Outcome::Done) => pb::AuditOutcome::Done,
            Some(Outcome::Refused) => pb::AuditOutcome::Refused,
            None => pb::AuditOutcome::Unspecified,
        }
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
