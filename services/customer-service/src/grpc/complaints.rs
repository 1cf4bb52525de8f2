//! ComplaintService: complaints, the call and visit log and corrective actions. Each handler
//! establishes the call's scope, checks the shape of its request, calls its use case in
//! `app` and converts the answer.

use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations, from_proto,
    idempotency::RequestId,
    identity::{self, Actor},
    page,
};
use wuye_proto::customerservice::{self as pb, complaint_service_server::ComplaintService};

use crate::{
    CustomerService,
    app::{complaints as app, contacts as contact_app, corrective as corrective_app},
    domain::{
        complaints::{
            self as rules, Action, Channel, Complainant, EscalationState, Filter, Query,
            Registration, ReplyDue, Severity, State, Step,
            filter::{MAX_DUE_WITHIN_HOURS, MAX_QUERY},
        },
        contacts::{Contact, ContactKind},
        normalize_phone, units,
    },
};

const MAX_REQUEST_ID: usize = 100;

/// The service from a table. The steps of a complaint's life (CMP-5) are each declared once:
/// its RPC, its messages, and the checks and domain [`Step`] of its request (`$r`, its
/// violations `$v`); the handler establishes the scope, requires the complaint id after the
/// step's own checks, and takes the step. Any other RPC calls the function named.
macro_rules! complaint_service {
    (
        steps { $($rpc:ident($req:ident) -> $resp:ident |$r:ident, $v:ident| $step:block)+ }
        calls { $($call:ident($call_req:ident) -> $call_resp:ident = $handler:ident;)+ }
    ) => {
        #[tonic::async_trait]
        impl ComplaintService for CustomerService {
            $(
                async fn $rpc(
                    &self,
                    request: Request<pb::$req>,
                ) -> Result<Response<pb::$resp>, Status> {
                    let (scope, $r) = self.properties.scope(request)?;
                    let mut $v = Violations::new();
                    let step: Step = $step;
                    $v.required_text("complaint_id", &$r.complaint_id, 64);
                    $v.check()?;
                    let complaint = app::take_step(self, &scope, &$r.complaint_id, step).await?;
                    Ok(Response::new(pb::$resp {
                        complaint: Some(complaint.into()),
                    }))
                }
            )+
            $(
                async fn $call(
                    &self,
                    request: Request<pb::$call_req>,
                ) -> Result<Response<pb::$call_resp>, Status> {
                    $handler(self, request).await
                }
            )+
        }
    };
}

