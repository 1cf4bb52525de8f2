use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    db::to_micros,
    idempotency::RequestId,
    identity::{self, Actor},
    page,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::customerservice::{self as pb, visit_service_server::VisitService};

use super::surveys::{require_role, time_id_token};
use crate::{
    CustomerService,
    app::complaints::{self as complaint_app, Registered},
    domain::{
        complaints::{
            self as complaint_rules, Channel as ComplaintChannel, Complainant, Complaint,
        },
        households::HouseholdState,
        visits::{
            self as rules, Channel, Coverage, Kind, MajorProblem, Promise, RepairFollowUp,
            Satisfaction, Visit,
        },
    },
    store::{
        households as household_store,
        visits::{self as store, Recorded},
    },
};

const MAX_REQUEST_ID: usize = 100;

#[tonic::async_trait]
impl VisitService for CustomerService {
    async fn record_visit(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<Response<pb::RecordVisitResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        require_role(&actor, rules::VISITORS, "visit customers")?; // rule VIS-1
        let now = self.clock.now();
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        let kind = match pb::VisitKind::try_from(req.kind) {
            Ok(pb::VisitKind::Routine) => Some(Kind::Routine),
            Ok(pb::VisitKind::Repair) => Some(Kind::Repair),
            Ok(pb::VisitKind::MoveIn) => Some(Kind::MoveIn),
            _ => {
                v.add("kind", "must be routine, repair or move_in");
                None
            }
        };
        let channel = match pb::VisitChannel::try_from(req.channel) {
            Ok(pb::VisitChannel::OnSite) => Some(Channel::OnSite),
            Ok(pb::VisitChannel::Phone) => Some(Channel::Phone),
            Ok(pb::VisitChannel::Online) => Some(Channel::Online),
            _ => {
                v.add("channel", "must be on_site, phone or online");
                None
            }
        };
        let satisfaction = satisfaction_from_proto(req.satisfaction);
        if satisfaction.is_none() {
            v.add(
                "satisfaction",
                "must be satisfied, basically_satisfied or dissatisfied",
            );
        }
        let customer = req.customer.unwrap_or_default();
        v.required_text("customer.name", &customer.name, rules::MAX_NAME);
        v.max_text("customer.phone", &customer.phone, rules::MAX_PHONE);
        if !customer.phone.trim().is_empty()
            && !crate::domain::is_plausible_phone(customer.phone.trim())
        {
            v.add("customer.phone", "is not a phone number");
        }
        v.required_text("content", &req.content, rules::MAX_CONTENT);
        v.max_text("household_id", &req.household_id, 64);
        v.max_text("work_order_id", &req.work_order_id, 64);
        match kind {
            Some(Kind::Repair) if req.work_order_id.trim().is_empty() => {
                v.add("work_order_id", "a repair follow-up names its work order")
            }
            Some(Kind::MoveIn) if req.household_id.trim().is_empty() => {
                v.add("household_id", "a move-in visit names the household")
            }
            Some(Kind::Routine | Kind::MoveIn) if !req.work_order_id.is_empty() => v.add(
                "work_order_id",
                "only a repair follow-up names a work order",
            ),
            _ => {}
        }
        let visited_at = match req.visit_time.as_ref().map(from_timestamp) {
            None => now,
            Some(Some(t)) if t <= now => t,
            Some(Some(_)) => {
                v.add("visit_time", "must not be in the future");
                now
            }
            Some(None) => {
                v.add("visit_time", "is not a valid time");
                now
            }
        };
        // rule VIS-2: a question not answered on the spot gets a reply time.
        let promise = match (req.question.trim(), req.reply_due_time.as_ref()) {
            ("", None) => None,
            ("", Some(_)) => {
                v.add("question", "say which question the reply is promised for");
                None
            }
            (question, Some(due)) => match from_timestamp(due) {
                Some(due) if due > visited_at => Some(Promise {
                    question: question.to_owned(),
                    reply_due_at: due,
                    reply: None,
                }),
                _ => {
                    v.add("reply_due_time", "must be after the visit");
                    None
                }
            },
            (_, None) => {
                v.add(
                    "reply_due_time",
                    "a question not answered on the spot gets a reply time",
                );
                None
            }
        };
        v.max_text("question", &req.question, rules::MAX_CONTENT);
        // rule VIS-3: a major problem goes on a regular meeting's agenda.
        let major = match (req.major_problem.trim(), req.meeting_date.trim()) {
            ("", "") => None,
            ("", _) => {
                v.add(
                    "major_problem",
                    "say which problem goes on the meeting's agenda",
                );
                None
            }
            (_, "") => {
                v.add("meeting_date", "a major problem goes on a meeting's agenda");
                None
            }
            (problem, date) => match rules::parse_date("meeting_date", date) {
                Ok(date) if date >= visited_at.with_timezone(&property.time_zone).date_naive() => {
                    Some(MajorProblem {
                        problem: problem.to_owned(),
                        meeting_date: date,
                        settled: None,
                    })
                }
                Ok(_) => {
                    v.add("meeting_date", "must not be before the visit's day");
                    None
                }
                Err(_) => {
                    v.add("meeting_date", "must be a date YYYY-MM-DD");
                    None
                }
            },
        };
        v.max_text("major_problem", &req.major_problem, rules::MAX_CONTENT);
        v.check()?;
        let (Some(kind), Some(channel), Some(satisfaction)) = (kind, channel, satisfaction) else {
            unreachable!("checked above");
        };

        let household_id =
            (!req.household_id.trim().is_empty()).then(|| req.household_id.trim().to_owned());
        let mut unit_id = String::new();
        if let Some(id) = &household_id {
            let household = household_store::get(&self.db, &property.id, id)
                .await?
                .ok_or_else(|| {
                    Error::invalid("household_id", "is not a household of this property")
                })?;
            if kind == Kind::MoveIn {
                // rule VIS-5
                rules::check_move_in_visit(
                    household.moved_in_at,
                    household.state == HouseholdState::Living,
                    visited_at,
                )?;
            }
            unit_id = household.unit_id;
        }
        let visit = Visit {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            kind,
            household_id,
            unit_id,
            unit_label: String::new(),
            work_order_id: req.work_order_id.trim().to_owned(),
            customer_name: customer.name.trim().to_owned(),
            customer_phone: customer.phone.trim().to_owned(),
            visited_at,
            channel,
            visitor: actor,
            content: req.content,
            satisfaction,
            promise,
            major,
            complaint: None,
            created_at: now,
        };
        let id = match store::record(&self.db, &request_id, visit).await? {
            Recorded::New(v) => {
                tracing::info!(property = %property.id, kind = v.kind.code(), satisfaction = v.satisfaction.code(), "visit recorded");
                v.id
            }
            Recorded::Retry(id) => id,
        };
        let visit = self.visit(&property.id, &id).await?;
        Ok(Response::new(pb::RecordVisitResponse {
            visit: Some(visit_to_proto(visit, now)),
        }))
    }

