//! The staff directory (员工名录): the people who work for the company and the posts (岗位)
//! they hold, a role of DOMAIN.md "Who is who" at a property or at headquarters. The gateway
//! signs people in through it (their current posts are their roles and properties), and the
//! departments check with it the staff their requests name. Its administrators keep it; its
//! events tell who follows it of people and posts.

mod app;
mod convert;
pub mod domain;
mod grpc;
mod store;

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    clock::SharedClock,
    outbox::Outbox,
    properties::Properties,
    server::{Server, department},
};
use wuye_proto::directory::{
    directory_service_server::DirectoryServiceServer,
    staff_lookup_service_server::StaffLookupServiceServer,
};

pub const NAME: &str = "directory";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50055";

/// The directory's state, shared by its gRPC services.
#[derive(Clone)]
pub struct Directory {
    /// The database, with the keyring phone numbers are sealed with.
    db: store::Store,
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
    // Staff phones are personal data, sealed at rest like the customers' (ARC-6).
    let db = store::Store::new(db, settings.keyring(NAME)?);
    let directory = Directory {
        db,
        outbox,
        clock: deps.clock,
        properties: deps.properties,
    };
    Ok(server
        .add_service(DirectoryServiceServer::new(directory.clone()))
        .add_service(StaffLookupServiceServer::new(directory)))
}
