use chrono::{DateTime, Duration, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations,
    db::to_micros,
    document::html_document,
    idempotency::RequestId,
    identity::{self, Actor},
    page,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::customerservice::{self as pb, survey_service_server::SurveyService};

use crate::{
    CustomerService,
    domain::surveys::{
        self as rules, Campaign, Form, Publication, Remark, RemarkKind, Statistics, rate,
    },
    store::surveys::{self as store, Created, Recipients},
};

const MAX_REQUEST_ID: usize = 100;
/// Households one explicit hand-out may list.
const MAX_HOUSEHOLDS: usize = 500;

#[tonic::async_trait]
impl SurveyService for CustomerService {
    async fn create_survey_campaign(
        &self,
        request: Request<pb::CreateSurveyCampaignRequest>,
    ) -> Result<Response<pb::CreateSurveyCampaignResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        require_role(&actor, rules::PLANNERS, "plans survey campaigns")?; // rule CS-1
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("title", &req.title, rules::MAX_TITLE);
        let rules_of = &property.rules.surveys;
        let (items, levels, satisfied_levels) = rules::scale(
            req.items,
            req.levels,
            req.satisfied_levels,
            rules_of,
            &mut v,
        );
        let start = time_field(&mut v, "start_time", req.start_time.as_ref());
        let end = time_field(&mut v, "end_time", req.end_time.as_ref());
        if let (Some(s), Some(e)) = (start, end)
            && (e <= s || e - s > Duration::days(366))
        {
            v.add("end_time", "must be after start_time, at most a year later");
        }
        v.check()?;
        let (Some(start_at), Some(end_at)) = (start, end) else {
            unreachable!("checked above");
        };
        let now = self.clock.now();
        let campaign = Campaign {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            title: req.title.trim().to_owned(),
            items,
            levels,
            satisfied_levels,
            start_at,
            end_at,
            publish_due_at: rules::publish_due(end_at, rules_of), // rule CS-5
            planned_by: actor,
            created_at: now,
            opinion_summary: String::new(),
            improvement_measures: String::new(),
            report: None,
            publication: None,
        };
        let id = match store::create(&self.db, &request_id, &campaign).await? {
            Created::New(()) => campaign.id,
            Created::Retry(id) => id,
        };
        let campaign = self.campaign(&property.id, &id).await?;
        Ok(Response::new(pb::CreateSurveyCampaignResponse {
            campaign: Some(campaign_to_proto(campaign, now)),
        }))
    }

    async fn get_survey_campaign(
        &self,
        request: Request<pb::GetSurveyCampaignRequest>,
    ) -> Result<Response<pb::GetSurveyCampaignResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        Ok(Response::new(pb::GetSurveyCampaignResponse {
            campaign: Some(campaign_to_proto(campaign, self.clock.now())),
        }))
    }

    async fn list_survey_campaigns(
        &self,
        request: Request<pb::ListSurveyCampaignsRequest>,
    ) -> Result<Response<pb::ListSurveyCampaignsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = time_id_token(&req.page_token)?;
        let campaigns = store::list(&self.db, &property.id, before, limit).await?;
        let next_page_token = match campaigns.last() {
            Some(c) if campaigns.len() as i64 == limit => {
                page::encode(&format!("{}:{}", to_micros(c.start_at), c.id))
            }
            _ => String::new(),
        };
        let now = self.clock.now();
        // rule CS-1: at least once per configured period.
        let next_due = store::latest_start(&self.db, &property.id)
            .await?
            .map(|s| rules::next_campaign_due(s, &property.rules.surveys, property.time_zone));
        Ok(Response::new(pb::ListSurveyCampaignsResponse {
            campaigns: campaigns
                .into_iter()
                .map(|c| campaign_to_proto(c, now))
                .collect(),
            next_page_token,
            next_campaign_due_time: next_due.map(to_timestamp),
            campaign_due: next_due.is_none_or(|due| due <= now),
        }))
    }

    async fn distribute_survey_forms(
        &self,
        request: Request<pb::DistributeSurveyFormsRequest>,
    ) -> Result<Response<pb::DistributeSurveyFormsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        require_role(&actor, rules::COLLECTORS, "hands out survey forms")?; // rule CS-2
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("campaign_id", &req.campaign_id, 64);
        match (req.all_living_households, req.household_ids.len()) {
            (true, 0) => {}
            (true, _) => v.add(
                "household_ids",
                "must be empty when all_living_households is set",
            ),
            (false, 0) => v.add(
                "household_ids",
                "name the households, or set all_living_households",
            ),
            (false, n) if n > MAX_HOUSEHOLDS => {
                v.add("household_ids", format!("at most {MAX_HOUSEHOLDS} at once"))
            }
            (false, _) => {
                for (i, id) in req.household_ids.iter().enumerate() {
                    v.required_text(&format!("household_ids[{i}]"), id, 64);
                }
            }
        }
        v.check()?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        let now = self.clock.now();
        campaign.check_open(now)?;
        let recipients = if req.all_living_households {
            Recipients::AllLiving
        } else {
            let mut ids = req.household_ids;
            ids.dedup();
            Recipients::Households(ids)
        };
        let (newly, total) =
            store::distribute(&self.db, &request_id, &campaign, &recipients, &actor, now).await?;
        tracing::info!(property = %property.id, campaign = %campaign.id, newly, total, "survey forms handed out");
        Ok(Response::new(pb::DistributeSurveyFormsResponse {
            newly_distributed: newly,
            distributed: total,
        }))
    }

    async fn return_survey_form(
        &self,
        request: Request<pb::ReturnSurveyFormRequest>,
    ) -> Result<Response<pb::ReturnSurveyFormResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        require_role(&actor, rules::COLLECTORS, "collects survey forms")?; // rule CS-2
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("campaign_id", &req.campaign_id, 64);
        v.required_text("household_id", &req.household_id, 64);
        v.check()?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        // rule CS-3: ratings of the campaign's items on its scale, each item once.
        let mut v = Violations::new();
        if req.ratings.is_empty() {
            v.add("ratings", "a returned form rates at least one item");
        }
        let mut ratings: Vec<(usize, usize)> = Vec::new();
        for (i, r) in req.ratings.iter().enumerate() {
            let item = campaign.item_index(r.item.trim());
            let level = campaign.level_index(r.level.trim());
            if item.is_none() {
                v.add(
                    &format!("ratings[{i}].item"),
                    "is not an item of this survey",
                );
            }
            if level.is_none() {
                v.add(
                    &format!("ratings[{i}].level"),
                    "is not a level of this survey",
                );
            }
            if let (Some(item), Some(level)) = (item, level) {
                if ratings.iter().any(|&(seen, _)| seen == item) {
                    v.add(&format!("ratings[{i}].item"), "is rated twice");
                } else {
                    ratings.push((item, level));
                }
            }
        }
        if req.remarks.len() > rules::MAX_REMARKS {
            v.add("remarks", format!("at most {}", rules::MAX_REMARKS));
        }
        let mut remarks = Vec::new();
        for (i, r) in req.remarks.iter().enumerate() {
            let item = match r.item.trim() {
                "" => None,
                name => {
                    let found = campaign.item_index(name);
                    if found.is_none() {
                        v.add(
                            &format!("remarks[{i}].item"),
                            "is not an item of this survey",
                        );
                    }
                    found
                }
            };
            let kind = match pb::RemarkKind::try_from(r.kind) {
                Ok(pb::RemarkKind::Opinion) => Some(RemarkKind::Opinion),
                Ok(pb::RemarkKind::Suggestion) => Some(RemarkKind::Suggestion),
                _ => {
                    v.add(
                        &format!("remarks[{i}].kind"),
                        "must be opinion or suggestion",
                    );
                    None
                }
            };
            v.required_text(&format!("remarks[{i}].text"), &r.text, rules::MAX_REMARK);
            if let Some(kind) = kind {
                remarks.push(Remark {
                    item,
                    kind,
                    text: r.text.trim().to_owned(),
                });
            }
        }
        v.check()?;
        let now = self.clock.now();
        campaign.check_open(now)?; // rule CS-2
        let household = match store::return_form(
            &self.db,
            &request_id,
            &campaign,
            &req.household_id,
            &ratings,
            &remarks,
            &actor,
            now,
        )
        .await?
        {
            Created::New(()) => req.household_id,
            Created::Retry(first) => first,
        };
        let form = store::get_form(&self.db, &campaign.id, &household)
            .await?
            .ok_or_else(|| Error::not_found("survey form", household))?;
        Ok(Response::new(pb::ReturnSurveyFormResponse {
            form: Some(form_to_proto(&campaign, form)),
        }))
    }

    async fn list_survey_forms(
        &self,
        request: Request<pb::ListSurveyFormsRequest>,
    ) -> Result<Response<pb::ListSurveyFormsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token)?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        let forms = store::list_forms(
            &self.db,
            &campaign.id,
            req.outstanding_only,
            after.as_deref(),
            limit,
        )
        .await?;
        let next_page_token = match forms.last() {
            Some(f) if forms.len() as i64 == limit => page::encode(&f.household_id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListSurveyFormsResponse {
            forms: forms
                .into_iter()
                .map(|f| form_to_proto(&campaign, f))
                .collect(),
            next_page_token,
        }))
    }

    async fn get_survey_statistics(
        &self,
        request: Request<pb::GetSurveyStatisticsRequest>,
    ) -> Result<Response<pb::GetSurveyStatisticsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        let (stats, groups) = self.statistics(&campaign).await?;
        Ok(Response::new(pb::GetSurveyStatisticsResponse {
            statistics: Some(statistics_to_proto(
                &campaign,
                stats,
                groups,
                self.clock.now(),
            )),
        }))
    }

    async fn record_survey_report(
        &self,
        request: Request<pb::RecordSurveyReportRequest>,
    ) -> Result<Response<pb::RecordSurveyReportResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        // "项目经理对满意度调查表进行分析后,形成意见调查报告" (CS-4).
        require_role(&actor, rules::PLANNERS, "writes the survey report")?;
        let mut v = Violations::new();
        v.required_text("campaign_id", &req.campaign_id, 64);
        v.max_text("opinion_summary", &req.opinion_summary, rules::MAX_REPORT);
        v.required_text(
            "improvement_measures",
            &req.improvement_measures,
            rules::MAX_REPORT,
        );
        v.check()?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        campaign.check_report()?;
        let now = self.clock.now();
        if !store::record_report(
            &self.db,
            &property.id,
            &campaign.id,
            req.opinion_summary.trim(),
            req.improvement_measures.trim(),
            &actor,
            now,
        )
        .await?
        {
            // Published in between.
            self.campaign(&property.id, &campaign.id)
                .await?
                .check_report()?;
        }
        let campaign = self.campaign(&property.id, &campaign.id).await?;
        Ok(Response::new(pb::RecordSurveyReportResponse {
            campaign: Some(campaign_to_proto(campaign, now)),
        }))
    }

    async fn render_survey_report(
        &self,
        request: Request<pb::RenderSurveyReportRequest>,
    ) -> Result<Response<pb::RenderSurveyReportResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        let (stats, groups) = self.statistics(&campaign).await?;
        let now = self.clock.now();
        let html = rules::render_report(
            &campaign,
            &stats,
            &groups,
            &property.name,
            property.time_zone,
            now,
        );
        let file_name = format!(
            "意见调查报告-{}-{}.html",
            property.id,
            campaign
                .start_at
                .with_timezone(&property.time_zone)
                .format("%Y%m%d")
        );
        Ok(Response::new(pb::RenderSurveyReportResponse {
            document: Some(html_document(file_name, html)),
        }))
    }

    async fn render_survey_form(
        &self,
        request: Request<pb::RenderSurveyFormRequest>,
    ) -> Result<Response<pb::RenderSurveyFormResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        let html = rules::render_form(&campaign, &property.name, property.time_zone);
        let file_name = format!(
            "满意度调查表-{}-{}.html",
            property.id,
            campaign
                .start_at
                .with_timezone(&property.time_zone)
                .format("%Y%m%d")
        );
        Ok(Response::new(pb::RenderSurveyFormResponse {
            document: Some(html_document(file_name, html)),
        }))
    }

    async fn publish_survey_results(
        &self,
        request: Request<pb::PublishSurveyResultsRequest>,
    ) -> Result<Response<pb::PublishSurveyResultsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let actor = caller.actor();
        // "客户服务部将客户意见调查结果及整改情况...向客户进行通报" (CS-5).
        require_role(
            &actor,
            &["cs_supervisor", "cs_clerk", "project_manager"],
            "publishes survey results",
        )?;
        let mut v = Violations::new();
        v.required_text("campaign_id", &req.campaign_id, 64);
        v.required_text("publication_note", &req.publication_note, 1000);
        v.required_text(
            "improvement_progress",
            &req.improvement_progress,
            rules::MAX_REPORT,
        );
        v.check()?;
        let campaign = self.campaign(&property.id, &req.campaign_id).await?;
        let now = self.clock.now();
        campaign.check_publish(now)?;
        let publication = Publication {
            at: now,
            by: actor,
            note: req.publication_note.trim().to_owned(),
            improvement_progress: req.improvement_progress.trim().to_owned(),
        };
        if !store::publish(&self.db, &property.id, &campaign.id, &publication).await? {
            // Someone published in between: say why from what is stored now.
            self.campaign(&property.id, &campaign.id)
                .await?
                .check_publish(now)?;
        }
        let campaign = self.campaign(&property.id, &campaign.id).await?;
        if campaign.publication_late(now) {
            tracing::warn!(property = %property.id, campaign = %campaign.id, "survey results published after the deadline");
        }
        Ok(Response::new(pb::PublishSurveyResultsResponse {
            campaign: Some(campaign_to_proto(campaign, now)),
        }))
    }

    async fn list_overdue_survey_publications(
        &self,
        request: Request<pb::ListOverdueSurveyPublicationsRequest>,
    ) -> Result<Response<pb::ListOverdueSurveyPublicationsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let after = time_id_token(&req.page_token)?;
        let now = self.clock.now();
        let campaigns = store::list_overdue(&self.db, &property.id, now, after, limit).await?;
        let next_page_token = match campaigns.last() {
            Some(c) if campaigns.len() as i64 == limit => {
                page::encode(&format!("{}:{}", to_micros(c.publish_due_at), c.id))
            }
            _ => String::new(),
        };
        Ok(Response::new(pb::ListOverdueSurveyPublicationsResponse {
            campaigns: campaigns
                .into_iter()
                .map(|c| campaign_to_proto(c, now))
                .collect(),
            next_page_token,
        }))
    }
}

