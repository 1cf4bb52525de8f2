//! `wuye eng`: the engineering department (DUTY, HO, INS, WO). Equipment is named by its
//! number (SB-01), zones by name, work orders by number and people's next shift by their user
//! id, so that a day's work needs few ids copied around.

mod alerts;
mod duty;
mod equipment;
mod figures;
mod handover;
mod inspections;
mod roster;
mod work_orders;

use chrono::{Duration, Utc};
use clap::{Args, Subcommand};
use wuye::connect::{Target, call};
use wuye_proto::engineering::{
    self as pb, duty_service_client::DutyServiceClient,
    equipment_service_client::EquipmentServiceClient,
    handover_service_client::HandoverServiceClient,
    work_order_service_client::WorkOrderServiceClient,
};

use crate::cli::input::timestamp;
use crate::cli::{Session, for_each_page};

#[derive(Args)]
pub struct EngArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: EngCommand,
}

#[derive(Subcommand)]
enum EngCommand {
    /// Technicians' zones of responsibility (责任区, INS-1).
    #[command(subcommand)]
    Zones(equipment::ZoneCommand),
    /// The equipment of the property, by number.
    #[command(subcommand)]
    Equipment(equipment::EquipmentCommand),
    /// The duty room's inventory list, counted at every handover (HO-5).
    #[command(subcommand)]
    Inventory(equipment::InventoryCommand),
    /// The duty roster (值班表, DUTY-1) and its swaps.
    #[command(subcommand)]
    Roster(roster::RosterCommand),
    /// Who is on duty, the duty record (工程值班记录, DUTY-4), incidents and faults.
    #[command(subcommand)]
    Duty(duty::DutyCommand),
    /// Shift handover (交接班, HO-1 to HO-8), step by step; HANDOVER defaults to the one under
    /// way.
    #[command(subcommand)]
    Handover(handover::HandoverCommand),
    /// The engineering manager's alerts (refused handovers, major findings), open ones unless
    /// --all.
    Alerts {
        #[arg(long)]
        all: bool,
        /// Acknowledge this alert instead of listing.
        #[arg(long)]
        ack: Option<String>,
    },
    /// Repair work orders (报修, WO-1 to WO-3); WO is the number or the id.
    #[command(subcommand)]
    Wo(work_orders::WorkOrderCommand),
    /// Daily, weekly and monthly inspections (INS-1 to INS-5).
    #[command(subcommand)]
    Inspections(inspections::InspectionCommand),
    /// The month's figures: inspection coverage, intact rate, handovers, work orders.
    Figures {
        /// "2026-11"; this month when absent.
        #[arg(long)]
        month: Option<String>,
    },
}

pub async fn run(args: EngArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    match args.command {
        EngCommand::Zones(c) => equipment::zones(&s, c).await,
        EngCommand::Equipment(c) => equipment::equipment(&s, c).await,
        EngCommand::Inventory(c) => equipment::inventory(&s, c).await,
        EngCommand::Roster(c) => roster::run(&s, c).await,
        EngCommand::Duty(c) => duty::run(&s, c).await,
        EngCommand::Handover(c) => handover::run(&s, c).await,
        EngCommand::Alerts { all, ack } => alerts::run(&s, all, ack).await,
        EngCommand::Wo(c) => work_orders::run(&s, c).await,
        EngCommand::Inspections(c) => inspections::run(&s, c).await,
        EngCommand::Figures { month } => figures::run(&s, month).await,
    }
}

async fn zones(s: &Session) -> anyhow::Result<Vec<pb::Zone>> {
    let mut equipment = s.client(EquipmentServiceClient::new);
    let mut out = Vec::new();
    for_each_page(async |page_token| {
        let page = call(equipment.list_zones(pb::ListZonesRequest {
            property_id: s.p(),
            page_size: 500,
            page_token,
        }))
        .await?;
        out.extend(page.zones);
        Ok(page.next_page_token)
    })
    .await?;
    Ok(out)
}

/// A zone by its name or id.
async fn zone_id(s: &Session, zone: &str) -> anyhow::Result<String> {
    Ok(zones(s)
        .await?
        .into_iter()
        .find(|z| z.name == zone || z.id == zone)
        .map(|z| z.id)
        .unwrap_or_else(|| zone.to_owned()))
}

