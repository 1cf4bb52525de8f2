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
    time::Duration,
};

use tonic::{Request, metadata::MetadataValue, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{PROPERTY, repo_root};

/// The internal key the processes share. Not the development key: the processes must be
/// configured, not fall back.
pub const INTERNAL_KEY: &str = "processes-test-internal-key-0123456789abcdef";

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
            format!("{p}IDENTITY__INTERNAL_KEY"),
            INTERNAL_KEY.to_owned(),
        ),
        (format!("{p}TELEMETRY__LOG_FORMAT"), "json".to_owned()),
    ]);
    if !database_url.is_empty() {
        env.push((format!("{p}DATABASE__URL"), database_url.to_owned()));
    }
    env
}

/// The environment of a gateway on `listen` routing each package of `upstreams` to its
/// address, with the repository's policy and development public key.
pub fn gateway_env(listen: SocketAddr, upstreams: &[(&str, SocketAddr)]) -> Vec<(String, String)> {
    let deploy = repo_root().join("deploy");
    let upstreams: Vec<String> = upstreams
        .iter()
        .map(|(package, addr)| format!("\"{package}\"=\"http://{addr}\""))
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
                "[{{kid=\"dev-1\", algorithm=\"EdDSA\", public_key_file=\"{}\"}}]",
                deploy.join("dev-keys/jwt-ed25519.pub.pem").display()
            ),
        ),
        (
            "WUYE_GATEWAY__IDENTITY__INTERNAL_KEY".to_owned(),
            INTERNAL_KEY.to_owned(),
        ),
        (
            "WUYE_GATEWAY__TELEMETRY__LOG_FORMAT".to_owned(),
            "json".to_owned(),
        ),
    ]);
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

/// customer-service's keyring of phone numbers at rest, for processes started by tests.
const CUSTOMER_SERVICE_KEYS: &str =
    "cs1=2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c";
/// archives' keyring of identifiers at rest, for processes started by tests.
const ARCHIVES_KEYS: &str = "k1=8f3a1c2e4b5d6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

/// (binary, environment prefix, package the gateway routes to it)
pub const DEPARTMENTS: [(&str, &str, &str); 4] = [
    (
        "customer-service",
        "CUSTOMER_SERVICE",
        "wuye.customerservice.v1",
    ),
    ("engineering", "ENGINEERING", "wuye.engineering.v1"),
    ("archives", "ARCHIVES", "wuye.archives.v1"),
    ("quality", "QUALITY", "wuye.quality.v1"),
];

/// The four departments and the gateway, each a process of its own binary, wired as the
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
        let mut processes = Processes::new();
        let mut upstreams = Vec::new();
        // Addresses first: departments follow each other's event streams.
        let addrs: Vec<SocketAddr> = DEPARTMENTS.iter().map(|_| free_port()).collect();
        for (((name, prefix, package), &addr), url) in
            DEPARTMENTS.into_iter().zip(&addrs).zip(databases)
        {
            let p = format!("WUYE_{prefix}__");
            let mut env = department_env(prefix, addr, url, work);
            if name == "customer-service" {
                env.extend([
                    // Completed work orders become repair follow-ups (VIS-4).
                    (
                        format!("{p}PEERS__ENGINEERING"),
                        format!("http://{}", addrs[1]),
                    ),
                    (
                        format!("{p}ENCRYPTION_KEYS"),
                        CUSTOMER_SERVICE_KEYS.to_owned(),
                    ),
                ]);
            }
            if name == "archives" {
                env.extend([
                    (
                        format!("{p}PEERS__CUSTOMER_SERVICE"),
                        format!("http://{}", addrs[0]),
                    ),
                    (format!("{p}ENCRYPTION_KEYS"), ARCHIVES_KEYS.to_owned()),
                    (
                        format!("{p}DOCUMENT_STORE"),
                        format!("file://{}", work.join("documents").display()),
                    ),
                ]);
            }
            env.extend(extra(prefix));
            processes.spawn(name, work, env);
            upstreams.push((package, addr));
        }
        let gateway = free_port();
        let mut env = gateway_env(gateway, &upstreams);
        env.extend(extra("GATEWAY"));
        processes.spawn("gateway", work, env);
        for ((name, _, _), addr) in DEPARTMENTS.iter().zip(&addrs) {
            serving(name, *addr).await;
        }
        serving("gateway", gateway).await;
        Self { processes, gateway }
    }
}

/// Waits until `addr` answers its health check as serving.
pub async fn serving(name: &str, addr: SocketAddr) {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
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
/// the development key its configuration trusts).
pub fn authed<T>(message: T, role: &str) -> Request<T> {
    authed_as(message, role, &format!("{role}-1"))
}

/// A request as the user `user_id` with `role` at the test property, through a gateway
/// process: for several people calling at once.
pub fn authed_as<T>(message: T, role: &str, user_id: &str) -> Request<T> {
    let token = wuye_gateway::sign_dev_token(
        role,
        &[PROPERTY.to_owned()],
        user_id,
        "测试员",
        Duration::from_secs(600),
    )
    .unwrap();
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    metadata.insert("x-wuye-property", MetadataValue::from_static(PROPERTY));
    request
}
