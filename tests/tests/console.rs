//! What the gateway serves the web console: what a signed-in post may do
//! (`AccessService/GetMyAccess`), the console's files beside gRPC and gRPC-Web on one listener,
//! its sign-in configuration, and the development sign-in's list of people.

use std::{
    io::{Read, Write},
    net::SocketAddr,
    path::PathBuf,
    time::Duration,
};

use tonic::Code;
use wuye_kit::identity::Caller;
use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack, authed, both_backends,
    gateway_oidc::{dev_sign_in, http, in_post, reason},
    proto::{
        customerservice::{
            ListComplaintsRequest, complaint_service_client::ComplaintServiceClient,
        },
        directory::{
            ListSignInsRequest, MarkLeftRequest,
            staff_lookup_service_client::StaffLookupServiceClient,
        },
        gateway::{
            GetMyAccessRequest, GetMyAccessResponse, access_service_client::AccessServiceClient,
        },
    },
};

both_backends!(
    a_signed_in_post_gets_its_methods_and_scope,
    the_development_sign_in_lists_who_may_sign_in,
);

const CREATE_COMPLAINT: &str = "wuye.customerservice.v1.ComplaintService/CreateComplaint";
const CREATE_PERSON: &str = "wuye.directory.v1.DirectoryService/CreatePerson";

/// Runs blocking work (raw HTTP) without stalling the stack's servers.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

async fn access(
    gateway: SocketAddr,
    token: &str,
    post: Option<&str>,
) -> Result<GetMyAccessResponse, tonic::Status> {
    let mut client = AccessServiceClient::new(authed(gateway, Some(token.to_owned()), None));
    let request = match post {
        Some(post) => in_post(GetMyAccessRequest {}, post),
        None => tonic::Request::new(GetMyAccessRequest {}),
    };
    client.get_my_access(request).await.map(|r| r.into_inner())
}

fn has(access: &GetMyAccessResponse, method: &str) -> bool {
    access.methods.iter().any(|m| m == method)
}

