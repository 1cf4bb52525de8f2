//! `wuye`: runs the whole system in one process (`wuye up`), issues development tokens, and
//! talks to the gateway as a command-line client.

mod client;
mod quality;
mod up;

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
    /// Print a development token, signed with the development key of deploy/dev-keys.
    Token(client::TokenArgs),
    /// File, show and list complaints through the gateway.
    Complaint(client::ComplaintArgs),
    /// Add and list the units of a property through the gateway.
    Unit(client::UnitArgs),
    /// Move-ins, move-outs and the registers of households, through the gateway.
    Household(client::HouseholdArgs),
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
