//! Inspections (工程工作检查制度, INS-1 to INS-5): the schedule's windows, the checklists and
//! what a recorded checklist means.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use wuye_kit::{calendar::start_of_day, identity::Actor, properties::EngineeringRules};

use super::{
    MAX_TEXT, Refusal,
    equipment::{Equipment, Zone},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// INS-1: each technician, their zone.
    Daily,
    /// INS-3: the engineering manager, large equipment and the technicians' records.
    Weekly,
    /// INS-4: all equipment.
    Monthly,
}

wuye_kit::text_codes!(Kind { Daily => "daily", Weekly => "weekly", Monthly => "monthly" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Due,
    Done,
    Missed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    State,
    Count,
    MeterReading,
    YesNo,
    Text,
}

wuye_kit::text_codes!(ItemKind {
    State => "state",
    Count => "count",
    MeterReading => "meter_reading",
    YesNo => "yes_no",
    Text => "text",
});

/// The running state an inspector sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    Normal,
    /// Standby: not a failure.
    Stopped,
    /// Noise, vibration, smell.
    Abnormal,
    Fault,
}

wuye_kit::text_codes!(Observed { Normal => "normal", Stopped => "stopped", Abnormal => "abnormal", Fault => "fault" });

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    State(Observed),
    Count(i64),
    Reading(f64),
    Yes(bool),
    Text(String),
}

impl Value {
    /// The value as stored: its kind is the item's.
    pub fn to_text(&self) -> String {
        match self {
            Value::State(o) => o.code().to_owned(),
            Value::Count(n) => n.to_string(),
            // `Display` of f64 is the shortest text that reads back to the same number.
            Value::Reading(r) => r.to_string(),
            Value::Yes(b) => if *b { "yes" } else { "no" }.to_owned(),
            Value::Text(t) => t.clone(),
        }
    }

