//! Crash safety: customer-service, a process of its own behind a gateway process, is killed
//! with SIGKILL while several callers file complaints through the gateway. After it starts
//! again on its database, every complaint a caller saw acknowledged is there, and retrying the
//! unacknowledged requests with their request ids leaves the numbers of the call and visit
//! log gapless (CMP-2): exactly 1..N for N distinct requests, none twice.
//!
//! Needs the built binaries, as `tests/tests/processes.rs` does (see `wuye_tests::process`).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use wuye_tests::{
    Backend, PROPERTY, both_backends, fresh_postgres_database,
    process::{Processes, authed, authed_as, department_env, free_port, gateway_env, serving},
    proto::customerservice::{
        Channel as ContactChannel, Complainant, Complaint, CreateComplaintRequest,
        GetComplaintRequest, ListComplaintsRequest, Severity,
        complaint_service_client::ComplaintServiceClient,
    },
};

/// Concurrent callers of the intake load.
const CALLERS: usize = 8;
/// Complaints acknowledged before the kill, and again after the restart before the load ends.
const BEFORE_KILL: usize = 60;
const AFTER_RESTART: usize = 40;

/// The request of `request_id`: the same message each time it is sent, as a client's retry.
fn complaint_request(request_id: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        channel: ContactChannel::Phone.into(),
        complainant: Some(Complainant {
            name: "王芳".into(),
            phone: "139 0000 0000".into(),
        }),
        category: "公共秩序".into(),
        description: format!("夜间噪音 {request_id}"),
        severity: Severity::General.into(),
        ..Default::default()
    }
}

/// What the callers saw: the complaint of each acknowledged request, and the requests that
/// failed (their complaint may or may not have been committed).
#[derive(Default)]
struct Seen {
    acknowledged: BTreeMap<String, Complaint>,
    unacknowledged: BTreeSet<String>,
}

