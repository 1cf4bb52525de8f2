use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    idempotency::RequestId,
    identity::{self, Actor},
    page,
    personal::PersonalData,
    properties::Property,
    time::to_timestamp,
};
use wuye_proto::customerservice::{self as pb, complaint_service_server::ComplaintService};

use super::{
    channel_from_proto, channel_to_proto, severity_from_proto, severity_to_proto, state_from_proto,
    state_to_proto,
};
use crate::{
    CustomerService,
    domain::{
        analysis::{self, Analysis, Recurrence},
        complaints::{
            self as rules, Action, Complainant, Complaint, Escalation, EscalationState, Step,
        },
        contacts::{ContactEntry, ContactKind},
        corrective::{self, CorrectiveAction, CorrectiveState},
        forms,
    },
    store::{
        complaints::{self as store, Filter, Registered},
        contacts::{self as contact_store, Logged},
        corrective::{self as corrective_store, Opened},
        units as unit_store,
    },
};

const MAX_REQUEST_ID: usize = 100;

/// The checked parts of a complaint or contact: channel and severity were valid enums.
struct Checked<T>(T);

#[tonic::async_trait]
impl ComplaintService for CustomerService {
    async fn create_complaint(
        &self,
        request: Request<pb::CreateComplaintRequest>,
    ) -> Result<Response<pb::CreateComplaintResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        check_role(&actor, Action::Register)?;

        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        let channel = channel_from_proto(req.channel);
        if channel.is_none() {
            v.add("channel", "must be one of letter, phone, fax, visit, app");
        }
        let severity = severity_from_proto(req.severity);
        if severity.is_none() {
            v.add("severity", "must be one of minor, general, serious");
        }
        let Checked(complainant) = person(
            "complainant",
            req.complainant.unwrap_or_default(),
            true,
            &mut v,
        );
        v.required_text("category", &req.category, rules::MAX_CATEGORY);
        v.required_text("description", &req.description, rules::MAX_DESCRIPTION);
        v.max_text("unit_id", &req.unit_id, 64);
        if req.contact_number < 0 {
            v.add(
                "contact_number",
                "must be a number of the call and visit log",
            );
        }
        v.check()?;
        let (Some(channel), Some(severity)) = (channel, severity) else {
            unreachable!("checked above");
        };

