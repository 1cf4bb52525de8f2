//! Page tokens and sizes of list calls. A token is the opaque key of the last row returned,
//! so a page is read by index, never by skipping rows.

use crate::{Error, Result};

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 500;

/// The page size asked for: 0 means the default; negative or too large is refused.
pub fn page_size(requested: i32) -> Result<i64> {
    match i64::from(requested) {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(Error::invalid(
            "page_size",
            format!("must be between 0 and {MAX_PAGE_SIZE}"),
        )),
    }
}

/// Encodes the key of the last row of a page.
pub fn encode(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Decodes a token given by [`encode`]; an empty token is the first page.
pub fn decode(token: &str) -> Result<Option<String>> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>();
    bytes
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(bad_token)
}

/// The error for a page token that this list did not give.
pub fn bad_token() -> Error {
    Error::invalid("page_token", "is not a token of this list")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(
            decode(&encode("3-2-1502|42")).unwrap().as_deref(),
            Some("3-2-1502|42")
        );
        assert_eq!(decode("").unwrap(), None);
        assert!(decode("zz").is_err());
        assert!(decode("abc").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(-1).is_err());
        assert!(page_size(501).is_err());
    }
}
