use chrono::TimeZone;

use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap()
}

fn started() -> Handover {
    Handover::start(
        "h1".into(),
        "p".into(),
        ("s1", "t1"),
        ("s2", "t2"),
        Preparation {
            at: at(15, 40),
            late: false,
            equipment_ok: true,
            rooms_cleaned: true,
            note: String::new(),
        },
    )
    .unwrap()
}

fn observation(id: &str, running: Running, matches_record: bool) -> Observation {
    Observation {
        equipment_id: id.into(),
        running,
        matches_record,
        note: String::new(),
    }
}

fn count(listed: i64, counted: i64) -> Count {
    Count {
        item_id: "i1".into(),
        name: "万用表".into(),
        listed,
        counted,
    }
}

fn briefing(clear: bool) -> Briefing {
    Briefing {
        at: at(15, 50),
        summary: "2号泵噪声".into(),
        points_to_watch: "注意水箱液位".into(),
        both_clear: clear,
    }
}

/// A handover with every step done and nothing wrong.
fn ready() -> Handover {
    let mut h = started();
    h.record_arrival(
        Fitness::Fit,
        at(15, 44),
        at(16, 0),
        &EngineeringRules::default(),
    )
    .unwrap();
    h.check_equipment(vec![observation("e1", Running::Normal, true)], at(15, 46))
        .unwrap();
    h.read_last_record(true, String::new(), at(15, 47)).unwrap();
    h.count_inventory(vec![count(2, 2)], at(15, 48)).unwrap();
    h.check_cleanliness(true, String::new(), at(15, 49))
        .unwrap();
    h.brief(briefing(true)).unwrap();
    h
}

fn codes(blockers: &[Blocker]) -> Vec<&'static str> {
    blockers.iter().map(|b| b.code).collect()
}

#[test]
fn a_clean_handover_completes_with_both_signatures() {
    // rule HO-6
    let mut h = ready();
    let none = Surroundings::default();
    assert!(h.blockers(&none).is_empty());
    assert_eq!(h.sign(Side::Outgoing, &none, at(16, 0)), Ok(Signed::Once));
    assert!(matches!(
        h.sign(Side::Outgoing, &none, at(16, 0)),
        Err(SignError::Refused(Refusal {
            reason: "ALREADY_SIGNED",
            ..
        }))
    ));
    assert_eq!(
        h.sign(Side::Incoming, &none, at(16, 1)),
        Ok(Signed::Completed)
    );
    assert_eq!(
        (h.state, h.completed_at),
        (State::Completed, Some(at(16, 1)))
    );
}

#[test]
fn every_ho7_condition_is_listed_at_once() {
    // rule HO-7
    let mut h = started();
    h.record_arrival(
        Fitness::Drunk,
        at(15, 50),
        at(16, 0),
        &EngineeringRules::default(),
    )
    .unwrap();
    h.check_equipment(vec![observation("e1", Running::Normal, false)], at(15, 51))
        .unwrap();
    h.read_last_record(false, "缺记录".into(), at(15, 52))
        .unwrap();
    h.count_inventory(vec![count(2, 1)], at(15, 53)).unwrap();
    h.check_cleanliness(false, String::new(), at(15, 54))
        .unwrap();
    h.brief(briefing(false)).unwrap();
    let around = Surroundings {
        open_incidents: vec!["inc1".into()],
        faults_needing_both: vec!["f1".into()],
    };
    let Err(SignError::Blocked(blockers)) = h.sign(Side::Incoming, &around, at(16, 0)) else {
        panic!("signed despite HO-7");
    };
    assert_eq!(
        codes(&blockers),
        [
            ho7::INCOMING_UNFIT,
            ho7::RECORDS_DIFFER_FROM_EQUIPMENT,
            ho7::RECORD_IRREGULAR,
            ho7::INVENTORY_MISMATCH,
            ho7::ROOM_UNCLEAN,
            ho7::LAST_SHIFT_NOT_EXPLAINED,
            ho7::INCIDENT_IN_PROGRESS,
            ho7::FAULT_UNDER_REPAIR,
        ]
    );
    assert!(blockers.iter().all(|b| b.ho7));
    assert!(is_ho7_refusal(&blockers));
    assert_eq!(h.incoming_signed_at, None);
}

