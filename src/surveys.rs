//! Client commands of satisfaction surveys (CS-1 to CS-6) and follow-up visits (VIS-1 to
//! VIS-6), through the gateway. Households are named by their unit's label (3-2-1502) or id;
//! a campaign left out is the newest one.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{
    self as pb, household_service_client::HouseholdServiceClient,
    survey_service_client::SurveyServiceClient, visit_service_client::VisitServiceClient,
};

use crate::client::{SeverityArg, resolve_unit, short, time};
use crate::{request_id, stamp, today, year_month};

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
    Create {
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
    },
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
    Return {
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
    },
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
pub struct VisitArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: VisitCommand,
}

#[derive(Subcommand)]
enum VisitCommand {
    /// Record a visit (VIS-1): a repair follow-up with --work-order, otherwise --kind.
    Record {
        /// The household: its unit label or household id.
        #[arg(long, required_unless_present = "work_order")]
        household: Option<String>,
        /// The work order followed up (VIS-4): its number or id.
        #[arg(long)]
        work_order: Option<String>,
        #[arg(long, value_enum, default_value = "routine")]
        kind: VisitKindArg,
        /// The person visited.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        phone: String,
        #[arg(long, value_enum, default_value = "on-site")]
        channel: VisitChannelArg,
        /// What was said.
        #[arg(long)]
        content: String,
        #[arg(long, value_enum)]
        satisfaction: SatisfactionArg,
        /// A question not answered on the spot, with --reply-by (VIS-2).
        #[arg(long, requires = "reply_by")]
        question: Option<String>,
        #[arg(long)]
        reply_by: Option<String>,
        /// A major problem for the regular meeting of --meeting (VIS-3).
        #[arg(long, requires = "meeting")]
        major: Option<String>,
        /// The meeting's date, such as 2026-12-01.
        #[arg(long)]
        meeting: Option<String>,
        /// When it took place; now when absent.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Visits, newest first.
    List {
        #[arg(long)]
        household: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    Show {
        visit: String,
    },
    /// The promised reply was given (VIS-2).
    Reply {
        visit: String,
        #[arg(long)]
        reply: String,
    },
    /// Promised replies past their time (VIS-2).
    Overdue,
    /// The regular meeting's agenda (VIS-3), today's when --date is absent.
    Agenda {
        #[arg(long)]
        date: Option<String>,
    },
    /// A major problem is settled (VIS-3).
    Settle {
        visit: String,
        #[arg(long)]
        settlement: String,
    },
    /// Raise a dissatisfied visit as a complaint (VIS-6).
    RaiseComplaint {
        visit: String,
        #[arg(long)]
        category: String,
        #[arg(long, value_enum, default_value = "general")]
        severity: SeverityArg,
        /// The visit's content when absent.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Completed repairs due for a follow-up (VIS-4); only those not visited with --due.
    Repairs {
        #[arg(long)]
        due: bool,
    },
    /// The month's repair follow-up rate (VIS-4).
    RepairRate {
        /// "2026-11"; this month when absent.
        #[arg(long)]
        month: Option<String>,
    },
    /// Move-in visit coverage (VIS-5) of a month, or of a year with --year.
    MoveInCoverage {
        #[arg(long, conflicts_with = "year")]
        month: Option<String>,
        #[arg(long)]
        year: Option<i32>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum VisitKindArg {
    Routine,
    MoveIn,
}

#[derive(Clone, Copy, ValueEnum)]
enum VisitChannelArg {
    OnSite,
    Phone,
    Online,
}

#[derive(Clone, Copy, ValueEnum)]
enum SatisfactionArg {
    Satisfied,
    Basic,
    Dissatisfied,
}

/// A household by its unit's label (the one living there now) or its id.
async fn household_id(channel: &Authed, property_id: &str, text: &str) -> anyhow::Result<String> {
    let mut households = HouseholdServiceClient::new(channel.clone());
    let unit_id = resolve_unit(&mut households, property_id, text).await?;
    let living = call(households.list_households(pb::ListHouseholdsRequest {
        property_id: property_id.to_owned(),
        unit_id,
        state: pb::HouseholdState::Living.into(),
        page_size: 1,
        page_token: String::new(),
    }))
    .await?;
    // Not a unit with a household living in it: pass it on as a household id.
    Ok(living
        .households
        .into_iter()
        .next()
        .map(|h| h.id)
        .unwrap_or_else(|| text.to_owned()))
}

/// The campaign given, or the newest one.
async fn campaign_id(
    surveys: &mut SurveyServiceClient<Authed>,
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

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

pub async fn survey(args: SurveyArgs) -> anyhow::Result<()> {
    let channel = args.target.channel().await?;
    let mut surveys = SurveyServiceClient::new(channel.clone());
    let p = args.target.property.clone();
    match args.command {
        SurveyCommand::Create {
            title,
            from,
            to,
            items,
            levels,
            satisfied,
            request_id: rid,
        } => {
            let c = call(
                surveys.create_survey_campaign(pb::CreateSurveyCampaignRequest {
                    property_id: p,
                    request_id: request_id(rid),
                    title,
                    items,
                    levels,
                    satisfied_levels: satisfied,
                    start_time: Some(stamp(&from)?),
                    end_time: Some(stamp(&to)?),
                }),
            )
            .await?
            .campaign
            .unwrap_or_default();
            print_campaign(&c);
        }
        SurveyCommand::List => {
            let list = call(
                surveys.list_survey_campaigns(pb::ListSurveyCampaignsRequest {
                    property_id: p,
                    page_size: 100,
                    page_token: String::new(),
                }),
            )
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
        }
        SurveyCommand::Distribute {
            campaign,
            households,
            request_id: rid,
        } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            let mut household_ids = Vec::new();
            for h in &households {
                household_ids.push(household_id(&channel, &p, h).await?);
            }
            let d = call(
                surveys.distribute_survey_forms(pb::DistributeSurveyFormsRequest {
                    property_id: p,
                    request_id: request_id(rid),
                    campaign_id,
                    all_living_households: household_ids.is_empty(),
                    household_ids,
                }),
            )
            .await?;
            say!(
                "{} forms handed out now, {} in all",
                d.newly_distributed,
                d.distributed
            );
        }
        SurveyCommand::Return {
            campaign,
            household,
            ratings,
            rest,
            opinions,
            suggestions,
            request_id: rid,
        } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            let mut given = Vec::new();
            for r in &ratings {
                let (item, level) = r
                    .split_once('=')
                    .with_context(|| format!("--rate {r}: write ITEM=LEVEL such as 供电=满意"))?;
                given.push(pb::SurveyRating {
                    item: item.trim().to_owned(),
                    level: level.trim().to_owned(),
                });
            }
            if let Some(level) = rest {
                let c = call(surveys.get_survey_campaign(pb::GetSurveyCampaignRequest {
                    property_id: p.clone(),
                    campaign_id: campaign_id.clone(),
                }))
                .await?
                .campaign
                .unwrap_or_default();
                for item in c.items {
                    if !given.iter().any(|r| r.item == item) {
                        given.push(pb::SurveyRating {
                            item,
                            level: level.clone(),
                        });
                    }
                }
            }
            let remarks = opinions
                .iter()
                .map(|o| remark(o, pb::RemarkKind::Opinion))
                .chain(
                    suggestions
                        .iter()
                        .map(|s| remark(s, pb::RemarkKind::Suggestion)),
                )
                .collect();
            let f = call(surveys.return_survey_form(pb::ReturnSurveyFormRequest {
                property_id: p.clone(),
                request_id: request_id(rid),
                campaign_id,
                household_id: household_id(&channel, &p, &household).await?,
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
        }
        SurveyCommand::Outstanding { campaign } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            let mut page_token = String::new();
            loop {
                let page = call(surveys.list_survey_forms(pb::ListSurveyFormsRequest {
                    property_id: p.clone(),
                    campaign_id: campaign_id.clone(),
                    outstanding_only: true,
                    page_size: 500,
                    page_token,
                }))
                .await?;
                for f in page.forms {
                    say!(
                        "{:<12} handed out {}  {}",
                        f.unit_label,
                        time(f.distribute_time.as_ref()),
                        f.household_id
                    );
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        SurveyCommand::Stats { campaign } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            let s = call(
                surveys.get_survey_statistics(pb::GetSurveyStatisticsRequest {
                    property_id: p,
                    campaign_id,
                }),
            )
            .await?
            .statistics
            .unwrap_or_default();
            say!(
                "forms {} handed out, {} returned ({})",
                s.distributed,
                s.returned,
                percent(s.return_rate)
            );
            say!(
                "satisfaction {} ({} of {} ratings)",
                percent(s.satisfaction_rate),
                s.satisfied,
                s.rated
            );
            for i in &s.items {
                let levels: Vec<String> = i
                    .levels
                    .iter()
                    .map(|l| format!("{} {}", l.level, l.count))
                    .collect();
                say!(
                    "  {:<6} {:>6} ({}/{})  {}",
                    i.item,
                    percent(i.satisfaction_rate),
                    i.satisfied,
                    i.rated,
                    levels.join(", ")
                );
            }
            for g in &s.remarks {
                let item = if g.item.is_empty() { "整体" } else { &g.item };
                for o in &g.opinions {
                    say!("  意见 [{item}] {o}");
                }
                for o in &g.suggestions {
                    say!("  建议 [{item}] {o}");
                }
            }
        }
        SurveyCommand::Report {
            campaign,
            out,
            summary,
            measures,
        } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            if let Some(measures) = measures {
                call(surveys.record_survey_report(pb::RecordSurveyReportRequest {
                    property_id: p.clone(),
                    campaign_id: campaign_id.clone(),
                    opinion_summary: summary.unwrap_or_default(),
                    improvement_measures: measures,
                }))
                .await?;
                say!("the summary and measures are recorded");
            }
            let document = call(surveys.render_survey_report(pb::RenderSurveyReportRequest {
                property_id: p,
                campaign_id,
            }))
            .await?
            .document
            .unwrap_or_default();
            write(&out, &document)?;
        }
        SurveyCommand::Form { campaign, out } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            let document = call(surveys.render_survey_form(pb::RenderSurveyFormRequest {
                property_id: p,
                campaign_id,
            }))
            .await?
            .document
            .unwrap_or_default();
            write(&out, &document)?;
        }
        SurveyCommand::Publish {
            campaign,
            note,
            progress,
        } => {
            let campaign_id = campaign_id(&mut surveys, &p, campaign).await?;
            let c = call(
                surveys.publish_survey_results(pb::PublishSurveyResultsRequest {
                    property_id: p,
                    campaign_id,
                    publication_note: note,
                    improvement_progress: progress,
                }),
            )
            .await?
            .campaign
            .unwrap_or_default();
            print_campaign(&c);
        }
        SurveyCommand::Overdue => {
            let list = call(surveys.list_overdue_survey_publications(
                pb::ListOverdueSurveyPublicationsRequest {
                    property_id: p,
                    page_size: 100,
                    page_token: String::new(),
                },
            ))
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
        }
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

fn print_visit(v: &pb::Visit) {
    let customer = v.customer.clone().unwrap_or_default();
    let visitor = v.visitor.clone().unwrap_or_default();
    say!(
        "visit {}  {}  {}",
        v.id,
        short(v.kind().as_str_name(), "VISIT_KIND_"),
        time(v.visit_time.as_ref())
    );
    say!(
        "  {} {}, {} by {} ({})",
        if v.unit_label.is_empty() {
            "-"
        } else {
            &v.unit_label
        },
        [customer.name, customer.phone].join(" ").trim_end(),
        short(v.channel().as_str_name(), "VISIT_CHANNEL_"),
        visitor.name,
        visitor.role
    );
    say!(
        "  {}: {}",
        short(v.satisfaction().as_str_name(), "VISIT_SATISFACTION_"),
        v.content
    );
    if !v.question.is_empty() {
        say!(
            "  question  {}  reply by {}{}",
            v.question,
            time(v.reply_due_time.as_ref()),
            if v.reply_overdue { "  OVERDUE" } else { "" }
        );
    }
    if v.reply_time.is_some() {
        say!("  replied   {}  {}", time(v.reply_time.as_ref()), v.reply);
    }
    if !v.major_problem.is_empty() {
        say!(
            "  major     {}  meeting {}",
            v.major_problem,
            v.meeting_date
        );
    }
    if v.settle_time.is_some() {
        say!(
            "  settled   {}  {}",
            time(v.settle_time.as_ref()),
            v.settlement
        );
    }
    if v.complaint_number > 0 {
        say!("  complaint #{}", v.complaint_number);
    }
}

fn print_follow_up(f: &pb::RepairFollowUp) {
    say!(
        "work order #{:<5} {:<12} completed {}  rating {}  {}",
        f.work_order_number,
        if f.unit_label.is_empty() {
            "-"
        } else {
            &f.unit_label
        },
        time(f.complete_time.as_ref()),
        f.customer_rating,
        if f.visit_id.is_empty() {
            "NOT visited".to_owned()
        } else {
            format!("visited {}", time(f.visit_time.as_ref()))
        }
    );
}

/// A work order due for follow-up, by its number or id.
async fn follow_up_work_order(
    visits: &mut VisitServiceClient<Authed>,
    property_id: &str,
    work_order: &str,
) -> anyhow::Result<String> {
    let Ok(number) = work_order.trim_start_matches('#').parse::<i64>() else {
        return Ok(work_order.to_owned());
    };
    let mut page_token = String::new();
    loop {
        let page = call(
            visits.list_repair_follow_ups(pb::ListRepairFollowUpsRequest {
                property_id: property_id.to_owned(),
                pending_only: false,
                page_size: 500,
                page_token,
            }),
        )
        .await?;
        if let Some(f) = page
            .follow_ups
            .into_iter()
            .find(|f| f.work_order_number == number)
        {
            return Ok(f.work_order_id);
        }
        if page.next_page_token.is_empty() {
            anyhow::bail!("work order #{number} is not due for a follow-up visit");
        }
        page_token = page.next_page_token;
    }
}

pub async fn visit(args: VisitArgs) -> anyhow::Result<()> {
    let channel = args.target.channel().await?;
    let mut visits = VisitServiceClient::new(channel.clone());
    let p = args.target.property.clone();
    let v = match args.command {
        VisitCommand::Record {
            household,
            work_order,
            kind,
            name,
            phone,
            channel: via,
            content,
            satisfaction,
            question,
            reply_by,
            major,
            meeting,
            at,
            request_id: rid,
        } => {
            let kind = match (&work_order, kind) {
                (Some(_), _) => pb::VisitKind::Repair,
                (None, VisitKindArg::Routine) => pb::VisitKind::Routine,
                (None, VisitKindArg::MoveIn) => pb::VisitKind::MoveIn,
            };
            let household_id = match household {
                Some(h) => household_id(&channel, &p, &h).await?,
                None => String::new(),
            };
            let work_order_id = match work_order {
                Some(w) => follow_up_work_order(&mut visits, &p, &w).await?,
                None => String::new(),
            };
            call(
                visits.record_visit(pb::RecordVisitRequest {
                    property_id: p,
                    request_id: request_id(rid),
                    kind: kind.into(),
                    household_id,
                    work_order_id,
                    customer: Some(pb::VisitedCustomer { name, phone }),
                    visit_time: at.as_deref().map(stamp).transpose()?,
                    channel: match via {
                        VisitChannelArg::OnSite => pb::VisitChannel::OnSite,
                        VisitChannelArg::Phone => pb::VisitChannel::Phone,
                        VisitChannelArg::Online => pb::VisitChannel::Online,
                    }
                    .into(),
                    content,
                    satisfaction: match satisfaction {
                        SatisfactionArg::Satisfied => pb::VisitSatisfaction::Satisfied,
                        SatisfactionArg::Basic => pb::VisitSatisfaction::BasicallySatisfied,
                        SatisfactionArg::Dissatisfied => pb::VisitSatisfaction::Dissatisfied,
                    }
                    .into(),
                    question: question.unwrap_or_default(),
                    reply_due_time: reply_by.as_deref().map(stamp).transpose()?,
                    major_problem: major.unwrap_or_default(),
                    meeting_date: meeting.unwrap_or_default(),
                }),
            )
            .await?
            .visit
        }
        VisitCommand::List { household, limit } => {
            let household_id = match household {
                Some(h) => household_id(&channel, &p, &h).await?,
                None => String::new(),
            };
            let list = call(visits.list_visits(pb::ListVisitsRequest {
                property_id: p,
                household_id,
                kind: 0,
                page_size: limit,
                page_token: String::new(),
            }))
            .await?;
            for v in &list.visits {
                say!(
                    "{}  {}  {:<8} {:<12} {:<20} {}",
                    v.id,
                    time(v.visit_time.as_ref()),
                    short(v.kind().as_str_name(), "VISIT_KIND_"),
                    v.unit_label,
                    short(v.satisfaction().as_str_name(), "VISIT_SATISFACTION_"),
                    v.content.chars().take(30).collect::<String>()
                );
            }
            return Ok(());
        }
        VisitCommand::Show { visit } => {
            call(visits.get_visit(pb::GetVisitRequest {
                property_id: p,
                visit_id: visit,
            }))
            .await?
            .visit
        }
        VisitCommand::Reply { visit, reply } => {
            call(visits.record_visit_reply(pb::RecordVisitReplyRequest {
                property_id: p,
                visit_id: visit,
                reply,
            }))
            .await?
            .visit
        }
        VisitCommand::Overdue => {
            let list = call(visits.list_overdue_visit_replies(
                pb::ListOverdueVisitRepliesRequest {
                    property_id: p,
                    page_size: 100,
                    page_token: String::new(),
                },
            ))
            .await?;
            for v in &list.visits {
                say!(
                    "{}  {:<12} reply due {}  {}",
                    v.id,
                    v.unit_label,
                    time(v.reply_due_time.as_ref()),
                    v.question
                );
            }
            if list.visits.is_empty() {
                say!("no promised reply is overdue");
            }
            return Ok(());
        }
        VisitCommand::Agenda { date } => {
            let date = date.unwrap_or_else(|| today("%Y-%m-%d"));
            let agenda = call(visits.list_meeting_agenda(pb::ListMeetingAgendaRequest {
                property_id: p,
                meeting_date: date.clone(),
            }))
            .await?;
            say!("agenda of the meeting of {date}");
            for item in &agenda.items {
                let v = item.visit.clone().unwrap_or_default();
                say!(
                    "  {}  {:<12} {}{}  (visit {})",
                    v.meeting_date,
                    v.unit_label,
                    v.major_problem,
                    if item.carried_over {
                        "  [carried over]"
                    } else {
                        ""
                    },
                    v.id
                );
            }
            if agenda.items.is_empty() {
                say!("  nothing");
            }
            return Ok(());
        }
        VisitCommand::Settle { visit, settlement } => {
            call(visits.settle_major_problem(pb::SettleMajorProblemRequest {
                property_id: p,
                visit_id: visit,
                settlement,
            }))
            .await?
            .visit
        }
        VisitCommand::RaiseComplaint {
            visit,
            category,
            severity,
            description,
        } => {
            call(
                visits.raise_complaint_from_visit(pb::RaiseComplaintFromVisitRequest {
                    property_id: p,
                    visit_id: visit,
                    severity: pb::Severity::from(severity).into(),
                    category,
                    description,
                }),
            )
            .await?
            .visit
        }
        VisitCommand::Repairs { due } => {
            let mut page_token = String::new();
            loop {
                let page = call(
                    visits.list_repair_follow_ups(pb::ListRepairFollowUpsRequest {
                        property_id: p.clone(),
                        pending_only: due,
                        page_size: 500,
                        page_token,
                    }),
                )
                .await?;
                page.follow_ups.iter().for_each(print_follow_up);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            return Ok(());
        }
        VisitCommand::RepairRate { month } => {
            let (year, month) = year_month(&month.unwrap_or_else(|| today("%Y-%m")))?;
            let r = call(
                visits.get_repair_follow_up_rate(pb::GetRepairFollowUpRateRequest {
                    property_id: p,
                    year,
                    month,
                }),
            )
            .await?;
            say!(
                "{year}-{month:02}: {} of {} repairs visited ({}), target {}%: {}",
                r.visited,
                r.completed,
                percent(r.rate),
                r.target_percent,
                if r.met { "met" } else { "NOT met" }
            );
            r.not_visited.iter().for_each(print_follow_up);
            return Ok(());
        }
        VisitCommand::MoveInCoverage { month, year } => {
            let (year, month) = match (year, month) {
                (Some(y), _) => (y, 0),
                (None, m) => year_month(&m.unwrap_or_else(|| today("%Y-%m")))?,
            };
            let c = call(
                visits.get_move_in_visit_coverage(pb::GetMoveInVisitCoverageRequest {
                    property_id: p,
                    year,
                    month,
                }),
            )
            .await?;
            say!(
                "{} – {}: {} of {} occupied households visited ({}), target {}%: {}",
                time(c.period_start.as_ref()),
                time(c.period_end.as_ref()),
                c.visited,
                c.occupied,
                percent(c.rate),
                c.target_percent,
                if c.met { "met" } else { "NOT met" }
            );
            return Ok(());
        }
    };
    print_visit(&v.unwrap_or_default());
    Ok(())
}
