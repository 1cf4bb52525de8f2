use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, idempotency::RequestId, page, time::from_timestamp};
use wuye_proto::archives::{self as pb, access_service_server::AccessService};

use super::{MAX_ID, MAX_REQUEST_ID};
use crate::{
    Archives,
    app::access::{self as app, NewAccess},
    domain::access::{self as rules, AccessState, OfficialReading, ReaderKind},
};

#[tonic::async_trait]
impl AccessService for Archives {
    async fn create_access_request(
        &self,
        request: Request<pb::CreateAccessRequestRequest>,
    ) -> Result<Response<pb::CreateAccessRequestResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let new = new_access(req, self.clock.now())?;
        let access = app::create(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::CreateAccessRequestResponse {
            access_request: Some(access.into()),
        }))
    }

    async fn approve_access_request(
        &self,
        request: Request<pb::ApproveAccessRequestRequest>,
    ) -> Result<Response<pb::ApproveAccessRequestResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text("access_request_id", &req.access_request_id, MAX_ID);
        v.max_text("note", &req.note, rules::MAX_PURPOSE);
        v.check()?;
        let id = &req.access_request_id;
        let access = app::decide(self, &scope, id, AccessState::Approved, req.note.trim()).await?;
        Ok(Response::new(pb::ApproveAccessRequestResponse {
            access_request: Some(access.into()),
        }))
    }

    async fn reject_access_request(
        &self,
        request: Request<pb::RejectAccessRequestRequest>,
    ) -> Result<Response<pb::RejectAccessRequestResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text("access_request_id", &req.access_request_id, MAX_ID);
        v.required_text("note", &req.note, rules::MAX_PURPOSE);
        v.check()?;
        let id = &req.access_request_id;
        let access = app::decide(self, &scope, id, AccessState::Rejected, req.note.trim()).await?;
        Ok(Response::new(pb::RejectAccessRequestResponse {
            access_request: Some(access.into()),
        }))
    }

    async fn get_access_request(
        &self,
        request: Request<pb::GetAccessRequestRequest>,
    ) -> Result<Response<pb::GetAccessRequestResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let access = app::get(self, &scope, &req.access_request_id).await?;
        Ok(Response::new(pb::GetAccessRequestResponse {
            access_request: Some(access.into()),
        }))
    }

    async fn list_access_requests(
        &self,
        request: Request<pb::ListAccessRequestsRequest>,
    ) -> Result<Response<pb::ListAccessRequestsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let state = pb::AccessState::try_from(req.state)
            .map_err(|_| Error::invalid("state", "is not an access state"))?;
        let state = AccessState::try_from(state).ok();
        let limit = page::page_size(req.page_size)?;
        let before = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let requests = app::list(self, &scope, state, &before, limit).await?;
        let next_page_token = page::next_token(&requests, limit, |r| r.id.clone());
        Ok(Response::new(pb::ListAccessRequestsResponse {
            access_requests: requests.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}

/// The access request asked for, every field checked at once.
fn new_access(req: pb::CreateAccessRequestRequest, now: DateTime<Utc>) -> Result<NewAccess> {
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
    v.required_text("household_file_id", &req.household_file_id, MAX_ID);
    check_documents(&mut v, &req);
    v.required_text("purpose", &req.purpose, rules::MAX_PURPOSE);
    let reader_kind = wuye_kit::from_proto::<pb::ReaderKind, ReaderKind>(req.reader_kind);
    if reader_kind.is_none() {
        v.add("reader_kind", "must be staff or government_official");
    }
    let official = official(&mut v, reader_kind, req.official);
    let valid_until = req.valid_until_time.as_ref().and_then(from_timestamp);
    match valid_until {
        None => v.add("valid_until_time", "must be set"),
        Some(t) if t <= now => v.add("valid_until_time", "must be in the future"),
        Some(t) if t > rules::latest_valid_until(now) => v.add(
            "valid_until_time",
            format!("must be at most {} days ahead", rules::MAX_ACCESS_DAYS),
        ),
        Some(_) => {}
    }
    v.check()?;
    let (Some(reader_kind), Some(valid_until)) = (reader_kind, valid_until) else {
        return Err(Error::invalid("reader_kind", "must be set"));
    };
    Ok(NewAccess {
        household_file_id: req.household_file_id,
        document_ids: req.document_ids,
        personal_data: req.personal_data,
        copying: req.copying,
        purpose: req.purpose.trim().to_owned(),
        reader_kind,
        official,
        valid_until,
    })
}

fn check_documents(v: &mut Violations, req: &pb::CreateAccessRequestRequest) {
    let documents: BTreeSet<&String> = req.document_ids.iter().collect();
    if documents.len() != req.document_ids.len() {
        v.add("document_ids", "must not repeat a document");
    }
    if req.document_ids.len() > rules::MAX_DOCUMENTS {
        v.add(
            "document_ids",
            format!("must be at most {}", rules::MAX_DOCUMENTS),
        );
    }
    if req
        .document_ids
        .iter()
        .any(|d| d.is_empty() || d.len() > MAX_ID)
    {
        v.add("document_ids", "must be document ids");
    }
    if req.document_ids.is_empty() && !req.personal_data {
        v.add(
            "document_ids",
            "must name a document unless the request is for personal data",
        );
    }
}

/// ARC-8: an official shows proof, and the proof is recorded; staff show none.
fn official(
    v: &mut Violations,
    reader_kind: Option<ReaderKind>,
    official: Option<pb::OfficialReading>,
) -> Option<OfficialReading> {
    match (reader_kind, official) {
        (Some(ReaderKind::GovernmentOfficial), official) => {
            let o = official.unwrap_or_default();
            for (field, value) in [
                ("official.official_name", &o.official_name),
                ("official.official_body", &o.official_body),
                ("official.proof_kind", &o.proof_kind),
                ("official.proof_number", &o.proof_number),
            ] {
                v.required_text(field, value, rules::MAX_OFFICIAL_TEXT);
            }
            Some(o.into())
        }
        (Some(ReaderKind::Staff), Some(_)) => {
            v.add(
                "official",
                "is given only for a government official's reading",
            );
            None
        }
        _ => None,
    }
}