        let registration = rules::Registration {
            channel,
            complainant,
            unit_id: (!req.unit_id.is_empty()).then_some(req.unit_id),
            category: req.category,
            description: req.description,
            severity,
            note: String::new(),
        };
        let complaint = Complaint::register(
            uuid::Uuid::now_v7().to_string(),
            property,
            registration,
            actor,
            self.clock.now(),
        );
        let contact_number = (req.contact_number > 0).then_some(req.contact_number);
        let recurrence = Recurrence::at(
            complaint.registered_at,
            property.time_zone,
            property.rules.complaints.recurring_threshold,
        )?;
        let complaint = match store::register(
            &self.db,
            &self.outbox,
            &request_id,
            contact_number,
            complaint,
            &recurrence,
        )
        .await?
        {
            Registered::New(c) => {
                tracing::info!(property = %c.property_id, number = c.number, "complaint registered");
                *c
            }
            Registered::Retry(id) => self.complaint(&property.id, &id).await?,
        };
        Ok(Response::new(pb::CreateComplaintResponse {
            complaint: Some(to_proto(complaint)),
        }))
    }

    async fn get_complaint(
        &self,
        request: Request<pb::GetComplaintRequest>,
    ) -> Result<Response<pb::GetComplaintResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let complaint = match (req.complaint_id.is_empty(), req.number) {
            (false, 0) => self.complaint(&property.id, &req.complaint_id).await?,
            (true, n) if n > 0 => store::get_by_number(&self.db, &property.id, n)
                .await?
                .ok_or_else(|| Error::not_found("complaint number", n.to_string()))?,
            _ => {
                return Err(
                    Error::invalid("complaint_id", "give either complaint_id or number").into(),
                );
            }
        };
        Ok(Response::new(pb::GetComplaintResponse {
            complaint: Some(to_proto(complaint)),
        }))
    }

    async fn list_complaints(
        &self,
        request: Request<pb::ListComplaintsRequest>,
    ) -> Result<Response<pb::ListComplaintsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let state = state_from_proto(req.state);
        if state.is_none() && req.state != 0 {
            v.add("state", "is not a complaint state");
        }
        let severity = severity_from_proto(req.severity);
        if severity.is_none() && req.severity != 0 {
            v.add("severity", "is not a severity");
        }
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let before_number = page::decode(&req.page_token)?
            .map(|key| key.parse::<i64>())
            .transpose()
            .map_err(|_| page::bad_token())?;
        let filter = Filter {
            state,
            severity,
            before_number,
        };
        let complaints = store::list(&self.db, &property.id, &filter, limit).await?;
        let next_page_token = match complaints.last() {
            Some(last) if complaints.len() as i64 == limit => {
                page::encode(&last.number.to_string())
            }
            _ => String::new(),
        };
        Ok(Response::new(pb::ListComplaintsResponse {
            complaints: complaints.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn list_overdue_complaints(
        &self,
        request: Request<pb::ListOverdueComplaintsRequest>,
    ) -> Result<Response<pb::ListOverdueComplaintsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token)?
            .map(|key| {
                key.split_once(':')
                    .and_then(|(due, number)| Some((due.parse().ok()?, number.parse().ok()?)))
                    .ok_or_else(page::bad_token)
            })
            .transpose()?;
        let complaints =
            store::list_overdue(&self.db, &property.id, self.clock.now(), after, limit).await?;
        let next_page_token = match complaints.last() {
            Some(c) if complaints.len() as i64 == limit => page::encode(&format!(
                "{}:{}",
                wuye_kit::db::to_micros(c.reply_due_at),
                c.number
            )),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListOverdueComplaintsResponse {
            complaints: complaints.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn send_to_team(
        &self,
        request: Request<pb::SendToTeamRequest>,
    ) -> Result<Response<pb::SendToTeamResponse>, Status> {
        let req = request.get_ref();
        let mut v = Violations::new();
        v.required_text("team", &req.team, rules::MAX_TEAM);
        v.max_text("note", &req.note, rules::MAX_NOTE);
        let step = Step::SendToTeam {
            team: req.team.trim().to_owned(),
            note: req.note.clone(),
        };
        let complaint = self
            .step(&request, &req.property_id, &req.complaint_id, v, step)
            .await?;
        Ok(Response::new(pb::SendToTeamResponse { complaint }))
    }

    async fn propose_plan(
        &self,
        request: Request<pb::ProposePlanRequest>,
    ) -> Result<Response<pb::ProposePlanResponse>, Status> {
        let req = request.get_ref();
        let mut v = Violations::new();
        v.required_text("plan", &req.plan, rules::MAX_NOTE);
        v.required_text("remedial_measures", &req.remedial_measures, rules::MAX_NOTE);
        let step = Step::ProposePlan {
            plan: req.plan.clone(),
            remedial_measures: req.remedial_measures.clone(),
        };
        let complaint = self
            .step(&request, &req.property_id, &req.complaint_id, v, step)
            .await?;
        Ok(Response::new(pb::ProposePlanResponse { complaint }))
    }

    async fn confirm_plan(
        &self,
        request: Request<pb::ConfirmPlanRequest>,
    ) -> Result<Response<pb::ConfirmPlanResponse>, Status> {
        let req = request.get_ref();
        let (v, note) = note(&req.note, false);
        let complaint = self
            .step(
                &request,
                &req.property_id,
                &req.complaint_id,
                v,
                Step::ConfirmPlan { note },
            )
            .await?;
        Ok(Response::new(pb::ConfirmPlanResponse { complaint }))
    }

    async fn reject_plan(
        &self,
        request: Request<pb::RejectPlanRequest>,
    ) -> Result<Response<pb::RejectPlanResponse>, Status> {
        let req = request.get_ref();
        let mut v = Violations::new();
        v.required_text("reason", &req.reason, rules::MAX_NOTE);
        let step = Step::RejectPlan {
            reason: req.reason.clone(),
        };
        let complaint = self
            .step(&request, &req.property_id, &req.complaint_id, v, step)
            .await?;
        Ok(Response::new(pb::RejectPlanResponse { complaint }))
    }

    async fn communicate_plan(
        &self,
        request: Request<pb::CommunicatePlanRequest>,
    ) -> Result<Response<pb::CommunicatePlanResponse>, Status> {
        let req = request.get_ref();
        let (v, note) = note(&req.note, false);
        let complaint = self
            .step(
                &request,
                &req.property_id,
                &req.complaint_id,
                v,
                Step::CommunicatePlan { note },
            )
            .await?;
        Ok(Response::new(pb::CommunicatePlanResponse { complaint }))
    }

    async fn start_work(
        &self,
        request: Request<pb::StartWorkRequest>,
    ) -> Result<Response<pb::StartWorkResponse>, Status> {
        let req = request.get_ref();
        let (v, note) = note(&req.note, false);
        let complaint = self
            .step(
                &request,
                &req.property_id,
                &req.complaint_id,
                v,
                Step::StartWork { note },
            )
            .await?;
        Ok(Response::new(pb::StartWorkResponse { complaint }))
    }

    async fn urge_work(
        &self,
        request: Request<pb::UrgeWorkRequest>,
    ) -> Result<Response<pb::UrgeWorkResponse>, Status> {
        let req = request.get_ref();
        let (v, note) = note(&req.note, false);
        let complaint = self
            .step(
                &request,
                &req.property_id,
                &req.complaint_id,
                v,
                Step::UrgeWork { note },
            )
            .await?;
        Ok(Response::new(pb::UrgeWorkResponse { complaint }))
    }

    async fn report_handling(
        &self,
        request: Request<pb::ReportHandlingRequest>,
    ) -> Result<Response<pb::ReportHandlingResponse>, Status> {
        let req = request.get_ref();
        let mut v = Violations::new();
        v.required_text("report", &req.report, rules::MAX_NOTE);
        let step = Step::ReportHandling {
            report: req.report.clone(),
        };
        let complaint = self
            .step(&request, &req.property_id, &req.complaint_id, v, step)
            .await?;
        Ok(Response::new(pb::ReportHandlingResponse { complaint }))
    }

    async fn tell_result(
        &self,
        request: Request<pb::TellResultRequest>,
    ) -> Result<Response<pb::TellResultResponse>, Status> {
        let req = request.get_ref();
        let (v, note) = note(&req.note, false);
        let complaint = self
            .step(
                &request,
                &req.property_id,
                &req.complaint_id,
                v,
                Step::TellResult { note },
            )
            .await?;
        Ok(Response::new(pb::TellResultResponse { complaint }))
    }

    async fn record_customer_verdict(
        &self,
        request: Request<pb::RecordCustomerVerdictRequest>,
    ) -> Result<Response<pb::RecordCustomerVerdictResponse>, Status> {
        let req = request.get_ref();
        let mut v = Violations::new();
        if req.satisfied {
            v.max_text("comment", &req.comment, rules::MAX_NOTE);
        } else {
            // The reason goes back to the team with the complaint.
            v.required_text("comment", &req.comment, rules::MAX_NOTE);
        }
        let step = Step::Verdict {
            satisfied: req.satisfied,
            comment: req.comment.clone(),
        };
        let complaint = self
            .step(&request, &req.property_id, &req.complaint_id, v, step)
            .await?;
        Ok(Response::new(pb::RecordCustomerVerdictResponse {
            complaint,
        }))
    }

    async fn mark_major(
        &self,
        request: Request<pb::MarkMajorRequest>,
    ) -> Result<Response<pb::MarkMajorResponse>, Status> {
        let req = request.get_ref();
        let mut v = Violations::new();
        v.required_text("reason", &req.reason, rules::MAX_NOTE);
        let step = Step::MarkMajor {
            reason: req.reason.clone(),
        };
        let complaint = self
            .step(&request, &req.property_id, &req.complaint_id, v, step)
            .await?;
        Ok(Response::new(pb::MarkMajorResponse { complaint }))
    }

    async fn record_escalation_state(
        &self,
        request: Request<pb::RecordEscalationStateRequest>,
    ) -> Result<Response<pb::RecordEscalationStateResponse>, Status> {
        let caller = identity::caller(&request)?;
        require_escalation_recorder(&caller)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let state = escalation_state_from_proto(req.state);
        if state.is_none() {
            v.add("state", "is not an escalation state");
        }
        v.max_text("decision", &req.decision, rules::MAX_NOTE);
        v.check()?;
        let escalation = Escalation {
            state: state.unwrap_or(EscalationState::Received),
            decision: req.decision,
            updated_at: self.clock.now(),
        };
        store::record_escalation(&self.db, &property.id, &req.complaint_id, &escalation).await?;
        let complaint = self.complaint(&property.id, &req.complaint_id).await?;
        Ok(Response::new(pb::RecordEscalationStateResponse {
            complaint: Some(to_proto(complaint)),
        }))
    }

    async fn render_complaint_form(
        &self,
        request: Request<pb::RenderComplaintFormRequest>,
    ) -> Result<Response<pb::RenderComplaintFormResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut complaint = self.complaint(&property.id, &req.complaint_id).await?;
        // A printed form shows what the answer would (ARC-11).
        let phone = &mut complaint.complainant.phone;
        *phone = caller.shown().show(PersonalData::Phone, phone);
        let unit_label = match &complaint.unit_id {
            Some(id) => unit_store::get(&self.db, &property.id, id)
                .await?
                .map(|u| u.label()),
            None => None,
        };
        let html = forms::render_complaint_form(
            &complaint,
            &property.name,
            unit_label.as_deref(),
            property.time_zone,
            self.clock.now(),
        );
        let file_name = format!("客户投诉处理表-{}-{}.html", property.id, complaint.number);
        Ok(Response::new(pb::RenderComplaintFormResponse {
            document: Some(wuye_kit::document::html_document(file_name, html)),
        }))
    }

    async fn get_complaint_analysis(
        &self,
        request: Request<pb::GetComplaintAnalysisRequest>,
    ) -> Result<Response<pb::GetComplaintAnalysisResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        if !(2000..=2100).contains(&req.year) {
            return Err(Error::invalid("year", "must be between 2000 and 2100").into());
        }
        let (from, to) = analysis::period(req.year, req.half, property.time_zone)?;
        let facts = store::facts(&self.db, &property.id, from, to).await?;
        let threshold = property.rules.complaints.recurring_threshold as usize;
        let a = analysis::analyse(&facts, self.clock.now(), threshold);
        Ok(Response::new(pb::GetComplaintAnalysisResponse {
            analysis: Some(analysis_to_proto(a, from, to)),
        }))
    }

    async fn log_contact(
        &self,
        request: Request<pb::LogContactRequest>,
    ) -> Result<Response<pb::LogContactResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        let channel = channel_from_proto(req.channel);
        if channel.is_none() {
            v.add("channel", "must be one of letter, phone, fax, visit, app");
        }
        let kind = contact_kind_from_proto(req.kind);
        match kind {
            None => v.add("kind", "must be inquiry, repair, suggestion or praise"),
            Some(ContactKind::Complaint) => {
                v.add("kind", "a complaint is registered with CreateComplaint")
            }
            Some(_) => {}
        }
        let Checked(caller_person) =
            person("caller", req.caller.unwrap_or_default(), false, &mut v);
        v.required_text("summary", &req.summary, rules::MAX_DESCRIPTION);
        v.max_text("unit_id", &req.unit_id, 64);
        v.check()?;
        let entry = ContactEntry {
            property_id: property.id.clone(),
            number: 0,
            channel: channel.unwrap_or(rules::Channel::Phone),
            kind: kind.unwrap_or(ContactKind::Inquiry),
            caller: caller_person,
            unit_id: (!req.unit_id.is_empty()).then_some(req.unit_id),
            summary: req.summary,
            registered_at: self.clock.now(),
            registered_by: caller.actor(),
            complaint_id: None,
        };
        let entry = match contact_store::log(&self.db, &request_id, entry).await? {
            Logged::New(entry) => *entry,
            Logged::Retry(number) => contact_store::get(&self.db, &property.id, number)
                .await?
                .ok_or_else(|| Error::not_found("contact", number.to_string()))?,
        };
        Ok(Response::new(pb::LogContactResponse {
            entry: Some(contact_to_proto(entry)),
        }))
    }

    async fn list_contact_log(
        &self,
        request: Request<pb::ListContactLogRequest>,
    ) -> Result<Response<pb::ListContactLogResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::decode(&req.page_token)?
            .map(|k| k.parse::<i64>().map_err(|_| page::bad_token()))
            .transpose()?;
        let entries = contact_store::list(&self.db, &property.id, before, limit).await?;
        let next_page_token = match entries.last() {
            Some(e) if entries.len() as i64 == limit => page::encode(&e.number.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListContactLogResponse {
            entries: entries.into_iter().map(contact_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn open_corrective_action(
        &self,
        request: Request<pb::OpenCorrectiveActionRequest>,
    ) -> Result<Response<pb::OpenCorrectiveActionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("complaint_id", &req.complaint_id, 64);
        v.required_text("problem", &req.problem, rules::MAX_NOTE);
        v.check()?;
        let action = CorrectiveAction {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            complaint_id: req.complaint_id,
            state: CorrectiveState::Open,
            problem: req.problem,
            opened_by: caller.actor(),
            opened_at: self.clock.now(),
            measures: String::new(),
            acted: None,
            effective: false,
            verification: String::new(),
            verified: None,
        };
        let action = match corrective_store::open(&self.db, &request_id, action).await? {
            Opened::New(a) => *a,
            Opened::Retry(id) => corrective_store::get(&self.db, &property.id, &id)
                .await?
                .ok_or_else(|| Error::not_found("corrective action", id))?,
        };
        Ok(Response::new(pb::OpenCorrectiveActionResponse {
            action: Some(corrective_to_proto(action)),
        }))
    }

    async fn record_corrective_measures(
        &self,
        request: Request<pb::RecordCorrectiveMeasuresRequest>,
    ) -> Result<Response<pb::RecordCorrectiveMeasuresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("measures", &req.measures, rules::MAX_NOTE);
        v.check()?;
        let (actor, now) = (caller.actor(), self.clock.now());
        let action = corrective_store::change(&self.db, &property.id, &req.action_id, |a| {
            corrective::act(a, req.measures.clone(), &actor, now)
        })
        .await?;
        Ok(Response::new(pb::RecordCorrectiveMeasuresResponse {
            action: Some(corrective_to_proto(action)),
        }))
    }

    async fn verify_corrective_action(
        &self,
        request: Request<pb::VerifyCorrectiveActionRequest>,
    ) -> Result<Response<pb::VerifyCorrectiveActionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.required_text("verification", &req.verification, rules::MAX_NOTE);
        v.check()?;
        let (actor, now) = (caller.actor(), self.clock.now());
        let action = corrective_store::change(&self.db, &property.id, &req.action_id, |a| {
            corrective::verify(a, req.effective, req.verification.clone(), &actor, now)
        })
        .await?;
        Ok(Response::new(pb::VerifyCorrectiveActionResponse {
            action: Some(corrective_to_proto(action)),
        }))
    }

    async fn list_corrective_actions(
        &self,
        request: Request<pb::ListCorrectiveActionsRequest>,
    ) -> Result<Response<pb::ListCorrectiveActionsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::decode(&req.page_token)?;
        let actions = corrective_store::list(
            &self.db,
            &property.id,
            req.open_only,
            before.as_deref(),
            limit,
        )
        .await?;
        let next_page_token = match actions.last() {
            Some(a) if actions.len() as i64 == limit => page::encode(&a.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCorrectiveActionsResponse {
            actions: actions.into_iter().map(corrective_to_proto).collect(),
            next_page_token,
        }))
    }
}

