//! The gateway and the departments as processes of their own built binaries, configured only
//! through environment variables (as deploy/k8s and deploy/compose.yaml configure them): for
//! scenarios about the deployment's shape and about processes that die.
//!
//! The binaries are those of `WUYE_BIN_DIR`, else of the test's own profile (`target/debug`).
//! `bash .ci/run` builds the release binaries and points `WUYE_BIN_DIR` at `target/release`,
//! so that the tests run what is deployed.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::LazyLock,
    time::Duration,
};

use tonic::{Request, metadata::MetadataValue, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{PROPERTY, repo_root};

/// The keys of the processes the tests start, made by the test run: none is a public
/// development key, so the binaries run as in production (where those are refused). With
/// them, the test run's CA and a certificate per component (for 127.0.0.1 and localhost), for
/// deployments with TLS on every hop.
pub struct TestKeys {
    dir: PathBuf,
    token_key: String,
    ca: crate::pki::Ca,
    /// The certificate the tests present as a client of a deployment with TLS.
    client: crate::pki::Leaf,
}

/// The `kid` of the tests' user token key.
pub const TOKEN_KID: &str = "tests-1";
/// The components with an identity key of their own.
const COMPONENTS: [&str; 6] = [
    "gateway",
    "customer-service",
    "engineering",
    "archives",
    "quality",
    "directory",
];

impl TestKeys {
    fn generate() -> Self {
        let dir = std::env::temp_dir().join(format!("wuye-test-keys-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let pair = |name: &str| {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
            std::fs::write(dir.join(format!("{name}.pem")), key.serialize_pem()).unwrap();
            std::fs::write(dir.join(format!("{name}.pub.pem")), key.public_key_pem()).unwrap();
            key.serialize_pem()
        };
        let token_key = pair("token");
        let ca = crate::pki::Ca::new("processes");
        for component in COMPONENTS {
            pair(component);
            ca.issue(component);
        }
        let client = ca.issue("tests-client");
        Self {
            dir,
            token_key,
            ca,
            client,
        }
    }

    /// The test run's CA.
    pub fn ca(&self) -> &crate::pki::Ca {
        &self.ca
    }

    /// The TLS environment of the component `component` whose variables start with `prefix`
    /// (`WUYE_ARCHIVES__`): its certificate, its key and the CA, as files.
    pub fn tls_env(&self, prefix: &str, component: &str) -> Vec<(String, String)> {
        let dir = self.ca.dir();
        [
            ("TLS__CERT_FILE", dir.join(format!("{component}.crt"))),
            ("TLS__KEY_FILE", dir.join(format!("{component}.key"))),
            ("TLS__CA_FILE", self.ca.ca_file()),
        ]
        .into_iter()
        .map(|(key, path)| (format!("{prefix}{key}"), path.display().to_string()))
        .collect()
    }

    /// A client of a deployment with TLS: the CA trusted, the tests' certificate presented
    /// (departments ask for one; the gateway does not).
    pub fn tls_client(&self) -> tonic::transport::ClientTlsConfig {
        self.ca.client(Some(&self.client))
    }

    /// The private key file of `name` (a component, or "token").
    pub fn private(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }

    /// The public key file of `name`.
    pub fn public(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pub.pem"))
    }

    /// A user token of the tests' identity provider.
    pub fn token(&self, claims: &wuye_gateway::Claims) -> String {
        wuye_gateway::sign_token(
            wuye_gateway::KeyAlgorithm::EdDSA,
            self.token_key.as_bytes(),
            TOKEN_KID,
            claims,
        )
        .unwrap()
    }
}

/// The keys of this test run's processes.
pub fn keys() -> &'static TestKeys {
    static KEYS: LazyLock<TestKeys> = LazyLock::new(TestKeys::generate);
    &KEYS
}

/// Each department's keyring of personal data at rest, for processes started by tests.
fn keyring(prefix: &str) -> String {
    let byte = match prefix {
        "CUSTOMER_SERVICE" => "2b",
        "ENGINEERING" => "3c",
        "ARCHIVES" => "8f",
        "DIRECTORY" => "5e",
        _ => "4d",
    };
    format!("k1={}", byte.repeat(32))
}

/// The component a prefix (`CUSTOMER_SERVICE`) configures (`customer-service`).
fn component(prefix: &str) -> String {
    prefix.to_lowercase().replace('_', "-")
}

/// Where the binaries are: `WUYE_BIN_DIR`, else the test's own profile directory.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WUYE_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/<test>-<hash> → target/<profile>
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_owned()
}

