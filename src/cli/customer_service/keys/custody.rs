//! Custody: entrusting keys, the register, collection on an ID check, and the cabinet audit.

use anyhow::Context;
use clap::{Args, ValueEnum};
use wuye::connect::call;
use wuye_proto::customerservice as pb;

use super::{Client, IdArg, find_set, print_set};
use crate::cli::customer_service::unit_id;
use crate::cli::input::request_id;
use crate::cli::output::{left, say, short, time};
use crate::cli::{Session, for_each_page};

#[derive(Args)]
pub(super) struct EntrustArgs {
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
}

#[derive(Clone, Copy, ValueEnum)]
enum SourceArg {
    Developer,
    Customer,
}

#[derive(Args)]
pub(super) struct CollectArgs {
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
}

#[derive(Args)]
pub(super) struct RecordIdArgs {
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
}

#[derive(Args)]
pub(super) struct AuditArgs {
    #[arg(required = true)]
    counts: Vec<String>,
    #[arg(long, default_value = "")]
    note: String,
    #[arg(long)]
    request_id: Option<String>,
}

pub(super) async fn entrust(s: &Session, c: &mut Client, a: EntrustArgs) -> anyhow::Result<()> {
    let unit_id = unit_id(s, &a.unit).await?;
    let collectors = a.collectors.iter().map(|c| collector(c)).collect();
    let request = pb::EntrustKeysRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        source: match a.source {
            SourceArg::Developer => pb::KeySource::Developer,
            SourceArg::Customer => pb::KeySource::Customer,
        }
        .into(),
        unit_id,
        customer_name: a.customer,
        customer_phone: a.phone,
        key_count: a.count,
        reason: a.reason,
        collection_conditions: a.conditions,
        collectors,
        // No signature is sent as none, for the service to refuse (KEY-3).
        disclaimer: a.signed_by.map(|name| pb::DisclaimerSignature {
            accepted: true,
            signer_name: name,
            ..Default::default()
        }),
        slot: a.slot,
        entrust_time: None,
        customer_id_document_type: if a.customer_id.is_some() {
            pb::IdDocumentType::ResidentIdCard.into()
        } else {
            0
        },
        customer_id_number: a.customer_id.unwrap_or_default(),
    };
    let set = call(c.entrust_keys(request)).await?.key_set;
    print_set(&set.unwrap_or_default());
    Ok(())
}

/// A designated collector from NAME,PHONE[,ID NUMBER].
fn collector(text: &str) -> pb::DesignatedCollector {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
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
}

pub(super) async fn register(s: &Session, c: &mut Client, all: bool) -> anyhow::Result<()> {
    for_each_page(async |page_token| {
        let page = call(c.list_key_sets(pb::ListKeySetsRequest {
            property_id: s.p(),
            page_size: 500,
            page_token,
            ..Default::default()
        }))
        .await?;
        for set in page.key_sets {
            if !all && set.state() == pb::KeySetState::Collected {
                continue;
            }
            say!(
                "#{:<4} {} {} {} {}/{} in cabinet{}  {}",
                set.number,
                left(&set.unit_label, 12),
                left(&set.slot, 6),
                left(&short(set.state().as_str_name(), "KEY_SET_STATE_"), 10),
                set.keys_in_cabinet,
                set.key_count,
                if set.keys_out > 0 {
                    format!(", {} out", set.keys_out)
                } else {
                    String::new()
                },
                set.tag
            );
        }
        Ok(page.next_page_token)
    })
    .await
}

pub(super) async fn collect(s: &Session, c: &mut Client, a: CollectArgs) -> anyhow::Result<()> {
    let set = find_set(c, &s.p(), &a.key).await?;
    let set = call(c.collect_keys(pb::CollectKeysRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        key_set_id: set.id,
        signer_name: a.signer.unwrap_or_else(|| a.name.clone()),
        collector_name: a.name,
        // No ID shown is sent as none, for the service to refuse and log (KEY-9).
        id_document_type: if a.id.is_some() {
            pb::IdDocumentType::from(a.id_type).into()
        } else {
            0
        },
        id_number: a.id.unwrap_or_default(),
    }))
    .await?
    .key_set;
    print_set(&set.unwrap_or_default());
    Ok(())
}

pub(super) async fn record_id(s: &Session, c: &mut Client, a: RecordIdArgs) -> anyhow::Result<()> {
    let set = find_set(c, &s.p(), &a.key).await?;
    let holder = match a.collector {
        Some(_) => pb::IdHolder::DesignatedCollector,
        None => pb::IdHolder::Customer,
    };
    let recorded = call(c.record_custody_id(pb::RecordCustodyIdRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        key_set_id: set.id,
        holder: holder.into(),
        collector_position: a.collector.unwrap_or_default(),
        id_document_type: pb::IdDocumentType::from(a.id_type).into(),
        id_number: a.id,
    }))
    .await?;
    let record = recorded.record.unwrap_or_default();
    say!(
        "ID of {} recorded again: {}",
        record.holder_name,
        record.id_number_masked
    );
    Ok(())
}

pub(super) async fn refusals(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let list = call(c.list_key_refusals(pb::ListKeyRefusalsRequest {
        property_id: s.p(),
        page_size: 100,
        ..Default::default()
    }))
    .await?;
    for r in &list.refusals {
        say!(
            "{}  key #{}  {} {} {}",
            time(r.refuse_time.as_ref()),
            r.key_number,
            left(&r.reason, 26),
            r.claimant_name,
            r.id_number_masked
        );
    }
    if list.refusals.is_empty() {
        say!("no refusals");
    }
    Ok(())
}

pub(super) async fn form(
    s: &Session,
    c: &mut Client,
    key: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let set = find_set(c, &s.p(), key).await?;
    let document = call(c.render_entrustment_form(pb::RenderEntrustmentFormRequest {
        property_id: s.p(),
        key_set_id: set.id,
    }))
    .await?
    .document
    .unwrap_or_default();
    std::fs::write(out, &document.content).with_context(|| format!("writing {}", out.display()))?;
    say!("{} written to {}", document.file_name, out.display());
    Ok(())
}

pub(super) async fn audit(s: &Session, c: &mut Client, a: AuditArgs) -> anyhow::Result<()> {
    let counts = a
        .counts
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
    let audit = call(c.audit_key_cabinet(pb::AuditKeyCabinetRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        counts,
        note: a.note,
    }))
    .await?
    .audit
    .unwrap_or_default();
    say!(
        "audit {}: {} slots checked, {} mismatches",
        time(audit.audit_time.as_ref()),
        audit.slots_checked,
        audit.mismatches.len()
    );
    for m in &audit.mismatches {
        say!(
            "  slot {} register {} counted {}{}",
            left(&m.slot, 6),
            m.expected,
            m.counted,
            if m.key_number > 0 {
                format!("  (key #{})", m.key_number)
            } else {
                "  (no set in the register)".to_owned()
            }
        );
    }
    Ok(())
}
