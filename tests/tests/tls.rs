//! TLS on every hop, through real gRPC: a department serves mutual TLS and refuses, in the
//! handshake, clients without a certificate of the deployment's CA and plaintext; the gateway
//! serves gRPC over TLS (h2) and gRPC-Web over HTTPS (HTTP/1.1 by ALPN) and calls its upstreams
//! over mutual TLS, a department follows another's events over mutual TLS, and a department
//! reaches PostgreSQL over TLS with the server verified (`sslmode=verify-full`). Certificates
//! come from a CA of each test's own (rcgen).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::{Buf as _, BufMut as _, BytesMut};
use http_body_util::{BodyExt as _, Full};
use prost::Message as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tokio_rustls::{
    TlsConnector,
    rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName},
};
use tonic::{
    Code,
    transport::{Channel, ClientTlsConfig},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use wuye_kit::{
    Deps, ServiceSettings,
    identity::{Caller, PROPERTY_HEADER},
    server::Server,
};
use wuye_tests::{
    Authed, PROPERTY, TlsPostgres, deploy_properties, eventually,
    pki::{self, Ca, Leaf},
    proto::{
        archives::{
            ListHouseholdFilesRequest, household_file_service_client::HouseholdFileServiceClient,
        },
        customerservice::{
            CreateUnitRequest, ListComplaintsRequest, RecordMoveInRequest, Resident,
            ResidentRelation, household_service_client::HouseholdServiceClient,
        },
        quality::{ListEscalationsRequest, escalation_service_client::EscalationServiceClient},
    },
};

/// The DNS name a department's certificate carries in the first test (and not 127.0.0.1).
const QUALITY_NAME: &str = "quality.wuye.test";

fn department_settings(data_dir: &std::path::Path) -> ServiceSettings {
    let mut settings = ServiceSettings {
        dev: true,
        ..ServiceSettings::default()
    };
    settings.database.data_dir = data_dir.to_owned();
    settings.database.max_connections = 4;
    settings.jobs_interval_ms = 50;
    // Quality asks the directory about assignees; nothing listens there in these tests.
    settings
        .peers
        .insert("directory".into(), "http://127.0.0.1:9".into());
    settings
}

fn deps() -> Deps {
    Deps {
        clock: Arc::new(wuye_kit::clock::SystemClock),
        properties: deploy_properties(),
    }
}

fn temp_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wuye-tls-{what}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `server` until `stop` says so.
fn spawn(server: Server, stop: &watch::Sender<bool>) {
    let mut stop = stop.subscribe();
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        server.run_until(stopped).await.expect("the server runs");
    });
}

async fn health(channel: Channel) -> Result<(), tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
}

