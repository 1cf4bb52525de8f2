//! The 客户档案, the customer archives: household files (一户一档) opened from customer
//! service's move-ins, documents that never change and are sealed at rest, access only by the
//! supervisor's approval, a register of every reading chained by keyed links and checkpointed
//! outside the database, and the retention of closed records.

pub(crate) mod app;
pub mod blobs;
mod convert;
pub mod domain;
pub(crate) mod grpc;
pub mod move_ins;
pub mod register;
pub mod settings;
mod store;

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    clock::SharedClock,
    db::Db,
    follow::Follower,
    metrics::{self, GaugeQuery},
    properties::Properties,
    server::{Server, department},
};
use wuye_proto::archives::{
    access_service_server::AccessServiceServer, audit_service_server::AuditServiceServer,
    document_service_server::DocumentServiceServer,
    household_file_service_server::HouseholdFileServiceServer,
    retention_service_server::RetentionServiceServer,
};

pub use settings::ArchiveSettings;

pub const NAME: &str = "archives";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50053";

/// The department's domain gauges (see `wuye_kit::metrics`).
const GAUGES: &[GaugeQuery] = &[GaugeQuery {
    metric: &metrics::ARCHIVES_FILES_LATE,
    label: None,
    now: true,
    sql: "SELECT property_id, COUNT(*) FROM household_files \
          WHERE filed_at IS NULL AND filing_due_at < $1 GROUP BY property_id",
}];
/// The cursor name under which move-ins of customer-service are followed.
pub const MOVE_IN_CONSUMER: &str = "archives.household-files";

/// The department's state, shared by its gRPC services.
#[derive(Clone)]
pub struct Archives {
    db: Db,
    clock: SharedClock,
    properties: Properties,
    /// Seals personal identifiers and documents, and keys the register's links (ARC-6,
    /// ARC-12).
    keyring: wuye_kit::seal::Keyring,
    documents: blobs::DocumentStore,
    checkpoints: register::CheckpointStore,
    max_document_bytes: u64,
}

/// Opens the database (migrating it) and assembles the server on `listener`, with the
/// archives' own settings from the environment (see [`settings`]).
pub async fn build(
    settings: ServiceSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    build_with(settings, ArchiveSettings::from_env()?, listener, deps).await
}

/// [`build`] with the archives' settings given.
pub async fn build_with(
    settings: ServiceSettings,
    archive: ArchiveSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    for property in deps.properties.iter() {
        domain::files::required_categories(property)?;
    }
    let keyring = settings.keyring(NAME)?;
    let document_store = blobs::open_object_store(&archive.store_url(&settings))?;
    // rule ARC-12: checkpoints go where the database's writers cannot reach, best a store
    // of their own.
    let checkpoints = register::CheckpointStore::new(match archive.checkpoint_store_url() {
        Some(url) => blobs::open_object_store(url)?,
        None => document_store.clone(),
    });
    let checkpoint_interval = archive.checkpoint_interval()?;
    let documents = blobs::DocumentStore::new(document_store, keyring.clone());
    let migrations = sqlx::migrate!("./migrations");
    let (db, _outbox, server) = department(NAME, &settings, listener, &deps, migrations).await?;
    app::audit::relink_plain_entries(
        &db,
        &keyring,
        &checkpoints,
        archive.audit_relink_plain_entries,
    )
    .await?;
    // rule ARC-6: contents of handed-over records kept in clear before are sealed now.
    let sealed = wuye_kit::sealed::SealedDb::new(db.clone(), keyring.clone())
        .seal_clear_values(&[store::retention::CONTENT])
        .await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "archives: sealed handed-over records stored in clear"
        );
    }
    let follower = Follower {
        consumer: MOVE_IN_CONSUMER,
        db: db.clone(),
        source: wuye_kit::follow::source(&settings, NAME, "customer-service")?,
        handler: move_ins::MoveIns {
            properties: deps.properties.clone(),
            clock: deps.clock.clone(),
        },
    };
    let gauges = metrics::count_gauges(
        db.clone(),
        deps.clock.clone(),
        deps.properties.clone(),
        GAUGES,
    );
    let checkpointing = app::audit::Checkpointing {
        db: db.clone(),
        keyring: keyring.clone(),
        clock: deps.clock.clone(),
        properties: deps.properties.clone(),
        checkpoints: checkpoints.clone(),
        interval: checkpoint_interval,
    };
    let every = std::time::Duration::from_millis(settings.jobs_interval_ms.max(10));
    let sealing = app::documents::seal_clear_documents(db.clone(), documents.clone());
    let archives = Archives {
        db,
        clock: deps.clock,
        properties: deps.properties,
        keyring,
        documents,
        checkpoints,
        max_document_bytes: archive.max_document_bytes,
    };
    Ok(server
        .add_service(HouseholdFileServiceServer::new(archives.clone()))
        .add_service(DocumentServiceServer::new(archives.clone()))
        .add_service(AccessServiceServer::new(archives.clone()))
        .add_service(AuditServiceServer::new(archives.clone()))
        .add_service(RetentionServiceServer::new(archives))
        .with_task(follower.run())
        .with_task(gauges)
        .with_task(app::audit::run_checkpoints(checkpointing, every))
        .with_task(sealing))
}
