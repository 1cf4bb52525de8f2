//! The gateway when things go wrong (issue 10, reliability): a department down or hanging,
//! the caller's deadline, overload by one caller, oversize messages, and attacks on the token
//! and the property scope — through real gRPC, on SQLite and PostgreSQL.
//!
//! No timing is asserted: outer timeouts only guard against a hang.

use std::{
    convert::Infallible,
    future::Future,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use prost::Message;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_gateway::{Claims, KeyAlgorithm, limits, sign_token};
use wuye_kit::identity::{Caller, PROPERTY_HEADER};
use wuye_tests::{
    Authed, Backend, OTHER_PROPERTY, PROPERTY, Stack, authed, both_backends, config,
    proto::{
        archives::{
            ListHouseholdFilesRequest, household_file_service_client::HouseholdFileServiceClient,
        },
        customerservice::{
            Channel, Complainant, CreateComplaintRequest, GetComplaintRequest,
            ListComplaintsRequest, ListKeySetsRequest, Severity, WatchKeyAlertsRequest,
            complaint_service_client::ComplaintServiceClient, key_service_client::KeyServiceClient,
        },
        engineering::{ListEquipmentRequest, equipment_service_client::EquipmentServiceClient},
        quality::{ListEscalationsRequest, escalation_service_client::EscalationServiceClient},
    },
};

both_backends!(
    a_stopped_department_is_unavailable_until_it_is_back,
    a_hanging_upstream_is_given_up_at_the_deadline,
    one_callers_overload_is_refused_and_spares_the_others,
    oversize_messages_are_refused_before_the_service,
    forged_expired_and_misdirected_calls_are_refused,
);

/// Fails the test if `call` does not return: the only timing a test here relies on.
async fn returns<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call returned instead of hanging")
}

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn create(description: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: PROPERTY.into(),
        request_id: uuid::Uuid::now_v7().to_string(),
        channel: Channel::Visit.into(),
        complainant: Some(Complainant {
            name: "张伟".into(),
            phone: String::new(),
        }),
        unit_id: String::new(),
        category: "卫生".into(),
        description: description.into(),
        severity: Severity::Minor.into(),
        contact_number: 0,
    }
}

fn list(property: &str) -> ListComplaintsRequest {
    ListComplaintsRequest {
        property_id: property.into(),
        ..Default::default()
    }
}

fn get(id: &str) -> GetComplaintRequest {
    GetComplaintRequest {
        property_id: PROPERTY.into(),
        complaint_id: id.into(),
        number: 0,
    }
}

async fn a_stopped_department_is_unavailable_until_it_is_back(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let filed = desk
        .create_complaint(create("楼道灯不亮"))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();

    stack.stop_department("customer-service").await;
    for _ in 0..3 {
        let status = returns(desk.get_complaint(get(&filed.id)))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    // The other departments are not held up by the one that is down.
    EquipmentServiceClient::new(stack.as_role("engineering_manager", PROPERTY))
        .list_equipment(ListEquipmentRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap();

    stack.start_department("customer-service").await;
    let again = returns(desk.get_complaint(get(&filed.id)))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(again.number, filed.number);
    returns(desk.create_complaint(create("电梯异响")))
        .await
        .unwrap();
}

/// An upstream that takes every call and never answers, and notes the `grpc-timeout` it was
/// told.
#[derive(Clone, Default)]
struct Hanging {
    told: Arc<Mutex<Vec<Option<Duration>>>>,
}

impl tonic::server::NamedService for Hanging {
    const NAME: &'static str = "wuye.customerservice.v1.ComplaintService";
}

impl tonic::codegen::Service<http::Request<tonic::body::Body>> for Hanging {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send + 'static>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let told = request
            .headers()
            .get("grpc-timeout")
            .and_then(wuye_gateway::proxy::parse_grpc_timeout);
        self.told.lock().unwrap().push(told);
        Box::pin(std::future::pending())
    }
}

impl Hanging {
    /// Serves on a free port; stops when the returned task is aborted.
    async fn start(&self) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let service = self.clone();
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        (address, task)
    }

    fn told(&self) -> Vec<Option<Duration>> {
        self.told.lock().unwrap().clone()
    }
}