impl CustomerService {
    async fn campaign(&self, property_id: &str, id: &str) -> Result<Campaign> {
        if id.is_empty() {
            return Err(Error::invalid("campaign_id", "must not be empty"));
        }
        store::get(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("survey campaign", id))
    }

    async fn statistics(&self, c: &Campaign) -> Result<(Statistics, Vec<rules::RemarkGroup>)> {
        let (distributed, returned, counts) = store::counts(&self.db, &c.id).await?;
        let remarks = store::remarks(&self.db, &c.id).await?;
        Ok((
            rules::statistics(c, distributed, returned, &counts),
            rules::group_remarks(c, &remarks),
        ))
    }
}

/// The service's own check of who may act, beside the gateway's policy.
pub(crate) fn require_role(actor: &Actor, roles: &[&str], what: &str) -> Result<()> {
    if roles.contains(&actor.role.as_str()) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("role {} is not among those who {what}", actor.role),
        ))
    }
}

fn time_field(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    match ts.map(from_timestamp) {
        Some(Some(t)) => Some(t),
        Some(None) => {
            v.add(field, "is not a valid time");
            None
        }
        None => {
            v.add(field, "must be set");
            None
        }
    }
}

/// A page token of (instant micros, id).
pub(crate) fn time_id_token(token: &str) -> Result<Option<(i64, String)>> {
    page::decode(token)?
        .map(|key| {
            key.split_once(':')
                .and_then(|(at, id)| Some((at.parse().ok()?, id.to_owned())))
                .ok_or_else(page::bad_token)
        })
        .transpose()
}

