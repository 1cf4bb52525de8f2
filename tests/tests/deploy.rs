//! The deployment as shipped: dashboards and alert rules use only metrics wuye emits, and the
//! gateway answers gRPC-Web (browser-based internal apps).

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use prost::Message;
use wuye_tests::{
    Backend, PROPERTY, Stack,
    proto::customerservice::{CreateUnitRequest, CreateUnitResponse},
    repo_root,
};

/// Every Prometheus series name wuye emits, from the kit's catalog.
fn emitted() -> BTreeSet<String> {
    wuye_kit::metrics::CATALOG
        .iter()
        .flat_map(|m| m.prometheus_names())
        .collect()
}

/// The `wuye_…` metric names used in a text (PromQL inside JSON or YAML): every identifier
/// that starts with `wuye_`.
fn used_in(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut i = 0;
    while let Some(found) = text[i..].find("wuye_") {
        let start = i + found;
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let mut end = start;
        while end < bytes.len() && ident(bytes[end]) {
            end += 1;
        }
        if !before.is_some_and(ident) {
            used.insert(text[start..end].to_owned());
        }
        i = end.max(start + 1);
    }
    used
}

/// The PromQL expressions of a Grafana dashboard's panels.
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<String> {
    let mut queries = Vec::new();
    let panels = dashboard["panels"].as_array().expect("panels");
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                queries.push(expr.to_owned());
            }
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = variable["query"].as_str() {
            queries.push(query.to_owned());
        } else if let Some(query) = variable["query"]["query"].as_str() {
            queries.push(query.to_owned());
        }
    }
    queries
}

#[test]
fn dashboards_and_alerts_use_only_metrics_wuye_emits() {
    let emitted = emitted();
    let deploy = repo_root().join("deploy");
    let mut checked = 0;
    for dir in ["grafana/dashboards", "prometheus"] {
        for entry in std::fs::read_dir(deploy.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let used = if path.extension().is_some_and(|e| e == "json") {
                let dashboard: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let queries = dashboard_queries(&dashboard);
                assert!(!queries.is_empty(), "{} has no queries", path.display());
                queries.iter().flat_map(|q| used_in(q)).collect()
            } else {
                used_in(&text)
            };
            let unknown: Vec<&String> = used.difference(&emitted).collect();
            assert!(
                unknown.is_empty(),
                "{} uses metrics wuye does not emit: {unknown:?} (emitted: {emitted:?})",
                path.display()
            );
            checked += used.len();
        }
    }
    assert!(checked > 10, "the dashboards and rules use wuye metrics");
}

#[test]
fn the_dashboard_covers_every_domain_gauge_and_the_red_metrics() {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/grafana/dashboards/wuye.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let used: BTreeSet<String> = dashboard_queries(&dashboard)
        .iter()
        .flat_map(|q| used_in(q))
        .collect();
    for metric in wuye_kit::metrics::CATALOG {
        assert!(
            metric.prometheus_names().iter().any(|n| used.contains(n)),
            "the dashboard shows nothing of {}",
            metric.name
        );
    }
}

#[test]
fn metric_names_are_found_in_promql() {
    let used = used_in(
        "sum by (method) (rate(wuye_rpc_server_requests_total{service=\"gateway\"}[5m])) \
         / x_wuye_not_ours + wuye_complaints_open",
    );
    assert_eq!(
        used,
        BTreeSet::from([
            "wuye_rpc_server_requests_total".to_owned(),
            "wuye_complaints_open".to_owned()
        ])
    );
}

/// One gRPC-Web message frame (flag 0: data) around `message`.
fn grpc_web_frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(body.len() as u32);
    frame.put_slice(&body);
    frame.freeze()
}

/// Sends `request` over a fresh HTTP/1.1 connection to `address`, as a browser would.
async fn send(
    address: std::net::SocketAddr,
    request: http::Request<Full<Bytes>>,
) -> http::Response<hyper::body::Incoming> {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender.send_request(request).await.unwrap()
}

const APP: &str = "https://ops.wuye.test";

