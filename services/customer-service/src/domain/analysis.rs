//! The half-year and year analysis of a property's complaints (CMP-9): counts, reply
//! deadlines met, times to reply and to close, satisfaction at close, and recurring problems.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use wuye_kit::{Error, Result, calendar::start_of_day};

use super::complaints::{Channel, Severity, State};

/// What the analysis needs of one complaint.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintFacts {
    pub number: i64,
    pub category: String,
    pub severity: Severity,
    pub channel: Channel,
    pub state: State,
    pub building: Option<String>,
    pub unit_id: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub reply_due_at: DateTime<Utc>,
    pub replied_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub results_told: u32,
}

/// A problem that came back: the same category at the same building or unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurring {
    pub category: String,
    pub building: String,
    /// `None` for the building as a whole.
    pub unit_id: Option<String>,
    pub numbers: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    pub total: i64,
    pub by_category: BTreeMap<String, i64>,
    pub by_severity: BTreeMap<&'static str, i64>,
    pub by_channel: BTreeMap<&'static str, i64>,
    pub by_state: BTreeMap<&'static str, i64>,
    pub replies_due: i64,
    pub replies_on_time: i64,
    pub mean_hours_to_reply: f64,
    pub mean_hours_to_close: f64,
    pub closed: i64,
    pub closed_first_time: i64,
    pub recurring: Vec<Recurring>,
}

impl Analysis {
    /// Replied by the deadline over replies due; 1 when none was due.
    pub fn reply_on_time_rate(&self) -> f64 {
        ratio(self.replies_on_time, self.replies_due)
    }

    /// Closed at the first result told over all closed; 1 when none closed.
    pub fn satisfied_first_time_rate(&self) -> f64 {
        ratio(self.closed_first_time, self.closed)
    }
}

/// The analysis of a period, [from, to).
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodAnalysis {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub analysis: Analysis,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// The period of `year` (its first or second half, or all of it for `half` = 0) in the
/// property's time zone: [start, end).
pub fn period(year: i32, half: i32, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let (from_month, to_year, to_month) = match half {
        0 => (1, year + 1, 1),
        1 => (1, year, 7),
        2 => (7, year + 1, 1),
        _ => return Err(Error::invalid("half", "must be 0 (the year), 1 or 2")),
    };
    let day = |y, m| {
        NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| Error::invalid("year", "is out of range"))
    };
    Ok((
        start_of_day(day(year, from_month)?, tz),
        start_of_day(day(to_year, to_month)?, tz),
    ))
}

/// Where a new complaint is counted towards a recurring problem (CMP-9, ESC-2): the same
/// category at the same building within the analysis half-year it was registered in. A problem
/// recurs when `threshold` complaints of it are registered there; it is announced once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// The half-year, "2026-H2".
    pub period: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub threshold: usize,
}

impl Recurrence {
    /// The recurrence of a complaint registered at `at` by the property's rules.
    pub fn at(at: DateTime<Utc>, tz: Tz, threshold: u32) -> Result<Self> {
        let local = at.with_timezone(&tz);
        let half = if local.month() <= 6 { 1 } else { 2 };
        let (from, to) = period(local.year(), half, tz)?;
        Ok(Self {
            period: format!("{}-H{half}", local.year()),
            from,
            to,
            // As the analysis counts: a problem needs at least two occurrences to recur.
            threshold: (threshold as usize).max(2),
        })
    }

    /// Whether `count` complaints of one problem make it recurrent.
    pub fn reached(&self, count: usize) -> bool {
        count >= self.threshold
    }
}

/// The complaints of a period of one severity and state, counted by the database with their
/// replies due and on time as [`analyse`] counts them (CMP-3).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub severity: Severity,
    pub state: State,
    pub complaints: i64,
    pub replies_due: i64,
    pub replies_on_time: i64,
}

/// The counts of a period's complaints for the portfolio (HQ-1): those of [`Analysis`], summed
/// from its groups, so that many properties are counted without reading every complaint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counts {
    pub total: i64,
    pub by_severity: BTreeMap<&'static str, i64>,
    pub by_state: BTreeMap<&'static str, i64>,
    pub replies_due: i64,
    pub replies_on_time: i64,
}

impl Counts {
    pub fn of(groups: &[Group]) -> Counts {
        let mut c = Counts::default();
        for g in groups {
            c.total += g.complaints;
            *c.by_severity.entry(g.severity.code()).or_default() += g.complaints;
            *c.by_state.entry(g.state.code()).or_default() += g.complaints;
            c.replies_due += g.replies_due;
            c.replies_on_time += g.replies_on_time;
        }
        c
    }
}