/// The binary `wuye-<name>`; fails the test with what to do when it was not built.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(format!("wuye-{name}"));
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`), or \
         `cargo build --release --workspace --bins` and WUYE_BIN_DIR=target/release as \
         .ci/run does",
        path.display()
    );
    path
}

/// A port of 127.0.0.1 nothing listens on now.
pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// What every process gets from the test's environment: only `PATH`.
pub fn base_env() -> Vec<(String, String)> {
    let mut env = vec![];
    if let Some(path) = std::env::var_os("PATH") {
        env.push(("PATH".to_owned(), path.to_string_lossy().into_owned()));
    }
    env
}

/// The environment of a department listening on `listen` with its database at
/// `database_url` (empty: the SQLite file in `data_dir`), as a manifest sets it; `prefix` is
/// the department's, such as `CUSTOMER_SERVICE`.
pub fn department_env(
    prefix: &str,
    listen: SocketAddr,
    database_url: &str,
    data_dir: &Path,
) -> Vec<(String, String)> {
    let p = format!("WUYE_{prefix}__");
    let mut env = base_env();
    env.extend([
        (format!("{p}LISTEN"), listen.to_string()),
        (
            format!("{p}PROPERTIES_FILE"),
            repo_root()
                .join("deploy/properties.toml")
                .display()
                .to_string(),
        ),
        (
            format!("{p}DATABASE__DATA_DIR"),
            data_dir.display().to_string(),
        ),
        (format!("{p}DATABASE__MAX_CONNECTIONS"), "4".to_owned()),
        (
            format!("{p}IDENTITY__SIGNING_KEY"),
            keys().private(&component(prefix)).display().to_string(),
        ),
        (
            format!("{p}IDENTITY__TRUSTED__GATEWAY"),
            keys().public("gateway").display().to_string(),
        ),
        (format!("{p}ENCRYPTION_KEYS"), keyring(prefix)),
        (format!("{p}TELEMETRY__LOG_FORMAT"), "json".to_owned()),
    ]);
    if !database_url.is_empty() {
        env.push((format!("{p}DATABASE__URL"), database_url.to_owned()));
    }
    env
}

/// The environment of a gateway on `listen` routing each package of `upstreams` to its
/// address, with the repository's policy and the tests' keys.
pub fn gateway_env(listen: SocketAddr, upstreams: &[(&str, SocketAddr)]) -> Vec<(String, String)> {
    gateway_env_over(listen, upstreams, Hops::Plaintext)
}

/// Whether a deployment's connections are plaintext or TLS: TLS at the gateway's door and
/// mutual TLS between the components, as in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hops {
    Plaintext,
    Tls,
}

impl Hops {
    /// The scheme of the components' addresses.
    pub fn scheme(self) -> &'static str {
        match self {
            Hops::Plaintext => "http",
            Hops::Tls => "https",
        }
    }
}

/// [`gateway_env`] with its listener and its upstreams over `hops`.
pub fn gateway_env_over(
    listen: SocketAddr,
    upstreams: &[(&str, SocketAddr)],
    hops: Hops,
) -> Vec<(String, String)> {
    let deploy = repo_root().join("deploy");
    let scheme = hops.scheme();
    let upstreams: Vec<String> = upstreams
        .iter()
        .map(|(package, addr)| format!("\"{package}\"=\"{scheme}://{addr}\""))
        .collect();
    let mut env = base_env();
    env.extend([
        ("WUYE_GATEWAY__LISTEN".to_owned(), listen.to_string()),
        (
            "WUYE_GATEWAY__POLICY_FILE".to_owned(),
            deploy.join("policy.toml").display().to_string(),
        ),
        (
            "WUYE_GATEWAY__RELAY__PROPERTIES_FILE".to_owned(),
            deploy.join("properties.toml").display().to_string(),
        ),
        (
            "WUYE_GATEWAY__UPSTREAMS".to_owned(),
            format!("{{{}}}", upstreams.join(", ")),
        ),
        (
            "WUYE_GATEWAY__AUTH__KEYS".to_owned(),
            format!(
                "[{{kid=\"{TOKEN_KID}\", algorithm=\"EdDSA\", public_key_file=\"{}\"}}]",
                keys().public("token").display()
            ),
        ),
        (
            "WUYE_GATEWAY__IDENTITY__SIGNING_KEY".to_owned(),
            keys().private("gateway").display().to_string(),
        ),
        (
            "WUYE_GATEWAY__TELEMETRY__LOG_FORMAT".to_owned(),
            "json".to_owned(),
        ),
    ]);
    if hops == Hops::Tls {
        env.extend(keys().tls_env("WUYE_GATEWAY__", "gateway"));
    }
    env
}

/// One process and how it was started, so it can be started again the same way.
struct Spawned {
    name: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Spawned {
    fn start(&mut self) {
        let child = Command::new(binary(&self.name))
            // Nothing from the test's own environment: only what a manifest would set.
            .env_clear()
            .envs(self.env.iter().cloned())
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .unwrap_or_else(|e| panic!("wuye-{} starts: {e}", self.name));
        self.child = Some(child);
    }
}

/// The processes of a test; killed if the test fails before stopping them.
#[derive(Default)]
pub struct Processes(Vec<Spawned>);

impl Processes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `wuye-<name>` in `dir` with exactly `env`.
    pub fn spawn(&mut self, name: &str, dir: &Path, env: Vec<(String, String)>) {
        let mut spawned = Spawned {
            name: name.to_owned(),
            dir: dir.to_owned(),
            env,
            child: None,
        };
        spawned.start();
        self.0.push(spawned);
    }

    /// The process id of the running `wuye-<name>`.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.0
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.child.as_ref())
            .map(Child::id)
    }

    fn find(&mut self, name: &str) -> &mut Spawned {
        self.0
            .iter_mut()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no process wuye-{name} was spawned"))
    }

    /// SIGKILL (`kill -9`) to `wuye-<name>`: it dies at once, whatever it was doing, and is
    /// reaped.
    pub async fn kill(&mut self, name: &str) {
        let mut child = self
            .find(name)
            .child
            .take()
            .unwrap_or_else(|| panic!("wuye-{name} is not running"));
        tokio::task::spawn_blocking(move || {
            // `Child::kill` is SIGKILL on Unix.
            child.kill().expect("SIGKILL");
            child.wait().expect("reap")
        })
        .await
        .unwrap();
    }

    /// Starts the killed `wuye-<name>` again, with the same environment (so the same address
    /// and database).
    pub fn respawn(&mut self, name: &str) {
        let spawned = self.find(name);
        assert!(spawned.child.is_none(), "wuye-{name} is running");
        spawned.start();
    }

    /// SIGTERM to each, then each must exit successfully (graceful shutdown, telemetry
    /// flushed).
    pub async fn stop(mut self) {
        let processes: Vec<(String, Child)> = self
            .0
            .iter_mut()
            .filter_map(|s| s.child.take().map(|c| (s.name.clone(), c)))
            .collect();
        for (_, child) in &processes {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        tokio::task::spawn_blocking(move || {
            for (name, mut child) in processes {
                let status = child.wait().unwrap();
                assert!(status.success(), "wuye-{name} stopped with {status}");
            }
        })
        .await
        .unwrap();
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for spawned in &mut self.0 {
            if let Some(child) = &mut spawned.child {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// (binary, environment prefix, package the gateway routes to it)
pub const DEPARTMENTS: [(&str, &str, &str); 5] = [
    (
        "customer-service",
        "CUSTOMER_SERVICE",
        "wuye.customerservice.v1",
    ),
    ("engineering", "ENGINEERING", "wuye.engineering.v1"),
    ("archives", "ARCHIVES", "wuye.archives.v1"),
    ("quality", "QUALITY", "wuye.quality.v1"),
    ("directory", "DIRECTORY", "wuye.directory.v1"),
];

/// The index of the directory in [`DEPARTMENTS`].
const DIRECTORY: usize = 4;

/// The five departments and the gateway, each a process of its own binary, wired as the
/// manifests wire them.
pub struct Deployment {
    pub processes: Processes,
    /// Where the gateway listens.
    pub gateway: SocketAddr,
}

impl Deployment {
    /// Starts every process in `work` and waits until each serves. `databases`: each
    /// department's database URL in the order of [`DEPARTMENTS`] (empty: SQLite in `work`);
    /// `extra`: more environment for a process, given its prefix (`GATEWAY` for the gateway).
    pub async fn start(
        work: &Path,
        databases: &[String; DEPARTMENTS.len()],
        extra: impl Fn(&str) -> Vec<(String, String)>,
    ) -> Self {
        Self::start_over(work, databases, Hops::Plaintext, extra).await
    }

    /// [`Deployment::start`] with every connection between the processes over `hops`: with
    /// [`Hops::Tls`], each binary has the certificate of the test run's CA for its component
    /// (`WUYE_<COMPONENT>__TLS__*`), the addresses are `https://`, and the gateway serves TLS
    /// (call it through [`gateway_channel`]).
    pub async fn start_over(
        work: &Path,
        databases: &[String; DEPARTMENTS.len()],
        hops: Hops,
        extra: impl Fn(&str) -> Vec<(String, String)>,
    ) -> Self {
        let scheme = hops.scheme();
        let mut processes = Processes::new();
        let mut upstreams = Vec::new();
        // Addresses first: departments follow each other's event streams.
        let addrs: Vec<SocketAddr> = DEPARTMENTS.iter().map(|_| free_port()).collect();
        for (((name, prefix, package), &addr), url) in
            DEPARTMENTS.into_iter().zip(&addrs).zip(databases)
        {
            let p = format!("WUYE_{prefix}__");
            let mut env = department_env(prefix, addr, url, work);
            env.extend(directory_env(name, &p, scheme, addrs[DIRECTORY]));
            if name == "customer-service" {
                env.extend([
                    // Completed work orders become repair follow-ups (VIS-4).
                    (
                        format!("{p}PEERS__ENGINEERING"),
                        format!("{scheme}://{}", addrs[1]),
                    ),
                    // Archives follows customer-service's move-ins as itself.
                    (
                        format!("{p}IDENTITY__TRUSTED__ARCHIVES"),
                        keys().public("archives").display().to_string(),
                    ),
                    // Engineering follows customer-service's units as itself (WO-1).
                    (
                        format!("{p}IDENTITY__TRUSTED__ENGINEERING"),
                        keys().public("engineering").display().to_string(),
                    ),
                ]);
            }
            if name == "engineering" {
                env.extend([
                    (
                        format!("{p}IDENTITY__TRUSTED__CUSTOMER_SERVICE"),
                        keys().public("customer-service").display().to_string(),
                    ),
                    // The units a repair may name are customer-service's (WO-1).
                    (
                        format!("{p}PEERS__CUSTOMER_SERVICE"),
                        format!("{scheme}://{}", addrs[0]),
                    ),
                ]);
            }
            if name == "archives" {
                env.extend([
                    (
                        format!("{p}PEERS__CUSTOMER_SERVICE"),
                        format!("{scheme}://{}", addrs[0]),
                    ),
                    (
                        format!("{p}DOCUMENT_STORE"),
                        format!("file://{}", work.join("documents").display()),
                    ),
                ]);
            }
            if hops == Hops::Tls {
                env.extend(keys().tls_env(&p, name));
            }
            env.extend(extra(prefix));
            processes.spawn(name, work, env);
            upstreams.push((package, addr));
        }
        let gateway = free_port();
        let mut env = gateway_env_over(gateway, &upstreams, hops);
        env.extend(extra("GATEWAY"));
        processes.spawn("gateway", work, env);
        for ((name, _, _), addr) in DEPARTMENTS.iter().zip(&addrs) {
            serving_over(name, *addr, hops).await;
        }
        serving_over("gateway", gateway, hops).await;
        Self { processes, gateway }
    }
}