async fn a_hanging_upstream_is_given_up_at_the_deadline(backend: Backend) {
    let stack = Stack::start(backend).await;
    let hanging = Hanging::default();
    let (address, server) = hanging.start().await;
    let upstream = address.clone();

    // The gateway's own timeout: the upstream is given up, UNAVAILABLE.
    let gateway = stack
        .gateway_with(move |s| {
            s.upstreams
                .insert("wuye.customerservice.v1".into(), upstream);
            s.upstream_timeout_ms = 300;
        })
        .await;
    let mut client =
        ComplaintServiceClient::new(stack.via(gateway.address, "front_desk", PROPERTY));
    let status = returns(client.list_complaints(list(PROPERTY)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // The gateway's patience is its own: the upstream is told no deadline (an upload may
    // take longer), the cancelled call tells it the gateway gave up.
    assert_eq!(hanging.told(), [None]);

    // The caller's deadline, sooner than the gateway's hour: the caller's wins, and the
    // upstream is told what is left of it. A gRPC-Web call over HTTP/1.1, so that the
    // answer is the gateway's (a tonic client would give up on its own at the same time).
    let upstream = address.clone();
    let patient = stack
        .gateway_with(move |s| {
            s.upstreams
                .insert("wuye.customerservice.v1".into(), upstream);
            s.upstream_timeout_ms = 3_600_000;
        })
        .await;
    let token = stack.token("front_desk", &[PROPERTY]);
    let (code, _) = returns(grpc_web_call(
        patient.address,
        "/wuye.customerservice.v1.ComplaintService/ListComplaints",
        &token,
        Some("300m"),
        &list(PROPERTY),
    ))
    .await;
    assert_eq!(code, Code::DeadlineExceeded);
    let told = hanging.told();
    assert_eq!(told.len(), 2);
    let told = told[1].expect("a grpc-timeout reached the upstream");
    assert!(
        told > Duration::ZERO && told <= Duration::from_millis(300),
        "{told:?}"
    );
    server.abort();
}

/// A gRPC-Web call over HTTP/1.1: the answer's status code and message bytes.
async fn grpc_web_call(
    gateway: std::net::SocketAddr,
    path: &str,
    token: &str,
    grpc_timeout: Option<&str>,
    message: &impl Message,
) -> (Code, Bytes) {
    let stream = tokio::net::TcpStream::connect(gateway).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let body = message.encode_to_vec();
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(body.len() as u32);
    frame.put_slice(&body);
    let mut call = http::Request::post(path)
        .header(http::header::HOST, gateway.to_string())
        .header(http::header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(PROPERTY_HEADER, PROPERTY);
    if let Some(timeout) = grpc_timeout {
        call = call.header("grpc-timeout", timeout);
    }
    let call = call.body(Full::new(frame.freeze())).unwrap();
    let response = sender.send_request(call).await.unwrap();
    let in_headers = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    let mut body = response.into_body().collect().await.unwrap().to_bytes();
    let (mut data, mut status) = (Bytes::new(), in_headers);
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        let payload = body.split_to(len);
        if flag & 0x80 == 0 {
            data = payload;
            continue;
        }
        let trailers = String::from_utf8(payload.to_vec()).unwrap();
        status = trailers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("grpc-status")
                .then(|| value.trim().parse().ok())?
        });
    }
    (Code::from(status.expect("a grpc-status")), data)
}

