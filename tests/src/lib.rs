//! The end-to-end harness: starts every service and the gateway in-process on port 0, each
//! with fresh databases on the chosen backend, and hands out clients that call through the
//! gateway with a token of a given role and property.
//!
//! PostgreSQL tests need `WUYE_TEST_POSTGRES_URL` (a server URL without database, such as
//! `postgres://postgres@127.0.0.1:55432`); `.ci/run` starts a throwaway server and sets it.
//! `TEST_LOG=1` shows the services' logs.

use std::{net::SocketAddr, path::PathBuf, sync::Once, time::Duration};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Connection;
use tokio::{net::TcpListener, sync::watch};
use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use wuye_kit::{
    Deps, ServiceSettings, clock::ManualClock, config::Secret, identity::PROPERTY_HEADER,
    properties::Properties, server::Server,
};

pub use wuye_proto as proto;

/// The property most tests work on, from `deploy/properties.toml`.
pub const PROPERTY: &str = "sunshine-garden";
/// A second property of the same deployment.
pub const OTHER_PROPERTY: &str = "riverside";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario once per backend: `both_backends!(scenario_a, scenario_b);` makes
/// `sqlite::scenario_a`, `postgres::scenario_a`, … from `async fn scenario_a(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )+
        }
    };
}

/// The root of the repository, for `deploy/` files.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running wuye stack; stops when dropped.
pub struct Stack {
    pub gateway: SocketAddr,
    pub customer_service: SocketAddr,
    pub engineering: SocketAddr,
    pub archives: SocketAddr,
    pub quality: SocketAddr,
    pub clock: ManualClock,
    pub backend: Backend,
    stop: watch::Sender<bool>,
    data_dir: PathBuf,
}

/// 2026-11-27 09:00 in Shanghai, a Friday: where the test clock starts.
pub fn start_time() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// The properties of `deploy/properties.toml`, as a stack starts with them by default.
pub fn deploy_properties() -> Properties {
    Properties::load(&repo_root().join("deploy/properties.toml")).expect("properties")
}

impl Stack {
    pub async fn start(backend: Backend) -> Stack {
        Self::start_with(backend, deploy_properties()).await
    }

    /// A stack serving `properties` (tests that change a property's rules).
    pub async fn start_with(backend: Backend, properties: Properties) -> Stack {
        init_test_log();
        let clock = ManualClock::new(start_time());
        let deps = Deps {
            clock: std::sync::Arc::new(clock.clone()),
            properties,
        };
        let data_dir = std::env::temp_dir().join(format!("wuye-test-{}", uuid::Uuid::now_v7()));
        let (stop, _) = watch::channel(false);

        let mut settings = std::collections::HashMap::new();
        for (_, service) in wuye::DEPARTMENTS {
            settings.insert(service, service_settings(backend, service, &data_dir).await);
        }
        let departments = wuye::build_departments(|name| settings[name].clone(), &deps)
            .await
            .expect("departments build");
        let mut gateway_settings = gateway_settings();
        let mut addrs = Vec::new();
        for department in departments {
            addrs.push(department.address);
            gateway_settings.upstreams.insert(
                department.package.into(),
                format!("http://{}", department.address),
            );
            spawn(department.server, &stop);
        }

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = listener.local_addr().unwrap();
        let gateway_server = wuye_gateway::build(gateway_settings, listener)
            .await
            .expect("gateway builds");
        spawn(gateway_server, &stop);

        Stack {
            gateway,
            customer_service: addrs[0],
            engineering: addrs[1],
            archives: addrs[2],
            quality: addrs[3],
            clock,
            backend,
            stop,
            data_dir,
        }
    }

    /// A channel to the gateway.
    pub fn channel(&self) -> Channel {
        channel(self.gateway)
    }

    /// A development token of `role` scoped to `properties`.
    pub fn token(&self, role: &str, properties: &[&str]) -> String {
        let properties: Vec<String> = properties.iter().map(|p| p.to_string()).collect();
        wuye_gateway::sign_dev_token(
            role,
            &properties,
            &format!("{role}-1"),
            "测试员",
            Duration::from_secs(3600),
        )
        .expect("dev token")
    }

    /// A channel to the gateway that calls as `role` of `property`.
    pub fn as_role(&self, role: &str, property: &str) -> Authed {
        InterceptedService::new(
            self.channel(),
            Auth {
                token: Some(self.token(role, &[property])),
                property: Some(property.to_owned()),
            },
        )
    }

    pub fn complaints(&self, role: &str) -> ComplaintClient {
        proto::customerservice::complaint_service_client::ComplaintServiceClient::new(
            self.as_role(role, PROPERTY),
        )
    }

    pub fn households(&self, role: &str) -> HouseholdClient {
        proto::customerservice::household_service_client::HouseholdServiceClient::new(
            self.as_role(role, PROPERTY),
        )
    }