async fn all_equipment(s: &Session, zone_id: String) -> anyhow::Result<Vec<pb::Equipment>> {
    let mut equipment = s.client(EquipmentServiceClient::new);
    let mut out = Vec::new();
    for_each_page(async |page_token| {
        let page = call(equipment.list_equipment(pb::ListEquipmentRequest {
            property_id: s.p(),
            zone_id: zone_id.clone(),
            page_size: 500,
            page_token,
        }))
        .await?;
        out.extend(page.equipment);
        Ok(page.next_page_token)
    })
    .await?;
    Ok(out)
}

/// A piece of equipment by its number or id.
async fn equipment_id(s: &Session, equipment: &str) -> anyhow::Result<String> {
    Ok(all_equipment(s, String::new())
        .await?
        .into_iter()
        .find(|e| e.number == equipment || e.id == equipment)
        .map(|e| e.id)
        .unwrap_or_else(|| equipment.to_owned()))
}

/// [`equipment_id`] of an optional flag: none is none.
async fn optional_equipment_id(s: &Session, equipment: Option<String>) -> anyhow::Result<String> {
    match equipment {
        Some(e) => equipment_id(s, &e).await,
        None => Ok(String::new()),
    }
}

async fn inventory(s: &Session) -> anyhow::Result<Vec<pb::InventoryItem>> {
    let mut equipment = s.client(EquipmentServiceClient::new);
    let mut out = Vec::new();
    for_each_page(async |page_token| {
        let page = call(
            equipment.list_inventory_items(pb::ListInventoryItemsRequest {
                property_id: s.p(),
                page_size: 500,
                page_token,
            }),
        )
        .await?;
        out.extend(page.items);
        Ok(page.next_page_token)
    })
    .await?;
    Ok(out)
}

/// A shift by its id, or a person's current or next shift by their user id.
async fn shift_id(s: &Session, shift: &str) -> anyhow::Result<String> {
    let request = pb::ListShiftsRequest {
        property_id: s.p(),
        start_from: Some(timestamp(Utc::now() - Duration::days(1))),
        user_id: shift.to_owned(),
        page_size: 50,
        ..Default::default()
    };
    let shifts = call(s.client(DutyServiceClient::new).list_shifts(request))
        .await?
        .shifts;
    // The shift that can act now comes first: on duty, then handed over (to end), then
    // the earliest scheduled.
    let rank = |s: &pb::Shift| match s.state() {
        pb::ShiftState::OnDuty => Some(0),
        pb::ShiftState::HandedOver => Some(1),
        pb::ShiftState::Scheduled => Some(2),
        _ => None,
    };
    Ok(shifts
        .iter()
        .filter_map(|s| rank(s).map(|r| (r, s)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, s)| s.id.clone())
        .unwrap_or_else(|| shift.to_owned()))
}

/// The handover given, or the newest one under way (or stopped).
async fn handover_id(s: &Session, handover: Option<String>) -> anyhow::Result<String> {
    if let Some(h) = handover {
        return Ok(h);
    }
    let mut handovers = s.client(HandoverServiceClient::new);
    for state in [pb::HandoverState::InProgress, pb::HandoverState::Stopped] {
        let list = call(handovers.list_handovers(pb::ListHandoversRequest {
            property_id: s.p(),
            state: state.into(),
            page_size: 1,
            page_token: String::new(),
        }))
        .await?;
        if let Some(h) = list.handovers.into_iter().next() {
            return Ok(h.id);
        }
    }
    anyhow::bail!("no handover is under way; name one")
}

/// A work order by its number ("12", "#12") or id.
async fn work_order(s: &Session, wo: &str) -> anyhow::Result<pb::WorkOrder> {
    let mut work_orders = s.client(WorkOrderServiceClient::new);
    let Ok(number) = wo.trim_start_matches('#').parse::<i64>() else {
        let request = pb::GetWorkOrderRequest {
            property_id: s.p(),
            work_order_id: wo.to_owned(),
        };
        let found = call(work_orders.get_work_order(request)).await?.work_order;
        return Ok(found.unwrap_or_default());
    };
    let mut page_token = String::new();
    loop {
        let page = call(work_orders.list_work_orders(pb::ListWorkOrdersRequest {
            property_id: s.p(),
            page_size: 500,
            page_token,
            ..Default::default()
        }))
        .await?;
        // Newest number first: past the number, it is not there.
        if let Some(w) = page.work_orders.iter().find(|w| w.number == number) {
            return Ok(w.clone());
        }
        if page.next_page_token.is_empty()
            || page.work_orders.last().is_some_and(|w| w.number < number)
        {
            anyhow::bail!("no work order #{number}");
        }
        page_token = page.next_page_token;
    }
}
