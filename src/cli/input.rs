//! Reading the command line's values: retry keys, times and months in China Standard Time.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::output::ZONE;

/// The retry key of a request: the one given, or a fresh one.
pub(crate) fn request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// A time as the service centers write it, in China Standard Time: "2026-11-27 08:00",
/// "2026-11-27T08:00" or a day "2026-11-27" (its midnight); "now" is now.
pub(crate) fn parse_time(text: &str) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    if text == "now" {
        return Ok(Utc::now());
    }
    let local = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or_else(|| anyhow::anyhow!("{text:?}: write a time as 2026-11-27 08:00"))?;
    ZONE.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| anyhow::anyhow!("{text:?} does not exist in China Standard Time"))
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// A `--time` flag as a protobuf timestamp.
pub(crate) fn stamp(text: &str) -> anyhow::Result<prost_types::Timestamp> {
    parse_time(text).map(timestamp)
}

/// "2026-11" as (2026, 11).
pub(crate) fn year_month(text: &str) -> anyhow::Result<(i32, i32)> {
    let parsed = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("{text:?}: write a month as 2026-11"))?;
    use chrono::Datelike;
    Ok((parsed.year(), parsed.month() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_china_standard_time() {
        let t = parse_time("2026-11-27 08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(
            parse_time("2026-11-27").unwrap().to_rfc3339(),
            "2026-11-26T16:00:00+00:00"
        );
        assert!(parse_time("27/11").is_err());
        assert_eq!(year_month("2026-11").unwrap(), (2026, 11));
        assert!(year_month("2026-13").is_err());
    }
}
