//! Page tokens and sizes of list calls. A token is the opaque key of the last row returned,
//! so a page is read by index, never by skipping rows. Every list of every department pages
//! through these functions: a key is always encoded into its token, and a token that this list
//! did not give is refused the same way.

use std::str::FromStr;

use chrono::{DateTime, Utc};

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

/// The token of the page after `rows`: the encoded key of the last row when the page is full,
/// empty when there is no page after it.
pub fn next_token<T, K: std::fmt::Display>(
    rows: &[T],
    limit: i64,
    key: impl FnOnce(&T) -> K,
) -> String {
    match rows.last() {
        Some(last) if rows.len() as i64 == limit => encode(&key(last).to_string()),
        _ => String::new(),
    }
}

/// The key of the last row seen, parsed: `None` for the first page.
pub fn after<K: FromStr>(token: &str) -> Result<Option<K>> {
    decode(token)?
        .map(|key| key.parse().map_err(|_| bad_token()))
        .transpose()
}

/// The key of a row ordered by a time and then an id (the same time may hold several rows).
pub fn time_and_id(at: DateTime<Utc>, id: &str) -> String {
    format!("{}|{id}", at.timestamp_micros())
}

/// The key given by [`time_and_id`], parsed: the time in microseconds and the id.
pub fn after_time_and_id(token: &str) -> Result<Option<(i64, String)>> {
    decode(token)?
        .map(|key| {
            let (at, id) = key.split_once('|').ok_or_else(bad_token)?;
            let at = at.parse().map_err(|_| bad_token())?;
            Ok((at, id.to_owned()))
        })
        .transpose()
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
    fn next_tokens_encode_the_last_key_of_a_full_page() {
        assert_eq!(next_token(&[1, 2], 2, |n| n * 10), encode("20"));
        assert_eq!(next_token(&[1], 2, |n| *n), "");
        assert_eq!(after::<i64>(&next_token(&[7], 1, |n| *n)).unwrap(), Some(7));
        assert!(after::<i64>(&encode("x")).is_err());
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let token = next_token(&["a|b"], 1, |id| time_and_id(at, id));
        assert_eq!(
            after_time_and_id(&token).unwrap(),
            Some((1_700_000_000_123_456, "a|b".to_owned()))
        );
        assert!(after_time_and_id(&encode("nobar")).is_err());
        assert_eq!(after_time_and_id("").unwrap(), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(-1).is_err());
        assert!(page_size(501).is_err());
    }
}
