//! The key custody desk (KeyService): each call's scope, its request read into the domain
//! (`input`), one use case of `app::keys`, and the answer converted out.

mod input;

use std::{pin::Pin, time::Duration};

use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, document::html_document, from_proto, idempotency::RequestId, server::Server,
};
use wuye_proto::customerservice::{
    self as pb,
    key_service_server::{KeyService, KeyServiceServer},
};

use crate::{
    CustomerService,
    app::{
        self,
        keys::{self, LoanFilter},
    },
    domain::keys::{self as rules, KeySetState},
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
        let counted = input::counted_return(req)?;
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
        let chase = input::chase(req, scope.actor(), self.cs.clock.now())?;
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
        let claimant = input::claimant(req)?;
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
        let to_record = input::id_to_record(req)?;
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
        let (audit, counted) = input::audit(
            req,
            &scope.property().id,
            scope.actor(),
            self.cs.clock.now(),
        )?;
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
        let (from, to) = input::months(&req)?;
        let figures = keys::figures(&self.cs, &scope, from, to).await?;
        Ok(Response::new(pb::GetKeyFiguresResponse {
            figures: figures.into_iter().map(Into::into).collect(),
        }))
    }
}
