//! The `wuye` package: the all-in-one launcher and the command-line client. Its library part
//! lists the departments once, for `wuye up` and the test harness alike.

use tokio::net::TcpListener;
use wuye_kit::{Deps, ServiceSettings, server::Server};

/// Every department service: the protobuf package the gateway routes to it, and its name.
pub const DEPARTMENTS: [(&str, &str); 4] = [
    ("wuye.customerservice.v1", wuye_customer_service::NAME),
    ("wuye.engineering.v1", wuye_engineering::NAME),
    ("wuye.archives.v1", wuye_archives::NAME),
    ("wuye.quality.v1", wuye_quality::NAME),
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
        other => anyhow::bail!("no department is called {other}"),
    }
}
