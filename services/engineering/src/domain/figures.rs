//! The department's figures per property and month: inspection coverage, the equipment
//! intact rate (完好率, INS-4), refused handovers and why (HO-7), work orders on time (WO-2).

use std::collections::BTreeMap;

use chrono::{DateTime, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use wuye_kit::calendar::start_of_day;

use super::inspections::Kind;

/// "2026-11" → the month's first day.
pub fn parse_month(month: &str) -> Option<NaiveDate> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// The month as instants, in the property's time zone.
pub fn month_window(first: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        start_of_day(first, tz),
        start_of_day(first + Months::new(1), tz),
    )
}

/// An inspection as the coverage counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct DueInspection {
    pub kind: Kind,
    pub due_at: DateTime<Utc>,
    pub recorded: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Coverage {
    pub due: i64,
    pub done: i64,
    pub pending: i64,
    pub missed: i64,
}

impl Coverage {
    /// Done over what could have been done by now; 100 when nothing was (INS-4 target 100%).
    pub fn percent(&self) -> f64 {
        let closed = self.due - self.pending;
        if closed == 0 {
            100.0
        } else {
            self.done as f64 * 100.0 / closed as f64
        }
    }
}

/// Coverage of the inspections due in the month (those whose window starts in it), of one
/// kind or all.
pub fn coverage(due: &[DueInspection], kind: Option<Kind>, now: DateTime<Utc>) -> Coverage {
    let mut c = Coverage::default();
    for i in due.iter().filter(|i| kind.is_none_or(|k| i.kind == k)) {
        c.due += 1;
        if i.recorded {
            c.done += 1;
        } else if now >= i.due_at {
            c.missed += 1;
        } else {
            c.pending += 1;
        }
    }
    c
}

/// One piece of equipment's result on one recorded inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct EquipmentResult {
    pub equipment_id: String,
    pub recorded_at: DateTime<Utc>,
    pub intact: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Intact {
    pub inspected: i64,
    pub intact: i64,
    pub not_inspected: i64,
}

impl Intact {
    pub fn percent(&self) -> f64 {
        if self.inspected == 0 {
            0.0
        } else {
            self.intact as f64 * 100.0 / self.inspected as f64
        }
    }

    pub fn meets(&self, target_percent: u32) -> bool {
        self.inspected > 0 && self.percent() >= f64::from(target_percent)
    }
}

/// INS-4: equipment intact at its last inspection of the month, over the equipment
/// inspected in the month; `equipment_count` is all the property's equipment.
pub fn intact_rate(results: &[EquipmentResult], equipment_count: i64) -> Intact {
    let mut last: BTreeMap<&str, (&DateTime<Utc>, bool)> = BTreeMap::new();
    for r in results {
        let entry = last
            .entry(r.equipment_id.as_str())
            .or_insert((&r.recorded_at, r.intact));
        if r.recorded_at >= *entry.0 {
            *entry = (&r.recorded_at, r.intact);
        }
    }
    let inspected = last.len() as i64;
    Intact {
        inspected,
        intact: last.values().filter(|(_, ok)| *ok).count() as i64,
        not_inspected: (equipment_count - inspected).max(0),
    }
}

/// How often each reason code was among the refusals' reasons, most frequent first.
pub fn reason_counts<'a>(refusals: impl IntoIterator<Item = &'a [String]>) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for reasons in refusals {
        let mut seen: Vec<&str> = reasons.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for code in seen {
            *counts.entry(code).or_default() += 1;
        }
    }
    let mut out: Vec<(String, i64)> = counts.into_iter().map(|(c, n)| (c.to_owned(), n)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Percent of `part` in `whole`, 0 for nothing.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// One equipment item of an inspection recorded in the month.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectedItem {
    pub inspection_id: String,
    pub equipment_id: String,
    pub recorded_at: DateTime<Utc>,
    pub failed: bool,
}

/// One result per inspection and equipment: intact when none of its items failed.
pub fn equipment_results(items: Vec<InspectedItem>) -> Vec<EquipmentResult> {
    let mut results: BTreeMap<(String, String), EquipmentResult> = BTreeMap::new();
    for i in items {
        results
            .entry((i.inspection_id, i.equipment_id.clone()))
            .or_insert(EquipmentResult {
                equipment_id: i.equipment_id,
                recorded_at: i.recorded_at,
                intact: true,
            })
            .intact &= !i.failed;
    }
    results.into_values().collect()
}

/// The raw counts of a month, for the figures.
#[derive(Debug, Default)]
pub struct Month {
    pub due: Vec<DueInspection>,
    pub equipment_results: Vec<EquipmentResult>,
    pub equipment_count: i64,
    pub handovers_completed: i64,
    /// Per refusal: its handover and its HO-7 reason codes.
    pub refusals: Vec<(String, Vec<String>)>,
    pub work_orders_opened: i64,
    pub work_orders_completed: i64,
    pub arrived_on_time: i64,
    pub arrived_late: i64,
}

