//! `wuye household`: move-ins, move-outs and the registers of households.

use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Target, call};
use wuye_proto::customerservice::{self as pb, household_service_client::HouseholdServiceClient};

use super::unit_id;
use crate::cli::output::{left, say, time};
use crate::cli::{Session, for_each_page};

#[derive(Args)]
pub struct HouseholdArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: HouseholdCommand,
}

#[derive(Subcommand)]
enum HouseholdCommand {
    /// Record a move-in (入住): the unit becomes occupied and archives opens the file.
    MoveIn {
        /// The unit: its id or its label such as 3-2-1502.
        #[arg(long)]
        unit: String,
        /// A resident as NAME,RELATION[,PHONE] with RELATION owner, family or tenant; repeat.
        #[arg(long = "resident", required = true)]
        residents: Vec<String>,
    },
    /// Record a move-out (迁出): the unit becomes vacant.
    MoveOut { household: String },
    /// The households living in the property.
    List,
    /// Print the customer contact list (contacts) or the overview register (overview) as an
    /// HTML page to FILE.
    Print {
        #[arg(value_enum)]
        register: RegisterArg,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RegisterArg {
    Contacts,
    Overview,
}

type Client = HouseholdServiceClient<wuye::connect::Authed>;

pub async fn run(args: HouseholdArgs) -> anyhow::Result<()> {
    let s = Session::open(&args.target).await?;
    let mut c = s.client(HouseholdServiceClient::new);
    match args.command {
        HouseholdCommand::MoveIn { unit, residents } => {
            move_in(&s, &mut c, &unit, &residents).await
        }
        HouseholdCommand::MoveOut { household } => move_out(&s, &mut c, household).await,
        HouseholdCommand::List => list(&s, &mut c).await,
        HouseholdCommand::Print { register, out } => print(&s, &mut c, register, &out).await,
    }
}

async fn move_in(
    s: &Session,
    c: &mut Client,
    unit: &str,
    residents: &[String],
) -> anyhow::Result<()> {
    let unit_id = unit_id(s, unit).await?;
    let residents = residents
        .iter()
        .map(|r| parse_resident(r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = pb::RecordMoveInRequest {
        property_id: s.p(),
        request_id: uuid::Uuid::now_v7().to_string(),
        unit_id,
        residents,
        move_in_time: None,
    };
    let h = call(c.record_move_in(request))
        .await?
        .household
        .unwrap_or_default();
    say!(
        "household {} moved into {} on {}",
        h.id,
        h.unit_label,
        time(h.move_in_time.as_ref())
    );
    Ok(())
}

async fn move_out(s: &Session, c: &mut Client, household: String) -> anyhow::Result<()> {
    let request = pb::RecordMoveOutRequest {
        property_id: s.p(),
        household_id: household,
        move_out_time: None,
    };
    let h = call(c.record_move_out(request))
        .await?
        .household
        .unwrap_or_default();
    say!(
        "household {} moved out of {} on {}",
        h.id,
        h.unit_label,
        time(h.move_out_time.as_ref())
    );
    Ok(())
}

async fn list(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    for_each_page(async |page_token| {
        let request = pb::ListHouseholdsRequest {
            property_id: s.p(),
            state: pb::HouseholdState::Living.into(),
            page_size: 500,
            page_token,
            ..Default::default()
        };
        let page = call(c.list_households(request)).await?;
        for h in page.households {
            let names: Vec<&str> = h.residents.iter().map(|r| r.name.as_str()).collect();
            say!(
                "{}  {}  {}  {}",
                left(&h.unit_label, 12),
                time(h.move_in_time.as_ref()),
                h.id,
                names.join("、")
            );
        }
        Ok(page.next_page_token)
    })
    .await
}

async fn print(
    s: &Session,
    c: &mut Client,
    register: RegisterArg,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let request = pb::RenderRegisterRequest {
        property_id: s.p(),
        register: match register {
            RegisterArg::Contacts => pb::Register::ContactList,
            RegisterArg::Overview => pb::Register::Overview,
        }
        .into(),
        building: String::new(),
    };
    let document = call(c.render_register(request))
        .await?
        .document
        .unwrap_or_default();
    std::fs::write(out, &document.content)?;
    say!(
        "{} ({} bytes) written to {}",
        document.file_name,
        document.content.len(),
        out.display()
    );
    Ok(())
}

fn parse_resident(text: &str) -> anyhow::Result<pb::Resident> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let relation = match parts.get(1).copied() {
        Some("owner") => pb::ResidentRelation::Owner,
        Some("family") => pb::ResidentRelation::Family,
        Some("tenant") => pb::ResidentRelation::Tenant,
        _ => anyhow::bail!("--resident {text}: write NAME,owner|family|tenant[,PHONE]"),
    };
    Ok(pb::Resident {
        name: parts[0].to_owned(),
        relation: relation.into(),
        phone: parts.get(2).copied().unwrap_or_default().to_owned(),
        primary_contact: false,
    })
}
