//! The 工程管理部, the engineering management department: duty roster, shift handover,
//! inspections, equipment and repair work orders.

mod app;
mod convert;
pub mod domain;
pub(crate) mod grpc;
mod store;

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    clock::SharedClock,
    follow::Follower,
    metrics::{self, GaugeQuery},
    outbox::Outbox,
    properties::Properties,
    server::{Server, department},
    staff::Directory,
};
use wuye_proto::engineering::{
    alert_service_server::AlertServiceServer, duty_service_server::DutyServiceServer,
    equipment_service_server::EquipmentServiceServer, figures_service_server::FiguresServiceServer,
    handover_service_server::HandoverServiceServer,
    inspection_service_server::InspectionServiceServer,
    work_order_service_server::WorkOrderServiceServer,
};

pub const NAME: &str = "engineering";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50052";

/// The department's domain gauges (see `wuye_kit::metrics`).
const GAUGES: &[GaugeQuery] = &[GaugeQuery {
    metric: &metrics::INSPECTIONS_MISSED,
    label: Some(("kind", &["daily", "weekly", "monthly"])),
    now: true,
    sql: "SELECT property_id, kind, COUNT(*) FROM inspections \
          WHERE record_at IS NULL AND due_at < $1 GROUP BY property_id, kind",
}];

/// The department's state, shared by its gRPC services.
#[derive(Clone)]
pub struct Engineering {
    /// The database, with the keyring personal values are sealed with.
    db: store::Store,
    outbox: Outbox,
    clock: SharedClock,
    properties: Properties,
    /// The staff directory, which the people a request names must be in.
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
    // rule WO-1: the units a repair may name, from customer-service's events.
    let units = Follower {
        consumer: app::units::CONSUMER,
        db: db.clone(),
        source: wuye_kit::follow::source(&settings, NAME, "customer-service")?,
        handler: app::units::Units,
    };
    let gauges = metrics::count_gauges(
        db.clone(),
        deps.clock.clone(),
        deps.properties.clone(),
        GAUGES,
    );
    // rules ARC-6, ARC-11: requesters' phones and customers' signatures are sealed at rest;
    // any stored before are sealed now.
    let db = store::Store::new(db, settings.keyring(NAME)?);
    let sealed = db.seal_clear_values(store::CLEAR_COLUMNS).await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "engineering: sealed personal values stored in clear"
        );
    }
    let service = Engineering {
        db,
        outbox,
        clock: deps.clock,
        properties: deps.properties,
        directory,
    };
    Ok(server
        .with_task(gauges)
        .with_task(units.run())
        .add_service(EquipmentServiceServer::new(service.clone()))
        .add_service(DutyServiceServer::new(service.clone()))
        .add_service(HandoverServiceServer::new(service.clone()))
        .add_service(AlertServiceServer::new(service.clone()))
        .add_service(WorkOrderServiceServer::new(service.clone()))
        .add_service(InspectionServiceServer::new(service.clone()))
        .add_service(FiguresServiceServer::new(service)))
}
