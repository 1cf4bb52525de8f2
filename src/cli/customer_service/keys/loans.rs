//! Loans of keys: lending, returns counted, chasing overdue ones, the register and figures.

use chrono::{Duration, Utc};
use clap::{Args, ValueEnum};
use wuye::connect::call;
use wuye_proto::customerservice as pb;

use super::{Client, find_set, loan_id, print_loan};
use crate::cli::Session;
use crate::cli::input::{request_id, stamp, timestamp};
use crate::cli::output::{left, say, time, today};

#[derive(Args)]
pub(super) struct LendArgs {
    /// The register number or id of the set.
    key: String,
    #[arg(long, default_value_t = 1)]
    count: i32,
    #[arg(long, value_enum, default_value = "repair")]
    purpose: PurposeArg,
    #[arg(long)]
    reason: String,
    /// The borrower: their staff id in the directory (staff of the property); the register
    /// shows their name from the directory.
    #[arg(long, value_name = "STAFF_ID")]
    borrower: String,
    /// The borrowing department, such as 工程管理部; it is the one chased.
    #[arg(long)]
    department: String,
    /// The phone the borrower gives for the register.
    #[arg(long)]
    phone: String,
    /// The name the borrower signed the register with.
    #[arg(long)]
    signature: String,
    #[arg(long, default_value_t = 24)]
    hours: i64,
    /// Due back at, such as "2026-11-28 18:00"; overrides --hours.
    #[arg(long)]
    until: Option<String>,
    #[arg(long)]
    request_id: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum PurposeArg {
    Repair,
    Patrol,
}

#[derive(Args)]
pub(super) struct ReturnArgs {
    /// The loan id, or the register number of the set (its open loan).
    loan: String,
    #[arg(long)]
    count: i32,
    #[arg(long, default_value = "")]
    note: String,
    #[arg(long)]
    request_id: Option<String>,
}

#[derive(Args)]
pub(super) struct ChaseArgs {
    /// The loan id, or the register number of the set (its open loan).
    loan: String,
    #[arg(long, value_enum, default_value = "phone")]
    method: ChaseArg,
    /// Whom the chase reached.
    #[arg(long)]
    contacted: String,
    #[arg(long)]
    result: String,
    /// When the keys were promised back.
    #[arg(long)]
    promised: Option<String>,
    #[arg(long)]
    request_id: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChaseArg {
    Phone,
    Visit,
}

pub(super) async fn lend(s: &Session, c: &mut Client, a: LendArgs) -> anyhow::Result<()> {
    let set = find_set(c, &s.p(), &a.key).await?;
    let due = match a.until {
        Some(u) => stamp(&u)?,
        None => timestamp(Utc::now() + Duration::hours(a.hours)),
    };
    let loan = call(
        c.borrow_keys(pb::BorrowKeysRequest {
            property_id: s.p(),
            request_id: request_id(a.request_id),
            key_set_id: set.id,
            quantity: a.count,
            purpose: match a.purpose {
                PurposeArg::Repair => pb::LoanPurpose::Repair,
                PurposeArg::Patrol => pb::LoanPurpose::VacantPatrol,
            }
            .into(),
            reason: a.reason,
            borrower_signature: a.signature,
            borrower: Some(pb::BorrowerSpec {
                user_id: a.borrower,
                department: a.department,
                phone: a.phone,
            }),
            expected_return_time: Some(due),
        }),
    )
    .await?
    .loan;
    print_loan(&loan.unwrap_or_default(), "");
    Ok(())
}

/// `keys return`.
pub(super) async fn give_back(s: &Session, c: &mut Client, a: ReturnArgs) -> anyhow::Result<()> {
    let loan_id = loan_id(c, &s.p(), &a.loan).await?;
    let returned = call(c.return_keys(pb::ReturnKeysRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        loan_id,
        quantity: a.count,
        note: a.note,
    }))
    .await?;
    print_loan(&returned.loan.unwrap_or_default(), "");
    Ok(())
}

pub(super) async fn chase(s: &Session, c: &mut Client, a: ChaseArgs) -> anyhow::Result<()> {
    let loan_id = loan_id(c, &s.p(), &a.loan).await?;
    let chased = call(
        c.record_key_chase(pb::RecordKeyChaseRequest {
            property_id: s.p(),
            request_id: request_id(a.request_id),
            loan_id,
            method: match a.method {
                ChaseArg::Phone => pb::ChaseMethod::Phone,
                ChaseArg::Visit => pb::ChaseMethod::Visit,
            }
            .into(),
            contacted: a.contacted,
            result: a.result,
            promised_return_time: a.promised.as_deref().map(stamp).transpose()?,
        }),
    )
    .await?;
    print_loan(&chased.loan.unwrap_or_default(), "");
    Ok(())
}

pub(super) async fn list(
    s: &Session,
    c: &mut Client,
    overdue: bool,
    open: bool,
    key: Option<String>,
) -> anyhow::Result<()> {
    let key_set_id = match key {
        Some(k) => find_set(c, &s.p(), &k).await?.id,
        None => String::new(),
    };
    let list = call(c.list_key_loans(pb::ListKeyLoansRequest {
        property_id: s.p(),
        key_set_id,
        open_only: open,
        overdue_only: overdue,
        page_size: 100,
        page_token: String::new(),
    }))
    .await?;
    list.loans.iter().for_each(|l| print_loan(l, ""));
    if list.loans.is_empty() {
        say!("no loans");
    }
    Ok(())
}

pub(super) async fn watch(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let mut stream = call(c.watch_key_alerts(pb::WatchKeyAlertsRequest {
        property_id: s.p(),
        after_seq: 0,
    }))
    .await?;
    while let Some(message) = stream.message().await? {
        let a = message.alert.unwrap_or_default();
        say!("alert {} raised {}", a.seq, time(a.raise_time.as_ref()));
        print_loan(&a.loan.unwrap_or_default(), "");
    }
    Ok(())
}

pub(super) async fn figures(
    s: &Session,
    c: &mut Client,
    from: Option<String>,
    to: Option<String>,
) -> anyhow::Result<()> {
    let from = from.unwrap_or_else(|| today("%Y-%m"));
    let to = to.unwrap_or_else(|| from.clone());
    let figures = call(c.get_key_figures(pb::GetKeyFiguresRequest {
        property_id: s.p(),
        from_month: from,
        to_month: to,
    }))
    .await?
    .figures;
    say!(
        "{:<8} {:<10} {:>6} {:>7} {:>8} {:>7} {:>6} {:>8}",
        "month",
        "person",
        "lent",
        "returns",
        "borrowed",
        "overdue",
        "chases",
        "refusals"
    );
    for f in &figures {
        say!(
            "{} {} {:>6} {:>7} {:>8} {:>7} {:>6} {:>8}",
            left(&f.month, 8),
            left(&f.name, 10),
            f.loans_handled,
            f.returns_received,
            f.loans_borrowed,
            f.overdue_loans,
            f.chases,
            f.refusals
        );
    }
    Ok(())
}
