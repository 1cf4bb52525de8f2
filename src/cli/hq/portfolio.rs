//! `wuye report portfolio`: each property's figures of a month, and the totals (HQ-1).

use clap::{Args, Subcommand};
use wuye::connect::{Target, call};
use wuye_proto::hq::{self, portfolio_service_client::PortfolioServiceClient};

use crate::cli::output::{left, right, say, today};

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

/// The columns after the property's: their titles and widths (in display columns, at least
/// the title's).
const COLUMNS: [(&str, usize); 13] = [
    ("投诉", 6),
    ("轻/一般/严重", 16),
    ("按时答复", 8),
    ("升级中", 6),
    ("钥匙逾期", 8),
    ("档案迟", 6),
    ("交接拒签", 8),
    ("巡检覆盖", 8),
    ("完好率", 8),
    ("报修回访", 8),
    ("入住走访", 8),
    ("调查回收", 8),
    ("满意度", 8),
];

pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let ReportCommand::Portfolio {
        month,
        to_month,
        properties,
    } = args.command;
    let month = month.unwrap_or_else(|| today("%Y-%m"));
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
    let titles = COLUMNS.iter().map(|(title, _)| title.to_string()).collect();
    print_row("property", titles);
    for p in portfolio.properties.iter().chain(portfolio.total.iter()) {
        let label = if p.property_id.is_empty() {
            "合计"
        } else {
            &p.property_id
        };
        print_row(label, figures(p));
    }
    if portfolio.partial {
        say!("PARTIAL: not answered in time or failed:");
        for m in &portfolio.missing {
            say!("  {}: {}", m.source, m.reason);
        }
    }
    Ok(())
}

/// One line of the table: the property, then the cells right-aligned under [`COLUMNS`].
fn print_row(label: &str, cells: Vec<String>) {
    let cells: Vec<String> = cells
        .iter()
        .zip(COLUMNS)
        .map(|(cell, (_, width))| right(cell, width))
        .collect();
    say!("{} {}", left(label, 18), cells.join(" "));
}

/// A property's cells, in the order of [`COLUMNS`].
fn figures(p: &hq::PropertyFigures) -> Vec<String> {
    let c = p.complaints.clone().unwrap_or_default();
    let severity = |key: &str| {
        c.by_severity
            .iter()
            .find(|k| k.key == key)
            .map(|k| k.count)
            .unwrap_or(0)
    };
    let (registered, by_severity) = if c.available {
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
    vec![
        registered,
        by_severity,
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
    ]
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
