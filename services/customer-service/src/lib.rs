//! The customer service department (客户服务部): the properties' master data (units,
//! households, residents, move-in and move-out, the registers) and complaints; keys, surveys
//! and visits follow.

pub mod domain;
pub(crate) mod grpc;
mod jobs;
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
};
use wuye_proto::customerservice::{
    complaint_service_server::ComplaintServiceServer,
    household_service_server::HouseholdServiceServer,
    property_service_server::PropertyServiceServer,
};

pub const NAME: &str = "customer-service";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// The department's domain gauges (see `wuye_kit::metrics`).
const GAUGES: &[GaugeQuery] = &[
    GaugeQuery {
        metric: &metrics::COMPLAINTS_OPEN,
        label: Some(("severity", &["minor", "general", "serious"])),
        now: false,
        sql: "SELECT property_id, severity, COUNT(*) FROM complaints \
              WHERE state <> 'closed' GROUP BY property_id, severity",
    },
    GaugeQuery {
        metric: &metrics::COMPLAINTS_REPLIES_OVERDUE,
        label: None,
        now: true,
        sql: "SELECT property_id, COUNT(*) FROM complaints \
              WHERE state IN ('registered', 'sent_to_team', 'plan_proposed', 'plan_confirmed') \
              AND reply_due_at < $1 GROUP BY property_id",
    },
];

/// The department's state, shared by its gRPC services.
#[derive(Clone)]
pub struct CustomerService {
    db: Db,
    outbox: Outbox,
    clock: SharedClock,
    properties: Properties,
}

/// Opens the database (migrating it) and assembles the server on `listener`.
pub async fn build(
    settings: ServiceSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    let migrations = sqlx::migrate!("./migrations");
    let (db, outbox, server) = department(NAME, &settings, listener, &deps, migrations).await?;
    let gauges = metrics::count_gauges(
        db.clone(),
        deps.clock.clone(),
        deps.properties.clone(),
        GAUGES,
    );
    let service = CustomerService {
        db,
        outbox,
        clock: deps.clock,
        properties: deps.properties,
    };
    let every = std::time::Duration::from_millis(settings.jobs_interval_ms.max(10));
    let server = grpc::keys::register(server, &service, every);
    Ok(server
        .with_task(gauges)
        .with_task(jobs::run(service.clone(), every))
        .add_service(ComplaintServiceServer::new(service.clone()))
        .add_service(HouseholdServiceServer::new(service.clone()))
        .add_service(PropertyServiceServer::new(service)))
}
