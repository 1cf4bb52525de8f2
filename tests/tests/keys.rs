//! Key custody (钥匙委托管理, issue 4, KEY-1 to KEY-11) through the gateway, on SQLite and
//! PostgreSQL: the life of a key set, the refusals, concurrent loans, the overdue alert stream,
//! retention and the cabinet audit.

use std::{collections::BTreeSet, time::Duration};

use chrono::Duration as Days;
use sqlx::Connection;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_kit::{clock::Clock, time::to_timestamp};
use wuye_tests::{
    Backend, KeyClient, PROPERTY, Stack, both_backends, data_dir,
    keys::{self, COLLECTOR_ID, OWNER_ID, entrust, record_id, same_last_four, signed},
    proto::{
        customerservice::{
            AuditKeyCabinetRequest, BorrowKeysRequest, ChaseMethod, CollectKeysRequest,
            CreateUnitRequest, DesignatedCollector, DisclaimerSignature, EntrustKeysRequest,
            GetKeyFiguresRequest, GetKeySetRequest, IdDocumentType, IdHolder, KeyLoan,
            KeyLoanState, KeySet, KeySetState, KeySource, ListKeyLoansRequest,
            ListKeyRefusalsRequest, ListKeySetsRequest, RecordCustodyIdRequest,
            RecordKeyChaseRequest, RenderEntrustmentFormRequest, ReturnKeysRequest, SlotCount,
            UnitState, WatchKeyAlertsRequest,
        },
        events::{Event, SubscribeRequest, event::Payload},
    },
};

both_backends!(
    a_key_set_is_recorded_from_entrustment_to_collection,
    refusals_carry_a_reason_and_write_nothing,
    bad_input_names_every_field,
    retries_with_the_same_request_id_never_duplicate,
    concurrent_loans_of_one_set_give_exactly_one_loan,
    the_overdue_alert_stream_delivers_once_per_loan,
    retention_purges_only_custodies_closed_over_two_years,
    the_cabinet_audit_reports_every_mismatch,
    the_policy_keeps_custody_with_customer_service,
    collection_checks_the_whole_id_number,
    a_custody_recorded_with_only_masked_ids_is_not_handed_over,
    the_supervisor_records_a_legacy_custody_id_again,
);

/// A resident ID card number with a valid check digit, not the owner's or the collector's.
const STRANGER_ID: &str = "310115198503124566";
/// How long a test waits for something the background job does.
const WAIT: Duration = Duration::from_secs(15);

fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn refused(status: &Status, expected: &str) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(status), expected);
}

async fn unit(stack: &Stack, room: &str, state: UnitState) -> String {
    stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "3".into(),
            entrance: "2".into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 98.5,
            state: state.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

/// A loan by the staff member `borrower` (a staff id) expected back `hours` after the stack's
/// now.
fn borrow(
    stack: &Stack,
    borrower: &str,
    request_id: &str,
    set: &str,
    quantity: i32,
    hours: i64,
) -> BorrowKeysRequest {
    keys::borrow(
        request_id,
        set,
        quantity,
        stack.clock.now() + Days::hours(hours),
        borrower,
    )
}

fn give_back(request_id: &str, loan: &str, quantity: i32) -> ReturnKeysRequest {
    ReturnKeysRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        loan_id: loan.into(),
        quantity,
        note: String::new(),
    }
}

fn collect(request_id: &str, set: &str, name: &str, id: Option<&str>) -> CollectKeysRequest {
    CollectKeysRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        key_set_id: set.into(),
        collector_name: name.into(),
        id_document_type: if id.is_some() {
            IdDocumentType::ResidentIdCard.into()
        } else {
            IdDocumentType::Unspecified.into()
        },
        id_number: id.unwrap_or_default().into(),
        signer_name: name.into(),
    }
}

async fn key_set(keys: &mut KeyClient, id: &str) -> KeySet {
    keys.get_key_set(GetKeySetRequest {
        property_id: PROPERTY.into(),
        key_set_id: id.into(),
    })
    .await
    .unwrap()
    .into_inner()
    .key_set
    .unwrap()
}

