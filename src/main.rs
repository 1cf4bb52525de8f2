//! `wuye`: runs the whole system in one process (`wuye up`), issues development tokens, and
//! talks to the gateway as a command-line client.

/// Prints a line; a reader that went away (`| head`) ends the output, not the program.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod archives;
mod client;
mod engineering;
mod keys;
mod quality;
mod surveys;
mod up;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wuye",
    version,
    about = "wuye (物业): the property service center's system"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service and the gateway in one process, with SQLite files under --data.
    Up(up::UpArgs),
    /// Print a token: signed with the development key of deploy/dev-keys, or with `--key`.
    Token(client::TokenArgs),
    /// File, show and list complaints through the gateway.
    Complaint(client::ComplaintArgs),
    /// Add and list the units of a property through the gateway.
    Unit(client::UnitArgs),
    /// Move-ins, move-outs and the registers of households, through the gateway.
    Household(client::HouseholdArgs),
    /// Engineering: equipment, roster and duty, handovers, alerts, work orders, inspections.
    Eng(engineering::EngArgs),
    /// Key custody (钥匙托管): entrust, lend, return, chase, collect, the registers.
    Keys(keys::KeysArgs),
    /// Satisfaction surveys (满意度调查): campaigns, forms, statistics, report, publication.
    Survey(surveys::SurveyArgs),
    /// Follow-up visits (回访): visits, replies, the meeting agenda, repair follow-ups.
    Visit(surveys::VisitArgs),
    /// Archives (一户一档): household files, documents, access requests, audit, retention.
    Archive(archives::ArchiveArgs),
    /// The quality department's escalation inbox (ESC-3), through the gateway.
    Quality(quality::QualityArgs),
    /// Reports for headquarters: `wuye report portfolio` (HQ-1).
    Report(quality::ReportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| match cli.command {
            Command::Up(args) => runtime.block_on(up::run(args)),
            Command::Token(args) => client::token(args),
            Command::Complaint(args) => runtime.block_on(client::complaint(args)),
            Command::Unit(args) => runtime.block_on(client::unit(args)),
            Command::Household(args) => runtime.block_on(client::household(args)),
            Command::Eng(args) => runtime.block_on(engineering::eng(args)),
            Command::Keys(args) => runtime.block_on(keys::keys(args)),
            Command::Survey(args) => runtime.block_on(surveys::survey(args)),
            Command::Visit(args) => runtime.block_on(surveys::visit(args)),
            Command::Archive(args) => runtime.block_on(archives::archive(args)),
            Command::Quality(args) => runtime.block_on(quality::quality(args)),
            Command::Report(args) => runtime.block_on(quality::report(args)),
        });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The retry key of a request: the one given, or a fresh one.
fn request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// A time as the service centers write it, in China Standard Time: "2026-11-27 08:00",
/// "2026-11-27T08:00" or a day "2026-11-27" (its midnight); "now" is now.
fn parse_time(text: &str) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    if text == "now" {
        return Ok(Utc::now());
    }
    let local = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| anyhow::anyhow!("{text:?}: write a time as 2026-11-27 08:00"))?;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| anyhow::anyhow!("{text:?} does not exist in China Standard Time"))
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// A `--time` flag as a protobuf timestamp.
fn stamp(text: &str) -> anyhow::Result<prost_types::Timestamp> {
    parse_time(text).map(timestamp)
}

/// Today or this month in China Standard Time, formatted with `format`.
fn today(format: &str) -> String {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format(format)
        .to_string()
}

/// "2026-11" as (2026, 11).
fn year_month(text: &str) -> anyhow::Result<(i32, i32)> {
    let parsed = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("{text:?}: write a month as 2026-11"))?;
    use chrono::Datelike;
    Ok((parsed.year(), parsed.month() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn times_are_read_in_china_standard_time() {
        let t = parse_time("2026-11-27 08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(
            parse_time("2026-11-27").unwrap().to_rfc3339(),
            "2026-11-26T16:00:00+00:00"
        );
        assert!(parse_time("27/11").is_err());
        assert_eq!(year_month("2026-11").unwrap(), (2026, 11));
        assert!(year_month("2026-13").is_err());
    }
}
