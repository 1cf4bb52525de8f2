//! `wuye keys`: key custody (钥匙托管, KEY-1 to KEY-11). Key sets are named by their register
//! number (钥匙编号) and loans by that number too: the open loan of the set.

mod custody;
mod loans;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{self as pb, key_service_client::KeyServiceClient};

use crate::cli::Session;
use crate::cli::output::{say, short, time};

#[derive(Args)]
pub struct KeysArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Take keys into custody (KEY-1 to KEY-5) with the authorization form; the customer's
    /// signed acceptance of the disclaimer (--signed-by) is required (KEY-3).
    Entrust(custody::EntrustArgs),
    /// The custody register (客户托管钥匙登记表): every set and where its keys are.
    Register {
        /// Also the collected ones.
        #[arg(long)]
        all: bool,
    },
    /// One key set, by register number.
    Show { key: String },
    /// Lend keys of a set (KEY-6), due back in --hours (24 by default) or --until.
    Lend(loans::LendArgs),
    /// Take keys back, counted (KEY-7); a short count stays open for the missing keys.
    Return(loans::ReturnArgs),
    /// Record chasing an overdue loan (KEY-8).
    Chase(loans::ChaseArgs),
    /// Hand the keys over on an ID check (KEY-9); closes the custody.
    Collect(custody::CollectArgs),
    /// Records again the ID of the customer (no --collector) or of a designated collector
    /// (--collector N, from 0) of a custody recorded before whole ID numbers were kept: the CS
    /// supervisor, with the document in front of them (KEY-9).
    RecordId(custody::RecordIdArgs),
    /// The borrowing register (钥匙借用登记表), newest first.
    Loans {
        /// Only loans past their limit with keys out (KEY-8).
        #[arg(long)]
        overdue: bool,
        /// Only loans with keys out.
        #[arg(long)]
        open: bool,
        /// Only the loans of this set.
        #[arg(long)]
        key: Option<String>,
    },
    /// Refused collections, newest first.
    Refusals,
    /// Follow overdue-loan alerts as they are raised (until interrupted).
    Watch,
    /// Write part two of the authorization form (委托书第二联) for the customer.
    Form {
        key: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Check the cabinet against the register: SLOT=N for every slot holding keys.
    Audit(custody::AuditArgs),
    /// Per-person figures by month (KEY-11).
    Figures {
        /// "2026-11"; this month when absent.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum IdArg {
    ResidentIdCard,
    Passport,
    HomeReturnPermit,
    Other,
}

impl From<IdArg> for pb::IdDocumentType {
    fn from(id: IdArg) -> Self {
        match id {
            IdArg::ResidentIdCard => pb::IdDocumentType::ResidentIdCard,
            IdArg::Passport => pb::IdDocumentType::Passport,
            IdArg::HomeReturnPermit => pb::IdDocumentType::HomeReturnPermit,
            IdArg::Other => pb::IdDocumentType::Other,
        }
    }
}

type Client = KeyServiceClient<Authed>;

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    let mut c = s.client(KeyServiceClient::new);
    let c = &mut c;
    match args.command {
        KeysCommand::Entrust(a) => custody::entrust(&s, c, a).await,
        KeysCommand::Register { all } => custody::register(&s, c, all).await,
        KeysCommand::Show { key } => {
            print_set(&find_set(c, &s.p(), &key).await?);
            Ok(())
        }
        KeysCommand::Lend(a) => loans::lend(&s, c, a).await,
        KeysCommand::Return(a) => loans::give_back(&s, c, a).await,
        KeysCommand::Chase(a) => loans::chase(&s, c, a).await,
        KeysCommand::Collect(a) => custody::collect(&s, c, a).await,
        KeysCommand::RecordId(a) => custody::record_id(&s, c, a).await,
        KeysCommand::Loans { overdue, open, key } => loans::list(&s, c, overdue, open, key).await,
        KeysCommand::Refusals => custody::refusals(&s, c).await,
        KeysCommand::Watch => loans::watch(&s, c).await,
        KeysCommand::Form { key, out } => custody::form(&s, c, &key, &out).await,
        KeysCommand::Audit(a) => custody::audit(&s, c, a).await,
        KeysCommand::Figures { from, to } => loans::figures(&s, c, from, to).await,
    }
}