complaint_service! {
    steps {
        send_to_team(SendToTeamRequest) -> SendToTeamResponse |r, v| {
            v.required_text("team", &r.team, rules::MAX_TEAM);
            v.max_text("note", &r.note, rules::MAX_NOTE);
            Step::SendToTeam { team: r.team.trim().to_owned(), note: r.note.clone() }
        }
        propose_plan(ProposePlanRequest) -> ProposePlanResponse |r, v| {
            v.required_text("plan", &r.plan, rules::MAX_NOTE);
            v.required_text("remedial_measures", &r.remedial_measures, rules::MAX_NOTE);
            Step::ProposePlan {
                plan: r.plan.clone(),
                remedial_measures: r.remedial_measures.clone(),
            }
        }
        confirm_plan(ConfirmPlanRequest) -> ConfirmPlanResponse |r, v| {
            Step::ConfirmPlan { note: note(&mut v, &r.note) }
        }
        reject_plan(RejectPlanRequest) -> RejectPlanResponse |r, v| {
            v.required_text("reason", &r.reason, rules::MAX_NOTE);
            Step::RejectPlan { reason: r.reason.clone() }
        }
        communicate_plan(CommunicatePlanRequest) -> CommunicatePlanResponse |r, v| {
            Step::CommunicatePlan { note: note(&mut v, &r.note) }
        }
        start_work(StartWorkRequest) -> StartWorkResponse |r, v| {
            Step::StartWork { note: note(&mut v, &r.note) }
        }
        urge_work(UrgeWorkRequest) -> UrgeWorkResponse |r, v| {
            Step::UrgeWork { note: note(&mut v, &r.note) }
        }
        report_handling(ReportHandlingRequest) -> ReportHandlingResponse |r, v| {
            v.required_text("report", &r.report, rules::MAX_NOTE);
            Step::ReportHandling { report: r.report.clone() }
        }
        tell_result(TellResultRequest) -> TellResultResponse |r, v| {
            Step::TellResult { note: note(&mut v, &r.note) }
        }
        record_customer_verdict(RecordCustomerVerdictRequest)
            -> RecordCustomerVerdictResponse |r, v| {
            if r.satisfied {
                v.max_text("comment", &r.comment, rules::MAX_NOTE);
            } else {
                // The reason goes back to the team with the complaint.
                v.required_text("comment", &r.comment, rules::MAX_NOTE);
            }
            Step::Verdict { satisfied: r.satisfied, comment: r.comment.clone() }
        }
        mark_major(MarkMajorRequest) -> MarkMajorResponse |r, v| {
            v.required_text("reason", &r.reason, rules::MAX_NOTE);
            Step::MarkMajor { reason: r.reason.clone() }
        }
    }

    calls {
        create_complaint(CreateComplaintRequest) -> CreateComplaintResponse = create_complaint;
        get_complaint(GetComplaintRequest) -> GetComplaintResponse = get_complaint;
        list_complaints(ListComplaintsRequest) -> ListComplaintsResponse = list_complaints;
        list_overdue_complaints(ListOverdueComplaintsRequest)
            -> ListOverdueComplaintsResponse = list_overdue_complaints;
        record_escalation_state(RecordEscalationStateRequest)
            -> RecordEscalationStateResponse = record_escalation_state;
        render_complaint_form(RenderComplaintFormRequest)
            -> RenderComplaintFormResponse = render_complaint_form;
        get_complaint_analysis(GetComplaintAnalysisRequest)
            -> GetComplaintAnalysisResponse = get_complaint_analysis;
        log_contact(LogContactRequest) -> LogContactResponse = log_contact;
        list_contact_log(ListContactLogRequest) -> ListContactLogResponse = list_contact_log;
        get_contact_log_entry(GetContactLogEntryRequest)
            -> GetContactLogEntryResponse = get_contact_log_entry;
        open_corrective_action(OpenCorrectiveActionRequest)
            -> OpenCorrectiveActionResponse = open_corrective_action;
        record_corrective_measures(RecordCorrectiveMeasuresRequest)
            -> RecordCorrectiveMeasuresResponse = record_corrective_measures;
        verify_corrective_action(VerifyCorrectiveActionRequest)
            -> VerifyCorrectiveActionResponse = verify_corrective_action;
        list_corrective_actions(ListCorrectiveActionsRequest)
            -> ListCorrectiveActionsResponse = list_corrective_actions;
    }
}

async fn create_complaint(
    cs: &CustomerService,
    request: Request<pb::CreateComplaintRequest>,
) -> Result<Response<pb::CreateComplaintResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
    check_role(&scope.actor(), Action::Register)?;
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
    let channel = from_proto::<pb::Channel, Channel>(req.channel);
    if channel.is_none() {
        v.add("channel", "must be one of letter, phone, fax, visit, app");
    }
    let severity = from_proto::<pb::Severity, Severity>(req.severity);
    if severity.is_none() {
        v.add("severity", "must be one of minor, general, serious");
    }
    let complainant = person(
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
    let registration = Registration {
        channel,
        complainant,
        unit_id: (!req.unit_id.is_empty()).then_some(req.unit_id),
        category: req.category,
        description: req.description,
        severity,
        note: String::new(),
    };
    let contact_number = (req.contact_number > 0).then_some(req.contact_number);
    let complaint = app::create(cs, &scope, &request_id, contact_number, registration).await?;
    Ok(Response::new(pb::CreateComplaintResponse {
        complaint: Some(complaint.into()),
    }))
}

