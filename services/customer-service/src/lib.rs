//! The customer service department (客户服务部): the properties' master data (units,
//! households, residents, move-in and move-out, the registers) and complaints; keys, surveys
//! and visits follow.

/// The use cases; public for the benchmark, which measures the storage limit through
/// [`app::complaints::create`].
pub mod app;
mod convert;
pub mod domain;
mod follow_ups;
pub(crate) mod grpc;
mod jobs;
mod store;

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    clock::SharedClock,
    metrics::{self, GaugeQuery},
    outbox::Outbox,
    properties::Properties,
    server::{Server, department},
    staff::Directory,
};
use wuye_proto::customerservice::{
    complaint_service_server::ComplaintServiceServer,
    customer_service_figures_service_server::CustomerServiceFiguresServiceServer,
    household_service_server::HouseholdServiceServer,
    property_service_server::PropertyServiceServer, survey_service_server::SurveyServiceServer,
    visit_service_server::VisitServiceServer,
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
        // The same rule as ListOverdueComplaints: no reply yet (a dissatisfied round that
        // goes back to the team keeps its first reply).
        sql: "SELECT property_id, COUNT(*) FROM complaints \
              WHERE reply_at IS NULL AND state <> 'closed' \
              AND reply_due_at < $1 GROUP BY property_id",
    },
    GaugeQuery {
        metric: &metrics::KEYS_LOANS_OVERDUE,
        label: None,
        now: false,
        // The overdue job marks a loan when it passes the property's limit (KEY-8), the same
        // moment it raises KeyLoanOverdue; a return closes it.
        sql: "SELECT property_id, COUNT(*) FROM key_loans \
              WHERE state = 'open' AND overdue_at IS NOT NULL GROUP BY property_id",
    },
];

/// The department's state, shared by its gRPC services.
#[derive(Clone)]
pub struct CustomerService {
    /// The database, with the keyring phone numbers are sealed with.
    db: store::Store,
    outbox: Outbox,
    clock: SharedClock,
    properties: Properties,
    /// The staff directory, which the borrowers of keys must be in.
    directory: Directory,
}

impl CustomerService {
    /// The department's state over its opened database (sealed with the department's keyring):
    /// for the benchmark, which calls the application layer without a server.
    pub fn new(
        db: wuye_kit::sealed::SealedDb,
        outbox: Outbox,
        clock: SharedClock,
        properties: Properties,
        directory: Directory,
    ) -> Self {
        Self {
            db,
            outbox,
            clock,
            properties,
            directory,
        }
    }
}

/// The department's schema.
pub fn migrations() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations")
}

/// Opens the database (migrating it) and assembles the server on `listener`.
pub async fn build(
    settings: ServiceSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    for property in deps.properties.iter() {
        domain::surveys::check_rules(&property.id, &property.rules.surveys)?;
    }
    let (db, outbox, server) = department(NAME, &settings, listener, &deps, migrations()).await?;
    let directory = Directory::new(&settings, NAME)?;
    let gauges = metrics::count_gauges(
        db.clone(),
        deps.clock.clone(),
        deps.properties.clone(),
        GAUGES,
    );
    // rule VIS-4: completed repairs from engineering's events.
    let repairs = wuye_kit::follow::Follower {
        consumer: follow_ups::CONSUMER,
        db: db.clone(),
        source: wuye_kit::follow::source(&settings, NAME, "engineering")?,
        handler: follow_ups::RepairFollowUps {
            properties: deps.properties.clone(),
            clock: deps.clock.clone(),
        },
    };
    // rules ARC-6, ARC-11: phone numbers are sealed at rest; any stored before are sealed now.
    let db = store::Store::new(db, settings.keyring(NAME)?);
    let sealed = db.seal_clear_values(store::CLEAR_COLUMNS).await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "customer-service: sealed phone numbers stored in clear"
        );
    }
    // ListComplaints finds complainants' phones by their blind index; those of before are
    // indexed now.
    let indexed = app::complaints::index_phones(&db).await?;
    if indexed > 0 {
        tracing::info!(indexed, "customer-service: indexed complainants' phones");
    }
    // rule WO-1: the other departments learn the units from their events; units registered
    // before units were announced are announced now, once, before the service serves.
    let announced = app::units::announce_unannounced(&db, &outbox).await?;
    if announced > 0 {
        tracing::info!(
            announced,
            "customer-service: announced units registered before units were announced"
        );
    }
    let every = std::time::Duration::from_millis(settings.jobs_interval_ms.max(10));
    let late = catch_up_late_writes(db.clone(), outbox.clone(), every);
    let service = CustomerService {
        db,
        outbox,
        clock: deps.clock,
        properties: deps.properties,
        directory,
    };
    let server = grpc::keys::register(server, &service, every);
    Ok(server
        .with_task(gauges)
        .with_task(late)
        .with_task(jobs::run(service.clone(), every))
        .with_task(repairs.run())
        .add_service(SurveyServiceServer::new(service.clone()))
        .add_service(VisitServiceServer::new(service.clone()))
        .add_service(ComplaintServiceServer::new(service.clone()))
        .add_service(CustomerServiceFiguresServiceServer::new(service.clone()))
        .add_service(HouseholdServiceServer::new(service.clone()))
        .add_service(PropertyServiceServer::new(service)))
}

/// Every `every`, catches up with what a replica of the previous version wrote while this one
/// was starting (a rolling upgrade): the start-up steps saw the rows of before, this the rows
/// since: units registered without an announcement, complaints without the blind index of
/// their phone. Nothing to do is two index lookups.
async fn catch_up_late_writes(db: store::Store, outbox: Outbox, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app::units::announce_unannounced(&db, &outbox).await {
            Ok(0) => {}
            Ok(announced) => tracing::info!(announced, "units registered unannounced, announced"),
            Err(e) => tracing::warn!(error = %e, "announcing units failed"),
        }
        match app::complaints::index_phones(&db).await {
            Ok(0) => {}
            Ok(indexed) => tracing::info!(indexed, "complainants' phones indexed late"),
            Err(e) => tracing::warn!(error = %e, "indexing complainants' phones failed"),
        }
    }
}