impl CustomerService {
    async fn complaint(&self, property_id: &str, id: &str) -> Result<Complaint> {
        store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("complaint", id))
    }

    /// Takes a step of a complaint's life for the verified caller, after the request's own
    /// checks in `v`.
    async fn step<T>(
        &self,
        request: &Request<T>,
        property_id: &str,
        complaint_id: &str,
        mut v: Violations,
        step: Step,
    ) -> Result<Option<pb::Complaint>> {
        let caller = identity::caller(request)?;
        let property: &Property = self.properties.for_call(&caller, property_id)?;
        v.required_text("complaint_id", complaint_id, 64);
        v.check()?;
        let actor = caller.actor();
        let complaint = store::take_step(
            &self.db,
            &self.outbox,
            &property.id,
            complaint_id,
            step,
            &actor,
            self.clock.now(),
        )
        .await?;
        Ok(Some(to_proto(complaint)))
    }
}

/// The service's own check of who may take a step, beside the gateway's policy.
fn check_role(actor: &Actor, action: Action) -> Result<()> {
    if rules::roles_for(action).contains(&actor.role.as_str()) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("role {} may not do this", actor.role),
        ))
    }
}

/// An optional note of at most the usual length.
fn note(text: &str, required: bool) -> (Violations, String) {
    let mut v = Violations::new();
    if required {
        v.required_text("note", text, rules::MAX_NOTE);
    } else {
        v.max_text("note", text, rules::MAX_NOTE);
    }
    (v, text.to_owned())
}

