//! Satisfaction surveys through the gateway (CS-1 to CS-6), on SQLite and PostgreSQL: a
//! campaign over 500 generated households with a known pattern of returns and ratings, checked
//! against an independent count; one answer per household; the report and its publication
//! deadline with a moving clock; bad input and refusals.

use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use tonic::Code;
use tonic_types::StatusExt;
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends,
    proto::customerservice::{self as pb, HouseholdState},
};

both_backends!(
    a_campaign_over_500_households_counts_exactly,
    publication_is_overdue_a_month_after_the_end,
    bad_input_and_refusals,
);

const ITEMS: [&str; 8] = [
    "供电",
    "供水",
    "消防治安",
    "卫生",
    "绿化",
    "公共设施",
    "维修服务",
    "服务态度",
];
const LEVELS: [&str; 5] = ["很满意", "满意", "较满意", "一般", "不满意"];
/// The default: 很满意, 满意 and 较满意 count as satisfied.
const SATISFIED_LEVELS: usize = 3;

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn campaign_request(
    request_id: &str,
    start: DateTime<Utc>,
    days: i64,
) -> pb::CreateSurveyCampaignRequest {
    pb::CreateSurveyCampaignRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        title: "2026年度客户满意度调查".into(),
        items: vec![],
        levels: vec![],
        satisfied_levels: 0,
        start_time: ts(start),
        end_time: ts(start + Duration::days(days)),
    }
}

async fn create_campaign(stack: &Stack, request_id: &str, days: i64) -> pb::SurveyCampaign {
    stack
        .surveys("project_manager")
        .create_survey_campaign(campaign_request(request_id, stack.clock_now(), days))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap()
}

trait Now {
    fn clock_now(&self) -> DateTime<Utc>;
}

impl Now for Stack {
    fn clock_now(&self) -> DateTime<Utc> {
        use wuye_kit::clock::Clock;
        self.clock.now()
    }
}