async fn a_killed_service_loses_no_acknowledged_complaint_and_no_number(backend: Backend) {
    let work = std::env::temp_dir().join(format!("wuye-crashes-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&work).unwrap();
    let url = match backend {
        // Empty: the SQLite file in the data directory.
        Backend::Sqlite => String::new(),
        Backend::Postgres => fresh_postgres_database("customer-service").await,
    };
    let (service, gateway) = (free_port(), free_port());
    let mut env = department_env("CUSTOMER_SERVICE", service, &url, &work);
    // Engineering and the directory are not part of this test: nothing listens there, so no
    // repair events come (and intake names no staff).
    for peer in ["ENGINEERING", "DIRECTORY"] {
        env.push((
            format!("WUYE_CUSTOMER_SERVICE__PEERS__{peer}"),
            format!("http://{}", free_port()),
        ));
    }
    let mut processes = Processes::new();
    processes.spawn("customer-service", &work, env);
    processes.spawn(
        "gateway",
        &work,
        gateway_env(gateway, &[("wuye.customerservice.v1", service)]),
    );
    serving("customer-service", service).await;
    serving("gateway", gateway).await;

    let channel = wuye_tests::channel(gateway);
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (channel, seen, acknowledged, stop) = (
                channel.clone(),
                seen.clone(),
                acknowledged.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut complaints = ComplaintServiceClient::new(channel);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let request_id = format!("crash-{caller}-{i}");
                    debug_assert_eq!(sender(&request_id), format!("front-desk-{caller}"));
                    // A bound so that a call the kill strands cannot hold the load up; such a
                    // call counts as unacknowledged, as for a client that gave up.
                    let answer = tokio::time::timeout(
                        Duration::from_secs(20),
                        complaints.create_complaint(authed_as(
                            complaint_request(&request_id),
                            "front_desk",
                            &format!("front-desk-{caller}"),
                        )),
                    )
                    .await;
                    match answer {
                        Ok(Ok(response)) => {
                            let complaint = response.into_inner().complaint.unwrap();
                            seen.lock()
                                .unwrap()
                                .acknowledged
                                .insert(request_id, complaint);
                            acknowledged.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Err(status)) => {
                            assert!(
                                matches!(
                                    status.code(),
                                    tonic::Code::Unavailable
                                        | tonic::Code::Unknown
                                        | tonic::Code::Internal
                                        | tonic::Code::Cancelled
                                        | tonic::Code::DeadlineExceeded
                                        // A gateway bounding each caller: retried below.
                                        | tonic::Code::ResourceExhausted
                                ),
                                "only the crash may fail a call: {status:?}"
                            );
                            seen.lock().unwrap().unacknowledged.insert(request_id);
                            // The service is down: do not spin.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(_) => {
                            seen.lock().unwrap().unacknowledged.insert(request_id);
                        }
                    }
                }
            })
        })
        .collect();

    let reach = |count: usize| {
        let acknowledged = acknowledged.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while acknowledged.load(Ordering::Relaxed) < count {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the load did not reach {count} acknowledged complaints"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    reach(BEFORE_KILL).await;
    // kill -9 in the middle of the load: calls are in flight.
    processes.kill("customer-service").await;
    let at_kill = acknowledged.load(Ordering::Relaxed);
    // Let the callers meet the dead service before it comes back.
    let failures = || seen.lock().unwrap().unacknowledged.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while failures() < CALLERS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the callers never saw the service down"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    processes.respawn("customer-service");
    serving("customer-service", service).await;
    reach(at_kill + AFTER_RESTART).await;
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await.expect("a caller ran to its end");
    }
    let Seen {
        mut acknowledged,
        unacknowledged,
    } = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        !unacknowledged.is_empty(),
        "the kill failed no call: it did not happen during the load"
    );
    eprintln!(
        "{} complaints acknowledged ({at_kill} before the kill), {} requests unacknowledged",
        acknowledged.len(),
        unacknowledged.len()
    );

    let mut complaints = ComplaintServiceClient::new(channel);
    // Every acknowledged complaint is there, by id and by number, as it was acknowledged
    // (read by several callers at once, as the load was written).
    futures::stream::iter(acknowledged.iter())
        .for_each_concurrent(CALLERS, |(request_id, complaint)| {
            let mut complaints = complaints.clone();
            async move {
                let by_id = complaints
                    .get_complaint(authed(
                        GetComplaintRequest {
                            property_id: PROPERTY.into(),
                            complaint_id: complaint.id.clone(),
                            ..Default::default()
                        },
                        "cs_supervisor",
                    ))
                    .await
                    .unwrap_or_else(|e| panic!("acknowledged {request_id} is lost: {e:?}"))
                    .into_inner()
                    .complaint
                    .unwrap();
                assert_eq!(by_id.number, complaint.number);
                assert_eq!(by_id.description, format!("夜间噪音 {request_id}"));
                let by_number = complaints
                    .get_complaint(authed(
                        GetComplaintRequest {
                            property_id: PROPERTY.into(),
                            number: complaint.number,
                            ..Default::default()
                        },
                        "cs_supervisor",
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .complaint
                    .unwrap();
                assert_eq!(by_number.id, complaint.id);
            }
        })
        .await;

    // Retrying each unacknowledged request, as the caller who sent it (a request id is its
    // caller's own), finds the complaint it committed or registers it.
    for request_id in &unacknowledged {
        let complaint = complaints
            .create_complaint(authed_as(
                complaint_request(request_id),
                "front_desk",
                &sender(request_id),
            ))
            .await
            .unwrap_or_else(|e| panic!("retry of {request_id}: {e:?}"))
            .into_inner()
            .complaint
            .unwrap();
        assert_eq!(complaint.description, format!("夜间噪音 {request_id}"));
        acknowledged.insert(request_id.clone(), complaint);
    }
    // A retry of an acknowledged request answers its complaint again, not a new one.
    let (request_id, first) = acknowledged.iter().next().unwrap();
    let again = complaints
        .create_complaint(authed_as(
            complaint_request(request_id),
            "front_desk",
            &sender(request_id),
        ))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(
        (again.id.as_str(), again.number),
        (first.id.as_str(), first.number)
    );

    // The whole log: exactly 1..N for the N distinct requests, each its own number.
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = complaints
            .list_complaints(authed(
                ListComplaintsRequest {
                    property_id: PROPERTY.into(),
                    page_size: 500,
                    page_token,
                    ..Default::default()
                },
                "cs_supervisor",
            ))
            .await
            .unwrap()
            .into_inner();
        listed.extend(page.complaints);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let n = acknowledged.len() as i64;
    let mut numbers: Vec<i64> = listed.iter().map(|c| c.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=n).collect::<Vec<_>>(), "numbers are 1..{n}");
    let by_request: BTreeSet<i64> = acknowledged.values().map(|c| c.number).collect();
    assert_eq!(
        by_request.len() as i64,
        n,
        "each request has its own number"
    );
    let listed_ids: BTreeSet<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    let request_ids: BTreeSet<&str> = acknowledged.values().map(|c| c.id.as_str()).collect();
    assert_eq!(listed_ids, request_ids);

    processes.stop().await;
    std::fs::remove_dir_all(&work).ok();
}

both_backends!(a_killed_service_loses_no_acknowledged_complaint_and_no_number);

/// The user who sent the request `crash-<caller>-<i>`.
fn sender(request_id: &str) -> String {
    let caller = request_id
        .strip_prefix("crash-")
        .and_then(|rest| rest.rsplit_once('-'))
        .map(|(caller, _)| caller)
        .expect("a request id of the load");
    format!("front-desk-{caller}")
}