/// A rustls client trusting `ca` (PEM), presenting `leaf` when given, offering `alpn`.
fn rustls_client(ca: &str, leaf: Option<&Leaf>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(wuye_kit::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match leaf {
        Some(leaf) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS connection to `addr` for `name`, through the handshake and one exchange of HTTP/2
/// (the client's preface out, the server's first frame in): a server refusing the client's
/// certificate says so with an alert that arrives by then (TLS 1.3 sends it after the
/// client's last flight). The protocol ALPN settled on, or the error.
async fn tls_exchange(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<Option<Vec<u8>>> {
    let tcp = TcpStream::connect(addr).await?;
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let mut tls = TlsConnector::from(config).connect(server_name, tcp).await?;
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await?;
    tls.flush().await?;
    let mut first = [0u8; 9];
    tls.read_exact(&mut first).await?;
    assert_eq!(first[3], 4, "the server's first frame is its SETTINGS");
    Ok(alpn)
}

/// Quality with mutual TLS, its certificate naming only `QUALITY_NAME`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_with_mutual_tls_serves_only_clients_the_ca_signed() {
    let ca = Ca::new("wuye");
    let other = Ca::new("other");
    let dir = temp_dir("department");
    let mut settings = department_settings(&dir);
    let own = ca.issue_for("quality", &[QUALITY_NAME]);
    settings.tls = wuye_kit::tls::TlsSettings {
        cert_file: own.cert_file.clone(),
        key_file: own.key_file.clone(),
        ca_file: ca.ca_file(),
    };
    // Quality asks the directory about assignees; with TLS its peers are https.
    settings
        .peers
        .insert("directory".into(), "https://localhost:9".into());
    // Probes that cannot speak TLS (the kubelet's) check health on a port of their own.
    settings.health_listen = "127.0.0.1:0".into();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = wuye_quality::build(settings, listener, deps())
        .await
        .expect("quality builds with TLS");
    let probes = server.health_addr().expect("a health listener");
    let (stop, _) = watch::channel(false);
    spawn(server, &stop);

    let gateway = ca.issue("gateway");
    let named = |config: ClientTlsConfig| pki::channel(addr, config.domain_name(QUALITY_NAME));

    // A client with a certificate of the CA: a real call, with the gateway's signed identity.
    let caller = Caller {
        post_id: String::new(),
        user_id: "q-1".into(),
        name: "品质专员".into(),
        role: "quality_officer".into(),
        property: Some(PROPERTY.into()),
        ..Default::default()
    };
    let mut escalations = EscalationServiceClient::new(
        pki::config(addr, ca.client(Some(&gateway)).domain_name(QUALITY_NAME))
            .signed(
                wuye_kit::IdentitySettings::default()
                    .signer("gateway", true)
                    .unwrap(),
                "quality",
                Some(caller),
            )
            .lazy()
            .unwrap(),
    );
    let listed = escalations
        .list_escalations(ListEscalationsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .expect("a client with a certificate of the CA is served");
    assert!(listed.into_inner().escalations.is_empty());
    health(named(ca.client(Some(&gateway)))).await.unwrap();
    assert_eq!(
        tls_exchange(
            addr,
            QUALITY_NAME,
            rustls_client(&ca.pem(), Some(&gateway), &[b"h2", b"http/1.1"])
        )
        .await
        .expect("the handshake with a certificate of the CA"),
        Some(b"h2".to_vec()),
        "a department speaks h2 only"
    );

    // Refused: no certificate, a certificate of another CA, plaintext.
    let intruder = other.issue("intruder");
    for (what, channel) in [
        ("no client certificate", named(ca.client(None))),
        (
            "a certificate of another CA",
            named(ca.client(Some(&intruder))),
        ),
        ("plaintext", wuye_tests::channel(addr)),
    ] {
        let refused = health(channel).await.expect_err(what);
        // A plaintext client reads the server's TLS bytes as a broken HTTP/2 frame: INTERNAL.
        assert!(
            matches!(
                refused.code(),
                Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal
            ),
            "{what}: {refused:?}"
        );
    }
    for (what, leaf) in [
        ("no client certificate", None),
        ("a certificate of another CA", Some(&intruder)),
    ] {
        let refused = tls_exchange(addr, QUALITY_NAME, rustls_client(&ca.pem(), leaf, &[b"h2"]))
            .await
            .expect_err(what);
        let message = refused.to_string();
        assert!(
            message.contains("CertificateRequired")
                || message.contains("UnknownCA")
                || message.contains("BadCertificate"),
            "{what}: the server's alert, got {message}"
        );
    }
    // The client verifies the server too: against the CA, and the name of the address.
    let unknown = health(pki::channel(
        addr,
        other
            .client(Some(&gateway))
            .domain_name(QUALITY_NAME.to_owned()),
    ))
    .await
    .expect_err("a server of another CA");
    assert_eq!(unknown.code(), Code::Unavailable, "{unknown:?}");
    let misnamed = health(pki::channel(addr, ca.client(Some(&gateway))))
        .await
        .expect_err("127.0.0.1 is not a name of quality's certificate");
    assert_eq!(misnamed.code(), Code::Unavailable, "{misnamed:?}");
    let misnamed = tls_exchange(
        addr,
        "127.0.0.1",
        rustls_client(&ca.pem(), Some(&gateway), &[b"h2"]),
    )
    .await
    .expect_err("not its name");
    assert!(
        misnamed.to_string().contains("not valid for name"),
        "{misnamed}"
    );

    // The probes' port: health in plaintext, and nothing else.
    health(wuye_tests::channel(probes))
        .await
        .expect("health in plaintext on the probes' port");
    let mut around = EscalationServiceClient::new(wuye_tests::channel(probes));
    let refused = around
        .list_escalations(ListEscalationsRequest::default())
        .await
        .expect_err("only health on the probes' port");
    assert_eq!(refused.code(), Code::Unimplemented, "{refused:?}");
    let _ = stop.send(true);
    std::fs::remove_dir_all(&dir).ok();
}

/// Every department and the gateway in-process, TLS on every hop: mutual between the gateway
/// and the departments and between departments, TLS at the gateway's door.
struct TlsStack {
    ca: Ca,
    gateway: SocketAddr,
    stop: watch::Sender<bool>,
    dir: std::path::PathBuf,
}

impl TlsStack {
    async fn start() -> TlsStack {
        let ca = Ca::new("wuye");
        let dir = temp_dir("stack");
        let mut listeners = Vec::new();
        for (package, name) in wuye::DEPARTMENTS {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listeners.push((package, name, listener));
        }
        let addresses: Vec<(&str, &str, String)> = listeners
            .iter()
            .map(|(package, name, l)| {
                (
                    *package,
                    *name,
                    format!("https://{}", l.local_addr().unwrap()),
                )
            })
            .collect();
        let peers: std::collections::BTreeMap<String, String> = addresses
            .iter()
            .map(|(_, name, address)| (name.to_string(), address.clone()))
            .collect();
        let (stop, _) = watch::channel(false);
        for (_, name, listener) in listeners {
            let mut settings = department_settings(&dir);
            settings.tls = ca.settings(name);
            settings.peers = peers.clone();
            let server = wuye::build_department(name, settings, listener, deps())
                .await
                .unwrap_or_else(|e| panic!("{name} builds with TLS: {e:#}"));
            spawn(server, &stop);
        }
        let mut gateway_settings = wuye_tests::gateway_settings();
        gateway_settings.tls = ca.settings("gateway");
        gateway_settings.upstreams = addresses
            .iter()
            .map(|(package, _, address)| (package.to_string(), address.clone()))
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = listener.local_addr().unwrap();
        let server = wuye_gateway::build(gateway_settings, listener)
            .await
            .expect("the gateway builds with TLS");
        spawn(server, &stop);
        TlsStack {
            ca,
            gateway,
            stop,
            dir,
        }
    }

    /// Calls to the gateway over TLS, as an app makes them: the CA trusted, no certificate.
    fn config(&self) -> wuye_client::Config {
        pki::config(self.gateway, self.ca.client(None))
    }

    fn token(&self, role: &str) -> String {
        wuye_gateway::sign_dev_token(
            role,
            &[PROPERTY.to_owned()],
            &format!("{role}-1"),
            "测试员",
            Duration::from_secs(600),
        )
        .unwrap()
    }

    fn as_role(&self, role: &str) -> Authed {
        self.config()
            .token(self.token(role))
            .property(PROPERTY)
            .lazy()
            .unwrap()
    }
}

impl Drop for TlsStack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A gRPC-Web call over `io` with HTTP/1.1: the answer's grpc-status.
async fn grpc_web_over_http1<IO>(io: IO, host: &str, token: &str) -> Code
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(connection);
    let body = ListComplaintsRequest {
        property_id: PROPERTY.into(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(body.len() as u32);
    frame.put_slice(&body);
    let call = http::Request::post("/wuye.customerservice.v1.ComplaintService/ListComplaints")
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(PROPERTY_HEADER, PROPERTY)
        .body(Full::new(frame.freeze()))
        .unwrap();
    let response = sender.send_request(call).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let in_headers = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    let mut body = response.into_body().collect().await.unwrap().to_bytes();
    let mut status = in_headers;
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        let payload = body.split_to(len);
        if flag & 0x80 != 0 {
            let trailers = String::from_utf8(payload.to_vec()).unwrap();
            status = trailers.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("grpc-status")
                    .then(|| value.trim().parse().ok())?
            });
        }
    }
    Code::from(status.expect("a grpc-status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_tls_and_forwards_over_mutual_tls_end_to_end() {
    let stack = TlsStack::start().await;

    // gRPC over TLS (h2): a unit and a move-in through the gateway to customer-service.
    let mut households = HouseholdServiceClient::new(stack.as_role("cs_clerk"));
    let unit = households
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: "tls-unit".into(),
            building: "3".into(),
            entrance: "1".into(),
            floor: 2,
            room: "0201".into(),
            area_m2: 90.0,
            state: 0,
        })
        .await
        .expect("a call through the TLS gateway to customer-service over mutual TLS")
        .into_inner()
        .unit
        .unwrap();
    let household = households
        .record_move_in(RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: "tls-move-in".into(),
            unit_id: unit.id,
            residents: vec![Resident {
                name: "陈静".into(),
                relation: ResidentRelation::Owner.into(),
                phone: "139 0000 0000".into(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .expect("record a move-in")
        .into_inner()
        .household
        .unwrap();
    // Archives follows customer-service's move-ins over mutual TLS and opens the file; the
    // gateway reads it from archives over mutual TLS.
    let files = HouseholdFileServiceClient::new(stack.as_role("cs_clerk"));
    eventually(
        "archives opens the household file",
        Duration::from_secs(30),
        || {
            let mut files = files.clone();
            let household = household.id.clone();
            async move {
                let listed = files
                    .list_household_files(ListHouseholdFilesRequest {
                        property_id: PROPERTY.into(),
                        page_size: 100,
                        ..Default::default()
                    })
                    .await
                    .expect("list household files")
                    .into_inner();
                listed
                    .household_files
                    .iter()
                    .any(|f| f.household_id == household)
                    .then_some(())
            }
        },
    )
    .await;

    // The command-line client reaches the TLS gateway with the CA it is given.
    let cli = |ca: Option<std::path::PathBuf>| wuye::connect::Target {
        gateway: format!("https://127.0.0.1:{}", stack.gateway.port()),
        token: Some(stack.token("cs_clerk")),
        property: PROPERTY.into(),
        ca,
        post: None,
    };
    let channel = cli(Some(stack.ca.ca_file()))
        .channel()
        .await
        .expect("the CLI's channel to the TLS gateway");
    HouseholdServiceClient::new(channel)
        .list_units(wuye_tests::proto::customerservice::ListUnitsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .expect("the CLI calls over TLS");
    let Err(err) = cli(None).channel().await else {
        panic!("no CA, no call")
    };
    assert!(err.to_string().contains("WUYE_GATEWAY_CA"), "{err}");

    // ALPN: h2 when the client offers it, HTTP/1.1 for a client that speaks only that.
    let ca = stack.ca.pem();
    let offered_both = tls_exchange(
        stack.gateway,
        "127.0.0.1",
        rustls_client(&ca, None, &[b"h2", b"http/1.1"]),
    )
    .await
    .expect("TLS to the gateway without a client certificate");
    assert_eq!(offered_both, Some(b"h2".to_vec()));

    // gRPC-Web over HTTPS with HTTP/1.1, as a browser may speak it.
    let tcp = TcpStream::connect(stack.gateway).await.unwrap();
    let tls = TlsConnector::from(rustls_client(&ca, None, &[b"http/1.1"]))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("TLS with ALPN http/1.1 only");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let code = grpc_web_over_http1(tls, &stack.gateway.to_string(), &stack.token("cs_clerk")).await;
    assert_eq!(
        code,
        Code::Ok,
        "gRPC-Web over HTTPS/1.1 through the gateway"
    );

    // Plaintext to the TLS gateway is refused.
    let plaintext = health(wuye_tests::channel(stack.gateway))
        .await
        .expect_err("plaintext to a TLS gateway");
    // A plaintext client reads the server's TLS bytes as a broken HTTP/2 frame: INTERNAL.
    assert!(
        matches!(
            plaintext.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Internal
        ),
        "{plaintext:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_in_part_or_mixed_with_plaintext_addresses_stops_the_start() {
    let ca = Ca::new("wuye");
    let dir = temp_dir("start");
    let full = ca.settings("quality");

    // A department with a certificate and no key nor CA names what is missing.
    let mut settings = department_settings(&dir);
    settings.tls.cert_file = full.cert_file.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = format!(
        "{:#}",
        wuye_quality::build(settings, listener, deps())
            .await
            .err()
            .expect("refused")
    );
    assert!(
        err.contains("WUYE_QUALITY__TLS__KEY_FILE") && err.contains("WUYE_QUALITY__TLS__CA_FILE"),
        "{err}"
    );

    // A key that is not the certificate's.
    let mut settings = settings_with(&dir, &full);
    settings.tls.key_file = ca.issue("someone-else").key_file;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = format!(
        "{:#}",
        wuye_quality::build(settings, listener, deps())
            .await
            .err()
            .expect("refused")
    );
    assert!(err.contains("tls.key_file"), "{err}");

    // A follower with TLS and a plaintext peer address: refused, not sent in clear.
    let mut settings = settings_with(&dir, &ca.settings("archives"));
    settings
        .peers
        .insert("customer-service".into(), "http://127.0.0.1:1".into());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = format!(
        "{:#}",
        wuye::build_department("archives", settings, listener, deps())
            .await
            .err()
            .expect("refused")
    );
    assert!(
        err.contains("peers.customer-service") && err.contains("https://"),
        "{err}"
    );

    // The gateway: TLS in part, and TLS with plaintext upstreams.
    let mut gateway = wuye_tests::gateway_settings();
    gateway.upstreams = [("wuye.quality.v1", "https://127.0.0.1:1")]
        .into_iter()
        .map(|(p, a)| (p.to_owned(), a.to_owned()))
        .collect();
    gateway.tls.ca_file = ca.ca_file();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = format!(
        "{:#}",
        wuye_gateway::build(gateway.clone(), listener)
            .await
            .err()
            .expect("refused")
    );
    assert!(
        err.contains("WUYE_GATEWAY__TLS__CERT_FILE") && err.contains("WUYE_GATEWAY__TLS__KEY_FILE"),
        "{err}"
    );
    gateway.tls = ca.settings("gateway");
    gateway
        .upstreams
        .insert("wuye.quality.v1".into(), "http://127.0.0.1:1".into());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = format!(
        "{:#}",
        wuye_gateway::build(gateway, listener)
            .await
            .err()
            .expect("refused")
    );
    assert!(
        err.contains("upstreams.\"wuye.quality.v1\"") && err.contains("https://"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn settings_with(dir: &std::path::Path, tls: &wuye_kit::tls::TlsSettings) -> ServiceSettings {
    let mut settings = department_settings(dir);
    settings.tls = tls.clone();
    settings
        .peers
        .insert("directory".into(), "https://localhost:9".into());
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_reaches_postgresql_over_verified_tls() {
    let ca = Ca::new("wuye");
    let postgres = TlsPostgres::start(&ca);
    let dir = temp_dir("postgres");

    // verify-full against the CA: the department starts, every connection encrypted.
    let database = postgres.fresh_database("quality").await;
    let mut settings = department_settings(&dir);
    settings.database.url =
        wuye_kit::config::Secret::new(postgres.verified_url(&database, &ca.ca_file()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = wuye_quality::build(settings, listener, deps())
        .await
        .expect("quality connects to PostgreSQL with sslmode=verify-full");
    let (stop, _) = watch::channel(false);
    spawn(server, &stop);
    health(wuye_tests::channel(addr)).await.unwrap();
    let (connections, encrypted) = postgres.connections(&database).await;
    assert!(connections > 0, "quality holds connections to its database");
    assert_eq!(
        encrypted, connections,
        "pg_stat_ssl: every connection is TLS"
    );

    // Another CA: the server's certificate is not trusted and the department does not start.
    let other = Ca::new("other");
    let database = postgres.fresh_database("quality").await;
    let mut settings = department_settings(&dir);
    settings.database.url =
        wuye_kit::config::Secret::new(postgres.verified_url(&database, &other.ca_file()));
    settings.database.acquire_timeout_ms = 2_000;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = format!(
        "{:#}",
        wuye_quality::build(settings, listener, deps())
            .await
            .err()
            .expect("a server certificate of another CA is refused at start-up")
    );
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
    let _ = stop.send(true);
    std::fs::remove_dir_all(&dir).ok();
}

/// The kit's plain HTTP routes (`Server::http_routes`) answer over TLS too, HTTP/1.1 offered
/// by ALPN without gRPC-Web, and gRPC goes on over h2 on the same listener.
#[tokio::test]
async fn plain_http_routes_answer_over_tls_beside_grpc() {
    let ca = Ca::new("http-routes");
    let tls = ca.settings("plain").load("plain").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/plain/hello",
        axum::routing::get(|| async { "hello over TLS" }),
    );
    let server = Server::new("plain", listener)
        .tls(tls, wuye_kit::tls::ClientCerts::NotAsked)
        .http_routes("/plain", router);
    let (stop, _) = watch::channel(false);
    spawn(server, &stop);

    let tcp = TcpStream::connect(addr).await.unwrap();
    let config = rustls_client(&ca.pem(), None, &[wuye_kit::tls::ALPN_HTTP1]);
    let name = ServerName::try_from("localhost").unwrap();
    let io = TlsConnector::from(config).connect(name, tcp).await.unwrap();
    assert_eq!(
        io.get_ref().1.alpn_protocol(),
        Some(wuye_kit::tls::ALPN_HTTP1)
    );
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get("/plain/hello")
        .header(http::header::HOST, "localhost")
        .body(Full::new(bytes::Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello over TLS");

    health(pki::channel(addr, ca.client(None))).await.unwrap();
    stop.send_replace(true);
}
