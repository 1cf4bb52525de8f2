//! Client commands of key custody (钥匙托管, KEY-1 to KEY-11), through the gateway. Key sets
//! are named by their register number (钥匙编号) and loans by that number too: the open loan
//! of the set.

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, Target, call};
use wuye_proto::customerservice::{
    self as pb, household_service_client::HouseholdServiceClient,
    key_service_client::KeyServiceClient,
};

use crate::client::{resolve_unit, short, time};
use crate::{request_id, stamp, timestamp, today};

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
    Entrust {
        /// The unit: its label such as 3-2-1502, or its id.
        #[arg(long)]
        unit: String,
        #[arg(long, value_enum, default_value = "customer")]
        source: SourceArg,
        /// The customer, or the developer for developer keys.
        #[arg(long)]
        customer: String,
        #[arg(long)]
        phone: String,
        /// Keys in the set.
        #[arg(long)]
        count: i32,
        /// The cabinet slot, such as A-03.
        #[arg(long)]
        slot: String,
        /// 托存原因.
        #[arg(long)]
        reason: String,
        /// 领取钥匙的要求.
        #[arg(long, default_value = "本人或指定人凭身份证领取")]
        conditions: String,
        /// A designated collector as NAME,PHONE[,ID NUMBER]; repeat.
        #[arg(long = "collector")]
        collectors: Vec<String>,
        /// The name the customer signed the disclaimer with; without it, no custody.
        #[arg(long)]
        signed_by: Option<String>,
        /// The customer's own resident ID number, kept masked; then they show it to collect.
        #[arg(long)]
        customer_id: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The custody register (客户托管钥匙登记表): every set and where its keys are.
    Register {
        /// Also the collected ones.
        #[arg(long)]
        all: bool,
    },
    /// One key set, by register number.
    Show { key: String },
    /// Lend keys of a set (KEY-6), due back in --hours (24 by default) or --until.
    Lend {
        /// The register number or id of the set.
        key: String,
        #[arg(long, default_value_t = 1)]
        count: i32,
        #[arg(long, value_enum, default_value = "repair")]
        purpose: PurposeArg,
        #[arg(long)]
        reason: String,
        /// The borrower's name.
        #[arg(long)]
        borrower: String,
        /// The borrowing department, such as 工程管理部; it is the one chased.
        #[arg(long)]
        department: String,
        #[arg(long)]
        phone: String,
        /// The borrower's wuye user id, if any.
        #[arg(long, default_value = "")]
        user: String,
        /// The name the borrower signed with; the borrower's name when absent.
        #[arg(long)]
        signature: Option<String>,
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// Due back at, such as "2026-11-28 18:00"; overrides --hours.
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Take keys back, counted (KEY-7); a short count stays open for the missing keys.
    Return {
        /// The loan id, or the register number of the set (its open loan).
        loan: String,
        #[arg(long)]
        count: i32,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Record chasing an overdue loan (KEY-8).
    Chase {
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
    },
    /// Hand the keys over on an ID check (KEY-9); closes the custody.
    Collect {
        key: String,
        /// The collector's name.
        #[arg(long)]
        name: String,
        /// The ID number as read from the document; without it the collection is refused.
        #[arg(long)]
        id: Option<String>,
        #[arg(long, value_enum, default_value = "resident-id-card")]
        id_type: IdArg,
        /// The name signed in the register; the collector's name when absent.
        #[arg(long)]
        signer: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Records again the ID of the customer (no --collector) or of a designated collector
    /// (--collector N, from 0) of a custody recorded before whole ID numbers were kept: the CS
    /// supervisor, with the document in front of them (KEY-9).
    RecordId {
        key: String,
        #[arg(long)]
        collector: Option<i32>,
        /// The ID number as read from the document.
        #[arg(long)]
        id: String,
        #[arg(long, value_enum, default_value = "resident-id-card")]
        id_type: IdArg,
        #[arg(long)]
        request_id: Option<String>,
    },
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
    Audit {
        #[arg(required = true)]
        counts: Vec<String>,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        request_id: Option<String>,
    },
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
enum SourceArg {
    Developer,
    Customer,
}

#[derive(Clone, Copy, ValueEnum)]
enum PurposeArg {
    Repair,
    Patrol,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChaseArg {
    Phone,
    Visit,
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

/// A key set by its register number ("3", "#3") or id.
async fn find_set(
    keys: &mut KeyServiceClient<Authed>,
    property_id: &str,
    key: &str,
) -> anyhow::Result<pb::KeySet> {
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
async fn loan_id(
    keys: &mut KeyServiceClient<Authed>,
    property_id: &str,
    loan: &str,
) -> anyhow::Result<String> {
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

pub async fn keys(args: KeysArgs) -> anyhow::Result<()> {
    let channel = args.target.channel().await?;
    let mut keys = KeyServiceClient::new(channel.clone());
    let p = args.target.property.clone();
    match args.command {
        KeysCommand::Entrust {
            unit,
            source,
            customer,
            phone,
            count,
            slot,
            reason,
            conditions,
            collectors,
            signed_by,
            customer_id,
            request_id: rid,
        } => {
            let unit_id =
                resolve_unit(&mut HouseholdServiceClient::new(channel), &p, &unit).await?;
            let collectors = collectors
                .iter()
                .map(|c| {
                    let parts: Vec<&str> = c.split(',').map(str::trim).collect();
                    let id = parts.get(2).copied().unwrap_or_default();
                    pb::DesignatedCollector {
                        name: parts[0].to_owned(),
                        phone: parts.get(1).copied().unwrap_or_default().to_owned(),
                        id_document_type: if id.is_empty() {
                            0
                        } else {
                            pb::IdDocumentType::ResidentIdCard.into()
                        },
                        id_number: id.to_owned(),
                    }
                })
                .collect();
            let request = pb::EntrustKeysRequest {
                property_id: p,
                request_id: request_id(rid),
                source: match source {
                    SourceArg::Developer => pb::KeySource::Developer,
                    SourceArg::Customer => pb::KeySource::Customer,
                }
                .into(),
                unit_id,
                customer_name: customer,
                customer_phone: phone,
                key_count: count,
                reason,
                collection_conditions: conditions,
                collectors,
                // No signature is sent as none, for the service to refuse (KEY-3).
                disclaimer: signed_by.map(|name| pb::DisclaimerSignature {
                    accepted: true,
                    signer_name: name,
                    ..Default::default()
                }),
                slot,
                entrust_time: None,
                customer_id_document_type: if customer_id.is_some() {
                    pb::IdDocumentType::ResidentIdCard.into()
                } else {
                    0
                },
                customer_id_number: customer_id.unwrap_or_default(),
            };
            let s = call(keys.entrust_keys(request))
                .await?
                .key_set
                .unwrap_or_default();
            print_set(&s);
        }
        KeysCommand::Register { all } => {
            let mut page_token = String::new();
            loop {
                let page = call(keys.list_key_sets(pb::ListKeySetsRequest {
                    property_id: p.clone(),
                    page_size: 500,
                    page_token,
                    ..Default::default()
                }))
                .await?;
                for s in page.key_sets {
                    if !all && s.state() == pb::KeySetState::Collected {
                        continue;
                    }
                    say!(
                        "#{:<4} {:<12} {:<6} {:<10} {}/{} in cabinet{}  {}",
                        s.number,
                        s.unit_label,
                        s.slot,
                        short(s.state().as_str_name(), "KEY_SET_STATE_"),
                        s.keys_in_cabinet,
                        s.key_count,
                        if s.keys_out > 0 {
                            format!(", {} out", s.keys_out)
                        } else {
                            String::new()
                        },
                        s.tag
                    );
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        KeysCommand::Show { key } => print_set(&find_set(&mut keys, &p, &key).await?),
        KeysCommand::Lend {
            key,
            count,
            purpose,
            reason,
            borrower,
            department,
            phone,
            user,
            signature,
            hours,
            until,
            request_id: rid,
        } => {
            let set = find_set(&mut keys, &p, &key).await?;
            let due = match until {
                Some(u) => stamp(&u)?,
                None => timestamp(Utc::now() + Duration::hours(hours)),
            };
            let l = call(
                keys.borrow_keys(pb::BorrowKeysRequest {
                    property_id: p,
                    request_id: request_id(rid),
                    key_set_id: set.id,
                    quantity: count,
                    purpose: match purpose {
                        PurposeArg::Repair => pb::LoanPurpose::Repair,
                        PurposeArg::Patrol => pb::LoanPurpose::VacantPatrol,
                    }
                    .into(),
                    reason,
                    borrower_signature: signature.unwrap_or_else(|| borrower.clone()),
                    borrower: Some(pb::Borrower {
                        user_id: user,
                        name: borrower,
                        department,
                        phone,
                    }),
                    expected_return_time: Some(due),
                }),
            )
            .await?
            .loan
            .unwrap_or_default();
            print_loan(&l, "");
        }
        KeysCommand::Return {
            loan,
            count,
            note,
            request_id: rid,
        } => {
            let loan_id = loan_id(&mut keys, &p, &loan).await?;
            let returned = call(keys.return_keys(pb::ReturnKeysRequest {
                property_id: p,
                request_id: request_id(rid),
                loan_id,
                quantity: count,
                note,
            }))
            .await?;
            print_loan(&returned.loan.unwrap_or_default(), "");
        }
        KeysCommand::Chase {
            loan,
            method,
            contacted,
            result,
            promised,
            request_id: rid,
        } => {
            let loan_id = loan_id(&mut keys, &p, &loan).await?;
            let chased = call(
                keys.record_key_chase(pb::RecordKeyChaseRequest {
                    property_id: p,
                    request_id: request_id(rid),
                    loan_id,
                    method: match method {
                        ChaseArg::Phone => pb::ChaseMethod::Phone,
                        ChaseArg::Visit => pb::ChaseMethod::Visit,
                    }
                    .into(),
                    contacted,
                    result,
                    promised_return_time: promised.as_deref().map(stamp).transpose()?,
                }),
            )
            .await?;
            print_loan(&chased.loan.unwrap_or_default(), "");
        }
        KeysCommand::Collect {
            key,
            name,
            id,
            id_type,
            signer,
            request_id: rid,
        } => {
            let set = find_set(&mut keys, &p, &key).await?;
            let s = call(keys.collect_keys(pb::CollectKeysRequest {
                property_id: p,
                request_id: request_id(rid),
                key_set_id: set.id,
                signer_name: signer.unwrap_or_else(|| name.clone()),
                collector_name: name,
                // No ID shown is sent as none, for the service to refuse and log (KEY-9).
                id_document_type: if id.is_some() {
                    pb::IdDocumentType::from(id_type).into()
                } else {
                    0
                },
                id_number: id.unwrap_or_default(),
            }))
            .await?
            .key_set
            .unwrap_or_default();
            print_set(&s);
        }
        KeysCommand::RecordId {
            key,
            collector,
            id,
            id_type,
            request_id: rid,
        } => {
            let set = find_set(&mut keys, &p, &key).await?;
            let holder = match collector {
                Some(_) => pb::IdHolder::DesignatedCollector,
                None => pb::IdHolder::Customer,
            };
            let recorded = call(keys.record_custody_id(pb::RecordCustodyIdRequest {
                property_id: p,
                request_id: request_id(rid),
                key_set_id: set.id,
                holder: holder.into(),
                collector_position: collector.unwrap_or_default(),
                id_document_type: pb::IdDocumentType::from(id_type).into(),
                id_number: id,
            }))
            .await?;
            let record = recorded.record.unwrap_or_default();
            say!(
                "ID of {} recorded again: {}",
                record.holder_name,
                record.id_number_masked
            );
        }
        KeysCommand::Loans { overdue, open, key } => {
            let key_set_id = match key {
                Some(k) => find_set(&mut keys, &p, &k).await?.id,
                None => String::new(),
            };
            let list = call(keys.list_key_loans(pb::ListKeyLoansRequest {
                property_id: p,
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
        }
        KeysCommand::Refusals => {
            let list = call(keys.list_key_refusals(pb::ListKeyRefusalsRequest {
                property_id: p,
                page_size: 100,
                ..Default::default()
            }))
            .await?;
            for r in &list.refusals {
                say!(
                    "{}  key #{}  {:<26} {} {}",
                    time(r.refuse_time.as_ref()),
                    r.key_number,
                    r.reason,
                    r.claimant_name,
                    r.id_number_masked
                );
            }
            if list.refusals.is_empty() {
                say!("no refusals");
            }
        }
        KeysCommand::Watch => {
            let mut stream = call(keys.watch_key_alerts(pb::WatchKeyAlertsRequest {
                property_id: p,
                after_seq: 0,
            }))
            .await?;
            while let Some(message) = stream.message().await? {
                let a = message.alert.unwrap_or_default();
                say!("alert {} raised {}", a.seq, time(a.raise_time.as_ref()));
                print_loan(&a.loan.unwrap_or_default(), "");
            }
        }
        KeysCommand::Form { key, out } => {
            let set = find_set(&mut keys, &p, &key).await?;
            let document = call(
                keys.render_entrustment_form(pb::RenderEntrustmentFormRequest {
                    property_id: p,
                    key_set_id: set.id,
                }),
            )
            .await?
            .document
            .unwrap_or_default();
            std::fs::write(&out, &document.content)
                .with_context(|| format!("writing {}", out.display()))?;
            say!("{} written to {}", document.file_name, out.display());
        }
        KeysCommand::Audit {
            counts,
            note,
            request_id: rid,
        } => {
            let counts = counts
                .iter()
                .map(|c| {
                    let (slot, n) = c
                        .split_once('=')
                        .with_context(|| format!("{c}: write SLOT=N such as A-03=3"))?;
                    Ok(pb::SlotCount {
                        slot: slot.to_owned(),
                        counted: n.parse().with_context(|| format!("{c}: N"))?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let a = call(keys.audit_key_cabinet(pb::AuditKeyCabinetRequest {
                property_id: p,
                request_id: request_id(rid),
                counts,
                note,
            }))
            .await?
            .audit
            .unwrap_or_default();
            say!(
                "audit {}: {} slots checked, {} mismatches",
                time(a.audit_time.as_ref()),
                a.slots_checked,
                a.mismatches.len()
            );
            for m in &a.mismatches {
                say!(
                    "  slot {:<6} register {} counted {}{}",
                    m.slot,
                    m.expected,
                    m.counted,
                    if m.key_number > 0 {
                        format!("  (key #{})", m.key_number)
                    } else {
                        "  (no set in the register)".to_owned()
                    }
                );
            }
        }
        KeysCommand::Figures { from, to } => {
            let from = from.unwrap_or_else(|| today("%Y-%m"));
            let to = to.unwrap_or_else(|| from.clone());
            let figures = call(keys.get_key_figures(pb::GetKeyFiguresRequest {
                property_id: p,
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
                    "{:<8} {:<10} {:>6} {:>7} {:>8} {:>7} {:>6} {:>8}",
                    f.month,
                    f.name,
                    f.loans_handled,
                    f.returns_received,
                    f.loans_borrowed,
                    f.overdue_loans,
                    f.chases,
                    f.refusals
                );
            }
        }
    }
    Ok(())
}