async fn a_signed_in_post_gets_its_methods_and_scope(backend: Backend) {
    let stack = Stack::start(backend).await;
    let gateway = stack.gateway;
    let desk = stack
        .hire_signing_in("王芳", "wang.fang", &[("front_desk", PROPERTY)])
        .await;
    let token = blocking(move || dev_sign_in(gateway, "wang.fang"));
    let me = access(gateway, &token, None)
        .await
        .expect("the desk's access");
    assert_eq!(me.person_id, desk);
    assert_eq!((me.name.as_str(), me.role.as_str()), ("王芳", "front_desk"));
    assert!(!me.post_id.is_empty());
    assert_eq!(me.property_ids, [PROPERTY]);
    assert!(!me.headquarters);
    assert!(has(&me, CREATE_COMPLAINT), "{:?}", me.methods);
    assert!(
        !has(&me, CREATE_PERSON),
        "a front desk sees no admin method"
    );

    // Two posts: each call is made in the one named, and the answer is that post's.
    let both = stack
        .hire_signing_in(
            "李强",
            "li.qiang",
            &[("admin", ""), ("quality_officer", "")],
        )
        .await;
    let token = blocking(move || dev_sign_in(gateway, "li.qiang"));
    let refused = access(gateway, &token, None).await.unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::PermissionDenied, "POST_REQUIRED".into())
    );
    let posts = stack
        .staff_lookup()
        .sign_in(wuye_tests::proto::directory::SignInRequest {
            sign_in: "li.qiang".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap()
        .posts;
    let post_of = |role: &str| {
        posts
            .iter()
            .find(|p| p.role == role)
            .map(|p| p.post_id.clone())
            .unwrap()
    };
    let admin = access(gateway, &token, Some(&post_of("admin")))
        .await
        .unwrap();
    assert_eq!(
        (admin.person_id.as_str(), admin.role.as_str()),
        (both.as_str(), "admin")
    );
    assert_eq!(admin.post_id, post_of("admin"));
    assert!(has(&admin, CREATE_PERSON));
    let officer = access(gateway, &token, Some(&post_of("quality_officer")))
        .await
        .unwrap();
    assert!(officer.headquarters);
    assert!(officer.property_ids.is_empty());
    assert!(!has(&officer, CREATE_PERSON));

    // A script token: no person of the directory; its token's properties.
    let script = stack.token("cs_clerk", &[OTHER_PROPERTY]);
    let clerk = access(gateway, &script, None).await.unwrap();
    assert_eq!(clerk.person_id, "");
    assert_eq!(clerk.property_ids, [OTHER_PROPERTY]);
    // Without a token: nothing.
    let mut anonymous = AccessServiceClient::new(authed(gateway, None, None));
    let refused = anonymous
        .get_my_access(GetMyAccessRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

async fn the_development_sign_in_lists_who_may_sign_in(backend: Backend) {
    let stack = Stack::start(backend).await;
    let gateway = stack.gateway;
    stack
        .hire_signing_in("王芳", "wang.fang", &[("front_desk", PROPERTY)])
        .await;
    stack
        .hire_signing_in(
            "赵敏",
            "zhao.min",
            &[("cs_clerk", PROPERTY), ("technician", OTHER_PROPERTY)],
        )
        .await;
    stack.hire("孙丽", &[("cs_clerk", PROPERTY)]).await;
    let left = stack
        .hire_signing_in("周杰", "zhou.jie", &[("technician", PROPERTY)])
        .await;
    stack
        .directory_admin()
        .mark_left(MarkLeftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            person_id: left,
        })
        .await
        .unwrap();

    let (status, body) = blocking(move || http(gateway, "GET", "/dev/oidc/people", None));
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let people = listed["people"].as_array().unwrap();
    let of = |sign_in: &str| people.iter().find(|p| p["sign_in"] == sign_in);
    let wang = of("wang.fang").expect("wang.fang listed");
    assert_eq!(wang["name"], "王芳");
    assert_eq!(wang["posts"].as_array().unwrap().len(), 1);
    assert_eq!(wang["posts"][0]["role"], "front_desk");
    assert_eq!(wang["posts"][0]["property_id"], PROPERTY);
    assert!(!wang["posts"][0]["post_id"].as_str().unwrap().is_empty());
    let zhao = of("zhao.min").expect("zhao.min listed");
    assert_eq!(zhao["posts"].as_array().unwrap().len(), 2);
    assert!(of("zhou.jie").is_none(), "who left signs in no more");
    assert!(
        !people.iter().any(|p| p["name"] == "孙丽"),
        "who has no sign-in is not listed"
    );
    // A person picked from the list signs in, in a post of theirs.
    let post = zhao["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "technician")
        .unwrap()["post_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = blocking(move || dev_sign_in(gateway, "zhao.min"));
    let me = access(gateway, &token, Some(&post)).await.unwrap();
    assert_eq!(me.role, "technician");
    assert_eq!(me.property_ids, [OTHER_PROPERTY]);

    // Pages of the directory's list, as the gateway itself.
    let first = stack
        .staff_lookup()
        .list_sign_ins(ListSignInsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.people.len(), 1);
    let second = stack
        .staff_lookup()
        .list_sign_ins(ListSignInsRequest {
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.people.len(), 1);
    assert_ne!(first.people[0].sign_in, second.people[0].sign_in);
    // Nobody else reaches it: not through the gateway, not a person the gateway forwards,
    // not a department as itself.
    let mut through = StaffLookupServiceClient::new(stack.as_role("admin", PROPERTY));
    let refused = through
        .list_sign_ins(ListSignInsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let person = Caller {
        user_id: "u1".into(),
        name: "u1".into(),
        role: "admin".into(),
        ..Default::default()
    };
    let mut forwarded = StaffLookupServiceClient::new(stack.as_gateway("directory", person));
    let refused = forwarded
        .list_sign_ins(ListSignInsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        reason(&refused),
        (Code::PermissionDenied, "SERVICE_ONLY".into())
    );
    let peer = wuye_tests::config(stack.directory)
        .signed(stack.signer("quality"), "directory", None)
        .lazy()
        .unwrap();
    let refused = StaffLookupServiceClient::new(peer)
        .list_sign_ins(ListSignInsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    // The configuration names the development sign-in.
    let (status, body) = blocking(move || http(gateway, "GET", "/console/config.json", None));
    assert_eq!(status, 200, "{body}");
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        config,
        serde_json::json!({ "providers": [], "dev_sign_in": "/dev/oidc" })
    );
}

/// Without the development sign-in there is no list of people, and the console is told so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_development_sign_in_there_is_no_list() {
    let stack = Stack::start(Backend::Sqlite).await;
    let gateway = stack.gateway_with(|s| s.auth.dev_sign_in = false).await;
    let address = gateway.address;
    let (status, _) = blocking(move || http(address, "GET", "/dev/oidc/people", None));
    assert_eq!(status, 404);
    let (status, _) = blocking(move || http(address, "GET", "/dev/oidc/jwks", None));
    assert_eq!(status, 404);
    let (status, body) = blocking(move || http(address, "GET", "/console/config.json", None));
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["dev_sign_in"], serde_json::Value::Null);
}

/// A built console in a fresh directory, beside a file that is not the console's.
fn built_console() -> PathBuf {
    let root = std::env::temp_dir().join(format!("wuye-console-{}", uuid::Uuid::now_v7()));
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><div id=app></div>").unwrap();
    std::fs::write(dist.join("assets/index-3f2a1b.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("secret.txt"), "not the console's").unwrap();
    dist
}

/// One HTTP/1.1 exchange with `addr`, the request path sent as written: the status, the
/// header lines (lowercase) and the body.
fn exchange(addr: SocketAddr, request: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer");
    let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, answer[split + 4..].to_vec())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (status, head, body) = exchange(addr, &request, b"");
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_beside_grpc_and_grpc_web() {
    let stack = Stack::start(Backend::Sqlite).await;
    let dist = built_console();
    let dir = dist.clone();
    let gateway = stack.gateway_with(move |s| s.console.dir = dir).await;
    let address = gateway.address;

    let (status, head, body) = blocking(|| get(address, "/"));
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("id=app"));
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'self';"),
        "{head}"
    );
    assert!(head.contains("frame-ancestors 'none'"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    let (status, head, body) = blocking(|| get(address, "/assets/index-3f2a1b.js"));
    assert_eq!((status, body.as_str()), (200, "console.log(1)"));
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    // The console's own routes get its page.
    for path in ["/complaints/123", "/signed-in?code=c&state=s"] {
        let (status, head, body) = blocking(|| get(address, path));
        assert_eq!(status, 200, "{path}");
        assert!(body.contains("id=app"), "{path}: {body}");
        assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
    }
    // Nothing outside the directory.
    for path in [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
    ] {
        let (status, _, body) = blocking(|| get(address, path));
        assert!(!body.contains("not the console's"), "{path}: {body}");
        assert!(status == 404 || body.contains("id=app"), "{path}: {status}");
    }

    // gRPC on the same listener, with a token, as before.
    let mut complaints = ComplaintServiceClient::new(stack.via(address, "front_desk", PROPERTY));
    complaints
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .expect("a gRPC call beside the console");
    // gRPC-Web over HTTP/1.1: a POST never answered by the console.
    let request = format!(
        "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: 5\r\n\r\n"
    );
    let (status, head, body) = blocking(|| exchange(address, &request, &[0, 0, 0, 0, 0]));
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: application/grpc-web"),
        "{head}"
    );
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("grpc-status:0"), "{body:?}");
    assert!(!body.contains("id=app"));
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_of_no_configured_provider_refuses_the_start() {
    let mut settings = wuye_tests::gateway_settings();
    settings.auth.oidc = vec![wuye_tests::gateway_oidc::provider_settings(
        "https://sso.example.com/realms/wuye",
        &["wuye-cli"],
    )];
    settings.console.sign_in = vec![wuye_gateway::console::SignInSettings {
        name: "公司账号".into(),
        issuer: "https://sso.example.com/realms/wuye".into(),
        client_id: "wuye-console".into(),
        ..Default::default()
    }];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let Err(error) = wuye_gateway::build(settings, listener).await else {
        panic!("the gateway started");
    };
    let error = format!("{error:#}");
    assert!(
        error.contains("console.sign_in[0]") && error.contains("client_id \"wuye-console\""),
        "{error}"
    );
}

/// A console project in a fresh directory whose `npm run build` writes `dist/index.html`, or
/// fails.
fn console_project(builds: bool) -> PathBuf {
    let project = std::env::temp_dir().join(format!("wuye-up-console-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&project).unwrap();
    let build = if builds {
        "node -e \\\"require('fs').mkdirSync('dist');require('fs').writeFileSync('dist/index.html','<div id=app></div>')\\\""
    } else {
        "node -e \\\"process.exit(3)\\\""
    };
    let package = format!(
        "{{\"name\":\"c\",\"version\":\"1.0.0\",\"private\":true,\"scripts\":{{\"build\":\"{build}\"}}}}"
    );
    std::fs::write(project.join("package.json"), package).unwrap();
    std::fs::write(
        project.join("package-lock.json"),
        r#"{"name":"c","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"c","version":"1.0.0"}}}"#,
    )
    .unwrap();
    project
}

/// Runs `wuye up --console <project>/dist` until it prints its console line: that line, all
/// it printed before, and the address it serves.
fn up_with_console(project: &std::path::Path) -> (String, String, SocketAddr) {
    use std::io::BufRead as _;
    let listen = wuye_tests::process::free_port();
    let data = project.join("data");
    let mut up = std::process::Command::new(wuye_tests::process::bin_dir().join("wuye"))
        .args(["up", "--listen", &listen.to_string(), "--data"])
        .arg(&data)
        .arg("--console")
        .arg(project.join("dist"))
        .current_dir(wuye_tests::repo_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wuye runs (cargo build -p wuye; WUYE_BIN_DIR for release binaries)");
    let mut stdout = std::io::BufReader::new(up.stdout.take().unwrap());
    let mut printed = String::new();
    let console = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let _ = up.kill();
            panic!("wuye up ended without a console line:\n{printed}");
        }
        if line.starts_with("console: http") || line.starts_with("console: none") {
            break line.trim().to_owned();
        }
        printed.push_str(&line);
    };
    let answer = (console.starts_with("console: http")).then(|| get(listen, "/"));
    let _ = up.kill();
    let _ = up.wait();
    if let Some((status, _, body)) = answer {
        assert_eq!(status, 200);
        assert!(body.contains("id=app"), "{body}");
    }
    (console, printed, listen)
}

#[test]
fn wuye_up_builds_the_missing_console_and_says_where_it_is() {
    let project = console_project(true);
    let (console, printed, listen) = up_with_console(&project);
    assert_eq!(console, format!("console: http://{listen}/"), "{printed}");
    assert!(printed.contains("console: npm ci in"), "{printed}");
    assert!(printed.contains("console: npm run build in"), "{printed}");
    std::fs::remove_dir_all(&project).unwrap();

    let project = console_project(false);
    let (console, printed, _) = up_with_console(&project);
    assert!(console.starts_with("console: none"), "{console}");
    assert!(
        printed.contains("warning: `npm run build` failed"),
        "{printed}"
    );
    std::fs::remove_dir_all(&project).unwrap();
}