/// The department's figures of a property's month.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub property_id: String,
    pub month: String,
    pub daily: Coverage,
    pub weekly: Coverage,
    pub monthly: Coverage,
    pub all_inspections: Coverage,
    pub intact: Intact,
    pub intact_target_percent: u32,
    pub handovers: HandoverFigures,
    pub work_orders: WorkOrderFigures,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandoverFigures {
    pub completed: i64,
    pub refusals: i64,
    /// Handovers refused at least once.
    pub refused_handovers: i64,
    /// HO-7 reason codes, most frequent first.
    pub reasons: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkOrderFigures {
    pub opened: i64,
    pub completed: i64,
    pub arrived_on_time: i64,
    pub arrived_late: i64,
    pub on_time_percent: f64,
}

impl Figures {
    /// The figures of `m`, its inspections judged at `now`, the intact rate against
    /// `target_percent` (INS-4).
    pub fn of(
        property_id: String,
        month: String,
        m: &Month,
        now: DateTime<Utc>,
        target_percent: u32,
    ) -> Figures {
        let mut refused: Vec<&str> = m.refusals.iter().map(|(h, _)| h.as_str()).collect();
        refused.sort_unstable();
        refused.dedup();
        let arrived = m.arrived_on_time + m.arrived_late;
        Figures {
            property_id,
            month,
            daily: coverage(&m.due, Some(Kind::Daily), now),
            weekly: coverage(&m.due, Some(Kind::Weekly), now),
            monthly: coverage(&m.due, Some(Kind::Monthly), now),
            all_inspections: coverage(&m.due, None, now),
            intact: intact_rate(&m.equipment_results, m.equipment_count),
            intact_target_percent: target_percent,
            handovers: HandoverFigures {
                completed: m.handovers_completed,
                refusals: m.refusals.len() as i64,
                refused_handovers: refused.len() as i64,
                reasons: reason_counts(m.refusals.iter().map(|(_, r)| r.as_slice())),
            },
            work_orders: WorkOrderFigures {
                opened: m.work_orders_opened,
                completed: m.work_orders_completed,
                arrived_on_time: m.arrived_on_time,
                arrived_late: m.arrived_late,
                on_time_percent: percent(m.arrived_on_time, arrived),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn months_parse() {
        assert_eq!(parse_month("2026-11"), NaiveDate::from_ymd_opt(2026, 11, 1));
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }

    #[test]
    fn coverage_counts_done_over_closed_windows() {
        // rule INS-4: coverage 100%
        let due = vec![
            DueInspection {
                kind: Kind::Daily,
                due_at: at(2),
                recorded: true,
            },
            DueInspection {
                kind: Kind::Daily,
                due_at: at(3),
                recorded: false,
            },
            DueInspection {
                kind: Kind::Daily,
                due_at: at(30),
                recorded: false,
            },
            DueInspection {
                kind: Kind::Weekly,
                due_at: at(8),
                recorded: true,
            },
        ];
        let c = coverage(&due, Some(Kind::Daily), at(10));
        assert_eq!((c.due, c.done, c.missed, c.pending), (3, 1, 1, 1));
        assert_eq!(c.percent(), 50.0);
        assert_eq!(coverage(&due, None, at(10)).done, 2);
        assert_eq!(coverage(&[], None, at(10)).percent(), 100.0);
    }

    #[test]
    fn equipment_is_intact_on_an_inspection_when_none_of_its_items_failed() {
        // rule INS-4
        let item = |inspection: &str, equipment: &str, failed: bool| InspectedItem {
            inspection_id: inspection.into(),
            equipment_id: equipment.into(),
            recorded_at: at(1),
            failed,
        };
        let results = equipment_results(vec![
            item("i1", "a", false),
            item("i1", "a", true),
            item("i1", "b", false),
            item("i2", "a", false),
        ]);
        let intact: Vec<(&str, bool)> = results
            .iter()
            .map(|r| (r.equipment_id.as_str(), r.intact))
            .collect();
        assert_eq!(intact, [("a", false), ("b", true), ("a", true)]);
    }

    #[test]
    fn intact_rate_takes_each_equipment_at_its_last_inspection() {
        // rule INS-4
        let r = |id: &str, d: u32, intact: bool| EquipmentResult {
            equipment_id: id.into(),
            recorded_at: at(d) + Duration::hours(1),
            intact,
        };
        let results = vec![
            r("a", 1, false),
            r("a", 2, true),
            r("b", 2, true),
            r("b", 1, false),
            r("c", 5, false),
        ];
        let i = intact_rate(&results, 4);
        assert_eq!((i.inspected, i.intact, i.not_inspected), (3, 2, 1));
        assert!(!i.meets(95));
        assert!(i.meets(60));
    }

    #[test]
    fn reasons_are_counted_once_per_refusal() {
        let a = vec![
            "ROOM_UNCLEAN".to_string(),
            "INVENTORY_MISMATCH".into(),
            "INVENTORY_MISMATCH".into(),
        ];
        let b = vec!["ROOM_UNCLEAN".to_string()];
        assert_eq!(
            reason_counts([a.as_slice(), b.as_slice()]),
            [
                ("ROOM_UNCLEAN".to_string(), 2),
                ("INVENTORY_MISMATCH".to_string(), 1)
            ]
        );
    }
}
