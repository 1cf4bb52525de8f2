//! What every wuye service shares: configuration, telemetry, the database, server bootstrap,
//! errors and their mapping to gRPC status, the caller identity, the clock, request-id
//! idempotency, and the transactional outbox with its event stream.

pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod identity;
pub mod outbox;
pub mod page;
pub mod properties;
pub mod server;
pub mod telemetry;
pub mod time;

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

pub use error::{Error, Result, Violations};

/// The development key for internal identities. Never use it in production: set
/// `identity.internal_key` (`WUYE_<COMPONENT>__IDENTITY__INTERNAL_KEY`).
pub const DEV_INTERNAL_KEY: &str = "wuye-development-internal-key-do-not-use-in-production";

/// The settings every department service shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSettings {
    /// Address the service listens on.
    pub listen: String,
    /// The properties file read by every service.
    pub properties_file: PathBuf,
    pub database: db::DatabaseSettings,
    pub telemetry: telemetry::TelemetrySettings,
    pub identity: IdentitySettings,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            properties_file: PathBuf::from("deploy/properties.toml"),
            database: Default::default(),
            telemetry: Default::default(),
            identity: Default::default(),
        }
    }
}

/// The internal identity shared by the gateway and the services.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentitySettings {
    /// HS256 key of internal identities, at least 32 bytes.
    pub internal_key: config::Secret,
    /// How long an internal identity is valid, in seconds.
    pub ttl_secs: u64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            internal_key: config::Secret::new(DEV_INTERNAL_KEY),
            ttl_secs: 60,
        }
    }
}

impl IdentitySettings {
    pub fn key(&self) -> anyhow::Result<identity::InternalKey> {
        identity::InternalKey::new(&self.internal_key, Duration::from_secs(self.ttl_secs))
    }
}