    async fn get_visit(
        &self,
        request: Request<pb::GetVisitRequest>,
    ) -> Result<Response<pb::GetVisitResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let visit = self.visit(&property.id, &req.visit_id).await?;
        Ok(Response::new(pb::GetVisitResponse {
            visit: Some(visit_to_proto(visit, self.clock.now())),
        }))
    }

    async fn list_visits(
        &self,
        request: Request<pb::ListVisitsRequest>,
    ) -> Result<Response<pb::ListVisitsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let kind = match pb::VisitKind::try_from(req.kind) {
            Ok(pb::VisitKind::Unspecified) => None,
            Ok(pb::VisitKind::Routine) => Some(Kind::Routine),
            Ok(pb::VisitKind::Repair) => Some(Kind::Repair),
            Ok(pb::VisitKind::MoveIn) => Some(Kind::MoveIn),
            Err(_) => return Err(Error::invalid("kind", "is not a visit kind").into()),
        };
        let limit = page::page_size(req.page_size)?;
        let before = time_id_token(&req.page_token)?;
        let household = (!req.household_id.is_empty()).then_some(req.household_id.as_str());
        let visits = store::list(&self.db, &property.id, household, kind, before, limit).await?;
        let next_page_token = match visits.last() {
            Some(v) if visits.len() as i64 == limit => {
                page::encode(&format!("{}:{}", to_micros(v.visited_at), v.id))
            }
            _ => String::new(),
        };
        let now = self.clock.now();
        Ok(Response::new(pb::ListVisitsResponse {
            visits: visits.into_iter().map(|v| visit_to_proto(v, now)).collect(),
            next_page_token,
        }))
    }

    async fn record_visit_reply(
        &self,
        request: Request<pb::RecordVisitReplyRequest>,
    ) -> Result<Response<pb::RecordVisitReplyResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        require_role(&actor, rules::VISITORS, "reply to visited customers")?;
        let mut v = Violations::new();
        v.required_text("visit_id", &req.visit_id, 64);
        v.required_text("reply", &req.reply, rules::MAX_CONTENT);
        v.check()?;
        let visit = self.visit(&property.id, &req.visit_id).await?;
        visit.check_reply()?; // rule VIS-2
        let now = self.clock.now();
        if !store::reply(
            &self.db,
            &property.id,
            &visit.id,
            req.reply.trim(),
            &actor,
            now,
        )
        .await?
        {
            self.visit(&property.id, &visit.id).await?.check_reply()?;
        }
        let visit = self.visit(&property.id, &visit.id).await?;
        Ok(Response::new(pb::RecordVisitReplyResponse {
            visit: Some(visit_to_proto(visit, now)),
        }))
    }

    async fn list_overdue_visit_replies(
        &self,
        request: Request<pb::ListOverdueVisitRepliesRequest>,
    ) -> Result<Response<pb::ListOverdueVisitRepliesResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = time_id_token(&req.page_token)?;
        let now = self.clock.now();
        let visits = store::list_overdue_replies(&self.db, &property.id, now, after, limit).await?;
        let next_page_token = match visits.last() {
            Some(v) if visits.len() as i64 == limit => match &v.promise {
                Some(p) => page::encode(&format!("{}:{}", to_micros(p.reply_due_at), v.id)),
                None => String::new(),
            },
            _ => String::new(),
        };
        Ok(Response::new(pb::ListOverdueVisitRepliesResponse {
            visits: visits.into_iter().map(|v| visit_to_proto(v, now)).collect(),
            next_page_token,
        }))
    }

    async fn list_meeting_agenda(
        &self,
        request: Request<pb::ListMeetingAgendaRequest>,
    ) -> Result<Response<pb::ListMeetingAgendaResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let date = rules::parse_date("meeting_date", &req.meeting_date)?;
        let now = self.clock.now();
        let visits = store::agenda(&self.db, &property.id, date).await?;
        Ok(Response::new(pb::ListMeetingAgendaResponse {
            items: visits
                .into_iter()
                .map(|v| pb::AgendaItem {
                    carried_over: v.major.as_ref().is_some_and(|m| m.meeting_date < date),
                    visit: Some(visit_to_proto(v, now)),
                })
                .collect(),
        }))
    }

    async fn settle_major_problem(
        &self,
        request: Request<pb::SettleMajorProblemRequest>,
    ) -> Result<Response<pb::SettleMajorProblemResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        require_role(
            &actor,
            &[
                "project_manager",
                "project_manager_assistant",
                "cs_supervisor",
            ],
            "settle the meeting's problems",
        )?;
        let mut v = Violations::new();
        v.required_text("visit_id", &req.visit_id, 64);
        v.required_text("settlement", &req.settlement, rules::MAX_CONTENT);
        v.check()?;
        let visit = self.visit(&property.id, &req.visit_id).await?;
        visit.check_settle()?; // rule VIS-3
        let now = self.clock.now();
        if !store::settle(
            &self.db,
            &property.id,
            &visit.id,
            req.settlement.trim(),
            &actor,
            now,
        )
        .await?
        {
            self.visit(&property.id, &visit.id).await?.check_settle()?;
        }
        let visit = self.visit(&property.id, &visit.id).await?;
        Ok(Response::new(pb::SettleMajorProblemResponse {
            visit: Some(visit_to_proto(visit, now)),
        }))
    }

    async fn raise_complaint_from_visit(
        &self,
        request: Request<pb::RaiseComplaintFromVisitRequest>,
    ) -> Result<Response<pb::RaiseComplaintFromVisitResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        // Those who may register a complaint (CMP-1).
        require_role(
            &actor,
            complaint_rules::roles_for(complaint_rules::Action::Register),
            "register complaints",
        )?;
        let mut v = Violations::new();
        v.required_text("visit_id", &req.visit_id, 64);
        let severity =
            wuye_kit::from_proto::<pb::Severity, complaint_rules::Severity>(req.severity);
        if severity.is_none() {
            v.add("severity", "must be one of minor, general, serious");
        }
        v.required_text("category", &req.category, complaint_rules::MAX_CATEGORY);
        v.max_text(
            "description",
            &req.description,
            complaint_rules::MAX_DESCRIPTION,
        );
        v.check()?;
        let Some(severity) = severity else {
            unreachable!("checked above");
        };
        let visit = self.visit(&property.id, &req.visit_id).await?;
        visit.check_raise()?; // rule VIS-6
        let now = self.clock.now();
        // A complaint's unit is one of the register; a repair's unit may not be.
        let unit_id = match visit.unit_id.as_str() {
            "" => None,
            id => crate::store::units::get(&self.db, &property.id, id)
                .await?
                .map(|u| u.id),
        };
        let description = match req.description.trim() {
            "" => visit.content.clone(),
            d => d.to_owned(),
        };
        let registration = complaint_rules::Registration {
            channel: match visit.channel {
                Channel::Phone => ComplaintChannel::Phone,
                Channel::Online => ComplaintChannel::App,
                Channel::OnSite => ComplaintChannel::Visit,
            },
            complainant: Complainant {
                name: visit.customer_name.clone(),
                phone: visit.customer_phone.clone(),
            },
            unit_id,
            category: req.category,
            description,
            severity,
            note: format!("回访转投诉 (VIS-6): visit {}", visit.id),
        };
        let complaint = Complaint::register(
            uuid::Uuid::now_v7().to_string(),
            property,
            registration,
            actor,
            now,
        );
        // The visit is the request id: raising it twice registers one complaint, and a
        // raise cut off before the visit kept its number completes on the next call.
        let request_id = RequestId::internal(&format!("visit:{}", visit.id));
        let scope = self.properties.scope_of(caller.clone(), &property.id)?;
        let complaint = match complaint_app::register(self, &scope, &request_id, None, complaint)
            .await?
        {
            Registered::New(c) => {
                tracing::info!(property = %property.id, number = c.number, "dissatisfied visit raised as a complaint");
                c
            }
            Registered::Retry(c) => c,
        };
        store::link_complaint(
            &self.db,
            &property.id,
            &visit.id,
            &complaint.id,
            complaint.number,
        )
        .await?;
        let visit = self.visit(&property.id, &visit.id).await?;
        Ok(Response::new(pb::RaiseComplaintFromVisitResponse {
            visit: Some(visit_to_proto(visit, now)),
        }))
    }

    async fn list_repair_follow_ups(
        &self,
        request: Request<pb::ListRepairFollowUpsRequest>,
    ) -> Result<Response<pb::ListRepairFollowUpsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = time_id_token(&req.page_token)?;
        let follow_ups =
            store::list_follow_ups(&self.db, &property.id, req.pending_only, before, limit).await?;
        let next_page_token = match follow_ups.last() {
            Some(f) if follow_ups.len() as i64 == limit => page::encode(&format!(
                "{}:{}",
                to_micros(f.completed_at),
                f.work_order_id
            )),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListRepairFollowUpsResponse {
            follow_ups: follow_ups.into_iter().map(follow_up_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn get_repair_follow_up_rate(
        &self,
        request: Request<pb::GetRepairFollowUpRateRequest>,
    ) -> Result<Response<pb::GetRepairFollowUpRateResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        if req.month == 0 {
            return Err(Error::invalid("month", "must be 1 to 12").into());
        }
        let month =
            u32::try_from(req.month).map_err(|_| Error::invalid("month", "must be 1 to 12"))?;
        let (from, to) = rules::period(req.year, month, property.time_zone)?;
        let repairs = store::completed_in(&self.db, &property.id, from, to).await?;
        let target = property.rules.surveys.repair_follow_up_target_percent;
        // rule VIS-4
        let coverage = Coverage {
            part: repairs.iter().filter(|r| r.visit.is_some()).count() as i64,
            whole: repairs.len() as i64,
            target_percent: target,
        };
        Ok(Response::new(pb::GetRepairFollowUpRateResponse {
            period_start: Some(to_timestamp(from)),
            period_end: Some(to_timestamp(to)),
            completed: coverage.whole,
            visited: coverage.part,
            rate: coverage.rate(1.0),
            target_percent: target as i32,
            met: coverage.met(),
            not_visited: repairs
                .into_iter()
                .filter(|r| r.visit.is_none())
                .map(follow_up_to_proto)
                .collect(),
        }))
    }

    async fn get_move_in_visit_coverage(
        &self,
        request: Request<pb::GetMoveInVisitCoverageRequest>,
    ) -> Result<Response<pb::GetMoveInVisitCoverageResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let month = u32::try_from(req.month)
            .map_err(|_| Error::invalid("month", "must be 1 to 12, or 0 for the year"))?;
        let (from, to) = rules::period(req.year, month, property.time_zone)?;
        let (occupied, visited) = store::move_in_coverage(&self.db, &property.id, from, to).await?;
        let target = property.rules.surveys.move_in_visit_target_percent;
        // rule VIS-5
        let coverage = Coverage {
            part: visited,
            whole: occupied,
            target_percent: target,
        };
        Ok(Response::new(pb::GetMoveInVisitCoverageResponse {
            period_start: Some(to_timestamp(from)),
            period_end: Some(to_timestamp(to)),
            occupied,
            visited,
            rate: coverage.rate(0.0),
            target_percent: target as i32,
            met: coverage.met(),
        }))
    }
}

