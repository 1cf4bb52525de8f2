//! Working days: weekends, statutory holidays and the adjusted working days (调休) of a holiday
//! calendar in `deploy/calendars/`. Every working-day deadline is counted here, in the
//! property's time zone.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    sync::Arc,
};

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

/// The holidays and adjusted working days of the years a calendar covers.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub name: String,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    year: Vec<YearFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    source: String,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

impl Calendar {
    /// A calendar of weekends only.
    pub fn weekends_only(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Parses a calendar file (see `deploy/calendars/cn.toml`).
    pub fn parse(name: &str, text: &str) -> anyhow::Result<Self> {
        let file: CalendarFile = toml::from_str(text)?;
        let mut calendar = Self::weekends_only(name);
        for y in file.year {
            anyhow::ensure!(
                calendar.years.insert(y.year),
                "year {} is listed twice",
                y.year
            );
            let _ = y.source;
            for (entries, set) in [
                (&y.holidays, &mut calendar.holidays),
                (&y.workdays, &mut calendar.workdays),
            ] {
                for entry in entries {
                    for day in days_of(entry)? {
                        anyhow::ensure!(day.year() == y.year, "{entry} is not in {}", y.year);
                        set.insert(day);
                    }
                }
            }
        }
        if let Some(both) = calendar.holidays.intersection(&calendar.workdays).next() {
            anyhow::bail!("{both} is both a holiday and a working day");
        }
        Ok(calendar)
    }

    /// Whether people work on `day`: Monday to Friday unless a holiday, and the adjusted
    /// working days on weekends.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.workdays.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Whether the calendar knows the holidays of `year`.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The `n`th working day after `day` (`day` itself not counted); `day` for `n` = 0.
    pub fn add_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut current = day;
        let mut left = n;
        while left > 0 {
            current = current + Days::new(1);
            if self.is_working_day(current) {
                left -= 1;
            }
        }
        if !self.covers(current.year()) || !self.covers(day.year()) {
            tracing::warn!(calendar = %self.name, year = current.year(), "holiday calendar does not cover the year: counting Monday to Friday");
        }
        current
    }

    /// "Within `n` working days of `from`": the end of the `n`th working day after the local
    /// date of `from` in `tz`, that is the first instant of the following day.
    pub fn working_day_deadline(&self, from: DateTime<Utc>, tz: Tz, n: u32) -> DateTime<Utc> {
        let last_day = self.add_working_days(from.with_timezone(&tz).date_naive(), n);
        start_of_day(last_day + Days::new(1), tz)
    }
}

/// The first instant of `day` in `tz`.
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        // A zone that skips midnight (a DST change at 00:00) starts the day an hour later.
        .unwrap_or_else(|| tz.from_utc_datetime(&midnight))
        .with_timezone(&Utc)
}

fn days_of(entry: &str) -> anyhow::Result<Vec<NaiveDate>> {
    let parse = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("{s} is not a date (YYYY-MM-DD)"))
    };
    let (first, last) = match entry.split_once("..") {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(entry)?, parse(entry)?),
    };
    anyhow::ensure!(
        first <= last && (last - first).num_days() < 60,
        "{entry} is not a range of up to 60 days"
    );
    Ok(first.iter_days().take_while(|d| *d <= last).collect())
}

/// The calendars of a deployment by name: every `*.toml` of a directory.
#[derive(Debug, Clone, Default)]
pub struct Calendars(HashMap<String, Arc<Calendar>>);

impl Calendars {
    pub fn load_dir(dir: &Path) -> anyhow::Result<Self> {
        let mut calendars = HashMap::new();
        for entry in
            std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path)?;
                let calendar = Calendar::parse(&name, &text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                calendars.insert(name, Arc::new(calendar));
            }
        }
        Ok(Self(calendars))
    }

    pub fn get(&self, name: &str) -> Option<Arc<Calendar>> {
        self.0.get(name).cloned()
    }
}

impl FromIterator<Calendar> for Calendars {
    fn from_iter<I: IntoIterator<Item = Calendar>>(calendars: I) -> Self {
        Self(
            calendars
                .into_iter()
                .map(|c| (c.name.clone(), Arc::new(c)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> Calendar {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/calendars/cn.toml");
        Calendar::parse("cn", &std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_and_adjusted_working_days() {
        let cn = cn();
        assert!(!cn.is_working_day(day("2026-10-01"))); // 国庆, a Thursday
        assert!(cn.is_working_day(day("2026-10-10"))); // a Saturday worked (调休)
        assert!(!cn.is_working_day(day("2026-11-28"))); // an ordinary Saturday
        assert!(cn.is_working_day(day("2026-11-27"))); // an ordinary Friday
    }

    #[test]
    fn three_working_days_from_a_friday_before_a_holiday() {
        // rule ARC-3: Friday 3 April 2026, before 清明 (4–6 April): Tue 7, Wed 8, Thu 9.
        let cn = cn();
        assert_eq!(cn.add_working_days(day("2026-04-03"), 3), day("2026-04-09"));
        // Friday 13 February, before 春节: Sat 14 is worked, 15–23 off, then Tue 24, Wed 25.
        assert_eq!(cn.add_working_days(day("2026-02-13"), 3), day("2026-02-25"));
        // Friday 18 September: Sun 20 is worked, Mon 21, Tue 22.
        assert_eq!(cn.add_working_days(day("2026-09-18"), 3), day("2026-09-22"));
        // Without the calendar the weekend would not count and the holiday would.
        let plain = Calendar::weekends_only("plain");
        assert_eq!(
            plain.add_working_days(day("2026-04-03"), 3),
            day("2026-04-08")
        );
    }

    #[test]
    fn deadline_is_the_end_of_the_day_in_the_property_time_zone() {
        let cn = cn();
        let tz = chrono_tz::Asia::Shanghai;
        // Friday 3 April 2026, 23:30 in Shanghai, is already Friday 15:30 UTC.
        let from = tz
            .with_ymd_and_hms(2026, 4, 3, 23, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let due = cn.working_day_deadline(from, tz, 3);
        assert_eq!(
            due,
            tz.with_ymd_and_hms(2026, 4, 10, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(
            Calendar::parse("x", "[[year]]\nyear = 2026\nholidays = [\"2026-13-01\"]").is_err()
        );
        assert!(
            Calendar::parse("x", "[[year]]\nyear = 2026\nholidays = [\"2027-01-01\"]").is_err()
        );
        assert!(
            Calendar::parse(
                "x",
                "[[year]]\nyear = 2026\nholidays = [\"2026-01-01\"]\nworkdays = [\"2026-01-01\"]"
            )
            .is_err()
        );
    }
}