/// A complainant or caller: a name (required for complaints) and a plausible phone.
fn person(
    field: &str,
    p: pb::Complainant,
    name_required: bool,
    v: &mut Violations,
) -> Checked<Complainant> {
    if name_required {
        v.required_text(&format!("{field}.name"), &p.name, rules::MAX_NAME);
    } else {
        v.max_text(&format!("{field}.name"), &p.name, rules::MAX_NAME);
    }
    if !p.phone.is_empty() && !crate::domain::is_plausible_phone(&p.phone) {
        v.add(&format!("{field}.phone"), "is not a phone number");
    }
    v.max_text(&format!("{field}.phone"), &p.phone, rules::MAX_PHONE);
    Checked(Complainant {
        name: p.name.trim().to_owned(),
        phone: p.phone.trim().to_owned(),
    })
}

/// ESC-3: the quality department's handling arrives through the gateway's relay (the internal
/// identity of role "service") or from a quality officer; nobody else records it.
fn require_escalation_recorder(caller: &identity::Caller) -> Result<()> {
    match caller.role.as_str() {
        "service" | "quality_officer" => Ok(()),
        role => Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("role {role} may not record the quality department's handling"),
        )),
    }
}

fn escalation_state_from_proto(value: i32) -> Option<EscalationState> {
    match pb::EscalationState::try_from(value).ok()? {
        pb::EscalationState::Unspecified => None,
        pb::EscalationState::Received => Some(EscalationState::Received),
        pb::EscalationState::Assigned => Some(EscalationState::Assigned),
        pb::EscalationState::InformationRequested => Some(EscalationState::InformationRequested),
        pb::EscalationState::Decided => Some(EscalationState::Decided),
        pb::EscalationState::Closed => Some(EscalationState::Closed),
    }
}

