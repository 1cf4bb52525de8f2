use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use prost::Message;
use tonic::{Code, body::Body, server::NamedService};
use wuye_proto::customerservice::{
    CreateComplaintRequest, ListComplaintsRequest, SendToTeamRequest,
    complaint_service_client::ComplaintServiceClient,
};

use super::*;
use crate::Config;

const CREATE: &str = "/wuye.customerservice.v1.ComplaintService/CreateComplaint";

fn frame(message: &impl Message) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend((bytes.len() as u32).to_be_bytes());
    frame.extend(bytes);
    frame
}

fn quick(attempts: u32) -> Policy {
    Policy {
        attempts,
        first_pause: Duration::from_millis(1),
        longest_pause: Duration::from_millis(4),
    }
}

#[test]
fn only_what_nothing_did_or_an_idempotent_call_is_sent_again() {
    use Idempotency::*;
    let policy = Policy::default();
    for code in [Code::Unavailable, Code::DeadlineExceeded, Code::Aborted] {
        assert!(
            policy.retries(1, Idempotent, Failure::Status(code)),
            "{code:?}"
        );
        assert!(!policy.retries(1, Once, Failure::Status(code)), "{code:?}");
    }
    for code in [
        Code::InvalidArgument,
        Code::FailedPrecondition,
        Code::Internal,
        Code::Unknown,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::Cancelled,
    ] {
        assert!(
            !policy.retries(1, Idempotent, Failure::Status(code)),
            "{code:?}"
        );
    }
    assert!(policy.retries(1, Once, Failure::NotSent));
    // A bounded number of attempts, the first included.
    assert!(policy.retries(3, Idempotent, Failure::NotSent));
    assert!(!policy.retries(4, Idempotent, Failure::NotSent));
    assert!(!Policy::none().retries(1, Idempotent, Failure::NotSent));
}

#[test]
fn pauses_double_up_to_the_longest() {
    let policy = Policy::default();
    for attempt in 1..10 {
        let full = (policy.first_pause * (1 << (attempt - 1))).min(policy.longest_pause);
        let pause = policy.pause(attempt);
        assert!(pause >= full / 2 && pause <= full, "{attempt}: {pause:?}");
    }
    assert!(policy.pause(40) <= policy.longest_pause);
}

#[test]
fn a_request_with_a_request_id_or_a_read_is_idempotent() {
    let create = method(CREATE).expect("in the contracts");
    assert_eq!(create.request_id, 2);
    let with_id = CreateComplaintRequest {
        property_id: "p".into(),
        request_id: "r-1".into(),
        description: "漏水".into(),
        ..Default::default()
    };
    assert_eq!(
        idempotency(&create, &frame(&with_id)),
        Idempotency::Idempotent
    );
    let without = CreateComplaintRequest {
        request_id: String::new(),
        ..with_id
    };
    assert_eq!(idempotency(&create, &frame(&without)), Idempotency::Once);
    // A compressed or broken frame is not looked into.
    let mut compressed = frame(&CreateComplaintRequest {
        request_id: "r-1".into(),
        ..Default::default()
    });
    compressed[0] = 1;
    assert_eq!(idempotency(&create, &compressed), Idempotency::Once);
    assert_eq!(
        idempotency(&create, &[0, 0, 0, 0, 9, 0x12]),
        Idempotency::Once
    );

    let list = method("/wuye.customerservice.v1.ComplaintService/ListComplaints").unwrap();
    assert!(list.read);
    assert_eq!(idempotency(&list, &[]), Idempotency::Idempotent);
    let step = method("/wuye.customerservice.v1.ComplaintService/SendToTeam").unwrap();
    assert_eq!((step.request_id, step.read), (0, false));
    let upload = method("/wuye.archives.v1.DocumentService/UploadDocument").unwrap();
    assert!(upload.streams_in);
    assert_eq!(method("/wuye.nothing.v1.Nothing/Nothing"), None);
}

#[test]
fn the_callers_timeout_is_read() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(timeout(&headers), None);
    for (value, expected) in [
        ("1500m", Duration::from_millis(1500)),
        ("2S", Duration::from_secs(2)),
        ("3M", Duration::from_secs(180)),
        ("7u", Duration::from_micros(7)),
    ] {
        headers.insert("grpc-timeout", value.parse().unwrap());
        assert_eq!(timeout(&headers), Some(expected), "{value}");
    }
    headers.insert("grpc-timeout", "soon".parse().unwrap());
    assert_eq!(timeout(&headers), None);
}

/// A complaint service that refuses every call with `code` and counts them.
#[derive(Clone)]
struct Refusing {
    code: Code,
    calls: Arc<AtomicU32>,
    /// The headers of the last call.
    seen: Arc<std::sync::Mutex<http::HeaderMap>>,
}

impl NamedService for Refusing {
    const NAME: &'static str = "wuye.customerservice.v1.ComplaintService";
}

impl tower::Service<http::Request<Body>> for Refusing {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.seen.lock().unwrap() = request.headers().clone();
        std::future::ready(Ok(tonic::Status::new(self.code, "no").into_http()))
    }
}

