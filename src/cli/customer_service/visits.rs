//! `wuye visit`: follow-up visits (回访, VIS-1 to VIS-6). Households are named by their unit's
//! label (3-2-1502) or id.

use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{self as pb, visit_service_client::VisitServiceClient};

use super::{SeverityArg, household_id};
use crate::cli::input::{request_id, stamp, year_month};
use crate::cli::output::{left, percent, say, short, time, today};
use crate::cli::{Session, for_each_page};

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
    Record(RecordArgs),
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

#[derive(Args)]
struct RecordArgs {
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

type Client = VisitServiceClient<Authed>;

pub async fn run(args: VisitArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    let mut c = s.client(VisitServiceClient::new);
    let c = &mut c;
    let visit = match args.command {
        VisitCommand::Record(a) => record(&s, c, a).await?,
        VisitCommand::List { household, limit } => return list(&s, c, household, limit).await,
        VisitCommand::Show { visit } => show(&s, c, visit).await?,
        VisitCommand::Reply { visit, reply } => self::reply(&s, c, visit, reply).await?,
        VisitCommand::Overdue => return overdue(&s, c).await,
        VisitCommand::Agenda { date } => return agenda(&s, c, date).await,
        VisitCommand::Settle { visit, settlement } => settle(&s, c, visit, settlement).await?,
        VisitCommand::RaiseComplaint {
            visit,
            category,
            severity,
            description,
        } => raise_complaint(&s, c, visit, category, severity, description).await?,
        VisitCommand::Repairs { due } => return repairs(&s, c, due).await,
        VisitCommand::RepairRate { month } => return repair_rate(&s, c, month).await,
        VisitCommand::MoveInCoverage { month, year } => {
            return move_in_coverage(&s, c, month, year).await;
        }
    };
    print_visit(&visit.unwrap_or_default());
    Ok(())
}

async fn record(s: &Session, c: &mut Client, a: RecordArgs) -> anyhow::Result<Option<pb::Visit>> {
    let kind = match (&a.work_order, a.kind) {
        (Some(_), _) => pb::VisitKind::Repair,
        (None, VisitKindArg::Routine) => pb::VisitKind::Routine,
        (None, VisitKindArg::MoveIn) => pb::VisitKind::MoveIn,
    };
    let household_id = match a.household {
        Some(h) => household_id(s, &h).await?,
        None => String::new(),
    };
    let work_order_id = match a.work_order {
        Some(w) => follow_up_work_order(c, &s.p(), &w).await?,
        None => String::new(),
    };
    let request = pb::RecordVisitRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        kind: kind.into(),
        household_id,
        work_order_id,
        customer: Some(pb::VisitedCustomer {
            name: a.name,
            phone: a.phone,
        }),
        visit_time: a.at.as_deref().map(stamp).transpose()?,
        channel: match a.channel {
            VisitChannelArg::OnSite => pb::VisitChannel::OnSite,
            VisitChannelArg::Phone => pb::VisitChannel::Phone,
            VisitChannelArg::Online => pb::VisitChannel::Online,
        }
        .into(),
        content: a.content,
        satisfaction: match a.satisfaction {
            SatisfactionArg::Satisfied => pb::VisitSatisfaction::Satisfied,
            SatisfactionArg::Basic => pb::VisitSatisfaction::BasicallySatisfied,
            SatisfactionArg::Dissatisfied => pb::VisitSatisfaction::Dissatisfied,
        }
        .into(),
        question: a.question.unwrap_or_default(),
        reply_due_time: a.reply_by.as_deref().map(stamp).transpose()?,
        major_problem: a.major.unwrap_or_default(),
        meeting_date: a.meeting.unwrap_or_default(),
    };
    Ok(call(c.record_visit(request)).await?.visit)
}

