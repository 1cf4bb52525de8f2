use std::collections::BTreeSet;

use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    db::to_micros,
    idempotency::RequestId,
    idempotency::{self, Claim},
    identity::{self, Caller},
    page,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::archives::{self as pb, access_service_server::AccessService};

use super::{MAX_ID, MAX_REQUEST_ID, Subject, after_id, next_token};
use crate::{
    Archives,
    domain::{
        access::{
            self as rules, AccessRequest, AccessState, OfficialReading, ReaderKind, check_decision,
        },
        audit::{Action, Outcome},
    },
    store,
};

#[tonic::async_trait]
impl AccessService for Archives {
    async fn create_access_request(
        &self,
        request: Request<pb::CreateAccessRequestRequest>,
    ) -> Result<Response<pb::CreateAccessRequestResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let now = self.clock.now();
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("household_file_id", &req.household_file_id, MAX_ID);
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
        v.required_text("purpose", &req.purpose, rules::MAX_PURPOSE);
        let reader_kind = match pb::ReaderKind::try_from(req.reader_kind) {
            Ok(pb::ReaderKind::Staff) => Some(ReaderKind::Staff),
            Ok(pb::ReaderKind::GovernmentOfficial) => Some(ReaderKind::GovernmentOfficial),
            _ => {
                v.add("reader_kind", "must be staff or government_official");
                None
            }
        };
        let official = match (reader_kind, &req.official) {
            // rule ARC-8: an official shows proof, and the proof is recorded.
            (Some(ReaderKind::GovernmentOfficial), official) => {
                let o = official.clone().unwrap_or_default();
                for (field, value) in [
                    ("official.official_name", &o.official_name),
                    ("official.official_body", &o.official_body),
                    ("official.proof_kind", &o.proof_kind),
                    ("official.proof_number", &o.proof_number),
                ] {
                    v.required_text(field, value, rules::MAX_OFFICIAL_TEXT);
                }
                Some(OfficialReading {
                    official_name: o.official_name.trim().to_owned(),
                    official_body: o.official_body.trim().to_owned(),
                    proof_kind: o.proof_kind.trim().to_owned(),
                    proof_number: o.proof_number.trim().to_owned(),
                })
            }
            (Some(ReaderKind::Staff), Some(_)) => {
                v.add(
                    "official",
                    "is given only for a government official's reading",
                );
                None
            }
            _ => None,
        };
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
            return Err(Error::invalid("reader_kind", "must be set").into());
        };

        let mut access = AccessRequest {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            household_file_id: req.household_file_id.clone(),
            document_ids: req.document_ids.clone(),
            personal_data: req.personal_data,
            copying: req.copying,
            purpose: req.purpose.trim().to_owned(),
            reader_kind,
            official,
            valid_until,
            state: AccessState::Pending,
            requested_by: caller.actor(),
            requested_at: now,
            decided_by: None,
            decided_at: None,
            decision_note: String::new(),
        };
        access.document_ids.sort();
        let mut tx = self.db.begin().await?;
        let scope = format!("CreateAccessRequest/{}", property.id);
        if let Claim::Retry(first) = idempotency::claim(
            &mut tx,
            &self.keyring,
            &scope,
            &request_id,
            &access.id,
            to_micros(now),
        )
        .await?
        {
            tx.rollback().await?;
            return Ok(Response::new(pb::CreateAccessRequestResponse {
                access_request: Some(to_proto(self.access(&property.id, &first).await?)),
            }));
        }
        store::files::get(&mut *tx, &property.id, &access.household_file_id)
            .await?
            .ok_or_else(|| Error::not_found("household file", &access.household_file_id))?;
        let found = store::documents::count_in_file(
            &mut tx,
            &access.household_file_id,
            &access.document_ids,
        )
        .await?;
        if found != access.document_ids.len() as i64 {
            return Err(
                Error::invalid("document_ids", "must be documents of the household file").into(),
            );
        }
        store::access::insert(&mut tx, &access).await?;
        let subject = Subject {
            property_id: &property.id,
            action: Action::RequestAccess,
            kind: "access_request",
            id: &access.id,
            access_request_id: &access.id,
        };
        let detail = match &access.official {
            Some(o) => format!(
                "government official of {} with {} {}",
                o.official_body, o.proof_kind, o.proof_number
            ),
            None => "staff".to_owned(),
        };
        store::audit::append(
            &mut tx,
            &self.keyring,
            self.happening(&caller, &subject, Outcome::Done, "", detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Response::new(pb::CreateAccessRequestResponse {
            access_request: Some(to_proto(access)),
        }))
    }

    async fn approve_access_request(
        &self,
        request: Request<pb::ApproveAccessRequestRequest>,
    ) -> Result<Response<pb::ApproveAccessRequestResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("access_request_id", &req.access_request_id, MAX_ID);
        v.max_text("note", &req.note, rules::MAX_PURPOSE);
        v.check()?;
        let access = self
            .decide(
                &caller,
                &property.id,
                &req.access_request_id,
                AccessState::Approved,
                req.note.trim(),
            )
            .await?;
        Ok(Response::new(pb::ApproveAccessRequestResponse {
            access_request: Some(to_proto(access)),
        }))
    }

    async fn reject_access_request(
        &self,
        request: Request<pb::RejectAccessRequestRequest>,
    ) -> Result<Response<pb::RejectAccessRequestResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("access_request_id", &req.access_request_id, MAX_ID);
        v.required_text("note", &req.note, rules::MAX_PURPOSE);
        v.check()?;
        let access = self
            .decide(
                &caller,
                &property.id,
                &req.access_request_id,
                AccessState::Rejected,
                req.note.trim(),
            )
            .await?;
        Ok(Response::new(pb::RejectAccessRequestResponse {
            access_request: Some(to_proto(access)),
        }))
    }

    async fn get_access_request(
        &self,
        request: Request<pb::GetAccessRequestRequest>,
    ) -> Result<Response<pb::GetAccessRequestResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        Ok(Response::new(pb::GetAccessRequestResponse {
            access_request: Some(to_proto(
                self.access(&property.id, &req.access_request_id).await?,
            )),
        }))
    }

    async fn list_access_requests(
        &self,
        request: Request<pb::ListAccessRequestsRequest>,
    ) -> Result<Response<pb::ListAccessRequestsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let state = match pb::AccessState::try_from(req.state) {
            Ok(pb::AccessState::Unspecified) => None,
            Ok(pb::AccessState::Pending) => Some(AccessState::Pending),
            Ok(pb::AccessState::Approved) => Some(AccessState::Approved),
            Ok(pb::AccessState::Rejected) => Some(AccessState::Rejected),
            Err(_) => return Err(Error::invalid("state", "is not an access state").into()),
        };
        let limit = page::page_size(req.page_size)?;
        let before = after_id(&req.page_token)?;
        let requests = store::access::list(&self.db, &property.id, state, &before, limit).await?;
        let next_page_token = next_token(&requests, limit, |r| r.id.clone());
        Ok(Response::new(pb::ListAccessRequestsResponse {
            access_requests: requests.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

impl Archives {
    async fn access(&self, property_id: &str, id: &str) -> Result<AccessRequest> {
        store::access::read(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("access request", id))
    }

    /// ARC-9, ARC-11: the supervisor's decision, never on their own request; a refusal is
    /// registered like the decision would have been.
    async fn decide(
        &self,
        caller: &Caller,
        property_id: &str,
        id: &str,
        state: AccessState,
        note: &str,
    ) -> Result<AccessRequest, Status> {
        let action = match state {
            AccessState::Approved => Action::ApproveAccess,
            _ => Action::RejectAccess,
        };
        let subject = Subject {
            property_id,
            action,
            kind: "access_request",
            id,
            access_request_id: id,
        };
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let access = store::access::get(&mut tx, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("access request", id))?;
        if let Err(refusal) = check_decision(&access, &caller.actor(), now) {
            tx.rollback().await?;
            return Err(self.refuse(caller, &subject, refusal).await);
        }
        if !store::access::decide(&mut tx, id, state, &caller.actor(), now, note).await? {
            return Err(
                Error::rule("ALREADY_DECIDED", "the access request was decided already").into(),
            );
        }
        store::audit::append(
            &mut tx,
            &self.keyring,
            self.happening(caller, &subject, Outcome::Done, "", String::new()),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(property = %property_id, access_request = %id, state = state.code(), "access request decided");
        Ok(self.access(property_id, id).await?)
    }
}

fn to_proto(a: AccessRequest) -> pb::AccessRequest {
    pb::AccessRequest {
        id: a.id,
        property_id: a.property_id,
        household_file_id: a.household_file_id,
        document_ids: a.document_ids,
        personal_data: a.personal_data,
        copying: a.copying,
        purpose: a.purpose,
        reader_kind: match a.reader_kind {
            ReaderKind::Staff => pb::ReaderKind::Staff,
            ReaderKind::GovernmentOfficial => pb::ReaderKind::GovernmentOfficial,
        }
        .into(),
        official: a.official.map(|o| pb::OfficialReading {
            official_name: o.official_name,
            official_body: o.official_body,
            proof_kind: o.proof_kind,
            proof_number: o.proof_number,
        }),
        valid_until_time: Some(to_timestamp(a.valid_until)),
        state: match a.state {
            AccessState::Pending => pb::AccessState::Pending,
            AccessState::Approved => pb::AccessState::Approved,
            AccessState::Rejected => pb::AccessState::Rejected,
        }
        .into(),
        requested_by: Some(a.requested_by.to_proto()),
        request_time: Some(to_timestamp(a.requested_at)),
        decided_by: a.decided_by.map(|d| d.to_proto()),
        decide_time: a.decided_at.map(to_timestamp),
        decision_note: a.decision_note,
    }
}
