//! Client commands of the quality department's inbox (ESC-3) and the headquarters portfolio
//! (HQ-1), through the gateway.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use wuye::connect::{Target, call};
use wuye_proto::{
    hq::{self, portfolio_service_client::PortfolioServiceClient},
    quality::{self as pb, escalation_service_client::EscalationServiceClient},
};

/// Prints a line; a reader that went away (`| head`) ends the output, not the program.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Args)]
pub struct QualityArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: QualityCommand,
}

#[derive(Subcommand)]
enum QualityCommand {
    /// The escalation inbox, newest first: the property's, or every property's with --all
    /// (quality officers and headquarters).
    Inbox {
        #[arg(long)]
        all: bool,
        /// Only those not closed.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// One escalation with its reasons, questions and decision.
    Show { escalation: String },
    /// Assign it to a quality officer (the caller when --to is absent).
    Assign {
        escalation: String,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Ask the property for information.
    Ask {
        escalation: String,
        #[arg(long)]
        question: String,
    },
    /// The property answers the department's question.
    Answer {
        escalation: String,
        #[arg(long)]
        answer: String,
    },
    /// Record the decision and the corrective actions (CMP-8), one --action each.
    Decide {
        escalation: String,
        #[arg(long)]
        decision: String,
        #[arg(long = "action")]
        actions: Vec<String>,
    },
    /// Close a decided escalation.
    Close {
        escalation: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

pub async fn quality(args: QualityArgs) -> anyhow::Result<()> {
    let target = &args.target;
    let mut inbox = EscalationServiceClient::new(target.channel().await?);
    let property_id = target.property.clone();
    let escalation = match args.command {
        QualityCommand::Inbox { all, open, limit } => {
            let list = call(inbox.list_escalations(pb::ListEscalationsRequest {
                property_id: if all { String::new() } else { property_id },
                state: 0,
                open_only: open,
                page_size: limit,
                page_token: String::new(),
            }))
            .await?;
            for e in &list.escalations {
                let reasons: Vec<String> = e.reasons.iter().map(|r| reason(r.reason())).collect();
                say!(
                    "{}  {:<16} 投诉 {:<5} {:<22} {:<8} {}",
                    e.id,
                    e.property_id,
                    e.complaint_number,
                    state(e.state()),
                    e.category,
                    reasons.join(",")
                );
            }
            if list.escalations.is_empty() {
                say!("no escalations");
            }
            return Ok(());
        }
        QualityCommand::Show { escalation } => {
            call(inbox.get_escalation(pb::GetEscalationRequest {
                property_id,
                escalation_id: escalation,
            }))
            .await?
            .escalation
        }
        QualityCommand::Assign {
            escalation,
            to,
            name,
        } => {
            call(inbox.assign_escalation(pb::AssignEscalationRequest {
                property_id,
                escalation_id: escalation,
                assignee_user_id: to.unwrap_or_default(),
                assignee_name: name,
            }))
            .await?
            .escalation
        }
        QualityCommand::Ask {
            escalation,
            question,
        } => {
            call(inbox.request_information(pb::RequestInformationRequest {
                property_id,
                escalation_id: escalation,
                question,
            }))
            .await?
            .escalation
        }
        QualityCommand::Answer { escalation, answer } => {
            call(inbox.provide_information(pb::ProvideInformationRequest {
                property_id,
                escalation_id: escalation,
                answer,
            }))
            .await?
            .escalation
        }
        QualityCommand::Decide {
            escalation,
            decision,
            actions,
        } => {
            call(inbox.decide_escalation(pb::DecideEscalationRequest {
                property_id,
                escalation_id: escalation,
                decision,
                corrective_actions: actions,
            }))
            .await?
            .escalation
        }
        QualityCommand::Close { escalation, note } => {
            call(inbox.close_escalation(pb::CloseEscalationRequest {
                property_id,
                escalation_id: escalation,
                note,
            }))
            .await?
            .escalation
        }
    };
    if let Some(e) = escalation {
        print_escalation(&e);
    }
    Ok(())
}

fn print_escalation(e: &pb::Escalation) {
    say!("escalation {}  ({})", e.id, state(e.state()));
    say!(
        "  complaint {} of {}, {}, {}",
        e.complaint_number,
        e.property_id,
        e.category,
        e.severity()
            .as_str_name()
            .trim_start_matches("SEVERITY_")
            .to_lowercase()
    );
    for r in &e.reasons {
        say!(
            "  reason    {:<14} {}  {}",
            reason(r.reason()),
            time(r.receive_time.as_ref()),
            r.detail
        );
    }
    if let Some(a) = &e.assignee {
        say!("  assignee  {} ({})", a.name, a.user_id);
    }
    for i in &e.information_requests {
        say!("  asked     {}  {}", time(i.ask_time.as_ref()), i.question);
        if !i.answer.is_empty() {
            say!("  answered  {}  {}", time(i.answer_time.as_ref()), i.answer);
        }
    }
    if !e.decision.is_empty() {
        say!("  decision  {}", e.decision);
        for (n, action) in e.corrective_actions.iter().enumerate() {
            say!("    {}. {action}", n + 1);
        }
    }
    if e.close_time.is_some() {
        say!(
            "  closed    {}  {}",
            time(e.close_time.as_ref()),
            e.close_note
        );
    }
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The headquarters portfolio (HQ-1): each property's figures of a month (or of the months
    /// up to --to-month) and the totals.
    Portfolio {
        /// "2026-11"; the current month (China Standard Time) when absent.
        #[arg(long)]
        month: Option<String>,
        /// The last month of a longer period, such as a quarter or a year (at most 12 months).
        #[arg(long)]
        to_month: Option<String>,
        /// Only these properties (repeatable); every property you may see when absent.
        #[arg(long = "only")]
        properties: Vec<String>,
    },
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let ReportCommand::Portfolio {
        month,
        to_month,
        properties,
    } = args.command;
    let month = month.unwrap_or_else(|| {
        Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m")
            .to_string()
    });
    let mut client = PortfolioServiceClient::new(args.target.channel().await?);
    let portfolio = call(client.get_portfolio(hq::GetPortfolioRequest {
        month,
        to_month: to_month.unwrap_or_default(),
        property_ids: properties,
    }))
    .await?
    .portfolio
    .unwrap_or_default();
    if portfolio.to_month.is_empty() || portfolio.to_month == portfolio.month {
        say!("portfolio {}", portfolio.month);
    } else {
        say!("portfolio {} .. {}", portfolio.month, portfolio.to_month);
    }
    say!(
        "{:<18} {:>6} {:>16} {:>6} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "property",
        "投诉",
        "轻/一般/严重",
        "按时答复",
        "升级中",
        "钥匙逾期",
        "档案迟",
        "交接拒签",
        "巡检覆盖",
        "完好率",
        "报修回访",
        "入住走访",
        "调查回收",
        "满意度"
    );
    for p in portfolio.properties.iter().chain(portfolio.total.iter()) {
        let label = if p.property_id.is_empty() {
            "合计".to_owned()
        } else {
            p.property_id.clone()
        };
        let c = p.complaints.clone().unwrap_or_default();
        let severity = |key: &str| {
            c.by_severity
                .iter()
                .find(|k| k.key == key)
                .map(|k| k.count)
                .unwrap_or(0)
        };
        let complaints = if c.available {
            (
                c.registered.to_string(),
                format!(
                    "{}/{}/{}",
                    severity("minor"),
                    severity("general"),
                    severity("serious")
                ),
            )
        } else {
            ("n/a".into(), "n/a".into())
        };
        say!(
            "{:<18} {:>6} {:>16} {:>6} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            label,
            complaints.0,
            complaints.1,
            rate(c.replies_on_time.as_ref()),
            count(p.open_escalations.as_ref()),
            count(p.overdue_keys.as_ref()),
            count(p.late_archive_files.as_ref()),
            count(p.refused_handovers.as_ref()),
            rate(p.inspection_coverage.as_ref()),
            rate(p.intact_rate.as_ref()),
            rate(p.repair_follow_up.as_ref()),
            rate(p.move_in_visits.as_ref()),
            rate(p.survey_return.as_ref()),
            rate(p.survey_satisfaction.as_ref()),
        );
    }
    if portfolio.partial {
        say!("PARTIAL: not answered in time or failed:");
        for m in &portfolio.missing {
            say!("  {}: {}", m.source, m.reason);
        }
    }
    Ok(())
}

fn count(c: Option<&hq::Count>) -> String {
    match c {
        Some(c) if c.available => c.value.to_string(),
        _ => "n/a".into(),
    }
}

fn rate(r: Option<&hq::Rate>) -> String {
    match r {
        Some(r) if r.available => format!("{:.1}%", r.percent),
        _ => "n/a".into(),
    }
}

fn reason(r: pb::EscalationReason) -> String {
    r.as_str_name()
        .trim_start_matches("ESCALATION_REASON_")
        .to_lowercase()
}

fn state(s: pb::EscalationState) -> String {
    s.as_str_name()
        .trim_start_matches("ESCALATION_STATE_")
        .to_lowercase()
}

/// A timestamp in China Standard Time, as the service centers read it.
fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}
