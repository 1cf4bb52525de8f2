//! The deployment's shape for real: the gateway and each department as a process of its own
//! binary, configured only through environment variables (as deploy/k8s and
//! deploy/compose.yaml configure them), each department on its own PostgreSQL database, and
//! exporting to an OTLP endpoint. A complaint goes through them, a move-in reaches archives
//! over customer-service's event stream, one trace spans the processes, and every process
//! stops cleanly on SIGTERM.
//!
//! The binaries are those of the test's own profile (`target/debug`), which `bash .ci/run`
//! builds first (`cargo build --bins`); `WUYE_BIN_DIR` points elsewhere, such as
//! `target/release`.

mod otlp;

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
use wuye_tests::{
    PROPERTY, fresh_postgres_database,
    proto::{
        archives::{
            ListHouseholdFilesRequest, household_file_service_client::HouseholdFileServiceClient,
        },
        customerservice::{
            Channel as ContactChannel, Complainant, CreateComplaintRequest, CreateUnitRequest,
            GetComplaintRequest, RecordMoveInRequest, Resident, ResidentRelation, Severity,
            complaint_service_client::ComplaintServiceClient,
            household_service_client::HouseholdServiceClient,
        },
    },
    repo_root,
};

/// Not the development key: the processes must be configured, not fall back.
const INTERNAL_KEY: &str = "processes-test-internal-key-0123456789abcdef";
/// customer-service's own keyring of phone numbers at rest.
const CUSTOMER_SERVICE_KEYS: &str =
    "cs1=2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c";
const ENCRYPTION_KEYS: &str = "k1=8f3a1c2e4b5d6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

/// (binary, environment prefix, package the gateway routes to it)
const DEPARTMENTS: [(&str, &str, &str); 4] = [
    (
        "customer-service",
        "CUSTOMER_SERVICE",
        "wuye.customerservice.v1",
    ),
    ("engineering", "ENGINEERING", "wuye.engineering.v1"),
    ("archives", "ARCHIVES", "wuye.archives.v1"),
    ("quality", "QUALITY", "wuye.quality.v1"),
];

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WUYE_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/processes-<hash> → target/<profile>
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_owned()
}

fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(format!("wuye-{name}"));
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --bins`, as .ci/run does) or \
         set WUYE_BIN_DIR",
        path.display()
    );
    path
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The processes; killed if the test fails before stopping them.
struct Processes(Vec<(String, Child)>);

impl Processes {
    fn spawn(&mut self, name: &str, dir: &Path, env: Vec<(String, String)>) {
        let child = Command::new(binary(name))
            // Nothing from the test's own environment: only what a manifest would set.
            .env_clear()
            .envs(env)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .unwrap_or_else(|e| panic!("wuye-{name} starts: {e}"));
        self.0.push((name.to_owned(), child));
    }

    /// SIGTERM to each, then each must exit successfully (graceful shutdown, telemetry
    /// flushed).
    async fn stop(mut self) {
        for (_, child) in &self.0 {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let processes = std::mem::take(&mut self.0);
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
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `addr` answers its health check as serving.
async fn serving(name: &str, addr: SocketAddr) {
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

/// A request as a user of `role` at the property, through the gateway.
fn authed<T>(message: T, role: &str) -> Request<T> {
    let token = wuye_gateway::sign_dev_token(
        role,
        &[PROPERTY.to_owned()],
        &format!("{role}-1"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_run_the_complaint_flow_configured_by_the_environment() {
    let receiver = otlp::Receiver::start().await;
    let work = std::env::temp_dir().join(format!("wuye-processes-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&work).unwrap();
    let deploy = repo_root().join("deploy");
    let base_env = || {
        let mut env = vec![];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH".to_owned(), path.to_string_lossy().into_owned()));
        }
        env
    };

    let mut processes = Processes(Vec::new());
    let mut upstreams = Vec::new();
    // Addresses first: departments follow each other's event streams.
    let addrs: Vec<SocketAddr> = DEPARTMENTS.iter().map(|_| free_port()).collect();
    for ((name, prefix, package), &addr) in DEPARTMENTS.into_iter().zip(&addrs) {
        let url = fresh_postgres_database(name).await;
        let p = format!("WUYE_{prefix}__");
        let mut env = base_env();
        env.extend([
            (format!("{p}LISTEN"), addr.to_string()),
            (
                format!("{p}PROPERTIES_FILE"),
                deploy.join("properties.toml").display().to_string(),
            ),
            (format!("{p}DATABASE__URL"), url),
            (format!("{p}DATABASE__MAX_CONNECTIONS"), "4".to_owned()),
            (
                format!("{p}IDENTITY__INTERNAL_KEY"),
                INTERNAL_KEY.to_owned(),
            ),
            (format!("{p}TELEMETRY__LOG_FORMAT"), "json".to_owned()),
            (format!("{p}TELEMETRY__OTLP_ENDPOINT"), receiver.endpoint()),
        ]);
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
                (format!("{p}ENCRYPTION_KEYS"), ENCRYPTION_KEYS.to_owned()),
                (
                    format!("{p}DOCUMENT_STORE"),
                    format!("file://{}", work.join("documents").display()),
                ),
                (format!("{p}DATABASE__DATA_DIR"), work.display().to_string()),
            ]);
        }
        processes.spawn(name, &work, env);
        upstreams.push(format!("\"{package}\"=\"http://{addr}\""));
    }
    let gateway = free_port();
    let mut env = base_env();
    env.extend([
        ("WUYE_GATEWAY__LISTEN".to_owned(), gateway.to_string()),
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
        (
            "WUYE_GATEWAY__TELEMETRY__OTLP_ENDPOINT".to_owned(),
            receiver.endpoint(),
        ),
    ]);
    processes.spawn("gateway", &work, env);
    for ((name, _, _), addr) in DEPARTMENTS.iter().zip(&addrs) {
        serving(name, *addr).await;
    }
    serving("gateway", gateway).await;

    // The complaint flow, through the gateway.
    let channel = Channel::from_shared(format!("http://{gateway}"))
        .unwrap()
        .connect_lazy();
    let mut households = HouseholdServiceClient::new(channel.clone());
    let unit = households
        .create_unit(authed(
            CreateUnitRequest {
                property_id: PROPERTY.into(),
                request_id: "processes-unit".into(),
                building: "2".into(),
                entrance: "1".into(),
                floor: 6,
                room: "0602".into(),
                area_m2: 88.0,
                state: 0,
            },
            "cs_clerk",
        ))
        .await
        .expect("create a unit through the gateway process")
        .into_inner()
        .unit
        .unwrap();
    let mut complaints = ComplaintServiceClient::new(channel.clone());
    let complaint = complaints
        .create_complaint(authed(
            CreateComplaintRequest {
                property_id: PROPERTY.into(),
                request_id: "processes-complaint".into(),
                channel: ContactChannel::Visit.into(),
                complainant: Some(Complainant {
                    name: "张伟".into(),
                    phone: "137 0000 0000".into(),
                }),
                unit_id: unit.id.clone(),
                category: "保洁服务".into(),
                description: "电梯厅地面湿滑".into(),
                severity: Severity::Serious.into(),
                ..Default::default()
            },
            "front_desk",
        ))
        .await
        .expect("file a complaint")
        .into_inner()
        .complaint
        .unwrap();
    let read = complaints
        .get_complaint(authed(
            GetComplaintRequest {
                property_id: PROPERTY.into(),
                complaint_id: complaint.id.clone(),
                ..Default::default()
            },
            "cs_supervisor",
        ))
        .await
        .expect("read it back")
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!((read.id, read.number), (complaint.id, complaint.number));

    // A move-in reaches archives over customer-service's event stream (configured as a peer
    // by the environment), and archives opens the household file.
    let household = households
        .record_move_in(authed(
            RecordMoveInRequest {
                property_id: PROPERTY.into(),
                request_id: "processes-move-in".into(),
                unit_id: unit.id,
                residents: vec![Resident {
                    name: "张伟".into(),
                    relation: ResidentRelation::Owner.into(),
                    phone: "137 0000 0000".into(),
                    primary_contact: true,
                }],
                move_in_time: None,
            },
            "cs_clerk",
        ))
        .await
        .expect("record a move-in")
        .into_inner()
        .household
        .unwrap();
    let mut files = HouseholdFileServiceClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = files
            .list_household_files(authed(
                ListHouseholdFilesRequest {
                    property_id: PROPERTY.into(),
                    page_size: 100,
                    ..Default::default()
                },
                "cs_clerk",
            ))
            .await
            .expect("list household files")
            .into_inner();
        if listed
            .household_files
            .iter()
            .any(|f| f.household_id == household.id)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "archives opened no household file for the move-in"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Stopping flushes the exporters: the complaint is one trace across two processes.
    processes.stop().await;
    let spans = receiver.spans_named("wuye.customerservice.v1.ComplaintService/CreateComplaint");
    let by = |service: &str| {
        spans
            .iter()
            .find(|s| s.service == service)
            .unwrap_or_else(|| panic!("a span from the {service} process: {spans:#?}"))
    };
    let (gateway_span, service_span) = (by("gateway"), by("customer-service"));
    assert_eq!(gateway_span.trace_id(), service_span.trace_id());
    assert_eq!(service_span.parent_span_id(), gateway_span.span_id());
    assert!(
        receiver
            .latest(
                "wuye.rpc.server.requests",
                &[("service", "gateway"), ("code", "OK")]
            )
            .is_some(),
        "RED metrics from the gateway process"
    );
    std::fs::remove_dir_all(&work).ok();
}
