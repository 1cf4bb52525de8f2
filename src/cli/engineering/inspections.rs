//! Daily, weekly and monthly inspections (INS-1 to INS-5): made when due, listed, filled in,
//! and major findings (INS-2).

use anyhow::Context;
use chrono::Duration;
use clap::Subcommand;
use wuye::connect::{Authed, call};
use wuye_proto::engineering::{
    self as pb, inspection_service_client::InspectionServiceClient, item_value::Value,
};

use super::optional_equipment_id;
use crate::cli::input::{parse_time, request_id, timestamp};
use crate::cli::output::{left, say, short, time, today, yes};
use crate::cli::{Session, for_each_page};

#[derive(Subcommand)]
pub(super) enum InspectionCommand {
    /// Make the inspections due on a day (today when absent); nothing is made twice.
    Generate {
        #[arg(long)]
        day: Option<String>,
    },
    /// Inspections by due time; only the missed ones with --missed.
    List {
        #[arg(long)]
        missed: bool,
        /// Only those due on this day.
        #[arg(long)]
        day: Option<String>,
    },
    /// One inspection with its checklist, numbered for `record --set`.
    Show { inspection: String },
    /// Fill in the checklist: states default to normal and yes/no items to yes; counts and
    /// meter readings must be given.
    Record {
        inspection: String,
        /// ITEM=VALUE, ITEM being the number `show` prints or the item's key; repeat.
        #[arg(long = "set")]
        values: Vec<String>,
        #[arg(long, default_value = "")]
        findings: String,
        /// A major finding (INS-2): alerts the manager.
        #[arg(long, default_value = "")]
        major: String,
    },
    /// Report a major finding at once (INS-2).
    Finding {
        description: String,
        #[arg(long)]
        equipment: Option<String>,
        #[arg(long)]
        inspection: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
}

type Client = InspectionServiceClient<Authed>;

pub(super) async fn run(s: &Session, command: InspectionCommand) -> anyhow::Result<()> {
    let mut c = s.client(InspectionServiceClient::new);
    let c = &mut c;
    match command {
        InspectionCommand::Generate { day } => generate(s, c, day).await,
        InspectionCommand::List { missed, day } => list(s, c, missed, day).await,
        InspectionCommand::Show { inspection } => {
            print_inspection(&get(s, c, inspection).await?);
            Ok(())
        }
        InspectionCommand::Record {
            inspection,
            values,
            findings,
            major,
        } => record(s, c, inspection, &values, findings, major).await,
        InspectionCommand::Finding {
            description,
            equipment,
            inspection,
            request_id: rid,
        } => finding(s, c, description, equipment, inspection, rid).await,
    }
}

async fn generate(s: &Session, c: &mut Client, day: Option<String>) -> anyhow::Result<()> {
    let day = day.unwrap_or_else(|| today("%Y-%m-%d"));
    let request = pb::GenerateDueInspectionsRequest {
        property_id: s.p(),
        day: day.clone(),
    };
    let made = call(c.generate_due_inspections(request)).await?.created;
    say!("{} inspections made for {day}", made.len());
    made.iter().for_each(print_inspection_line);
    Ok(())
}

async fn list(
    s: &Session,
    c: &mut Client,
    missed: bool,
    day: Option<String>,
) -> anyhow::Result<()> {
    let (due_from, due_before) = match day {
        Some(d) => {
            let start = parse_time(&d)?;
            (
                Some(timestamp(start)),
                Some(timestamp(start + Duration::days(1))),
            )
        }
        None => (None, None),
    };
    for_each_page(async |page_token| {
        let page = call(c.list_inspections(pb::ListInspectionsRequest {
            property_id: s.p(),
            state: if missed {
                pb::InspectionState::Missed.into()
            } else {
                0
            },
            due_from,
            due_before,
            page_size: 500,
            page_token,
            ..Default::default()
        }))
        .await?;
        page.inspections.iter().for_each(print_inspection_line);
        Ok(page.next_page_token)
    })
    .await
}

async fn get(s: &Session, c: &mut Client, inspection: String) -> anyhow::Result<pb::Inspection> {
    let request = pb::GetInspectionRequest {
        property_id: s.p(),
        inspection_id: inspection,
    };
    let i = call(c.get_inspection(request)).await?.inspection;
    Ok(i.unwrap_or_default())
}

async fn record(
    s: &Session,
    c: &mut Client,
    inspection: String,
    values: &[String],
    findings: String,
    major: String,
) -> anyhow::Result<()> {
    let i = get(s, c, inspection.clone()).await?;
    let results = fill_in(&i, values)?;
    let i = call(c.record_inspection(pb::RecordInspectionRequest {
        property_id: s.p(),
        inspection_id: inspection,
        results,
        findings,
        major_finding: major,
    }))
    .await?
    .inspection
    .unwrap_or_default();
    print_inspection(&i);
    Ok(())
}

/// The checklist's results: the `--set` values, and the defaults of the items not given.
fn fill_in(i: &pb::Inspection, values: &[String]) -> anyhow::Result<Vec<pb::ItemResult>> {
    let mut given: Vec<Option<Value>> = vec![None; i.items.len()];
    for v in values {
        let (which, text) = v
            .split_once('=')
            .with_context(|| format!("--set {v}: write ITEM=VALUE"))?;
        let n = which
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|n| *n < i.items.len())
            .or_else(|| i.items.iter().position(|item| item.key == which))
            .with_context(|| format!("--set {v}: no item {which}"))?;
        given[n] = Some(parse_value(&i.items[n], text.trim())?);
    }
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for (n, (item, value)) in i.items.iter().zip(given).enumerate() {
        let value = value.or(match item.kind() {
            pb::ItemKind::State => Some(Value::State(pb::ObservedState::Normal.into())),
            pb::ItemKind::YesNo => Some(Value::Yes(true)),
            pb::ItemKind::Text => Some(Value::Text(String::new())),
            _ => None,
        });
        match value {
            Some(value) => results.push(pb::ItemResult {
                key: item.key.clone(),
                value: Some(pb::ItemValue { value: Some(value) }),
            }),
            None => missing.push(format!("{} {}", n + 1, item.label)),
        }
    }
    if !missing.is_empty() {
        anyhow::bail!("give a value with --set for: {}", missing.join("; "));
    }
    Ok(results)
}

