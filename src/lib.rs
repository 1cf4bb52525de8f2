//! The `wuye` package: the all-in-one launcher and the command-line client. Its library part
//! lists the departments once, for `wuye up` and the test harness alike.

pub mod connect;
pub mod demo;

use tokio::net::TcpListener;
use wuye_kit::{Deps, ServiceSettings, server::Server};

/// Every department service: the protobuf package the gateway routes to it, and its name.
pub const DEPARTMENTS: [(&str, &str); 5] = [
    ("wuye.customerservice.v1", wuye_customer_service::NAME),
    ("wuye.engineering.v1", wuye_engineering::NAME),
    ("wuye.archives.v1", wuye_archives::NAME),
    ("wuye.quality.v1", wuye_quality::NAME),
    ("wuye.directory.v1", wuye_directory::NAME),
];

/// Builds the department called `name` (one of [`DEPARTMENTS`]) on `listener`.
pub async fn build_department(
    name: &str,
    settings: ServiceSettings,
    listener: TcpListener,
    deps: Deps,
) -> anyhow::Result<Server> {
    match name {
        wuye_customer_service::NAME => wuye_customer_service::build(settings, listener, deps).await,
        wuye_engineering::NAME => wuye_engineering::build(settings, listener, deps).await,
        wuye_archives::NAME => wuye_archives::build(settings, listener, deps).await,
        wuye_quality::NAME => wuye_quality::build(settings, listener, deps).await,
        wuye_directory::NAME => wuye_directory::build(settings, listener, deps).await,
        other => anyhow::bail!("no department is called {other}"),
    }
}

/// A department built on a local port, ready to run.
pub struct Department {
    /// The protobuf package the gateway routes to it.
    pub package: &'static str,
    pub name: &'static str,
    pub address: std::net::SocketAddr,
    pub server: Server,
}

/// Builds every department on a port of 127.0.0.1 of its own, each knowing the others as its
/// peers (whose events it may follow). `settings` gives each department's settings by name.
pub async fn build_departments(
    settings: impl Fn(&str) -> ServiceSettings,
    deps: &Deps,
) -> anyhow::Result<Vec<Department>> {
    let mut listeners = Vec::new();
    for (package, name) in DEPARTMENTS {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        listeners.push((package, name, listener.local_addr()?, listener));
    }
    let peers: std::collections::BTreeMap<String, String> = listeners
        .iter()
        .map(|(_, name, address, _)| (name.to_string(), format!("http://{address}")))
        .collect();
    let mut departments = Vec::new();
    for (package, name, address, listener) in listeners {
        let mut settings = settings(name);
        settings.peers = peers.clone();
        let server = build_department(name, settings, listener, deps.clone()).await?;
        departments.push(Department {
            package,
            name,
            address,
            server,
        });
    }
    Ok(departments)
}