async fn serve(code: Code) -> (std::net::SocketAddr, Arc<AtomicU32>) {
    let (addr, service) = serving(code).await;
    (addr, service.calls)
}

async fn serving(code: Code) -> (std::net::SocketAddr, Refusing) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = Refusing {
        code,
        calls: Arc::default(),
        seen: Arc::default(),
    };
    let serve = service.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(serve)
            .serve_with_incoming(tokio_stream_of(listener)),
    );
    (addr, service)
}

#[tokio::test]
async fn a_connection_says_who_calls_and_for_which_property() {
    let (addr, server) = serving(Code::NotFound).await;
    let connection = Config::to(addr)
        .token("t-1")
        .property("p-1")
        .metadata("x-wuye-property", "p-2")
        .lazy()
        .unwrap();
    let mut request = tonic::Request::new(ListComplaintsRequest::default());
    request
        .metadata_mut()
        .insert("authorization", "Bearer other".parse().unwrap());
    let mut client = ComplaintServiceClient::new(connection.clone());
    client.list_complaints(request).await.unwrap_err();
    let seen = |name: &str| -> Vec<String> {
        let headers = server.seen.lock().unwrap();
        let values = headers.get_all(name).iter();
        values.map(|v| v.to_str().unwrap().to_owned()).collect()
    };
    // The connection's token wins; extra metadata is appended as it is.
    assert_eq!(seen("authorization"), ["Bearer t-1"]);
    assert_eq!(seen("x-wuye-property"), ["p-1", "p-2"]);

    let caller = wuye_kit::identity::Caller {
        post_id: String::new(),
        property: Some("p-3".into()),
        ..Default::default()
    };
    let mut client = ComplaintServiceClient::new(connection.calling_as(caller));
    client
        .list_complaints(ListComplaintsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(seen("x-wuye-property"), ["p-3"]);
    assert_eq!(seen("authorization"), ["Bearer t-1"]);

    // Straight to a department: signed as the caller, of the caller's property.
    let signer = wuye_kit::IdentitySettings::default()
        .signer("gateway", true)
        .unwrap();
    let caller = wuye_kit::identity::Caller {
        post_id: String::new(),
        user_id: "u-1".into(),
        property: Some("p-4".into()),
        ..Default::default()
    };
    let signed = Config::to(addr)
        .signed(signer, "customer-service", Some(caller))
        .lazy()
        .unwrap();
    let mut client = ComplaintServiceClient::new(signed);
    client
        .list_complaints(ListComplaintsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(seen("x-wuye-property"), ["p-4"]);
    assert_eq!(seen("x-wuye-identity").len(), 1);
    assert!(seen("authorization").is_empty());
}

fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

#[tokio::test]
async fn a_connection_retries_as_the_policy_says() {
    let (addr, calls) = serve(Code::Unavailable).await;
    let connection = Config::to(addr).retry(quick(3)).lazy().unwrap();
    let mut client = ComplaintServiceClient::new(connection);
    let with_id = CreateComplaintRequest {
        request_id: "r-1".into(),
        ..Default::default()
    };
    let created = client.create_complaint(with_id);
    assert_eq!(attempts(&calls, created).await, 3, "with a request id");
    let created = client.create_complaint(CreateComplaintRequest::default());
    assert_eq!(attempts(&calls, created).await, 1, "without");
    let listed = client.list_complaints(ListComplaintsRequest::default());
    assert_eq!(attempts(&calls, listed).await, 3, "a read");
    let stepped = client.send_to_team(SendToTeamRequest::default());
    assert_eq!(attempts(&calls, stepped).await, 1, "a step");
}

/// How many times the server was called for `call`, which it refuses as unavailable.
async fn attempts<T>(
    calls: &AtomicU32,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> u32 {
    calls.store(0, Ordering::SeqCst);
    let status = call.await.err().expect("refused");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    calls.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_refusal_of_the_rules_is_not_retried() {
    let (addr, calls) = serve(Code::FailedPrecondition).await;
    let mut client = ComplaintServiceClient::new(Config::to(addr).retry(quick(3)).lazy().unwrap());
    let status = client
        .list_complaints(ListComplaintsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_never_made_is_told_apart_and_retried() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut transport = Transport::Plain(Config::to(addr).lazy_channel().unwrap());
    let request = http::Request::builder()
        .uri(format!("http://{addr}{CREATE}"))
        .body(Body::empty())
        .unwrap();
    transport.ready().await.unwrap();
    let error = transport.call(request).await.unwrap_err();
    assert!(never_sent(error.as_ref()), "{error:?}");

    // A call without a request id, sent again: the pauses show the attempts.
    let started = std::time::Instant::now();
    let policy = Policy {
        attempts: 3,
        first_pause: Duration::from_millis(40),
        longest_pause: Duration::from_millis(40),
    };
    let mut client = ComplaintServiceClient::new(Config::to(addr).retry(policy).lazy().unwrap());
    let status = client
        .create_complaint(CreateComplaintRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "{:?}",
        started.elapsed()
    );
}