/// The households living in the property, by id.
async fn living_households(stack: &Stack) -> Vec<String> {
    let mut clerk = stack.households("cs_clerk");
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = clerk
            .list_households(pb::ListHouseholdsRequest {
                property_id: PROPERTY.into(),
                state: HouseholdState::Living.into(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.households.into_iter().map(|h| h.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    ids.sort();
    ids
}

/// The pattern: which of the 500 return their form, and how each rates each item (None: the
/// item left blank).
fn returns(i: usize) -> bool {
    i % 10 != 3 && !i.is_multiple_of(7)
}

fn rating(i: usize, item: usize) -> Option<usize> {
    (!(i + item).is_multiple_of(11)).then_some((i * 3 + item * 5 + i / 13) % LEVELS.len())
}

async fn a_campaign_over_500_households_counts_exactly(backend: Backend) {
    let stack = Stack::start(backend).await;
    // 4 × 2 × 12 × 6 = 576 units; with 95% sold and all of those lived in, over 500
    // households.
    let size = wuye::demo::DemoSize {
        buildings: 4,
        entrances: 2,
        floors: 12,
        doors: 6,
        occupancy_percent: 100,
        complaints: 0,
        months: 0,
    };
    let plan = wuye::demo::plan_property(7, PROPERTY, "阳光花园", size);
    let gateway = format!("http://{}", stack.gateway);
    // The loader is idempotent: on a busy machine a call past the gateway's deadline is
    // loaded again, never twice.
    let mut attempts = 0;
    while let Err(e) = wuye::demo::load(&gateway, 7, &plan, None).await {
        attempts += 1;
        assert!(attempts < 3, "loading the households: {e:#}");
    }
    let living = living_households(&stack).await;
    assert!(living.len() > 500, "{} households", living.len());
    let surveyed: Vec<String> = living[..500].to_vec();

    let campaign = create_campaign(&stack, "campaign-2026", 14).await;
    // rule CS-3: the defaults of the property.
    assert_eq!(campaign.items, ITEMS);
    assert_eq!(campaign.levels, LEVELS);
    assert_eq!(campaign.satisfied_levels as usize, SATISFIED_LEVELS);

    // rule CS-2: forms handed to the 500, recorded per household.
    let mut clerk = stack.surveys("cs_clerk");
    let distribute = pb::DistributeSurveyFormsRequest {
        property_id: PROPERTY.into(),
        request_id: "hand-out-1".into(),
        campaign_id: campaign.id.clone(),
        all_living_households: false,
        household_ids: surveyed.clone(),
    };
    let handed = clerk
        .distribute_survey_forms(distribute.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((handed.newly_distributed, handed.distributed), (500, 500));
    let retry = clerk
        .distribute_survey_forms(distribute.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry, handed, "a retry returns the first hand-out");
    let again = clerk
        .distribute_survey_forms(pb::DistributeSurveyFormsRequest {
            request_id: "hand-out-2".into(),
            household_ids: surveyed[..10].to_vec(),
            ..distribute.clone()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.newly_distributed, again.distributed),
        (0, 500),
        "a household gets one form"
    );

    // The returns, concurrently, as the clerks bring them back.
    let answers: Vec<(usize, pb::ReturnSurveyFormRequest)> = surveyed
        .iter()
        .enumerate()
        .filter(|(i, _)| returns(*i))
        .map(|(i, household)| {
            let ratings = (0..ITEMS.len())
                .filter_map(|item| {
                    rating(i, item).map(|level| pb::SurveyRating {
                        item: ITEMS[item].into(),
                        level: LEVELS[level].into(),
                    })
                })
                .collect();
            let mut remarks = Vec::new();
            if i.is_multiple_of(50) {
                remarks.push(pb::SurveyRemark {
                    item: "绿化".into(),
                    kind: pb::RemarkKind::Opinion.into(),
                    text: format!("草坪需要修剪 {i}"),
                });
            }
            if i.is_multiple_of(75) {
                remarks.push(pb::SurveyRemark {
                    item: String::new(),
                    kind: pb::RemarkKind::Suggestion.into(),
                    text: format!("多组织社区活动 {i}"),
                });
            }
            (
                i,
                pb::ReturnSurveyFormRequest {
                    property_id: PROPERTY.into(),
                    request_id: format!("return-{i}"),
                    campaign_id: campaign.id.clone(),
                    household_id: household.clone(),
                    ratings,
                    remarks,
                },
            )
        })
        .collect();
    let returned = answers.len();
    let first_answer = answers[0].1.clone();
    stream::iter(answers)
        .map(|(_, request)| {
            let mut clerk = clerk.clone();
            async move { clerk.return_survey_form(request).await.map(|_| ()) }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();

    // rule CS-2: a household answers once; a retry of the same answer is not a second one.
    let form = clerk
        .return_survey_form(first_answer.clone())
        .await
        .unwrap()
        .into_inner()
        .form
        .unwrap();
    assert_eq!(form.household_id, first_answer.household_id);
    assert_eq!(form.ratings, first_answer.ratings);
    assert!(form.return_time.is_some());
    let second = clerk
        .return_survey_form(pb::ReturnSurveyFormRequest {
            request_id: "return-again".into(),
            ..first_answer.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition);
    assert_eq!(reason(&second), "SURVEY_ALREADY_ANSWERED");
    let stranger = clerk
        .return_survey_form(pb::ReturnSurveyFormRequest {
            request_id: "return-stranger".into(),
            household_id: living[500].clone(),
            ..first_answer.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&stranger), "FORM_NOT_DISTRIBUTED");

    // The independent count.
    let mut rated = [0i64; ITEMS.len()];
    let mut satisfied = [0i64; ITEMS.len()];
    let mut by_level = [[0i64; LEVELS.len()]; ITEMS.len()];
    for i in (0..500).filter(|&i| returns(i)) {
        for item in 0..ITEMS.len() {
            if let Some(level) = rating(i, item) {
                rated[item] += 1;
                by_level[item][level] += 1;
                if level < SATISFIED_LEVELS {
                    satisfied[item] += 1;
                }
            }
        }
    }
    let all_rated: i64 = rated.iter().sum();
    let all_satisfied: i64 = satisfied.iter().sum();

    let stats = stack
        .surveys("project_manager")
        .get_survey_statistics(pb::GetSurveyStatisticsRequest {
            property_id: PROPERTY.into(),
            campaign_id: campaign.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .statistics
        .unwrap();
    // rule CS-4
    assert_eq!((stats.distributed, stats.returned), (500, returned as i64));
    assert_eq!(stats.return_rate, returned as f64 / 500.0);
    assert_eq!((stats.rated, stats.satisfied), (all_rated, all_satisfied));
    assert_eq!(
        stats.satisfaction_rate,
        all_satisfied as f64 / all_rated as f64
    );
    assert_eq!(stats.items.len(), ITEMS.len());
    for (item, s) in stats.items.iter().enumerate() {
        assert_eq!(s.item, ITEMS[item]);
        assert_eq!(
            (s.rated, s.satisfied),
            (rated[item], satisfied[item]),
            "{}",
            s.item
        );
        assert_eq!(
            s.satisfaction_rate,
            satisfied[item] as f64 / rated[item] as f64
        );
        let levels: Vec<i64> = s.levels.iter().map(|l| l.count).collect();
        assert_eq!(levels, by_level[item]);
    }
    // The opinions grouped for the report: 绿化 first (item order), then the general ones.
    let groups: Vec<&str> = stats.remarks.iter().map(|g| g.item.as_str()).collect();
    assert_eq!(groups, ["绿化", ""]);
    let greening = (0..500)
        .filter(|&i| returns(i) && i.is_multiple_of(50))
        .count();
    let general = (0..500)
        .filter(|&i| returns(i) && i.is_multiple_of(75))
        .count();
    assert_eq!(stats.remarks[0].opinions.len(), greening);
    assert_eq!(stats.remarks[1].suggestions.len(), general);

    // The forms still out, to chase.
    let outstanding = stack
        .surveys("cs_supervisor")
        .list_survey_forms(pb::ListSurveyFormsRequest {
            property_id: PROPERTY.into(),
            campaign_id: campaign.id.clone(),
            outstanding_only: true,
            page_size: 500,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .forms;
    assert_eq!(outstanding.len(), 500 - returned);
    assert!(
        outstanding
            .iter()
            .all(|f| f.return_time.is_none() && f.ratings.is_empty())
    );

    // rule CS-4: the report, with the measures the project manager decided.
    let mut pm = stack.surveys("project_manager");
    pm.record_survey_report(pb::RecordSurveyReportRequest {
        property_id: PROPERTY.into(),
        campaign_id: campaign.id.clone(),
        opinion_summary: "绿化养护与社区活动是主要意见".into(),
        improvement_measures: "每月修剪草坪两次；每季度组织一次社区活动".into(),
    })
    .await
    .unwrap();
    let report = pm
        .render_survey_report(pb::RenderSurveyReportRequest {
            property_id: PROPERTY.into(),
            campaign_id: campaign.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .document
        .unwrap();
    let html = String::from_utf8(report.content).unwrap();
    assert!(html.contains("意见调查报告"));
    assert!(html.contains(&format!("{:.2}%", returned as f64 / 500.0 * 100.0)));
    assert!(html.contains("草坪需要修剪 50"));
    assert!(html.contains("每月修剪草坪两次"));
    let blank = pm
        .render_survey_form(pb::RenderSurveyFormRequest {
            property_id: PROPERTY.into(),
            campaign_id: campaign.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .document
        .unwrap();
    assert!(
        String::from_utf8(blank.content)
            .unwrap()
            .contains("满意度调查表")
    );
}

async fn publication_is_overdue_a_month_after_the_end(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut pm = stack.surveys("project_manager");
    let list = |mut client: wuye_tests::SurveyClient| async move {
        client
            .list_survey_campaigns(pb::ListSurveyCampaignsRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    };
    // rule CS-1: with no campaign, one is due.
    assert!(list(pm.clone()).await.campaign_due);

    let start = stack.clock_now();
    let late = create_campaign(&stack, "late", 14).await;
    let on_time = create_campaign(&stack, "on-time", 14).await;
    let campaigns = list(pm.clone()).await;
    assert!(!campaigns.campaign_due);
    assert_eq!(campaigns.campaigns.len(), 2);
    let end = start + Duration::days(14);
    // rule CS-5: a month after the end, by default.
    assert_eq!(late.publish_due_time, ts(end + Duration::days(30)));

    let overdue = |mut client: wuye_tests::SurveyClient| async move {
        client
            .list_overdue_survey_publications(pb::ListOverdueSurveyPublicationsRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .campaigns
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    let publish = |id: &str| pb::PublishSurveyResultsRequest {
        property_id: PROPERTY.into(),
        campaign_id: id.into(),
        publication_note: "公告栏张贴、业主微信群通知".into(),
        improvement_progress: "草坪修剪已按月进行".into(),
    };
    let measures = |id: &str| pb::RecordSurveyReportRequest {
        property_id: PROPERTY.into(),
        campaign_id: id.into(),
        opinion_summary: String::new(),
        improvement_measures: "加强绿化养护".into(),
    };

    let early = pm
        .publish_survey_results(publish(&on_time.id))
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "SURVEY_NOT_ENDED");
    stack.clock.set(end + Duration::days(10));
    let incomplete = pm
        .publish_survey_results(publish(&on_time.id))
        .await
        .unwrap_err();
    assert_eq!(reason(&incomplete), "REPORT_INCOMPLETE");
    pm.record_survey_report(measures(&on_time.id))
        .await
        .unwrap();
    let published = pm
        .publish_survey_results(publish(&on_time.id))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert!(published.publish_time.is_some() && !published.publication_late);
    let twice = pm
        .publish_survey_results(publish(&on_time.id))
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "SURVEY_PUBLISHED");
    let changed = pm
        .record_survey_report(measures(&on_time.id))
        .await
        .unwrap_err();
    assert_eq!(reason(&changed), "SURVEY_PUBLISHED");

    // On the last day nothing is overdue; a moment after, the unpublished one is.
    stack.clock.set(end + Duration::days(30));
    assert!(overdue(pm.clone()).await.is_empty());
    stack
        .clock
        .set(end + Duration::days(30) + Duration::minutes(1));
    assert_eq!(overdue(pm.clone()).await, [late.id.as_str()]);
    // Headquarters sees it too.
    assert_eq!(
        overdue(stack.surveys("quality_officer")).await,
        [late.id.as_str()]
    );
    let seen = pm
        .get_survey_campaign(pb::GetSurveyCampaignRequest {
            property_id: PROPERTY.into(),
            campaign_id: late.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert!(seen.publication_late);

    // Published late: off the overdue list, still marked late.
    pm.record_survey_report(measures(&late.id)).await.unwrap();
    let published = pm
        .publish_survey_results(publish(&late.id))
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert!(published.publication_late);
    assert!(overdue(pm.clone()).await.is_empty());
}

async fn bad_input_and_refusals(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut pm = stack.surveys("project_manager");
    let now = stack.clock_now();
    let bad = pm
        .create_survey_campaign(pb::CreateSurveyCampaignRequest {
            property_id: PROPERTY.into(),
            request_id: String::new(),
            title: " ".into(),
            items: vec!["供水".into(), "供水".into()],
            levels: vec!["好".into(), "差".into()],
            satisfied_levels: 2,
            start_time: ts(now),
            end_time: ts(now - Duration::days(1)),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&bad),
        [
            "request_id",
            "title",
            "items[1]",
            "satisfied_levels",
            "end_time"
        ]
    );

    // rule CS-1: the project manager plans; nobody else (the gateway and the service agree).
    for role in ["cs_clerk", "admin", "front_desk"] {
        let refused = stack
            .surveys(role)
            .create_survey_campaign(campaign_request("x", now, 10))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
    }
    let campaign = create_campaign(&stack, "c1", 10).await;
    let retry = create_campaign(&stack, "c1", 10).await;
    assert_eq!(retry.id, campaign.id, "a retry returns the first campaign");

    let mut clerk = stack.surveys("cs_clerk");
    let unit = stack
        .households("cs_clerk")
        .create_unit(pb::CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: "u1".into(),
            building: "1".into(),
            entrance: "1".into(),
            floor: 2,
            room: "201".into(),
            area_m2: 90.0,
            state: pb::UnitState::Vacant.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    let household = stack
        .households("cs_clerk")
        .record_move_in(pb::RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: "m1".into(),
            unit_id: unit.id.clone(),
            residents: vec![pb::Resident {
                name: "赵六".into(),
                relation: pb::ResidentRelation::Owner.into(),
                phone: "139 0000 1111".into(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    let handed = clerk
        .distribute_survey_forms(pb::DistributeSurveyFormsRequest {
            property_id: PROPERTY.into(),
            request_id: "all".into(),
            campaign_id: campaign.id.clone(),
            all_living_households: true,
            household_ids: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((handed.newly_distributed, handed.distributed), (1, 1));
    let unknown = clerk
        .distribute_survey_forms(pb::DistributeSurveyFormsRequest {
            property_id: PROPERTY.into(),
            request_id: "some".into(),
            campaign_id: campaign.id.clone(),
            all_living_households: false,
            household_ids: vec![household.id.clone(), "nobody".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&unknown), ["household_ids[1]"]);

    let bad = clerk
        .return_survey_form(pb::ReturnSurveyFormRequest {
            property_id: PROPERTY.into(),
            request_id: "r1".into(),
            campaign_id: campaign.id.clone(),
            household_id: household.id.clone(),
            ratings: vec![
                pb::SurveyRating {
                    item: "电梯".into(),
                    level: "满意".into(),
                },
                pb::SurveyRating {
                    item: "供水".into(),
                    level: "还行".into(),
                },
                pb::SurveyRating {
                    item: "供电".into(),
                    level: "满意".into(),
                },
                pb::SurveyRating {
                    item: "供电".into(),
                    level: "一般".into(),
                },
            ],
            remarks: vec![pb::SurveyRemark {
                item: String::new(),
                kind: 0,
                text: String::new(),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&bad),
        [
            "ratings[0].item",
            "ratings[1].level",
            "ratings[3].item",
            "remarks[0].kind",
            "remarks[0].text"
        ]
    );
    // Nothing half-written: the refused answer left the form out.
    let forms = clerk
        .list_survey_forms(pb::ListSurveyFormsRequest {
            property_id: PROPERTY.into(),
            campaign_id: campaign.id.clone(),
            outstanding_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .forms;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0].unit_label, "1-1-201");

    // rule CS-2: after the end no form comes back.
    stack.clock.set(now + Duration::days(11));
    let late = clerk
        .return_survey_form(pb::ReturnSurveyFormRequest {
            property_id: PROPERTY.into(),
            request_id: "r2".into(),
            campaign_id: campaign.id.clone(),
            household_id: household.id.clone(),
            ratings: vec![pb::SurveyRating {
                item: "供电".into(),
                level: "满意".into(),
            }],
            remarks: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&late), "SURVEY_NOT_OPEN");
    // Engineering has no business with survey forms.
    let refused = stack
        .surveys("engineering_manager")
        .get_survey_statistics(pb::GetSurveyStatisticsRequest {
            property_id: PROPERTY.into(),
            campaign_id: campaign.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}
