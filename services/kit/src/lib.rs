//! What every wuye service shares: configuration, telemetry, the database, server bootstrap,
//! errors and their mapping to gRPC status, the caller identity, the clock, request-id
//! idempotency, and the transactional outbox with its event stream.

pub mod calendar;
pub mod clock;
pub mod config;
pub mod db;
pub mod dev;
pub mod document;
pub mod error;
pub mod follow;
pub mod http;
pub mod http_routes;
pub mod idempotency;
pub mod identity;
pub mod message_size;
pub mod metrics;
pub mod oidc;
pub mod outbox;
pub mod page;
/// Personal data in answers: what a call may see in full, and the masks (see the contracts).
pub use wuye_proto::personal;
pub mod properties;
pub mod roles;
pub mod rpc;
pub mod scope;
pub mod seal;
pub mod sealed;
pub mod server;
pub mod staff;
pub mod telemetry;
pub mod time;
pub mod tls;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use error::{Error, Result, Violations};
pub use identity::IdentitySettings;

/// The settings every department service shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSettings {
    /// Development: keys left unset are the public development keys of deploy/dev-keys
    /// ([`dev`]), announced at start-up. Off, the service refuses to start without its own
    /// keys, or with a public one.
    pub dev: bool,
    /// Address the service's own binary listens on; empty means its default port.
    pub listen: String,
    /// The properties file read by every service.
    pub properties_file: PathBuf,
    pub database: db::DatabaseSettings,
    pub telemetry: telemetry::TelemetrySettings,
    pub identity: IdentitySettings,
    /// Addresses of the other departments whose events this one follows, by service name
    /// (such as `customer-service = "http://customer-service:50051"`).
    pub peers: std::collections::BTreeMap<String, String>,
    /// How often scheduled work runs (deadline sweeps, alerts), in milliseconds.
    pub jobs_interval_ms: u64,
    /// The keyring personal identifiers are sealed with at rest, for the services that store
    /// them (customer-service, archives): `id=<64 hex digits>` entries separated by commas;
    /// the first seals new values, every one opens what was sealed under its id. Rotation: put
    /// the new key first, keep the old ones while values are stored under them. In development
    /// it defaults to the public development keyring [`seal::DEV_KEYS`].
    pub encryption_keys: config::Secret,
    /// The largest message the service takes or gives, in bytes (at most tonic's 4 MiB).
    pub max_message_bytes: usize,
    /// TLS: this service's certificate and key, and the CA of the deployment ([`tls`]). When
    /// set, the service serves mutual TLS (clients need a certificate the CA signed) and its
    /// peers' addresses are `https://`. Off by default; all three files or none.
    pub tls: tls::TlsSettings,
    /// Address of a plaintext listener serving only the gRPC health service, for probes that
    /// cannot speak TLS (the kubelet's gRPC probes); empty: none.
    pub health_listen: String,
}

impl ServiceSettings {
    /// The keyring of `encryption_keys` (see [`seal`]); outside development it must be
    /// configured and hold no public development key.
    pub fn keyring(&self, service: &str) -> anyhow::Result<seal::Keyring> {
        seal::Keyring::configured(&self.encryption_keys, service, self.dev)
    }

    /// What verifies the identities of calls to `service` (see [`identity`]).
    pub fn verifier(&self, service: &str) -> anyhow::Result<identity::Verifier> {
        self.identity.verifier(service, self.dev)
    }

    /// What signs `service`'s own calls to other departments (see [`identity`]).
    pub fn signer(&self, service: &str) -> anyhow::Result<identity::Signer> {
        self.identity.signer(service, self.dev)
    }

    /// The address of the peer service `name`, which this service cannot run without. The key
    /// may also be spelled with `_` for `-` (`peers.customer_service`), as environment
    /// variable names in a shell cannot hold a dash.
    pub fn peer(&self, name: &str) -> anyhow::Result<&str> {
        let env_name = name.replace('-', "_");
        let found = self.peers.get(name).or_else(|| self.peers.get(&env_name));
        found
            .map(String::as_str)
            .ok_or_else(|| anyhow::anyhow!("peers.{name} is not configured: this service calls it"))
    }
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            dev: false,
            listen: String::new(),
            properties_file: PathBuf::from("deploy/properties.toml"),
            database: Default::default(),
            telemetry: Default::default(),
            identity: Default::default(),
            peers: Default::default(),
            jobs_interval_ms: 5_000,
            encryption_keys: config::Secret::default(),
            max_message_bytes: message_size::DEFAULT_MAX_MESSAGE_BYTES,
            tls: Default::default(),
            health_listen: String::new(),
        }
    }
}

/// What a service is built with besides its settings, injected so that tests control time
/// and the properties.
#[derive(Clone)]
pub struct Deps {
    pub clock: clock::SharedClock,
    pub properties: properties::Properties,
}

impl Deps {
    /// The system clock and the properties file of the settings.
    pub fn from_settings(settings: &ServiceSettings) -> anyhow::Result<Self> {
        Ok(Self {
            clock: std::sync::Arc::new(clock::SystemClock),
            properties: properties::Properties::load(&settings.properties_file)?,
        })
    }
}