fn actor_proto(a: &Actor) -> Option<wuye_proto::common::Actor> {
    Some(a.to_proto())
}

fn campaign_to_proto(c: Campaign, now: DateTime<Utc>) -> pb::SurveyCampaign {
    let late = c.publication_late(now);
    let (report_by, report_time) = match &c.report {
        Some((a, at)) => (actor_proto(a), Some(to_timestamp(*at))),
        None => (None, None),
    };
    let (publish_time, published_by, publication_note, improvement_progress) = match c.publication {
        Some(p) => (
            Some(to_timestamp(p.at)),
            actor_proto(&p.by),
            p.note,
            p.improvement_progress,
        ),
        None => (None, None, String::new(), String::new()),
    };
    pb::SurveyCampaign {
        id: c.id,
        property_id: c.property_id,
        title: c.title,
        items: c.items,
        levels: c.levels,
        satisfied_levels: c.satisfied_levels as i32,
        start_time: Some(to_timestamp(c.start_at)),
        end_time: Some(to_timestamp(c.end_at)),
        publish_due_time: Some(to_timestamp(c.publish_due_at)),
        planned_by: actor_proto(&c.planned_by),
        create_time: Some(to_timestamp(c.created_at)),
        opinion_summary: c.opinion_summary,
        improvement_measures: c.improvement_measures,
        report_by,
        report_time,
        publish_time,
        published_by,
        publication_note,
        improvement_progress,
        publication_late: late,
    }
}