    pub fn from_text(kind: ItemKind, text: &str) -> Option<Value> {
        Some(match kind {
            ItemKind::State => Value::State(Observed::from_code(text)?),
            ItemKind::Count => Value::Count(text.parse().ok()?),
            ItemKind::MeterReading => Value::Reading(text.parse().ok()?),
            ItemKind::YesNo => Value::Yes(match text {
                "yes" => true,
                "no" => false,
                _ => return None,
            }),
            ItemKind::Text => Value::Text(text.to_owned()),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: String,
    pub kind: ItemKind,
    pub label: String,
    pub equipment_id: Option<String>,
    pub unit: String,
    pub min: f64,
    pub max: f64,
    /// A failure of this item is a repair (INS-5); hygiene or tools missing are not.
    pub repair: bool,
    pub value: Option<Value>,
    pub failed: bool,
}

impl Item {
    fn new(key: String, kind: ItemKind, label: String, repair: bool) -> Self {
        Self {
            key,
            kind,
            label,
            equipment_id: None,
            unit: String::new(),
            min: 0.0,
            max: 0.0,
            repair,
            value: None,
            failed: false,
        }
    }

    /// Whether `value` fails the item (INS-5), or why it is not a value of the item.
    pub fn evaluate(&self, value: &Value) -> Result<bool, &'static str> {
        match (self.kind, value) {
            (ItemKind::State, Value::State(o)) => {
                Ok(matches!(o, Observed::Abnormal | Observed::Fault))
            }
            (ItemKind::Count, Value::Count(n)) if *n < 0 => Err("must not be negative"),
            (ItemKind::Count, Value::Count(_)) => Ok(false),
            (ItemKind::MeterReading, Value::Reading(r)) if !r.is_finite() => {
                Err("must be a finite number")
            }
            (ItemKind::MeterReading, Value::Reading(r)) => Ok(!(self.min <= *r && *r <= self.max)),
            (ItemKind::YesNo, Value::Yes(yes)) => Ok(!yes),
            (ItemKind::Text, Value::Text(t)) if t.chars().count() > MAX_TEXT => Err("is too long"),
            (ItemKind::Text, Value::Text(_)) => Ok(false),
            (ItemKind::State, _) => Err("must be a state"),
            (ItemKind::Count, _) => Err("must be a count"),
            (ItemKind::MeterReading, _) => Err("must be a meter reading"),
            (ItemKind::YesNo, _) => Err("must be yes or no"),
            (ItemKind::Text, _) => Err("must be a text"),
        }
    }

    /// How the item reads on a work order.
    fn describe(&self) -> String {
        let value = self.value.as_ref().map(Value::to_text).unwrap_or_default();
        match self.kind {
            ItemKind::MeterReading => format!(
                "{} {value}{} (正常 {}–{}{})",
                self.label, self.unit, self.min, self.max, self.unit
            ),
            _ => format!("{}: {value}", self.label),
        }
    }
}

/// The checklist items of one piece of equipment: its running state and each meter.
fn equipment_items(e: &Equipment) -> Vec<Item> {
    let mut items = Vec::with_capacity(1 + e.meters.len());
    let mut state = Item::new(
        format!("eq/{}/state", e.id),
        ItemKind::State,
        format!("{} {} 运行状态", e.number, e.name),
        true,
    );
    state.equipment_id = Some(e.id.clone());
    items.push(state);
    for (i, m) in e.meters.iter().enumerate() {
        let mut item = Item::new(
            format!("eq/{}/meter/{i}", e.id),
            ItemKind::MeterReading,
            format!("{} {}", e.number, m.name),
            true,
        );
        item.equipment_id = Some(e.id.clone());
        item.unit = m.unit.clone();
        item.min = m.min;
        item.max = m.max;
        items.push(item);
    }
    items
}

/// INS-1: the zone's equipment (state, meters), how many run, the equipment room's
/// temperature, the weather, hygiene, tools, lights and fire equipment.
pub fn daily_checklist(zone_equipment: &[Equipment], rules: &EngineeringRules) -> Vec<Item> {
    let mut items: Vec<Item> = zone_equipment.iter().flat_map(equipment_items).collect();
    items.push(Item::new(
        "room/running_count".into(),
        ItemKind::Count,
        "开启台数".into(),
        false,
    ));
    let mut temperature = Item::new(
        "room/temperature".into(),
        ItemKind::MeterReading,
        "设备房温度".into(),
        true,
    );
    temperature.unit = "°C".into();
    temperature.min = f64::from(rules.equipment_room_min_celsius);
    temperature.max = f64::from(rules.equipment_room_max_celsius);
    items.push(temperature);
    items.push(Item::new(
        "room/weather".into(),
        ItemKind::Text,
        "天气".into(),
        false,
    ));
    for (key, label, repair) in [
        ("room/hygiene", "保洁卫生合格", false),
        ("room/tools", "工器具齐备", false),
        ("room/lights", "灯光完好", true),
        ("room/fire", "消防器材齐全完好", true),
    ] {
        items.push(Item::new(key.into(), ItemKind::YesNo, label.into(), repair));
    }
    items
}

/// INS-3: the large equipment, the completion of the dailies, the week's work.
pub fn weekly_checklist(large_equipment: &[Equipment]) -> Vec<Item> {
    let mut items: Vec<Item> = large_equipment.iter().flat_map(equipment_items).collect();
    items.push(Item::new(
        "week/dailies_done".into(),
        ItemKind::Count,
        "本周技工日检完成次数".into(),
        false,
    ));
    items.push(Item::new(
        "week/work".into(),
        ItemKind::Text,
        "工程管理部周工作完成情况".into(),
        false,
    ));
    items
}

/// INS-4 [practice]: every piece of equipment.
pub fn monthly_checklist(all_equipment: &[Equipment]) -> Vec<Item> {
    all_equipment.iter().flat_map(equipment_items).collect()
}

/// The day's window of a daily inspection, in the property's time zone.
pub fn daily_window(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (start_of_day(day, tz), start_of_day(day + Days::new(1), tz))
}

/// The week containing `day`, starting on `weekday` (1 Monday … 7 Sunday; anything else is
/// taken as Monday).
pub fn weekly_window(day: NaiveDate, tz: Tz, weekday: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let weekday = if (1..=7).contains(&weekday) {
        weekday
    } else {
        1
    };
    let back = (day.weekday().number_from_monday() + 7 - weekday) % 7;
    let start = day - Days::new(u64::from(back));
    (
        start_of_day(start, tz),
        start_of_day(start + Days::new(7), tz),
    )
}

/// The month containing `day`.
pub fn monthly_window(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = day.with_day(1).expect("the first exists");
    (
        start_of_day(first, tz),
        start_of_day(first + Months::new(1), tz),
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub id: String,
    pub property_id: String,
    pub kind: Kind,
    pub zone_id: Option<String>,
    pub assignee_user_id: String,
    pub assignee_name: String,
    pub window_start: DateTime<Utc>,
    /// The window ends here: not recorded by then, the inspection is missed.
    pub due_at: DateTime<Utc>,
    pub items: Vec<Item>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub recorded_by: Option<Actor>,
    pub findings: String,
    pub major_finding: String,
    pub work_order_ids: Vec<String>,
    pub spot_checked_by: Option<Actor>,
    pub spot_checked_at: Option<DateTime<Utc>>,
    pub spot_check_note: String,
}

/// Why a checklist cannot be recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordError {
    /// Bad input: (field, description) for every mistake.
    Invalid(Vec<(String, String)>),
    Refused(Refusal),
}

/// A work order an inspection opens by itself (INS-5).
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub equipment_id: Option<String>,
    pub description: String,
}

/// An inspection as a caller sees it at `at`: its state is judged then.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub inspection: Inspection,
    pub at: DateTime<Utc>,
}

