//! The transport: checks callers and requests and converts between protobuf and domain types.
//! The rules live in `domain`, the SQL in `store`.

use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    identity::{self, Actor, Caller},
    page,
    time::to_timestamp,
};
use wuye_proto::{
    customerservice::{Count, Severity},
    quality::{
        self as pb, escalation_relay_service_server::EscalationRelayService,
        escalation_service_server::EscalationService,
    },
};

use crate::{
    Quality,
    domain::{self, Escalation, MAX_ACTIONS, MAX_SOURCE, MAX_TEXT, Reason, State, Step},
    store::{self, Delivery, Filter},
};

#[tonic::async_trait]
impl EscalationService for Quality {
    async fn list_escalations(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListEscalationsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let headquarters = domain::HEADQUARTERS_ROLES.contains(&caller.role.as_str());
        // Property roles see their own property only, and must name it.
        let property = if req.property_id.is_empty() && headquarters {
            None
        } else {
            Some(self.readable_property(&caller, &req.property_id)?)
        };
        let state = match req.state {
            0 => None,
            s => Some(
                state_from_proto(s)
                    .ok_or_else(|| Error::invalid("state", "is not an escalation state"))?,
            ),
        };
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token)?;
        let filter = Filter {
            property_id: property.as_deref(),
            state,
            open_only: req.open_only,
        };
        let list = store::list(&self.db, &filter, after.as_deref(), limit).await?;
        let next_page_token = if list.len() as i64 == limit {
            list.last().map(|e| page::encode(&e.id)).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListEscalationsResponse {
            escalations: list.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn get_escalation(
        &self,
        request: Request<pb::GetEscalationRequest>,
    ) -> Result<Response<pb::GetEscalationResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let escalation = self.readable(&caller, &req.escalation_id).await?;
        Ok(Response::new(pb::GetEscalationResponse {
            escalation: Some(to_proto(escalation)),
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
        v.max_text("assignee_name", &req.assignee_name, 100);
        v.check()?;
        let assignee = if req.assignee_user_id.is_empty() {
            caller.actor()
        } else {
            Actor {
                user_id: req.assignee_user_id,
                name: req.assignee_name,
                role: domain::QUALITY_OFFICER.to_owned(),
            }
        };
        let step = Step::Assign { assignee };
        let escalation = self.step(&caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::AssignEscalationResponse {
            escalation: Some(escalation),
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
        let escalation = self.step(&caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::RequestInformationResponse {
            escalation: Some(escalation),
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
        let escalation = self.step(&caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::ProvideInformationResponse {
            escalation: Some(escalation),
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
        let escalation = self.step(&caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::DecideEscalationResponse {
            escalation: Some(escalation),
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
        let escalation = self.step(&caller, &req.escalation_id, step).await?;
        Ok(Response::new(pb::CloseEscalationResponse {
            escalation: Some(escalation),
        }))
    }

    async fn get_escalation_figures(
        &self,
        request: Request<pb::GetEscalationFiguresRequest>,
    ) -> Result<Response<pb::GetEscalationFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.readable_property(&caller, &req.property_id)?;
        let (open, by_state) = store::figures(&self.db, &property).await?;
        Ok(Response::new(pb::GetEscalationFiguresResponse {
            figures: Some(pb::EscalationFigures {
                property_id: property,
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
        let caller = identity::caller(&request)?;
        require_service(&caller)?;
        let req = request.into_inner();
        // The relay signs each delivery for the complaint's property.
        self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("source", &req.source, MAX_SOURCE);
        v.required_text("complaint_id", &req.complaint_id, 64);
        v.max_text("category", &req.category, 200);
        v.max_text("detail", &req.detail, MAX_TEXT);
        if req.source_seq <= 0 {
            v.add("source_seq", "must be the event's sequence number");
        }
        let reason = reason_from_proto(req.reason);
        if reason.is_none() {
            v.add(
                "reason",
                "must be one of major, serious, reply overdue, unresolved, recurring",
            );
        }
        let severity = match Severity::try_from(req.severity) {
            Ok(Severity::Minor) => "minor",
            Ok(Severity::General) => "general",
            Ok(Severity::Serious) => "serious",
            _ => {
                v.add("severity", "must be one of minor, general, serious");
                ""
            }
        };
        v.check()?;
        let Some(reason) = reason else {
            unreachable!("checked above");
        };
        let delivery = Delivery {
            property_id: req.property_id,
            source: req.source,
            source_seq: req.source_seq,
            complaint_id: req.complaint_id,
            complaint_number: req.complaint_number,
            severity: severity.to_owned(),
            category: req.category,
            reason,
            detail: req.detail,
        };
        let now = self.clock.now();
        let (id, new_reason) = store::receive(&self.db, &self.outbox, &delivery, now).await?;
        if new_reason {
            tracing::info!(
                property = %delivery.property_id,
                complaint_number = delivery.complaint_number,
                reason = reason.code(),
                "escalation received"
            );
        }
        let escalation = store::get(&self.db, &id).await?;
        Ok(Response::new(pb::ReceiveEscalationResponse {
            escalation: Some(to_proto(escalation)),
            new_reason,
        }))
    }

    async fn get_relay_position(
        &self,
        request: Request<pb::GetRelayPositionRequest>,
    ) -> Result<Response<pb::GetRelayPositionResponse>, Status> {
        require_service(&identity::caller(&request)?)?;
        let req = request.into_inner();
        let (received_seq, acknowledged_seq) = store::position(&self.db, &req.source).await?;
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
        store::acknowledge(&self.db, &req.source, req.seq).await?;
        Ok(Response::new(pb::AcknowledgeUpdatesResponse {}))
    }
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

impl Quality {
    /// The property whose escalations the caller may read: the message's, which must be the
    /// call's unless the caller is from headquarters.
    fn readable_property(&self, caller: &Caller, property_id: &str) -> Result<String> {
        if property_id.is_empty() {
            return Err(Error::invalid("property_id", "must not be empty"));
        }
        if !domain::may_read(&caller.role, caller.property.as_deref(), property_id) {
            return Err(Error::permission_denied(
                "PROPERTY_MISMATCH",
                "property_id is not the property this call was authorized for",
            ));
        }
        Ok(self.properties.get(property_id)?.id.clone())
    }

    /// The escalation `id` if the caller may read it; another property's is "not found", so
    /// its existence does not leak.
    async fn readable(&self, caller: &Caller, id: &str) -> Result<Escalation> {
        if id.is_empty() {
            return Err(Error::invalid("escalation_id", "must not be empty"));
        }
        let escalation = store::get(&self.db, id).await?;
        if !domain::may_read(
            &caller.role,
            caller.property.as_deref(),
            &escalation.property_id,
        ) {
            return Err(Error::not_found("escalation", id));
        }
        Ok(escalation)
    }

    async fn step(&self, caller: &Caller, id: &str, step: Step) -> Result<pb::Escalation> {
        domain::check_role(&caller.role, &step)?;
        self.readable(caller, id).await?;
        let now = self.clock.now();
        let escalation =
            store::apply(&self.db, &self.outbox, id, &step, &caller.actor(), now).await?;
        tracing::info!(
            property = %escalation.property_id,
            complaint_number = escalation.complaint_number,
            state = escalation.state.code(),
            "escalation handled"
        );
        Ok(to_proto(escalation))
    }
}

fn reason_from_proto(value: i32) -> Option<Reason> {
    match pb::EscalationReason::try_from(value).ok()? {
        pb::EscalationReason::Unspecified => None,
        pb::EscalationReason::Major => Some(Reason::Major),
        pb::EscalationReason::Serious => Some(Reason::Serious),
        pb::EscalationReason::ReplyOverdue => Some(Reason::ReplyOverdue),
        pb::EscalationReason::Unresolved => Some(Reason::Unresolved),
        pb::EscalationReason::Recurring => Some(Reason::Recurring),
    }
}

fn reason_to_proto(reason: Reason) -> pb::EscalationReason {
    match reason {
        Reason::Major => pb::EscalationReason::Major,
        Reason::Serious => pb::EscalationReason::Serious,
        Reason::ReplyOverdue => pb::EscalationReason::ReplyOverdue,
        Reason::Unresolved => pb::EscalationReason::Unresolved,
        Reason::Recurring => pb::EscalationReason::Recurring,
    }
}

fn state_from_proto(value: i32) -> Option<State> {
    match pb::EscalationState::try_from(value).ok()? {
        pb::EscalationState::Unspecified => None,
        pb::EscalationState::Received => Some(State::Received),
        pb::EscalationState::Assigned => Some(State::Assigned),
        pb::EscalationState::InformationRequested => Some(State::InformationRequested),
        pb::EscalationState::Decided => Some(State::Decided),
        pb::EscalationState::Closed => Some(State::Closed),
    }
}

pub(crate) fn state_to_proto(state: State) -> pb::EscalationState {
    match state {
        State::Received => pb::EscalationState::Received,
        State::Assigned => pb::EscalationState::Assigned,
        State::InformationRequested => pb::EscalationState::InformationRequested,
        State::Decided => pb::EscalationState::Decided,
        State::Closed => pb::EscalationState::Closed,
    }
}

fn severity_to_proto(code: &str) -> Severity {
    match code {
        "minor" => Severity::Minor,
        "general" => Severity::General,
        "serious" => Severity::Serious,
        _ => Severity::Unspecified,
    }
}

fn actor_to_proto(actor: &Actor) -> wuye_proto::common::Actor {
    actor.to_proto()
}

fn to_proto(e: Escalation) -> pb::Escalation {
    pb::Escalation {
        id: e.id,
        property_id: e.property_id,
        complaint_id: e.complaint_id,
        complaint_number: e.complaint_number,
        severity: severity_to_proto(&e.severity).into(),
        category: e.category,
        state: state_to_proto(e.state).into(),
        reasons: e
            .reasons
            .into_iter()
            .map(|r| pb::ReasonReceived {
                reason: reason_to_proto(r.reason).into(),
                detail: r.detail,
                receive_time: Some(to_timestamp(r.received_at)),
                source: r.source,
                source_seq: r.source_seq,
            })
            .collect(),
        receive_time: Some(to_timestamp(e.received_at)),
        assignee: e.assignee.as_ref().map(|(a, _)| actor_to_proto(a)),
        assign_time: e.assignee.as_ref().map(|(_, at)| to_timestamp(*at)),
        information_requests: e
            .information
            .into_iter()
            .map(|i| {
                let (answer, answered_by, answer_time) = match i.answer {
                    Some((text, by, at)) => (text, Some(by.to_proto()), Some(to_timestamp(at))),
                    None => (String::new(), None, None),
                };
                pb::InformationRequest {
                    seq: i.seq as i32,
                    question: i.question,
                    asked_by: Some(i.asked_by.to_proto()),
                    ask_time: Some(to_timestamp(i.asked_at)),
                    answer,
                    answered_by,
                    answer_time,
                }
            })
            .collect(),
        decision: e.decision,
        corrective_actions: e.corrective_actions,
        decided_by: e.decided.as_ref().map(|(a, _)| actor_to_proto(a)),
        decide_time: e.decided.as_ref().map(|(_, at)| to_timestamp(*at)),
        close_note: e.close_note,
        closed_by: e.closed.as_ref().map(|(a, _)| actor_to_proto(a)),
        close_time: e.closed.as_ref().map(|(_, at)| to_timestamp(*at)),
        update_time: Some(to_timestamp(e.updated_at)),
    }
}
