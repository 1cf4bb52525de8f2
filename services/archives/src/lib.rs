//! The 客户档案, the customer archives: household files, documents, access approvals, audit and retention.
//!
//! It runs with its own database, migrations, event stream, health and reflection; its
//! domain RPCs arrive with their issues.

use tokio::net::TcpListener;
use wuye_kit::{
    Deps, ServiceSettings,
    server::{Server, department},
};

pub const NAME: &str = "archives";
/// The port of the service's own binary.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50053";

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
