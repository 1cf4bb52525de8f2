use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations, from_proto, idempotency::RequestId, page, time::from_timestamp,
    time::to_timestamp,
};
use wuye_proto::customerservice::{self as pb, visit_service_server::VisitService};

use crate::app::require_role;
use crate::{
    CustomerService,
    app::visits::{self as app, NewVisit, Raise},
    convert::VisitAt,
    domain::{
        complaints as complaint_rules,
        visits::{self as rules, Channel, Kind, MajorProblem, Promise, Satisfaction, Visit},
    },
};

const MAX_REQUEST_ID: usize = 100;

#[tonic::async_trait]
impl VisitService for CustomerService {
    async fn record_visit(
        &self,
        request: Request<pb::RecordVisitRequest>,
    ) -> Result<Response<pb::RecordVisitResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        require_role(&scope.actor(), rules::VISITORS, "visit customers")?; // rule VIS-1
        let new = new_visit(req, self.clock.now(), scope.property().time_zone)?;
        let visit = app::record_visit(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::RecordVisitResponse {
            visit: Some(shown(self, visit)),
        }))
    }

    async fn get_visit(
        &self,
        request: Request<pb::GetVisitRequest>,
    ) -> Result<Response<pb::GetVisitResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let visit = app::get_visit(self, &scope, &req.visit_id).await?;
        Ok(Response::new(pb::GetVisitResponse {
            visit: Some(shown(self, visit)),
        }))
    }

    async fn list_visits(
        &self,
        request: Request<pb::ListVisitsRequest>,
    ) -> Result<Response<pb::ListVisitsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let kind = match req.kind {
            0 => None,
            k => Some(
                from_proto::<pb::VisitKind, Kind>(k)
                    .ok_or_else(|| Error::invalid("kind", "is not a visit kind"))?,
            ),
        };
        let limit = page::page_size(req.page_size)?;
        let before = page::after_time_and_id(&req.page_token)?;
        let household = (!req.household_id.is_empty()).then_some(req.household_id.as_str());
        let visits = app::list_visits(self, &scope, household, kind, before, limit).await?;
        let next_page_token =
            page::next_token(&visits, limit, |v| page::time_and_id(v.visited_at, &v.id));
        Ok(Response::new(pb::ListVisitsResponse {
            visits: all_shown(self, visits),
            next_page_token,
        }))
    }

    async fn record_visit_reply(
        &self,
        request: Request<pb::RecordVisitReplyRequest>,
    ) -> Result<Response<pb::RecordVisitReplyResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        require_role(
            &scope.actor(),
            rules::VISITORS,
            "reply to visited customers",
        )?;
        let mut v = Violations::new();
        v.required_text("visit_id", &req.visit_id, 64);
        v.required_text("reply", &req.reply, rules::MAX_CONTENT);
        v.check()?;
        let visit = app::reply(self, &scope, &req.visit_id, req.reply.trim()).await?;
        Ok(Response::new(pb::RecordVisitReplyResponse {
            visit: Some(shown(self, visit)),
        }))
    }

    async fn list_overdue_visit_replies(
        &self,
        request: Request<pb::ListOverdueVisitRepliesRequest>,
    ) -> Result<Response<pb::ListOverdueVisitRepliesResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after_time_and_id(&req.page_token)?;
        let visits = app::list_overdue_replies(self, &scope, after, limit).await?;
        let next_page_token = page::next_token(&visits, limit, |v| {
            let due = v.promise.as_ref().map_or(v.visited_at, |p| p.reply_due_at);
            page::time_and_id(due, &v.id)
        });
        Ok(Response::new(pb::ListOverdueVisitRepliesResponse {
            visits: all_shown(self, visits),
            next_page_token,
        }))
    }

    async fn list_meeting_agenda(
        &self,
        request: Request<pb::ListMeetingAgendaRequest>,
    ) -> Result<Response<pb::ListMeetingAgendaResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let date = rules::parse_date("meeting_date", &req.meeting_date)?;
        let visits = app::meeting_agenda(self, &scope, date).await?;
        let now = self.clock.now();
        Ok(Response::new(pb::ListMeetingAgendaResponse {
            items: visits
                .into_iter()
                .map(|v| pb::AgendaItem {
                    carried_over: v.major.as_ref().is_some_and(|m| m.meeting_date < date),
                    visit: Some(VisitAt(v, now).into()),
                })
                .collect(),
        }))
    }

    async fn settle_major_problem(
        &self,
        request: Request<pb::SettleMajorProblemRequest>,
    ) -> Result<Response<pb::SettleMajorProblemResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        require_role(
            &scope.actor(),
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
        let settlement = req.settlement.trim();
        let visit = app::settle_major_problem(self, &scope, &req.visit_id, settlement).await?;
        Ok(Response::new(pb::SettleMajorProblemResponse {
            visit: Some(shown(self, visit)),
        }))
    }

    async fn raise_complaint_from_visit(
        &self,
        request: Request<pb::RaiseComplaintFromVisitRequest>,
    ) -> Result<Response<pb::RaiseComplaintFromVisitResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        // Those who may register a complaint (CMP-1).
        require_role(
            &scope.actor(),
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
        let raise = Raise {
            severity,
            category: req.category,
            description: req.description,
        };
        let visit = app::raise_complaint(self, &scope, &req.visit_id, raise).await?;
        Ok(Response::new(pb::RaiseComplaintFromVisitResponse {
            visit: Some(shown(self, visit)),
        }))
    }

    async fn list_repair_follow_ups(
        &self,
        request: Request<pb::ListRepairFollowUpsRequest>,
    ) -> Result<Response<pb::ListRepairFollowUpsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::after_time_and_id(&req.page_token)?;
        let follow_ups =
            app::list_repair_follow_ups(self, &scope, req.pending_only, before, limit).await?;
        let next_page_token = page::next_token(&follow_ups, limit, |f| {
            page::time_and_id(f.completed_at, &f.work_order_id)
        });
        Ok(Response::new(pb::ListRepairFollowUpsResponse {
            follow_ups: follow_ups.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn get_repair_follow_up_rate(
        &self,
        request: Request<pb::GetRepairFollowUpRateRequest>,
    ) -> Result<Response<pb::GetRepairFollowUpRateResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        if req.month == 0 {
            return Err(Error::invalid("month", "must be 1 to 12").into());
        }
        let month =
            u32::try_from(req.month).map_err(|_| Error::invalid("month", "must be 1 to 12"))?;
        // rule VIS-4
        let (rate, not_visited) = app::repair_follow_up_rate(self, &scope, req.year, month).await?;
        let coverage = rate.coverage;
        Ok(Response::new(pb::GetRepairFollowUpRateResponse {
            period_start: Some(to_timestamp(rate.from)),
            period_end: Some(to_timestamp(rate.to)),
            completed: coverage.whole,
            visited: coverage.part,
            rate: coverage.rate(1.0),
            target_percent: coverage.target_percent as i32,
            met: coverage.met(),
            not_visited: not_visited.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_move_in_visit_coverage(
        &self,
        request: Request<pb::GetMoveInVisitCoverageRequest>,
    ) -> Result<Response<pb::GetMoveInVisitCoverageResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let month = u32::try_from(req.month)
            .map_err(|_| Error::invalid("month", "must be 1 to 12, or 0 for the year"))?;
        // rule VIS-5
        let rate = app::move_in_visit_coverage(self, &scope, req.year, month).await?;
        let coverage = rate.coverage;
        Ok(Response::new(pb::GetMoveInVisitCoverageResponse {
            period_start: Some(to_timestamp(rate.from)),
            period_end: Some(to_timestamp(rate.to)),
            occupied: coverage.whole,
            visited: coverage.part,
            rate: coverage.rate(0.0),
            target_percent: coverage.target_percent as i32,
            met: coverage.met(),
        }))
    }
}

/// A visit as answered now.
fn shown(cs: &CustomerService, visit: Visit) -> pb::Visit {
    VisitAt(visit, cs.clock.now()).into()
}

fn all_shown(cs: &CustomerService, visits: Vec<Visit>) -> Vec<pb::Visit> {
    let now = cs.clock.now();
    visits.into_iter().map(|v| VisitAt(v, now).into()).collect()
}

/// The visit to record, checked (VIS-2, VIS-3 and the kinds' references).
fn new_visit(mut req: pb::RecordVisitRequest, now: DateTime<Utc>, tz: Tz) -> Result<NewVisit> {
    let mut v = Violations::new();
    v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
    let kind = from_proto::<pb::VisitKind, Kind>(req.kind);
    if kind.is_none() {
        v.add("kind", "must be routine, repair or move_in");
    }
    let channel = from_proto::<pb::VisitChannel, Channel>(req.channel);
    if channel.is_none() {
        v.add("channel", "must be on_site, phone or online");
    }
    let satisfaction = from_proto::<pb::VisitSatisfaction, Satisfaction>(req.satisfaction);
    if satisfaction.is_none() {
        v.add(
            "satisfaction",
            "must be satisfied, basically_satisfied or dissatisfied",
        );
    }
    let customer = req.customer.take().unwrap_or_default();
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
    check_references(&req, kind, &mut v);
    let visited_at = visit_time(&req, now, &mut v);
    let promise = promise(&req, visited_at, &mut v);
    v.max_text("question", &req.question, rules::MAX_CONTENT);
    let major = major_problem(&req, visited_at.with_timezone(&tz).date_naive(), &mut v);
    v.max_text("major_problem", &req.major_problem, rules::MAX_CONTENT);
    v.check()?;
    let (Some(kind), Some(channel), Some(satisfaction)) = (kind, channel, satisfaction) else {
        unreachable!("checked above");
    };
    let household_id = req.household_id.trim();
    Ok(NewVisit {
        kind,
        channel,
        satisfaction,
        household_id: (!household_id.is_empty()).then(|| household_id.to_owned()),
        work_order_id: req.work_order_id.trim().to_owned(),
        customer_name: customer.name.trim().to_owned(),
        customer_phone: customer.phone.trim().to_owned(),
        visited_at,
        content: req.content,
        promise,
        major,
    })
}

/// A repair follow-up names its work order, a move-in visit its household.
fn check_references(req: &pb::RecordVisitRequest, kind: Option<Kind>, v: &mut Violations) {
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
}

/// The time of the visit: now when not given, never in the future.
fn visit_time(
    req: &pb::RecordVisitRequest,
    now: DateTime<Utc>,
    v: &mut Violations,
) -> DateTime<Utc> {
    match req.visit_time.as_ref().map(from_timestamp) {
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
    }
}

/// rule VIS-2: a question not answered on the spot gets a reply time.
fn promise(
    req: &pb::RecordVisitRequest,
    visited_at: DateTime<Utc>,
    v: &mut Violations,
) -> Option<Promise> {
    match (req.question.trim(), req.reply_due_time.as_ref()) {
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
    }
}

/// rule VIS-3: a major problem goes on a regular meeting's agenda, not before the visit's day.
fn major_problem(
    req: &pb::RecordVisitRequest,
    visit_day: chrono::NaiveDate,
    v: &mut Violations,
) -> Option<MajorProblem> {
    match (req.major_problem.trim(), req.meeting_date.trim()) {
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
            Ok(date) if date >= visit_day => Some(MajorProblem {
                problem: problem.to_owned(),
                meeting_date: date,
                settled: None,
            }),
            Ok(_) => {
                v.add("meeting_date", "must not be before the visit's day");
                None
            }
            Err(_) => {
                v.add("meeting_date", "must be a date YYYY-MM-DD");
                None
            }
        },
    }
}
