//! `wuye survey`: satisfaction surveys (满意度调查, CS-1 to CS-6). Households are named by their
//! unit's label (3-2-1502) or id; a campaign left out is the newest one.

use anyhow::Context;
use clap::{Args, Subcommand};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{self as pb, survey_service_client::SurveyServiceClient};

use super::household_id;
use crate::cli::input::{request_id, stamp};
use crate::cli::output::{left, percent, right, say, time};
use crate::cli::{Session, for_each_page};

#[derive(Args)]
pub struct SurveyArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: SurveyCommand,
}

#[derive(Subcommand)]
enum SurveyCommand {
    /// Plan a campaign (CS-1); items and levels default to the property's.
    Create(CreateArgs),
    /// Campaigns, newest first, and when the next one is due.
    List,
    /// Hand out forms (CS-2): to every household living in the property, or to those named.
    Distribute {
        campaign: Option<String>,
        /// A household (unit label or household id); repeat. Every living household when absent.
        #[arg(long = "household")]
        households: Vec<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Record a returned form (CS-2, CS-3).
    Return(ReturnArgs),
    /// Forms not returned yet, to chase them.
    Outstanding { campaign: Option<String> },
    /// The statistics (满意度统计表, CS-4).
    Stats { campaign: Option<String> },
    /// Record the project manager's summary and measures (when given) and write the survey
    /// report (意见调查报告).
    Report {
        campaign: Option<String>,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, requires = "measures")]
        summary: Option<String>,
        /// The improvement measures decided (改进措施).
        #[arg(long)]
        measures: Option<String>,
    },
    /// Write the blank survey form (满意度调查表) to print.
    Form {
        campaign: Option<String>,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Record the publication of the results and the improvements' progress (CS-5).
    Publish {
        campaign: Option<String>,
        /// How and where, such as 公告栏张贴、业主群通知.
        #[arg(long)]
        note: String,
        #[arg(long)]
        progress: String,
    },
    /// Campaigns not published by their deadline (CS-5).
    Overdue,
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long)]
    title: String,
    /// The first day, such as 2026-12-01 (or a time).
    #[arg(long)]
    from: String,
    /// The end: a day (its midnight) or a time.
    #[arg(long)]
    to: String,
    /// A service item rated; repeat. The property's items when absent.
    #[arg(long = "item")]
    items: Vec<String>,
    /// A rating level, best first; repeat. The property's levels when absent.
    #[arg(long = "level")]
    levels: Vec<String>,
    /// How many of the best levels count as satisfied; the property's when absent.
    #[arg(long, default_value_t = 0)]
    satisfied: i32,
    #[arg(long)]
    request_id: Option<String>,
}

#[derive(Args)]
struct ReturnArgs {
    campaign: Option<String>,
    /// The household: its unit label or household id.
    #[arg(long)]
    household: String,
    /// ITEM=LEVEL such as 供电=满意; repeat.
    #[arg(long = "rate")]
    ratings: Vec<String>,
    /// Rate every item not given with --rate at this level.
    #[arg(long)]
    rest: Option<String>,
    /// An opinion (意见), as TEXT or ITEM:TEXT; repeat.
    #[arg(long = "opinion")]
    opinions: Vec<String>,
    /// A suggestion (建议), as TEXT or ITEM:TEXT; repeat.
    #[arg(long = "suggestion")]
    suggestions: Vec<String>,
    #[arg(long)]
    request_id: Option<String>,
}

type Client = SurveyServiceClient<Authed>;

pub async fn run(args: SurveyArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    let mut c = s.client(SurveyServiceClient::new);
    let c = &mut c;
    match args.command {
        SurveyCommand::Create(a) => create(&s, c, a).await,
        SurveyCommand::List => list(&s, c).await,
        SurveyCommand::Distribute {
            campaign,
            households,
            request_id,
        } => distribute(&s, c, campaign, &households, request_id).await,
        SurveyCommand::Return(a) => return_form(&s, c, a).await,
        SurveyCommand::Outstanding { campaign } => outstanding(&s, c, campaign).await,
        SurveyCommand::Stats { campaign } => stats(&s, c, campaign).await,
        SurveyCommand::Report {
            campaign,
            out,
            summary,
            measures,
        } => report(&s, c, campaign, &out, summary, measures).await,
        SurveyCommand::Form { campaign, out } => form(&s, c, campaign, &out).await,
        SurveyCommand::Publish {
            campaign,
            note,
            progress,
        } => publish(&s, c, campaign, note, progress).await,
        SurveyCommand::Overdue => overdue(&s, c).await,
    }
}

/// The campaign given, or the newest one.
async fn campaign_id(
    surveys: &mut Client,
    property_id: &str,
    campaign: Option<String>,
) -> anyhow::Result<String> {
    if let Some(c) = campaign {
        return Ok(c);
    }
    call(
        surveys.list_survey_campaigns(pb::ListSurveyCampaignsRequest {
            property_id: property_id.to_owned(),
            page_size: 1,
            page_token: String::new(),
        }),
    )
    .await?
    .campaigns
    .into_iter()
    .next()
    .map(|c| c.id)
    .context("the property has no survey campaign yet")
}

