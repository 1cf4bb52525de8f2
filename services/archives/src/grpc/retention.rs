use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, idempotency::RequestId, page, time::from_timestamp};
use wuye_proto::archives::{self as pb, retention_service_server::RetentionService};

use super::{MAX_ID, MAX_REQUEST_ID};
use crate::{
    Archives,
    app::retention::{self as app, HandOver},
    domain::retention::{self as rules, RetainedState, RetentionClass},
};

#[tonic::async_trait]
impl RetentionService for Archives {
    async fn hand_over_record(
        &self,
        request: Request<pb::HandOverRecordRequest>,
    ) -> Result<Response<pb::HandOverRecordResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let handed = hand_over(req, self.clock.now())?;
        let record = app::hand_over(self, &scope, &request_id, handed).await?;
        Ok(Response::new(pb::HandOverRecordResponse {
            record: Some(record.into()),
        }))
    }

    async fn list_retained_records(
        &self,
        request: Request<pb::ListRetainedRecordsRequest>,
    ) -> Result<Response<pb::ListRetainedRecordsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let state = pb::RetainedState::try_from(req.state)
            .map_err(|_| Error::invalid("state", "is not a retained state"))?;
        let state = RetainedState::try_from(state).ok();
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let records = app::list(self, &scope, state, &after, limit).await?;
        let next_page_token = page::next_token(&records, limit, |r| r.id.clone());
        Ok(Response::new(pb::ListRetainedRecordsResponse {
            records: records.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn propose_destruction(
        &self,
        request: Request<pb::ProposeDestructionRequest>,
    ) -> Result<Response<pb::ProposeDestructionResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.check()?;
        let proposal = app::propose(self, &scope, &request_id).await?;
        Ok(Response::new(pb::ProposeDestructionResponse {
            proposal: proposal.map(Into::into),
        }))
    }

    async fn approve_destruction(
        &self,
        request: Request<pb::ApproveDestructionRequest>,
    ) -> Result<Response<pb::ApproveDestructionResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text(
            "destruction_proposal_id",
            &req.destruction_proposal_id,
            MAX_ID,
        );
        v.check()?;
        let proposal = app::approve(self, &scope, &req.destruction_proposal_id).await?;
        Ok(Response::new(pb::ApproveDestructionResponse {
            proposal: Some(proposal.into()),
        }))
    }

    async fn get_destruction_proposal(
        &self,
        request: Request<pb::GetDestructionProposalRequest>,
    ) -> Result<Response<pb::GetDestructionProposalResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let proposal = app::get_proposal(self, &scope, &req.destruction_proposal_id).await?;
        Ok(Response::new(pb::GetDestructionProposalResponse {
            proposal: Some(proposal.into()),
        }))
    }
}

/// The record handed over, every field checked at once.
fn hand_over(req: pb::HandOverRecordRequest, now: DateTime<Utc>) -> Result<HandOver> {
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
    v.required_text("source", &req.source, rules::MAX_SOURCE);
    v.required_text("record_kind", &req.record_kind, rules::MAX_KIND);
    v.required_text("record_id", &req.record_id, rules::MAX_RECORD_ID);
    v.required_text("summary", &req.summary, rules::MAX_SUMMARY);
    let class = wuye_kit::from_proto::<pb::RetentionClass, RetentionClass>(req.retention_class);
    if class.is_none() {
        v.add("retention_class", "must be key_record or archive");
    }
    let closed_at = req.close_time.as_ref().and_then(from_timestamp);
    match closed_at {
        None => v.add("close_time", "must be set"),
        Some(t) if t > now => v.add("close_time", "must not be in the future"),
        Some(_) => {}
    }
    if req.content.len() > rules::MAX_CONTENT_BYTES {
        v.add(
            "content",
            format!("must be at most {} bytes", rules::MAX_CONTENT_BYTES),
        );
    }
    v.check()?;
    let (Some(class), Some(closed_at)) = (class, closed_at) else {
        return Err(Error::invalid("retention_class", "must be set"));
    };
    Ok(HandOver {
        source: req.source.trim().to_owned(),
        record_kind: req.record_kind.trim().to_owned(),
        record_id: req.record_id.trim().to_owned(),
        class,
        closed_at,
        summary: req.summary.trim().to_owned(),
        content: req.content,
    })
}