/// One checklist value from the command line, by the item's kind.
fn parse_value(item: &pb::ChecklistItem, text: &str) -> anyhow::Result<Value> {
    let bad = || format!("{}: {text:?} is not a value for {}", item.key, item.label);
    Ok(match item.kind() {
        pb::ItemKind::State => Value::State(
            match text {
                "normal" => pb::ObservedState::Normal,
                "stopped" => pb::ObservedState::Stopped,
                "abnormal" => pb::ObservedState::Abnormal,
                "fault" => pb::ObservedState::Fault,
                _ => anyhow::bail!("{} (normal, stopped, abnormal, fault)", bad()),
            }
            .into(),
        ),
        pb::ItemKind::Count => Value::Count(text.parse().with_context(bad)?),
        pb::ItemKind::MeterReading => Value::Reading(text.parse().with_context(bad)?),
        pb::ItemKind::YesNo => Value::Yes(match text {
            "yes" | "y" | "是" => true,
            "no" | "n" | "否" => false,
            _ => anyhow::bail!("{} (yes, no)", bad()),
        }),
        pb::ItemKind::Text | pb::ItemKind::Unspecified => Value::Text(text.to_owned()),
    })
}

async fn finding(
    s: &Session,
    c: &mut Client,
    description: String,
    equipment: Option<String>,
    inspection: Option<String>,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let request = pb::ReportMajorFindingRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        inspection_id: inspection.unwrap_or_default(),
        equipment_id: optional_equipment_id(s, equipment).await?,
        description,
    };
    let alert = call(c.report_major_finding(request)).await?.alert_id;
    say!("the engineering manager is alerted: alert {alert}");
    Ok(())
}

fn print_inspection_line(i: &pb::Inspection) {
    say!(
        "{}  {} {} due {}  {}{}",
        i.id,
        left(&short(i.kind().as_str_name(), "INSPECTION_KIND_"), 7),
        left(&short(i.state().as_str_name(), "INSPECTION_STATE_"), 6),
        time(i.due_time.as_ref()),
        if i.assignee_name.is_empty() {
            "engineering manager"
        } else {
            &i.assignee_name
        },
        if i.items.is_empty() {
            String::new()
        } else {
            format!("  ({} items)", i.items.len())
        }
    );
}

fn item_value(v: Option<&pb::ItemValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::State(s)) => pb::ObservedState::try_from(*s)
            .map(|s| short(s.as_str_name(), "OBSERVED_STATE_"))
            .unwrap_or_default(),
        Some(Value::Count(n)) => n.to_string(),
        Some(Value::Reading(r)) => r.to_string(),
        Some(Value::Yes(y)) => yes(*y, "yes", "no"),
        Some(Value::Text(t)) => t.clone(),
        None => "-".into(),
    }
}

fn print_inspection(i: &pb::Inspection) {
    print_inspection_line(i);
    for (n, item) in i.items.iter().enumerate() {
        let range = if item.kind() == pb::ItemKind::MeterReading {
            format!(" [{}–{} {}]", item.min, item.max, item.unit)
        } else {
            String::new()
        };
        say!(
            "  {:>2}. {} {}{}  = {}{}   ({})",
            n + 1,
            left(&short(item.kind().as_str_name(), "ITEM_KIND_"), 13),
            item.label,
            range,
            item_value(item.value.as_ref()),
            yes(item.failed, "  FAILED", ""),
            item.key
        );
    }
    if !i.findings.is_empty() {
        say!("  findings   {}", i.findings);
    }
    if !i.major_finding.is_empty() {
        say!("  major      {}", i.major_finding);
    }
    if !i.work_order_ids.is_empty() {
        say!("  work orders opened: {}", i.work_order_ids.join(", "));
    }
}