impl CustomerService {
    async fn visit(&self, property_id: &str, id: &str) -> Result<Visit> {
        if id.is_empty() {
            return Err(Error::invalid("visit_id", "must not be empty"));
        }
        store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("visit", id))
    }
}

fn satisfaction_from_proto(value: i32) -> Option<Satisfaction> {
    match pb::VisitSatisfaction::try_from(value).ok()? {
        pb::VisitSatisfaction::Unspecified => None,
        pb::VisitSatisfaction::Satisfied => Some(Satisfaction::Satisfied),
        pb::VisitSatisfaction::BasicallySatisfied => Some(Satisfaction::BasicallySatisfied),
        pb::VisitSatisfaction::Dissatisfied => Some(Satisfaction::Dissatisfied),
    }
}

fn done(
    d: &Option<(String, Actor, DateTime<Utc>)>,
) -> (
    String,
    Option<wuye_proto::common::Actor>,
    Option<prost_types::Timestamp>,
) {
    match d {
        Some((text, by, at)) => (text.clone(), Some(by.to_proto()), Some(to_timestamp(*at))),
        None => (String::new(), None, None),
    }
}

fn visit_to_proto(v: Visit, now: DateTime<Utc>) -> pb::Visit {
    let reply_overdue = v.reply_overdue(now);
    let (question, reply_due_time, (reply, replied_by, reply_time)) = match &v.promise {
        Some(p) => (
            p.question.clone(),
            Some(to_timestamp(p.reply_due_at)),
            done(&p.reply),
        ),
        None => (String::new(), None, done(&None)),
    };
    let (major_problem, meeting_date, (settlement, settled_by, settle_time)) = match &v.major {
        Some(m) => (
            m.problem.clone(),
            m.meeting_date.format("%Y-%m-%d").to_string(),
            done(&m.settled),
        ),
        None => (String::new(), String::new(), done(&None)),
    };
    let (complaint_id, complaint_number) = v.complaint.unwrap_or_default();
    pb::Visit {
        id: v.id,
        property_id: v.property_id,
        kind: match v.kind {
            Kind::Routine => pb::VisitKind::Routine,
            Kind::Repair => pb::VisitKind::Repair,
            Kind::MoveIn => pb::VisitKind::MoveIn,
        }
        .into(),
        household_id: v.household_id.unwrap_or_default(),
        unit_id: v.unit_id,
        unit_label: v.unit_label,
        work_order_id: v.work_order_id,
        customer: Some(pb::VisitedCustomer {
            name: v.customer_name,
            phone: v.customer_phone,
        }),
        visit_time: Some(to_timestamp(v.visited_at)),
        channel: match v.channel {
            Channel::OnSite => pb::VisitChannel::OnSite,
            Channel::Phone => pb::VisitChannel::Phone,
            Channel::Online => pb::VisitChannel::Online,
        }
        .into(),
        visitor: Some(v.visitor.to_proto()),
        content: v.content,
        satisfaction: match v.satisfaction {
            Satisfaction::Satisfied => pb::VisitSatisfaction::Satisfied,
            Satisfaction::BasicallySatisfied => pb::VisitSatisfaction::BasicallySatisfied,
            Satisfaction::Dissatisfied => pb::VisitSatisfaction::Dissatisfied,
        }
        .into(),
        question,
        reply_due_time,
        reply_time,
        reply,
        replied_by,
        reply_overdue,
        major_problem,
        meeting_date,
        settle_time,
        settlement,
        settled_by,
        complaint_id,
        complaint_number,
        create_time: Some(to_timestamp(v.created_at)),
    }
}

fn follow_up_to_proto(f: RepairFollowUp) -> pb::RepairFollowUp {
    let (visit_id, visit_time) = match f.visit {
        Some((id, at)) => (id, Some(to_timestamp(at))),
        None => (String::new(), None),
    };
    pb::RepairFollowUp {
        work_order_id: f.work_order_id,
        work_order_number: f.number,
        unit_id: f.unit_id,
        unit_label: f.unit_label,
        complete_time: Some(to_timestamp(f.completed_at)),
        customer_rating: f.customer_rating,
        contact_number: f.contact_number,
        visit_id,
        visit_time,
    }
}