async fn create(s: &Session, c: &mut Client, a: CreateArgs) -> anyhow::Result<()> {
    let campaign = call(c.create_survey_campaign(pb::CreateSurveyCampaignRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        title: a.title,
        items: a.items,
        levels: a.levels,
        satisfied_levels: a.satisfied,
        start_time: Some(stamp(&a.from)?),
        end_time: Some(stamp(&a.to)?),
    }))
    .await?
    .campaign;
    print_campaign(&campaign.unwrap_or_default());
    Ok(())
}

async fn list(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let list = call(c.list_survey_campaigns(pb::ListSurveyCampaignsRequest {
        property_id: s.p(),
        page_size: 100,
        page_token: String::new(),
    }))
    .await?;
    for c in &list.campaigns {
        say!(
            "{}  {} – {}  {}{}",
            c.id,
            time(c.start_time.as_ref()),
            time(c.end_time.as_ref()),
            c.title,
            if c.publish_time.is_some() {
                "  (published)"
            } else {
                ""
            }
        );
    }
    say!(
        "next campaign due {}{}",
        time(list.next_campaign_due_time.as_ref()),
        if list.campaign_due { " (due now)" } else { "" }
    );
    Ok(())
}

async fn distribute(
    s: &Session,
    c: &mut Client,
    campaign: Option<String>,
    households: &[String],
    rid: Option<String>,
) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), campaign).await?;
    let mut household_ids = Vec::new();
    for h in households {
        household_ids.push(household_id(s, h).await?);
    }
    let d = call(c.distribute_survey_forms(pb::DistributeSurveyFormsRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        campaign_id,
        all_living_households: household_ids.is_empty(),
        household_ids,
    }))
    .await?;
    say!(
        "{} forms handed out now, {} in all",
        d.newly_distributed,
        d.distributed
    );
    Ok(())
}

/// `survey return`.
async fn return_form(s: &Session, c: &mut Client, a: ReturnArgs) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), a.campaign).await?;
    let mut given = Vec::new();
    for r in &a.ratings {
        let (item, level) = r
            .split_once('=')
            .with_context(|| format!("--rate {r}: write ITEM=LEVEL such as 供电=满意"))?;
        given.push(pb::SurveyRating {
            item: item.trim().to_owned(),
            level: level.trim().to_owned(),
        });
    }
    if let Some(level) = a.rest {
        rate_the_rest(s, c, &campaign_id, &mut given, level).await?;
    }
    let remarks = a
        .opinions
        .iter()
        .map(|o| remark(o, pb::RemarkKind::Opinion))
        .chain(
            a.suggestions
                .iter()
                .map(|s| remark(s, pb::RemarkKind::Suggestion)),
        )
        .collect();
    let f = call(c.return_survey_form(pb::ReturnSurveyFormRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        campaign_id,
        household_id: household_id(s, &a.household).await?,
        ratings: given,
        remarks,
    }))
    .await?
    .form
    .unwrap_or_default();
    say!(
        "form of {} returned {}: {} ratings, {} remarks",
        f.unit_label,
        time(f.return_time.as_ref()),
        f.ratings.len(),
        f.remarks.len()
    );
    Ok(())
}

/// `--rest LEVEL`: every item of the campaign not rated yet, at that level.
async fn rate_the_rest(
    s: &Session,
    c: &mut Client,
    campaign_id: &str,
    given: &mut Vec<pb::SurveyRating>,
    level: String,
) -> anyhow::Result<()> {
    let campaign = call(c.get_survey_campaign(pb::GetSurveyCampaignRequest {
        property_id: s.p(),
        campaign_id: campaign_id.to_owned(),
    }))
    .await?
    .campaign
    .unwrap_or_default();
    for item in campaign.items {
        if !given.iter().any(|r| r.item == item) {
            given.push(pb::SurveyRating {
                item,
                level: level.clone(),
            });
        }
    }
    Ok(())
}

async fn outstanding(s: &Session, c: &mut Client, campaign: Option<String>) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), campaign).await?;
    for_each_page(async |page_token| {
        let page = call(c.list_survey_forms(pb::ListSurveyFormsRequest {
            property_id: s.p(),
            campaign_id: campaign_id.clone(),
            outstanding_only: true,
            page_size: 500,
            page_token,
        }))
        .await?;
        for f in page.forms {
            say!(
                "{} handed out {}  {}",
                left(&f.unit_label, 12),
                time(f.distribute_time.as_ref()),
                f.household_id
            );
        }
        Ok(page.next_page_token)
    })
    .await
}