/// The `main` of a department's own binary: settings from `--config FILE` (optional) and the
/// environment, telemetry, the listener, then `build` and serve until stopped.
pub fn run_service<F, Fut>(
    component: &'static str,
    default_listen: &str,
    build: F,
) -> anyhow::Result<()>
where
    F: FnOnce(ServiceSettings, tokio::net::TcpListener, Deps) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<server::Server>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--config" => Some(PathBuf::from(path)),
        _ => anyhow::bail!("usage: wuye-{component} [--config FILE]"),
    };
    let mut settings: ServiceSettings = config::load(component, file.as_deref())?;
    if settings.listen.is_empty() {
        settings.listen = default_listen.to_owned();
    }
    tokio::runtime::Runtime::new()?.block_on(async move {
        let telemetry = telemetry::init(component, &settings.telemetry)?;
        let listener = tokio::net::TcpListener::bind(&settings.listen).await?;
        let deps = Deps::from_settings(&settings)?;
        build(settings, listener, deps)
            .await?
            .run_until_stopped()
            .await?;
        telemetry.shutdown();
        Ok(())
    })
}

/// A protobuf enum field (an `i32` on the wire) as a domain enum: `None` when the number is not
/// of the enum, or its value has no domain meaning (`*_UNSPECIFIED`). `P` is the generated enum,
/// `D` the domain's, with `impl TryFrom<P> for D` in the department's conversions.
pub fn from_proto<P: TryFrom<i32>, D: TryFrom<P>>(value: i32) -> Option<D> {
    D::try_from(P::try_from(value).ok()?).ok()
}

/// The conversions between a domain enum and its protobuf enum, variant by variant, for the
/// departments' `convert` modules: `From<Domain>` for the protobuf enum and, with `<=>`,
/// `TryFrom<Proto>` for the domain enum, whose values without a domain meaning
/// (`*_UNSPECIFIED`) are `Err(())`. Variants are named alike, or paired `Domain = Proto`.
#[macro_export]
macro_rules! enum_conversions {
    ($domain:ident <=> $proto:ty { $($d:ident = $p:ident),+ $(,)? }) => {
        $crate::enum_conversions!($domain => $proto { $($d = $p),+ });
        impl TryFrom<$proto> for $domain {
            type Error = ();
            fn try_from(value: $proto) -> Result<Self, ()> {
                match value {
                    $(<$proto>::$p => Ok($domain::$d),)+
                    #[allow(unreachable_patterns)]
                    _ => Err(()),
                }
            }
        }
    };
    ($domain:ident => $proto:ty { $($d:ident = $p:ident),+ $(,)? }) => {
        impl From<$domain> for $proto {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$d => <$proto>::$p,)+
                }
            }
        }
    };
    ($domain:ident <=> $proto:ty { $($v:ident),+ $(,)? }) => {
        $crate::enum_conversions!($domain <=> $proto { $($v = $v),+ });
    };
    ($domain:ident => $proto:ty { $($v:ident),+ $(,)? }) => {
        $crate::enum_conversions!($domain => $proto { $($v = $v),+ });
    };
}

/// Gives a domain enum the text codes it is stored under: `code()` and `from_code()`.
#[macro_export]
macro_rules! text_codes {
    ($ty:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $ty {
            /// The code stored in the database.
            pub fn code(self) -> &'static str {
                match self { $($ty::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($ty::$variant),)+ _ => None }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_loads() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/service.example.toml");
        let settings: ServiceSettings = config::load("example", Some(&file)).unwrap();
        assert_eq!(settings.database.max_connections, 16);
        assert!(settings.dev, "the example runs in development");
        assert!(settings.verifier("archives").is_ok());
        assert_eq!(settings.keyring("example").unwrap().current_key_id(), "dev");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn keys_come_from_the_environment_and_development_is_explicit() {
        let production = ServiceSettings::default();
        assert!(!production.dev, "development is never the default");
        let err = production
            .keyring("customer-service")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WUYE_CUSTOMER_SERVICE__ENCRYPTION_KEYS"),
            "{err}"
        );
        let development = ServiceSettings {
            dev: true,
            ..ServiceSettings::default()
        };
        assert_eq!(development.keyring("test").unwrap().current_key_id(), "dev");
        figment::Jail::expect_with(|jail| {
            let key = format!("k2={}", "ab".repeat(32));
            jail.set_env("WUYE_CUSTOMER_SERVICE__ENCRYPTION_KEYS", &key);
            let s: ServiceSettings = config::load("customer-service", None).unwrap();
            assert_eq!(
                s.keyring("customer-service").unwrap().current_key_id(),
                "k2"
            );
            // The public keyring among real keys is refused outside development.
            jail.set_env(
                "WUYE_CUSTOMER_SERVICE__ENCRYPTION_KEYS",
                format!("{key},old={}", &seal::DEV_KEYS[4..]),
            );
            let s: ServiceSettings = config::load("customer-service", None).unwrap();
            let err = s.keyring("customer-service").unwrap_err().to_string();
            assert!(err.contains("public development key"), "{err}");
            jail.set_env("WUYE_CUSTOMER_SERVICE__DEV", "true");
            let s: ServiceSettings = config::load("customer-service", None).unwrap();
            assert!(s.keyring("customer-service").is_ok());
            jail.set_env("WUYE_CUSTOMER_SERVICE__ENCRYPTION_KEYS", "k2=00");
            let s: ServiceSettings = config::load("customer-service", None).unwrap();
            assert!(
                s.keyring("customer-service").is_err(),
                "a bad keyring stops the start"
            );
            Ok(())
        });
    }
}
