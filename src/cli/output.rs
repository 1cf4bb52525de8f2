//! What the commands print, in one place: lines, columns measured in display width (a Chinese
//! character takes two), the short names of protobuf enums, and times in the property's time
//! zone.

use chrono::{DateTime, Utc};
use unicode_width::UnicodeWidthStr;

/// The time zone the service centers read and write times in: China Standard Time.
pub(crate) const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Prints a line; a reader that went away (`| head`) ends the output, not the program.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(crate) use say;

/// `text` padded with spaces to `width` columns of a terminal, left-aligned.
pub(crate) fn left(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(pad))
}

/// `text` padded with spaces to `width` columns of a terminal, right-aligned.
pub(crate) fn right(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(text.width());
    format!("{}{text}", " ".repeat(pad))
}

/// A protobuf enum's name without its prefix, in lower case: `SEVERITY_MINOR` → `minor`.
pub(crate) fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_lowercase()
}

/// One of two words.
pub(crate) fn yes(b: bool, yes: &str, no: &str) -> String {
    if b { yes } else { no }.to_owned()
}

/// A rate of 0 to 1 as a percentage with one decimal.
pub(crate) fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// A timestamp in China Standard Time, as the service centers read it.
pub(crate) fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.with_timezone(&ZONE).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Today or this month in China Standard Time, formatted with `format`.
pub(crate) fn today(format: &str) -> String {
    Utc::now().with_timezone(&ZONE).format(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_measured_in_display_width() {
        assert_eq!(left("维修服务", 10), "维修服务  ");
        assert_eq!(left("minor", 8), "minor   ");
        assert_eq!(right("投诉", 6), "  投诉");
        assert_eq!(left("楼道灯坏了一周", 4), "楼道灯坏了一周");
    }
}