async fn one_callers_overload_is_refused_and_spares_the_others(backend: Backend) {
    let stack = Stack::start(backend).await;
    let gateway = stack
        .gateway_with(|s| {
            s.limits = limits::LimitSettings {
                max_concurrent_per_caller: 1,
                // Next to nothing refills during the test: the burst is the allowance.
                rate_per_caller: 0.001,
                burst_per_caller: 6,
                ..Default::default()
            };
        })
        .await;
    let complaints = |user: &str| {
        ComplaintServiceClient::new(stack.via_user(gateway.address, "cs_clerk", user, PROPERTY))
    };
    let keys = |user: &str| {
        KeyServiceClient::new(stack.via_user(gateway.address, "cs_clerk", user, PROPERTY))
    };

    // Concurrency: a stream in progress is a call in progress.
    let alerts = returns(keys("clerk-a").watch_key_alerts(WatchKeyAlertsRequest {
        property_id: PROPERTY.into(),
        after_seq: 0,
    }))
    .await
    .unwrap();
    let status = returns(complaints("clerk-a").list_complaints(list(PROPERTY)))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::ResourceExhausted, limits::CALLER_CONCURRENCY_EXCEEDED)
    );
    // Another caller is served meanwhile.
    returns(complaints("clerk-b").list_complaints(list(PROPERTY)))
        .await
        .unwrap();
    // The stream's end frees the caller's place.
    drop(alerts);
    wuye_tests::eventually(
        "clerk-a is served again",
        Duration::from_secs(30),
        || async {
            complaints("clerk-a")
                .list_complaints(list(PROPERTY))
                .await
                .ok()
        },
    )
    .await;

    // Rate: a burst of one caller beyond its allowance is refused at once, with when to
    // retry; the other caller still gets through during the burst.
    let burst = futures::future::join_all(
        (0..20).map(|_| async { complaints("clerk-c").list_complaints(list(PROPERTY)).await }),
    );
    let mut other = complaints("clerk-b");
    let (burst, other) =
        returns(async { tokio::join!(burst, other.list_complaints(list(PROPERTY))) }).await;
    other.unwrap();
    let served = burst.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<&Status> = burst.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!((1..=6).contains(&served), "{served} served");
    assert_eq!(served + refused.len(), 20);
    for status in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(
            [
                limits::CALLER_RATE_EXCEEDED,
                limits::CALLER_CONCURRENCY_EXCEEDED
            ]
            .contains(&reason(status).as_str()),
            "{status:?}"
        );
    }
    // Once its allowance is spent, the caller is told to slow down and when to retry. A call
    // that follows another at once may still find that one's place taken (its answer is sent
    // a moment before its place is freed): those are refused for concurrency and spend
    // nothing, so call until the allowance is gone.
    let mut status = None;
    for _ in 0..100 {
        match complaints("clerk-c").list_complaints(list(PROPERTY)).await {
            Err(s) if reason(&s) == limits::CALLER_RATE_EXCEEDED => {
                status = Some(s);
                break;
            }
            Err(s) => assert_eq!(reason(&s), limits::CALLER_CONCURRENCY_EXCEEDED, "{s:?}"),
            Ok(_) => {}
        }
    }
    let status = status.expect("the allowance runs out");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status
            .get_details_retry_info()
            .unwrap()
            .retry_delay
            .is_some()
    );
    returns(complaints("clerk-d").list_complaints(list(PROPERTY)))
        .await
        .unwrap();
}

/// A client straight to customer-service, as the gateway would call it.
fn direct(stack: &Stack) -> ComplaintServiceClient<wuye_tests::AsGateway> {
    ComplaintServiceClient::new(stack.as_gateway(
        "customer-service",
        Caller {
            post_id: String::new(),
            user_id: "u1".into(),
            name: "王芳".into(),
            role: "front_desk".into(),
            property: Some(PROPERTY.into()),
            ..Default::default()
        },
    ))
}

