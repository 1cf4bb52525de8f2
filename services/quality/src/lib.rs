//! The 品质管理部, the company quality department: the inbox of escalated complaints from
//! every property (ESC-1 to ESC-4), their assignment, questions to the property, decisions and
//! corrective actions (CMP-8). The gateway's relay delivers escalations here and carries the
//! department's updates, announced on this service's event stream, back to the complaints.

mod app;
mod convert;
pub mod domain;
mod grpc;
mod store;

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    clock::SharedClock,
    db::Db,
    metrics::{self, GaugeQuery},
    outbox::Outbox,
    properties::Properties,
    server::{Server, department},
    staff::Directory,
};
use wuye_proto::quality::{
    escalation_relay_service_server::EscalationRelayServiceServer,
    escalation_service_server::EscalationServiceServer,
};

pub const NAME: &str = "quality";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50054";

/// The department's domain gauges (see `wuye_kit::metrics`). Only this department knows what
/// waits on it: an escalation the relay has not delivered yet (quality down) is not counted
/// anywhere until it arrives.
const GAUGES: &[GaugeQuery] = &[GaugeQuery {
    metric: &metrics::ESCALATIONS_WAITING,
    label: Some((
        "state",
        &["received", "assigned", "information_requested", "decided"],
    )),
    now: false,
    sql: "SELECT property_id, state, COUNT(*) FROM escalations \
          WHERE state <> 'closed' GROUP BY property_id, state",
}];

/// The department's state, shared by its gRPC services.
#[derive(Clone)]
pub struct Quality {
    db: Db,
    outbox: Outbox,
    clock: SharedClock,
    properties: Properties,
    /// The staff directory, which the officer an assignment names must be in.
    directory: Directory,
}

/// Opens the database (migrating it) and assembles the server on `listener`.
pub async fn build(
    settings: ServiceSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    let migrations = sqlx::migrate!("./migrations");
    let (db, outbox, server) = department(NAME, &settings, listener, &deps, migrations).await?;
    let directory = Directory::new(&settings, NAME)?;
    let gauges = metrics::count_gauges(
        db.clone(),
        deps.clock.clone(),
        deps.properties.clone(),
        GAUGES,
    );
    let quality = Quality {
        db,
        outbox,
        clock: deps.clock,
        properties: deps.properties,
        directory,
    };
    Ok(server
        .with_task(gauges)
        .add_service(EscalationServiceServer::new(quality.clone()))
        .add_service(EscalationRelayServiceServer::new(quality)))
}
