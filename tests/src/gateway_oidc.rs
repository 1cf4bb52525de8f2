//! Sign-in through the gateway's OpenID Connect path: gateway settings trusting a provider,
//! requests in a post, the refusal reasons, the development issuer's routes.

use std::{
    io::{Read, Write},
    net::SocketAddr,
    time::Duration,
};

use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// The gateway's settings of a provider at `issuer` whose ID tokens name one of `audiences`:
/// keys fetched again at once on an unknown kid (the tests rotate keys).
pub fn provider_settings(issuer: &str, audiences: &[&str]) -> wuye_gateway::OidcIssuerSettings {
    wuye_gateway::OidcIssuerSettings {
        issuer: issuer.to_owned(),
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        min_refetch_secs: 0,
        ..Default::default()
    }
}

/// `message` as a request in the post `post_id` (the `x-wuye-post` metadata).
pub fn in_post<T>(message: T, post_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        wuye_gateway::POST_HEADER,
        post_id.parse().expect("a post id"),
    );
    request
}

/// The code and `ErrorInfo` reason of a refusal ("" without one).
pub fn reason(status: &Status) -> (Code, String) {
    let reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default();
    (status.code(), reason)
}

/// An HTTP/1.1 exchange with `addr` (one request, the connection closed after): the status
/// and the body. Blocking.
pub fn http(addr: SocketAddr, method: &str, path: &str, form: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = form.unwrap_or_default();
    let content_type = if form.is_some() {
        "Content-Type: application/x-www-form-urlencoded\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{content_type}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// An ID token of the gateway's development issuer at `gateway` for `sign_in`.
pub fn dev_sign_in(gateway: SocketAddr, sign_in: &str) -> String {
    let (status, body) = http(
        gateway,
        "POST",
        "/dev/oidc/token",
        Some(&format!("sign_in={sign_in}")),
    );
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer["expires_in"].as_u64().unwrap_or_default() > 0);
    answer["id_token"].as_str().expect("an id_token").to_owned()
}