async fn get_complaint(
    cs: &CustomerService,
    request: Request<pb::GetComplaintRequest>,
) -> Result<Response<pb::GetComplaintResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let complaint = match (req.complaint_id.is_empty(), req.number) {
        (false, 0) => app::get(cs, &scope, &req.complaint_id).await?,
        (true, n) if n > 0 => app::get_by_number(cs, &scope, n).await?,
        _ => {
            return Err(
                Error::invalid("complaint_id", "give either complaint_id or number").into(),
            );
        }
    };
    Ok(Response::new(pb::GetComplaintResponse {
        complaint: Some(complaint.into()),
    }))
}

async fn list_complaints(
    cs: &CustomerService,
    request: Request<pb::ListComplaintsRequest>,
) -> Result<Response<pb::ListComplaintsResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let mut v = Violations::new();
    let mut filter = list_filter(&req, &mut v);
    v.check()?;
    let limit = page::page_size(req.page_size)?;
    filter.before_number = page::after(&req.page_token)?;
    let complaints = app::list(cs, &scope, &filter, limit).await?;
    Ok(Response::new(pb::ListComplaintsResponse {
        next_page_token: page::next_token(&complaints, limit, |c| c.number),
        complaints: complaints.into_iter().map(Into::into).collect(),
    }))
}

/// The filters of a list, each checked; a bad one is a violation of its field.
fn list_filter(req: &pb::ListComplaintsRequest, v: &mut Violations) -> Filter {
    let state = from_proto::<pb::ComplaintState, State>(req.state);
    if state.is_none() && req.state != 0 {
        v.add("state", "is not a complaint state");
    }
    let severity = from_proto::<pb::Severity, Severity>(req.severity);
    if severity.is_none() && req.severity != 0 {
        v.add("severity", "is not a severity");
    }
    v.max_text("unit_id", &req.unit_id, 64);
    v.max_text("building", &req.building, units::MAX_PART);
    v.max_text("category", &req.category, rules::MAX_CATEGORY);
    v.max_text("team", &req.team, rules::MAX_TEAM);
    v.max_text("query", &req.query, MAX_QUERY);
    let phone = req.complainant_phone.trim();
    let complainant_phone = normalize_phone(phone);
    if !phone.is_empty() && complainant_phone.is_none() {
        v.add("complainant_phone", "is not a phone number");
    }
    let registered_from = optional_time(req.registered_from.as_ref(), "registered_from", v);
    let registered_to = optional_time(req.registered_to.as_ref(), "registered_to", v);
    if let (Some(from), Some(to)) = (registered_from, registered_to)
        && to <= from
    {
        v.add("registered_to", "must be after registered_from");
    }
    let reply = match (req.overdue, req.due_within_hours) {
        (false, 0) => None,
        (true, 0) => Some(ReplyDue::Overdue),
        (false, h @ 1..=MAX_DUE_WITHIN_HOURS) => Some(ReplyDue::Within(h as u32)),
        (true, _) => {
            v.add("due_within_hours", "cannot be combined with overdue");
            None
        }
        (false, _) => {
            let message = format!("must be between 1 and {MAX_DUE_WITHIN_HOURS}");
            v.add("due_within_hours", message);
            None
        }
    };
    let text = |t: &str| (!t.trim().is_empty()).then(|| t.trim().to_owned());
    Filter {
        state,
        severity,
        unit_id: text(&req.unit_id),
        building: text(&req.building),
        complainant_phone,
        category: text(&req.category),
        team: text(&req.team),
        registered_from,
        registered_to,
        reply,
        query: Query::of(&req.query),
        before_number: None,
    }
}

/// An optional timestamp of the request, checked.
fn optional_time(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let at = wuye_kit::time::from_timestamp(ts?);
    if at.is_none() {
        v.add(field, "is not a valid time");
    }
    at
}