fn form_to_proto(c: &Campaign, f: Form) -> pb::SurveyForm {
    let name = |names: &[String], i: usize| names.get(i).cloned().unwrap_or_default();
    let (return_time, collected_by) = match &f.returned {
        Some((at, by)) => (Some(to_timestamp(*at)), actor_proto(by)),
        None => (None, None),
    };
    pb::SurveyForm {
        campaign_id: f.campaign_id,
        household_id: f.household_id,
        unit_id: f.unit_id,
        unit_label: f.unit_label,
        distribute_time: Some(to_timestamp(f.distributed_at)),
        distributed_by: actor_proto(&f.distributed_by),
        return_time,
        collected_by,
        ratings: f
            .ratings
            .iter()
            .map(|&(item, level)| pb::SurveyRating {
                item: name(&c.items, item),
                level: name(&c.levels, level),
            })
            .collect(),
        remarks: f
            .remarks
            .into_iter()
            .map(|r| pb::SurveyRemark {
                item: r.item.map(|i| name(&c.items, i)).unwrap_or_default(),
                kind: match r.kind {
                    RemarkKind::Opinion => pb::RemarkKind::Opinion,
                    RemarkKind::Suggestion => pb::RemarkKind::Suggestion,
                }
                .into(),
                text: r.text,
            })
            .collect(),
    }
}

fn statistics_to_proto(
    c: &Campaign,
    s: Statistics,
    groups: Vec<rules::RemarkGroup>,
    now: DateTime<Utc>,
) -> pb::SurveyStatistics {
    pb::SurveyStatistics {
        campaign_id: c.id.clone(),
        distributed: s.distributed,
        returned: s.returned,
        return_rate: s.return_rate(),
        rated: s.rated,
        satisfied: s.satisfied,
        satisfaction_rate: s.satisfaction_rate(),
        items: s
            .items
            .into_iter()
            .map(|i| pb::ItemStatistics {
                satisfaction_rate: rate(i.satisfied, i.rated),
                item: i.item,
                rated: i.rated,
                satisfied: i.satisfied,
                levels: c
                    .levels
                    .iter()
                    .zip(i.levels)
                    .map(|(level, count)| pb::LevelCount {
                        level: level.clone(),
                        count,
                    })
                    .collect(),
            })
            .collect(),
        remarks: groups
            .into_iter()
            .map(|g| pb::RemarkGroup {
                item: g.item,
                opinions: g.opinions,
                suggestions: g.suggestions,
            })
            .collect(),
        compute_time: Some(to_timestamp(now)),
    }
}