async fn key_sets(keys: &mut KeyClient) -> Vec<KeySet> {
    keys.list_key_sets(ListKeySetsRequest {
        property_id: PROPERTY.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .key_sets
}

async fn loans(keys: &mut KeyClient, set: &str) -> Vec<KeyLoan> {
    keys.list_key_loans(ListKeyLoansRequest {
        property_id: PROPERTY.into(),
        key_set_id: set.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .loans
}

/// Where the register says the keys of `set` are: state, in the cabinet, out.
async fn whereabouts(keys: &mut KeyClient, set: &str) -> (KeySetState, i32, i32) {
    let s = key_set(keys, set).await;
    (s.state(), s.keys_in_cabinet, s.keys_out)
}

/// Reads the customer service event stream until `pick` finds what it wants.
async fn await_event<T>(stack: &Stack, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let mut events = stack.events("customer-service");
    let mut stream = events
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    tokio::time::timeout(WAIT, async {
        loop {
            let event = stream.message().await.unwrap().unwrap().event.unwrap();
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await
    .expect("the event arrives")
}

/// Every event written so far (the stream is read until it has nothing more for a moment).
async fn all_events(stack: &Stack) -> Vec<Event> {
    let mut events = stack.events("customer-service");
    let mut stream = events
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Ok(Some(Ok(item))) =
        tokio::time::timeout(Duration::from_millis(500), stream.message())
            .await
            .map(|m| m.transpose())
    {
        out.push(item.event.unwrap());
    }
    out
}

async fn a_key_set_is_recorded_from_entrustment_to_collection(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "1502", UnitState::Vacant).await;
    let mut clerk = stack.keys_as("cs_clerk", "clerk-1", "李管理员");

    // Entrust (KEY-2 to KEY-5): tag, slot, the form with the signed disclaimer.
    let set = clerk
        .entrust_keys(entrust("e1", &unit_id, " a-01 "))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(set.number, 1);
    assert_eq!(set.slot, "A-01");
    assert_eq!(set.tag, "王建国 3-2-1502");
    assert_eq!(set.unit_label, "3-2-1502");
    assert_eq!(set.state(), KeySetState::InCabinet);
    assert_eq!((set.keys_in_cabinet, set.keys_out), (3, 0));
    assert_eq!(set.entrusted_by.as_ref().unwrap().user_id, "clerk-1");
    // Only the masked number is kept (KEY-9).
    assert_eq!(set.collectors[0].id_number, "**************002X");
    let full = key_set(&mut clerk, &set.id).await;
    assert_eq!(full.disclaimer.as_ref().unwrap().signer_name, "王建国");
    assert_eq!(
        full.disclaimer.as_ref().unwrap().signature_image,
        vec![0x89, b'P', b'N', b'G']
    );

    // Part two of the form for the customer (KEY-4).
    let form = clerk
        .render_entrustment_form(RenderEntrustmentFormRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .document
        .unwrap();
    let html = String::from_utf8(form.content).unwrap();
    assert!(form.content_type.starts_with("text/html"));
    assert!(html.contains("客户托管钥匙委托书"));
    assert!(html.contains("第二联"));
    assert!(html.contains("3-2-1502"));
    assert!(html.contains("不承担为客户保管家庭财产的责任"));
    assert!(!html.contains(COLLECTOR_ID));

    // Lend two keys for a repair (KEY-6), and take both back (KEY-7).
    let loan = clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &set.id, 2, 4))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(loan.state(), KeyLoanState::Open);
    assert_eq!(loan.slot, "A-01");
    // The register names the borrower as the directory does.
    let borrower = loan.borrower.clone().unwrap();
    assert_eq!(borrower.user_id, tech);
    assert_eq!(borrower.name, keys::BORROWER_NAME);
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::OnLoan, 1, 2)
    );
    let on_loan = key_set(&mut clerk, &set.id).await;
    assert_eq!(on_loan.current_loan.unwrap().id, loan.id);
    stack.clock.advance(Days::hours(3));
    let back = clerk
        .return_keys(give_back("r1", &loan.id, 2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.loan.as_ref().unwrap().state(), KeyLoanState::Returned);
    assert_eq!(back.key_return.as_ref().unwrap().missing, 0);
    assert_eq!(
        back.key_return.unwrap().received_by.unwrap().user_id,
        "clerk-1"
    );
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::InCabinet, 3, 0)
    );

    // Lend all three for a day; the loan passes its limit a day later (KEY-8).
    let mut alerts = clerk
        .watch_key_alerts(WatchKeyAlertsRequest {
            property_id: PROPERTY.into(),
            after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let loan = clerk
        .borrow_keys(borrow(&stack, &tech, "b2", &set.id, 3, 24))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::OnLoan, 0, 3)
    );
    stack.clock.advance(Days::hours(49));
    let alert = tokio::time::timeout(WAIT, alerts.message())
        .await
        .expect("an alert arrives")
        .unwrap()
        .unwrap()
        .alert
        .unwrap();
    assert_eq!(alert.loan.as_ref().unwrap().id, loan.id);
    assert!(alert.loan.as_ref().unwrap().overdue);
    let overdue = clerk
        .list_key_loans(ListKeyLoansRequest {
            property_id: PROPERTY.into(),
            overdue_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert_eq!(
        overdue.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [loan.id.as_str()]
    );

    // Chase it by phone (KEY-8).
    let chased = clerk
        .record_key_chase(RecordKeyChaseRequest {
            property_id: PROPERTY.into(),
            request_id: "c1".into(),
            loan_id: loan.id.clone(),
            method: ChaseMethod::Phone.into(),
            contacted: "工程管理部 维修领班".into(),
            result: "答应今天下班前归还".into(),
            promised_return_time: Some(to_timestamp(stack.clock.now() + Days::hours(6))),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(chased.loan.unwrap().chases.len(), 1);
    assert_eq!(chased.chase.unwrap().chased_by.unwrap().user_id, "clerk-1");

    // Two keys come back: one is missing, recorded as a discrepancy, the loan stays open.
    let short = clerk
        .return_keys(give_back("r2", &loan.id, 2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(short.key_return.as_ref().unwrap().missing, 1);
    assert_eq!(short.loan.as_ref().unwrap().state(), KeyLoanState::Open);
    assert_eq!(short.loan.as_ref().unwrap().keys_out, 1);
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::OnLoan, 2, 1)
    );
    // The missing key comes back the next day.
    stack.clock.advance(Days::hours(20));
    let last = clerk
        .return_keys(give_back("r3", &loan.id, 1))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(last.state(), KeyLoanState::Returned);
    assert_eq!(last.returns.len(), 2);
    assert!(last.overdue);
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::InCabinet, 3, 0)
    );

    // The designated collector collects on her ID (KEY-9): the custody closes.
    let collected = clerk
        .collect_keys(collect("k1", &set.id, "王小丽", Some(COLLECTOR_ID)))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(collected.state(), KeySetState::Collected);
    assert_eq!((collected.keys_in_cabinet, collected.keys_out), (0, 0));
    let collection = collected.collection.unwrap();
    assert!(collection.designated_collector);
    assert_eq!(collection.id_number_masked, "**************002X");
    assert_eq!(collection.handed_over_by.unwrap().user_id, "clerk-1");
    // The slot is free for the next set.
    let next = clerk
        .entrust_keys(entrust("e2", &unit_id, "A-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(next.number, 2);
    let register: Vec<(i64, KeySetState)> = key_sets(&mut clerk)
        .await
        .iter()
        .map(|s| (s.number, s.state()))
        .collect();
    assert_eq!(
        register,
        [(1, KeySetState::Collected), (2, KeySetState::InCabinet)]
    );
    // The borrowing register keeps both loans, newest first.
    let history = loans(&mut clerk, &set.id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].id, loan.id);

    // The events: one overdue alert, two loans back (the second late), the custody closed.
    let events = all_events(&stack).await;
    let kinds: Vec<String> = events
        .iter()
        .filter_map(|e| match e.payload.as_ref()? {
            Payload::KeyLoanOverdue(o) => Some(format!("overdue {}", o.loan_id == loan.id)),
            Payload::KeyLoanReturned(r) => Some(format!("returned {}", r.was_overdue)),
            Payload::KeyCustodyClosed(c) => Some(format!("closed {}", c.key_set_id == set.id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "returned false",
            "overdue true",
            "returned true",
            "closed true"
        ]
    );

    // Per-person figures (KEY-11): the clerk handled both loans and chased once; the
    // technician borrowed twice and went overdue once.
    let figures = stack
        .keys("cs_supervisor")
        .get_key_figures(GetKeyFiguresRequest {
            property_id: PROPERTY.into(),
            from_month: "2026-11".into(),
            to_month: "2026-12".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .figures;
    let clerk_line = figures.iter().find(|f| f.user_id == "clerk-1").unwrap();
    assert_eq!(clerk_line.month, "2026-11");
    assert_eq!(
        (
            clerk_line.loans_handled,
            clerk_line.returns_received,
            clerk_line.chases
        ),
        (2, 3, 1)
    );
    let tech = figures.iter().find(|f| f.user_id == tech).unwrap();
    assert_eq!(tech.name, keys::BORROWER_NAME, "the directory's name");
    assert_eq!((tech.loans_borrowed, tech.overdue_loans), (2, 1));
}

async fn refusals_carry_a_reason_and_write_nothing(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "0801", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");

    // No signature, no custody (KEY-3).
    let mut unsigned = entrust("e0", &unit_id, "A-01");
    unsigned.disclaimer = Some(DisclaimerSignature {
        accepted: false,
        ..signed().unwrap()
    });
    refused(
        &clerk.entrust_keys(unsigned).await.unwrap_err(),
        "DISCLAIMER_NOT_SIGNED",
    );
    let mut no_form = entrust("e0b", &unit_id, "A-01");
    no_form.disclaimer = None;
    refused(
        &clerk.entrust_keys(no_form).await.unwrap_err(),
        "DISCLAIMER_NOT_SIGNED",
    );
    assert!(key_sets(&mut clerk).await.is_empty());

    let set = clerk
        .entrust_keys(entrust("e1", &unit_id, "A-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    // One set per slot.
    refused(
        &clerk
            .entrust_keys(entrust("e2", &unit_id, "a-01"))
            .await
            .unwrap_err(),
        "SLOT_TAKEN",
    );
    assert_eq!(key_sets(&mut clerk).await.len(), 1);

    // Collection without ID, or by someone not designated, is refused and logged (KEY-9).
    refused(
        &clerk
            .collect_keys(collect("k1", &set.id, "王建国", None))
            .await
            .unwrap_err(),
        "ID_NOT_VERIFIED",
    );
    refused(
        &clerk
            .collect_keys(collect("k2", &set.id, "赵某", Some(STRANGER_ID)))
            .await
            .unwrap_err(),
        "COLLECTOR_NOT_DESIGNATED",
    );
    // The customer with somebody else's ID card is not the customer on the form.
    refused(
        &clerk
            .collect_keys(collect("k3", &set.id, "王建国", Some(STRANGER_ID)))
            .await
            .unwrap_err(),
        "ID_NOT_VERIFIED",
    );
    // A retry of a refused request is logged once.
    refused(
        &clerk
            .collect_keys(collect("k2", &set.id, "赵某", Some(STRANGER_ID)))
            .await
            .unwrap_err(),
        "COLLECTOR_NOT_DESIGNATED",
    );
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::InCabinet, 3, 0)
    );
    let refusals = clerk
        .list_key_refusals(ListKeyRefusalsRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .refusals;
    let logged: Vec<(&str, &str, &str)> = refusals
        .iter()
        .map(|r| {
            (
                r.reason.as_str(),
                r.claimant_name.as_str(),
                r.id_number_masked.as_str(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        [
            ("ID_NOT_VERIFIED", "王建国", "**************4566"),
            ("COLLECTOR_NOT_DESIGNATED", "赵某", "**************4566"),
            ("ID_NOT_VERIFIED", "王建国", ""),
        ]
    );

    // A set that is out is not lent again.
    let loan = clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &set.id, 2, 4))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    refused(
        &clerk
            .borrow_keys(borrow(&stack, &tech, "b2", &set.id, 1, 4))
            .await
            .unwrap_err(),
        "KEYS_OUT",
    );
    assert_eq!(loans(&mut clerk, &set.id).await.len(), 1);
    // Keys on loan are not handed to their owner, even on the right ID.
    refused(
        &clerk
            .collect_keys(collect("k4", &set.id, "王建国", Some(OWNER_ID)))
            .await
            .unwrap_err(),
        "KEYS_ON_LOAN",
    );
    // More keys back than were lent.
    refused(
        &clerk
            .return_keys(give_back("r1", &loan.id, 3))
            .await
            .unwrap_err(),
        "COUNT_EXCEEDS_LENT",
    );
    let still = loans(&mut clerk, &set.id).await.remove(0);
    assert_eq!((still.state(), still.keys_out), (KeyLoanState::Open, 2));
    assert!(still.returns.is_empty());
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::OnLoan, 1, 2)
    );
    // Chasing a loan not yet overdue is refused too.
    let status = clerk
        .record_key_chase(RecordKeyChaseRequest {
            property_id: PROPERTY.into(),
            request_id: "c1".into(),
            loan_id: loan.id.clone(),
            method: ChaseMethod::Visit.into(),
            contacted: "张师傅".into(),
            result: "—".into(),
            promised_return_time: None,
        })
        .await
        .unwrap_err();
    refused(&status, "LOAN_NOT_OVERDUE");

    // Developer keys are for units nobody moved into (KEY-1).
    let mut developer = entrust("e3", &unit_id, "B-01");
    developer.source = KeySource::Developer.into();
    let occupied = unit(&stack, "0901", UnitState::Occupied).await;
    developer.unit_id = occupied;
    refused(
        &clerk.entrust_keys(developer).await.unwrap_err(),
        "UNIT_MOVED_INTO",
    );
    assert_eq!(key_sets(&mut clerk).await.len(), 1);

    // No full ID number is stored anywhere in the database file.
    if backend == Backend::Sqlite {
        let dir = data_dir(&stack);
        for file in ["customer-service.db", "customer-service.db-wal"] {
            if let Ok(bytes) = std::fs::read(dir.join(file)) {
                for number in [OWNER_ID, COLLECTOR_ID, STRANGER_ID] {
                    assert!(
                        !bytes.windows(number.len()).any(|w| w == number.as_bytes()),
                        "{file} holds a full ID number"
                    );
                }
            }
        }
    }
}

fn fields(status: &Status) -> BTreeSet<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

async fn bad_input_names_every_field(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "0602", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");

    let status = clerk
        .entrust_keys(EntrustKeysRequest {
            property_id: PROPERTY.into(),
            key_count: 0,
            customer_phone: "abc".into(),
            collectors: vec![DesignatedCollector {
                name: String::new(),
                phone: String::new(),
                id_document_type: IdDocumentType::ResidentIdCard.into(),
                id_number: "110105194912310021".into(),
            }],
            disclaimer: signed(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let expected: BTreeSet<String> = [
        "request_id",
        "unit_id",
        "source",
        "customer_name",
        "customer_phone",
        "key_count",
        "slot",
        "collectors[0].name",
        "collectors[0].id_number",
    ]
    .map(String::from)
    .into();
    assert_eq!(fields(&status), expected);

    let set = clerk
        .entrust_keys(entrust("e1", &unit_id, "C-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let status = clerk
        .borrow_keys(BorrowKeysRequest {
            property_id: PROPERTY.into(),
            request_id: "b1".into(),
            key_set_id: set.id.clone(),
            quantity: 0,
            expected_return_time: Some(to_timestamp(stack.clock.now() - Days::hours(1))),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let expected: BTreeSet<String> = [
        "quantity",
        "purpose",
        "reason",
        "borrower.user_id",
        "borrower.phone",
        "borrower.department",
        "borrower_signature",
        "expected_return_time",
    ]
    .map(String::from)
    .into();
    assert_eq!(fields(&status), expected);

    // Lending more keys than the set has is bad input, not a refusal.
    let status = clerk
        .borrow_keys(borrow(&stack, &tech, "b2", &set.id, 4, 2))
        .await
        .unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["quantity".to_owned()]));

    // A number without its type, or a type without a valid number, is bad input.
    let mut c = collect("k1", &set.id, "王建国", None);
    c.id_number = OWNER_ID.into();
    let status = clerk.collect_keys(c).await.unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["id_number".to_owned()]));

    let status = stack
        .keys("cs_supervisor")
        .get_key_figures(GetKeyFiguresRequest {
            property_id: PROPERTY.into(),
            from_month: "2026-13".into(),
            to_month: "2026-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["from_month".to_owned()]));
    let status = stack
        .keys("cs_supervisor")
        .audit_key_cabinet(AuditKeyCabinetRequest {
            property_id: PROPERTY.into(),
            request_id: "a1".into(),
            counts: vec![
                SlotCount {
                    slot: "C-01".into(),
                    counted: 1,
                },
                SlotCount {
                    slot: "c-01".into(),
                    counted: -1,
                },
            ],
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        BTreeSet::from(["counts[1].slot".to_owned(), "counts[1].counted".to_owned()])
    );
    // Nothing was written by any of it.
    assert_eq!(key_sets(&mut clerk).await.len(), 1);
    assert!(loans(&mut clerk, &set.id).await.is_empty());
}

async fn retries_with_the_same_request_id_never_duplicate(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "0703", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");

    let first = clerk
        .entrust_keys(entrust("e1", &unit_id, "D-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let again = clerk
        .entrust_keys(entrust("e1", &unit_id, "D-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(key_sets(&mut clerk).await.len(), 1);

    let loan = clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &first.id, 3, 4))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let retry = clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &first.id, 3, 4))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    assert_eq!(retry.id, loan.id);
    assert_eq!(loans(&mut clerk, &first.id).await.len(), 1);

    // A retried short return is counted once.
    for _ in 0..2 {
        let back = clerk
            .return_keys(give_back("r1", &loan.id, 1))
            .await
            .unwrap()
            .into_inner()
            .loan
            .unwrap();
        assert_eq!(back.keys_out, 2);
        assert_eq!(back.returns.len(), 1);
    }
    clerk
        .return_keys(give_back("r2", &loan.id, 2))
        .await
        .unwrap();

    for _ in 0..2 {
        let collected = clerk
            .collect_keys(collect("k1", &first.id, "王建国", Some(OWNER_ID)))
            .await
            .unwrap()
            .into_inner()
            .key_set
            .unwrap();
        assert_eq!(collected.state(), KeySetState::Collected);
        assert!(!collected.collection.unwrap().designated_collector);
    }
    let closed = all_events(&stack)
        .await
        .into_iter()
        .filter(|e| matches!(e.payload, Some(Payload::KeyCustodyClosed(_))))
        .count();
    assert_eq!(closed, 1);
}

async fn concurrent_loans_of_one_set_give_exactly_one_loan(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "1101", UnitState::Vacant).await;
    let set = stack
        .keys("cs_clerk")
        .entrust_keys(entrust("e1", &unit_id, "E-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    // A hundred clerks at once (one person's calls are bounded by the gateway's limits).
    let calls = (0..100).map(|i| {
        let mut clerk = stack.keys_as("cs_clerk", &format!("clerk-{i}"), "客服专员");
        let request = borrow(&stack, &tech, &format!("b{i}"), &set.id, 1, 4);
        async move {
            clerk
                .borrow_keys(request)
                .await
                .map(|r| r.into_inner().loan.unwrap().id)
        }
    });
    let results = futures::future::join_all(calls).await;
    let lent: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(lent.len(), 1, "exactly one loan");
    for r in &results {
        if let Err(status) = r {
            refused(status, "KEYS_OUT");
        }
    }
    let mut clerk = stack.keys("cs_clerk");
    let recorded = loans(&mut clerk, &set.id).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(&recorded[0].id, lent[0]);
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::OnLoan, 2, 1)
    );
}

async fn the_overdue_alert_stream_delivers_once_per_loan(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let first_unit = unit(&stack, "1201", UnitState::Vacant).await;
    let second_unit = unit(&stack, "1202", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");
    let a = clerk
        .entrust_keys(entrust("e1", &first_unit, "F-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let b = clerk
        .entrust_keys(entrust("e2", &second_unit, "F-02"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    // The borrowing department's manager watches too.
    let mut alerts = stack
        .keys("engineering_manager")
        .watch_key_alerts(WatchKeyAlertsRequest {
            property_id: PROPERTY.into(),
            after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let first = clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &a.id, 1, 2))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    // Past the expected return but within the day of grace: not overdue (KEY-8).
    stack.clock.advance(Days::hours(25));
    let overdue = ListKeyLoansRequest {
        property_id: PROPERTY.into(),
        overdue_only: true,
        ..Default::default()
    };
    assert!(
        clerk
            .list_key_loans(overdue.clone())
            .await
            .unwrap()
            .into_inner()
            .loans
            .is_empty()
    );
    // One more hour and it is.
    stack.clock.advance(Days::hours(2));
    let alert = tokio::time::timeout(WAIT, alerts.message())
        .await
        .expect("an alert arrives")
        .unwrap()
        .unwrap()
        .alert
        .unwrap();
    let loan = alert.loan.unwrap();
    assert_eq!(loan.id, first.id);
    assert_eq!(loan.borrower.unwrap().department, "工程管理部");
    assert!(loan.overdue);

    // A second loan goes overdue: its alert comes next, and the first is not raised again.
    let second = clerk
        .borrow_keys(borrow(&stack, &tech, "b2", &b.id, 2, 1))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    stack.clock.advance(Days::hours(26));
    let next = tokio::time::timeout(WAIT, alerts.message())
        .await
        .expect("a second alert arrives")
        .unwrap()
        .unwrap()
        .alert
        .unwrap();
    assert_eq!(next.loan.unwrap().id, second.id);
    assert!(next.seq > alert.seq);
    let raised: Vec<String> = all_events(&stack)
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Some(Payload::KeyLoanOverdue(o)) => Some(o.loan_id),
            _ => None,
        })
        .collect();
    assert_eq!(raised, [first.id.clone(), second.id.clone()]);

    // A watcher that connects later gets the alerts of loans still out; a returned one is gone.
    clerk
        .return_keys(give_back("r1", &first.id, 1))
        .await
        .unwrap();
    let mut late = clerk
        .watch_key_alerts(WatchKeyAlertsRequest {
            property_id: PROPERTY.into(),
            after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let pending = tokio::time::timeout(WAIT, late.message())
        .await
        .expect("the open alert")
        .unwrap()
        .unwrap()
        .alert
        .unwrap();
    assert_eq!(pending.loan.unwrap().id, second.id);
    let still = clerk
        .list_key_loans(overdue)
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert_eq!(
        still.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str()]
    );
}

async fn retention_purges_only_custodies_closed_over_two_years(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "1301", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");
    let start = stack.clock.now();

    // A: recorded with masked IDs only and the customer's ID recorded again, lent, returned, a
    // refusal logged, collected today.
    let a = clerk
        .entrust_keys(entrust("e1", &unit_id, "G-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    plant_legacy(&stack, &a.id).await;
    stack
        .keys("cs_supervisor")
        .record_custody_id(record_id("i1", &a.id, None, OWNER_ID))
        .await
        .unwrap();
    let loan = clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &a.id, 1, 2))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    clerk
        .return_keys(give_back("r1", &loan.id, 1))
        .await
        .unwrap();
    let _ = clerk
        .collect_keys(collect("k0", &a.id, "赵某", Some(STRANGER_ID)))
        .await
        .unwrap_err();
    clerk
        .collect_keys(collect("k1", &a.id, "王建国", Some(OWNER_ID)))
        .await
        .unwrap();
    // B: collected two days later. C: never collected.
    let b = clerk
        .entrust_keys(entrust("e2", &unit_id, "G-02"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let c = clerk
        .entrust_keys(entrust("e3", &unit_id, "G-03"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    stack.clock.advance(Days::days(2));
    clerk
        .collect_keys(collect("k2", &b.id, "王建国", Some(OWNER_ID)))
        .await
        .unwrap();

    // Two years and a day after A closed: A goes, B (two years less a day) stays (KEY-10).
    stack
        .clock
        .set(start.checked_add_months(chrono::Months::new(24)).unwrap() + Days::days(1));
    let purged = await_event(&stack, |e| match &e.payload {
        Some(Payload::KeyRecordsPurged(p)) => Some(p.key_set_id.clone()),
        _ => None,
    })
    .await;
    assert_eq!(purged, a.id);
    let status = clerk
        .get_key_set(GetKeySetRequest {
            property_id: PROPERTY.into(),
            key_set_id: a.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(loans(&mut clerk, &a.id).await.is_empty());
    let refusals = clerk
        .list_key_refusals(ListKeyRefusalsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .refusals;
    assert!(refusals.is_empty());
    assert_eq!(
        id_records_of(&stack, &a.id).await,
        0,
        "its ID record went too"
    );
    let left: Vec<String> = key_sets(&mut clerk)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [b.id.as_str(), c.id.as_str()]);

    // Once B is past two years too, it goes; C, still in custody, never does.
    stack.clock.advance(Days::days(2));
    let purged = await_event(&stack, |e| match &e.payload {
        Some(Payload::KeyRecordsPurged(p)) if p.key_set_id != a.id => Some(p.key_set_id.clone()),
        _ => None,
    })
    .await;
    assert_eq!(purged, b.id);
    let left: Vec<String> = key_sets(&mut clerk)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [c.id.as_str()]);
}

async fn the_cabinet_audit_reports_every_mismatch(backend: Backend) {
    let stack = Stack::start(backend).await;
    let tech = keys::hire_borrower(&stack).await;
    let unit_id = unit(&stack, "1401", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");
    let a = clerk
        .entrust_keys(entrust("e1", &unit_id, "H-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let b = clerk
        .entrust_keys(entrust("e2", &unit_id, "H-02"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    clerk
        .borrow_keys(borrow(&stack, &tech, "b1", &b.id, 1, 4))
        .await
        .unwrap();
    let mut supervisor = stack.keys("cs_supervisor");
    let request = AuditKeyCabinetRequest {
        property_id: PROPERTY.into(),
        request_id: "a1".into(),
        counts: vec![
            SlotCount {
                slot: "H-01".into(),
                counted: 3,
            },
            // Two keys of B are in the cabinet by the register (one is lent).
            SlotCount {
                slot: "h-02".into(),
                counted: 3,
            },
            SlotCount {
                slot: "Z-09".into(),
                counted: 1,
            },
        ],
        note: "月度盘点".into(),
    };
    let audit = supervisor
        .audit_key_cabinet(request.clone())
        .await
        .unwrap()
        .into_inner()
        .audit
        .unwrap();
    let mismatches: Vec<(&str, i32, i32, &str)> = audit
        .mismatches
        .iter()
        .map(|m| {
            (
                m.slot.as_str(),
                m.expected,
                m.counted,
                m.key_set_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        mismatches,
        [("H-02", 2, 3, b.id.as_str()), ("Z-09", 0, 1, "")]
    );
    assert_eq!(audit.slots_checked, 3);
    assert_eq!(audit.audited_by.as_ref().unwrap().role, "cs_supervisor");
    let retry = supervisor
        .audit_key_cabinet(request)
        .await
        .unwrap()
        .into_inner()
        .audit
        .unwrap();
    assert_eq!(retry, audit);
    assert_eq!(
        whereabouts(&mut clerk, &a.id).await,
        (KeySetState::InCabinet, 3, 0)
    );
}

async fn the_policy_keeps_custody_with_customer_service(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "1501", UnitState::Vacant).await;
    for role in ["front_desk", "technician", "admin"] {
        let status = stack
            .keys(role)
            .entrust_keys(entrust("e1", &unit_id, "J-01"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
    let status = stack
        .keys("technician")
        .list_key_sets(ListKeySetsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // The borrowing department sees the borrowing register.
    stack
        .keys("maintenance_foreman")
        .list_key_loans(ListKeyLoansRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Developer keys of an unsold unit are taken by the clerk.
    let unsold = unit(&stack, "1601", UnitState::Unsold).await;
    let mut developer = entrust("e2", &unsold, "J-02");
    developer.source = KeySource::Developer.into();
    developer.customer_name = "某某置业有限公司".into();
    developer.customer_phone = String::new();
    developer.reason = String::new();
    developer.collectors.clear();
    developer.customer_id_document_type = IdDocumentType::Unspecified.into();
    developer.customer_id_number = String::new();
    let set = stack
        .keys("cs_clerk")
        .entrust_keys(developer)
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(set.source(), KeySource::Developer);
}

/// The refusals logged for `set`, oldest first: reason, claimant, masked number shown.
async fn refusal_log(keys: &mut KeyClient, set: &str) -> Vec<(String, String, String)> {
    let mut log: Vec<(String, String, String)> = keys
        .list_key_refusals(ListKeyRefusalsRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .refusals
        .into_iter()
        .map(|r| (r.reason, r.claimant_name, r.id_number_masked))
        .collect();
    log.reverse();
    log
}

/// Whether a custody closed: the set collected, or its closing event written.
async fn custody_closed(stack: &Stack, keys: &mut KeyClient, set: &str) -> bool {
    let s = key_set(keys, set).await;
    let event = all_events(stack)
        .await
        .into_iter()
        .any(|e| matches!(&e.payload, Some(Payload::KeyCustodyClosed(c)) if c.key_set_id == set));
    s.state() == KeySetState::Collected || s.collection.is_some() || event
}

async fn customer_service_db(stack: &Stack) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&stack.database("customer-service"))
        .await
        .unwrap()
}

async fn collection_checks_the_whole_id_number(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "1201", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");
    let set = clerk
        .entrust_keys(entrust("e1", &unit_id, "C-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();

    // rule KEY-9: another person's valid card ending in the same four characters is not the
    // document on the form, for the designated collector or the customer.
    let (collector_twin, owner_twin) = (same_last_four(COLLECTOR_ID), same_last_four(OWNER_ID));
    assert_eq!(collector_twin[14..], COLLECTOR_ID[14..]);
    assert_ne!(collector_twin, COLLECTOR_ID);
    for (request, name, number) in [
        ("k1", "王小丽", collector_twin.as_str()),
        ("k2", "王建国", owner_twin.as_str()),
    ] {
        refused(
            &clerk
                .collect_keys(collect(request, &set.id, name, Some(number)))
                .await
                .unwrap_err(),
            "ID_NOT_VERIFIED",
        );
    }
    // Nothing was written but the refusals, logged as before.
    assert!(!custody_closed(&stack, &mut clerk, &set.id).await);
    assert_eq!(
        whereabouts(&mut clerk, &set.id).await,
        (KeySetState::InCabinet, 3, 0)
    );
    let masked = |n: &str| format!("{}{}", "*".repeat(14), &n[14..]);
    assert_eq!(
        refusal_log(&mut clerk, &set.id).await,
        [
            (
                "ID_NOT_VERIFIED".to_owned(),
                "王小丽".to_owned(),
                masked(COLLECTOR_ID)
            ),
            (
                "ID_NOT_VERIFIED".to_owned(),
                "王建国".to_owned(),
                masked(OWNER_ID)
            ),
        ]
    );

    // The form keeps each number's keyed digest, under the configured key, never the number.
    let mut db = customer_service_db(&stack).await;
    let (customer,): (Vec<u8>,) =
        sqlx::query_as("SELECT customer_id_digest FROM key_sets WHERE id = $1")
            .bind(&set.id)
            .fetch_one(&mut db)
            .await
            .unwrap();
    let (collector,): (Vec<u8>,) =
        sqlx::query_as("SELECT id_digest FROM key_set_collectors WHERE key_set_id = $1")
            .bind(&set.id)
            .fetch_one(&mut db)
            .await
            .unwrap();
    for digest in [&customer, &collector] {
        assert_eq!(&digest[..4], b"\x03dev", "made with the development key");
        assert_eq!(digest.len(), 4 + 32, "HMAC-SHA-256");
    }
    assert_ne!(customer[4..], collector[4..]);
    db.close().await.ok();

    // The right person collects.
    let collected = clerk
        .collect_keys(collect("k3", &set.id, "王小丽", Some(COLLECTOR_ID)))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(collected.state(), KeySetState::Collected);
    let collection = collected.collection.unwrap();
    assert!(collection.designated_collector);
    assert_eq!(collection.id_number_masked, masked(COLLECTOR_ID));
    assert_eq!(collection.signer_name, "王小丽");
}

async fn a_custody_recorded_with_only_masked_ids_is_not_handed_over(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "1202", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");
    let legacy = clerk
        .entrust_keys(entrust("e1", &unit_id, "C-02"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    // A custody recorded before digests were kept: the masked numbers only.
    let mut db = customer_service_db(&stack).await;
    sqlx::query("UPDATE key_sets SET customer_id_digest = NULL WHERE id = $1")
        .bind(&legacy.id)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE key_set_collectors SET id_digest = NULL WHERE key_set_id = $1")
        .bind(&legacy.id)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.ok();

    // rule KEY-9: the last four characters never prove the document, so even the right
    // number is refused, with a reason of its own telling the desk to record the ID again.
    let (collector_twin, owner_twin) = (same_last_four(COLLECTOR_ID), same_last_four(OWNER_ID));
    for (request, name, number) in [
        ("k1", "王小丽", COLLECTOR_ID),
        ("k2", "王小丽", collector_twin.as_str()),
        ("k3", "王建国", OWNER_ID),
        ("k4", "王建国", owner_twin.as_str()),
    ] {
        let status = clerk
            .collect_keys(collect(request, &legacy.id, name, Some(number)))
            .await
            .unwrap_err();
        refused(&status, "ID_ON_FILE_UNVERIFIABLE");
        assert!(status.message().contains("recorded on the custody again"));
        assert!(!status.message().contains(&number[14..]), "no number in it");
    }
    // A document whose masked number differs is plainly not the one on the form.
    refused(
        &clerk
            .collect_keys(collect("k5", &legacy.id, "王小丽", Some(STRANGER_ID)))
            .await
            .unwrap_err(),
        "ID_NOT_VERIFIED",
    );
    assert!(!custody_closed(&stack, &mut clerk, &legacy.id).await);
    assert_eq!(
        whereabouts(&mut clerk, &legacy.id).await,
        (KeySetState::InCabinet, 3, 0)
    );
    let reasons: Vec<String> = refusal_log(&mut clerk, &legacy.id)
        .await
        .into_iter()
        .map(|(reason, ..)| reason)
        .collect();
    assert_eq!(
        reasons,
        [
            "ID_ON_FILE_UNVERIFIABLE",
            "ID_ON_FILE_UNVERIFIABLE",
            "ID_ON_FILE_UNVERIFIABLE",
            "ID_ON_FILE_UNVERIFIABLE",
            "ID_NOT_VERIFIED"
        ]
    );
    // The register and the form still read as before (the masked numbers for display).
    let read = key_set(&mut clerk, &legacy.id).await;
    assert_eq!(read.collectors[0].id_number, "**************002X");

    // A custody recorded since is checked by its digests, beside the legacy one.
    let unit_id = unit(&stack, "1203", UnitState::Vacant).await;
    let fresh = clerk
        .entrust_keys(entrust("e2", &unit_id, "C-03"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let collected = clerk
        .collect_keys(collect("k6", &fresh.id, "王建国", Some(OWNER_ID)))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(collected.state(), KeySetState::Collected);
}

/// Turns a custody into one recorded before digests were kept: the masked numbers only.
async fn plant_legacy(stack: &Stack, set: &str) {
    let mut db = customer_service_db(stack).await;
    sqlx::query("UPDATE key_sets SET customer_id_digest = NULL WHERE id = $1")
        .bind(set)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE key_set_collectors SET id_digest = NULL WHERE key_set_id = $1")
        .bind(set)
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.ok();
}

/// How many IDs were recorded again on `set`.
async fn id_records_of(stack: &Stack, set: &str) -> i64 {
    let mut db = customer_service_db(stack).await;
    let (records,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM key_id_records WHERE key_set_id = $1")
            .bind(set)
            .fetch_one(&mut db)
            .await
            .unwrap();
    db.close().await.ok();
    records
}

/// Whether the form holds a digest for the customer and for the collector, and how many IDs
/// were recorded again on `set`.
async fn digests_on_file(stack: &Stack, set: &str) -> (bool, bool, i64) {
    let mut db = customer_service_db(stack).await;
    let (customer,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT customer_id_digest FROM key_sets WHERE id = $1")
            .bind(set)
            .fetch_one(&mut db)
            .await
            .unwrap();
    let (collector,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT id_digest FROM key_set_collectors WHERE key_set_id = $1")
            .bind(set)
            .fetch_one(&mut db)
            .await
            .unwrap();
    db.close().await.ok();
    let records = id_records_of(stack, set).await;
    for digest in customer.iter().chain(&collector) {
        assert_eq!(&digest[..4], b"\x03dev", "made with the development key");
        assert_eq!(digest.len(), 4 + 32, "HMAC-SHA-256, never the number");
    }
    (customer.is_some(), collector.is_some(), records)
}

fn mismatch(status: &Status) -> String {
    status
        .get_details_error_info()
        .and_then(|i| i.metadata.get("mismatch").cloned())
        .unwrap_or_default()
}

async fn the_supervisor_records_a_legacy_custody_id_again(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "1204", UnitState::Vacant).await;
    let mut clerk = stack.keys("cs_clerk");
    let mut supervisor = stack.keys_as("cs_supervisor", "sup-1", "赵主管");
    let legacy = clerk
        .entrust_keys(entrust("e1", &unit_id, "C-04"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    plant_legacy(&stack, &legacy.id).await;
    // The dead end: the right collector with the right card is refused, and the slot is taken.
    refused(
        &clerk
            .collect_keys(collect("k1", &legacy.id, "王小丽", Some(COLLECTOR_ID)))
            .await
            .unwrap_err(),
        "ID_ON_FILE_UNVERIFIABLE",
    );

    // rule KEY-9: the clerk may not replace the proof the hand-over rests on.
    let status = clerk
        .record_custody_id(record_id("r1", &legacy.id, Some(0), COLLECTOR_ID))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(digests_on_file(&stack, &legacy.id).await, (false, false, 0));

    // Another document than the form's is refused, and nothing is written: another number, or
    // the right number on another type of document.
    let status = supervisor
        .record_custody_id(record_id("r2", &legacy.id, Some(0), STRANGER_ID))
        .await
        .unwrap_err();
    refused(&status, "ID_DOES_NOT_MATCH_RECORD");
    assert_eq!(mismatch(&status), "number");
    assert!(
        !status.message().contains(&STRANGER_ID[14..]),
        "no number in it"
    );
    let mut passport = record_id("r3", &legacy.id, Some(0), COLLECTOR_ID);
    passport.id_document_type = IdDocumentType::Passport.into();
    let status = supervisor.record_custody_id(passport).await.unwrap_err();
    refused(&status, "ID_DOES_NOT_MATCH_RECORD");
    assert_eq!(mismatch(&status), "document_type");
    assert_eq!(digests_on_file(&stack, &legacy.id).await, (false, false, 0));

    // Bad input names its fields: a number failing its check digit, a position the form does
    // not have, and an empty request.
    let mut typo = COLLECTOR_ID.to_owned();
    typo.replace_range(17.., "1");
    let status = supervisor
        .record_custody_id(record_id("r4", &legacy.id, Some(0), &typo))
        .await
        .unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["id_number".to_owned()]));
    let status = supervisor
        .record_custody_id(record_id("r5", &legacy.id, Some(1), COLLECTOR_ID))
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        BTreeSet::from(["collector_position".to_owned()])
    );
    let status = supervisor
        .record_custody_id(RecordCustodyIdRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let expected: BTreeSet<String> = ["request_id", "key_set_id", "holder", "id_document_type"]
        .map(String::from)
        .into();
    assert_eq!(fields(&status), expected);
    let mut no_number = record_id("r6", &legacy.id, None, "");
    no_number.collector_position = 2;
    let status = supervisor.record_custody_id(no_number).await.unwrap_err();
    let expected: BTreeSet<String> = ["collector_position", "id_number"].map(String::from).into();
    assert_eq!(fields(&status), expected);
    assert_eq!(digests_on_file(&stack, &legacy.id).await, (false, false, 0));

    // The supervisor reads the collector's card: recorded, with who and when.
    let request = record_id("r7", &legacy.id, Some(0), COLLECTOR_ID);
    let answer = supervisor
        .record_custody_id(request.clone())
        .await
        .unwrap()
        .into_inner();
    let record = answer.record.unwrap();
    assert_eq!(record.key_set_id, legacy.id);
    assert_eq!(record.key_number, legacy.number);
    assert_eq!(record.holder(), IdHolder::DesignatedCollector);
    assert_eq!(record.collector_position, 0);
    assert_eq!(record.holder_name, "王小丽");
    assert_eq!(record.id_document_type(), IdDocumentType::ResidentIdCard);
    assert_eq!(record.id_number_masked, "**************002X");
    let by = record.recorded_by.clone().unwrap();
    assert_eq!(
        (by.user_id.as_str(), by.name.as_str(), by.role.as_str()),
        ("sup-1", "赵主管", "cs_supervisor")
    );
    assert_eq!(
        record.record_time.unwrap().seconds,
        to_timestamp(stack.clock.now()).seconds
    );
    let set = answer.key_set.unwrap();
    assert_eq!(set.state(), KeySetState::InCabinet);
    assert_eq!(set.collectors[0].id_number, "**************002X");
    assert_eq!(digests_on_file(&stack, &legacy.id).await, (false, true, 1));

    // A retry returns the first record; the same request id for another request is refused.
    let again = supervisor
        .record_custody_id(request)
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    assert_eq!(again.id, record.id);
    refused(
        &supervisor
            .record_custody_id(record_id("r7", &legacy.id, None, OWNER_ID))
            .await
            .unwrap_err(),
        "REQUEST_ID_REUSED",
    );
    assert_eq!(digests_on_file(&stack, &legacy.id).await, (false, true, 1));

    // A digest on file is never replaced, not even by the right number.
    for (request, number) in [
        ("r8", COLLECTOR_ID),
        ("r9", same_last_four(COLLECTOR_ID).as_str()),
    ] {
        refused(
            &supervisor
                .record_custody_id(record_id(request, &legacy.id, Some(0), number))
                .await
                .unwrap_err(),
            "ID_ALREADY_ON_FILE",
        );
    }
    // The customer's card too.
    supervisor
        .record_custody_id(record_id("r10", &legacy.id, None, OWNER_ID))
        .await
        .unwrap();
    assert_eq!(digests_on_file(&stack, &legacy.id).await, (true, true, 2));

    // rule KEY-9: collection now checks the whole number: another valid card ending the same
    // way is refused, for the collector and the customer alike.
    for (request, name, number) in [
        ("k2", "王小丽", same_last_four(COLLECTOR_ID)),
        ("k3", "王建国", same_last_four(OWNER_ID)),
    ] {
        refused(
            &clerk
                .collect_keys(collect(request, &legacy.id, name, Some(&number)))
                .await
                .unwrap_err(),
            "ID_NOT_VERIFIED",
        );
    }
    assert!(!custody_closed(&stack, &mut clerk, &legacy.id).await);
    // The right person with the right card collects.
    let collected = clerk
        .collect_keys(collect("k4", &legacy.id, "王小丽", Some(COLLECTOR_ID)))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(collected.state(), KeySetState::Collected);
    assert!(collected.collection.unwrap().designated_collector);
    let reasons: Vec<String> = refusal_log(&mut clerk, &legacy.id)
        .await
        .into_iter()
        .map(|(reason, ..)| reason)
        .collect();
    assert_eq!(
        reasons,
        [
            "ID_ON_FILE_UNVERIFIABLE",
            "ID_NOT_VERIFIED",
            "ID_NOT_VERIFIED"
        ]
    );
    // A closed custody takes no record.
    refused(
        &supervisor
            .record_custody_id(record_id("r11", &legacy.id, None, OWNER_ID))
            .await
            .unwrap_err(),
        "CUSTODY_CLOSED",
    );
}
