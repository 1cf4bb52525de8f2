//! Where and as whom a connection calls.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use wuye_kit::identity::{Caller, PROPERTY_HEADER, Signer};

use crate::{Connection, connection::Transport, retry::Policy};

/// What a connection is: the address (`http://…` or `https://…`) and how its calls identify
/// themselves. A user's calls go through the gateway with a bearer token; a test's may go
/// straight to a department, signed with an internal identity as the gateway signs them.
#[derive(Clone, Default)]
pub struct Config {
    pub address: String,
    /// The bearer token (`authorization: Bearer …`).
    pub token: Option<String>,
    /// The property of the call (`x-wuye-property`).
    pub property: Option<String>,
    /// TLS for an `https://` address: the CA to trust, a client certificate, the name to check.
    pub tls: Option<ClientTlsConfig>,
    /// Calls signed as a wuye component, for a department.
    pub identity: Option<Identity>,
    /// More metadata, appended as it is (a test sending what a client should not).
    pub metadata: Vec<(String, String)>,
    pub retry: Policy,
}

/// Calls signed by `signer` for the department `audience`, as `caller` (none: as the signer's
/// component itself).
#[derive(Clone)]
pub struct Identity {
    pub signer: Signer,
    pub audience: String,
    pub caller: Option<Caller>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad address {address}: {source}")]
    Address {
        address: String,
        source: tonic::transport::Error,
    },
    #[error("an https:// address needs TLS settings (a CA certificate): {0}")]
    NoTls(String),
    #[error("the {0} is not valid metadata")]
    Metadata(&'static str),
    #[error("cannot reach {address}")]
    Unreachable {
        address: String,
        #[source]
        source: tonic::transport::Error,
    },
}

impl Config {
    /// A connection to `address`, retrying with the default [`Policy`].
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            ..Self::default()
        }
    }

    /// A plaintext connection to `addr`.
    pub fn to(addr: SocketAddr) -> Self {
        Self::new(format!("http://{addr}"))
    }

    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    /// TLS trusting the CA certificate `pem`.
    pub fn ca_pem(self, pem: impl AsRef<[u8]>) -> Self {
        self.tls(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
    }

    pub fn tls(mut self, tls: ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Calls signed by `signer` for `audience`, as `caller` or as the signer itself.
    pub fn signed(mut self, signer: Signer, audience: &str, caller: Option<Caller>) -> Self {
        self.identity = Some(Identity {
            signer,
            audience: audience.to_owned(),
            caller,
        });
        self
    }

    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn retry(mut self, policy: Policy) -> Self {
        self.retry = policy;
        self
    }

    fn endpoint(&self) -> Result<Endpoint, Error> {
        let endpoint =
            Endpoint::from_shared(self.address.clone()).map_err(|source| Error::Address {
                address: self.address.clone(),
                source,
            })?;
        if endpoint.uri().scheme_str() != Some("https") {
            return Ok(endpoint);
        }
        let tls = self
            .tls
            .clone()
            .ok_or_else(|| Error::NoTls(self.address.clone()))?;
        endpoint.tls_config(tls).map_err(|source| Error::Address {
            address: self.address.clone(),
            source,
        })
    }

    /// A bare channel that connects on its first call (health checks, reflection).
    pub fn lazy_channel(&self) -> Result<Channel, Error> {
        Ok(self.endpoint()?.connect_lazy())
    }

    /// A bare channel, connected now.
    pub async fn channel(&self) -> Result<Channel, Error> {
        self.endpoint()?
            .connect()
            .await
            .map_err(|source| Error::Unreachable {
                address: self.address.clone(),
                source,
            })
    }

    /// The connection, connecting on its first call.
    pub fn lazy(&self) -> Result<Connection, Error> {
        self.over(self.lazy_channel()?)
    }

    /// The connection, connected now: an unreachable address is an error here.
    pub async fn connect(&self) -> Result<Connection, Error> {
        self.over(self.channel().await?)
    }

    /// This configuration's calls over `channel`.
    pub fn over(&self, channel: Channel) -> Result<Connection, Error> {
        let mut metadata = HeaderMap::new();
        if let Some(token) = &self.token {
            let value = HeaderValue::try_from(format!("Bearer {token}"))
                .map_err(|_| Error::Metadata("token"))?;
            metadata.insert(http::header::AUTHORIZATION, value);
        }
        let caller = self.identity.as_ref().and_then(|i| i.caller.clone());
        let property =
            (self.property.as_ref()).or(caller.as_ref().and_then(|c| c.property.as_ref()));
        if let Some(property) = property {
            let value = HeaderValue::try_from(property).map_err(|_| Error::Metadata("property"))?;
            metadata.insert(PROPERTY_HEADER, value);
        }
        for (key, value) in &self.metadata {
            let key = HeaderName::try_from(key).map_err(|_| Error::Metadata("metadata key"))?;
            let value = HeaderValue::try_from(value).map_err(|_| Error::Metadata("metadata"))?;
            metadata.append(key, value);
        }
        let transport = match &self.identity {
            Some(identity) => {
                Transport::Signed(identity.signer.channel(channel, &identity.audience))
            }
            None => Transport::Plain(channel),
        };
        Ok(Connection::new(transport, metadata, caller, self.retry))
    }
}