#[test]
fn nobody_arrived_is_an_ho7_refusal_with_the_steps_missing() {
    // rule HO-7 (交接班人数不齐)
    let mut h = started();
    let Err(SignError::Blocked(b)) = h.sign(Side::Outgoing, &Surroundings::default(), at(16, 0))
    else {
        panic!("signed without the incoming person");
    };
    assert_eq!(
        codes(&b),
        [
            ho7::INCOMING_NOT_ARRIVED,
            steps::EQUIPMENT_NOT_CHECKED,
            steps::LAST_RECORD_NOT_READ,
            steps::INVENTORY_NOT_COUNTED,
            steps::CLEANLINESS_NOT_CHECKED,
            steps::NOT_BRIEFED,
        ]
    );
    assert!(is_ho7_refusal(&b));
    // The incoming person's steps need them there.
    assert_eq!(
        h.check_equipment(vec![], at(16, 0)).unwrap_err().reason,
        ho7::INCOMING_NOT_ARRIVED
    );
}

#[test]
fn an_anomaly_is_handled_before_the_handover_proper() {
    // rule HO-3, HO-7 (设备运行有异常而又找不出原因)
    let mut h = started();
    h.record_arrival(
        Fitness::Fit,
        at(15, 44),
        at(16, 0),
        &EngineeringRules::default(),
    )
    .unwrap();
    h.check_equipment(
        vec![
            observation("e1", Running::AbnormalKnownCause, true),
            observation("e2", Running::AbnormalUnknownCause, true),
        ],
        at(15, 45),
    )
    .unwrap();
    assert_eq!(
        h.read_last_record(true, String::new(), at(15, 46))
            .unwrap_err()
            .reason,
        "EQUIPMENT_CHECK_FIRST"
    );
    let b = h.blockers(&Surroundings::default());
    assert_eq!(
        codes(&b)[..2],
        [steps::ANOMALY_NOT_HANDLED, ho7::EQUIPMENT_ABNORMAL_UNKNOWN]
    );
    // Handled: checked again, all normal, the handover proper may start.
    h.check_equipment(vec![observation("e1", Running::Normal, true)], at(15, 50))
        .unwrap();
    h.read_last_record(true, String::new(), at(15, 51)).unwrap();
}

#[test]
fn a_step_after_a_signature_asks_for_it_again() {
    let mut h = ready();
    let none = Surroundings::default();
    h.sign(Side::Outgoing, &none, at(16, 0)).unwrap();
    h.check_cleanliness(true, "再查".into(), at(16, 1)).unwrap();
    assert_eq!(h.outgoing_signed_at, None);
}

#[test]
fn a_fault_stops_the_handover_until_it_is_handled() {
    // rule HO-8
    let mut h = ready();
    let none = Surroundings::default();
    h.sign(Side::Outgoing, &none, at(16, 0)).unwrap();
    assert!(h.stop("f1"));
    assert_eq!(h.state, State::Stopped);
    assert_eq!(h.outgoing_signed_at, None);
    let Err(SignError::Blocked(b)) = h.sign(Side::Incoming, &none, at(16, 1)) else {
        panic!("signed a stopped handover");
    };
    assert_eq!(codes(&b)[0], steps::HANDOVER_STOPPED);
    assert!(!is_ho7_refusal(&b));
    assert_eq!(h.restart(true).unwrap_err().reason, "FAULT_STILL_OPEN");
    h.restart(false).unwrap();
    // The equipment is checked and the briefing given again.
    assert_eq!(
        codes(&h.blockers(&none)),
        [steps::EQUIPMENT_NOT_CHECKED, steps::NOT_BRIEFED]
    );
    h.check_equipment(vec![observation("e1", Running::Normal, true)], at(16, 30))
        .unwrap();
    h.brief(briefing(true)).unwrap();
    h.sign(Side::Outgoing, &none, at(16, 31)).unwrap();
    assert_eq!(
        h.sign(Side::Incoming, &none, at(16, 31)),
        Ok(Signed::Completed)
    );
}

