use std::collections::BTreeMap;

use chrono::{Duration, TimeZone};

use super::*;

fn actor() -> Actor {
    Actor {
        user_id: "u1".into(),
        name: "李管理员".into(),
        role: "cs_clerk".into(),
    }
}

fn set(state: KeySetState) -> KeySet {
    KeySet {
        id: "k1".into(),
        property_id: "p1".into(),
        number: 1,
        source: KeySource::Customer,
        unit_id: "u".into(),
        unit_label: "3-2-1502".into(),
        customer_name: "王建国".into(),
        customer_phone: "13911112222".into(),
        customer_id: MaskedId::none(),
        customer_id_digest: None,
        key_count: 3,
        reason: "出差".into(),
        collection_conditions: "本人或指定人凭证件".into(),
        collectors: vec![Collector {
            name: "王小丽".into(),
            phone: String::new(),
            id: MaskedId {
                id_type: IdType::ResidentIdCard,
                masked: "**************002X".into(),
            },
            id_digest: Some(digest(OnFile::Collector(0), "11010519491231002X")),
        }],
        disclaimer: Disclaimer {
            signer_name: "王建国".into(),
            image: None,
            signed_at: Utc::now(),
        },
        tag: tag("王建国", "3-2-1502"),
        slot: "A-01".into(),
        state,
        keys_out: 0,
        entrusted_at: Utc::now(),
        entrusted_by: actor(),
        collection: None,
        current_loan: None,
    }
}

fn shown(number: &str) -> ShownId {
    let mut v = Violations::new();
    let id = mask_id("id_number", IdType::ResidentIdCard, number, &mut v).unwrap();
    assert!(v.is_empty());
    id
}

/// A stand-in for the keyed digest: whose record and the number, so that a check against
/// the wrong person's record fails too.
fn digest(whose: OnFile, number: &str) -> Vec<u8> {
    format!("{whose:?}/{number}").into_bytes()
}

/// KEY-9 with the stand-in digest.
fn check(set: &KeySet, claimant: &str, id: &ShownId) -> std::result::Result<bool, Refusal> {
    identify_collector(set, claimant, id, |whose, on_file| {
        Ok(on_file == digest(whose, id.number()))
    })
    .unwrap()
}

#[test]
fn resident_id_check_digit_and_mask() {
    // rule KEY-9: only the masked number is kept
    let mut v = Violations::new();
    let id = mask_id("f", IdType::ResidentIdCard, " 1101051949 1231002x", &mut v).unwrap();
    assert_eq!(id.masked.masked, "**************002X");
    // The whole number as digested: no whitespace, upper case.
    assert_eq!(id.number(), "11010519491231002X");
    assert!(!format!("{id:?}").contains("110105"), "never in a log line");
    assert!(v.is_empty());
    assert!(mask_id("f", IdType::ResidentIdCard, "110105194912310021", &mut v).is_none());
    assert!(mask_id("f", IdType::Passport, "E1234", &mut v).is_some());
    assert!(mask_id("f", IdType::Passport, "E12", &mut v).is_none());
    assert_eq!(
        mask_id("f", IdType::None, "", &mut v),
        Some(ShownId::none())
    );
    assert!(!v.is_empty());
}

#[test]
fn no_signature_no_custody() {
    // rule KEY-3
    assert!(check_disclaimer(true, "王建国").is_ok());
    for (accepted, name) in [(false, "王建国"), (true, "  ")] {
        let Err(Error::Rule { reason, .. }) = check_disclaimer(accepted, name) else {
            panic!("refused");
        };
        assert_eq!(reason, "DISCLAIMER_NOT_SIGNED");
    }
}

#[test]
fn a_set_out_is_not_lent_again() {
    // rule KEY-6
    assert!(check_borrow(&set(KeySetState::InCabinet), 3).is_ok());
    assert!(matches!(
        check_borrow(&set(KeySetState::InCabinet), 4),
        Err(Error::InvalidArgument(_))
    ));
    let Err(Error::Rule { reason, .. }) = check_borrow(&set(KeySetState::OnLoan), 1) else {
        panic!("refused");
    };
    assert_eq!(reason, "KEYS_OUT");
}