async fn list_overdue_complaints(
    cs: &CustomerService,
    request: Request<pb::ListOverdueComplaintsRequest>,
) -> Result<Response<pb::ListOverdueComplaintsResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let limit = page::page_size(req.page_size)?;
    // The key of a page: the reply deadline and the number of its last complaint.
    let after = match page::after_time_and_id(&req.page_token)? {
        Some((due, number)) => Some((due, number.parse().map_err(|_| page::bad_token())?)),
        None => None,
    };
    let complaints = app::list_overdue(cs, &scope, after, limit).await?;
    Ok(Response::new(pb::ListOverdueComplaintsResponse {
        next_page_token: page::next_token(&complaints, limit, |c| {
            page::time_and_id(c.reply_due_at, &c.number.to_string())
        }),
        complaints: complaints.into_iter().map(Into::into).collect(),
    }))
}

async fn record_escalation_state(
    cs: &CustomerService,
    request: Request<pb::RecordEscalationStateRequest>,
) -> Result<Response<pb::RecordEscalationStateResponse>, Status> {
    // ESC-3 refuses the role before the property is looked at, as it always has.
    require_escalation_recorder(&identity::caller(&request)?)?;
    let (scope, req) = cs.properties.scope(request)?;
    let mut v = Violations::new();
    let state = from_proto::<pb::EscalationState, EscalationState>(req.state);
    if state.is_none() {
        v.add("state", "is not an escalation state");
    }
    v.max_text("decision", &req.decision, rules::MAX_NOTE);
    v.check()?;
    let state = state.unwrap_or(EscalationState::Received);
    let complaint =
        app::record_escalation(cs, &scope, &req.complaint_id, state, req.decision).await?;
    Ok(Response::new(pb::RecordEscalationStateResponse {
        complaint: Some(complaint.into()),
    }))
}

async fn render_complaint_form(
    cs: &CustomerService,
    request: Request<pb::RenderComplaintFormRequest>,
) -> Result<Response<pb::RenderComplaintFormResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let form = app::form(cs, &scope, &req.complaint_id).await?;
    Ok(Response::new(pb::RenderComplaintFormResponse {
        document: Some(wuye_kit::document::html_document(form.file_name, form.html)),
    }))
}

async fn get_complaint_analysis(
    cs: &CustomerService,
    request: Request<pb::GetComplaintAnalysisRequest>,
) -> Result<Response<pb::GetComplaintAnalysisResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    if !(2000..=2100).contains(&req.year) {
        return Err(Error::invalid("year", "must be between 2000 and 2100").into());
    }
    let analysis = app::analysis(cs, &scope, req.year, req.half).await?;
    Ok(Response::new(pb::GetComplaintAnalysisResponse {
        analysis: Some(analysis.into()),
    }))
}

async fn log_contact(
    cs: &CustomerService,
    request: Request<pb::LogContactRequest>,
) -> Result<Response<pb::LogContactResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
    let channel = from_proto::<pb::Channel, Channel>(req.channel);
    if channel.is_none() {
        v.add("channel", "must be one of letter, phone, fax, visit, app");
    }
    let kind = from_proto::<pb::ContactKind, ContactKind>(req.kind);
    match kind {
        None => v.add("kind", "must be inquiry, repair, suggestion or praise"),
        Some(ContactKind::Complaint) => {
            v.add("kind", "a complaint is registered with CreateComplaint")
        }
        Some(_) => {}
    }
    let caller = person("caller", req.caller.unwrap_or_default(), false, &mut v);
    v.required_text("summary", &req.summary, rules::MAX_DESCRIPTION);
    v.max_text("unit_id", &req.unit_id, 64);
    v.check()?;
    let contact = Contact {
        channel: channel.unwrap_or(Channel::Phone),
        kind: kind.unwrap_or(ContactKind::Inquiry),
        caller,
        unit_id: (!req.unit_id.is_empty()).then_some(req.unit_id),
        summary: req.summary,
    };
    let entry = contact_app::log(cs, &scope, &request_id, contact).await?;
    Ok(Response::new(pb::LogContactResponse {
        entry: Some(entry.into()),
    }))
}

async fn list_contact_log(
    cs: &CustomerService,
    request: Request<pb::ListContactLogRequest>,
) -> Result<Response<pb::ListContactLogResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let limit = page::page_size(req.page_size)?;
    let before = page::after(&req.page_token)?;
    let entries = contact_app::list(cs, &scope, before, limit).await?;
    Ok(Response::new(pb::ListContactLogResponse {
        next_page_token: page::next_token(&entries, limit, |e| e.number),
        entries: entries.into_iter().map(Into::into).collect(),
    }))
}