#[test]
fn an_unfit_person_is_replaced_and_the_replacement_checks_anew() {
    // rule HO-7 (接班人员精神状态不良 … 未找到接班人)
    let mut h = ready();
    h.arrival.as_mut().unwrap().fitness = Fitness::Ill;
    assert_eq!(
        codes(&h.blockers(&Surroundings::default())),
        [ho7::INCOMING_UNFIT]
    );
    h.replace_incoming("s3", "t3").unwrap();
    assert_eq!(h.incoming_user_id, "t3");
    assert_eq!(
        codes(&h.blockers(&Surroundings::default()))[0],
        ho7::INCOMING_NOT_ARRIVED
    );
    assert_eq!(
        h.replace_incoming("s1", "t1").unwrap_err().reason,
        "SAME_PERSON"
    );
}

#[test]
fn late_preparation_and_arrival_follow_the_rules() {
    // rule HO-1, HO-2
    let rules = EngineeringRules::default();
    assert!(!preparation_late(at(15, 40), at(16, 0), &rules));
    assert!(preparation_late(at(15, 41), at(16, 0), &rules));
    assert!(!arrival_late(at(15, 45), at(16, 0), &rules));
    assert!(arrival_late(at(15, 46), at(16, 0), &rules));
}

#[test]
fn refusal_codes_are_distinct() {
    let r = HandoverRefusal {
        at: at(16, 0),
        refused_to: Actor {
            user_id: "t2".into(),
            name: String::new(),
            role: "technician".into(),
        },
        reasons: vec![
            Blocker::ho7(ho7::INVENTORY_MISMATCH, "i1", ""),
            Blocker::ho7(ho7::INVENTORY_MISMATCH, "i2", ""),
            Blocker::ho7(ho7::ROOM_UNCLEAN, "", ""),
        ],
    };
    assert_eq!(r.codes(), [ho7::INVENTORY_MISMATCH, ho7::ROOM_UNCLEAN]);
}

mod properties {
    //! No sequence of calls reaches an invalid handover: a refused call changes nothing, a
    //! completed handover stays completed, and no signature (so no completion) stands while
    //! a blocker, HO-7 or a step not done, holds (HO-6, HO-7, HO-8).
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Call {
        Arrive(Fitness),
        Replace(usize),
        CheckEquipment(Vec<(Running, bool)>),
        ReadLastRecord(bool),
        CountInventory(Vec<(i64, i64)>),
        CheckCleanliness(bool),
        Brief(bool),
        Stop,
        Restart {
            fault_still_open: bool,
        },
        Sign {
            side: Side,
            incident: bool,
            fault: bool,
        },
    }

    /// Mostly good news, so that handovers also complete.
    fn good() -> impl Strategy<Value = bool> {
        prop::bool::weighted(0.85)
    }

    fn call() -> impl Strategy<Value = Call> {
        let fitness = prop_oneof![
            6 => Just(Fitness::Fit),
            1 => Just(Fitness::Tired),
            1 => Just(Fitness::Drunk),
            1 => Just(Fitness::Ill),
            1 => Just(Fitness::Injured),
        ];
        let running = prop_oneof![
            6 => Just(Running::Normal),
            1 => Just(Running::AbnormalKnownCause),
            1 => Just(Running::AbnormalUnknownCause),
        ];
        let count = (0i64..3, good())
            .prop_map(|(listed, same)| (listed, if same { listed } else { listed + 1 }));
        let rare = prop::bool::weighted(0.1);
        prop_oneof![
            2 => fitness.prop_map(Call::Arrive),
            1 => (0usize..4).prop_map(Call::Replace),
            2 => prop::collection::vec((running, good()), 0..3).prop_map(Call::CheckEquipment),
            2 => good().prop_map(Call::ReadLastRecord),
            2 => prop::collection::vec(count, 0..3).prop_map(Call::CountInventory),
            2 => good().prop_map(Call::CheckCleanliness),
            2 => good().prop_map(Call::Brief),
            1 => Just(Call::Stop),
            1 => rare.prop_map(|fault_still_open| Call::Restart { fault_still_open }),
            4 => (prop_oneof![Just(Side::Outgoing), Just(Side::Incoming)], rare, rare)
                .prop_map(|(side, incident, fault)| Call::Sign { side, incident, fault }),
        ]
    }