fn escalation_state_to_proto(state: EscalationState) -> pb::EscalationState {
    match state {
        EscalationState::Received => pb::EscalationState::Received,
        EscalationState::Assigned => pb::EscalationState::Assigned,
        EscalationState::InformationRequested => pb::EscalationState::InformationRequested,
        EscalationState::Decided => pb::EscalationState::Decided,
        EscalationState::Closed => pb::EscalationState::Closed,
    }
}

fn action_to_proto(action: Action) -> pb::StepAction {
    match action {
        Action::Register => pb::StepAction::Register,
        Action::SendToTeam => pb::StepAction::SendToTeam,
        Action::ProposePlan => pb::StepAction::ProposePlan,
        Action::ConfirmPlan => pb::StepAction::ConfirmPlan,
        Action::RejectPlan => pb::StepAction::RejectPlan,
        Action::CommunicatePlan => pb::StepAction::CommunicatePlan,
        Action::StartWork => pb::StepAction::StartWork,
        Action::UrgeWork => pb::StepAction::UrgeWork,
        Action::ReportHandling => pb::StepAction::ReportHandling,
        Action::TellResult => pb::StepAction::TellResult,
        Action::CustomerSatisfied => pb::StepAction::CustomerSatisfied,
        Action::CustomerDissatisfied => pb::StepAction::CustomerDissatisfied,
        Action::MarkMajor => pb::StepAction::MarkMajor,
    }
}