async fn get_contact_log_entry(
    cs: &CustomerService,
    request: Request<pb::GetContactLogEntryRequest>,
) -> Result<Response<pb::GetContactLogEntryResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    if req.number <= 0 {
        return Err(Error::invalid("number", "must be a number of the call and visit log").into());
    }
    let entry = contact_app::get(cs, &scope, req.number).await?;
    Ok(Response::new(pb::GetContactLogEntryResponse {
        entry: Some(entry.into()),
    }))
}

async fn open_corrective_action(
    cs: &CustomerService,
    request: Request<pb::OpenCorrectiveActionRequest>,
) -> Result<Response<pb::OpenCorrectiveActionResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
    v.required_text("complaint_id", &req.complaint_id, 64);
    v.required_text("problem", &req.problem, rules::MAX_NOTE);
    v.check()?;
    let action =
        corrective_app::open(cs, &scope, &request_id, req.complaint_id, req.problem).await?;
    Ok(Response::new(pb::OpenCorrectiveActionResponse {
        action: Some(action.into()),
    }))
}

async fn record_corrective_measures(
    cs: &CustomerService,
    request: Request<pb::RecordCorrectiveMeasuresRequest>,
) -> Result<Response<pb::RecordCorrectiveMeasuresResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let mut v = Violations::new();
    v.required_text("measures", &req.measures, rules::MAX_NOTE);
    v.check()?;
    let action = corrective_app::act(cs, &scope, &req.action_id, req.measures).await?;
    Ok(Response::new(pb::RecordCorrectiveMeasuresResponse {
        action: Some(action.into()),
    }))
}

async fn verify_corrective_action(
    cs: &CustomerService,
    request: Request<pb::VerifyCorrectiveActionRequest>,
) -> Result<Response<pb::VerifyCorrectiveActionResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let mut v = Violations::new();
    v.required_text("verification", &req.verification, rules::MAX_NOTE);
    v.check()?;
    let action =
        corrective_app::verify(cs, &scope, &req.action_id, req.effective, req.verification).await?;
    Ok(Response::new(pb::VerifyCorrectiveActionResponse {
        action: Some(action.into()),
    }))
}

async fn list_corrective_actions(
    cs: &CustomerService,
    request: Request<pb::ListCorrectiveActionsRequest>,
) -> Result<Response<pb::ListCorrectiveActionsResponse>, Status> {
    let (scope, req) = cs.properties.scope(request)?;
    let limit = page::page_size(req.page_size)?;
    let before: Option<String> = page::after(&req.page_token)?;
    let actions = corrective_app::list(cs, &scope, req.open_only, before.as_deref(), limit).await?;
    Ok(Response::new(pb::ListCorrectiveActionsResponse {
        next_page_token: page::next_token(&actions, limit, |a| a.id.clone()),
        actions: actions.into_iter().map(Into::into).collect(),
    }))
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
fn note(v: &mut Violations, text: &str) -> String {
    v.max_text("note", text, rules::MAX_NOTE);
    text.to_owned()
}

/// A complainant or caller: a name (required for complaints) and a plausible phone.
fn person(field: &str, p: pb::Complainant, name_required: bool, v: &mut Violations) -> Complainant {
    if name_required {
        v.required_text(&format!("{field}.name"), &p.name, rules::MAX_NAME);
    } else {
        v.max_text(&format!("{field}.name"), &p.name, rules::MAX_NAME);
    }
    if !p.phone.is_empty() && !crate::domain::is_plausible_phone(&p.phone) {
        v.add(&format!("{field}.phone"), "is not a phone number");
    }
    v.max_text(&format!("{field}.phone"), &p.phone, rules::MAX_PHONE);
    Complainant {
        name: p.name.trim().to_owned(),
        phone: p.phone.trim().to_owned(),
    }
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
