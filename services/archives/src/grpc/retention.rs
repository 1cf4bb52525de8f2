use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    db::to_micros,
    idempotency::RequestId,
    idempotency::{self, Claim},
    identity, page,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::archives::{self as pb, retention_service_server::RetentionService};

use super::{MAX_ID, MAX_REQUEST_ID, Subject, after_id, next_token};
use crate::{
    Archives,
    domain::{
        audit::{Action, Outcome},
        retention::{
            self as rules, Proposal, ProposalState, RetainedRecord, RetainedState, RetentionClass,
        },
    },
    store,
};

#[tonic::async_trait]
impl RetentionService for Archives {
    async fn hand_over_record(
        &self,
        request: Request<pb::HandOverRecordRequest>,
    ) -> Result<Response<pb::HandOverRecordResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let now = self.clock.now();
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("source", &req.source, rules::MAX_SOURCE);
        v.required_text("record_kind", &req.record_kind, rules::MAX_KIND);
        v.required_text("record_id", &req.record_id, rules::MAX_RECORD_ID);
        v.required_text("summary", &req.summary, rules::MAX_SUMMARY);
        let class = match pb::RetentionClass::try_from(req.retention_class) {
            Ok(pb::RetentionClass::KeyRecord) => Some(RetentionClass::KeyRecord),
            Ok(pb::RetentionClass::Archive) => Some(RetentionClass::Archive),
            _ => {
                v.add("retention_class", "must be key_record or archive");
                None
            }
        };
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
            return Err(Error::invalid("retention_class", "must be set").into());
        };
        // rules KEY-10, ARC-12
        let years = rules::years(class, property);
        let record = RetainedRecord {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            source: req.source.trim().to_owned(),
            record_kind: req.record_kind.trim().to_owned(),
            record_id: req.record_id.trim().to_owned(),
            class,
            closed_at,
            retain_until: rules::retain_until(closed_at, years, property),
            summary: req.summary.trim().to_owned(),
            size_bytes: req.content.len() as i64,
            state: RetainedState::Kept,
            proposal_id: None,
            destroyed_at: None,
            handed_over_by: caller.actor(),
            handed_over_at: now,
        };
        let mut tx = self.db.begin().await?;
        let scope = format!("HandOverRecord/{}", property.id);
        if let Claim::Retry(first) = idempotency::claim(
            &mut tx,
            &self.keyring,
            &scope,
            &request_id,
            &record.id,
            to_micros(now),
        )
        .await?
        {
            tx.rollback().await?;
            return Ok(Response::new(pb::HandOverRecordResponse {
                record: Some(to_proto(self.retained(&property.id, &first).await?)),
            }));
        }
        // rule ARC-6: the content is personal data, sealed for its row.
        let sealed = self
            .keyring
            .seal_bytes_value(
                &format!("retained_records/{}/content", record.id),
                &req.content,
            )
            .map_err(Error::Internal)?;
        store::retention::insert(&mut tx, &record, sealed).await?;
        let subject = Subject {
            property_id: &property.id,
            action: Action::HandOverRecord,
            kind: "retained_record",
            id: &record.id,
            access_request_id: "",
        };
        let detail = format!(
            "{} {} from {}, {} years",
            record.record_kind, record.record_id, record.source, years
        );
        store::audit::append(
            &mut tx,
            &self.keyring,
            self.happening(&caller, &subject, Outcome::Done, "", detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Response::new(pb::HandOverRecordResponse {
            record: Some(to_proto(record)),
        }))
    }

    async fn list_retained_records(
        &self,
        request: Request<pb::ListRetainedRecordsRequest>,
    ) -> Result<Response<pb::ListRetainedRecordsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let state = match pb::RetainedState::try_from(req.state) {
            Ok(pb::RetainedState::Unspecified) => None,
            Ok(pb::RetainedState::Kept) => Some(RetainedState::Kept),
            Ok(pb::RetainedState::Proposed) => Some(RetainedState::Proposed),
            Ok(pb::RetainedState::Destroyed) => Some(RetainedState::Destroyed),
            Err(_) => return Err(Error::invalid("state", "is not a retained state").into()),
        };
        let limit = page::page_size(req.page_size)?;
        let after = after_id(&req.page_token)?;
        let records = store::retention::list(&self.db, &property.id, state, &after, limit).await?;
        let next_page_token = next_token(&records, limit, |r| r.id.clone());
        Ok(Response::new(pb::ListRetainedRecordsResponse {
            records: records.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn propose_destruction(
        &self,
        request: Request<pb::ProposeDestructionRequest>,
    ) -> Result<Response<pb::ProposeDestructionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.check()?;
        let now = self.clock.now();
        let proposal = Proposal {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            state: ProposalState::Proposed,
            proposed_by: caller.actor(),
            proposed_at: now,
            approved_by: None,
            approved_at: None,
        };
        let mut tx = self.db.begin().await?;
        let scope = format!("ProposeDestruction/{}", property.id);
        if let Claim::Retry(first) = idempotency::claim(
            &mut tx,
            &self.keyring,
            &scope,
            &request_id,
            &proposal.id,
            to_micros(now),
        )
        .await?
        {
            tx.rollback().await?;
            return Ok(Response::new(pb::ProposeDestructionResponse {
                proposal: Some(self.proposal(&property.id, &first).await?),
            }));
        }
        // rule ARC-12: only what is past its retention.
        let proposed = store::retention::propose_due(&mut tx, &proposal, now).await?;
        if proposed == 0 {
            tx.rollback().await?;
            return Ok(Response::new(pb::ProposeDestructionResponse {
                proposal: None,
            }));
        }
        let subject = Subject {
            property_id: &property.id,
            action: Action::ProposeDestruction,
            kind: "destruction_proposal",
            id: &proposal.id,
            access_request_id: "",
        };
        let detail = format!("{proposed} records past their retention");
        store::audit::append(
            &mut tx,
            &self.keyring,
            self.happening(&caller, &subject, Outcome::Done, "", detail),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(property = %property.id, records = proposed, "destruction proposed");
        Ok(Response::new(pb::ProposeDestructionResponse {
            proposal: Some(self.proposal(&property.id, &proposal.id).await?),
        }))
    }

    async fn approve_destruction(
        &self,
        request: Request<pb::ApproveDestructionRequest>,
    ) -> Result<Response<pb::ApproveDestructionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text(
            "destruction_proposal_id",
            &req.destruction_proposal_id,
            MAX_ID,
        );
        v.check()?;
        let id = req.destruction_proposal_id.as_str();
        let subject = Subject {
            property_id: &property.id,
            action: Action::ApproveDestruction,
            kind: "destruction_proposal",
            id,
            access_request_id: "",
        };
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let proposal = store::retention::get_proposal(&mut *tx, &property.id, id)
            .await?
            .ok_or_else(|| Error::not_found("destruction proposal", id))?;
        // rule ARC-12: destruction needs the supervisor's approval, not the proposer's own.
        if let Err(refusal) = rules::check_approval(&proposal, &caller.actor()) {
            tx.rollback().await?;
            return Err(self.refuse(&caller, &subject, refusal).await);
        }
        let destroyed = store::retention::destroy(&mut tx, id, &caller.actor(), now).await?;
        let detail = format!("{destroyed} records destroyed");
        store::audit::append(
            &mut tx,
            &self.keyring,
            self.happening(&caller, &subject, Outcome::Done, "", detail),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(property = %property.id, records = destroyed, "records destroyed");
        Ok(Response::new(pb::ApproveDestructionResponse {
            proposal: Some(self.proposal(&property.id, id).await?),
        }))
    }

    async fn get_destruction_proposal(
        &self,
        request: Request<pb::GetDestructionProposalRequest>,
    ) -> Result<Response<pb::GetDestructionProposalResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        Ok(Response::new(pb::GetDestructionProposalResponse {
            proposal: Some(
                self.proposal(&property.id, &req.destruction_proposal_id)
                    .await?,
            ),
        }))
    }
}

impl Archives {
    async fn retained(&self, property_id: &str, id: &str) -> Result<RetainedRecord> {
        store::retention::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("retained record", id))
    }

    async fn proposal(&self, property_id: &str, id: &str) -> Result<pb::DestructionProposal> {
        let p = store::retention::get_proposal(self.db.pool(), property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("destruction proposal", id))?;
        let records = store::retention::records_of(self.db.pool(), &p.id).await?;
        Ok(pb::DestructionProposal {
            id: p.id,
            property_id: p.property_id,
            state: match p.state {
                ProposalState::Proposed => pb::ProposalState::Proposed,
                ProposalState::Destroyed => pb::ProposalState::Destroyed,
            }
            .into(),
            records: records.into_iter().map(to_proto).collect(),
            proposed_by: Some(p.proposed_by.to_proto()),
            propose_time: Some(to_timestamp(p.proposed_at)),
            approved_by: p.approved_by.map(|a| a.to_proto()),
            approve_time: p.approved_at.map(to_timestamp),
        })
    }
}

fn to_proto(r: RetainedRecord) -> pb::RetainedRecord {
    pb::RetainedRecord {
        id: r.id,
        property_id: r.property_id,
        source: r.source,
        record_kind: r.record_kind,
        record_id: r.record_id,
        retention_class: match r.class {
            RetentionClass::KeyRecord => pb::RetentionClass::KeyRecord,
            RetentionClass::Archive => pb::RetentionClass::Archive,
        }
        .into(),
        close_time: Some(to_timestamp(r.closed_at)),
        retain_until_time: Some(to_timestamp(r.retain_until)),
        summary: r.summary,
        state: match r.state {
            RetainedState::Kept => pb::RetainedState::Kept,
            RetainedState::Proposed => pb::RetainedState::Proposed,
            RetainedState::Destroyed => pb::RetainedState::Destroyed,
        }
        .into(),
        destruction_proposal_id: r.proposal_id.unwrap_or_default(),
        destroy_time: r.destroyed_at.map(to_timestamp),
        handed_over_by: Some(r.handed_over_by.to_proto()),
        hand_over_time: Some(to_timestamp(r.handed_over_at)),
        size_bytes: r.size_bytes,
    }
}
