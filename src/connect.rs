//! Calling the gateway as a user: the address, the bearer token and the property of the call,
//! as the command line gives them; the connection itself is wuye-client's.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Where and as whom a client command calls.
#[derive(Args)]
pub struct Target {
    /// The gateway's address.
    #[arg(
        long,
        env = "WUYE_GATEWAY",
        default_value = "http://127.0.0.1:50050",
        global = true
    )]
    pub gateway: String,
    /// A bearer token (`wuye token`).
    #[arg(long, env = "WUYE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// The property the call works on.
    #[arg(
        long,
        env = "WUYE_PROPERTY",
        default_value = "sunshine-garden",
        global = true
    )]
    pub property: String,
    /// The CA certificate (PEM) the gateway's TLS certificate is checked against, for an
    /// `https://` gateway.
    #[arg(long, env = "WUYE_GATEWAY_CA", global = true)]
    pub ca: Option<PathBuf>,
}

/// A connection to the gateway, as every generated client takes it.
pub type Authed = wuye_client::Connection;

impl Target {
    /// The client configuration of this target (retrying with the default policy).
    pub fn config(&self) -> anyhow::Result<wuye_client::Config> {
        let mut config = wuye_client::Config::new(&self.gateway).property(&self.property);
        config.token = self.token.clone();
        if self.gateway.starts_with("https://") {
            let ca = self.ca.as_ref().context(
                "an https:// gateway needs its CA certificate: --ca FILE or WUYE_GATEWAY_CA",
            )?;
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            config = config.ca_pem(pem);
        }
        Ok(config)
    }

    /// A connection to the gateway, connected now.
    pub async fn channel(&self) -> anyhow::Result<Authed> {
        connect(&self.config()?).await
    }
}

/// A connection to the gateway of `config`, connected now.
pub async fn connect(config: &wuye_client::Config) -> anyhow::Result<Authed> {
    match config.connect().await {
        Ok(connection) => Ok(connection),
        Err(wuye_client::Error::Unreachable { address, source }) => {
            Err(anyhow::Error::new(source)
                .context(format!("cannot reach the gateway at {address}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes a call and turns a refusal into a readable error, with the reason of the rule
/// (`Code: message [REASON]`, [`wuye_client::describe`]).
pub async fn call<T>(
    response: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> anyhow::Result<T> {
    Ok(wuye_client::call(response).await?)
}