/// Which inspections a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub kind: Option<Kind>,
    pub state: Option<State>,
    pub zone_id: String,
    pub due_from: Option<DateTime<Utc>>,
    pub due_before: Option<DateTime<Utc>>,
    /// After this (due in microseconds, id), the page token.
    pub after: Option<(i64, String)>,
}

/// The schedule for `day`: each zone's daily (INS-1), the week's (INS-3) and, when the
/// property has them, the month's (INS-4). Each inspection is named by `new_id`.
pub fn schedule(
    property_id: &str,
    day: NaiveDate,
    tz: Tz,
    zones: &[Zone],
    equipment: &[Equipment],
    rules: &EngineeringRules,
    mut new_id: impl FnMut() -> String,
) -> Vec<Inspection> {
    let mut planned = Vec::new();
    for z in zones {
        let mine: Vec<_> = equipment
            .iter()
            .filter(|e| e.zone_id == z.id)
            .cloned()
            .collect();
        planned.push(Inspection::new(
            new_id(),
            property_id,
            Kind::Daily,
            Some(z),
            daily_window(day, tz),
            daily_checklist(&mine, rules),
        ));
    }
    let large: Vec<_> = equipment.iter().filter(|e| e.large).cloned().collect();
    planned.push(Inspection::new(
        new_id(),
        property_id,
        Kind::Weekly,
        None,
        weekly_window(day, tz, rules.weekly_inspection_weekday),
        weekly_checklist(&large),
    ));
    if rules.monthly_inspections {
        planned.push(Inspection::new(
            new_id(),
            property_id,
            Kind::Monthly,
            None,
            monthly_window(day, tz),
            monthly_checklist(equipment),
        ));
    }
    planned
}

impl Inspection {
    /// A scheduled inspection, not yet recorded: a zone's is its technician's.
    fn new(
        id: String,
        property_id: &str,
        kind: Kind,
        zone: Option<&Zone>,
        (window_start, due_at): (DateTime<Utc>, DateTime<Utc>),
        items: Vec<Item>,
    ) -> Self {
        Inspection {
            id,
            property_id: property_id.to_owned(),
            kind,
            zone_id: zone.map(|z| z.id.clone()),
            assignee_user_id: zone
                .map(|z| z.technician_user_id.clone())
                .unwrap_or_default(),
            assignee_name: zone.map(|z| z.technician_name.clone()).unwrap_or_default(),
            window_start,
            due_at,
            items,
            recorded_at: None,
            recorded_by: None,
            findings: String::new(),
            major_finding: String::new(),
            work_order_ids: Vec::new(),
            spot_checked_by: None,
            spot_checked_at: None,
            spot_check_note: String::new(),
        }
    }

    pub fn state(&self, now: DateTime<Utc>) -> State {
        if self.recorded_at.is_some() {
            State::Done
        } else if now >= self.due_at {
            State::Missed
        } else {
            State::Due
        }
    }

