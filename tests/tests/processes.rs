//! The deployment's shape for real: the gateway and each department as a process of its own
//! binary, configured only through environment variables (as deploy/k8s and
//! deploy/compose.yaml configure them), each department on its own PostgreSQL database, and
//! exporting to an OTLP endpoint. TLS on every hop, as in production: at the gateway's door,
//! mutual between the gateway and the departments and between departments, and to PostgreSQL
//! (`sslmode=verify-full`). A complaint goes through them, a move-in reaches archives over
//! customer-service's event stream, one trace spans the processes, and every process stops
//! cleanly on SIGTERM.
//!
//! The binaries are the release binaries in CI (`WUYE_BIN_DIR`, set by `.ci/run`), else those
//! of the test's own profile; see `wuye_tests::process`.

mod otlp;

use std::time::Duration;

use wuye_tests::{
    PROPERTY, TlsPostgres,
    process::{DEPARTMENTS, Deployment, Hops, authed, gateway_channel, keys},
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_run_the_complaint_flow_configured_by_the_environment() {
    let receiver = otlp::Receiver::start().await;
    let work = std::env::temp_dir().join(format!("wuye-processes-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&work).unwrap();
    // PostgreSQL with TLS, its certificate from the test run's CA, verified by the departments.
    let postgres = TlsPostgres::start(keys().ca());
    let mut names: Vec<String> = Vec::new();
    let mut databases: [String; DEPARTMENTS.len()] = Default::default();
    for ((name, _, _), url) in DEPARTMENTS.into_iter().zip(&mut databases) {
        let database = postgres.fresh_database(name).await;
        *url = postgres.verified_url(&database, &keys().ca().ca_file());
        names.push(database);
    }
    let Deployment { processes, gateway } =
        Deployment::start_over(&work, &databases, Hops::Tls, |prefix| {
            vec![(
                format!("WUYE_{prefix}__TELEMETRY__OTLP_ENDPOINT"),
                receiver.endpoint(),
            )]
        })
        .await;

    // The complaint flow, through the gateway (over TLS).
    let channel = gateway_channel(gateway, Hops::Tls);
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

    // Every department's connections to its database are encrypted (pg_stat_ssl).
    for ((name, _, _), database) in DEPARTMENTS.iter().zip(&names) {
        let (connections, encrypted) = postgres.connections(database).await;
        assert!(connections > 0, "{name} holds connections to its database");
        assert_eq!(encrypted, connections, "{name}'s connections are TLS");
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
    // Its PostgreSQL statements are child spans of customer-service's span.
    receiver.db_spans_under(service_span, "postgresql");
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
