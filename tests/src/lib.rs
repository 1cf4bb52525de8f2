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
use tonic::transport::Channel;
use wuye_client::{Config, Policy};
use wuye_kit::{
    Deps, ServiceSettings,
    clock::ManualClock,
    config::Secret,
    identity::{Caller, Signer},
    properties::Properties,
    server::Server,
};

pub use wuye_proto as proto;

pub mod gateway_oidc;
pub mod keys;
pub mod oidc;
pub mod process;

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
    pub directory: SocketAddr,
    pub clock: ManualClock,
    pub backend: Backend,
    stop: watch::Sender<bool>,
    data_dir: PathBuf,
    running: Running,
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
        Self::start_configured(backend, properties, |_| {}).await
    }

    /// A stack whose departments' settings `configure` adjusts after the tests' own (the
    /// benchmarks restore the production defaults).
    pub async fn start_configured(
        backend: Backend,
        properties: Properties,
        configure: impl Fn(&mut ServiceSettings),
    ) -> Stack {
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
            let mut own = service_settings(backend, service, &data_dir).await;
            configure(&mut own);
            settings.insert(service, own);
        }
        let departments = wuye::build_departments(|name| settings[name].clone(), &deps)
            .await
            .expect("departments build");
        let mut gateway_settings = gateway_settings();
        let mut addrs = Vec::new();
        let mut running = Vec::new();
        for department in departments {
            addrs.push(department.address);
            gateway_settings.upstreams.insert(
                department.package.into(),
                format!("http://{}", department.address),
            );
            let (own_stop, task) = spawn_department(department.server, &stop);
            running.push((department.name, department.address, own_stop, task));
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
            directory: addrs[4],
            clock,
            backend,
            stop,
            data_dir,
            running: Running {
                deps,
                settings,
                departments: tokio::sync::Mutex::new(running),
            },
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
        self.authed(Some(self.token(role, &[property])), Some(property))
    }

    /// A channel to the gateway with this bearer token (none: no `authorization`) and
    /// property (none: no property header).
    pub fn authed(&self, token: Option<String>, property: Option<&str>) -> Authed {
        authed(self.gateway, token, property)
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

    /// A client of the event stream of `department` (a service name such as
    /// "customer-service"), calling as a peer department does: signed with a peer's own
    /// development key.
    pub fn events(&self, department: &str) -> EventClient {
        let source = config(self.address(department))
            .signed(self.signer("quality"), department, None)
            .lazy()
            .expect("a connection");
        proto::events::event_service_client::EventServiceClient::new(source)
    }

    /// The development signer of the component `name` ("gateway", a department).
    pub fn signer(&self, name: &str) -> Signer {
        wuye_kit::IdentitySettings::default()
            .signer(name, true)
            .expect("a development key")
    }

    /// A channel straight to `department`, each call signed by the gateway's development key
    /// as `caller`, as the gateway forwards calls.
    pub fn as_gateway(&self, department: &str, caller: Caller) -> AsGateway {
        config(self.address(department))
            .signed(
                self.signer(wuye_kit::identity::GATEWAY),
                department,
                Some(caller),
            )
            .lazy()
            .expect("a connection")
    }

    /// The address of the department `name`.
    pub fn address(&self, name: &str) -> SocketAddr {
        match name {
            "customer-service" => self.customer_service,
            "engineering" => self.engineering,
            "archives" => self.archives,
            "quality" => self.quality,
            "directory" => self.directory,
            other => panic!("no department is called {other}"),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub type AsGateway = wuye_client::Connection;
pub type Authed = wuye_client::Connection;
pub type EventClient =
    proto::events::event_service_client::EventServiceClient<wuye_client::Connection>;
pub type ComplaintClient =
    proto::customerservice::complaint_service_client::ComplaintServiceClient<Authed>;
pub type HouseholdClient =
    proto::customerservice::household_service_client::HouseholdServiceClient<Authed>;

/// The client configuration of calls to `addr`, plaintext: the tests' calls are never sent
/// again (what a test checks is what the services answer to one call).
pub fn config(addr: SocketAddr) -> Config {
    Config::to(addr).retry(Policy::none())
}

/// A connection to `addr` with this bearer token and property (none: without the header).
pub fn authed(addr: SocketAddr, token: Option<String>, property: Option<&str>) -> Authed {
    let mut config = config(addr);
    config.token = token;
    config.property = property.map(str::to_owned);
    config.lazy().expect("a connection")
}

/// A bare channel to `addr` (health checks, reflection, raw calls).
pub fn channel(addr: SocketAddr) -> Channel {
    config(addr).lazy_channel().expect("a channel")
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
    let mut settings = ServiceSettings {
        // The harness runs on the public development keys.
        dev: true,
        ..ServiceSettings::default()
    };
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
    let mut settings = wuye_gateway::GatewaySettings {
        dev: true,
        policy_file: repo_root().join("deploy/policy.toml"),
        upstreams: Default::default(),
        ..Default::default()
    };
    // The escalation relay is off unless a test runs a gateway of its own with it (see
    // `Stack::relay_gateway`): scenarios that record the quality department's handling by
    // hand would race it.
    settings.relay.enabled = false;
    settings.relay.properties_file = repo_root().join("deploy/properties.toml");
    settings
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

impl Stack {
    /// The URL of `service`'s database in this stack.
    pub fn database(&self, service: &str) -> String {
        let url = &self.running.settings[service].database.url;
        if url.is_empty() {
            let file = self.data_dir.join(format!("{service}.db"));
            return format!("sqlite://{}", file.display());
        }
        url.expose().to_owned()
    }
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
        self.authed(Some(token), Some(property))
    }
}

pub type DirectoryClient =
    proto::directory::directory_service_client::DirectoryServiceClient<Authed>;
pub type StaffLookupClient =
    proto::directory::staff_lookup_service_client::StaffLookupServiceClient<AsGateway>;

impl Stack {
    /// A channel to the gateway as an administrator (a script token of role admin), without a
    /// property: the directory's calls span the company.
    pub fn admin(&self) -> Authed {
        self.authed(Some(self.token("admin", &[])), None)
    }

    /// The staff directory as an administrator.
    pub fn directory_admin(&self) -> DirectoryClient {
        proto::directory::directory_service_client::DirectoryServiceClient::new(self.admin())
    }

    /// The staff directory as `role` of `property`.
    pub fn directory(&self, role: &str, property: &str) -> DirectoryClient {
        proto::directory::directory_service_client::DirectoryServiceClient::new(
            self.as_role(role, property),
        )
    }

    /// The directory's lookups straight at the service, signed by the gateway's development
    /// key as the gateway itself (as it signs people in).
    pub fn staff_lookup(&self) -> StaffLookupClient {
        proto::directory::staff_lookup_service_client::StaffLookupServiceClient::new(
            self.as_gateway("directory", Caller::service(wuye_kit::identity::GATEWAY)),
        )
    }

    /// Hires `name` into the directory through the gateway as an administrator, with `posts`
    /// (role, property; "" for a headquarters post) and a staff number of its own; gives the
    /// person's staff id (`person_id`). The person does not sign in.
    pub async fn hire(&self, name: &str, posts: &[(&str, &str)]) -> String {
        self.hire_signing_in(name, "", posts).await
    }

    /// Like [`Stack::hire`], for a person who signs in with `sign_in` (the identity
    /// provider's claim value).
    pub async fn hire_signing_in(
        &self,
        name: &str,
        sign_in: &str,
        posts: &[(&str, &str)],
    ) -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = proto::directory::CreatePersonRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            staff_number: format!("T{n:05}"),
            name: name.to_owned(),
            phone: String::new(),
            sign_in: sign_in.to_owned(),
            posts: posts
                .iter()
                .map(|(role, property)| proto::directory::PostSpec {
                    role: (*role).to_owned(),
                    property_id: (*property).to_owned(),
                })
                .collect(),
        };
        let person = self
            .directory_admin()
            .create_person(request)
            .await
            .unwrap_or_else(|e| panic!("hiring {name}: {e:?}"))
            .into_inner()
            .person
            .expect("the person");
        person.person_id
    }

    /// A channel to the gateway as the directory's person `person_id` (named `name`) acting
    /// as `role` at `property` ("" for headquarters: no property), with a script token whose
    /// `sub` is the staff id, as records name people.
    pub fn as_person(&self, person_id: &str, name: &str, role: &str, property: &str) -> Authed {
        let properties: Vec<String> = if property.is_empty() {
            Vec::new()
        } else {
            vec![property.to_owned()]
        };
        let token = wuye_gateway::sign_dev_token(
            role,
            &properties,
            person_id,
            name,
            Duration::from_secs(3600),
        )
        .expect("dev token");
        self.authed(Some(token), (!property.is_empty()).then_some(property))
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

/// The departments of a stack as they run, so that one can be restarted on its data.
struct Running {
    deps: Deps,
    settings: std::collections::HashMap<&'static str, ServiceSettings>,
    #[allow(clippy::type_complexity)]
    departments: tokio::sync::Mutex<
        Vec<(
            &'static str,
            SocketAddr,
            watch::Sender<bool>,
            tokio::task::JoinHandle<()>,
        )>,
    >,
}

/// Runs a department's server until the stack stops or the department alone is stopped.
fn spawn_department(
    server: Server,
    stop: &watch::Sender<bool>,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (own, _) = watch::channel(false);
    let mut stack_stop = stop.subscribe();
    let mut own_stop = own.subscribe();
    let task = tokio::spawn(async move {
        let stopped = async move {
            tokio::select! {
                _ = stack_stop.wait_for(|s| *s) => {}
                _ = own_stop.wait_for(|s| *s) => {}
            }
        };
        if let Err(e) = server.run_until(stopped).await {
            eprintln!("server stopped with an error: {e:#}");
        }
    });
    (own, task)
}

impl Stack {
    /// Stops the department `name` (a service name such as "customer-service") and builds it
    /// again on the same database and address, as a restart of its process would. The other
    /// departments and the gateway keep running.
    pub async fn restart_department(&self, name: &str) {
        self.stop_department(name).await;
        self.start_department(name).await;
    }

    /// Stops the department `name`: its calls, event followers and scheduled work end; its
    /// address refuses connections until [`Stack::start_department`].
    pub async fn stop_department(&self, name: &str) {
        let mut departments = self.running.departments.lock().await;
        let slot = departments
            .iter_mut()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("no department is called {name}"));
        let _ = slot.2.send(true);
        // Event streams served to other departments keep a graceful stop waiting: after a
        // moment the server is dropped, which ends its followers and jobs at once.
        if tokio::time::timeout(Duration::from_millis(500), &mut slot.3)
            .await
            .is_err()
        {
            slot.3.abort();
            let _ = (&mut slot.3).await;
        }
    }

    /// Stops the department `name` and builds it again on its database and address with its
    /// settings changed by `change` (such as a rotated keyring), for this start only.
    pub async fn restart_department_with(
        &self,
        name: &str,
        change: impl FnOnce(&mut ServiceSettings),
    ) {
        self.stop_department(name).await;
        let mut settings = self.running.settings[name].clone();
        change(&mut settings);
        self.start_department_on(name, settings).await;
    }

    /// Builds the stopped department `name` again on its database and address.
    pub async fn start_department(&self, name: &str) {
        self.start_department_on(name, self.running.settings[name].clone())
            .await;
    }

    async fn start_department_on(&self, name: &str, mut settings: ServiceSettings) {
        let mut departments = self.running.departments.lock().await;
        let peers: std::collections::BTreeMap<String, String> = departments
            .iter()
            .map(|(n, address, _, _)| (n.to_string(), format!("http://{address}")))
            .collect();
        let slot = departments
            .iter_mut()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("no department is called {name}"));
        assert!(slot.3.is_finished(), "{name} is running: stop it first");
        let address = slot.1;
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(address).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        let listener = listener.unwrap_or_else(|| panic!("{name}'s address {address} stays taken"));
        settings.peers = peers;
        let server = wuye::build_department(name, settings, listener, self.running.deps.clone())
            .await
            .expect("the department builds again");
        let (own_stop, task) = spawn_department(server, &self.stop);
        slot.2 = own_stop;
        slot.3 = task;
    }
}

pub type SurveyClient = proto::customerservice::survey_service_client::SurveyServiceClient<Authed>;
pub type VisitClient = proto::customerservice::visit_service_client::VisitServiceClient<Authed>;

impl Stack {
    /// Satisfaction surveys as `role` of the test property.
    pub fn surveys(&self, role: &str) -> SurveyClient {
        proto::customerservice::survey_service_client::SurveyServiceClient::new(
            self.as_role(role, PROPERTY),
        )
    }

    /// Follow-up visits as `role` of the test property.
    pub fn visits(&self, role: &str) -> VisitClient {
        proto::customerservice::visit_service_client::VisitServiceClient::new(
            self.as_role(role, PROPERTY),
        )
    }
}

type BuildServer = std::sync::Arc<
    dyn Fn(
            TcpListener,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Server>> + Send>>
        + Send
        + Sync,
>;

/// A server on a fixed address and a runtime of its own. Killing it shuts that runtime down:
/// every task and connection of the server goes at once, as when its process is killed, and
/// nothing else is disturbed. Restarting builds it anew on the same address (and database).
pub struct Killable {
    pub address: SocketAddr,
    build: BuildServer,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Killable {
    /// Builds and starts a server on a free port of 127.0.0.1.
    pub async fn start<F, Fut>(build: F) -> Killable
    where
        F: Fn(TcpListener) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = anyhow::Result<Server>> + Send + 'static,
    {
        let address = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let build: BuildServer = std::sync::Arc::new(move |listener| Box::pin(build(listener)));
        let mut server = Killable {
            address,
            build,
            runtime: None,
        };
        server.restart().await;
        server
    }

    /// Stops the server abruptly.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Kills the server if it runs, then builds and starts it again on its address.
    pub async fn restart(&mut self) {
        self.kill();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let (built, is_built) = tokio::sync::oneshot::channel();
        let (build, address) = (self.build.clone(), self.address);
        runtime.spawn(async move {
            let listener = bind_again(address).await;
            match build(listener).await {
                Ok(server) => {
                    let _ = built.send(Ok(()));
                    if let Err(e) = server.run_until(std::future::pending()).await {
                        eprintln!("server stopped with an error: {e:#}");
                    }
                }
                Err(e) => {
                    let _ = built.send(Err(e));
                }
            }
        });
        is_built
            .await
            .expect("the server's runtime runs")
            .expect("the server builds");
        self.runtime = Some(runtime);
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Binds `address` again, waiting for a killed server's socket to be released.
async fn bind_again(address: SocketAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(address).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{address} stays taken");
}

impl Stack {
    /// The departments' addresses by package, as a gateway's upstreams.
    pub fn upstreams(&self) -> std::collections::BTreeMap<String, String> {
        [
            ("wuye.customerservice.v1", self.customer_service),
            ("wuye.engineering.v1", self.engineering),
            ("wuye.archives.v1", self.archives),
            ("wuye.quality.v1", self.quality),
            ("wuye.directory.v1", self.directory),
        ]
        .into_iter()
        .map(|(package, address)| (package.to_owned(), format!("http://{address}")))
        .collect()
    }

    /// A killable quality department of its own (fresh database) beside the stack, serving
    /// `properties` on the stack's clock.
    pub async fn killable_quality(&self, properties: Properties) -> Killable {
        let mut settings = service_settings(self.backend, "quality", &self.data_dir).await;
        settings.database.data_dir = self.data_dir.join("killable");
        let deps = Deps {
            clock: std::sync::Arc::new(self.clock.clone()),
            properties,
        };
        Killable::start(move |listener| {
            wuye_quality::build(settings.clone(), listener, deps.clone())
        })
        .await
    }

    /// A killable gateway in front of the stack's departments with the escalation relay on
    /// (short retries), adjusted by `configure`.
    pub async fn relay_gateway(
        &self,
        configure: impl FnOnce(&mut wuye_gateway::GatewaySettings),
    ) -> Killable {
        let mut settings = gateway_settings();
        settings.upstreams = self.upstreams();
        settings.relay.enabled = true;
        settings.relay.max_backoff_ms = 200;
        configure(&mut settings);
        Killable::start(move |listener| wuye_gateway::build(settings.clone(), listener)).await
    }

    /// A killable gateway of its own in front of the stack's departments (relay off), with
    /// settings adjusted by `configure`: for tests of the gateway's limits and timeouts.
    pub async fn gateway_with(
        &self,
        configure: impl FnOnce(&mut wuye_gateway::GatewaySettings),
    ) -> Killable {
        let mut settings = gateway_settings();
        settings.upstreams = self.upstreams();
        configure(&mut settings);
        Killable::start(move |listener| wuye_gateway::build(settings.clone(), listener)).await
    }

    /// A channel through the gateway at `gateway` as the person `user_id` with `role` of
    /// `property`: for limits that count per caller.
    pub fn via_user(
        &self,
        gateway: SocketAddr,
        role: &str,
        user_id: &str,
        property: &str,
    ) -> Authed {
        let token = wuye_gateway::sign_dev_token(
            role,
            &[property.to_owned()],
            user_id,
            user_id,
            Duration::from_secs(3600),
        )
        .expect("dev token");
        authed(gateway, Some(token), Some(property))
    }

    /// A channel through the gateway at `gateway` (not the stack's) as `role` of `property`.
    pub fn via(&self, gateway: SocketAddr, role: &str, property: &str) -> Authed {
        authed(gateway, Some(self.token(role, &[property])), Some(property))
    }
}

/// Properties of one deployment, each with the default rules and the China calendar: for
/// stacks that serve other properties than `deploy/properties.toml`.
pub fn properties_of(ids: &[(&str, &str)]) -> Properties {
    let calendars = wuye_kit::calendar::Calendars::load_dir(&repo_root().join("deploy/calendars"))
        .expect("calendars");
    let configs = ids
        .iter()
        .map(|(id, name)| wuye_kit::properties::PropertyConfig {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            time_zone: "Asia/Shanghai".into(),
            holiday_calendar: "cn".into(),
            rules: Default::default(),
        })
        .collect();
    Properties::new(configs, &calendars).expect("properties")
}

/// Polls `check` until it gives a value, failing after `within`: for what background work
/// (the relay, the sweeps) makes happen.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answers to every item of an inspection's checklist: all well (normal, yes, mid-range
/// readings) unless `over` gives the item's value.
pub fn inspection_answers(
    items: &[proto::engineering::ChecklistItem],
    over: impl Fn(&proto::engineering::ChecklistItem) -> Option<proto::engineering::item_value::Value>,
) -> Vec<proto::engineering::ItemResult> {
    use proto::engineering::{ItemKind, ItemResult, ItemValue, ObservedState, item_value::Value};
    items
        .iter()
        .map(|item| {
            let value = over(item).unwrap_or(match item.kind() {
                ItemKind::State => Value::State(ObservedState::Normal.into()),
                ItemKind::Count => Value::Count(1),
                ItemKind::MeterReading => Value::Reading((item.min + item.max) / 2.0),
                ItemKind::YesNo => Value::Yes(true),
                _ => Value::Text("晴".into()),
            });
            ItemResult {
                key: item.key.clone(),
                value: Some(ItemValue { value: Some(value) }),
            }
        })
        .collect()
}

/// Certificates for tests of TLS: a certificate authority of the test's own, and certificates
/// it issues for components (valid for server and client authentication), written to files as
/// a deployment mounts them.
pub mod pki {
    use std::{
        net::SocketAddr,
        path::{Path, PathBuf},
    };

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    use wuye_kit::tls::TlsSettings;

    /// The names every test certificate is valid for.
    pub const LOCAL_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

    /// A certificate authority, its certificate in `<dir>/ca.crt`.
    pub struct Ca {
        issuer: CertifiedIssuer<'static, KeyPair>,
        dir: PathBuf,
    }

    /// A certificate the CA issued and its key, in PEM and in files.
    pub struct Leaf {
        pub cert_pem: String,
        pub key_pem: String,
        pub cert_file: PathBuf,
        pub key_file: PathBuf,
    }

    impl Ca {
        /// A new CA named `name`, its files in a fresh temporary folder.
        pub fn new(name: &str) -> Ca {
            let dir =
                std::env::temp_dir().join(format!("wuye-pki-{name}-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{name} test CA"));
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let issuer =
                CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            std::fs::write(dir.join("ca.crt"), issuer.pem()).unwrap();
            Ca { issuer, dir }
        }

        /// The CA's certificate (PEM).
        pub fn pem(&self) -> String {
            self.issuer.pem()
        }

        /// The file of the CA's certificate.
        pub fn ca_file(&self) -> PathBuf {
            self.dir.join("ca.crt")
        }

        /// The folder of the CA's files.
        pub fn dir(&self) -> &Path {
            &self.dir
        }

        /// A certificate for `name` valid for `names` (DNS names or IP addresses), for server
        /// and client authentication; files `<name>.crt` and `<name>.key` beside the CA's.
        pub fn issue_for(&self, name: &str, names: &[&str]) -> Leaf {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            let leaf = Leaf {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
                cert_file: self.dir.join(format!("{name}.crt")),
                key_file: self.dir.join(format!("{name}.key")),
            };
            std::fs::write(&leaf.cert_file, &leaf.cert_pem).unwrap();
            std::fs::write(&leaf.key_file, &leaf.key_pem).unwrap();
            leaf
        }

        /// A certificate for `name` valid for 127.0.0.1 and localhost.
        pub fn issue(&self, name: &str) -> Leaf {
            self.issue_for(name, &LOCAL_NAMES)
        }

        /// The TLS settings of the component `name`: a certificate of its own for 127.0.0.1
        /// and localhost, and this CA.
        pub fn settings(&self, name: &str) -> TlsSettings {
            let leaf = self.issue(name);
            TlsSettings {
                cert_file: leaf.cert_file,
                key_file: leaf.key_file,
                ca_file: self.ca_file(),
            }
        }

        /// A client configuration trusting this CA and presenting `leaf` (none: no
        /// certificate).
        pub fn client(&self, leaf: Option<&Leaf>) -> ClientTlsConfig {
            let config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(self.pem()));
            match leaf {
                Some(leaf) => config.identity(Identity::from_pem(&leaf.cert_pem, &leaf.key_pem)),
                None => config,
            }
        }
    }

    impl Drop for Ca {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// The client configuration of calls to `https://<addr>` with `tls`, never sent again.
    pub fn config(addr: SocketAddr, tls: ClientTlsConfig) -> wuye_client::Config {
        wuye_client::Config::new(format!("https://{addr}"))
            .tls(tls)
            .retry(wuye_client::Policy::none())
    }

    /// A lazy channel to `https://<addr>` with `tls`.
    pub fn channel(addr: SocketAddr, tls: ClientTlsConfig) -> Channel {
        config(addr, tls).lazy_channel().expect("a channel")
    }
}

/// A PostgreSQL server of the test's own with TLS on (`ssl=on`, and only TLS connections
/// accepted from the network), its certificate issued by a test CA for 127.0.0.1 and
/// localhost; stopped and removed when dropped. The binaries are those of
/// `/usr/lib/postgresql/<version>/bin` (`.ci/run` installs them); as root, the server runs as
/// the `postgres` user (initdb refuses root).
pub struct TlsPostgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    user: String,
    pub port: u16,
}

impl TlsPostgres {
    pub fn start(ca: &pki::Ca) -> TlsPostgres {
        use std::process::Command;
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max_by_key(|bin| {
                bin.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .expect(
                "PostgreSQL is not installed (/usr/lib/postgresql/<version>/bin/initdb): \
                 `apt-get install -y postgresql`, or run the suite with `bash .ci/run`",
            );
        let whoami = |args: &[&str]| {
            let out = Command::new("id").args(args).output().expect("id");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let as_postgres = whoami(&["-u"]) == "0";
        let user = if as_postgres {
            "postgres".to_owned()
        } else {
            whoami(&["-un"])
        };
        let dir = std::env::temp_dir().join(format!("wuye-pg-tls-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let server = ca.issue("postgres-server");
        std::fs::copy(&server.cert_file, dir.join("server.crt")).unwrap();
        std::fs::copy(&server.key_file, dir.join("server.key")).unwrap();
        // The server refuses a key others may read.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let postgres = TlsPostgres {
            dir,
            bin,
            as_postgres,
            user,
            port,
        };
        if as_postgres {
            let chowned = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&postgres.dir)
                .status()
                .unwrap();
            assert!(chowned.success(), "chown postgres");
        }
        let data = postgres.dir.join("data");
        postgres.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "--auth=trust",
                "-U",
                &postgres.user,
            ],
        );
        // From the network, TLS only.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let d = postgres.dir.display();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {d} -c fsync=off -c ssl=on \
             -c ssl_cert_file={d}/server.crt -c ssl_key_file={d}/server.key"
        );
        postgres.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-l",
                &postgres.dir.join("log").display().to_string(),
                "-w",
                "start",
                "-o",
                &options,
            ],
        );
        postgres
    }

    fn run(&self, program: &str, args: &[&str]) {
        use std::process::{Command, Stdio};
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The server's URL without database or TLS parameters.
    pub fn url(&self) -> String {
        format!("postgres://{}@127.0.0.1:{}", self.user, self.port)
    }

    /// The URL of `database` with the server's certificate and name verified against the CA
    /// in `ca_file`.
    pub fn verified_url(&self, database: &str, ca_file: &std::path::Path) -> String {
        format!(
            "{}/{database}?sslmode=verify-full&sslrootcert={}",
            self.url(),
            ca_file.display()
        )
    }

    /// Creates an empty database for `service` and returns its name.
    pub async fn fresh_database(&self, service: &str) -> String {
        let name = format!(
            "wuye_{}_{}",
            service.replace('-', "_"),
            uuid::Uuid::now_v7().simple()
        );
        let mut admin = self.admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        name
    }

    /// A connection to the `postgres` database (over TLS, not verified: the tests' own).
    pub async fn admin(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&format!("{}/postgres?sslmode=require", self.url()))
            .await
            .expect("connect to the test's TLS PostgreSQL server")
    }

    /// How many connections to `database` there are, and how many of them are encrypted
    /// (`pg_stat_ssl`).
    pub async fn connections(&self, database: &str) -> (i64, i64) {
        let mut admin = self.admin().await;
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
        )
        .bind(database)
        .fetch_one(&mut admin)
        .await
        .expect("pg_stat_ssl");
        admin.close().await.ok();
        counts
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            std::process::Command::new(&path)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
