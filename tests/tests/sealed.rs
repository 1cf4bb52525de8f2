//! Phone numbers at rest in customer-service (ARC-6, ARC-11; issue 11): every number a
//! resident, complainant, caller, key customer, designated collector, borrower or visited
//! customer gives is read back intact through the gateway and is nowhere in the database in
//! clear; the keyring rotates; numbers stored in clear before are sealed at start-up. On
//! SQLite and PostgreSQL.

use sqlx::Connection;
use tonic::Code;
use wuye_kit::{clock::Clock, seal::DEV_KEYS, time::to_timestamp};
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends, data_dir, database_url,
    proto::customerservice::{
        BorrowKeysRequest, Borrower, Channel, Complainant, ContactKind, CreateComplaintRequest,
        CreateUnitRequest, DesignatedCollector, DisclaimerSignature, EntrustKeysRequest,
        GetComplaintRequest, GetHouseholdRequest, GetKeySetRequest, GetVisitRequest,
        IdDocumentType, KeySource, ListContactLogRequest, ListContactsRequest, ListKeyLoansRequest,
        LoanPurpose, LogContactRequest, RecordMoveInRequest, RecordVisitRequest, Resident,
        ResidentRelation, Severity, UnitState, VisitChannel, VisitKind, VisitSatisfaction,
        VisitedCustomer,
    },
};

both_backends!(
    phone_numbers_read_back_intact_and_are_sealed_at_rest,
    a_rotated_keyring_opens_numbers_sealed_under_the_old_key,
);

const RESIDENT: &str = "13911112222";
const COMPLAINANT: &str = "13822223333";
const CALLER: &str = "13733334444";
const KEY_CUSTOMER: &str = "13644445555";
const COLLECTOR: &str = "13555556666";
const BORROWER: &str = "13466667777";
const VISITED: &str = "13377778888";

/// A second keyring key; the development key stays listed after it for the old values.
const K2: &str = "k2=8f3a1c2e4b5d6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

