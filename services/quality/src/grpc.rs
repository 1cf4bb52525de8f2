//! The transport: checks the shape of requests, converts them (`crate::convert`), calls one
//! use case of `app` and converts its answer. The department's own calls read across
//! properties and take the caller; the relay's deliveries are scoped to the complaint's
//! property.

use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    identity::{self, Caller},
    page,
};
use wuye_proto::{
    customerservice::{self as cs, Count},
    quality::{
        self as pb, escalation_relay_service_server::EscalationRelayService,
        escalation_service_server::EscalationService,
    },
};

use crate::{
    Quality,
    app::{self, Listing},
    domain::{self, Delivery, MAX_ACTIONS, MAX_SOURCE, MAX_TEXT, Reason, Severity, State, Step},
};

#[tonic::async_trait]
impl EscalationService for Quality {
    async fn list_escalations(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListEscalationsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let inbox = app::inbox(self, &caller, &req.property_id)?;
        let state = match req.state {
            0 => None,
            s => Some(
                wuye_kit::from_proto::<pb::EscalationState, State>(s)
                    .ok_or_else(|| Error::invalid("state", "is not an escalation state"))?,
            ),
        };
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?;
        let listing = Listing {
            state,
            open_only: req.open_only,
            after: after.as_deref(),
            limit,
        };
        let list = app::list(self, &inbox, listing).await?;
        let next_page_token = page::next_token(&list, limit, |e| e.id.clone());
        Ok(Response::new(pb::ListEscalationsResponse {
            escalations: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn get_escalation(
        &self,
        request: Request<pb::GetEscalationRequest>,
    ) -> Result<Response<pb::GetEscalationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let escalation = app::get(self, &caller, &req.escalation_id).await?;
        Ok(Response::new(pb::GetEscalationResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn get_escalation_of_complaint(
        &self,
        request: Request<pb::GetEscalationOfComplaintRequest>,
    ) -> Result<Response<pb::GetEscalationOfComplaintResponse>, Status> {
        // The complaint's page is the property's: the call's property, as the relay's.
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.required_text("complaint_id", &req.complaint_id, 64);
        v.check()?;
        let escalation = app::of_complaint(self, &scope, &req.complaint_id).await?;
        Ok(Response::new(pb::GetEscalationOfComplaintResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn assign_escalation(
        &self,
        request: Request<pb::AssignEscalationRequest>,
    ) -> Result<Response<pb::AssignEscalationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.max_text("assignee_user_id", &req.assignee_user_id, 100);
        v.check()?;
        let (id, assignee) = (&req.escalation_id, &req.assignee_user_id);
        let escalation = app::assign(self, &caller, id, assignee).await?;
        Ok(Response::new(pb::AssignEscalationResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn request_information(
        &self,
        request: Request<pb::RequestInformationRequest>,
    ) -> Result<Response<pb::RequestInformationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.required_text("question", &req.question, MAX_TEXT);
        v.check()?;
        let step = Step::RequestInformation {
            question: req.question,
        };
        let escalation = app::step(self, &caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::RequestInformationResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn provide_information(
        &self,
        request: Request<pb::ProvideInformationRequest>,
    ) -> Result<Response<pb::ProvideInformationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.required_text("answer", &req.answer, MAX_TEXT);
        v.check()?;
        let step = Step::ProvideInformation { answer: req.answer };
        let escalation = app::step(self, &caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::ProvideInformationResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn decide_escalation(
        &self,
        request: Request<pb::DecideEscalationRequest>,
    ) -> Result<Response<pb::DecideEscalationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.required_text("decision", &req.decision, MAX_TEXT);
        if req.corrective_actions.len() > MAX_ACTIONS {
            v.add(
                "corrective_actions",
                format!("at most {MAX_ACTIONS} actions"),
            );
        }
        for (i, action) in req.corrective_actions.iter().enumerate() {
            v.required_text(&format!("corrective_actions[{i}]"), action, MAX_TEXT);
        }
        v.check()?;
        let step = Step::Decide {
            decision: req.decision,
            corrective_actions: req
                .corrective_actions
                .into_iter()
                .map(|a| a.trim().to_owned())
                .collect(),
        };
        let escalation = app::step(self, &caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::DecideEscalationResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn close_escalation(
        &self,
        request: Request<pb::CloseEscalationRequest>,
    ) -> Result<Response<pb::CloseEscalationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.max_text("note", &req.note, MAX_TEXT);
        v.check()?;
        let step = Step::Close { note: req.note };
        let escalation = app::step(self, &caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::CloseEscalationResponse {
            escalation: Some(escalation.into()),
        }))
    }

    async fn get_escalation_figures(
        &self,
        request: Request<pb::GetEscalationFiguresRequest>,
    ) -> Result<Response<pb::GetEscalationFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let (property_id, open, by_state) = app::figures(self, &caller, &req.property_id).await?;
        Ok(Response::new(pb::GetEscalationFiguresResponse {
            figures: Some(pb::EscalationFigures {
                property_id,
                open,
                by_state: by_state
                    .into_iter()
                    .map(|(key, count)| Count { key, count })
                    .collect(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl EscalationRelayService for Quality {
    async fn receive_escalation(
        &self,
        request: Request<pb::ReceiveEscalationRequest>,
    ) -> Result<Response<pb::ReceiveEscalationResponse>, Status> {
        require_service(&identity::caller(&request)?)?;
        // The relay signs each delivery for the complaint's property.
        let (scope, req) = self.properties.scope(request)?;
        let delivery = delivery(req, &scope.property().id)?;
        let (escalation, new_reason) = app::receive(self, &scope, delivery).await?;
        Ok(Response::new(pb::ReceiveEscalationResponse {
            escalation: Some(escalation.into()),
            new_reason,
        }))
    }

    async fn get_relay_position(
        &self,
        request: Request<pb::GetRelayPositionRequest>,
    ) -> Result<Response<pb::GetRelayPositionResponse>, Status> {
        require_service(&identity::caller(&request)?)?;
        let req = request.into_inner();
        let (received_seq, acknowledged_seq) = app::position(self, &req.source).await?;
        Ok(Response::new(pb::GetRelayPositionResponse {
            received_seq,
            acknowledged_seq,
        }))
    }

    async fn acknowledge_updates(
        &self,
        request: Request<pb::AcknowledgeUpdatesRequest>,
    ) -> Result<Response<pb::AcknowledgeUpdatesResponse>, Status> {
        require_service(&identity::caller(&request)?)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.required_text("source", &req.source, MAX_SOURCE);
        if req.seq <= 0 {
            v.add("seq", "must be an event's sequence number");
        }
        v.check()?;
        app::acknowledge(self, &req.source, req.seq).await?;
        Ok(Response::new(pb::AcknowledgeUpdatesResponse {}))
    }
}

/// The relay's delivery, every field checked at once.
fn delivery(req: pb::ReceiveEscalationRequest, property_id: &str) -> Result<Delivery> {
    let mut v = Violations::new();
    v.required_text("source", &req.source, MAX_SOURCE);
    v.required_text("complaint_id", &req.complaint_id, 64);
    v.max_text("category", &req.category, 200);
    v.max_text("detail", &req.detail, MAX_TEXT);
    if req.source_seq <= 0 {
        v.add("source_seq", "must be the event's sequence number");
    }
    let reason = wuye_kit::from_proto::<pb::EscalationReason, Reason>(req.reason);
    if reason.is_none() {
        v.add(
            "reason",
            "must be one of major, serious, reply overdue, unresolved, recurring",
        );
    }
    let severity = wuye_kit::from_proto::<cs::Severity, Severity>(req.severity);
    if severity.is_none() {
        v.add("severity", "must be one of minor, general, serious");
    }
    v.check()?;
    let (Some(reason), Some(severity)) = (reason, severity) else {
        unreachable!("checked above");
    };
    Ok(Delivery {
        property_id: property_id.to_owned(),
        source: req.source,
        source_seq: req.source_seq,
        complaint_id: req.complaint_id,
        complaint_number: req.complaint_number,
        severity,
        category: req.category,
        reason,
        detail: req.detail,
    })
}

/// The relay's methods are service to service: a user's identity, even a quality officer's,
/// is refused.
fn require_service(caller: &Caller) -> Result<()> {
    if caller.role == domain::SERVICE_ROLE {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            "only the escalation relay may call this method",
        ))
    }
}