/// What the staff directory and the departments know of each other: every department checks
/// the staff its requests name with the directory (as itself), and the directory trusts each
/// department's identity for it.
fn directory_env(
    name: &str,
    p: &str,
    scheme: &str,
    directory: SocketAddr,
) -> Vec<(String, String)> {
    if name != "directory" {
        return vec![(
            format!("{p}PEERS__DIRECTORY"),
            format!("{scheme}://{directory}"),
        )];
    }
    DEPARTMENTS
        .iter()
        .filter(|(department, ..)| *department != "directory")
        .map(|(department, prefix, _)| {
            (
                format!("{p}IDENTITY__TRUSTED__{prefix}"),
                keys().public(department).display().to_string(),
            )
        })
        .collect()
}

/// A channel to a process at `addr` whose connections are `hops`: over TLS trusting the test
/// run's CA and presenting the tests' certificate, or plaintext.
pub fn gateway_channel(addr: SocketAddr, hops: Hops) -> Channel {
    match hops {
        Hops::Plaintext => crate::channel(addr),
        Hops::Tls => crate::pki::channel(addr, keys().tls_client()),
    }
}

/// Waits until `addr` answers its health check as serving.
pub async fn serving(name: &str, addr: SocketAddr) {
    serving_over(name, addr, Hops::Plaintext).await
}

/// [`serving`] for a process whose connections are `hops`.
pub async fn serving_over(name: &str, addr: SocketAddr, hops: Hops) {
    let channel = gateway_channel(addr, hops);
    let mut health = HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await;
        if answer.is_ok_and(|a| a.into_inner().status() == ServingStatus::Serving) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "wuye-{name} did not become ready on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request as a user of `role` at the test property, for a gateway process (signed with
/// the tests' token key its configuration trusts).
pub fn authed<T>(message: T, role: &str) -> Request<T> {
    authed_as(message, role, &format!("{role}-1"))
}

/// A request as the user `user_id` with `role` at the test property, through a gateway
/// process: for several people calling at once.
pub fn authed_as<T>(message: T, role: &str, user_id: &str) -> Request<T> {
    let token = keys().token(&wuye_gateway::Claims::new(
        user_id,
        "测试员",
        role,
        &[PROPERTY.to_owned()],
        Duration::from_secs(600),
    ));
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    metadata.insert("x-wuye-property", MetadataValue::from_static(PROPERTY));
    request
}
