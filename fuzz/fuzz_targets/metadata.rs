//! Arbitrary call metadata through the gateway's gate (authorization, x-wuye-property, the
//! method path), the `grpc-timeout` parser, and the message-size scanner: nothing panics, no
//! call is admitted without a token, deadlines round-trip without shortening, and the scanner
//! gives the same answer however the body is split.
#![no_main]

use std::sync::LazyLock;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use wuye_gateway::{AuthSettings, Authenticator, Policy, check_metadata, proxy};
use wuye_kit::message_size::MessageScanner;

static GATE: LazyLock<(Policy, Authenticator)> = LazyLock::new(|| {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/policy.toml");
    (
        Policy::load(&file).expect("the deployed policy"),
        Authenticator::new(&AuthSettings::default(), true).expect("the development key"),
    )
});

fuzz_target!(|data: &[u8]| {
    // Fields split at 0xff: method, authorization, property, grpc-timeout.
    let mut fields = data.split(|b| *b == 0xff);
    let method = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let mut headers = HeaderMap::new();
    for name in ["authorization", "x-wuye-property", "grpc-timeout"] {
        if let Some(value) = fields.next().and_then(|v| HeaderValue::from_bytes(v).ok()) {
            headers.append(name, value);
        }
    }
    let (policy, auth) = &*GATE;
    assert!(check_metadata(policy, auth, &method, &headers).is_err());
    let _ = policy.is_public(&method);

    if let Some(value) = headers.get("grpc-timeout") {
        if let Some(timeout) = proxy::parse_grpc_timeout(value) {
            let again = proxy::parse_grpc_timeout(&proxy::encode_grpc_timeout(timeout));
            assert!(again.is_some_and(|t| t >= timeout), "{value:?}");
        }
    }

    // The body: whole, or split anywhere, the scanner agrees.
    let limit = usize::from(data.first().copied().unwrap_or(0)) * 16;
    let whole = MessageScanner::new(limit).scan(data);
    let split = data.len() / 2;
    let mut scanner = MessageScanner::new(limit);
    let first = scanner.scan(&data[..split]);
    if first.oversize.is_none() {
        let rest = [&data[first.complete..split], &data[split..]].concat();
        let second = scanner.scan(&rest);
        assert_eq!(whole.oversize, second.oversize);
        assert_eq!(whole.complete, first.complete + second.complete);
    } else {
        assert_eq!(whole, first);
    }
});