    /// Dailies are recorded by the zone's technician (INS-1); weekly and monthly ones by the
    /// engineering manager (INS-3, INS-4).
    pub fn may_record(&self, user_id: &str, role: &str) -> Result<(), Refusal> {
        let allowed = match self.kind {
            Kind::Daily => user_id == self.assignee_user_id,
            Kind::Weekly | Kind::Monthly => role == "engineering_manager",
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::new(
                "NOT_ASSIGNEE",
                "the inspection is recorded by the person it is due from",
            ))
        }
    }

    /// Records the checklist: every item once, each value of its item's kind.
    pub fn record(
        &mut self,
        results: Vec<(String, Value)>,
        findings: String,
        major_finding: String,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        match self.state(now) {
            State::Done => {
                return Err(RecordError::Refused(Refusal::new(
                    "INSPECTION_RECORDED",
                    "the inspection is already recorded",
                )));
            }
            // Records are true (INS-1): a round not made in its window is not written later.
            State::Missed => {
                return Err(RecordError::Refused(Refusal::new(
                    "INSPECTION_MISSED",
                    "the inspection's window has ended",
                )));
            }
            State::Due if now < self.window_start => {
                return Err(RecordError::Refused(Refusal::new(
                    "INSPECTION_NOT_DUE",
                    "the inspection's window has not started",
                )));
            }
            State::Due => {}
        }
        let index: BTreeMap<&str, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.key.as_str(), i))
            .collect();
        let mut problems = Vec::new();
        let mut values: Vec<Option<(Value, bool)>> = vec![None; self.items.len()];
        let mut answered = vec![false; self.items.len()];
        for (n, (key, value)) in results.into_iter().enumerate() {
            let Some(&i) = index.get(key.as_str()) else {
                problems.push((
                    format!("results[{n}].key"),
                    "is not an item of the checklist".into(),
                ));
                continue;
            };
            if answered[i] {
                problems.push((format!("results[{n}].key"), "is given twice".into()));
                continue;
            }
            answered[i] = true;
            match self.items[i].evaluate(&value) {
                Ok(failed) => values[i] = Some((value, failed)),
                Err(why) => problems.push((format!("results[{n}].value"), why.into())),
            }
        }
        for (item, answered) in self.items.iter().zip(&answered) {
            if !answered {
                problems.push((
                    "results".into(),
                    format!("item {} is not answered", item.key),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(RecordError::Invalid(problems));
        }
        for (item, value) in self.items.iter_mut().zip(values) {
            let (value, failed) = value.expect("every item answered");
            item.value = Some(value);
            item.failed = failed;
        }
        self.findings = findings;
        self.major_finding = major_finding;
        self.recorded_at = Some(now);
        self.recorded_by = Some(by);
        Ok(())
    }

    /// INS-5: the work orders the recorded checklist opens, one per piece of equipment with
    /// failed items (and one for the zone's own failed items), in checklist order.
    pub fn work_orders_to_open(&self) -> Vec<Opening> {
        let mut openings: Vec<(Option<String>, Vec<String>)> = Vec::new();
        for item in self.items.iter().filter(|i| i.failed && i.repair) {
            match openings.iter_mut().find(|(e, _)| *e == item.equipment_id) {
                Some((_, lines)) => lines.push(item.describe()),
                None => openings.push((item.equipment_id.clone(), vec![item.describe()])),
            }
        }
        openings
            .into_iter()
            .map(|(equipment_id, lines)| Opening {
                equipment_id,
                description: format!("巡检不合格（{}）：{}", self.kind.label(), lines.join("；")),
            })
            .collect()
    }

    /// The equipment this recorded inspection looked at, and whether each was intact (no
    /// failed item), for the intact rate (INS-4).
    pub fn equipment_results(&self) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = Vec::new();
        for item in &self.items {
            let Some(id) = &item.equipment_id else {
                continue;
            };
            match out.iter_mut().find(|(e, _)| e == id) {
                Some((_, intact)) => *intact &= !item.failed,
                None => out.push((id.clone(), !item.failed)),
            }
        }
        out
    }

    /// INS-3: the manager spot-checks and countersigns a technician's daily record.
    pub fn spot_check(
        &mut self,
        by: Actor,
        note: String,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        if self.kind != Kind::Daily {
            return Err(Refusal::new(
                "NOT_DAILY",
                "only daily records are spot-checked",
            ));
        }
        if self.recorded_at.is_none() {
            return Err(Refusal::new(
                "INSPECTION_NOT_RECORDED",
                "the inspection is not recorded",
            ));
        }
        if self.spot_checked_by.is_some() {
            return Err(Refusal::new(
                "ALREADY_SPOT_CHECKED",
                "the record is already countersigned",
            ));
        }
        self.spot_checked_by = Some(by);
        self.spot_checked_at = Some(now);
        self.spot_check_note = note;
        Ok(())
    }
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Daily => "日检",
            Kind::Weekly => "周检",
            Kind::Monthly => "月检",
        }
    }
}

#[cfg(test)]
mod tests;