/// A key set by its register number ("3", "#3") or id.
async fn find_set(keys: &mut Client, property_id: &str, key: &str) -> anyhow::Result<pb::KeySet> {
    let Ok(number) = key.trim_start_matches('#').parse::<i64>() else {
        return Ok(call(keys.get_key_set(pb::GetKeySetRequest {
            property_id: property_id.to_owned(),
            key_set_id: key.to_owned(),
        }))
        .await?
        .key_set
        .unwrap_or_default());
    };
    let mut page_token = String::new();
    loop {
        let page = call(keys.list_key_sets(pb::ListKeySetsRequest {
            property_id: property_id.to_owned(),
            page_size: 500,
            page_token,
            ..Default::default()
        }))
        .await?;
        if let Some(s) = page.key_sets.into_iter().find(|s| s.number == number) {
            return Ok(s);
        }
        if page.next_page_token.is_empty() {
            anyhow::bail!("no key set #{number} in the register");
        }
        page_token = page.next_page_token;
    }
}

/// A loan id, or the open loan of a set named by its register number.
async fn loan_id(keys: &mut Client, property_id: &str, loan: &str) -> anyhow::Result<String> {
    if loan.trim_start_matches('#').parse::<i64>().is_err() {
        return Ok(loan.to_owned());
    }
    let set = find_set(keys, property_id, loan).await?;
    set.current_loan
        .map(|l| l.id)
        .with_context(|| format!("key set #{} has no keys out", set.number))
}

fn print_set(s: &pb::KeySet) {
    say!(
        "key #{} ({})  {}  {}",
        s.number,
        s.id,
        short(s.state().as_str_name(), "KEY_SET_STATE_"),
        short(s.source().as_str_name(), "KEY_SOURCE_")
    );
    say!("  unit        {}  tag {}", s.unit_label, s.tag);
    say!("  customer    {} {}", s.customer_name, s.customer_phone);
    say!(
        "  slot        {}  keys {} in the cabinet, {} out",
        s.slot,
        s.keys_in_cabinet,
        s.keys_out
    );
    say!("  reason      {}", s.reason);
    say!("  conditions  {}", s.collection_conditions);
    for c in &s.collectors {
        say!("  collector   {} {} {}", c.name, c.phone, c.id_number);
    }
    say!("  entrusted   {}", time(s.entrust_time.as_ref()));
    if let Some(l) = &s.current_loan {
        print_loan(l, "  ");
    }
    if let Some(c) = &s.collection {
        say!(
            "  collected   {} by {} ({} {})",
            time(c.collect_time.as_ref()),
            c.collector_name,
            short(c.id_document_type().as_str_name(), "ID_DOCUMENT_TYPE_"),
            c.id_number_masked
        );
    }
}

/// A loan; indented under its key set.
fn print_loan(l: &pb::KeyLoan, indent: &str) {
    let b = l.borrower.clone().unwrap_or_default();
    say!(
        "{indent}loan {}  key #{} {} slot {}  {}/{} out  {}{}",
        l.id,
        l.key_number,
        l.unit_label,
        l.slot,
        l.keys_out,
        l.quantity,
        short(l.state().as_str_name(), "KEY_LOAN_STATE_"),
        if l.overdue { "  OVERDUE" } else { "" }
    );
    say!(
        "{indent}     {} {} ({}) {}  lent {}  due {}",
        b.name,
        b.department,
        b.phone,
        short(l.purpose().as_str_name(), "LOAN_PURPOSE_"),
        time(l.borrow_time.as_ref()),
        time(l.expected_return_time.as_ref())
    );
    for r in &l.returns {
        say!(
            "{indent}     returned {} of {} on {}{}",
            r.received,
            r.expected,
            time(r.return_time.as_ref()),
            if r.missing > 0 {
                format!(", {} missing", r.missing)
            } else {
                String::new()
            }
        );
    }
    for c in &l.chases {
        say!(
            "{indent}     chased {} by {}: {} – {}",
            time(c.chase_time.as_ref()),
            short(c.method().as_str_name(), "CHASE_METHOD_"),
            c.contacted,
            c.result
        );
    }
}