    const PEOPLE: [&str; 4] = ["t1", "t2", "t3", "t4"];

    proptest! {
        // 256 cases, or PROPTEST_CASES.
        #[test]
        fn no_sequence_of_calls_reaches_an_invalid_handover(
            calls in prop::collection::vec(call(), 1..50)
        ) {
            let rules = EngineeringRules::default();
            let mut h = started();
            let none = Surroundings::default();
            for (i, call) in calls.into_iter().enumerate() {
                let now = at(15, 41) + Duration::seconds(i as i64);
                let before = h.clone();
                let changed = match call {
                    Call::Arrive(fitness) => {
                        h.record_arrival(fitness, now, at(16, 0), &rules).is_ok()
                    }
                    Call::Replace(who) => h
                        .replace_incoming(&format!("s-{who}"), PEOPLE[who])
                        .is_ok(),
                    Call::CheckEquipment(seen) => {
                        let observations = seen
                            .into_iter()
                            .enumerate()
                            .map(|(n, (running, matches_record))| {
                                observation(&format!("e{n}"), running, matches_record)
                            })
                            .collect();
                        h.check_equipment(observations, now).is_ok()
                    }
                    Call::ReadLastRecord(regular) => {
                        h.read_last_record(regular, String::new(), now).is_ok()
                    }
                    Call::CountInventory(counts) => {
                        let counts = counts
                            .into_iter()
                            .map(|(listed, counted)| count(listed, counted))
                            .collect();
                        h.count_inventory(counts, now).is_ok()
                    }
                    Call::CheckCleanliness(clean) => {
                        h.check_cleanliness(clean, String::new(), now).is_ok()
                    }
                    Call::Brief(clear) => h.brief(briefing(clear)).is_ok(),
                    Call::Stop => h.stop("f1"),
                    Call::Restart { fault_still_open } => h.restart(fault_still_open).is_ok(),
                    Call::Sign { side, incident, fault } => {
                        let around = Surroundings {
                            open_incidents: if incident { vec!["i1".into()] } else { vec![] },
                            faults_needing_both: if fault { vec!["f2".into()] } else { vec![] },
                        };
                        let blockers = before.blockers(&around);
                        match h.sign(side, &around, now) {
                            Ok(_) => {
                                prop_assert!(blockers.is_empty(), "signed over {blockers:?}");
                                true
                            }
                            Err(SignError::Blocked(given)) => {
                                prop_assert!(!given.is_empty());
                                prop_assert_eq!(&given, &blockers, "every blocker listed");
                                false
                            }
                            Err(SignError::Refused(_)) => false,
                        }
                    }
                };
                if !changed {
                    prop_assert_eq!(&h, &before, "a refused call changes nothing");
                }
                if before.state == State::Completed {
                    prop_assert_eq!(&h, &before, "completed stays completed");
                }
                // Invariants of every reachable handover.
                prop_assert_ne!(&h.incoming_user_id, &h.outgoing_user_id);
                prop_assert_eq!(h.stopped_by_fault.is_some(), h.state == State::Stopped);
                prop_assert_eq!(h.completed_at.is_some(), h.state == State::Completed);
                if h.outgoing_signed_at.is_some() || h.incoming_signed_at.is_some() {
                    // A signature stands only over a handover with nothing blocking it.
                    let blockers = h.blockers(&none);
                    prop_assert!(blockers.is_empty(), "a signature over {blockers:?}");
                    prop_assert!(!is_ho7_refusal(&blockers));
                }
                if h.state == State::Completed {
                    prop_assert!(h.outgoing_signed_at.is_some() && h.incoming_signed_at.is_some());
                    prop_assert_eq!(h.arrival.as_ref().map(|a| a.fitness), Some(Fitness::Fit));
                }
            }
        }
    }
}