/// A work order due for follow-up, by its number or id.
async fn follow_up_work_order(
    visits: &mut Client,
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

async fn list(
    s: &Session,
    c: &mut Client,
    household: Option<String>,
    limit: i32,
) -> anyhow::Result<()> {
    let household_id = match household {
        Some(h) => household_id(s, &h).await?,
        None => String::new(),
    };
    let list = call(c.list_visits(pb::ListVisitsRequest {
        property_id: s.p(),
        household_id,
        kind: 0,
        page_size: limit,
        page_token: String::new(),
    }))
    .await?;
    for v in &list.visits {
        say!(
            "{}  {}  {} {} {} {}",
            v.id,
            time(v.visit_time.as_ref()),
            left(&short(v.kind().as_str_name(), "VISIT_KIND_"), 8),
            left(&v.unit_label, 12),
            left(
                &short(v.satisfaction().as_str_name(), "VISIT_SATISFACTION_"),
                20
            ),
            v.content.chars().take(30).collect::<String>()
        );
    }
    Ok(())
}

async fn show(s: &Session, c: &mut Client, visit: String) -> anyhow::Result<Option<pb::Visit>> {
    let request = pb::GetVisitRequest {
        property_id: s.p(),
        visit_id: visit,
    };
    Ok(call(c.get_visit(request)).await?.visit)
}

async fn reply(
    s: &Session,
    c: &mut Client,
    visit: String,
    reply: String,
) -> anyhow::Result<Option<pb::Visit>> {
    let request = pb::RecordVisitReplyRequest {
        property_id: s.p(),
        visit_id: visit,
        reply,
    };
    Ok(call(c.record_visit_reply(request)).await?.visit)
}

async fn overdue(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let list = call(
        c.list_overdue_visit_replies(pb::ListOverdueVisitRepliesRequest {
            property_id: s.p(),
            page_size: 100,
            page_token: String::new(),
        }),
    )
    .await?;
    for v in &list.visits {
        say!(
            "{}  {} reply due {}  {}",
            v.id,
            left(&v.unit_label, 12),
            time(v.reply_due_time.as_ref()),
            v.question
        );
    }
    if list.visits.is_empty() {
        say!("no promised reply is overdue");
    }
    Ok(())
}

async fn agenda(s: &Session, c: &mut Client, date: Option<String>) -> anyhow::Result<()> {
    let date = date.unwrap_or_else(|| today("%Y-%m-%d"));
    let agenda = call(c.list_meeting_agenda(pb::ListMeetingAgendaRequest {
        property_id: s.p(),
        meeting_date: date.clone(),
    }))
    .await?;
    say!("agenda of the meeting of {date}");
    for item in &agenda.items {
        let v = item.visit.clone().unwrap_or_default();
        say!(
            "  {}  {} {}{}  (visit {})",
            v.meeting_date,
            left(&v.unit_label, 12),
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
    Ok(())
}

async fn settle(
    s: &Session,
    c: &mut Client,
    visit: String,
    settlement: String,
) -> anyhow::Result<Option<pb::Visit>> {
    let request = pb::SettleMajorProblemRequest {
        property_id: s.p(),
        visit_id: visit,
        settlement,
    };
    Ok(call(c.settle_major_problem(request)).await?.visit)
}

async fn raise_complaint(
    s: &Session,
    c: &mut Client,
    visit: String,
    category: String,
    severity: SeverityArg,
    description: String,
) -> anyhow::Result<Option<pb::Visit>> {
    let request = pb::RaiseComplaintFromVisitRequest {
        property_id: s.p(),
        visit_id: visit,
        severity: pb::Severity::from(severity).into(),
        category,
        description,
    };
    Ok(call(c.raise_complaint_from_visit(request)).await?.visit)
}

async fn repairs(s: &Session, c: &mut Client, due: bool) -> anyhow::Result<()> {
    for_each_page(async |page_token| {
        let page = call(c.list_repair_follow_ups(pb::ListRepairFollowUpsRequest {
            property_id: s.p(),
            pending_only: due,
            page_size: 500,
            page_token,
        }))
        .await?;
        page.follow_ups.iter().for_each(print_follow_up);
        Ok(page.next_page_token)
    })
    .await
}

async fn repair_rate(s: &Session, c: &mut Client, month: Option<String>) -> anyhow::Result<()> {
    let (year, month) = year_month(&month.unwrap_or_else(|| today("%Y-%m")))?;
    let r = call(
        c.get_repair_follow_up_rate(pb::GetRepairFollowUpRateRequest {
            property_id: s.p(),
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
    Ok(())
}

async fn move_in_coverage(
    s: &Session,
    c: &mut Client,
    month: Option<String>,
    year: Option<i32>,
) -> anyhow::Result<()> {
    let (year, month) = match (year, month) {
        (Some(y), _) => (y, 0),
        (None, m) => year_month(&m.unwrap_or_else(|| today("%Y-%m")))?,
    };
    let coverage = call(
        c.get_move_in_visit_coverage(pb::GetMoveInVisitCoverageRequest {
            property_id: s.p(),
            year,
            month,
        }),
    )
    .await?;
    say!(
        "{} – {}: {} of {} occupied households visited ({}), target {}%: {}",
        time(coverage.period_start.as_ref()),
        time(coverage.period_end.as_ref()),
        coverage.visited,
        coverage.occupied,
        percent(coverage.rate),
        coverage.target_percent,
        if coverage.met { "met" } else { "NOT met" }
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
        "work order #{:<5} {} completed {}  rating {}  {}",
        f.work_order_number,
        left(
            if f.unit_label.is_empty() {
                "-"
            } else {
                &f.unit_label
            },
            12
        ),
        time(f.complete_time.as_ref()),
        f.customer_rating,
        if f.visit_id.is_empty() {
            "NOT visited".to_owned()
        } else {
            format!("visited {}", time(f.visit_time.as_ref()))
        }
    );
}
