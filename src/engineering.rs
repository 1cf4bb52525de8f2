//! Client commands of the engineering department (DUTY, HO, INS, WO), through the gateway.
//! Equipment is named by its number (SB-01), zones by name, work orders by number and
//! people's next shift by their user id, so that a day's work needs few ids copied around.

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::{Args, Subcommand, ValueEnum};
use tonic_types::StatusExt;
use wuye::connect::{Authed, Target, call};
use wuye_proto::{
    customerservice::household_service_client::HouseholdServiceClient,
    engineering::{
        self as pb, alert_service_client::AlertServiceClient,
        duty_service_client::DutyServiceClient, equipment_service_client::EquipmentServiceClient,
        figures_service_client::FiguresServiceClient,
        handover_service_client::HandoverServiceClient,
        inspection_service_client::InspectionServiceClient, item_value::Value,
        work_order_service_client::WorkOrderServiceClient,
    },
};

use crate::client::{resolve_unit, short, time};
use crate::{parse_time, request_id, stamp, timestamp, today};

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
    Zones(ZoneCommand),
    /// The equipment of the property, by number.
    #[command(subcommand)]
    Equipment(EquipmentCommand),
    /// The duty room's inventory list, counted at every handover (HO-5).
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// The duty roster (值班表, DUTY-1) and its swaps.
    #[command(subcommand)]
    Roster(RosterCommand),
    /// Who is on duty, the duty record (工程值班记录, DUTY-4), incidents and faults.
    #[command(subcommand)]
    Duty(DutyCommand),
    /// Shift handover (交接班, HO-1 to HO-8), step by step; HANDOVER defaults to the one under
    /// way.
    #[command(subcommand)]
    Handover(HandoverCommand),
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
    Wo(WorkOrderCommand),
    /// Daily, weekly and monthly inspections (INS-1 to INS-5).
    #[command(subcommand)]
    Inspections(InspectionCommand),
    /// The month's figures: inspection coverage, intact rate, handovers, work orders.
    Figures {
        /// "2026-11"; this month when absent.
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Subcommand)]
enum ZoneCommand {
    Add {
        #[arg(long)]
        name: String,
        /// The technician's user id.
        #[arg(long)]
        tech: String,
        #[arg(long, default_value = "")]
        tech_name: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    List,
}

#[derive(Subcommand)]
enum EquipmentCommand {
    Add {
        /// The number on site, such as SB-01.
        #[arg(long)]
        number: String,
        #[arg(long)]
        name: String,
        /// Such as 水泵, 变压器, 电梯.
        #[arg(long = "type")]
        kind: String,
        #[arg(long, default_value = "")]
        location: String,
        /// The zone: its name or id.
        #[arg(long)]
        zone: String,
        /// Large equipment, inspected weekly by the manager (INS-3).
        #[arg(long)]
        large: bool,
        /// A meter as NAME,UNIT,MIN,MAX, such as 出口压力,MPa,0.2,0.6; repeat.
        #[arg(long = "meter")]
        meters: Vec<String>,
        #[arg(long)]
        request_id: Option<String>,
    },
    List {
        #[arg(long)]
        zone: Option<String>,
    },
}

#[derive(Subcommand)]
enum InventoryCommand {
    Add {
        #[arg(long, value_enum)]
        category: CategoryArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        count: i64,
        #[arg(long)]
        request_id: Option<String>,
    },
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum CategoryArg {
    Instrument,
    Tool,
    PlantRoomKey,
    FixedAsset,
    Valuable,
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Put a shift on the roster.
    Add {
        /// The person's user id.
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
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
        #[arg(long)]
        user: Option<String>,
    },
    /// Ask to give a shift to someone else.
    Swap {
        /// The shift id, or its person's user id for their next shift.
        shift: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        to_name: String,
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

#[derive(Subcommand)]
enum DutyCommand {
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
enum EntryArg {
    Event,
    Equipment,
    Cleaning,
    Note,
}

#[derive(Subcommand)]
enum HandoverCommand {
    /// The outgoing person's preparation (HO-1), naming the incoming shift.
    Start {
        /// The incoming shift id, or its person's user id.
        #[arg(long)]
        incoming: String,
        /// The equipment was not checked in order.
        #[arg(long)]
        equipment_not_ok: bool,
        #[arg(long)]
        rooms_not_cleaned: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The incoming person arrives (HO-2), fit or not (HO-7).
    Arrive {
        handover: Option<String>,
        #[arg(long, value_enum, default_value = "fit")]
        fitness: FitnessArg,
    },
    /// The incoming person's equipment check (HO-3): all normal and as recorded, except what
    /// is flagged.
    Check {
        handover: Option<String>,
        /// Equipment running abnormally, as NUMBER or NUMBER=known|unknown (cause); repeat.
        #[arg(long = "abnormal")]
        abnormal: Vec<String>,
        /// Equipment whose record differs from what is seen; repeat.
        #[arg(long = "differs")]
        differs: Vec<String>,
    },
    /// The incoming person read the last duty record (HO-5).
    Read {
        handover: Option<String>,
        #[arg(long)]
        irregular: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The inventory count (HO-5): every item as listed, except NAME=N given with --counted.
    Count {
        handover: Option<String>,
        #[arg(long = "counted")]
        counted: Vec<String>,
    },
    /// The cleanliness check (HO-5, DUTY-3).
    Clean {
        handover: Option<String>,
        #[arg(long)]
        unclean: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The outgoing person's briefing (HO-4).
    Brief {
        handover: Option<String>,
        #[arg(long)]
        summary: String,
        #[arg(long, default_value = "")]
        watch: String,
        /// Things were left unclear.
        #[arg(long)]
        unclear: bool,
    },
    /// Sign as the outgoing or incoming person; a refusal lists every reason.
    Sign {
        handover: Option<String>,
    },
    /// Start a handover stopped by a fault again (HO-8).
    Restart {
        handover: Option<String>,
    },
    Show {
        handover: Option<String>,
    },
    /// Handovers, newest first.
    List {
        #[arg(long, default_value_t = 10)]
        limit: i32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FitnessArg {
    Fit,
    Tired,
    Drunk,
    Ill,
    Injured,
}

#[derive(Subcommand)]
enum WorkOrderCommand {
    /// Open a work order from a customer's request (WO-1).
    Create {
        /// The unit: its label such as 3-2-1502, or its id.
        #[arg(long, required_unless_present = "equipment")]
        unit: Option<String>,
        /// The equipment: its number or id.
        #[arg(long)]
        equipment: Option<String>,
        #[arg(long)]
        description: String,
        #[arg(long, value_enum, default_value = "ordinary")]
        urgency: UrgencyArg,
        /// The team, such as 水电班.
        #[arg(long)]
        team: String,
        /// The customer who asked.
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        phone: String,
        /// The time the customer booked, for an ordinary repair.
        #[arg(long)]
        booked: Option<String>,
        /// The entry of the call and visit log, when known.
        #[arg(long, default_value_t = 0)]
        contact: i64,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Send it to the person who goes; the arrival deadline starts (WO-2).
    Dispatch {
        wo: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        to_name: String,
    },
    /// The repairer is on site.
    Arrive {
        wo: String,
    },
    /// The work is done; the customer rates and signs (WO-3).
    Complete {
        wo: String,
        #[arg(long)]
        work: String,
        /// A part as NAME,QUANTITY[,UNIT]; repeat.
        #[arg(long = "part")]
        parts: Vec<String>,
        /// 1 (very dissatisfied) to 5; 0 without a customer.
        #[arg(long, default_value_t = 0)]
        rating: i32,
        #[arg(long, default_value = "")]
        signature: String,
    },
    List {
        #[arg(long, value_enum)]
        state: Option<WoStateArg>,
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    Show {
        wo: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum UrgencyArg {
    Emergency,
    Ordinary,
}

#[derive(Clone, Copy, ValueEnum)]
enum WoStateArg {
    Open,
    Dispatched,
    Arrived,
    Completed,
}

#[derive(Subcommand)]
enum InspectionCommand {
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

/// The engineering clients of one call, on one channel.
struct Eng {
    channel: Authed,
    property: String,
}

impl Eng {
    fn equipment(&self) -> EquipmentServiceClient<Authed> {
        EquipmentServiceClient::new(self.channel.clone())
    }
    fn duty(&self) -> DutyServiceClient<Authed> {
        DutyServiceClient::new(self.channel.clone())
    }
    fn handovers(&self) -> HandoverServiceClient<Authed> {
        HandoverServiceClient::new(self.channel.clone())
    }
    fn work_orders(&self) -> WorkOrderServiceClient<Authed> {
        WorkOrderServiceClient::new(self.channel.clone())
    }
    fn inspections(&self) -> InspectionServiceClient<Authed> {
        InspectionServiceClient::new(self.channel.clone())
    }
    fn p(&self) -> String {
        self.property.clone()
    }

    async fn zones(&self) -> anyhow::Result<Vec<pb::Zone>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = call(self.equipment().list_zones(pb::ListZonesRequest {
                property_id: self.p(),
                page_size: 500,
                page_token,
            }))
            .await?;
            out.extend(page.zones);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// A zone by its name or id.
    async fn zone_id(&self, zone: &str) -> anyhow::Result<String> {
        Ok(self
            .zones()
            .await?
            .into_iter()
            .find(|z| z.name == zone || z.id == zone)
            .map(|z| z.id)
            .unwrap_or_else(|| zone.to_owned()))
    }

    async fn all_equipment(&self, zone_id: String) -> anyhow::Result<Vec<pb::Equipment>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = call(self.equipment().list_equipment(pb::ListEquipmentRequest {
                property_id: self.p(),
                zone_id: zone_id.clone(),
                page_size: 500,
                page_token,
            }))
            .await?;
            out.extend(page.equipment);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// A piece of equipment by its number or id.
    async fn equipment_id(&self, equipment: &str) -> anyhow::Result<String> {
        Ok(self
            .all_equipment(String::new())
            .await?
            .into_iter()
            .find(|e| e.number == equipment || e.id == equipment)
            .map(|e| e.id)
            .unwrap_or_else(|| equipment.to_owned()))
    }

    async fn inventory(&self) -> anyhow::Result<Vec<pb::InventoryItem>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = call(
                self.equipment()
                    .list_inventory_items(pb::ListInventoryItemsRequest {
                        property_id: self.p(),
                        page_size: 500,
                        page_token,
                    }),
            )
            .await?;
            out.extend(page.items);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = page.next_page_token;
        }
    }

    /// A shift by its id, or a person's current or next shift by their user id.
    async fn shift_id(&self, shift: &str) -> anyhow::Result<String> {
        let request = pb::ListShiftsRequest {
            property_id: self.p(),
            start_from: Some(timestamp(Utc::now() - Duration::days(1))),
            user_id: shift.to_owned(),
            page_size: 50,
            ..Default::default()
        };
        let shifts = call(self.duty().list_shifts(request)).await?.shifts;
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
    async fn handover_id(&self, handover: Option<String>) -> anyhow::Result<String> {
        if let Some(h) = handover {
            return Ok(h);
        }
        for state in [pb::HandoverState::InProgress, pb::HandoverState::Stopped] {
            let list = call(self.handovers().list_handovers(pb::ListHandoversRequest {
                property_id: self.p(),
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
    async fn work_order(&self, wo: &str) -> anyhow::Result<pb::WorkOrder> {
        let Ok(number) = wo.trim_start_matches('#').parse::<i64>() else {
            return Ok(
                call(self.work_orders().get_work_order(pb::GetWorkOrderRequest {
                    property_id: self.p(),
                    work_order_id: wo.to_owned(),
                }))
                .await?
                .work_order
                .unwrap_or_default(),
            );
        };
        let mut page_token = String::new();
        loop {
            let page = call(
                self.work_orders()
                    .list_work_orders(pb::ListWorkOrdersRequest {
                        property_id: self.p(),
                        page_size: 500,
                        page_token,
                        ..Default::default()
                    }),
            )
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
}

pub async fn eng(args: EngArgs) -> anyhow::Result<()> {
    let eng = Eng {
        channel: args.target.channel().await?,
        property: args.target.property.clone(),
    };
    match args.command {
        EngCommand::Zones(c) => zones(&eng, c).await,
        EngCommand::Equipment(c) => equipment(&eng, c).await,
        EngCommand::Inventory(c) => inventory(&eng, c).await,
        EngCommand::Roster(c) => roster(&eng, c).await,
        EngCommand::Duty(c) => duty(&eng, c).await,
        EngCommand::Handover(c) => handover(&eng, c).await,
        EngCommand::Alerts { all, ack } => alerts(&eng, all, ack).await,
        EngCommand::Wo(c) => work_order(&eng, c).await,
        EngCommand::Inspections(c) => inspections(&eng, c).await,
        EngCommand::Figures { month } => figures(&eng, month).await,
    }
}

async fn zones(eng: &Eng, command: ZoneCommand) -> anyhow::Result<()> {
    match command {
        ZoneCommand::Add {
            name,
            tech,
            tech_name,
            request_id: rid,
        } => {
            let z = call(eng.equipment().create_zone(pb::CreateZoneRequest {
                property_id: eng.p(),
                request_id: request_id(rid),
                name,
                technician_user_id: tech,
                technician_name: tech_name,
            }))
            .await?
            .zone
            .unwrap_or_default();
            say!("zone {} ({}) for {}", z.name, z.id, z.technician_name);
        }
        ZoneCommand::List => {
            for z in eng.zones().await? {
                say!(
                    "{:<20} {} ({})  {}",
                    z.name,
                    z.technician_name,
                    z.technician_user_id,
                    z.id
                );
            }
        }
    }
    Ok(())
}

async fn equipment(eng: &Eng, command: EquipmentCommand) -> anyhow::Result<()> {
    match command {
        EquipmentCommand::Add {
            number,
            name,
            kind,
            location,
            zone,
            large,
            meters,
            request_id: rid,
        } => {
            let meters = meters
                .iter()
                .map(|m| parse_meter(m))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let e = call(
                eng.equipment()
                    .create_equipment(pb::CreateEquipmentRequest {
                        property_id: eng.p(),
                        request_id: request_id(rid),
                        number,
                        name,
                        r#type: kind,
                        location,
                        zone_id: eng.zone_id(&zone).await?,
                        large,
                        meters,
                    }),
            )
            .await?
            .equipment
            .unwrap_or_default();
            say!("equipment {} {} ({})", e.number, e.name, e.id);
        }
        EquipmentCommand::List { zone } => {
            let zone_id = match zone {
                Some(z) => eng.zone_id(&z).await?,
                None => String::new(),
            };
            let zones = eng.zones().await?;
            for e in eng.all_equipment(zone_id).await? {
                let zone = zones
                    .iter()
                    .find(|z| z.id == e.zone_id)
                    .map(|z| z.name.as_str())
                    .unwrap_or("-");
                let meters: Vec<String> = e
                    .meters
                    .iter()
                    .map(|m| format!("{} {}–{} {}", m.name, m.min, m.max, m.unit))
                    .collect();
                say!(
                    "{:<8} {:<12} {:<6} {:<8} {:<6} {}{}  {}",
                    e.number,
                    e.name,
                    e.r#type,
                    short(e.condition().as_str_name(), "EQUIPMENT_CONDITION_"),
                    if e.large { "large" } else { "" },
                    zone,
                    if meters.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", meters.join("; "))
                    },
                    e.id
                );
            }
        }
    }
    Ok(())
}

fn parse_meter(text: &str) -> anyhow::Result<pb::Meter> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [name, unit, min, max] = parts[..] else {
        anyhow::bail!("--meter {text}: write NAME,UNIT,MIN,MAX such as 出口压力,MPa,0.2,0.6");
    };
    Ok(pb::Meter {
        name: name.to_owned(),
        unit: unit.to_owned(),
        min: min
            .parse()
            .with_context(|| format!("--meter {text}: MIN"))?,
        max: max
            .parse()
            .with_context(|| format!("--meter {text}: MAX"))?,
    })
}

async fn inventory(eng: &Eng, command: InventoryCommand) -> anyhow::Result<()> {
    match command {
        InventoryCommand::Add {
            category,
            name,
            count,
            request_id: rid,
        } => {
            let category = match category {
                CategoryArg::Instrument => pb::InventoryCategory::Instrument,
                CategoryArg::Tool => pb::InventoryCategory::Tool,
                CategoryArg::PlantRoomKey => pb::InventoryCategory::PlantRoomKey,
                CategoryArg::FixedAsset => pb::InventoryCategory::FixedAsset,
                CategoryArg::Valuable => pb::InventoryCategory::Valuable,
            };
            let i = call(
                eng.equipment()
                    .create_inventory_item(pb::CreateInventoryItemRequest {
                        property_id: eng.p(),
                        request_id: request_id(rid),
                        category: category.into(),
                        name,
                        count,
                    }),
            )
            .await?
            .item
            .unwrap_or_default();
            say!("{} × {} ({})", i.name, i.count, i.id);
        }
        InventoryCommand::List => {
            for i in eng.inventory().await? {
                say!(
                    "{:<14} {:>4}  {:<14} {}",
                    i.name,
                    i.count,
                    short(i.category().as_str_name(), "INVENTORY_CATEGORY_"),
                    i.id
                );
            }
        }
    }
    Ok(())
}

fn print_shift(s: &pb::Shift) {
    say!(
        "{}  {} – {}  {:<10} {} ({})",
        s.id,
        time(s.start_time.as_ref()),
        time(s.end_time.as_ref()),
        short(s.state().as_str_name(), "SHIFT_STATE_"),
        s.user_name,
        s.user_id
    );
}

async fn roster(eng: &Eng, command: RosterCommand) -> anyhow::Result<()> {
    match command {
        RosterCommand::Add {
            user,
            name,
            from,
            to,
            request_id: rid,
        } => {
            let s = call(eng.duty().create_shift(pb::CreateShiftRequest {
                property_id: eng.p(),
                request_id: request_id(rid),
                user_id: user,
                user_name: name,
                start_time: Some(stamp(&from)?),
                end_time: Some(stamp(&to)?),
            }))
            .await?
            .shift
            .unwrap_or_default();
            print_shift(&s);
        }
        RosterCommand::List { day, user } => {
            let day = day.unwrap_or_else(|| today("%Y-%m-%d"));
            let start = parse_time(&day)?;
            let mut page_token = String::new();
            loop {
                let page = call(eng.duty().list_shifts(pb::ListShiftsRequest {
                    property_id: eng.p(),
                    start_from: Some(timestamp(start)),
                    start_before: Some(timestamp(start + Duration::days(1))),
                    user_id: user.clone().unwrap_or_default(),
                    page_size: 500,
                    page_token,
                }))
                .await?;
                page.shifts.iter().for_each(print_shift);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        RosterCommand::Swap {
            shift,
            to,
            to_name,
            reason,
            request_id: rid,
        } => {
            let swap = call(eng.duty().request_shift_swap(pb::RequestShiftSwapRequest {
                property_id: eng.p(),
                request_id: request_id(rid),
                shift_id: eng.shift_id(&shift).await?,
                to_user_id: to,
                to_user_name: to_name,
                reason,
            }))
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
        }
        RosterCommand::Approve { swap, reject } => {
            let decided = call(eng.duty().decide_shift_swap(pb::DecideShiftSwapRequest {
                property_id: eng.p(),
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
        }
    }
    Ok(())
}

async fn duty(eng: &Eng, command: DutyCommand) -> anyhow::Result<()> {
    match command {
        DutyCommand::Open { shift } => {
            let s = call(eng.duty().open_duty(pb::OpenDutyRequest {
                property_id: eng.p(),
                shift_id: eng.shift_id(&shift).await?,
            }))
            .await?
            .shift
            .unwrap_or_default();
            print_shift(&s);
        }
        DutyCommand::Who => {
            let on = call(eng.duty().get_on_duty(pb::GetOnDutyRequest {
                property_id: eng.p(),
            }))
            .await?;
            match on.shift {
                Some(s) => {
                    say!(
                        "{} ({}) on duty since {}{}",
                        s.user_name,
                        s.user_id,
                        time(on.since.as_ref()),
                        if on.handover_id.is_empty() {
                            " (opened)".to_owned()
                        } else {
                            format!(" by handover {}", on.handover_id)
                        }
                    );
                    print_shift(&s);
                }
                None => say!("nobody holds the duty yet (`wuye eng duty open SHIFT`)"),
            }
        }
        DutyCommand::Log { shift } => {
            let shift_id = match shift {
                Some(s) => eng.shift_id(&s).await?,
                None => call(eng.duty().get_on_duty(pb::GetOnDutyRequest {
                    property_id: eng.p(),
                }))
                .await?
                .shift
                .map(|s| s.id)
                .context("nobody is on duty; name a shift with --shift")?,
            };
            let mut page_token = String::new();
            loop {
                let page = call(eng.duty().list_duty_record(pb::ListDutyRecordRequest {
                    property_id: eng.p(),
                    shift_id: shift_id.clone(),
                    page_size: 500,
                    page_token,
                }))
                .await?;
                for e in page.entries {
                    let by = e.recorded_by.clone().unwrap_or_default();
                    say!(
                        "{}  {:<15} {}  {}",
                        time(e.record_time.as_ref()),
                        short(e.kind().as_str_name(), "DUTY_ENTRY_KIND_"),
                        by.name,
                        e.text
                    );
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        DutyCommand::Write {
            text,
            kind,
            equipment,
            request_id: rid,
        } => {
            let kind = match kind {
                EntryArg::Event => pb::DutyEntryKind::Event,
                EntryArg::Equipment => pb::DutyEntryKind::EquipmentState,
                EntryArg::Cleaning => pb::DutyEntryKind::Cleaning,
                EntryArg::Note => pb::DutyEntryKind::Note,
            };
            let equipment_id = match equipment {
                Some(e) => eng.equipment_id(&e).await?,
                None => String::new(),
            };
            let e = call(
                eng.duty()
                    .add_duty_record_entry(pb::AddDutyRecordEntryRequest {
                        property_id: eng.p(),
                        request_id: request_id(rid),
                        kind: kind.into(),
                        text,
                        equipment_id,
                    }),
            )
            .await?
            .entry
            .unwrap_or_default();
            say!(
                "written in the record of shift {} at {}",
                e.shift_id,
                time(e.record_time.as_ref())
            );
        }
        DutyCommand::End { shift } => {
            let s = call(eng.duty().end_shift(pb::EndShiftRequest {
                property_id: eng.p(),
                shift_id: eng.shift_id(&shift).await?,
            }))
            .await?
            .shift
            .unwrap_or_default();
            print_shift(&s);
        }
        DutyCommand::Incident {
            description,
            request_id: rid,
        } => {
            let i = call(eng.duty().report_incident(pb::ReportIncidentRequest {
                property_id: eng.p(),
                request_id: request_id(rid),
                description,
            }))
            .await?
            .incident
            .unwrap_or_default();
            say!("incident {} open", i.id);
        }
        DutyCommand::CloseIncident {
            incident,
            resolution,
        } => {
            let i = call(eng.duty().close_incident(pb::CloseIncidentRequest {
                property_id: eng.p(),
                incident_id: incident,
                resolution,
            }))
            .await?
            .incident
            .unwrap_or_default();
            say!("incident {} closed {}", i.id, time(i.close_time.as_ref()));
        }
        DutyCommand::Fault {
            description,
            equipment,
            both_shifts,
            request_id: rid,
        } => {
            let f = call(eng.duty().report_fault(pb::ReportFaultRequest {
                property_id: eng.p(),
                request_id: request_id(rid),
                equipment_id: eng.equipment_id(&equipment).await?,
                description,
                needs_both_shifts: both_shifts,
            }))
            .await?
            .fault
            .unwrap_or_default();
            say!("fault {} open", f.id);
            if !f.stopped_handover_id.is_empty() {
                say!("handover {} stopped (HO-8)", f.stopped_handover_id);
            }
        }
        DutyCommand::ClearFault { fault, resolution } => {
            let f = call(eng.duty().clear_fault(pb::ClearFaultRequest {
                property_id: eng.p(),
                fault_id: fault,
                resolution,
            }))
            .await?
            .fault
            .unwrap_or_default();
            say!("fault {} cleared {}", f.id, time(f.clear_time.as_ref()));
        }
        DutyCommand::Problems => {
            let incidents = call(eng.duty().list_incidents(pb::ListIncidentsRequest {
                property_id: eng.p(),
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
            let faults = call(eng.duty().list_faults(pb::ListFaultsRequest {
                property_id: eng.p(),
                open_only: true,
                page_size: 500,
                page_token: String::new(),
            }))
            .await?
            .faults;
            let equipment = eng.all_equipment(String::new()).await?;
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
        }
    }
    Ok(())
}

async fn handover(eng: &Eng, command: HandoverCommand) -> anyhow::Result<()> {
    let p = eng.p();
    let mut client = eng.handovers();
    // A step shows what still blocks; `show` and the last signature show everything.
    let mut full = matches!(command, HandoverCommand::Show { .. });
    let h = match command {
        HandoverCommand::Start {
            incoming,
            equipment_not_ok,
            rooms_not_cleaned,
            note,
            request_id: rid,
        } => {
            call(client.start_handover(pb::StartHandoverRequest {
                property_id: p,
                request_id: request_id(rid),
                incoming_shift_id: eng.shift_id(&incoming).await?,
                equipment_ok: !equipment_not_ok,
                rooms_cleaned: !rooms_not_cleaned,
                note,
            }))
            .await?
            .handover
        }
        HandoverCommand::Arrive { handover, fitness } => {
            let fitness = match fitness {
                FitnessArg::Fit => pb::Fitness::Fit,
                FitnessArg::Tired => pb::Fitness::Tired,
                FitnessArg::Drunk => pb::Fitness::Drunk,
                FitnessArg::Ill => pb::Fitness::Ill,
                FitnessArg::Injured => pb::Fitness::Injured,
            };
            call(
                client.record_handover_arrival(pb::RecordHandoverArrivalRequest {
                    property_id: p,
                    handover_id: eng.handover_id(handover).await?,
                    fitness: fitness.into(),
                }),
            )
            .await?
            .handover
        }
        HandoverCommand::Check {
            handover,
            abnormal,
            differs,
        } => {
            let handover_id = eng.handover_id(handover).await?;
            let equipment = eng.all_equipment(String::new()).await?;
            let find = |text: &str| {
                equipment
                    .iter()
                    .find(|e| e.number == text || e.id == text)
                    .map(|e| e.id.clone())
                    .with_context(|| format!("no equipment {text}"))
            };
            let mut running = std::collections::HashMap::new();
            for a in &abnormal {
                let (number, cause) = a.split_once('=').unwrap_or((a, "known"));
                let state = match cause {
                    "known" => pb::RunningState::AbnormalKnownCause,
                    "unknown" => pb::RunningState::AbnormalUnknownCause,
                    _ => anyhow::bail!("--abnormal {a}: write NUMBER or NUMBER=known|unknown"),
                };
                running.insert(find(number)?, state);
            }
            let differs = differs
                .iter()
                .map(|d| find(d))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let observations = equipment
                .iter()
                .map(|e| pb::EquipmentObservation {
                    equipment_id: e.id.clone(),
                    running: running
                        .get(&e.id)
                        .copied()
                        .unwrap_or(pb::RunningState::Normal)
                        .into(),
                    matches_record: !differs.contains(&e.id),
                    note: String::new(),
                })
                .collect();
            call(
                client.check_handover_equipment(pb::CheckHandoverEquipmentRequest {
                    property_id: p,
                    handover_id,
                    observations,
                }),
            )
            .await?
            .handover
        }
        HandoverCommand::Read {
            handover,
            irregular,
            note,
        } => {
            call(client.read_last_duty_record(pb::ReadLastDutyRecordRequest {
                property_id: p,
                handover_id: eng.handover_id(handover).await?,
                regular: !irregular,
                note,
            }))
            .await?
            .handover
        }
        HandoverCommand::Count { handover, counted } => {
            let handover_id = eng.handover_id(handover).await?;
            let items = eng.inventory().await?;
            let mut counts: Vec<pb::InventoryCount> = items
                .iter()
                .map(|i| pb::InventoryCount {
                    item_id: i.id.clone(),
                    counted: i.count,
                    ..Default::default()
                })
                .collect();
            for c in &counted {
                let (name, n) = c
                    .split_once('=')
                    .with_context(|| format!("--counted {c}: write NAME=N"))?;
                let n: i64 = n.parse().with_context(|| format!("--counted {c}"))?;
                let item = items
                    .iter()
                    .position(|i| i.name == name || i.id == name)
                    .with_context(|| format!("no inventory item {name}"))?;
                counts[item].counted = n;
            }
            call(
                client.count_handover_inventory(pb::CountHandoverInventoryRequest {
                    property_id: p,
                    handover_id,
                    counts,
                }),
            )
            .await?
            .handover
        }
        HandoverCommand::Clean {
            handover,
            unclean,
            note,
        } => {
            call(
                client.check_handover_cleanliness(pb::CheckHandoverCleanlinessRequest {
                    property_id: p,
                    handover_id: eng.handover_id(handover).await?,
                    clean: !unclean,
                    note,
                }),
            )
            .await?
            .handover
        }
        HandoverCommand::Brief {
            handover,
            summary,
            watch,
            unclear,
        } => {
            call(client.brief_handover(pb::BriefHandoverRequest {
                property_id: p,
                handover_id: eng.handover_id(handover).await?,
                summary,
                points_to_watch: watch,
                both_clear: !unclear,
            }))
            .await?
            .handover
        }
        HandoverCommand::Sign { handover } => {
            let request = pb::SignHandoverRequest {
                property_id: p,
                handover_id: eng.handover_id(handover).await?,
            };
            match client.sign_handover(request).await {
                Ok(r) => {
                    let h = r.into_inner().handover;
                    full = h.as_ref().is_some_and(|h| h.complete_time.is_some());
                    h
                }
                Err(status) => {
                    // Reasons name equipment by id: shown by number, as on site.
                    let equipment = eng.all_equipment(String::new()).await.unwrap_or_default();
                    return Err(refusal(status, &equipment).await);
                }
            }
        }
        HandoverCommand::Restart { handover } => {
            call(client.restart_handover(pb::RestartHandoverRequest {
                property_id: p,
                handover_id: eng.handover_id(handover).await?,
            }))
            .await?
            .handover
        }
        HandoverCommand::Show { handover } => {
            call(client.get_handover(pb::GetHandoverRequest {
                property_id: p,
                handover_id: eng.handover_id(handover).await?,
            }))
            .await?
            .handover
        }
        HandoverCommand::List { limit } => {
            let list = call(client.list_handovers(pb::ListHandoversRequest {
                property_id: p,
                state: 0,
                page_size: limit,
                page_token: String::new(),
            }))
            .await?;
            for h in list.handovers {
                say!(
                    "{}  {:<11} {} → {}  started {}  refusals {}",
                    h.id,
                    short(h.state().as_str_name(), "HANDOVER_STATE_"),
                    h.outgoing_user_id,
                    h.incoming_user_id,
                    time(h.preparation.as_ref().and_then(|p| p.prepare_time.as_ref())),
                    h.refusals.len()
                );
            }
            return Ok(());
        }
    };
    let h = h.unwrap_or_default();
    if full {
        print_handover(&h);
    } else {
        say!(
            "handover {}  {}",
            h.id,
            short(h.state().as_str_name(), "HANDOVER_STATE_")
        );
        print_blockers(&h);
    }
    Ok(())
}

/// A refused signature as an error listing every reason (HO-7), one a line.
async fn refusal(status: tonic::Status, equipment: &[pb::Equipment]) -> anyhow::Error {
    let violations = status
        .get_details_precondition_failure()
        .map(|p| p.violations)
        .unwrap_or_default();
    if violations.is_empty() {
        return call::<()>(std::future::ready(Err(status)))
            .await
            .unwrap_err();
    }
    // The message ends with the codes, listed here one a line with their descriptions.
    let headline = status.message().split(": ").next().unwrap_or_default();
    let mut message = format!("{headline}:");
    for v in violations {
        message.push_str(&format!("\n  {:<30} {}", v.r#type, v.description));
        if !v.subject.is_empty() {
            let subject = equipment
                .iter()
                .find(|e| e.id == v.subject)
                .map(|e| e.number.as_str())
                .unwrap_or(&v.subject);
            message.push_str(&format!(" [{subject}]"));
        }
    }
    anyhow::anyhow!(message)
}

fn yes(b: bool, yes: &str, no: &str) -> String {
    if b { yes } else { no }.to_owned()
}

fn print_handover(h: &pb::Handover) {
    say!(
        "handover {}  {}",
        h.id,
        short(h.state().as_str_name(), "HANDOVER_STATE_")
    );
    say!(
        "  outgoing   {} (shift {})",
        h.outgoing_user_id,
        h.outgoing_shift_id
    );
    say!(
        "  incoming   {} (shift {})",
        h.incoming_user_id,
        h.incoming_shift_id
    );
    if let Some(p) = &h.preparation {
        say!(
            "  prepared   {}  equipment {}, rooms {}{}",
            time(p.prepare_time.as_ref()),
            yes(p.equipment_ok, "ok", "NOT ok"),
            yes(p.rooms_cleaned, "cleaned", "NOT cleaned"),
            yes(p.late, "  (late)", "")
        );
    }
    match &h.arrival {
        Some(a) => say!(
            "  arrived    {}  {}{}",
            time(a.arrive_time.as_ref()),
            short(a.fitness().as_str_name(), "FITNESS_"),
            yes(a.late, "  (late)", "")
        ),
        None => say!("  arrived    -"),
    }
    match &h.equipment_check {
        Some(c) => {
            let off = c
                .observations
                .iter()
                .filter(|o| o.running() != pb::RunningState::Normal || !o.matches_record)
                .count();
            say!(
                "  equipment  {}  {} checked, {} not normal or not as recorded",
                time(c.check_time.as_ref()),
                c.observations.len(),
                off
            );
        }
        None => say!("  equipment  -"),
    }
    match &h.last_record {
        Some(r) => say!(
            "  last record {} {}",
            time(r.read_time.as_ref()),
            yes(r.regular, "regular", "IRREGULAR")
        ),
        None => say!("  last record -"),
    }
    match &h.inventory {
        Some(i) => {
            let off: Vec<String> = i
                .counts
                .iter()
                .filter(|c| c.counted != c.listed)
                .map(|c| format!("{} {}/{}", c.name, c.counted, c.listed))
                .collect();
            say!(
                "  inventory  {}  {} items{}",
                time(i.check_time.as_ref()),
                i.counts.len(),
                if off.is_empty() {
                    ", all as listed".to_owned()
                } else {
                    format!(", differ: {}", off.join(", "))
                }
            );
        }
        None => say!("  inventory  -"),
    }
    match &h.cleanliness {
        Some(c) => say!(
            "  clean      {}  {}",
            time(c.check_time.as_ref()),
            yes(c.clean, "yes", "NO")
        ),
        None => say!("  clean      -"),
    }
    match &h.briefing {
        Some(b) => say!(
            "  briefing   {}  {}{}",
            time(b.brief_time.as_ref()),
            b.summary,
            yes(b.both_clear, "", "  (NOT clear)")
        ),
        None => say!("  briefing   -"),
    }
    say!(
        "  signed     outgoing {}, incoming {}",
        time(h.outgoing_sign_time.as_ref()),
        time(h.incoming_sign_time.as_ref())
    );
    if !h.stopped_by_fault_id.is_empty() {
        say!("  stopped by fault {}", h.stopped_by_fault_id);
    }
    if !h.refusals.is_empty() {
        say!("  refusals   {}", h.refusals.len());
    }
    print_blockers(h);
}

fn print_blockers(h: &pb::Handover) {
    for b in &h.blockers {
        say!(
            "  blocker    {:<30} {}{}",
            b.code,
            b.description,
            yes(b.ho7, "  (HO-7)", "")
        );
    }
    if h.blockers.is_empty() && h.complete_time.is_none() {
        say!("  nothing blocks: both may sign");
    }
}

async fn alerts(eng: &Eng, all: bool, ack: Option<String>) -> anyhow::Result<()> {
    let mut client = AlertServiceClient::new(eng.channel.clone());
    if let Some(id) = ack {
        let a = call(client.acknowledge_alert(pb::AcknowledgeAlertRequest {
            property_id: eng.p(),
            alert_id: id,
        }))
        .await?
        .alert
        .unwrap_or_default();
        say!(
            "alert {} acknowledged {}",
            a.id,
            time(a.acknowledge_time.as_ref())
        );
        return Ok(());
    }
    let list = call(client.list_alerts(pb::ListAlertsRequest {
        property_id: eng.p(),
        open_only: !all,
        kind: 0,
        page_size: 100,
        page_token: String::new(),
    }))
    .await?;
    for a in &list.alerts {
        say!(
            "{}  {}  {:<16} {}{}",
            a.id,
            time(a.raise_time.as_ref()),
            short(a.kind().as_str_name(), "ALERT_KIND_"),
            yes(a.acknowledged, "(acknowledged) ", ""),
            // The message of a refusal names its reasons already.
            if a.reasons.iter().all(|r| a.message.contains(r.as_str())) {
                a.message.clone()
            } else {
                format!("{}  {}", a.message, a.reasons.join(","))
            }
        );
    }
    if list.alerts.is_empty() {
        say!("no alerts");
    }
    Ok(())
}

fn print_work_order(w: &pb::WorkOrder) {
    say!(
        "work order #{} ({})  {}",
        w.number,
        w.id,
        short(w.state().as_str_name(), "WORK_ORDER_STATE_")
    );
    say!(
        "  {}, {}, team {}",
        short(w.urgency().as_str_name(), "URGENCY_"),
        short(w.source().as_str_name(), "WORK_ORDER_SOURCE_"),
        w.team
    );
    say!("  {}", w.description);
    if let Some(r) = &w.requester
        && !r.name.is_empty()
    {
        say!("  customer   {} {}", r.name, r.phone);
    }
    say!("  opened     {}", time(w.open_time.as_ref()));
    if w.dispatch_time.is_some() {
        say!(
            "  dispatched {} to {} ({}), due on site {}",
            time(w.dispatch_time.as_ref()),
            w.assignee_name,
            w.assignee_user_id,
            time(w.arrival_due_time.as_ref())
        );
    }
    if w.arrive_time.is_some() {
        say!(
            "  arrived    {}{}",
            time(w.arrive_time.as_ref()),
            yes(w.arrived_late, "  LATE", "  on time")
        );
    }
    if w.complete_time.is_some() {
        say!(
            "  completed  {}  rating {}  {}",
            time(w.complete_time.as_ref()),
            w.customer_rating,
            w.work_done
        );
    }
}

async fn work_order(eng: &Eng, command: WorkOrderCommand) -> anyhow::Result<()> {
    let p = eng.p();
    let mut client = eng.work_orders();
    let w = match command {
        WorkOrderCommand::Create {
            unit,
            equipment,
            description,
            urgency,
            team,
            name,
            phone,
            booked,
            contact,
            request_id: rid,
        } => {
            let unit_id = match unit {
                Some(u) => {
                    resolve_unit(
                        &mut HouseholdServiceClient::new(eng.channel.clone()),
                        &p,
                        &u,
                    )
                    .await?
                }
                None => String::new(),
            };
            let equipment_id = match equipment {
                Some(e) => eng.equipment_id(&e).await?,
                None => String::new(),
            };
            let urgency = match urgency {
                UrgencyArg::Emergency => pb::Urgency::Emergency,
                UrgencyArg::Ordinary => pb::Urgency::Ordinary,
            };
            call(client.create_work_order(pb::CreateWorkOrderRequest {
                property_id: p,
                request_id: request_id(rid),
                unit_id,
                equipment_id,
                description,
                urgency: urgency.into(),
                team,
                requester: Some(pb::Requester { name, phone }),
                contact_number: contact,
                booked_time: booked.as_deref().map(stamp).transpose()?,
            }))
            .await?
            .work_order
        }
        WorkOrderCommand::Dispatch { wo, to, to_name } => {
            let id = eng.work_order(&wo).await?.id;
            call(client.dispatch_work_order(pb::DispatchWorkOrderRequest {
                property_id: p,
                work_order_id: id,
                assignee_user_id: to,
                assignee_name: to_name,
            }))
            .await?
            .work_order
        }
        WorkOrderCommand::Arrive { wo } => {
            let id = eng.work_order(&wo).await?.id;
            call(
                client.record_work_order_arrival(pb::RecordWorkOrderArrivalRequest {
                    property_id: p,
                    work_order_id: id,
                }),
            )
            .await?
            .work_order
        }
        WorkOrderCommand::Complete {
            wo,
            work,
            parts,
            rating,
            signature,
        } => {
            let id = eng.work_order(&wo).await?.id;
            let parts = parts
                .iter()
                .map(|part| {
                    let fields: Vec<&str> = part.split(',').map(str::trim).collect();
                    let quantity = fields
                        .get(1)
                        .and_then(|q| q.parse().ok())
                        .with_context(|| format!("--part {part}: write NAME,QUANTITY[,UNIT]"))?;
                    Ok(pb::Part {
                        name: fields[0].to_owned(),
                        quantity,
                        unit: fields.get(2).copied().unwrap_or_default().to_owned(),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            call(client.complete_work_order(pb::CompleteWorkOrderRequest {
                property_id: p,
                work_order_id: id,
                work_done: work,
                parts,
                customer_rating: rating,
                customer_signature: signature,
            }))
            .await?
            .work_order
        }
        WorkOrderCommand::Show { wo } => Some(eng.work_order(&wo).await?),
        WorkOrderCommand::List { state, limit } => {
            let state = state.map(|s| match s {
                WoStateArg::Open => pb::WorkOrderState::Open,
                WoStateArg::Dispatched => pb::WorkOrderState::Dispatched,
                WoStateArg::Arrived => pb::WorkOrderState::Arrived,
                WoStateArg::Completed => pb::WorkOrderState::Completed,
            });
            let list = call(client.list_work_orders(pb::ListWorkOrdersRequest {
                property_id: p,
                state: state.map(Into::into).unwrap_or_default(),
                page_size: limit,
                ..Default::default()
            }))
            .await?;
            for w in list.work_orders {
                say!(
                    "{:>5}  {:<10} {:<9} {:<16} {:<8} opened {}  {}",
                    w.number,
                    short(w.state().as_str_name(), "WORK_ORDER_STATE_"),
                    short(w.urgency().as_str_name(), "URGENCY_"),
                    short(w.source().as_str_name(), "WORK_ORDER_SOURCE_"),
                    w.team,
                    time(w.open_time.as_ref()),
                    w.description.chars().take(30).collect::<String>()
                );
            }
            return Ok(());
        }
    };
    print_work_order(&w.unwrap_or_default());
    Ok(())
}

fn print_inspection_line(i: &pb::Inspection) {
    say!(
        "{}  {:<7} {:<6} due {}  {}{}",
        i.id,
        short(i.kind().as_str_name(), "INSPECTION_KIND_"),
        short(i.state().as_str_name(), "INSPECTION_STATE_"),
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

async fn inspections(eng: &Eng, command: InspectionCommand) -> anyhow::Result<()> {
    let p = eng.p();
    let mut client = eng.inspections();
    match command {
        InspectionCommand::Generate { day } => {
            let day = day.unwrap_or_else(|| today("%Y-%m-%d"));
            let made = call(
                client.generate_due_inspections(pb::GenerateDueInspectionsRequest {
                    property_id: p,
                    day: day.clone(),
                }),
            )
            .await?
            .created;
            say!("{} inspections made for {day}", made.len());
            made.iter().for_each(print_inspection_line);
        }
        InspectionCommand::List { missed, day } => {
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
            let mut page_token = String::new();
            loop {
                let page = call(client.list_inspections(pb::ListInspectionsRequest {
                    property_id: p.clone(),
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
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        InspectionCommand::Show { inspection } => {
            let i = call(client.get_inspection(pb::GetInspectionRequest {
                property_id: p,
                inspection_id: inspection,
            }))
            .await?
            .inspection
            .unwrap_or_default();
            print_inspection(&i);
        }
        InspectionCommand::Record {
            inspection,
            values,
            findings,
            major,
        } => {
            let i = call(client.get_inspection(pb::GetInspectionRequest {
                property_id: p.clone(),
                inspection_id: inspection.clone(),
            }))
            .await?
            .inspection
            .unwrap_or_default();
            let mut given: Vec<Option<Value>> = vec![None; i.items.len()];
            for v in &values {
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
            let i = call(client.record_inspection(pb::RecordInspectionRequest {
                property_id: p,
                inspection_id: inspection,
                results,
                findings,
                major_finding: major,
            }))
            .await?
            .inspection
            .unwrap_or_default();
            print_inspection(&i);
        }
        InspectionCommand::Finding {
            description,
            equipment,
            inspection,
            request_id: rid,
        } => {
            let equipment_id = match equipment {
                Some(e) => eng.equipment_id(&e).await?,
                None => String::new(),
            };
            let alert = call(client.report_major_finding(pb::ReportMajorFindingRequest {
                property_id: p,
                request_id: request_id(rid),
                inspection_id: inspection.unwrap_or_default(),
                equipment_id,
                description,
            }))
            .await?
            .alert_id;
            say!("the engineering manager is alerted: alert {alert}");
        }
    }
    Ok(())
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
            "  {:>2}. {:<13} {}{}  = {}{}   ({})",
            n + 1,
            short(item.kind().as_str_name(), "ITEM_KIND_"),
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

async fn figures(eng: &Eng, month: Option<String>) -> anyhow::Result<()> {
    let month = month.unwrap_or_else(|| today("%Y-%m"));
    let f = call(
        FiguresServiceClient::new(eng.channel.clone()).get_engineering_figures(
            pb::GetEngineeringFiguresRequest {
                property_id: eng.p(),
                month,
            },
        ),
    )
    .await?
    .figures
    .unwrap_or_default();
    say!("engineering figures of {} for {}", f.property_id, f.month);
    for (name, c) in [
        ("daily", &f.daily),
        ("weekly", &f.weekly),
        ("monthly", &f.monthly),
        ("all", &f.all_inspections),
    ] {
        let c = c.unwrap_or_default();
        say!(
            "  inspections {:<8} due {:>3}  done {:>3}  pending {:>3}  missed {:>3}  coverage {:.1}%",
            name,
            c.due,
            c.done,
            c.pending,
            c.missed,
            c.coverage_percent
        );
    }
    let i = f.intact.unwrap_or_default();
    say!(
        "  intact rate {:.1}% ({} of {} inspected, {} not inspected), target {}%: {}",
        i.rate_percent,
        i.intact,
        i.inspected,
        i.not_inspected,
        i.target_percent,
        yes(i.meets_target, "met", "NOT met")
    );
    let h = f.handovers.unwrap_or_default();
    let reasons: Vec<String> = h
        .reasons
        .iter()
        .map(|r| format!("{} {}", r.code, r.count))
        .collect();
    say!(
        "  handovers   {} completed, {} refusals on {} handovers{}",
        h.completed,
        h.refusals,
        h.refused_handovers,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join(", "))
        }
    );
    let w = f.work_orders.unwrap_or_default();
    say!(
        "  work orders {} opened, {} completed, arrivals {} on time / {} late ({:.1}% on time)",
        w.opened,
        w.completed,
        w.arrived_on_time,
        w.arrived_late,
        w.on_time_percent
    );
    Ok(())
}
