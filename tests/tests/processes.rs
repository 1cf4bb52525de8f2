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

use std::{net::SocketAddr, time::Duration};

use tonic::transport::Channel;
use wuye_tests::{
    PROPERTY, fresh_postgres_database,
    process::{Processes, authed, department_env, free_port, gateway_env, serving},
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
};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_run_the_complaint_flow_configured_by_the_environment() {
    let receiver = otlp::Receiver::start().await;
    let work = std::env::temp_dir().join(format!("wuye-processes-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&work).unwrap();
    let mut processes = Processes::new();
    let mut upstreams = Vec::new();
    // Addresses first: departments follow each other's event streams.
    let addrs: Vec<SocketAddr> = DEPARTMENTS.iter().map(|_| free_port()).collect();
    for ((name, prefix, package), &addr) in DEPARTMENTS.into_iter().zip(&addrs) {
        let url = fresh_postgres_database(name).await;
        let p = format!("WUYE_{prefix}__");
        let mut env = department_env(prefix, addr, &url, &work);
        env.push((format!("{p}TELEMETRY__OTLP_ENDPOINT"), receiver.endpoint()));
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
            ]);
        }
        processes.spawn(name, &work, env);
        upstreams.push((package, addr));
    }
    let gateway = free_port();
    let mut env = gateway_env(gateway, &upstreams);
    env.push((
        "WUYE_GATEWAY__TELEMETRY__OTLP_ENDPOINT".to_owned(),
        receiver.endpoint(),
    ));
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
