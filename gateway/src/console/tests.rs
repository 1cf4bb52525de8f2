use std::path::Path;

use super::*;

/// A built console in a fresh directory, beside a file that is not the console's.
fn built() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let root = std::env::temp_dir().join(format!("wuye-console-{}-{nanos}", std::process::id()));
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><div id=app></div>").unwrap();
    std::fs::write(dist.join("assets/index-3f2a1b.js"), "console.log(1)").unwrap();
    // What the console's build writes beside each file: its gzip (here only a marker).
    std::fs::write(dist.join("assets/index-3f2a1b.js.gz"), "gzipped").unwrap();
    std::fs::write(dist.join("favicon.svg"), "<svg/>").unwrap();
    std::fs::write(root.join("secret.txt"), "not the console's").unwrap();
    dist
}

fn provider(issuer: &str, audiences: &[&str]) -> OidcIssuerSettings {
    OidcIssuerSettings {
        issuer: issuer.into(),
        audiences: audiences.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

fn console(dist: &Path) -> Router {
    let settings = ConsoleSettings {
        dir: dist.to_owned(),
        ..Default::default()
    };
    let oidc = [provider(
        "https://sso.example.com/realms/wuye",
        &["wuye-console"],
    )];
    assets_router(&settings, &oidc).expect("a console")
}

async fn get(router: &Router, path: &str) -> (StatusCode, http::HeaderMap, String) {
    get_as(router, path, None).await
}

async fn get_as(
    router: &Router,
    path: &str,
    accept_encoding: Option<&str>,
) -> (StatusCode, http::HeaderMap, String) {
    let mut request = Request::builder().uri(path);
    if let Some(encoding) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encoding);
    }
    let request = request.body(Body::empty()).unwrap();
    let answer = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = answer.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn header(headers: &http::HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test]
async fn files_are_served_with_their_caching_and_security_headers() {
    let dist = built();
    let router = console(&dist);
    let (status, headers, body) = get(&router, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=app"), "{body}");
    assert!(header(&headers, header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
    assert_eq!(
        header(&headers, header::CONTENT_SECURITY_POLICY),
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
         connect-src 'self' https://sso.example.com; frame-ancestors 'none'"
    );
    assert_eq!(header(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(&headers, header::REFERRER_POLICY), "no-referrer");

    let (status, headers, body) = get(&router, "/assets/index-3f2a1b.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "console.log(1)");
    assert!(header(&headers, header::CONTENT_TYPE).contains("javascript"));
    assert_eq!(header(&headers, header::CACHE_CONTROL), IMMUTABLE);

    let (status, headers, _) = get(&router, "/favicon.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[tokio::test]
async fn a_browser_that_accepts_gzip_gets_the_built_gzip() {
    let dist = built();
    let router = console(&dist);
    let path = "/assets/index-3f2a1b.js";
    let (status, headers, body) = get_as(&router, path, Some("gzip, deflate, br")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "gzipped");
    assert_eq!(header(&headers, header::CONTENT_ENCODING), "gzip");
    assert!(header(&headers, header::CONTENT_TYPE).contains("javascript"));
    assert_eq!(header(&headers, header::VARY), "accept-encoding");
    assert_eq!(header(&headers, header::CACHE_CONTROL), IMMUTABLE);
    // Without gzip, or for a file without its .gz: the file itself.
    let (_, headers, body) = get_as(&router, path, None).await;
    assert_eq!(body, "console.log(1)");
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    let (_, headers, body) = get_as(&router, "/", Some("gzip")).await;
    assert!(body.contains("id=app"));
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[tokio::test]
async fn a_deep_link_is_the_page_and_a_missing_asset_is_not_found() {
    let dist = built();
    let router = console(&dist);
    for path in [
        "/complaints/123",
        "/signed-in?code=x&state=y",
        "/index.html",
    ] {
        let (status, headers, body) = get(&router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("id=app"), "{path}: {body}");
        assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
        assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
    }
    let (status, headers, _) = get(&router, "/assets/index-000000.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(header(&headers, header::CACHE_CONTROL), "no-cache");
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[tokio::test]
async fn nothing_outside_the_directory_is_served() {
    let dist = built();
    let router = console(&dist);
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2fetc%2fpasswd",
    ] {
        let (status, _, body) = get(&router, path).await;
        assert!(!body.contains("not the console's"), "{path}: {body}");
        assert!(
            status == StatusCode::NOT_FOUND || body.contains("id=app"),
            "{path}: {status} {body}"
        );
    }
    let _ = std::fs::remove_dir_all(dist.parent().unwrap());
}

#[test]
fn no_console_without_a_directory_or_its_page() {
    let off = ConsoleSettings {
        dir: PathBuf::new(),
        ..Default::default()
    };
    assert!(assets_router(&off, &[]).is_none());
    let missing = ConsoleSettings {
        dir: std::env::temp_dir().join("wuye-no-such-console"),
        ..Default::default()
    };
    assert!(assets_router(&missing, &[]).is_none());
    assert_eq!(ConsoleSettings::default().dir, Path::new("console/dist"));
}

#[tokio::test]
async fn the_configuration_names_the_providers_and_the_development_sign_in() {
    let settings = ConsoleSettings {
        sign_in: vec![SignInSettings {
            name: "公司账号".into(),
            issuer: "https://sso.example.com/realms/wuye".into(),
            client_id: "wuye-console".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let (status, headers, body) = get(&config_router(&settings, true), CONFIG_PATH).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, header::CONTENT_TYPE), "application/json");
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        config,
        json!({
            "providers": [{
                "name": "公司账号",
                "issuer": "https://sso.example.com/realms/wuye",
                "client_id": "wuye-console",
                "scope": "openid profile",
            }],
            "dev_sign_in": "/dev/oidc",
        })
    );
    let (_, _, body) = get(
        &config_router(&ConsoleSettings::default(), false),
        CONFIG_PATH,
    )
    .await;
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config, json!({ "providers": [], "dev_sign_in": null }));
}

#[test]
fn a_sign_in_must_be_a_client_of_a_configured_provider() {
    let oidc = [provider(
        "https://sso.example.com/realms/wuye",
        &["wuye-console", "wuye-cli"],
    )];
    let sign_in = |name: &str, issuer: &str, client_id: &str| SignInSettings {
        name: name.into(),
        issuer: issuer.into(),
        client_id: client_id.into(),
        ..Default::default()
    };
    let settings = |sign_in: Vec<SignInSettings>| ConsoleSettings {
        sign_in,
        ..Default::default()
    };
    let good = sign_in(
        "公司账号",
        "https://sso.example.com/realms/wuye",
        "wuye-console",
    );
    assert!(settings(vec![good.clone()]).check(&oidc).is_ok());
    assert!(ConsoleSettings::default().check(&[]).is_ok());
    let err = settings(vec![
        good,
        sign_in("其他", "https://other.example.com", "wuye-console"),
        sign_in(
            "公司账号",
            "https://sso.example.com/realms/wuye",
            "stranger",
        ),
        sign_in(" ", "https://sso.example.com/realms/wuye", "wuye-cli"),
    ])
    .check(&oidc)
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "console.sign_in[1] (\"其他\"): issuer \"https://other.example.com\" is not an issuer \
             of [[auth.oidc]]"
        ),
        "{err}"
    );
    assert!(
        err.contains("console.sign_in[2] (\"公司账号\"): client_id \"stranger\" is not one"),
        "{err}"
    );
    assert!(
        err.contains("console.sign_in[3] (\" \"): name is empty"),
        "{err}"
    );
    assert!(!err.contains("sign_in[0]"), "{err}");
}

#[test]
fn origins_of_issuers() {
    assert_eq!(
        origin("https://sso.example.com:8443/realms/wuye").as_deref(),
        Some("https://sso.example.com:8443")
    );
    assert_eq!(
        origin("http://127.0.0.1:9000").as_deref(),
        Some("http://127.0.0.1:9000")
    );
    assert_eq!(origin("https://a.example.com;script-src *"), None);
    assert_eq!(origin("ftp://a.example.com"), None);
    assert_eq!(origin("sso.example.com"), None);
}
