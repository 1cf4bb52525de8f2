//! `wuye-gateway`: the gateway as its own process.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use wuye_gateway::GatewaySettings;

#[derive(Parser)]
#[command(
    name = "wuye-gateway",
    version,
    about = "wuye gateway: authentication, authorization and routing to the departments"
)]
struct Args {
    /// Settings file (TOML); `WUYE_GATEWAY__*` environment variables override it.
    #[arg(long, env = "WUYE_GATEWAY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings: GatewaySettings = wuye_kit::config::load("gateway", args.config.as_deref())?;
    let telemetry = wuye_kit::telemetry::init("gateway", &settings.telemetry)?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let result = match wuye_gateway::build(settings, listener).await {
        Ok(server) => server.run_until_stopped().await,
        Err(e) => Err(e),
    };
    telemetry.shutdown();
    result
}