/// A browser's preflight of a gRPC-Web call from `origin`.
fn preflight(address: std::net::SocketAddr, origin: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(http::Method::OPTIONS)
        .uri("/wuye.customerservice.v1.HouseholdService/CreateUnit")
        .header(http::header::HOST, address.to_string())
        .header(http::header::ORIGIN, origin)
        .header(http::header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            http::header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type,x-grpc-web,x-wuye-property",
        )
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn header(response: &http::Response<hyper::body::Incoming>, name: http::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_web_call_through_the_gateway_succeeds() {
    let stack = Stack::start(Backend::Sqlite).await;
    // A gateway that allows the internal web app's origin (CORS); the stack's own allows none.
    let gateway = stack
        .relay_gateway(|s| {
            s.relay.enabled = false;
            s.cors.allowed_origins = vec![APP.into()];
        })
        .await;
    let address = gateway.address;

    // The browser's preflight: answered for the configured origin, without a token.
    let answer = send(address, preflight(address, APP)).await;
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(
        header(&answer, http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
        APP
    );
    assert!(header(&answer, http::header::ACCESS_CONTROL_ALLOW_METHODS).contains("post"));
    let allowed = header(&answer, http::header::ACCESS_CONTROL_ALLOW_HEADERS);
    for name in [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-wuye-property",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    // Deny by default: another origin, or a gateway configured with none, gets no CORS.
    let answer = send(address, preflight(address, "https://evil.example")).await;
    assert_eq!(
        header(&answer, http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
        ""
    );
    let answer = send(stack.gateway, preflight(stack.gateway, APP)).await;
    assert_eq!(
        header(&answer, http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
        ""
    );

    let request = CreateUnitRequest {
        property_id: PROPERTY.into(),
        request_id: "grpc-web-unit".into(),
        building: "9".into(),
        entrance: "1".into(),
        floor: 2,
        room: "0201".into(),
        area_m2: 75.0,
        state: 0,
    };
    // A browser's call: HTTP/1.1, the gRPC-Web content type, the token and the property.
    let call = http::Request::post("/wuye.customerservice.v1.HouseholdService/CreateUnit")
        .header(http::header::HOST, address.to_string())
        .header(http::header::ORIGIN, APP)
        .header(http::header::CONTENT_TYPE, "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {}", stack.token("cs_clerk", &[PROPERTY])),
        )
        .header("x-wuye-property", PROPERTY)
        .body(Full::new(grpc_web_frame(&request)))
        .unwrap();
    let response = send(address, call).await;
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(
        response.headers()[http::header::CONTENT_TYPE],
        "application/grpc-web+proto"
    );
    // The page may read the answer and the gRPC status headers.
    assert_eq!(
        header(&response, http::header::ACCESS_CONTROL_ALLOW_ORIGIN),
        APP
    );
    let exposed = header(&response, http::header::ACCESS_CONTROL_EXPOSE_HEADERS);
    assert!(
        exposed.contains("grpc-status") && exposed.contains("grpc-message"),
        "{exposed}"
    );
    let mut body = response.into_body().collect().await.unwrap().to_bytes();

    // Frames: the message (flag 0), then the trailers (flag 0x80) with the status.
    let mut unit = None;
    let mut trailers = String::new();
    while body.has_remaining() {
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        let payload = body.split_to(len);
        match flag {
            0 => unit = Some(CreateUnitResponse::decode(payload).unwrap()),
            0x80 => trailers = String::from_utf8(payload.to_vec()).unwrap(),
            other => panic!("unexpected frame flag {other}"),
        }
    }
    assert!(
        trailers.to_ascii_lowercase().contains("grpc-status:0"),
        "{trailers}"
    );
    let unit = unit.expect("a message").unit.unwrap();
    assert_eq!((unit.building.as_str(), unit.room.as_str()), ("9", "0201"));
}

/// `deploy/make-keys.sh` makes keys and certificates that production binaries take: a quality
/// department with mutual TLS trusting the gateway's identity key, and a gateway with TLS,
/// its identity key and the user-token key, answer a call signed with that token key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_make_keys_makes_start_production_binaries() {
    use std::time::Duration;
    use wuye_tests::{
        process::{Processes, base_env, free_port, serving},
        proto::quality::{
            ListEscalationsRequest, escalation_service_client::EscalationServiceClient,
        },
    };

    let dir = std::env::temp_dir().join(format!("wuye-make-keys-{}", uuid::Uuid::now_v7()));
    let made = std::process::Command::new("bash")
        .arg(repo_root().join("deploy/make-keys.sh"))
        .arg(&dir)
        .output()
        .expect("bash runs deploy/make-keys.sh (it needs openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let file = |path: &str| dir.join(path).display().to_string();
    let (quality, quality_health) = (free_port(), free_port());
    let (gateway, gateway_health) = (free_port(), free_port());
    let mut env = base_env();
    env.extend(
        [
            ("LISTEN", quality.to_string()),
            ("HEALTH_LISTEN", quality_health.to_string()),
            (
                "PROPERTIES_FILE",
                repo_root()
                    .join("deploy/properties.toml")
                    .display()
                    .to_string(),
            ),
            ("DATABASE__DATA_DIR", dir.join("data").display().to_string()),
            (
                "IDENTITY__TRUSTED__GATEWAY",
                file("identity/gateway.pub.pem"),
            ),
            // Quality asks the directory about assignees, as itself; nothing listens there.
            ("IDENTITY__SIGNING_KEY", file("identity/quality.pem")),
            (
                "PEERS__DIRECTORY",
                format!("https://localhost:{}", free_port().port()),
            ),
            ("TLS__CERT_FILE", file("tls/quality.crt")),
            ("TLS__KEY_FILE", file("tls/quality.key")),
            ("TLS__CA_FILE", file("tls/ca.crt")),
        ]
        .map(|(k, v)| (format!("WUYE_QUALITY__{k}"), v)),
    );
    let mut processes = Processes::new();
    processes.spawn("quality", &dir, env);
    let mut env = base_env();
    env.extend(
        [
            ("LISTEN", gateway.to_string()),
            ("HEALTH_LISTEN", gateway_health.to_string()),
            (
                "POLICY_FILE",
                repo_root().join("deploy/policy.toml").display().to_string(),
            ),
            ("RELAY__ENABLED", "false".to_owned()),
            // Every package needs an upstream; only quality runs.
            (
                "UPSTREAMS",
                format!(
                    "{{\"wuye.quality.v1\"=\"https://localhost:{}\", \
                     \"wuye.customerservice.v1\"=\"https://localhost:{idle}\", \
                     \"wuye.engineering.v1\"=\"https://localhost:{idle}\", \
                     \"wuye.archives.v1\"=\"https://localhost:{idle}\", \
                     \"wuye.directory.v1\"=\"https://localhost:{idle}\"}}",
                    quality.port(),
                    idle = free_port().port()
                ),
            ),
            ("IDENTITY__SIGNING_KEY", file("identity/gateway.pem")),
            (
                "AUTH__KEYS",
                format!(
                    "[{{kid=\"tokens-1\", algorithm=\"EdDSA\", public_key_file=\"{}\"}}]",
                    file("token/tokens-1.pub.pem")
                ),
            ),
            ("TLS__CERT_FILE", file("tls/gateway.crt")),
            ("TLS__KEY_FILE", file("tls/gateway.key")),
            ("TLS__CA_FILE", file("tls/ca.crt")),
        ]
        .map(|(k, v)| (format!("WUYE_GATEWAY__{k}"), v)),
    );
    processes.spawn("gateway", &dir, env);
    serving("quality", quality_health).await;
    serving("gateway", gateway_health).await;

    let token = wuye_gateway::sign_token(
        wuye_gateway::KeyAlgorithm::EdDSA,
        &std::fs::read(dir.join("token/tokens-1.pem")).unwrap(),
        "tokens-1",
        &wuye_gateway::Claims::new(
            "q-1",
            "品质专员",
            "quality_officer",
            &[PROPERTY.to_owned()],
            Duration::from_secs(600),
        ),
    )
    .unwrap();
    let ca = std::fs::read(dir.join("tls/ca.crt")).unwrap();
    let channel = wuye_client::Config::new(format!("https://localhost:{}", gateway.port()))
        .ca_pem(ca)
        .lazy_channel()
        .unwrap();
    let mut request = tonic::Request::new(ListEscalationsRequest {
        property_id: PROPERTY.into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
        .metadata_mut()
        .insert("x-wuye-property", PROPERTY.parse().unwrap());
    EscalationServiceClient::new(channel)
        .list_escalations(request)
        .await
        .expect("a call through the TLS gateway to quality over mutual TLS, with the made keys");
    processes.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
