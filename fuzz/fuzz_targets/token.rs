//! Arbitrary bytes as a user token, raw and as the three base64url parts of a JWT (so that the
//! header and claims JSON are reached): nothing panics, and nothing is accepted (no one can
//! sign with the development key without its private half, which this target never uses).
#![no_main]

use std::sync::LazyLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use wuye_gateway::{AuthSettings, Authenticator};

static AUTH: LazyLock<Authenticator> =
    LazyLock::new(|| Authenticator::new(&AuthSettings::default(), true).expect("the development key"));

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(AUTH.authenticate(text).is_err(), "accepted {text:?}");
    }
    // Header, claims and signature split at the first two 0xff bytes, each encoded.
    let mut parts = data.splitn(3, |b| *b == 0xff);
    let header = parts.next().unwrap_or_default();
    let claims = parts.next().unwrap_or_default();
    let signature = parts.next().unwrap_or_default();
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert!(AUTH.authenticate(&token).is_err(), "accepted {token:?}");
});
