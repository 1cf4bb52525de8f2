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
