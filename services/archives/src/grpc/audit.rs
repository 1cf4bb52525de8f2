use tonic::{Request, Response, Status};
use wuye_kit::{page, time::to_timestamp};
use wuye_proto::archives::{self as pb, audit_service_server::AuditService};

use crate::{Archives, app::audit as app};

#[tonic::async_trait]
impl AuditService for Archives {
    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<i64>(&req.page_token)?.unwrap_or(0);
        let entries = app::list(self, &scope, after, limit).await?;
        let next_page_token = page::next_token(&entries, limit, |e| e.seq);
        Ok(Response::new(pb::ListAuditEntriesResponse {
            entries: entries.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let (scope, _) = self.properties.scope(request)?;
        let v = app::verify(self, &scope).await?;
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