    /// A client of a department's own event stream, with an internal identity as a peer
    /// service would have.
    pub fn events(&self, service: SocketAddr) -> EventClient {
        let identity = wuye_kit::IdentitySettings::default()
            .key()
            .unwrap()
            .sign(&wuye_kit::identity::Caller::service("tests"))
            .unwrap();
        let auth = Identity(identity.parse().unwrap());
        proto::events::event_service_client::EventServiceClient::new(InterceptedService::new(
            channel(service),
            auth,
        ))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub type Authed = InterceptedService<Channel, Auth>;
pub type EventClient =
    proto::events::event_service_client::EventServiceClient<InterceptedService<Channel, Identity>>;

/// Adds an internal identity, as the gateway or a peer service does.
#[derive(Clone)]
pub struct Identity(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Identity {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(wuye_kit::identity::IDENTITY_HEADER, self.0.clone());
        Ok(request)
    }
}
pub type ComplaintClient =
    proto::customerservice::complaint_service_client::ComplaintServiceClient<Authed>;
pub type HouseholdClient =
    proto::customerservice::household_service_client::HouseholdServiceClient<Authed>;

/// Adds a bearer token and the property of the call to every request.
#[derive(Clone, Default)]
pub struct Auth {
    pub token: Option<String>,
    pub property: Option<String>,
}

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.token {
            let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        if let Some(property) = &self.property {
            request.metadata_mut().insert(
                PROPERTY_HEADER,
                MetadataValue::try_from(property.as_str()).unwrap(),
            );
        }
        Ok(request)
    }
}

pub fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

fn spawn(server: Server, stop: &watch::Sender<bool>) {
    let mut stop = stop.subscribe();
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = server.run_until(stopped).await {
            eprintln!("server stopped with an error: {e:#}");
        }
    });
}

async fn service_settings(
    backend: Backend,
    service: &str,
    data_dir: &std::path::Path,
) -> ServiceSettings {
    let mut settings = ServiceSettings::default();
    settings.database.data_dir = data_dir.to_owned();
    settings.database.max_connections = 8;
    settings.jobs_interval_ms = 50;
    if backend == Backend::Postgres {
        settings.database.url = Secret::new(fresh_postgres_database(service).await);
    }
    settings
}

/// Gateway settings with the repository's policy; the tests fill in the upstreams.
pub fn gateway_settings() -> wuye_gateway::GatewaySettings {
    wuye_gateway::GatewaySettings {
        policy_file: repo_root().join("deploy/policy.toml"),
        upstreams: Default::default(),
        ..Default::default()
    }
}

/// The PostgreSQL server of the test run.
pub fn postgres_url() -> String {
    std::env::var("WUYE_TEST_POSTGRES_URL").expect(
        "WUYE_TEST_POSTGRES_URL is not set: run the suite with `bash .ci/run`, which starts a \
         throwaway PostgreSQL server, or point it at one (postgres://user@host:port)",
    )
}

/// Creates an empty database for one service of one test and returns its URL.
pub async fn fresh_postgres_database(service: &str) -> String {
    let base = postgres_url();
    let name = format!(
        "wuye_{}_{}",
        service.replace('-', "_"),
        uuid::Uuid::now_v7().simple()
    );
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    format!("{base}/{name}")
}

fn init_test_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let settings = wuye_kit::telemetry::TelemetrySettings {
                log_filter: "debug,h2=info,hyper=info,tower=info,sqlx=warn".into(),
                ..Default::default()
            };
            let _guard = wuye_kit::telemetry::init("tests", &settings);
        }
    });
}

/// The directory of the stack's SQLite files and local document store.
pub fn data_dir(stack: &Stack) -> &std::path::Path {
    &stack.data_dir
}

/// The URL of `service`'s database in `stack`. On PostgreSQL each test creates fresh
/// databases, so the stack's is the one where `probe` (a query taking `marker` as `$1`)
/// finds a row.
pub async fn database_url(
    stack: &Stack,
    service: &str,
    probe: &'static str,
    marker: &str,
) -> String {
    if stack.backend == Backend::Sqlite {
        let file = stack.data_dir.join(format!("{service}.db"));
        return format!("sqlite://{}", file.display());
    }
    let base = postgres_url();
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect to the test PostgreSQL server");
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname DESC",
    )
    .bind(format!("wuye_{}_%", service.replace('-', "_")))
    .fetch_all(&mut admin)
    .await
    .expect("list test databases");
    admin.close().await.ok();
    for (name,) in names {
        let url = format!("{base}/{name}");
        let Ok(mut conn) = sqlx::PgConnection::connect(&url).await else {
            continue;
        };
        let found = sqlx::query(probe)
            .bind(marker)
            .fetch_optional(&mut conn)
            .await
            .ok()
            .flatten()
            .is_some();
        conn.close().await.ok();
        if found {
            return url;
        }
    }
    panic!("no {service} database of this test holds {marker}");
}

impl Stack {
    /// A channel to the gateway that calls as the person `user_id` (named `name`) with `role`
    /// of `property`: for scenarios where who acts matters, such as a shift handover.
    pub fn as_user(&self, role: &str, user_id: &str, name: &str, property: &str) -> Authed {
        let token = wuye_gateway::sign_dev_token(
            role,
            &[property.to_owned()],
            user_id,
            name,
            Duration::from_secs(3600),
        )
        .expect("dev token");
        InterceptedService::new(
            self.channel(),
            Auth {
                token: Some(token),
                property: Some(property.to_owned()),
            },
        )
    }
}

pub type KeyClient = proto::customerservice::key_service_client::KeyServiceClient<Authed>;

impl Stack {
    /// The key custody desk as `role` of the test property.
    pub fn keys(&self, role: &str) -> KeyClient {
        proto::customerservice::key_service_client::KeyServiceClient::new(
            self.as_role(role, PROPERTY),
        )
    }

    /// The key custody desk as the person `user_id` (named `name`) with `role`: for figures
    /// per staff member.
    pub fn keys_as(&self, role: &str, user_id: &str, name: &str) -> KeyClient {
        proto::customerservice::key_service_client::KeyServiceClient::new(
            self.as_user(role, user_id, name, PROPERTY),
        )
    }
}
