//! The cabinet and the records kept of it: retention (KEY-10), the audit and the per-person
//! figures (KEY-11).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use wuye_kit::identity::Actor;

/// A check of the cabinet against the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub id: String,
    pub property_id: String,
    pub audited_at: DateTime<Utc>,
    pub audited_by: Actor,
    pub slots_checked: i32,
    pub mismatches: Vec<SlotMismatch>,
    pub note: String,
}

/// KEY-10: custodies closed before this instant are purged.
pub fn retention_cutoff(now: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What the register says a slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotOnRecord {
    pub slot: String,
    pub key_set_id: String,
    pub key_number: i64,
    pub keys_in_cabinet: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMismatch {
    pub slot: String,
    pub expected: i32,
    pub counted: i32,
    pub key_set_id: String,
    pub key_number: i64,
}

/// Compares the count of each slot with the register; a slot of the register not counted is
/// empty, a counted slot the register does not know holds keys it should not.
pub fn audit(register: &[SlotOnRecord], counted: &BTreeMap<String, i32>) -> Vec<SlotMismatch> {
    let mut mismatches = Vec::new();
    let by_slot: HashMap<&str, &SlotOnRecord> =
        register.iter().map(|r| (r.slot.as_str(), r)).collect();
    for r in register {
        let count = counted.get(&r.slot).copied().unwrap_or(0);
        if count != r.keys_in_cabinet {
            mismatches.push(SlotMismatch {
                slot: r.slot.clone(),
                expected: r.keys_in_cabinet,
                counted: count,
                key_set_id: r.key_set_id.clone(),
                key_number: r.key_number,
            });
        }
    }
    for (slot, &count) in counted {
        if count > 0 && !by_slot.contains_key(slot.as_str()) {
            mismatches.push(SlotMismatch {
                slot: slot.clone(),
                expected: 0,
                counted: count,
                key_set_id: String::new(),
                key_number: 0,
            });
        }
    }
    mismatches.sort_by(|a, b| a.slot.cmp(&b.slot));
    mismatches
}

/// The slots an audit looked at: those of the register and those counted.
pub fn slots_checked(register: &[SlotOnRecord], counted: &BTreeMap<String, i32>) -> i32 {
    let mut slots: Vec<&str> = register.iter().map(|r| r.slot.as_str()).collect();
    slots.extend(counted.keys().map(String::as_str));
    slots.sort_unstable();
    slots.dedup();
    slots.len() as i32
}

/// A month "YYYY-MM".
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()
}

/// The UTC instants from the start of `from` to the start of the month after `to`, counted in
/// the property's time zone.
pub fn month_window(from: NaiveDate, to: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let end = to.checked_add_months(Months::new(1)).unwrap_or(to);
    (start(from), start(end))
}

/// Months between two first days, inclusive.
pub fn months_between(from: NaiveDate, to: NaiveDate) -> i32 {
    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1
}

/// What counts in the per-person figures (KEY-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deed {
    LoanHandled,
    ReturnReceived,
    LoanBorrowed,
    OverdueLoan,
    Chase,
    Refusal,
}

/// One deed of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub deed: Deed,
    pub user_id: String,
    pub name: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub month: String,
    pub user_id: String,
    pub name: String,
    pub loans_handled: i32,
    pub returns_received: i32,
    pub loans_borrowed: i32,
    pub overdue_loans: i32,
    pub chases: i32,
    pub refusals: i32,
}

/// KEY-11: counts by month (in the property's time zone) and person, a person being their
/// user id or, for a borrower without one, their name.
pub fn figures(occurrences: &[Occurrence], tz: Tz) -> Vec<Figures> {
    let mut by: BTreeMap<(String, String, String), Figures> = BTreeMap::new();
    for o in occurrences {
        let month = o.at.with_timezone(&tz).format("%Y-%m").to_string();
        let key = if o.user_id.is_empty() {
            (month.clone(), String::new(), o.name.clone())
        } else {
            (month.clone(), o.user_id.clone(), String::new())
        };
        let f = by.entry(key).or_insert_with(|| Figures {
            month,
            user_id: o.user_id.clone(),
            name: o.name.clone(),
            ..Default::default()
        });
        let count = match o.deed {
            Deed::LoanHandled => &mut f.loans_handled,
            Deed::ReturnReceived => &mut f.returns_received,
            Deed::LoanBorrowed => &mut f.loans_borrowed,
            Deed::OverdueLoan => &mut f.overdue_loans,
            Deed::Chase => &mut f.chases,
            Deed::Refusal => &mut f.refusals,
        };
        *count += 1;
    }
    let mut out: Vec<Figures> = by.into_values().collect();
    out.sort_by(|a, b| (&a.month, &a.name, &a.user_id).cmp(&(&b.month, &b.name, &b.user_id)));
    out
}