/// Analyses the complaints registered in a period, as of `now`. A problem recurs when the same
/// category comes `threshold` times or more at one building, or at one unit.
pub fn analyse(complaints: &[ComplaintFacts], now: DateTime<Utc>, threshold: usize) -> Analysis {
    let mut a = Analysis {
        total: complaints.len() as i64,
        ..Analysis::default()
    };
    let (mut reply_hours, mut replied, mut close_hours) = (0.0, 0i64, 0.0);
    let mut at_building: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    let mut at_unit: BTreeMap<(String, String, String), Vec<i64>> = BTreeMap::new();
    for c in complaints {
        *a.by_category.entry(c.category.clone()).or_default() += 1;
        *a.by_severity.entry(c.severity.code()).or_default() += 1;
        *a.by_channel.entry(c.channel.code()).or_default() += 1;
        *a.by_state.entry(c.state.code()).or_default() += 1;
        match c.replied_at {
            Some(at) => {
                a.replies_due += 1;
                a.replies_on_time += i64::from(at <= c.reply_due_at);
                reply_hours += hours(at - c.registered_at);
                replied += 1;
            }
            None if c.reply_due_at < now => a.replies_due += 1,
            None => {}
        }
        if let Some(at) = c.closed_at {
            a.closed += 1;
            a.closed_first_time += i64::from(c.results_told == 1);
            close_hours += hours(at - c.registered_at);
        }
        if let Some(building) = &c.building {
            at_building
                .entry((c.category.clone(), building.clone()))
                .or_default()
                .push(c.number);
            if let Some(unit) = &c.unit_id {
                at_unit
                    .entry((c.category.clone(), building.clone(), unit.clone()))
                    .or_default()
                    .push(c.number);
            }
        }
    }
    a.mean_hours_to_reply = if replied == 0 {
        0.0
    } else {
        reply_hours / replied as f64
    };
    a.mean_hours_to_close = if a.closed == 0 {
        0.0
    } else {
        close_hours / a.closed as f64
    };
    let threshold = threshold.max(2);
    for ((category, building), mut numbers) in at_building {
        if numbers.len() >= threshold {
            numbers.sort_unstable();
            a.recurring.push(Recurring {
                category,
                building,
                unit_id: None,
                numbers,
            });
        }
    }
    for ((category, building, unit), mut numbers) in at_unit {
        if numbers.len() >= threshold {
            numbers.sort_unstable();
            a.recurring.push(Recurring {
                category,
                building,
                unit_id: Some(unit),
                numbers,
            });
        }
    }
    a
}

fn hours(d: chrono::Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

/// The half of the year an instant falls in, in the property's time zone: (year, 1 or 2).
pub fn half_of(at: DateTime<Utc>, tz: Tz) -> (i32, i32) {
    let local = at.with_timezone(&tz);
    (local.year(), if local.month() <= 6 { 1 } else { 2 })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn facts(number: i64, category: &str, unit: Option<&str>, at: DateTime<Utc>) -> ComplaintFacts {
        ComplaintFacts {
            number,
            category: category.into(),
            severity: Severity::Minor,
            channel: Channel::Phone,
            state: State::Registered,
            building: unit.map(|u| u[..1].to_owned()),
            unit_id: unit.map(str::to_owned),
            registered_at: at,
            reply_due_at: at + Duration::days(3),
            replied_at: None,
            closed_at: None,
            results_told: 0,
        }
    }

    #[test]
    fn halves_are_counted_in_the_property_time_zone() {
        let tz = chrono_tz::Asia::Shanghai;
        let (start, end) = period(2026, 2, tz).unwrap();
        assert_eq!(
            start,
            tz.with_ymd_and_hms(2026, 7, 1, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
        assert_eq!(
            end,
            tz.with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
        assert!(period(2026, 3, tz).is_err());
        // 30 June 20:00 UTC is already 1 July in Shanghai.
        assert_eq!(
            half_of(Utc.with_ymd_and_hms(2026, 6, 30, 20, 0, 0).unwrap(), tz),
            (2026, 2)
        );
    }

    #[test]
    fn a_complaint_counts_in_its_half_year_in_the_property_time_zone() {
        // rules CMP-9, ESC-2
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-06-30 17:00 UTC is 2026-07-01 01:00 in Shanghai: the second half.
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 30, 17, 0, 0).unwrap();
        let r = Recurrence::at(at, tz, 3).unwrap();
        assert_eq!(r.period, "2026-H2");
        assert_eq!(
            r.from,
            start_of_day(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(), tz)
        );
        assert_eq!(
            r.to,
            start_of_day(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), tz)
        );
        assert!(!r.reached(2) && r.reached(3) && r.reached(4));
        let early = at - chrono::Duration::hours(2);
        assert_eq!(Recurrence::at(early, tz, 3).unwrap().period, "2026-H1");
        // A threshold of 1 would call every complaint recurring.
        assert_eq!(Recurrence::at(at, tz, 1).unwrap().threshold, 2);
    }

    #[test]
    fn recurring_problems_and_rates() {
        // rule CMP-9
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let mut cs = vec![
            facts(1, "供水", Some("3A"), at),
            facts(2, "供水", Some("3A"), at),
            facts(3, "供水", Some("3B"), at),
            facts(4, "卫生", Some("3A"), at),
            facts(5, "供水", None, at),
        ];
        cs[0].replied_at = Some(at + Duration::hours(10));
        cs[0].closed_at = Some(at + Duration::hours(30));
        cs[0].results_told = 1;
        cs[1].replied_at = Some(at + Duration::days(4)); // late
        cs[1].closed_at = Some(at + Duration::days(5));
        cs[1].results_told = 2;
        let a = analyse(&cs, at + Duration::days(10), 2);
        assert_eq!(a.total, 5);
        assert_eq!(a.by_category["供水"], 4);
        // Replies due: two replied, three unreplied past their deadline.
        assert_eq!((a.replies_due, a.replies_on_time), (5, 1));
        assert_eq!(a.mean_hours_to_reply, (10.0 + 96.0) / 2.0);
        assert_eq!((a.closed, a.closed_first_time), (2, 1));
        assert_eq!(a.satisfied_first_time_rate(), 0.5);
        let recurring: Vec<(&str, &str, Option<&str>, Vec<i64>)> = a
            .recurring
            .iter()
            .map(|r| {
                (
                    r.category.as_str(),
                    r.building.as_str(),
                    r.unit_id.as_deref(),
                    r.numbers.clone(),
                )
            })
            .collect();
        assert_eq!(
            recurring,
            [
                ("供水", "3", None, vec![1, 2, 3]),
                ("供水", "3", Some("3A"), vec![1, 2])
            ]
        );
    }
}
