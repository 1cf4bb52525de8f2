//! Calling the gateway as a user: the address, the bearer token and the property of the call.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig},
};
use wuye_kit::identity::PROPERTY_HEADER;

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

#[derive(Clone)]
pub struct Bearer {
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
    property: MetadataValue<tonic::metadata::Ascii>,
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        request
            .metadata_mut()
            .insert(PROPERTY_HEADER, self.property.clone());
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

impl Target {
    pub async fn channel(&self) -> anyhow::Result<Authed> {
        let mut endpoint = Channel::from_shared(self.gateway.clone())?;
        if self.gateway.starts_with("https://") {
            let ca = self.ca.as_ref().context(
                "an https:// gateway needs its CA certificate: --ca FILE or WUYE_GATEWAY_CA",
            )?;
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the gateway at {}", self.gateway))?;
        let bearer = Bearer {
            token: self
                .token
                .as_ref()
                .map(|t| format!("Bearer {t}").parse())
                .transpose()
                .context("the token is not valid metadata")?,
            property: self
                .property
                .parse()
                .context("the property is not valid metadata")?,
        };
        Ok(InterceptedService::new(channel, bearer))
    }
}

/// Makes a call and turns a refusal into a readable error, with the reason of the rule.
pub async fn call<T>(
    response: impl std::future::Future<Output = Result<tonic::Response<T>, Status>>,
) -> anyhow::Result<T> {
    use tonic_types::StatusExt;
    match response.await {
        Ok(r) => Ok(r.into_inner()),
        Err(status) => {
            let mut message = format!("{:?}: {}", status.code(), status.message());
            if let Some(info) = status.get_details_error_info() {
                message.push_str(&format!(" [{}]", info.reason));
            }
            anyhow::bail!(message)
        }
    }
}
