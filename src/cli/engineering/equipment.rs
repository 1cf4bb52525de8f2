//! Zones of responsibility (INS-1), the equipment by number, and the duty room's inventory.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::call;
use wuye_proto::engineering::{self as pb, equipment_service_client::EquipmentServiceClient};

use crate::cli::Session;
use crate::cli::input::request_id;
use crate::cli::output::{left, say, short};

#[derive(Subcommand)]
pub(super) enum ZoneCommand {
    /// A zone and its technician; the zone shows their name from the staff directory.
    Add {
        #[arg(long)]
        name: String,
        /// The zone's technician: their staff id in the directory (a technician of the
        /// property).
        #[arg(long = "technician", visible_alias = "tech", value_name = "STAFF_ID")]
        tech: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Give a zone to another technician: its daily inspections go to them from then on.
    Assign {
        /// The zone: its name or id.
        zone: String,
        /// The technician taking the zone: their staff id in the directory.
        #[arg(long = "technician", visible_alias = "tech", value_name = "STAFF_ID")]
        tech: String,
    },
    List,
}

#[derive(Subcommand)]
pub(super) enum EquipmentCommand {
    Add(AddEquipmentArgs),
    List {
        #[arg(long)]
        zone: Option<String>,
    },
}

#[derive(Args)]
pub(super) struct AddEquipmentArgs {
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
}

#[derive(Subcommand)]
pub(super) enum InventoryCommand {
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
pub(super) enum CategoryArg {
    Instrument,
    Tool,
    PlantRoomKey,
    FixedAsset,
    Valuable,
}

pub(super) async fn zones(s: &Session, command: ZoneCommand) -> anyhow::Result<()> {
    match command {
        ZoneCommand::Add {
            name,
            tech,
            request_id: rid,
        } => add_zone(s, name, tech, rid).await,
        ZoneCommand::Assign { zone, tech } => assign_zone(s, &zone, tech).await,
        ZoneCommand::List => list_zones(s).await,
    }
}

async fn add_zone(
    s: &Session,
    name: String,
    tech: String,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let request = pb::CreateZoneRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        name,
        technician_user_id: tech,
    };
    let mut equipment = s.client(EquipmentServiceClient::new);
    let z = call(equipment.create_zone(request))
        .await?
        .zone
        .unwrap_or_default();
    say!("zone {} ({}) for {}", z.name, z.id, z.technician_name);
    Ok(())
}

async fn assign_zone(s: &Session, zone: &str, tech: String) -> anyhow::Result<()> {
    let request = pb::AssignZoneTechnicianRequest {
        property_id: s.p(),
        zone_id: super::zone_id(s, zone).await?,
        technician_user_id: tech,
    };
    let mut equipment = s.client(EquipmentServiceClient::new);
    let z = call(equipment.assign_zone_technician(request))
        .await?
        .zone
        .unwrap_or_default();
    say!("zone {} ({}) for {}", z.name, z.id, z.technician_name);
    Ok(())
}

async fn list_zones(s: &Session) -> anyhow::Result<()> {
    for z in super::zones(s).await? {
        say!(
            "{} {} ({})  {}",
            left(&z.name, 20),
            z.technician_name,
            z.technician_user_id,
            z.id
        );
    }
    Ok(())
}

pub(super) async fn equipment(s: &Session, command: EquipmentCommand) -> anyhow::Result<()> {
    match command {
        EquipmentCommand::Add(a) => add_equipment(s, a).await,
        EquipmentCommand::List { zone } => list_equipment(s, zone).await,
    }
}

async fn add_equipment(s: &Session, a: AddEquipmentArgs) -> anyhow::Result<()> {
    let meters = a
        .meters
        .iter()
        .map(|m| parse_meter(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = pb::CreateEquipmentRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        number: a.number,
        name: a.name,
        r#type: a.kind,
        location: a.location,
        zone_id: super::zone_id(s, &a.zone).await?,
        large: a.large,
        meters,
    };
    let mut equipment = s.client(EquipmentServiceClient::new);
    let e = call(equipment.create_equipment(request))
        .await?
        .equipment
        .unwrap_or_default();
    say!("equipment {} {} ({})", e.number, e.name, e.id);
    Ok(())
}

async fn list_equipment(s: &Session, zone: Option<String>) -> anyhow::Result<()> {
    let zone_id = match zone {
        Some(z) => super::zone_id(s, &z).await?,
        None => String::new(),
    };
    let zones = super::zones(s).await?;
    for e in super::all_equipment(s, zone_id).await? {
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
            "{} {} {} {} {} {}{}  {}",
            left(&e.number, 8),
            left(&e.name, 12),
            left(&e.r#type, 6),
            left(
                &short(e.condition().as_str_name(), "EQUIPMENT_CONDITION_"),
                8
            ),
            left(if e.large { "large" } else { "" }, 6),
            zone,
            if meters.is_empty() {
                String::new()
            } else {
                format!("  [{}]", meters.join("; "))
            },
            e.id
        );
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

pub(super) async fn inventory(s: &Session, command: InventoryCommand) -> anyhow::Result<()> {
    match command {
        InventoryCommand::Add {
            category,
            name,
            count,
            request_id: rid,
        } => add_item(s, category, name, count, rid).await,
        InventoryCommand::List => list_items(s).await,
    }
}

async fn list_items(s: &Session) -> anyhow::Result<()> {
    for i in super::inventory(s).await? {
        say!(
            "{} {:>4}  {} {}",
            left(&i.name, 14),
            i.count,
            left(
                &short(i.category().as_str_name(), "INVENTORY_CATEGORY_"),
                14
            ),
            i.id
        );
    }
    Ok(())
}

async fn add_item(
    s: &Session,
    category: CategoryArg,
    name: String,
    count: i64,
    rid: Option<String>,
) -> anyhow::Result<()> {
    let category = match category {
        CategoryArg::Instrument => pb::InventoryCategory::Instrument,
        CategoryArg::Tool => pb::InventoryCategory::Tool,
        CategoryArg::PlantRoomKey => pb::InventoryCategory::PlantRoomKey,
        CategoryArg::FixedAsset => pb::InventoryCategory::FixedAsset,
        CategoryArg::Valuable => pb::InventoryCategory::Valuable,
    };
    let request = pb::CreateInventoryItemRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        category: category.into(),
        name,
        count,
    };
    let mut equipment = s.client(EquipmentServiceClient::new);
    let i = call(equipment.create_inventory_item(request))
        .await?
        .item
        .unwrap_or_default();
    say!("{} × {} ({})", i.name, i.count, i.id);
    Ok(())
}
