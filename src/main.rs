//! `wuye`: runs the whole system in one process (`wuye up`), issues development tokens, and
//! talks to the gateway as a command-line client (src/cli/).

mod cli;
mod up;

use clap::{Parser, Subcommand};

use cli::{archives, customer_service as cs, engineering, hq, login, quality, token, whoami};

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
    Token(token::TokenArgs),
    /// Sign in through the company's identity provider (OpenID Connect), or `--dev` in
    /// development; the next commands call as the person signed in.
    Login(login::LoginArgs),
    /// Forget the sign-in of `wuye login`.
    Logout(login::LogoutArgs),
    /// Who the gateway takes you for: the person and posts of the staff directory.
    Whoami(whoami::WhoamiArgs),
    /// File, show and list complaints through the gateway.
    Complaint(cs::complaints::ComplaintArgs),
    /// Add and list the units of a property through the gateway.
    Unit(cs::units::UnitArgs),
    /// Move-ins, move-outs and the registers of households, through the gateway.
    Household(cs::households::HouseholdArgs),
    /// Engineering: equipment, roster and duty, handovers, alerts, work orders, inspections.
    Eng(engineering::EngArgs),
    /// Key custody (钥匙托管): entrust, lend, return, chase, collect, the registers.
    Keys(cs::keys::KeysArgs),
    /// Satisfaction surveys (满意度调查): campaigns, forms, statistics, report, publication.
    Survey(cs::surveys::SurveyArgs),
    /// Follow-up visits (回访): visits, replies, the meeting agenda, repair follow-ups.
    Visit(cs::visits::VisitArgs),
    /// Archives (一户一档): household files, documents, access requests, audit, retention.
    Archive(archives::ArchiveArgs),
    /// The quality department's escalation inbox (ESC-3), through the gateway.
    Quality(quality::QualityArgs),
    /// Reports for headquarters: `wuye report portfolio` (HQ-1).
    Report(hq::ReportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| match cli.command {
            Command::Up(args) => runtime.block_on(up::run(args)),
            Command::Token(args) => token::token(args),
            Command::Login(args) => runtime.block_on(login::login(args)),
            Command::Logout(args) => login::logout(args),
            Command::Whoami(args) => runtime.block_on(whoami::run(args)),
            Command::Complaint(args) => runtime.block_on(cs::complaints::run(args)),
            Command::Unit(args) => runtime.block_on(cs::units::run(args)),
            Command::Household(args) => runtime.block_on(cs::households::run(args)),
            Command::Eng(args) => runtime.block_on(engineering::run(args)),
            Command::Keys(args) => runtime.block_on(cs::keys::run(args)),
            Command::Survey(args) => runtime.block_on(cs::surveys::run(args)),
            Command::Visit(args) => runtime.block_on(cs::visits::run(args)),
            Command::Archive(args) => runtime.block_on(archives::run(args)),
            Command::Quality(args) => runtime.block_on(quality::run(args)),
            Command::Report(args) => runtime.block_on(hq::run(args)),
        });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
