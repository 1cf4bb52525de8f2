//! Repair work orders (报修, WO-1 to WO-3): opened, dispatched, arrived at, completed.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use wuye::connect::{Authed, call};
use wuye_proto::engineering::{self as pb, work_order_service_client::WorkOrderServiceClient};

use super::{optional_equipment_id, work_order};
use crate::cli::Session;
use crate::cli::customer_service::unit_id;
use crate::cli::input::{request_id, stamp};
use crate::cli::output::{left, say, short, time, yes};

#[derive(Subcommand)]
pub(super) enum WorkOrderCommand {
    /// Open a work order from a customer's request (WO-1).
    Create(CreateArgs),
    /// Send it to the person who goes; the arrival deadline starts (WO-2).
    Dispatch {
        wo: String,
        /// Who goes: their staff id in the directory (a technician or the maintenance foreman
        /// of the property); the order shows their name from the directory.
        #[arg(long, value_name = "STAFF_ID")]
        to: String,
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

#[derive(Args)]
pub(super) struct CreateArgs {
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
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum UrgencyArg {
    Emergency,
    Ordinary,
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum WoStateArg {
    Open,
    Dispatched,
    Arrived,
    Completed,
}

type Client = WorkOrderServiceClient<Authed>;

pub(super) async fn run(s: &Session, command: WorkOrderCommand) -> anyhow::Result<()> {
    let mut c = s.client(WorkOrderServiceClient::new);
    let c = &mut c;
    let w = match command {
        WorkOrderCommand::Create(a) => create(s, c, a).await?,
        WorkOrderCommand::Dispatch { wo, to } => dispatch(s, c, &wo, to).await?,
        WorkOrderCommand::Arrive { wo } => arrive(s, c, &wo).await?,
        WorkOrderCommand::Complete {
            wo,
            work,
            parts,
            rating,
            signature,
        } => complete(s, c, &wo, work, &parts, rating, signature).await?,
        WorkOrderCommand::Show { wo } => Some(work_order(s, &wo).await?),
        WorkOrderCommand::List { state, limit } => return list(s, c, state, limit).await,
    };
    print_work_order(&w.unwrap_or_default());
    Ok(())
}

async fn create(
    s: &Session,
    c: &mut Client,
    a: CreateArgs,
) -> anyhow::Result<Option<pb::WorkOrder>> {
    let unit_id = match a.unit {
        Some(u) => unit_id(s, &u).await?,
        None => String::new(),
    };
    let equipment_id = optional_equipment_id(s, a.equipment).await?;
    let urgency = match a.urgency {
        UrgencyArg::Emergency => pb::Urgency::Emergency,
        UrgencyArg::Ordinary => pb::Urgency::Ordinary,
    };
    let request = pb::CreateWorkOrderRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        unit_id,
        equipment_id,
        description: a.description,
        urgency: urgency.into(),
        team: a.team,
        requester: Some(pb::Requester {
            name: a.name,
            phone: a.phone,
        }),
        contact_number: a.contact,
        booked_time: a.booked.as_deref().map(stamp).transpose()?,
    };
    Ok(call(c.create_work_order(request)).await?.work_order)
}

async fn dispatch(
    s: &Session,
    c: &mut Client,
    wo: &str,
    to: String,
) -> anyhow::Result<Option<pb::WorkOrder>> {
    let request = pb::DispatchWorkOrderRequest {
        property_id: s.p(),
        work_order_id: work_order(s, wo).await?.id,
        assignee_user_id: to,
    };
    Ok(call(c.dispatch_work_order(request)).await?.work_order)
}

async fn arrive(s: &Session, c: &mut Client, wo: &str) -> anyhow::Result<Option<pb::WorkOrder>> {
    let request = pb::RecordWorkOrderArrivalRequest {
        property_id: s.p(),
        work_order_id: work_order(s, wo).await?.id,
    };
    Ok(call(c.record_work_order_arrival(request)).await?.work_order)
}

async fn complete(
    s: &Session,
    c: &mut Client,
    wo: &str,
    work: String,
    parts: &[String],
    rating: i32,
    signature: String,
) -> anyhow::Result<Option<pb::WorkOrder>> {
    let id = work_order(s, wo).await?.id;
    let parts = parts
        .iter()
        .map(|part| parse_part(part))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = pb::CompleteWorkOrderRequest {
        property_id: s.p(),
        work_order_id: id,
        work_done: work,
        parts,
        customer_rating: rating,
        customer_signature: signature,
    };
    Ok(call(c.complete_work_order(request)).await?.work_order)
}

/// `--part NAME,QUANTITY[,UNIT]`.
fn parse_part(part: &str) -> anyhow::Result<pb::Part> {
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
}

async fn list(
    s: &Session,
    c: &mut Client,
    state: Option<WoStateArg>,
    limit: i32,
) -> anyhow::Result<()> {
    let state = state.map(|s| match s {
        WoStateArg::Open => pb::WorkOrderState::Open,
        WoStateArg::Dispatched => pb::WorkOrderState::Dispatched,
        WoStateArg::Arrived => pb::WorkOrderState::Arrived,
        WoStateArg::Completed => pb::WorkOrderState::Completed,
    });
    let list = call(c.list_work_orders(pb::ListWorkOrdersRequest {
        property_id: s.p(),
        state: state.map(Into::into).unwrap_or_default(),
        page_size: limit,
        ..Default::default()
    }))
    .await?;
    for w in list.work_orders {
        say!(
            "{:>5}  {} {} {} {} opened {}  {}",
            w.number,
            left(&short(w.state().as_str_name(), "WORK_ORDER_STATE_"), 10),
            left(&short(w.urgency().as_str_name(), "URGENCY_"), 9),
            left(&short(w.source().as_str_name(), "WORK_ORDER_SOURCE_"), 16),
            left(&w.team, 8),
            time(w.open_time.as_ref()),
            w.description.chars().take(30).collect::<String>()
        );
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
