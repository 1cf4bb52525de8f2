//! Records handed to the archives for their retention, and their destruction.

use clap::Subcommand;
use wuye::connect::call;
use wuye_proto::archives::{self as pb, retention_service_client::RetentionServiceClient};

use crate::cli::Session;
use crate::cli::input::request_id;
use crate::cli::output::{left, say, short, time};

#[derive(Subcommand)]
pub(super) enum RetentionCommand {
    /// Records handed to the archives.
    List,
    /// Propose every record past its retention for destruction.
    Propose {
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Destroy the records of a proposal (a supervisor who did not propose it).
    Approve {
        proposal: String,
    },
    Show {
        proposal: String,
    },
}

type Client = RetentionServiceClient<wuye::connect::Authed>;

pub(super) async fn run(s: &Session, command: RetentionCommand) -> anyhow::Result<()> {
    let mut c = s.client(RetentionServiceClient::new);
    let c = &mut c;
    match command {
        RetentionCommand::List => list(s, c).await,
        RetentionCommand::Propose { request_id } => propose(s, c, request_id).await,
        RetentionCommand::Approve { proposal } => approve(s, c, proposal).await,
        RetentionCommand::Show { proposal } => show(s, c, proposal).await,
    }
}

async fn list(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let mut page_token = String::new();
    let mut first_page = true;
    loop {
        let page = call(c.list_retained_records(pb::ListRetainedRecordsRequest {
            property_id: s.p(),
            state: 0,
            page_size: 500,
            page_token,
        }))
        .await?;
        page.records.iter().for_each(print_record);
        if page.next_page_token.is_empty() {
            if page.records.is_empty() && first_page {
                say!("no records handed over");
            }
            return Ok(());
        }
        first_page = false;
        page_token = page.next_page_token;
    }
}

async fn propose(s: &Session, c: &mut Client, rid: Option<String>) -> anyhow::Result<()> {
    let proposal = call(c.propose_destruction(pb::ProposeDestructionRequest {
        property_id: s.p(),
        request_id: request_id(rid),
    }))
    .await?
    .proposal;
    match proposal {
        Some(p) => print_proposal(&p),
        None => say!("nothing is past its retention"),
    }
    Ok(())
}

async fn approve(s: &Session, c: &mut Client, proposal: String) -> anyhow::Result<()> {
    let p = call(c.approve_destruction(pb::ApproveDestructionRequest {
        property_id: s.p(),
        destruction_proposal_id: proposal,
    }))
    .await?
    .proposal;
    print_proposal(&p.unwrap_or_default());
    Ok(())
}

async fn show(s: &Session, c: &mut Client, proposal: String) -> anyhow::Result<()> {
    let p = call(
        c.get_destruction_proposal(pb::GetDestructionProposalRequest {
            property_id: s.p(),
            destruction_proposal_id: proposal,
        }),
    )
    .await?
    .proposal;
    print_proposal(&p.unwrap_or_default());
    Ok(())
}

fn print_proposal(p: &pb::DestructionProposal) {
    say!(
        "proposal {}  {}  proposed {}{}",
        p.id,
        short(p.state().as_str_name(), "PROPOSAL_STATE_"),
        time(p.propose_time.as_ref()),
        if p.approve_time.is_some() {
            format!(", destroyed {}", time(p.approve_time.as_ref()))
        } else {
            String::new()
        }
    );
    p.records.iter().for_each(print_record);
}

fn print_record(r: &pb::RetainedRecord) {
    say!(
        "  {} {} {} closed {}  keep until {}  {}",
        left(&short(r.state().as_str_name(), "RETAINED_STATE_"), 10),
        left(&r.source, 16),
        left(&r.record_kind, 12),
        time(r.close_time.as_ref()),
        time(r.retain_until_time.as_ref()),
        r.summary
    );
}