#[test]
fn returns_are_counted() {
    // rule KEY-7
    assert_eq!(
        check_return(LoanState::Open, 3, 3).unwrap(),
        ReturnOutcome::Complete
    );
    assert_eq!(
        check_return(LoanState::Open, 3, 2).unwrap(),
        ReturnOutcome::Short { missing: 1 }
    );
    let Err(Error::Rule { reason, .. }) = check_return(LoanState::Open, 1, 2) else {
        panic!("refused");
    };
    assert_eq!(reason, "COUNT_EXCEEDS_LENT");
    assert!(check_return(LoanState::Returned, 0, 1).is_err());
}

#[test]
fn overdue_after_the_configured_days() {
    // rule KEY-8
    let due = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    assert_eq!(overdue_at(due, 1), due + Duration::days(1));
    assert_eq!(overdue_cutoff(due + Duration::days(1), 1), due);
    assert!(check_chase(LoanState::Open, false).is_err());
    assert!(check_chase(LoanState::Open, true).is_ok());
}

#[test]
fn only_the_customer_or_a_designated_collector_with_id() {
    // rule KEY-9
    let s = set(KeySetState::InCabinet);
    let card = shown("11010519491231002X");
    assert_eq!(check(&s, "王建国", &card), Ok(false));
    assert_eq!(check(&s, "王小丽", &card), Ok(true));
    assert_eq!(
        check(&s, "王建国", &ShownId::none()),
        Err(Refusal::IdNotVerified)
    );
    assert_eq!(check(&s, "张三", &card), Err(Refusal::NotDesignated));
    // The designated collector's ID is on the form: another document does not do.
    let other = shown("110105194912310038");
    assert_eq!(check(&s, "王小丽", &other), Err(Refusal::IdNotVerified));
    // Nor another valid card ending in the same four characters.
    let same_end = shown("11010519510615002X");
    assert_eq!(same_end.masked, card.masked);
    assert_eq!(check(&s, "王小丽", &same_end), Err(Refusal::IdNotVerified));
    // Nor the right number as another type of document.
    let mut v = Violations::new();
    let passport = mask_id("f", IdType::Passport, "11010519491231002X", &mut v).unwrap();
    assert_eq!(check(&s, "王小丽", &passport), Err(Refusal::IdNotVerified));
    assert!(check_collect_state(&set(KeySetState::OnLoan)).is_err());
    assert!(check_collect_state(&set(KeySetState::Collected)).is_err());
}

#[test]
fn a_masked_number_alone_is_never_proof() {
    // rule KEY-9: a custody recorded before digests were kept
    let mut s = set(KeySetState::InCabinet);
    s.collectors[0].id_digest = None;
    let card = shown("11010519491231002X");
    assert_eq!(
        check(&s, "王小丽", &card),
        Err(Refusal::IdOnFileUnverifiable)
    );
    assert_eq!(
        check(&s, "王小丽", &shown("11010519510615002X")),
        Err(Refusal::IdOnFileUnverifiable)
    );
    // A masked number that differs is another document.
    assert_eq!(
        check(&s, "王小丽", &shown("110105194912310038")),
        Err(Refusal::IdNotVerified)
    );
    // The customer recorded no document: their name and any valid ID, as before.
    assert_eq!(check(&s, "王建国", &card), Ok(false));
    // Without a digest the keyring is not even asked; with one, its fault is a fault, not
    // a refusal.
    let unasked = identify_collector(&s, "王小丽", &card, |_, _| {
        Err(Error::Internal(anyhow::anyhow!("no key")))
    });
    assert!(matches!(unasked, Ok(Err(Refusal::IdOnFileUnverifiable))));
    s.collectors[0].id_digest = Some(digest(OnFile::Collector(0), card.number()));
    let fault = identify_collector(&s, "王小丽", &card, |_, _| {
        Err(Error::Internal(anyhow::anyhow!("no key")))
    });
    assert!(matches!(fault, Err(Error::Internal(_))));
    for refusal in [
        Refusal::IdNotVerified,
        Refusal::NotDesignated,
        Refusal::IdOnFileUnverifiable,
    ] {
        assert_eq!(Refusal::from_reason(refusal.reason()), Some(refusal));
        let Error::Rule { reason, .. } = refusal.to_error() else {
            panic!("a rule refusal");
        };
        assert_eq!(reason, refusal.reason());
    }
}