fn contact_kind_from_proto(value: i32) -> Option<ContactKind> {
    match pb::ContactKind::try_from(value).ok()? {
        pb::ContactKind::Unspecified => None,
        pb::ContactKind::Inquiry => Some(ContactKind::Inquiry),
        pb::ContactKind::Repair => Some(ContactKind::Repair),
        pb::ContactKind::Suggestion => Some(ContactKind::Suggestion),
        pb::ContactKind::Praise => Some(ContactKind::Praise),
        pb::ContactKind::Complaint => Some(ContactKind::Complaint),
    }
}

fn contact_kind_to_proto(kind: ContactKind) -> pb::ContactKind {
    match kind {
        ContactKind::Inquiry => pb::ContactKind::Inquiry,
        ContactKind::Repair => pb::ContactKind::Repair,
        ContactKind::Suggestion => pb::ContactKind::Suggestion,
        ContactKind::Praise => pb::ContactKind::Praise,
        ContactKind::Complaint => pb::ContactKind::Complaint,
    }
}

fn to_proto(c: Complaint) -> pb::Complaint {
    pb::Complaint {
        id: c.id,
        property_id: c.property_id,
        number: c.number,
        channel: channel_to_proto(c.channel).into(),
        complainant: Some(pb::Complainant {
            name: c.complainant.name,
            phone: c.complainant.phone,
        }),
        unit_id: c.unit_id.unwrap_or_default(),
        category: c.category,
        description: c.description,
        severity: severity_to_proto(c.severity).into(),
        state: state_to_proto(c.state).into(),
        register_time: Some(to_timestamp(c.registered_at)),
        reply_due_time: Some(to_timestamp(c.reply_due_at)),
        registered_by: Some(c.registered_by.to_proto()),
        team: c.team,
        plan: c.plan,
        remedial_measures: c.remedial_measures,
        handling_report: c.handling_report,
        reply_time: c.replied_at.map(to_timestamp),
        close_time: c.closed_at.map(to_timestamp),
        results_told: c.results_told as i32,
        major: c.major.is_some(),
        major_reason: c.major.unwrap_or_default(),
        escalation: c.escalation.map(|e| pb::Escalation {
            state: escalation_state_to_proto(e.state).into(),
            decision: e.decision,
            update_time: Some(to_timestamp(e.updated_at)),
        }),
        steps: c
            .steps
            .into_iter()
            .map(|s| pb::ComplaintStep {
                seq: s.seq as i32,
                action: action_to_proto(s.action).into(),
                from_state: state_to_proto(s.from).into(),
                to_state: state_to_proto(s.to).into(),
                actor: Some(s.actor.to_proto()),
                time: Some(to_timestamp(s.at)),
                note: s.note,
            })
            .collect(),
    }
}

