//! `wuye unit`: the register of a property's units.

use clap::{Args, Subcommand};
use wuye::connect::{Target, call};
use wuye_proto::customerservice::{self as pb, household_service_client::HouseholdServiceClient};

use crate::cli::output::{left, say, short};
use crate::cli::{Session, for_each_page};

#[derive(Args)]
pub struct UnitArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: UnitCommand,
}

#[derive(Subcommand)]
enum UnitCommand {
    /// Add a unit to the register.
    Add(AddArgs),
    /// List the units of the property.
    List {
        #[arg(long)]
        building: Option<String>,
    },
    /// Find a unit by its label as people say it: 2-2-502, 2-502, 2栋2单元502.
    Find { label: String },
}

#[derive(Args)]
struct AddArgs {
    #[arg(long)]
    building: String,
    #[arg(long, default_value = "")]
    entrance: String,
    #[arg(long)]
    floor: i32,
    #[arg(long)]
    room: String,
    #[arg(long, default_value_t = 0.0)]
    area: f64,
}

pub async fn run(args: UnitArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    match args.command {
        UnitCommand::Add(unit) => add(&s, unit).await,
        UnitCommand::List { building } => list(&s, building.unwrap_or_default()).await,
        UnitCommand::Find { label } => find(&s, label).await,
    }
}

async fn add(s: &Session, unit: AddArgs) -> anyhow::Result<()> {
    let request = pb::CreateUnitRequest {
        property_id: s.p(),
        request_id: uuid::Uuid::now_v7().to_string(),
        building: unit.building,
        entrance: unit.entrance,
        floor: unit.floor,
        room: unit.room,
        area_m2: unit.area,
        state: 0,
    };
    let mut units = s.client(HouseholdServiceClient::new);
    let u = call(units.create_unit(request))
        .await?
        .unit
        .unwrap_or_default();
    say!("{}  {}", u.label, u.id);
    Ok(())
}

async fn find(s: &Session, label: String) -> anyhow::Result<()> {
    let request = pb::FindUnitRequest {
        property_id: s.p(),
        label,
    };
    let mut units = s.client(HouseholdServiceClient::new);
    let u = call(units.find_unit(request))
        .await?
        .unit
        .unwrap_or_default();
    say!(
        "{}  {}  floor {}  {:.1} m²  {}",
        u.label,
        short(u.state().as_str_name(), "UNIT_STATE_"),
        u.floor,
        u.area_m2,
        u.id
    );
    Ok(())
}

async fn list(s: &Session, building: String) -> anyhow::Result<()> {
    let mut units = s.client(HouseholdServiceClient::new);
    for_each_page(async |page_token| {
        let request = pb::ListUnitsRequest {
            property_id: s.p(),
            building: building.clone(),
            page_size: 500,
            page_token,
        };
        let page = call(units.list_units(request)).await?;
        for u in page.units {
            say!(
                "{}  {}  {:>6.1} m²  {}",
                left(&u.label, 12),
                left(&short(u.state().as_str_name(), "UNIT_STATE_"), 9),
                u.area_m2,
                u.id
            );
        }
        Ok(page.next_page_token)
    })
    .await
}