#[test]
fn an_id_is_recorded_again_only_where_the_form_kept_no_digest() {
    // rule KEY-9: a custody recorded before digests were kept
    let mut s = set(KeySetState::InCabinet);
    s.collectors[0].id_digest = None;
    s.customer_id = shown("440300199001011238").masked;
    let refusal = |r: Result<&str>| match r {
        Err(Error::Rule { reason, .. }) => reason,
        other => panic!("a rule refusal, not {other:?}"),
    };
    let card = shown("11010519491231002X");
    assert_eq!(
        check_record_id(&s, OnFile::Collector(0), &card).unwrap(),
        "王小丽"
    );
    // A card ending the same way passes this check: the masked number cannot tell them
    // apart, which is why the supervisor reads the whole number from the document itself.
    assert!(check_record_id(&s, OnFile::Collector(0), &shown("11010519510615002X")).is_ok());
    assert_eq!(
        check_record_id(&s, OnFile::Customer, &shown("440300199001011238")).unwrap(),
        "王建国"
    );
    // Another document: another masked number, or another type.
    let Err(Error::Rule {
        reason, metadata, ..
    }) = check_record_id(&s, OnFile::Collector(0), &shown("110105194912310038"))
    else {
        panic!("refused");
    };
    assert_eq!(reason, "ID_DOES_NOT_MATCH_RECORD");
    assert_eq!(metadata["mismatch"], "number");
    let mut v = Violations::new();
    let passport = mask_id("f", IdType::Passport, "11010519491231002X", &mut v).unwrap();
    let Err(Error::Rule { metadata, .. }) = check_record_id(&s, OnFile::Collector(0), &passport)
    else {
        panic!("refused");
    };
    assert_eq!(metadata["mismatch"], "document_type");
    // A digest on file is never replaced, whatever is shown.
    s.collectors[0].id_digest = Some(digest(OnFile::Collector(0), card.number()));
    assert_eq!(
        refusal(check_record_id(&s, OnFile::Collector(0), &card)),
        "ID_ALREADY_ON_FILE"
    );
    assert_eq!(
        refusal(check_record_id(&s, OnFile::Collector(0), &passport)),
        "ID_ALREADY_ON_FILE"
    );
    // No document on the form for the person: nothing to record again.
    let mut none = set(KeySetState::InCabinet);
    none.collectors[0].id = MaskedId::none();
    none.collectors[0].id_digest = None;
    assert_eq!(
        refusal(check_record_id(&none, OnFile::Customer, &card)),
        "NO_ID_ON_FILE"
    );
    assert_eq!(
        refusal(check_record_id(&none, OnFile::Collector(0), &card)),
        "NO_ID_ON_FILE"
    );
    // Bad input: a position the form does not have, no document.
    s.collectors[0].id_digest = None;
    assert!(matches!(
        check_record_id(&s, OnFile::Collector(1), &card),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        check_record_id(&s, OnFile::Collector(0), &ShownId::none()),
        Err(Error::InvalidArgument(_))
    ));
    // Only while the custody is open; keys out on a loan do not stop it.
    assert!(
        check_record_id(
            &set_in(&s, KeySetState::OnLoan),
            OnFile::Collector(0),
            &card
        )
        .is_ok()
    );
    assert_eq!(
        refusal(check_record_id(
            &set_in(&s, KeySetState::Collected),
            OnFile::Collector(0),
            &card
        )),
        "CUSTODY_CLOSED"
    );
    assert_eq!(ID_RECORDERS, ["cs_supervisor"], "never the clerk");
}

fn set_in(s: &KeySet, state: KeySetState) -> KeySet {
    KeySet { state, ..s.clone() }
}

#[test]
fn retention_counts_calendar_years() {
    // rule KEY-10
    let now = Utc.with_ymd_and_hms(2028, 11, 28, 0, 0, 0).unwrap();
    assert_eq!(
        retention_cutoff(now, 2),
        Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()
    );
}

