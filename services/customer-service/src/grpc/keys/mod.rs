//! The key custody desk (KeyService): each call's scope, its request read into the domain
//! (`input`), one use case of `app::keys`, and the answer converted out.

mod input;

use std::{collections::BTreeMap, pin::Pin, time::Duration};

use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations, document::html_document, from_proto, idempotency::RequestId,
    server::Server,
};
use wuye_proto::customerservice::{
    self as pb,
    key_service_server::{KeyService, KeyServiceServer},
};

use self::input::{check_quantity, check_request_id, id_field, optional_time};
use crate::{
    CustomerService,
    app::{
        self,
        keys::{self, Claimant, CountedReturn, IdToRecord, LoanFilter},
    },
    domain::keys::{
        self as rules, Audit, Chase, ChaseMethod, IdType, KeySetState, OnFile, ShownId,
    },
};

/// The key custody desk: the department's state and the wake-up of alert watchers.
#[derive(Clone)]
pub(crate) struct KeyDesk {
    cs: CustomerService,
    raised: watch::Sender<()>,
}

/// Serves the KeyService on `server` and runs its overdue check and retention job beside it,
/// every `every` (the service's `jobs_interval_ms`).
pub(crate) fn register(server: Server, cs: &CustomerService, every: Duration) -> Server {
    let raised = watch::Sender::new(());
    let desk = KeyDesk {
        cs: cs.clone(),
        raised: raised.clone(),
    };
    server
        .add_service(KeyServiceServer::new(desk))
        .with_task(keys::run(cs.clone(), raised, every))
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<pb::WatchKeyAlertsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl KeyService for KeyDesk {
    async fn entrust_keys(
        &self,
        request: Request<pb::EntrustKeysRequest>,
    ) -> Result<Response<pb::EntrustKeysResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let now = self.cs.clock.now();
        let (set, ids) = input::entrustment(req, &scope.property().id, scope.actor(), now)?;
        let set = keys::entrust(&self.cs, &scope, &request_id, set, ids).await?;
        Ok(Response::new(pb::EntrustKeysResponse {
            key_set: Some(set.into()),
        }))
    }

    async fn get_key_set(
        &self,
        request: Request<pb::GetKeySetRequest>,
    ) -> Result<Response<pb::GetKeySetResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let set = keys::get_key_set(&self.cs, &scope, &req.key_set_id).await?;
        Ok(Response::new(pb::GetKeySetResponse {
            key_set: Some(set.into()),
        }))
    }

    async fn list_key_sets(
        &self,
        request: Request<pb::ListKeySetsRequest>,
    ) -> Result<Response<pb::ListKeySetsResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let state = match req.state {
            0 => None,
            s => Some(
                from_proto::<pb::KeySetState, KeySetState>(s)
                    .ok_or_else(|| Error::invalid("state", "is not a key set state"))?,
            ),
        };
        let (sets, next_page_token) = keys::list_key_sets(
            &self.cs,
            &scope,
            state,
            &req.unit_id,
            req.page_size,
            &req.page_token,
        )
        .await?;
        Ok(Response::new(pb::ListKeySetsResponse {
            key_sets: sets.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn render_entrustment_form(
        &self,
        request: Request<pb::RenderEntrustmentFormRequest>,
    ) -> Result<Response<pb::RenderEntrustmentFormResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let (file_name, html) =
            keys::render_entrustment_form(&self.cs, &scope, &req.key_set_id).await?;
        Ok(Response::new(pb::RenderEntrustmentFormResponse {
            document: Some(html_document(file_name, html)),
        }))
    }

    async fn borrow_keys(
        &self,
        request: Request<pb::BorrowKeysRequest>,
    ) -> Result<Response<pb::BorrowKeysResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let now = self.cs.clock.now();
        let loan = input::loan(req, &scope.property().id, scope.actor(), now)?;
        let loan = keys::borrow(&self.cs, &scope, &request_id, loan).await?;
        Ok(Response::new(pb::BorrowKeysResponse {
            loan: Some(loan.into()),
        }))
    }

    async fn return_keys(
        &self,
        request: Request<pb::ReturnKeysRequest>,
    ) -> Result<Response<pb::ReturnKeysResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "loan_id", &req.loan_id);
        check_quantity(&mut v, "quantity", req.quantity);
        v.max_text("note", &req.note, rules::MAX_TEXT);
        v.check()?;
        let counted = CountedReturn {
            loan_id: req.loan_id,
            received: req.quantity,
            note: req.note.trim().to_owned(),
        };
        let (loan, key_return) = keys::return_keys(&self.cs, &scope, &request_id, counted).await?;
        Ok(Response::new(pb::ReturnKeysResponse {
            loan: Some(loan.into()),
            key_return: Some(key_return.into()),
        }))
    }

    async fn list_key_loans(
        &self,
        request: Request<pb::ListKeyLoansRequest>,
    ) -> Result<Response<pb::ListKeyLoansResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let filter = LoanFilter {
            key_set_id: req.key_set_id,
            open_only: req.open_only,
            overdue_only: req.overdue_only,
        };
        let (loans, next_page_token) =
            keys::list_loans(&self.cs, &scope, filter, req.page_size, &req.page_token).await?;
        Ok(Response::new(pb::ListKeyLoansResponse {
            loans: loans.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn record_key_chase(
        &self,
        request: Request<pb::RecordKeyChaseRequest>,
    ) -> Result<Response<pb::RecordKeyChaseResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let now = self.cs.clock.now();
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
        let chase = Chase {
            id: uuid::Uuid::now_v7().to_string(),
            loan_id: req.loan_id,
            method: method.unwrap_or(ChaseMethod::Phone),
            contacted: req.contacted.trim().to_owned(),
            result: req.result.trim().to_owned(),
            promised_return_at: promised,
            chased_at: now,
            chased_by: scope.actor(),
        };
        let (loan, chase) = keys::chase(&self.cs, &scope, &request_id, chase).await?;
        Ok(Response::new(pb::RecordKeyChaseResponse {
            loan: Some(loan.into()),
            chase: Some(chase.into()),
        }))
    }

    async fn collect_keys(
        &self,
        request: Request<pb::CollectKeysRequest>,
    ) -> Result<Response<pb::CollectKeysResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
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
        let claimant = Claimant {
            key_set_id: req.key_set_id,
            name: req.collector_name.trim().to_owned(),
            id_shown: id_shown.unwrap_or_else(ShownId::none),
            signer_name: req.signer_name.trim().to_owned(),
        };
        let set = keys::collect(&self.cs, &scope, &request_id, claimant).await?;
        Ok(Response::new(pb::CollectKeysResponse {
            key_set: Some(set.into()),
        }))
    }

    async fn record_custody_id(
        &self,
        request: Request<pb::RecordCustodyIdRequest>,
    ) -> Result<Response<pb::RecordCustodyIdResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        // rule KEY-9: the whole number recorded is the proof a hand-over rests on; the clerk
        // who hands keys over against it may not replace it (beside the gateway's policy).
        app::require_role(
            &scope.actor(),
            rules::ID_RECORDERS,
            "record a person's ID on a custody again",
        )?;
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
            return Err(Error::invalid("holder", "is not a person on the form").into());
        };
        let to_record = IdToRecord {
            key_set_id: req.key_set_id,
            whose,
            shown,
        };
        let (set, record) = keys::record_id(&self.cs, &scope, &request_id, to_record).await?;
        Ok(Response::new(pb::RecordCustodyIdResponse {
            key_set: Some(set.into()),
            record: Some(record.into()),
        }))
    }

    async fn list_key_refusals(
        &self,
        request: Request<pb::ListKeyRefusalsRequest>,
    ) -> Result<Response<pb::ListKeyRefusalsResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let (refusals, next_page_token) = keys::list_refusals(
            &self.cs,
            &scope,
            &req.key_set_id,
            req.page_size,
            &req.page_token,
        )
        .await?;
        Ok(Response::new(pb::ListKeyRefusalsResponse {
            refusals: refusals.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    type WatchKeyAlertsStream = AlertStream;

    async fn watch_key_alerts(
        &self,
        request: Request<pb::WatchKeyAlertsRequest>,
    ) -> Result<Response<Self::WatchKeyAlertsStream>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        if req.after_seq < 0 {
            return Err(Error::invalid("after_seq", "must not be negative").into());
        }
        let alerts = keys::watch_alerts(&self.cs, &scope, self.raised.subscribe(), req.after_seq);
        let answers = alerts.map(|alert| {
            alert
                .map(|a| pb::WatchKeyAlertsResponse {
                    alert: Some(a.into()),
                })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(answers)))
    }

    async fn audit_key_cabinet(
        &self,
        request: Request<pb::AuditKeyCabinetRequest>,
    ) -> Result<Response<pb::AuditKeyCabinetResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
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
            property_id: scope.property().id.clone(),
            audited_at: self.cs.clock.now(),
            audited_by: scope.actor(),
            slots_checked: 0,
            mismatches: Vec::new(),
            note: req.note.trim().to_owned(),
        };
        let audit = keys::audit(&self.cs, &scope, &request_id, audit, counted).await?;
        Ok(Response::new(pb::AuditKeyCabinetResponse {
            audit: Some(audit.into()),
        }))
    }

    async fn get_key_figures(
        &self,
        request: Request<pb::GetKeyFiguresRequest>,
    ) -> Result<Response<pb::GetKeyFiguresResponse>, Status> {
        let (scope, req) = self.cs.properties.scope(request)?;
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
            return Err(Error::invalid("from_month", "must be a month YYYY-MM").into());
        };
        let figures = keys::figures(&self.cs, &scope, from, to).await?;
        Ok(Response::new(pb::GetKeyFiguresResponse {
            figures: figures.into_iter().map(Into::into).collect(),
        }))
    }
}
