//! The duty roster (值班表, DUTY-1) and its swaps.

use chrono::Duration;
use clap::Subcommand;
use wuye::connect::{Authed, call};
use wuye_proto::engineering::{self as pb, duty_service_client::DutyServiceClient};

use super::shift_id;
use crate::cli::input::{parse_time, request_id, stamp, timestamp};
use crate::cli::output::{left, say, short, time, today};
use crate::cli::{Session, for_each_page};

#[derive(Subcommand)]
pub(super) enum RosterCommand {
    /// Put a shift on the roster; the shift shows the person's name from the staff directory.
    Add {
        /// The person on duty: their staff id in the directory (a technician or the
        /// maintenance foreman of the property).
        #[arg(long, value_name = "STAFF_ID")]
        user: String,
        /// Start, such as "2026-11-27 08:00" (China Standard Time).
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The shifts starting on a day (today when absent).
    List {
        #[arg(long)]
        day: Option<String>,
        /// Only this person's shifts: their staff id.
        #[arg(long, value_name = "STAFF_ID")]
        user: Option<String>,
    },
    /// Ask to give a shift to someone else.
    Swap {
        /// The shift id, or its person's staff id for their next shift.
        shift: String,
        /// Who takes the shift: their staff id in the directory (a technician or the
        /// maintenance foreman of the property).
        #[arg(long, value_name = "STAFF_ID")]
        to: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Approve (or --reject) a swap.
    Approve {
        swap: String,
        #[arg(long)]
        reject: bool,
    },
}

type Client = DutyServiceClient<Authed>;

pub(super) async fn run(s: &Session, command: RosterCommand) -> anyhow::Result<()> {
    let mut c = s.client(DutyServiceClient::new);
    let c = &mut c;
    match command {
        RosterCommand::Add {
            user,
            from,
            to,
            request_id: rid,
        } => add(s, c, user, &from, &to, rid).await,
        RosterCommand::List { day, user } => list(s, c, day, user).await,
        RosterCommand::Swap {
            shift,
            to,
            reason,
            request_id: rid,
        } => swap(s, c, &shift, to, reason, rid).await,
        RosterCommand::Approve { swap, reject } => approve(s, c, swap, reject).await,
    }
}

async fn add(
    s: &Session,
    c: &mut Client,
    user: String,
    from: &str,
    to: &str,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let request = pb::CreateShiftRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        user_id: user,
        start_time: Some(stamp(from)?),
        end_time: Some(stamp(to)?),
    };
    let shift = call(c.create_shift(request)).await?.shift;
    print_shift(&shift.unwrap_or_default());
    Ok(())
}

async fn list(
    s: &Session,
    c: &mut Client,
    day: Option<String>,
    user: Option<String>,
) -> anyhow::Result<()> {
    let day = day.unwrap_or_else(|| today("%Y-%m-%d"));
    let start = parse_time(&day)?;
    for_each_page(async |page_token| {
        let page = call(c.list_shifts(pb::ListShiftsRequest {
            property_id: s.p(),
            start_from: Some(timestamp(start)),
            start_before: Some(timestamp(start + Duration::days(1))),
            user_id: user.clone().unwrap_or_default(),
            page_size: 500,
            page_token,
        }))
        .await?;
        page.shifts.iter().for_each(print_shift);
        Ok(page.next_page_token)
    })
    .await
}

async fn swap(
    s: &Session,
    c: &mut Client,
    shift: &str,
    to: String,
    reason: String,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let request = pb::RequestShiftSwapRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        shift_id: shift_id(s, shift).await?,
        to_user_id: to,
        reason,
    };
    let swap = call(c.request_shift_swap(request))
        .await?
        .swap
        .unwrap_or_default();
    say!(
        "swap {} of shift {}: {} → {} ({})",
        swap.id,
        swap.shift_id,
        swap.from_user_id,
        swap.to_user_id,
        short(swap.state().as_str_name(), "SWAP_STATE_")
    );
    Ok(())
}

async fn approve(s: &Session, c: &mut Client, swap: String, reject: bool) -> anyhow::Result<()> {
    let decided = call(c.decide_shift_swap(pb::DecideShiftSwapRequest {
        property_id: s.p(),
        swap_id: swap,
        approve: !reject,
    }))
    .await?;
    let swap = decided.swap.unwrap_or_default();
    say!(
        "swap {} {}",
        swap.id,
        short(swap.state().as_str_name(), "SWAP_STATE_")
    );
    if let Some(s) = decided.shift {
        print_shift(&s);
    }
    Ok(())
}

pub(super) fn print_shift(s: &pb::Shift) {
    say!(
        "{}  {} – {}  {} {} ({})",
        s.id,
        time(s.start_time.as_ref()),
        time(s.end_time.as_ref()),
        left(&short(s.state().as_str_name(), "SHIFT_STATE_"), 10),
        s.user_name,
        s.user_id
    );
}