#[test]
fn audit_reports_every_difference() {
    let register = vec![
        SlotOnRecord {
            slot: "A-01".into(),
            key_set_id: "k1".into(),
            key_number: 1,
            keys_in_cabinet: 3,
        },
        SlotOnRecord {
            slot: "A-02".into(),
            key_set_id: "k2".into(),
            key_number: 2,
            keys_in_cabinet: 2,
        },
        SlotOnRecord {
            slot: "A-03".into(),
            key_set_id: "k3".into(),
            key_number: 3,
            keys_in_cabinet: 1,
        },
    ];
    let counted = BTreeMap::from([
        ("A-01".to_owned(), 3),
        ("A-02".to_owned(), 1),
        ("B-09".to_owned(), 2),
    ]);
    let slots: Vec<(String, i32, i32)> = audit(&register, &counted)
        .into_iter()
        .map(|m| (m.slot, m.expected, m.counted))
        .collect();
    assert_eq!(
        slots,
        [
            ("A-02".to_owned(), 2, 1),
            ("A-03".to_owned(), 1, 0),
            ("B-09".to_owned(), 0, 2)
        ]
    );
}

#[test]
fn figures_by_month_in_the_property_zone() {
    // rule KEY-11
    let tz = chrono_tz::Asia::Shanghai;
    // 2026-11-30 17:00 UTC is already December in Shanghai.
    let late = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap();
    let early = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap();
    let o = |deed, user: &str, name: &str, at| Occurrence {
        deed,
        user_id: user.into(),
        name: name.into(),
        at,
    };
    let figures = figures(
        &[
            o(Deed::LoanHandled, "c1", "李", early),
            o(Deed::LoanHandled, "c1", "李", late),
            o(Deed::Chase, "c1", "李", early),
            o(Deed::LoanBorrowed, "", "张师傅", early),
            o(Deed::OverdueLoan, "", "张师傅", early),
        ],
        tz,
    );
    let lines: Vec<(&str, &str, i32, i32, i32)> = figures
        .iter()
        .map(|f| {
            (
                f.month.as_str(),
                f.name.as_str(),
                f.loans_handled,
                f.chases,
                f.overdue_loans,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("2026-11", "张师傅", 0, 0, 1),
            ("2026-11", "李", 1, 1, 0),
            ("2026-12", "李", 1, 0, 0),
        ]
    );
}

#[test]
fn months() {
    let from = parse_month("2026-11").unwrap();
    let to = parse_month("2027-01").unwrap();
    assert_eq!(months_between(from, to), 3);
    assert!(parse_month("2026-13").is_none());
    let (start, end) = month_window(from, from, chrono_tz::Asia::Shanghai);
    assert_eq!(start, Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap());
    assert_eq!(end, Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap());
}

#[test]
fn form_part_two_escapes_and_states_the_disclaimer() {
    let mut s = set(KeySetState::InCabinet);
    s.reason = "<b>出差</b>".into();
    let html = render_form_part_two(&s, "阳光花园", chrono_tz::Asia::Shanghai, Utc::now());
    assert!(html.contains("第二联"));
    assert!(html.contains("不承担为客户保管家庭财产的责任"));
    assert!(html.contains("&lt;b&gt;出差"));
    assert!(html.contains("**************002X"));
}

mod properties {
    //! No sequence of loans, returns and collections reaches an invalid custody: keys out
    //! never below zero nor above the set, a set is never both lent and collected, a
    //! collected set stays collected, and a refused step changes nothing (KEY-6 to KEY-9).
    //! The steps change the set as the store does, guarded by these rules.
    use proptest::prelude::*;

    use super::*;

    /// One loan of the borrowing register: its state and the keys it still has out.
    #[derive(Debug, Clone, PartialEq)]
    struct OpenLoan {
        state: LoanState,
        keys_out: i32,
    }

    #[derive(Debug, Clone)]
    enum Call {
        Borrow(i32),
        Return(i32),
        Collect { claimant: usize, id: usize },
    }

    const CLAIMANTS: [&str; 3] = ["王建国", "王小丽", "张三"];

    fn call() -> impl Strategy<Value = Call> {
        // Quantities as the desk accepts them (1 to MAX_KEYS), around the set's 3 keys.
        prop_oneof![
            3 => (1..=5i32).prop_map(Call::Borrow),
            4 => (1..=5i32).prop_map(Call::Return),
            1 => (0..CLAIMANTS.len(), 0..3usize)
                .prop_map(|(claimant, id)| Call::Collect { claimant, id }),
        ]
    }

    /// Takes `call` on the set and its latest loan; `Err` when a rule refuses it.
    fn take(set: &mut KeySet, loan: &mut Option<OpenLoan>, call: Call) -> Result<(), ()> {
        match call {
            Call::Borrow(quantity) => {
                check_borrow(set, quantity).map_err(drop)?;
                set.state = KeySetState::OnLoan;
                set.keys_out = quantity;
                *loan = Some(OpenLoan {
                    state: LoanState::Open,
                    keys_out: quantity,
                });
            }
            Call::Return(received) => {
                let current = loan.as_mut().ok_or(())?;
                let outcome =
                    check_return(current.state, current.keys_out, received).map_err(drop)?;
                current.keys_out -= received;
                set.keys_out -= received;
                if outcome == ReturnOutcome::Complete {
                    current.state = LoanState::Returned;
                    set.state = KeySetState::InCabinet;
                }
            }
            Call::Collect { claimant, id } => {
                check_collect_state(set).map_err(drop)?;
                let id = match id {
                    0 => ShownId::none(),
                    1 => shown("11010519491231002X"),
                    _ => shown("110105194912310038"),
                };
                let designated = check(set, CLAIMANTS[claimant], &id).map_err(drop)?;
                set.state = KeySetState::Collected;
                set.collection = Some(Collection {
                    collector_name: CLAIMANTS[claimant].into(),
                    designated,
                    id: id.masked,
                    signer_name: CLAIMANTS[claimant].into(),
                    collected_at: Utc::now(),
                    handed_over_by: actor(),
                });
            }
        }
        Ok(())
    }

    proptest! {
        // 256 cases, or PROPTEST_CASES.
        #[test]
        fn no_sequence_of_custody_steps_reaches_an_invalid_set(
            calls in prop::collection::vec(call(), 1..40)
        ) {
            let mut set = set(KeySetState::InCabinet);
            let mut loan = None;
            for call in calls {
                let before = (set.clone(), loan.clone());
                let taken = take(&mut set, &mut loan, call.clone());
                if taken.is_err() {
                    prop_assert_eq!(&(set.clone(), loan.clone()), &before, "refused: {:?}", call);
                }
                if before.0.state == KeySetState::Collected {
                    prop_assert!(taken.is_err(), "collected stays collected: {:?}", call);
                }
                // Invariants of every reachable custody.
                prop_assert!(0 <= set.keys_out && set.keys_out <= set.key_count);
                prop_assert!((0..=set.key_count).contains(&set.keys_in_cabinet()));
                let lent = loan.as_ref().is_some_and(|l| l.state == LoanState::Open);
                prop_assert_eq!(set.state == KeySetState::OnLoan, lent);
                if let Some(l) = &loan {
                    prop_assert!(l.keys_out >= 0);
                    prop_assert_eq!(l.keys_out == 0, l.state == LoanState::Returned);
                    if l.state == LoanState::Open {
                        prop_assert_eq!(l.keys_out, set.keys_out);
                    }
                }
                match set.state {
                    KeySetState::InCabinet => prop_assert_eq!(set.keys_out, 0),
                    KeySetState::OnLoan => prop_assert!(set.keys_out > 0),
                    // Never both lent and collected.
                    KeySetState::Collected => {
                        prop_assert_eq!(set.keys_out, 0);
                        prop_assert!(!lent);
                        let c = set.collection.as_ref().unwrap();
                        prop_assert!(!c.id.is_none(), "collected without an ID");
                    }
                }
                prop_assert_eq!(set.collection.is_some(), set.state == KeySetState::Collected);
            }
        }
    }
}
