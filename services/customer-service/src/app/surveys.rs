//! Satisfaction surveys (CS-1 to CS-6): campaigns, forms handed out and returned, the
//! statistics, the report and its publication.

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result, Violations,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Actor,
    page,
    scope::Scope,
};

use crate::{
    CustomerService,
    app::{Once, begin_once},
    domain::surveys::{
        self as rules, Campaign, Form, Recipients, RemarkGroup, Statistics, WrittenRemark,
    },
    store::surveys as store,
};

/// A campaign of the property.
async fn campaign(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Campaign> {
    if id.is_empty() {
        return Err(Error::invalid("campaign_id", "must not be empty"));
    }
    store::get(&cs.db, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("survey campaign", id))
}

/// Plans a campaign (CS-1), once per request id.
pub(crate) async fn create(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    c: Campaign,
) -> Result<Campaign> {
    let key = format!("CreateSurveyCampaign/{}", scope.property().id);
    let id = match begin_once(&cs.db, &key, request_id, &c.id, c.created_at).await? {
        Once::Retry(id) => id,
        Once::New(mut tx) => {
            store::insert(&mut tx, &c).await?;
            tx.commit().await?;
            c.id
        }
    };
    campaign(cs, scope, &id).await
}

pub(crate) async fn get(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Campaign> {
    campaign(cs, scope, id).await
}

/// A page of the property's campaigns, newest start first.
pub(crate) struct Campaigns {
    pub campaigns: Vec<Campaign>,
    pub next_page_token: String,
    /// When the next campaign is due (CS-1); `None` before the first.
    pub next_due: Option<DateTime<Utc>>,
}

pub(crate) async fn list(
    cs: &CustomerService,
    scope: &Scope<'_>,
    page_size: i32,
    page_token: &str,
) -> Result<Campaigns> {
    let property = scope.property();
    let limit = page::page_size(page_size)?;
    let before = page::after_time_and_id(page_token)?;
    let campaigns = store::list(&cs.db, &property.id, before, limit).await?;
    let next_page_token =
        page::next_token(&campaigns, limit, |c| page::time_and_id(c.start_at, &c.id));
    // rule CS-1: at least once per configured period.
    let next_due = store::latest_start(&cs.db, &property.id)
        .await?
        .map(|s| rules::next_campaign_due(s, &property.rules.surveys, property.time_zone));
    Ok(Campaigns {
        campaigns,
        next_page_token,
        next_due,
    })
}

/// Hands out forms (CS-2) in one transaction, once per request id: a form per household
/// without one. Returns (newly distributed, distributed in all).
pub(crate) async fn distribute(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    campaign_id: &str,
    recipients: Recipients,
) -> Result<(i64, i64)> {
    let campaign = campaign(cs, scope, campaign_id).await?;
    let now = cs.clock.now();
    campaign.check_open(now)?;
    let by = scope.actor();
    let mut tx = cs.db.begin().await?;
    let batch = uuid::Uuid::now_v7().to_string();
    let key = format!("DistributeSurveyForms/{}", campaign.id);
    // A retry reads what the first call handed out in the same transaction as the total.
    let claimed = idempotency::claim(
        &mut tx,
        cs.db.keyring(),
        &key,
        request_id,
        &batch,
        to_micros(now),
    )
    .await?;
    let newly = match claimed {
        Claim::Retry(first) => store::distribution(&mut tx, &first).await?,
        Claim::New => {
            let newly = hand_out(&mut tx, &campaign, &recipients, &by, now).await?;
            store::insert_distribution(&mut tx, &batch, &campaign.id, newly, &by, now).await?;
            newly
        }
    };
    let total = store::form_count(&mut tx, &campaign.id).await?;
    tx.commit().await?;
    tracing::info!(property = %campaign.property_id, campaign = %campaign.id, newly, total, "survey forms handed out");
    Ok((newly, total))
}

/// Hands a form to each recipient without one; how many were handed out. A named household
/// that does not live in the property refuses the whole hand-out.
async fn hand_out(
    tx: &mut Tx,
    campaign: &Campaign,
    recipients: &Recipients,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<i64> {
    let ids = match recipients {
        Recipients::AllLiving => return store::hand_out(tx, campaign, None, by, now).await,
        Recipients::Households(ids) => ids,
    };
    let mut newly = 0;
    for (i, id) in ids.iter().enumerate() {
        if !store::is_living(tx, &campaign.property_id, id).await? {
            return Err(Error::invalid(
                &format!("household_ids[{i}]"),
                "is not a household living in this property",
            ));
        }
        newly += store::hand_out(tx, campaign, Some(id), by, now).await?;
    }
    Ok(newly)
}

/// A household's answer as written on its form.
pub(crate) struct Answer {
    pub campaign_id: String,
    pub household_id: String,
    /// (item, level) by name.
    pub ratings: Vec<(String, String)>,
    pub remarks: Vec<WrittenRemark>,
}

/// Records a household's answer (CS-2, CS-3) in one transaction: the request id, the form's
/// return (once: a second answer is refused), its ratings and remarks. Returns the campaign
/// and the form.
pub(crate) async fn return_form(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    answer: Answer,
) -> Result<(Campaign, Form)> {
    let campaign = campaign(cs, scope, &answer.campaign_id).await?;
    let mut v = Violations::new();
    let (ratings, remarks) = campaign.read_answers(&answer.ratings, &answer.remarks, &mut v);
    v.check()?;
    let now = cs.clock.now();
    campaign.check_open(now)?; // rule CS-2
    let by = scope.actor();
    let key = format!("ReturnSurveyForm/{}", campaign.id);
    let household = &answer.household_id;
    let household = match begin_once(&cs.db, &key, request_id, household, now).await? {
        Once::Retry(first) => first,
        Once::New(mut tx) => {
            if store::mark_returned(&mut tx, &campaign.id, household, &by, now).await? == 0 {
                return Err(
                    if store::form_exists(&mut tx, &campaign.id, household).await? {
                        Error::rule(
                            "SURVEY_ALREADY_ANSWERED",
                            "the household has answered this survey already: one answer per household",
                        )
                    } else {
                        Error::rule(
                            "FORM_NOT_DISTRIBUTED",
                            "the household was not given a form of this survey",
                        )
                    },
                );
            }
            store::insert_answers(&mut tx, &campaign.id, household, &ratings, &remarks).await?;
            tx.commit().await?;
            answer.household_id
        }
    };
    let form = store::get_form(&cs.db, &campaign.id, &household)
        .await?
        .ok_or_else(|| Error::not_found("survey form", household))?;
    Ok((campaign, form))
}

/// The campaign's forms by household, after the page token, and the next page's token.
pub(crate) async fn list_forms(
    cs: &CustomerService,
    scope: &Scope<'_>,
    campaign_id: &str,
    outstanding_only: bool,
    page_size: i32,
    page_token: &str,
) -> Result<(Campaign, Vec<Form>, String)> {
    let limit = page::page_size(page_size)?;
    let after = page::after::<String>(page_token)?;
    let campaign = campaign(cs, scope, campaign_id).await?;
    let forms = store::list_forms(
        &cs.db,
        &campaign.id,
        outstanding_only,
        after.as_deref(),
        limit,
    )
    .await?;
    let next = page::next_token(&forms, limit, |f| f.household_id.clone());
    Ok((campaign, forms, next))
}

/// CS-4: the campaign's statistics and its remarks grouped.
pub(crate) async fn statistics(
    cs: &CustomerService,
    scope: &Scope<'_>,
    campaign_id: &str,
) -> Result<(Campaign, Statistics, Vec<RemarkGroup>)> {
    let c = campaign(cs, scope, campaign_id).await?;
    let (distributed, returned, counts) = store::counts(&cs.db, &c.id).await?;
    let remarks = store::remarks(&cs.db, &c.id).await?;
    let stats = rules::statistics(&c, distributed, returned, &counts);
    let groups = rules::group_remarks(&c, &remarks);
    Ok((c, stats, groups))
}

/// The project manager's part of the report (CS-4), while unpublished.
pub(crate) async fn record_report(
    cs: &CustomerService,
    scope: &Scope<'_>,
    campaign_id: &str,
    summary: &str,
    measures: &str,
) -> Result<Campaign> {
    let property_id = &scope.property().id;
    let c = campaign(cs, scope, campaign_id).await?;
    c.check_report()?;
    let now = cs.clock.now();
    let by = scope.actor();
    if !store::record_report(&cs.db, property_id, &c.id, summary, measures, &by, now).await? {
        // Published in between.
        campaign(cs, scope, &c.id).await?.check_report()?;
    }
    campaign(cs, scope, &c.id).await
}

/// The survey report (CS-4): its file name and page.
pub(crate) async fn render_report(
    cs: &CustomerService,
    scope: &Scope<'_>,
    campaign_id: &str,
) -> Result<(String, String)> {
    let property = scope.property();
    let (campaign, stats, groups) = statistics(cs, scope, campaign_id).await?;
    let now = cs.clock.now();
    let html = rules::render_report(
        &campaign,
        &stats,
        &groups,
        &property.name,
        property.time_zone,
        now,
    );
    let start = campaign.start_at.with_timezone(&property.time_zone);
    let file_name = format!(
        "意见调查报告-{}-{}.html",
        property.id,
        start.format("%Y%m%d")
    );
    Ok((file_name, html))
}

/// The blank form (CS-6): its file name and page.
pub(crate) async fn render_form(
    cs: &CustomerService,
    scope: &Scope<'_>,
    campaign_id: &str,
) -> Result<(String, String)> {
    let property = scope.property();
    let campaign = campaign(cs, scope, campaign_id).await?;
    let html = rules::render_form(&campaign, &property.name, property.time_zone);
    let start = campaign.start_at.with_timezone(&property.time_zone);
    let file_name = format!(
        "满意度调查表-{}-{}.html",
        property.id,
        start.format("%Y%m%d")
    );
    Ok((file_name, html))
}

/// What a publication says (CS-5).
pub(crate) struct Notice {
    pub note: String,
    pub improvement_progress: String,
}

/// Records the publication (CS-5), once, and only with the measures decided.
pub(crate) async fn publish(
    cs: &CustomerService,
    scope: &Scope<'_>,
    campaign_id: &str,
    notice: Notice,
) -> Result<Campaign> {
    let property_id = &scope.property().id;
    let c = campaign(cs, scope, campaign_id).await?;
    let now = cs.clock.now();
    c.check_publish(now)?;
    let publication = rules::Publication {
        at: now,
        by: scope.actor(),
        note: notice.note,
        improvement_progress: notice.improvement_progress,
    };
    if !store::publish(&cs.db, property_id, &c.id, &publication).await? {
        // Someone published in between: say why from what is stored now.
        campaign(cs, scope, &c.id).await?.check_publish(now)?;
    }
    let c = campaign(cs, scope, &c.id).await?;
    if c.publication_late(now) {
        tracing::warn!(property = %property_id, campaign = %c.id, "survey results published after the deadline");
    }
    Ok(c)
}

/// Campaigns unpublished past their deadline (CS-5), oldest deadline first, and the next
/// page's token.
pub(crate) async fn list_overdue(
    cs: &CustomerService,
    scope: &Scope<'_>,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Campaign>, String)> {
    let limit = page::page_size(page_size)?;
    let after = page::after_time_and_id(page_token)?;
    let now = cs.clock.now();
    let campaigns = store::list_overdue(&cs.db, &scope.property().id, now, after, limit).await?;
    let next = page::next_token(&campaigns, limit, |c| {
        page::time_and_id(c.publish_due_at, &c.id)
    });
    Ok((campaigns, next))
}