fn contact_to_proto(e: ContactEntry) -> pb::ContactEntry {
    pb::ContactEntry {
        property_id: e.property_id,
        number: e.number,
        channel: channel_to_proto(e.channel).into(),
        kind: contact_kind_to_proto(e.kind).into(),
        caller: Some(pb::Complainant {
            name: e.caller.name,
            phone: e.caller.phone,
        }),
        unit_id: e.unit_id.unwrap_or_default(),
        summary: e.summary,
        register_time: Some(to_timestamp(e.registered_at)),
        registered_by: Some(e.registered_by.to_proto()),
        complaint_id: e.complaint_id.unwrap_or_default(),
    }
}

fn corrective_to_proto(a: CorrectiveAction) -> pb::CorrectiveAction {
    let done = |d: Option<(Actor, DateTime<Utc>)>| match d {
        Some((actor, at)) => (Some(actor.to_proto()), Some(to_timestamp(at))),
        None => (None, None),
    };
    let (acted_by, act_time) = done(a.acted);
    let (verified_by, verify_time) = done(a.verified);
    pb::CorrectiveAction {
        id: a.id,
        property_id: a.property_id,
        complaint_id: a.complaint_id,
        state: match a.state {
            CorrectiveState::Open => pb::CorrectiveActionState::Open,
            CorrectiveState::Acted => pb::CorrectiveActionState::Acted,
            CorrectiveState::Verified => pb::CorrectiveActionState::Verified,
        }
        .into(),
        problem: a.problem,
        opened_by: Some(a.opened_by.to_proto()),
        open_time: Some(to_timestamp(a.opened_at)),
        measures: a.measures,
        acted_by,
        act_time,
        effective: a.effective,
        verification: a.verification,
        verified_by,
        verify_time,
    }
}

fn analysis_to_proto(a: Analysis, from: DateTime<Utc>, to: DateTime<Utc>) -> pb::ComplaintAnalysis {
    let counts = |m: Vec<(String, i64)>| {
        m.into_iter()
            .map(|(key, count)| pb::Count { key, count })
            .collect()
    };
    pb::ComplaintAnalysis {
        period_start: Some(to_timestamp(from)),
        period_end: Some(to_timestamp(to)),
        total: a.total,
        reply_on_time_rate: a.reply_on_time_rate(),
        satisfied_first_time_rate: a.satisfied_first_time_rate(),
        by_category: counts(a.by_category.into_iter().collect()),
        by_severity: counts(
            a.by_severity
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ),
        by_channel: counts(
            a.by_channel
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ),
        by_state: counts(
            a.by_state
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        ),
        replies_due: a.replies_due,
        replies_on_time: a.replies_on_time,
        mean_hours_to_reply: a.mean_hours_to_reply,
        mean_hours_to_close: a.mean_hours_to_close,
        closed: a.closed,
        closed_first_time: a.closed_first_time,
        recurring: a
            .recurring
            .into_iter()
            .map(|r| pb::RecurringProblem {
                category: r.category,
                building: r.building,
                unit_id: r.unit_id.unwrap_or_default(),
                complaint_numbers: r.numbers,
            })
            .collect(),
    }
}
