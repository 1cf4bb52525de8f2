//! Who is on duty, the duty record (工程值班记录, DUTY-4), incidents (HO-7) and faults (HO-8).

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use wuye::connect::{Authed, call};
use wuye_proto::engineering::{self as pb, duty_service_client::DutyServiceClient};

use super::roster::print_shift;
use super::{all_equipment, equipment_id, optional_equipment_id, shift_id};
use crate::cli::input::request_id;
use crate::cli::output::{left, say, short, time};
use crate::cli::{Session, for_each_page};

#[derive(Subcommand)]
pub(super) enum DutyCommand {
    /// Give the duty to a shift when nobody holds it yet.
    Open { shift: String },
    /// Who is on duty now, and since when.
    Who,
    /// The duty record of a shift (the one on duty when absent).
    Log {
        #[arg(long)]
        shift: Option<String>,
    },
    /// Write an entry in the duty record of the shift on duty.
    Write {
        text: String,
        #[arg(long, value_enum, default_value = "note")]
        kind: EntryArg,
        /// The equipment concerned: its number or id.
        #[arg(long)]
        equipment: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The person leaves: refused while they still hold the duty.
    End { shift: String },
    /// Report an incident being handled (blocks handovers until closed, HO-7).
    Incident {
        description: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    CloseIncident {
        incident: String,
        #[arg(long)]
        resolution: String,
    },
    /// Report an equipment fault (stops a handover under way, HO-8).
    Fault {
        description: String,
        #[arg(long)]
        equipment: String,
        /// The repair needs the outgoing and the incoming person together (HO-7).
        #[arg(long)]
        both_shifts: bool,
        #[arg(long)]
        request_id: Option<String>,
    },
    ClearFault {
        fault: String,
        #[arg(long)]
        resolution: String,
    },
    /// Open incidents and faults.
    Problems,
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum EntryArg {
    Event,
    Equipment,
    Cleaning,
    Note,
}

type Client = DutyServiceClient<Authed>;

pub(super) async fn run(s: &Session, command: DutyCommand) -> anyhow::Result<()> {
    let mut c = s.client(DutyServiceClient::new);
    let c = &mut c;
    match command {
        DutyCommand::Open { shift } => open(s, c, &shift).await,
        DutyCommand::Who => who(s, c).await,
        DutyCommand::Log { shift } => log(s, c, shift).await,
        DutyCommand::Write {
            text,
            kind,
            equipment,
            request_id: rid,
        } => write(s, c, text, kind, equipment, rid).await,
        DutyCommand::End { shift } => end(s, c, &shift).await,
        DutyCommand::Incident {
            description,
            request_id: rid,
        } => incident(s, c, description, rid).await,
        DutyCommand::CloseIncident {
            incident,
            resolution,
        } => close_incident(s, c, incident, resolution).await,
        DutyCommand::Fault {
            description,
            equipment,
            both_shifts,
            request_id: rid,
        } => fault(s, c, description, &equipment, both_shifts, rid).await,
        DutyCommand::ClearFault { fault, resolution } => clear_fault(s, c, fault, resolution).await,
        DutyCommand::Problems => problems(s, c).await,
    }
}

async fn open(s: &Session, c: &mut Client, shift: &str) -> anyhow::Result<()> {
    let request = pb::OpenDutyRequest {
        property_id: s.p(),
        shift_id: shift_id(s, shift).await?,
    };
    let shift = call(c.open_duty(request)).await?.shift;
    print_shift(&shift.unwrap_or_default());
    Ok(())
}

async fn who(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let on = call(c.get_on_duty(pb::GetOnDutyRequest { property_id: s.p() })).await?;
    match on.shift {
        Some(shift) => {
            say!(
                "{} ({}) on duty since {}{}",
                shift.user_name,
                shift.user_id,
                time(on.since.as_ref()),
                if on.handover_id.is_empty() {
                    " (opened)".to_owned()
                } else {
                    format!(" by handover {}", on.handover_id)
                }
            );
            print_shift(&shift);
        }
        None => say!("nobody holds the duty yet (`wuye eng duty open SHIFT`)"),
    }
    Ok(())
}

async fn log(s: &Session, c: &mut Client, shift: Option<String>) -> anyhow::Result<()> {
    let shift_id = match shift {
        Some(shift) => shift_id(s, &shift).await?,
        None => call(c.get_on_duty(pb::GetOnDutyRequest { property_id: s.p() }))
            .await?
            .shift
            .map(|s| s.id)
            .context("nobody is on duty; name a shift with --shift")?,
    };
    for_each_page(async |page_token| {
        let page = call(c.list_duty_record(pb::ListDutyRecordRequest {
            property_id: s.p(),
            shift_id: shift_id.clone(),
            page_size: 500,
            page_token,
        }))
        .await?;
        for e in page.entries {
            let by = e.recorded_by.clone().unwrap_or_default();
            say!(
                "{}  {} {}  {}",
                time(e.record_time.as_ref()),
                left(&short(e.kind().as_str_name(), "DUTY_ENTRY_KIND_"), 15),
                by.name,
                e.text
            );
        }
        Ok(page.next_page_token)
    })
    .await
}

async fn write(
    s: &Session,
    c: &mut Client,
    text: String,
    kind: EntryArg,
    equipment: Option<String>,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let kind = match kind {
        EntryArg::Event => pb::DutyEntryKind::Event,
        EntryArg::Equipment => pb::DutyEntryKind::EquipmentState,
        EntryArg::Cleaning => pb::DutyEntryKind::Cleaning,
        EntryArg::Note => pb::DutyEntryKind::Note,
    };
    let request = pb::AddDutyRecordEntryRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        kind: kind.into(),
        text,
        equipment_id: optional_equipment_id(s, equipment).await?,
    };
    let e = call(c.add_duty_record_entry(request))
        .await?
        .entry
        .unwrap_or_default();
    say!(
        "written in the record of shift {} at {}",
        e.shift_id,
        time(e.record_time.as_ref())
    );
    Ok(())
}

async fn end(s: &Session, c: &mut Client, shift: &str) -> anyhow::Result<()> {
    let request = pb::EndShiftRequest {
        property_id: s.p(),
        shift_id: shift_id(s, shift).await?,
    };
    let shift = call(c.end_shift(request)).await?.shift;
    print_shift(&shift.unwrap_or_default());
    Ok(())
}

async fn incident(
    s: &Session,
    c: &mut Client,
    description: String,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let i = call(c.report_incident(pb::ReportIncidentRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        description,
    }))
    .await?
    .incident
    .unwrap_or_default();
    say!("incident {} open", i.id);
    Ok(())
}

async fn close_incident(
    s: &Session,
    c: &mut Client,
    incident: String,
    resolution: String,
) -> anyhow::Result<()> {
    let i = call(c.close_incident(pb::CloseIncidentRequest {
        property_id: s.p(),
        incident_id: incident,
        resolution,
    }))
    .await?
    .incident
    .unwrap_or_default();
    say!("incident {} closed {}", i.id, time(i.close_time.as_ref()));
    Ok(())
}

async fn fault(
    s: &Session,
    c: &mut Client,
    description: String,
    equipment: &str,
    both_shifts: bool,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let request = pb::ReportFaultRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        equipment_id: equipment_id(s, equipment).await?,
        description,
        needs_both_shifts: both_shifts,
    };
    let f = call(c.report_fault(request))
        .await?
        .fault
        .unwrap_or_default();
    say!("fault {} open", f.id);
    if !f.stopped_handover_id.is_empty() {
        say!("handover {} stopped (HO-8)", f.stopped_handover_id);
    }
    Ok(())
}

