//! The survey desk (SurveyService): each call's scope, its request checked and read into the
//! domain, one use case of `app::surveys`, and the answer converted out.

use chrono::{DateTime, Duration, Utc};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Result, Violations,
    document::html_document,
    from_proto,
    idempotency::RequestId,
    time::{from_timestamp, to_timestamp},
};
use wuye_proto::customerservice::{self as pb, survey_service_server::SurveyService};

// Visits' until they page with `wuye_kit::page` and take the role check from `app`.
use crate::app::require_role;
use crate::{
    CustomerService,
    app::surveys::{self as surveys, Answer, Notice},
    convert::{CampaignAt, FormOf, StatisticsOf},
    domain::surveys::{self as rules, Campaign, Recipients, RemarkKind, WrittenRemark},
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
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let actor = scope.actor();
        require_role(&actor, rules::PLANNERS, "plans survey campaigns")?; // rule CS-1
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("title", &req.title, rules::MAX_TITLE);
        let rules_of = &scope.property().rules.surveys;
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
            property_id: scope.property().id.clone(),
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
        let campaign = surveys::create(self, &scope, &request_id, campaign).await?;
        Ok(Response::new(pb::CreateSurveyCampaignResponse {
            campaign: Some(CampaignAt(campaign, now).into()),
        }))
    }

    async fn get_survey_campaign(
        &self,
        request: Request<pb::GetSurveyCampaignRequest>,
    ) -> Result<Response<pb::GetSurveyCampaignResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let campaign = surveys::get(self, &scope, &req.campaign_id).await?;
        Ok(Response::new(pb::GetSurveyCampaignResponse {
            campaign: Some(CampaignAt(campaign, self.clock.now()).into()),
        }))
    }

    async fn list_survey_campaigns(
        &self,
        request: Request<pb::ListSurveyCampaignsRequest>,
    ) -> Result<Response<pb::ListSurveyCampaignsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let list = surveys::list(self, &scope, req.page_size, &req.page_token).await?;
        let now = self.clock.now();
        Ok(Response::new(pb::ListSurveyCampaignsResponse {
            campaigns: list
                .campaigns
                .into_iter()
                .map(|c| CampaignAt(c, now).into())
                .collect(),
            next_page_token: list.next_page_token,
            next_campaign_due_time: list.next_due.map(to_timestamp),
            campaign_due: list.next_due.is_none_or(|due| due <= now),
        }))
    }

    async fn distribute_survey_forms(
        &self,
        request: Request<pb::DistributeSurveyFormsRequest>,
    ) -> Result<Response<pb::DistributeSurveyFormsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        require_role(&scope.actor(), rules::COLLECTORS, "hands out survey forms")?; // rule CS-2
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
        let recipients = if req.all_living_households {
            Recipients::AllLiving
        } else {
            let mut ids = req.household_ids;
            ids.dedup();
            Recipients::Households(ids)
        };
        let (newly, total) =
            surveys::distribute(self, &scope, &request_id, &req.campaign_id, recipients).await?;
        Ok(Response::new(pb::DistributeSurveyFormsResponse {
            newly_distributed: newly,
            distributed: total,
        }))
    }

    async fn return_survey_form(
        &self,
        request: Request<pb::ReturnSurveyFormRequest>,
    ) -> Result<Response<pb::ReturnSurveyFormResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        require_role(&scope.actor(), rules::COLLECTORS, "collects survey forms")?; // rule CS-2
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("campaign_id", &req.campaign_id, 64);
        v.required_text("household_id", &req.household_id, 64);
        v.check()?;
        let answer = Answer {
            campaign_id: req.campaign_id,
            household_id: req.household_id,
            ratings: req.ratings.into_iter().map(|r| (r.item, r.level)).collect(),
            remarks: req
                .remarks
                .into_iter()
                .map(|r| WrittenRemark {
                    item: r.item,
                    kind: from_proto::<pb::RemarkKind, RemarkKind>(r.kind),
                    text: r.text,
                })
                .collect(),
        };
        let (campaign, form) = surveys::return_form(self, &scope, &request_id, answer).await?;
        Ok(Response::new(pb::ReturnSurveyFormResponse {
            form: Some(FormOf(&campaign, form).into()),
        }))
    }

    async fn list_survey_forms(
        &self,
        request: Request<pb::ListSurveyFormsRequest>,
    ) -> Result<Response<pb::ListSurveyFormsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (campaign, forms, next_page_token) = surveys::list_forms(
            self,
            &scope,
            &req.campaign_id,
            req.outstanding_only,
            req.page_size,
            &req.page_token,
        )
        .await?;
        Ok(Response::new(pb::ListSurveyFormsResponse {
            forms: forms
                .into_iter()
                .map(|f| FormOf(&campaign, f).into())
                .collect(),
            next_page_token,
        }))
    }

    async fn get_survey_statistics(
        &self,
        request: Request<pb::GetSurveyStatisticsRequest>,
    ) -> Result<Response<pb::GetSurveyStatisticsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (campaign, stats, groups) = surveys::statistics(self, &scope, &req.campaign_id).await?;
        let statistics = StatisticsOf {
            campaign: &campaign,
            stats,
            groups,
            at: self.clock.now(),
        };
        Ok(Response::new(pb::GetSurveyStatisticsResponse {
            statistics: Some(statistics.into()),
        }))
    }

    async fn record_survey_report(
        &self,
        request: Request<pb::RecordSurveyReportRequest>,
    ) -> Result<Response<pb::RecordSurveyReportResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        // "项目经理对满意度调查表进行分析后,形成意见调查报告" (CS-4).
        require_role(&scope.actor(), rules::PLANNERS, "writes the survey report")?;
        let mut v = Violations::new();
        v.required_text("campaign_id", &req.campaign_id, 64);
        v.max_text("opinion_summary", &req.opinion_summary, rules::MAX_REPORT);
        v.required_text(
            "improvement_measures",
            &req.improvement_measures,
            rules::MAX_REPORT,
        );
        v.check()?;
        let campaign = surveys::record_report(
            self,
            &scope,
            &req.campaign_id,
            req.opinion_summary.trim(),
            req.improvement_measures.trim(),
        )
        .await?;
        Ok(Response::new(pb::RecordSurveyReportResponse {
            campaign: Some(CampaignAt(campaign, self.clock.now()).into()),
        }))
    }

    async fn render_survey_report(
        &self,
        request: Request<pb::RenderSurveyReportRequest>,
    ) -> Result<Response<pb::RenderSurveyReportResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (file_name, html) = surveys::render_report(self, &scope, &req.campaign_id).await?;
        Ok(Response::new(pb::RenderSurveyReportResponse {
            document: Some(html_document(file_name, html)),
        }))
    }

    async fn render_survey_form(
        &self,
        request: Request<pb::RenderSurveyFormRequest>,
    ) -> Result<Response<pb::RenderSurveyFormResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (file_name, html) = surveys::render_form(self, &scope, &req.campaign_id).await?;
        Ok(Response::new(pb::RenderSurveyFormResponse {
            document: Some(html_document(file_name, html)),
        }))
    }

    async fn publish_survey_results(
        &self,
        request: Request<pb::PublishSurveyResultsRequest>,
    ) -> Result<Response<pb::PublishSurveyResultsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        // "客户服务部将客户意见调查结果及整改情况...向客户进行通报" (CS-5).
        require_role(
            &scope.actor(),
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
        let notice = Notice {
            note: req.publication_note.trim().to_owned(),
            improvement_progress: req.improvement_progress.trim().to_owned(),
        };
        let campaign = surveys::publish(self, &scope, &req.campaign_id, notice).await?;
        Ok(Response::new(pb::PublishSurveyResultsResponse {
            campaign: Some(CampaignAt(campaign, self.clock.now()).into()),
        }))
    }

    async fn list_overdue_survey_publications(
        &self,
        request: Request<pb::ListOverdueSurveyPublicationsRequest>,
    ) -> Result<Response<pb::ListOverdueSurveyPublicationsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let (campaigns, next_page_token) =
            surveys::list_overdue(self, &scope, req.page_size, &req.page_token).await?;
        let now = self.clock.now();
        Ok(Response::new(pb::ListOverdueSurveyPublicationsResponse {
            campaigns: campaigns
                .into_iter()
                .map(|c| CampaignAt(c, now).into())
                .collect(),
            next_page_token,
        }))
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