async fn unit(stack: &Stack, room: &str) -> String {
    stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "5".into(),
            entrance: "1".into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 88.0,
            state: UnitState::Vacant.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

async fn move_in(stack: &Stack, room: &str, phone: &str) -> String {
    let unit_id = unit(stack, room).await;
    stack
        .households("cs_clerk")
        .record_move_in(RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: format!("move-in-{room}"),
            unit_id,
            residents: vec![
                Resident {
                    name: "周明".into(),
                    relation: ResidentRelation::Owner.into(),
                    phone: phone.into(),
                    primary_contact: true,
                },
                Resident {
                    name: "周小雨".into(),
                    relation: ResidentRelation::Family.into(),
                    phone: String::new(),
                    primary_contact: false,
                },
            ],
            move_in_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap()
        .id
}

async fn resident_phone(stack: &Stack, household_id: &str) -> Result<String, tonic::Status> {
    let household = stack
        .households("cs_clerk")
        .get_household(GetHouseholdRequest {
            property_id: PROPERTY.into(),
            household_id: household_id.into(),
        })
        .await?
        .into_inner()
        .household
        .unwrap();
    Ok(household.residents[0].phone.clone())
}

async fn complaint(stack: &Stack, request_id: &str, phone: &str) -> String {
    stack
        .complaints("cs_clerk")
        .create_complaint(CreateComplaintRequest {
            property_id: PROPERTY.into(),
            request_id: request_id.into(),
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "吴丽".into(),
                phone: phone.into(),
            }),
            unit_id: String::new(),
            category: "卫生".into(),
            description: "垃圾未及时清运".into(),
            severity: Severity::Minor.into(),
            contact_number: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
        .id
}

async fn complainant_phone(stack: &Stack, id: &str) -> String {
    stack
        .complaints("cs_clerk")
        .get_complaint(GetComplaintRequest {
            property_id: PROPERTY.into(),
            complaint_id: id.into(),
            number: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
        .complainant
        .unwrap()
        .phone
}

/// Every byte of the database: the SQLite files, or every row of every table as text.
async fn database_bytes(stack: &Stack, household_id: &str) -> Vec<u8> {
    match stack.backend {
        Backend::Sqlite => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-journal"] {
                let path = data_dir(stack).join(format!("customer-service.db{suffix}"));
                if let Ok(b) = std::fs::read(&path) {
                    bytes.extend(b);
                }
            }
            assert!(bytes.len() > 4096, "the database file was read");
            bytes
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&url(stack, household_id).await)
                .await
                .unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut text = String::new();
            for (table,) in tables {
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM \"{table}\" t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                rows.into_iter().for_each(|(r,)| text.push_str(&r));
            }
            assert!(text.contains(household_id), "the tables were read");
            text.into_bytes()
        }
    }
}

async fn url(stack: &Stack, household_id: &str) -> String {
    database_url(
        stack,
        "customer-service",
        "SELECT 1 FROM households WHERE id = $1",
        household_id,
    )
    .await
}

async fn raw(stack: &Stack, household_id: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&url(stack, household_id).await)
        .await
        .unwrap()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn phone_numbers_read_back_intact_and_are_sealed_at_rest(backend: Backend) {
    let stack = Stack::start(backend).await;
    let household_id = move_in(&stack, "801", RESIDENT).await;
    assert_eq!(
        resident_phone(&stack, &household_id).await.unwrap(),
        RESIDENT
    );
    let contacts = stack
        .households("cs_clerk")
        .list_contacts(ListContactsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let phones: Vec<&str> = contacts.contacts.iter().map(|l| l.phone.as_str()).collect();
    assert_eq!(
        phones,
        [RESIDENT, ""],
        "the contact list opens every number"
    );

    let complaint_id = complaint(&stack, "c1", COMPLAINANT).await;
    assert_eq!(complainant_phone(&stack, &complaint_id).await, COMPLAINANT);

    let mut desk = stack.complaints("cs_clerk");
    desk.log_contact(LogContactRequest {
        property_id: PROPERTY.into(),
        request_id: "l1".into(),
        channel: Channel::Phone.into(),
        kind: ContactKind::Inquiry.into(),
        caller: Some(Complainant {
            name: "钱多多".into(),
            phone: CALLER.into(),
        }),
        unit_id: String::new(),
        summary: "询问物业费缴纳方式".into(),
    })
    .await
    .unwrap();
    let log = desk
        .list_contact_log(ListContactLogRequest {
            property_id: PROPERTY.into(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let callers: Vec<&str> = log
        .entries
        .iter()
        .map(|e| e.caller.as_ref().unwrap().phone.as_str())
        .collect();
    assert_eq!(callers, [CALLER, COMPLAINANT], "newest entry first");

    let mut keys = stack.keys("cs_clerk");
    let set = keys
        .entrust_keys(EntrustKeysRequest {
            property_id: PROPERTY.into(),
            request_id: "k1".into(),
            source: KeySource::Customer.into(),
            unit_id: unit(&stack, "802").await,
            customer_name: "王建国".into(),
            customer_phone: KEY_CUSTOMER.into(),
            key_count: 2,
            reason: "长期出差".into(),
            collection_conditions: "本人或指定人凭身份证领取".into(),
            collectors: vec![DesignatedCollector {
                name: "王小丽".into(),
                phone: COLLECTOR.into(),
                id_document_type: IdDocumentType::ResidentIdCard.into(),
                id_number: "11010519491231002X".into(),
            }],
            disclaimer: Some(DisclaimerSignature {
                accepted: true,
                signer_name: "王建国".into(),
                signature_image: vec![0x89, b'P', b'N', b'G'],
                sign_time: None,
            }),
            slot: "A-01".into(),
            entrust_time: None,
            customer_id_document_type: IdDocumentType::ResidentIdCard.into(),
            customer_id_number: "440300199001011238".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    keys.borrow_keys(BorrowKeysRequest {
        property_id: PROPERTY.into(),
        request_id: "b1".into(),
        key_set_id: set.id.clone(),
        quantity: 1,
        purpose: LoanPurpose::Repair.into(),
        reason: "更换燃气表".into(),
        borrower: Some(Borrower {
            user_id: "tech-7".into(),
            name: "张师傅".into(),
            department: "工程管理部".into(),
            phone: BORROWER.into(),
        }),
        borrower_signature: "张师傅".into(),
        expected_return_time: Some(to_timestamp(stack.clock.now() + chrono::Duration::hours(4))),
    })
    .await
    .unwrap();
    let read = keys
        .get_key_set(GetKeySetRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(read.customer_phone, KEY_CUSTOMER);
    assert_eq!(read.collectors[0].phone, COLLECTOR);
    let loans = keys
        .list_key_loans(ListKeyLoansRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert_eq!(loans[0].borrower.as_ref().unwrap().phone, BORROWER);

    let mut visits = stack.visits("cs_clerk");
    let visit = visits
        .record_visit(RecordVisitRequest {
            property_id: PROPERTY.into(),
            request_id: "v1".into(),
            kind: VisitKind::Routine.into(),
            household_id: household_id.clone(),
            work_order_id: String::new(),
            customer: Some(VisitedCustomer {
                name: "周明".into(),
                phone: VISITED.into(),
            }),
            visit_time: None,
            channel: VisitChannel::OnSite.into(),
            content: "对保洁满意".into(),
            satisfaction: VisitSatisfaction::Satisfied.into(),
            question: String::new(),
            reply_due_time: None,
            major_problem: String::new(),
            meeting_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap();
    let read = visits
        .get_visit(GetVisitRequest {
            property_id: PROPERTY.into(),
            visit_id: visit.id,
        })
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap();
    assert_eq!(read.customer.unwrap().phone, VISITED);

    // Nowhere in the database in clear, in text or hex-encoded bytes.
    let haystack = database_bytes(&stack, &household_id).await;
    for phone in [
        RESIDENT,
        COMPLAINANT,
        CALLER,
        KEY_CUSTOMER,
        COLLECTOR,
        BORROWER,
        VISITED,
    ] {
        for needle in [phone.to_owned(), hex(phone)] {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes()),
                "{phone} is in the database in clear"
            );
        }
    }
    // The sealed columns hold the values, under the configured key.
    let mut db = raw(&stack, &household_id).await;
    let (sealed,): (Vec<u8>,) = sqlx::query_as(
        "SELECT phone_sealed FROM residents WHERE household_id = $1 AND position = 0",
    )
    .bind(&household_id)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(&sealed[..4], b"\x03dev", "sealed under the development key");
}

async fn a_rotated_keyring_opens_numbers_sealed_under_the_old_key(backend: Backend) {
    let stack = Stack::start(backend).await;
    let household_id = move_in(&stack, "901", RESIDENT).await;
    let complaint_id = complaint(&stack, "before", COMPLAINANT).await;

    // Rotation: the new key first, the development key kept for what it sealed.
    let rotated = format!("{K2},{DEV_KEYS}");
    stack
        .restart_department_with("customer-service", |s| {
            s.encryption_keys = wuye_kit::config::Secret::new(rotated.clone())
        })
        .await;
    assert_eq!(
        resident_phone(&stack, &household_id).await.unwrap(),
        RESIDENT
    );
    assert_eq!(complainant_phone(&stack, &complaint_id).await, COMPLAINANT);
    let after = complaint(&stack, "after", CALLER).await;
    assert_eq!(complainant_phone(&stack, &after).await, CALLER);
    let mut db = raw(&stack, &household_id).await;
    let key_of = |sealed: &[u8]| String::from_utf8(sealed[1..1 + sealed[0] as usize].to_vec());
    let (new,): (Vec<u8>,) =
        sqlx::query_as("SELECT complainant_phone_sealed FROM complaints WHERE id = $1")
            .bind(&after)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(key_of(&new).unwrap(), "k2", "the new key seals");

    // A number stored in clear (before numbers were sealed) is sealed and cleared at start-up.
    sqlx::query(
        "UPDATE residents SET phone = $2, phone_sealed = NULL \
         WHERE household_id = $1 AND position = 1",
    )
    .bind(&household_id)
    .bind(VISITED)
    .execute(&mut db)
    .await
    .unwrap();
    stack
        .restart_department_with("customer-service", |s| {
            s.encryption_keys = wuye_kit::config::Secret::new(rotated.clone())
        })
        .await;
    let household = stack
        .households("cs_clerk")
        .get_household(GetHouseholdRequest {
            property_id: PROPERTY.into(),
            household_id: household_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    assert_eq!(household.residents[1].phone, VISITED);
    let (clear, sealed): (String, Vec<u8>) = sqlx::query_as(
        "SELECT phone, phone_sealed FROM residents WHERE household_id = $1 AND position = 1",
    )
    .bind(&household_id)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(clear, "", "the clear column is emptied");
    assert_eq!(key_of(&sealed).unwrap(), "k2");

    // Without the old key, what it sealed no longer opens: the keyring really was needed.
    stack
        .restart_department_with("customer-service", |s| {
            s.encryption_keys = wuye_kit::config::Secret::new(K2)
        })
        .await;
    let refused = resident_phone(&stack, &household_id).await.unwrap_err();
    assert_eq!(refused.code(), Code::Internal, "{refused:?}");
    assert!(
        !refused.message().contains(RESIDENT),
        "no number in the error"
    );
    db.close().await.ok();
}