async fn oversize_messages_are_refused_before_the_service(backend: Backend) {
    let stack = Stack::start(backend).await;
    // Over the default 4 MiB.
    let huge = "投".repeat(2_000_000);

    // With customer-service down, a forwarded call would be UNAVAILABLE: the refusal is the
    // gateway's own, before any upstream.
    stack.stop_department("customer-service").await;
    let status = returns(
        stack
            .complaints("front_desk")
            .create_complaint(create(&huge)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::ResourceExhausted, "MESSAGE_TOO_LARGE"),
        "{status:?}"
    );
    stack.start_department("customer-service").await;

    // The service has the same limit of its own.
    let status = returns(direct(&stack).create_complaint(create(&huge)))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::ResourceExhausted, "MESSAGE_TOO_LARGE"),
        "{status:?}"
    );
    // Nothing was written.
    let listed = returns(
        stack
            .complaints("front_desk")
            .list_complaints(list(PROPERTY)),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(listed.complaints.is_empty());

    // Answers are bounded too: a gateway taking and giving at most 1 KiB passes small calls
    // and refuses an answer over it.
    let filed = stack
        .complaints("front_desk")
        .create_complaint(create(&"水管漏水".repeat(150)))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    let small = stack.gateway_with(|s| s.max_message_bytes = 1024).await;
    let via_small =
        || ComplaintServiceClient::new(stack.via(small.address, "front_desk", PROPERTY));
    let status = returns(via_small().get_complaint(get(&filed.id)))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::ResourceExhausted, "MESSAGE_TOO_LARGE"),
        "{status:?}"
    );
    let status = returns(via_small().create_complaint(create(&"漏".repeat(400))))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    returns(
        KeyServiceClient::new(stack.via(small.address, "cs_clerk", PROPERTY)).list_key_sets(
            ListKeySetsRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();
}

/// Another Ed25519 key, which the gateway does not trust.
const OTHER_PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFcA0dNa5Bj9WqZmeJTQCHNcb7cubmTvgM2+nkVJbIB4
-----END PRIVATE KEY-----
";

fn dev_key() -> Vec<u8> {
    std::fs::read(wuye_tests::repo_root().join("deploy/dev-keys/jwt-ed25519.pem")).unwrap()
}

fn with_token(gateway: std::net::SocketAddr, token: &str) -> Authed {
    authed(gateway, Some(token.to_owned()), Some(PROPERTY))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn forged_expired_and_misdirected_calls_are_refused(backend: Backend) {
    let stack = Stack::start(backend).await;
    let claims = Claims::new(
        "u1",
        "王芳",
        "front_desk",
        &[PROPERTY.to_owned()],
        Duration::from_secs(600),
    );

    // Signed with a key the gateway does not trust, under the trusted key's kid.
    let foreign = sign_token(
        KeyAlgorithm::EdDSA,
        OTHER_PRIVATE_KEY_PEM.as_bytes(),
        "dev-1",
        &claims,
    )
    .unwrap();
    let status = ComplaintServiceClient::new(with_token(stack.gateway, &foreign))
        .list_complaints(list(PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // A token that worked is refused once expired (no clock skew allowed by this gateway).
    let strict = stack.gateway_with(|s| s.auth.leeway_secs = 0).await;
    let mut short = claims.clone();
    short.exp = unix_now() + 2;
    let short = sign_token(KeyAlgorithm::EdDSA, &dev_key(), "dev-1", &short).unwrap();
    let mut client = ComplaintServiceClient::new(with_token(strict.address, &short));
    client.list_complaints(list(PROPERTY)).await.unwrap();
    while unix_now() <= claims.iat + 3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = client.list_complaints(list(PROPERTY)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // The metadata names the caller's property, the message another: every department
    // refuses it, and passes the same call for the right property.
    let front_desk = stack.as_role("front_desk", PROPERTY);
    let clerk = stack.as_role("cs_clerk", PROPERTY);
    let manager = stack.as_role("project_manager", PROPERTY);
    for property in [OTHER_PROPERTY, PROPERTY] {
        let results: Vec<(&str, Result<(), Status>)> = vec![
            (
                "customer service",
                KeyServiceClient::new(clerk.clone())
                    .list_key_sets(ListKeySetsRequest {
                        property_id: property.into(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
            ),
            (
                "engineering",
                EquipmentServiceClient::new(front_desk.clone())
                    .list_equipment(ListEquipmentRequest {
                        property_id: property.into(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
            ),
            (
                "archives",
                HouseholdFileServiceClient::new(clerk.clone())
                    .list_household_files(ListHouseholdFilesRequest {
                        property_id: property.into(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
            ),
            (
                "quality",
                EscalationServiceClient::new(manager.clone())
                    .list_escalations(ListEscalationsRequest {
                        property_id: property.into(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
            ),
        ];
        for (department, result) in results {
            if property == PROPERTY {
                result.unwrap_or_else(|e| panic!("{department}: {e:?}"));
                continue;
            }
            let status = result.unwrap_err();
            assert_eq!(
                (status.code(), reason(&status).as_str()),
                (Code::PermissionDenied, "PROPERTY_MISMATCH"),
                "{department}: {status:?}"
            );
        }
    }

    // Two properties in the metadata: the gateway authorizes the first and passes on only
    // that one, so a second cannot smuggle another property through.
    let token = stack.token("front_desk", &[PROPERTY]);
    let mut smuggler = ComplaintServiceClient::new(
        config(stack.gateway)
            .token(token)
            .metadata(PROPERTY_HEADER, PROPERTY)
            .metadata(PROPERTY_HEADER, OTHER_PROPERTY)
            .lazy()
            .unwrap(),
    );
    let status = smuggler
        .list_complaints(list(OTHER_PROPERTY))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "PROPERTY_MISMATCH"),
        "{status:?}"
    );
    smuggler.list_complaints(list(PROPERTY)).await.unwrap();
}
