//! Inspections (工程工作检查制度, INS-1 to INS-5): the schedule's windows, the checklists and
//! what a recorded checklist means.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use wuye_kit::{calendar::start_of_day, identity::Actor, properties::EngineeringRules};

use super::{MAX_TEXT, Refusal, equipment::Equipment};

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

impl Inspection {
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
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    use super::*;
    use crate::domain::equipment::{Condition, Meter};

    fn pump() -> Equipment {
        Equipment {
            id: "e1".into(),
            property_id: "p".into(),
            number: "SB-01".into(),
            name: "生活水泵".into(),
            kind: "水泵".into(),
            location: "B1 泵房".into(),
            zone_id: "z1".into(),
            large: true,
            meters: vec![Meter {
                name: "出口压力".into(),
                unit: "MPa".into(),
                min: 0.2,
                max: 0.6,
            }],
            condition: Condition::Intact,
            created_at: Utc::now(),
        }
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Shanghai
            .with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn actor() -> Actor {
        Actor {
            user_id: "t1".into(),
            name: "张".into(),
            role: "technician".into(),
        }
    }

    fn daily() -> Inspection {
        let (start, end) = daily_window(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(), Shanghai);
        Inspection {
            id: "i1".into(),
            property_id: "p".into(),
            kind: Kind::Daily,
            zone_id: Some("z1".into()),
            assignee_user_id: "t1".into(),
            assignee_name: "张".into(),
            window_start: start,
            due_at: end,
            items: daily_checklist(&[pump()], &EngineeringRules::default()),
            recorded_at: None,
            recorded_by: None,
            findings: String::new(),
            major_finding: String::new(),
            work_order_ids: vec![],
            spot_checked_by: None,
            spot_checked_at: None,
            spot_check_note: String::new(),
        }
    }

    fn answers(pressure: f64, fire: bool) -> Vec<(String, Value)> {
        vec![
            ("eq/e1/state".into(), Value::State(Observed::Normal)),
            ("eq/e1/meter/0".into(), Value::Reading(pressure)),
            ("room/running_count".into(), Value::Count(1)),
            ("room/temperature".into(), Value::Reading(22.5)),
            ("room/weather".into(), Value::Text("晴".into())),
            ("room/hygiene".into(), Value::Yes(false)),
            ("room/tools".into(), Value::Yes(true)),
            ("room/lights".into(), Value::Yes(true)),
            ("room/fire".into(), Value::Yes(fire)),
        ]
    }

    #[test]
    fn windows_follow_the_property_calendar() {
        // rule INS-1, INS-3, INS-4
        let friday = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(daily_window(friday, Shanghai), (at(27, 0), at(28, 0)));
        assert_eq!(weekly_window(friday, Shanghai, 1), (at(23, 0), at(30, 0)));
        // A week starting on Friday starts that very day.
        assert_eq!(weekly_window(friday, Shanghai, 5).0, at(27, 0));
        let (start, end) = monthly_window(friday, Shanghai);
        assert_eq!(start, at(1, 0));
        assert_eq!(
            end,
            Shanghai
                .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
    }

    #[test]
    fn an_out_of_range_reading_opens_a_work_order_for_its_equipment() {
        // rule INS-5
        let mut i = daily();
        i.record(
            answers(0.9, false),
            String::new(),
            String::new(),
            actor(),
            at(27, 10),
        )
        .unwrap();
        let openings = i.work_orders_to_open();
        assert_eq!(openings.len(), 2);
        assert_eq!(openings[0].equipment_id.as_deref(), Some("e1"));
        assert!(openings[0].description.contains("出口压力 0.9MPa"));
        // The fire equipment is the zone's own; unclean rooms are not a repair.
        assert_eq!(openings[1].equipment_id, None);
        assert!(!openings[1].description.contains("保洁"));
        assert_eq!(i.equipment_results(), [("e1".to_string(), false)]);
    }

    #[test]
    fn a_clean_round_opens_nothing() {
        let mut i = daily();
        i.record(
            answers(0.4, true),
            String::new(),
            String::new(),
            actor(),
            at(27, 10),
        )
        .unwrap();
        assert!(i.work_orders_to_open().is_empty());
        assert_eq!(i.equipment_results(), [("e1".to_string(), true)]);
        assert_eq!(i.state(at(27, 11)), State::Done);
    }

    #[test]
    fn every_item_is_answered_with_its_kind() {
        let mut i = daily();
        let mut a = answers(0.4, true);
        a.pop();
        a[0].1 = Value::Reading(1.0);
        a.push(("nope".into(), Value::Yes(true)));
        let Err(RecordError::Invalid(problems)) =
            i.record(a, String::new(), String::new(), actor(), at(27, 10))
        else {
            panic!("recorded a wrong checklist");
        };
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["results[0].value", "results[8].key", "results"]);
        assert_eq!(i.recorded_at, None);
    }

    #[test]
    fn a_missed_round_stays_missed() {
        // rule INS-1: records are true
        let mut i = daily();
        assert_eq!(i.state(at(28, 0)), State::Missed);
        let err = i
            .record(
                answers(0.4, true),
                String::new(),
                String::new(),
                actor(),
                at(28, 1),
            )
            .unwrap_err();
        assert!(matches!(err, RecordError::Refused(r) if r.reason == "INSPECTION_MISSED"));
    }

    #[test]
    fn dailies_are_the_zone_technicians_and_spot_checked_by_the_manager() {
        // rule INS-1, INS-3
        let mut i = daily();
        assert!(i.may_record("t1", "technician").is_ok());
        assert!(i.may_record("t2", "technician").is_err());
        let manager = Actor {
            user_id: "m".into(),
            name: "经理".into(),
            role: "engineering_manager".into(),
        };
        assert_eq!(
            i.spot_check(manager.clone(), String::new(), at(27, 9))
                .unwrap_err()
                .reason,
            "INSPECTION_NOT_RECORDED"
        );
        i.record(
            answers(0.4, true),
            String::new(),
            String::new(),
            actor(),
            at(27, 10),
        )
        .unwrap();
        i.spot_check(manager.clone(), "抽查合格".into(), at(27, 12))
            .unwrap();
        assert_eq!(
            i.spot_check(manager, String::new(), at(27, 13))
                .unwrap_err()
                .reason,
            "ALREADY_SPOT_CHECKED"
        );
    }

    #[test]
    fn values_round_trip_as_text() {
        for (kind, v) in [
            (ItemKind::State, Value::State(Observed::Fault)),
            (ItemKind::Count, Value::Count(3)),
            (ItemKind::MeterReading, Value::Reading(0.1 + 0.2)),
            (ItemKind::YesNo, Value::Yes(false)),
            (ItemKind::Text, Value::Text("晴".into())),
        ] {
            assert_eq!(Value::from_text(kind, &v.to_text()), Some(v));
        }
    }

    mod properties {
        //! No sequence of records and spot checks reaches an invalid inspection: it is recorded
        //! once, only inside its window, with every item answered; a refused call changes
        //! nothing; a spot check countersigns a recorded daily once (INS-1, INS-3).
        use proptest::prelude::*;

        use super::*;

        #[derive(Debug, Clone)]
        enum Call {
            /// Answers: the full checklist, or one item dropped, or one given twice.
            Record {
                pressure: f64,
                drop_one: bool,
                twice: bool,
            },
            SpotCheck,
        }

        fn call() -> impl Strategy<Value = Call> {
            prop_oneof![
                3 => (0.0f64..1.0, prop::bool::weighted(0.2), prop::bool::weighted(0.2))
                    .prop_map(|(pressure, drop_one, twice)| Call::Record {
                        pressure,
                        drop_one,
                        twice
                    }),
                1 => Just(Call::SpotCheck),
            ]
        }

        proptest! {
            // 256 cases, or PROPTEST_CASES.
            #[test]
            fn no_sequence_of_calls_reaches_an_invalid_inspection(
                calls in prop::collection::vec((call(), 0i64..8), 1..20),
            ) {
                let mut inspection = daily();
                // From the evening before the window to past its end.
                let mut now = at(26, 20);
                for (call, hours) in calls {
                    now += chrono::Duration::hours(hours);
                    let before = inspection.clone();
                    let taken = match call {
                        Call::Record { pressure, drop_one, twice } => {
                            let mut results = answers(pressure, true);
                            if drop_one {
                                results.pop();
                            }
                            if twice {
                                results.push(results[0].clone());
                            }
                            let complete = !drop_one && !twice;
                            let taken = inspection.record(
                                results,
                                String::new(),
                                String::new(),
                                actor(),
                                now,
                            );
                            if taken.is_ok() {
                                prop_assert!(complete, "recorded with an item missing or twice");
                                prop_assert_eq!(before.state(now), State::Due);
                                prop_assert!(before.window_start <= now && now < before.due_at);
                            }
                            taken.is_ok()
                        }
                        Call::SpotCheck => {
                            let by = Actor {
                                user_id: "m1".into(),
                                name: "王经理".into(),
                                role: "engineering_manager".into(),
                            };
                            inspection.spot_check(by, String::new(), now).is_ok()
                        }
                    };
                    if !taken {
                        prop_assert_eq!(&inspection, &before, "a refused call changes nothing");
                    }
                    if before.recorded_at.is_some() {
                        prop_assert_eq!(before.recorded_at, inspection.recorded_at, "recorded once");
                        prop_assert_eq!(&before.items, &inspection.items);
                    }
                    // Invariants of every reachable inspection.
                    prop_assert_eq!(inspection.recorded_at.is_some(), inspection.recorded_by.is_some());
                    if inspection.recorded_at.is_some() {
                        prop_assert!(inspection.items.iter().all(|i| i.value.is_some()));
                        prop_assert_eq!(inspection.state(now), State::Done);
                    } else {
                        prop_assert!(inspection.items.iter().all(|i| i.value.is_none()));
                    }
                    if inspection.spot_checked_by.is_some() {
                        prop_assert!(inspection.recorded_at.is_some());
                        prop_assert!(inspection.spot_checked_at >= inspection.recorded_at);
                    }
                }
            }
        }
    }
}