async fn clear_fault(
    s: &Session,
    c: &mut Client,
    fault: String,
    resolution: String,
) -> anyhow::Result<()> {
    let f = call(c.clear_fault(pb::ClearFaultRequest {
        property_id: s.p(),
        fault_id: fault,
        resolution,
    }))
    .await?
    .fault
    .unwrap_or_default();
    say!("fault {} cleared {}", f.id, time(f.clear_time.as_ref()));
    Ok(())
}

async fn problems(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let incidents = call(c.list_incidents(pb::ListIncidentsRequest {
        property_id: s.p(),
        open_only: true,
        page_size: 500,
        page_token: String::new(),
    }))
    .await?
    .incidents;
    for i in &incidents {
        say!(
            "incident {}  {}  {}",
            i.id,
            time(i.report_time.as_ref()),
            i.description
        );
    }
    let faults = call(c.list_faults(pb::ListFaultsRequest {
        property_id: s.p(),
        open_only: true,
        page_size: 500,
        page_token: String::new(),
    }))
    .await?
    .faults;
    let equipment = all_equipment(s, String::new()).await?;
    for f in &faults {
        let number = equipment
            .iter()
            .find(|e| e.id == f.equipment_id)
            .map(|e| e.number.as_str())
            .unwrap_or(&f.equipment_id);
        say!(
            "fault    {}  {}  {}  {}{}",
            f.id,
            time(f.report_time.as_ref()),
            number,
            f.description,
            if f.needs_both_shifts {
                "  (needs both shifts)"
            } else {
                ""
            }
        );
    }
    if incidents.is_empty() && faults.is_empty() {
        say!("no open incident or fault");
    }
    Ok(())
}
