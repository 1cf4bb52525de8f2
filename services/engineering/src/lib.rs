//! The 工程管理部, the engineering management department: duty roster, shift handover,
//! inspections, equipment and repair work orders.

pub mod domain;

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    server::{Server, department},
};

pub const NAME: &str = "engineering";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50052";

/// Opens the database (migrating it) and assembles the server on `listener`.
pub async fn build(
    settings: ServiceSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    let migrations = sqlx::migrate!("./migrations");
    let (_db, _outbox, server) = department(NAME, &settings, listener, &deps, migrations).await?;
    Ok(server)
}