async fn stats(s: &Session, c: &mut Client, campaign: Option<String>) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), campaign).await?;
    let stats = call(c.get_survey_statistics(pb::GetSurveyStatisticsRequest {
        property_id: s.p(),
        campaign_id,
    }))
    .await?
    .statistics
    .unwrap_or_default();
    say!(
        "forms {} handed out, {} returned ({})",
        stats.distributed,
        stats.returned,
        percent(stats.return_rate)
    );
    say!(
        "satisfaction {} ({} of {} ratings)",
        percent(stats.satisfaction_rate),
        stats.satisfied,
        stats.rated
    );
    for i in &stats.items {
        let levels: Vec<String> = i
            .levels
            .iter()
            .map(|l| format!("{} {}", l.level, l.count))
            .collect();
        say!(
            "  {} {} ({}/{})  {}",
            left(&i.item, 8),
            right(&percent(i.satisfaction_rate), 6),
            i.satisfied,
            i.rated,
            levels.join(", ")
        );
    }
    for g in &stats.remarks {
        let item = if g.item.is_empty() { "整体" } else { &g.item };
        for o in &g.opinions {
            say!("  意见 [{item}] {o}");
        }
        for o in &g.suggestions {
            say!("  建议 [{item}] {o}");
        }
    }
    Ok(())
}

async fn report(
    s: &Session,
    c: &mut Client,
    campaign: Option<String>,
    out: &std::path::Path,
    summary: Option<String>,
    measures: Option<String>,
) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), campaign).await?;
    if let Some(measures) = measures {
        call(c.record_survey_report(pb::RecordSurveyReportRequest {
            property_id: s.p(),
            campaign_id: campaign_id.clone(),
            opinion_summary: summary.unwrap_or_default(),
            improvement_measures: measures,
        }))
        .await?;
        say!("the summary and measures are recorded");
    }
    let document = call(c.render_survey_report(pb::RenderSurveyReportRequest {
        property_id: s.p(),
        campaign_id,
    }))
    .await?
    .document
    .unwrap_or_default();
    write(out, &document)
}

async fn form(
    s: &Session,
    c: &mut Client,
    campaign: Option<String>,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), campaign).await?;
    let document = call(c.render_survey_form(pb::RenderSurveyFormRequest {
        property_id: s.p(),
        campaign_id,
    }))
    .await?
    .document
    .unwrap_or_default();
    write(out, &document)
}

async fn publish(
    s: &Session,
    c: &mut Client,
    campaign: Option<String>,
    note: String,
    progress: String,
) -> anyhow::Result<()> {
    let campaign_id = campaign_id(c, &s.p(), campaign).await?;
    let campaign = call(c.publish_survey_results(pb::PublishSurveyResultsRequest {
        property_id: s.p(),
        campaign_id,
        publication_note: note,
        improvement_progress: progress,
    }))
    .await?
    .campaign;
    print_campaign(&campaign.unwrap_or_default());
    Ok(())
}

async fn overdue(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let list = call(
        c.list_overdue_survey_publications(pb::ListOverdueSurveyPublicationsRequest {
            property_id: s.p(),
            page_size: 100,
            page_token: String::new(),
        }),
    )
    .await?;
    for c in &list.campaigns {
        say!(
            "{}  ended {}  publish by {}  {}",
            c.id,
            time(c.end_time.as_ref()),
            time(c.publish_due_time.as_ref()),
            c.title
        );
    }
    if list.campaigns.is_empty() {
        say!("no campaign is overdue for publication");
    }
    Ok(())
}

fn write(out: &std::path::Path, document: &wuye_proto::common::Document) -> anyhow::Result<()> {
    std::fs::write(out, &document.content).with_context(|| format!("writing {}", out.display()))?;
    say!(
        "{} ({} bytes) written to {}",
        document.file_name,
        document.content.len(),
        out.display()
    );
    Ok(())
}

fn print_campaign(c: &pb::SurveyCampaign) {
    say!("campaign {} ({})", c.title, c.id);
    say!(
        "  from {} to {}, publish by {}",
        time(c.start_time.as_ref()),
        time(c.end_time.as_ref()),
        time(c.publish_due_time.as_ref())
    );
    say!("  items   {}", c.items.join("、"));
    say!(
        "  levels  {} (the first {} satisfied)",
        c.levels.join("、"),
        c.satisfied_levels
    );
    if !c.improvement_measures.is_empty() {
        say!("  measures {}", c.improvement_measures);
    }
    if c.publish_time.is_some() {
        say!(
            "  published {}{}: {}",
            time(c.publish_time.as_ref()),
            if c.publication_late { " (late)" } else { "" },
            c.publication_note
        );
    } else if c.publication_late {
        say!("  NOT published and past its deadline");
    }
}

/// "ITEM:TEXT" or "TEXT" as a remark.
fn remark(text: &str, kind: pb::RemarkKind) -> pb::SurveyRemark {
    let (item, text) = match text.split_once([':', '：']) {
        Some((item, text)) => (item.trim(), text.trim()),
        None => ("", text.trim()),
    };
    pb::SurveyRemark {
        item: item.to_owned(),
        kind: kind.into(),
        text: text.to_owned(),
    }
}
