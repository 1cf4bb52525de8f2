//! Personal data at rest (ARC-6, ARC-11): every phone number, ID number and signature any RPC
//! takes, in every department, is read back intact through the gateway where it is read back at
//! all, and is in no department's stored bytes in clear, as text or hex (ID numbers are kept
//! only masked and as keyed digests, KEY-9); the keyring rotates; values stored in clear
//! before they were sealed are sealed at start-up. On SQLite and PostgreSQL.

use std::{collections::BTreeSet, path::Path, sync::Mutex, time::Duration};

use sqlx::Connection;
use tonic::Code;
use wuye_kit::{clock::Clock, seal::DEV_KEYS, time::to_timestamp};
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends, data_dir, database_url, eventually,
    keys::{self as key_requests, COLLECTOR_ID, OWNER_ID},
    proto::{
        archives::{
            HandOverRecordRequest, ListHouseholdFilesRequest, RecordPersonalDataRequest,
            RetentionClass, household_file_service_client::HouseholdFileServiceClient,
            retention_service_client::RetentionServiceClient,
        },
        customerservice::{
            BorrowKeysRequest, BorrowerSpec, Channel, CollectKeysRequest, Complainant, ContactKind,
            CreateComplaintRequest, CreateUnitRequest, DesignatedCollector, DisclaimerSignature,
            EntrustKeysRequest, GetComplaintRequest, GetHouseholdRequest, GetKeySetRequest,
            GetVisitRequest, IdDocumentType, KeySource, ListContactLogRequest, ListContactsRequest,
            ListKeyLoansRequest, LoanPurpose, LogContactRequest, RecordMoveInRequest,
            RecordVisitRequest, Resident, ResidentRelation, ReturnKeysRequest, Severity, UnitState,
            VisitChannel, VisitKind, VisitSatisfaction, VisitedCustomer,
        },
        engineering::{
            CompleteWorkOrderRequest, CreateWorkOrderRequest, DispatchWorkOrderRequest,
            GetWorkOrderRequest, Part, RecordWorkOrderArrivalRequest, Requester, Urgency,
            WorkOrder, work_order_service_client::WorkOrderServiceClient,
        },
    },
};

both_backends!(
    no_department_stores_a_personal_value_in_clear,
    a_rotated_keyring_opens_numbers_sealed_under_the_old_key,
    values_stored_in_clear_before_are_sealed_at_start_up,
);

const RESIDENT: &str = "13911112222";
const COMPLAINANT: &str = "13822223333";
const CALLER: &str = "13733334444";
const KEY_CUSTOMER: &str = "13644445555";
const COLLECTOR: &str = "13555556666";
const BORROWER: &str = "13466667777";
const VISITED: &str = "13377778888";
/// A valid resident ID card number that is neither the owner's nor the collector's.
const STRANGER_ID: &str = "310115198503124566";
const SIGNATURE_IMAGE: &[u8] = b"\x89PNG\r\n\x1a\n wuye signature pad 4711";

/// A second keyring key; the development key stays listed after it for the old values.
const K2: &str = "k2=8f3a1c2e4b5d6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

/// A personal value as an RPC takes it.
#[derive(Clone, Copy)]
enum Value {
    Text(&'static str),
    Bytes(&'static [u8]),
}

use Value::{Bytes, Text};

impl Value {
    /// What may not be found in stored bytes: the value itself and its hex form (PostgreSQL
    /// shows bytea as hex).
    fn needles(self) -> [Vec<u8>; 2] {
        let bytes = match self {
            Text(t) => t.as_bytes(),
            Bytes(b) => b,
        };
        [bytes.to_vec(), hex(bytes).into_bytes()]
    }
}

/// Every personal field any RPC takes, with the recognisable value the scenario writes into
/// it. None may be in any department's stored bytes. A new field is one line here, and the
/// call that writes it takes its value with [`Written::text`] (the scenario fails when a
/// line is never written).
const FIELDS: &[(&str, Value)] = &[
    (
        "customer-service RecordMoveIn residents[].phone",
        Text(RESIDENT),
    ),
    (
        "customer-service CreateComplaint complainant.phone",
        Text(COMPLAINANT),
    ),
    ("customer-service LogContact caller.phone", Text(CALLER)),
    (
        "customer-service EntrustKeys customer_phone",
        Text(KEY_CUSTOMER),
    ),
    (
        "customer-service EntrustKeys customer_id_number",
        Text(OWNER_ID),
    ),
    (
        "customer-service EntrustKeys collectors[].phone",
        Text(COLLECTOR),
    ),
    (
        "customer-service EntrustKeys collectors[].id_number",
        Text(COLLECTOR_ID),
    ),
    (
        "customer-service EntrustKeys disclaimer.signer_name",
        Text("王建国〔托管签名〕"),
    ),
    (
        "customer-service EntrustKeys disclaimer.signature_image",
        Bytes(SIGNATURE_IMAGE),
    ),
    ("customer-service BorrowKeys borrower.phone", Text(BORROWER)),
    (
        "customer-service BorrowKeys borrower_signature",
        Text("张师傅〔借用签名〕"),
    ),
    (
        "customer-service CollectKeys id_number (refused)",
        Text(STRANGER_ID),
    ),
    (
        "customer-service CollectKeys signer_name",
        Text("王小丽〔领取签名〕"),
    ),
    ("customer-service RecordVisit customer.phone", Text(VISITED)),
    (
        "engineering CreateWorkOrder requester.phone",
        Text("13288889999"),
    ),
    (
        "engineering CompleteWorkOrder customer_signature",
        Text("李明〔验收签名〕"),
    ),
    (
        "archives RecordPersonalData id_number",
        Text("110101199001011234"),
    ),
    ("archives RecordPersonalData phone", Text("13912345678")),
    (
        "archives HandOverRecord content",
        Bytes("钥匙托管记录 客户 13944445555".as_bytes()),
    ),
];

/// The values of [`FIELDS`] as the scenario writes them, remembering which were.
#[derive(Default)]
struct Written(Mutex<BTreeSet<&'static str>>);

impl Written {
    fn value(&self, field: &str) -> Value {
        let (name, value) = FIELDS
            .iter()
            .find(|(name, _)| *name == field)
            .unwrap_or_else(|| panic!("{field} is not in FIELDS"));
        self.0.lock().unwrap().insert(name);
        *value
    }

    fn text(&self, field: &str) -> &'static str {
        match self.value(field) {
            Text(t) => t,
            Bytes(_) => panic!("{field} takes bytes"),
        }
    }

    fn bytes(&self, field: &str) -> &'static [u8] {
        match self.value(field) {
            Bytes(b) => b,
            Text(_) => panic!("{field} takes text"),
        }
    }

    fn all_written(&self) {
        let written = self.0.lock().unwrap();
        let missing: Vec<&str> = FIELDS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !written.contains(name))
            .collect();
        assert!(missing.is_empty(), "never written: {missing:?}");
    }
}

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

/// Every file under `dir`, by path.
fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

/// Everything the departments keep, by where it was found: every file under the data
/// directory (on SQLite each department's database with its write-ahead log and journal; the
/// archives' document store on both), and on PostgreSQL every row of every table of each
/// department's database as JSON. `markers` are a value per department that must be found,
/// so that a search that reads nothing does not pass.
async fn stored_bytes(stack: &Stack, markers: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    let mut stored = Vec::new();
    files_under(data_dir(stack), &mut stored);
    if stack.backend == Backend::Postgres {
        for (_, department) in wuye::DEPARTMENTS {
            let mut conn = sqlx::PgConnection::connect(&stack.database(department))
                .await
                .unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut text = String::new();
            for (table,) in tables {
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT row_to_json(t)::text FROM \"{table}\" t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                rows.into_iter().for_each(|(r,)| text.push_str(&r));
            }
            conn.close().await.ok();
            stored.push((format!("{department} tables"), text.into_bytes()));
        }
    }
    for (department, marker) in markers {
        let found = stored
            .iter()
            .any(|(place, bytes)| place.contains(department) && contains(bytes, marker.as_bytes()));
        assert!(found, "{department}'s stored bytes were read");
    }
    stored
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where each of `values` is found in clear in `stored`.
fn found_in_clear(stored: &[(String, Vec<u8>)], values: &[(&str, Value)]) -> Vec<String> {
    let mut found = Vec::new();
    for (field, value) in values {
        for needle in value.needles() {
            for (place, bytes) in stored {
                if contains(bytes, &needle) {
                    found.push(format!("{field} in {place}"));
                }
            }
        }
    }
    found
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn work_orders(stack: &Stack, role: &str) -> WorkOrderServiceClient<wuye_tests::Authed> {
    WorkOrderServiceClient::new(stack.as_role(role, PROPERTY))
}

/// A repair requested by phone, dispatched, reached and completed with the customer's
/// signature (WO-1 to WO-3).
async fn repair(stack: &Stack, request_id: &str, phone: &str, signature: &str) -> WorkOrder {
    let request = CreateWorkOrderRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        unit_id: unit(stack, "801").await,
        equipment_id: String::new(),
        description: "卫生间地漏堵塞".into(),
        urgency: Urgency::Ordinary.into(),
        team: "水电班".into(),
        requester: Some(Requester {
            name: "李明".into(),
            phone: phone.into(),
        }),
        contact_number: 0,
        booked_time: None,
    };
    // Engineering learns the unit from customer-service's events (WO-1); until then it refuses
    // the unit and stores nothing.
    let desk = work_orders(stack, "front_desk");
    let order = eventually(
        "engineering knows the unit",
        Duration::from_secs(30),
        || {
            let (mut desk, request) = (desk.clone(), request.clone());
            async move {
                match desk.create_work_order(request).await {
                    Ok(r) => Some(r.into_inner().work_order.unwrap()),
                    Err(s) if s.code() == Code::InvalidArgument => None,
                    Err(s) => panic!("{s:?}"),
                }
            }
        },
    )
    .await;
    let mut foreman = work_orders(stack, "maintenance_foreman");
    let tech = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    foreman
        .dispatch_work_order(DispatchWorkOrderRequest {
            property_id: PROPERTY.into(),
            work_order_id: order.id.clone(),
            assignee_user_id: tech,
        })
        .await
        .unwrap();
    foreman
        .record_work_order_arrival(RecordWorkOrderArrivalRequest {
            property_id: PROPERTY.into(),
            work_order_id: order.id.clone(),
        })
        .await
        .unwrap();
    foreman
        .complete_work_order(CompleteWorkOrderRequest {
            property_id: PROPERTY.into(),
            work_order_id: order.id.clone(),
            work_done: "疏通地漏".into(),
            parts: vec![Part {
                name: "地漏芯".into(),
                quantity: 1.0,
                unit: "个".into(),
            }],
            customer_rating: 5,
            customer_signature: signature.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap()
}

async fn work_order(stack: &Stack, id: &str) -> WorkOrder {
    work_orders(stack, "maintenance_foreman")
        .get_work_order(GetWorkOrderRequest {
            property_id: PROPERTY.into(),
            work_order_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap()
}

fn collect(request_id: &str, set: &str, name: &str, id: &str, signer: &str) -> CollectKeysRequest {
    CollectKeysRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        key_set_id: set.into(),
        collector_name: name.into(),
        id_document_type: IdDocumentType::ResidentIdCard.into(),
        id_number: id.into(),
        signer_name: signer.into(),
    }
}

async fn no_department_stores_a_personal_value_in_clear(backend: Backend) {
    let stack = Stack::start(backend).await;
    let v = Written::default();

    // Customer service: the household, a complaint, the contact log.
    let resident = v.text("customer-service RecordMoveIn residents[].phone");
    let household_id = move_in(&stack, "801", resident).await;
    assert_eq!(
        resident_phone(&stack, &household_id).await.unwrap(),
        resident
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
        [resident, ""],
        "the contact list opens every number"
    );

    let complainant = v.text("customer-service CreateComplaint complainant.phone");
    let complaint_id = complaint(&stack, "c1", complainant).await;
    assert_eq!(complainant_phone(&stack, &complaint_id).await, complainant);

    let caller = v.text("customer-service LogContact caller.phone");
    let mut desk = stack.complaints("cs_clerk");
    desk.log_contact(LogContactRequest {
        property_id: PROPERTY.into(),
        request_id: "l1".into(),
        channel: Channel::Phone.into(),
        kind: ContactKind::Inquiry.into(),
        caller: Some(Complainant {
            name: "钱多多".into(),
            phone: caller.into(),
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
    // A list shows phone numbers masked, to every role (ARC-11).
    let masked = [caller, complainant].map(wuye_kit::personal::mask_phone);
    assert_eq!(callers, masked, "newest entry first");

    // The key desk: the form, a loan, a refused and a granted collection (KEY-2 to KEY-9).
    let mut keys = stack.keys("cs_clerk");
    let signer = v.text("customer-service EntrustKeys disclaimer.signer_name");
    let image = v.bytes("customer-service EntrustKeys disclaimer.signature_image");
    let collector_id = v.text("customer-service EntrustKeys collectors[].id_number");
    let set = keys
        .entrust_keys(EntrustKeysRequest {
            property_id: PROPERTY.into(),
            request_id: "k1".into(),
            source: KeySource::Customer.into(),
            unit_id: unit(&stack, "802").await,
            customer_name: "王建国".into(),
            customer_phone: v.text("customer-service EntrustKeys customer_phone").into(),
            key_count: 2,
            reason: "长期出差".into(),
            collection_conditions: "本人或指定人凭身份证领取".into(),
            collectors: vec![DesignatedCollector {
                name: "王小丽".into(),
                phone: v
                    .text("customer-service EntrustKeys collectors[].phone")
                    .into(),
                id_document_type: IdDocumentType::ResidentIdCard.into(),
                id_number: collector_id.into(),
            }],
            disclaimer: Some(DisclaimerSignature {
                accepted: true,
                signer_name: signer.into(),
                signature_image: image.to_vec(),
                sign_time: None,
            }),
            slot: "A-01".into(),
            entrust_time: None,
            customer_id_document_type: IdDocumentType::ResidentIdCard.into(),
            customer_id_number: v
                .text("customer-service EntrustKeys customer_id_number")
                .into(),
        })
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let borrower_signature = v.text("customer-service BorrowKeys borrower_signature");
    let loan = keys
        .borrow_keys(BorrowKeysRequest {
            property_id: PROPERTY.into(),
            request_id: "b1".into(),
            key_set_id: set.id.clone(),
            quantity: 1,
            purpose: LoanPurpose::Repair.into(),
            reason: "更换燃气表".into(),
            borrower: Some(BorrowerSpec {
                user_id: wuye_tests::keys::hire_borrower(&stack).await,
                department: "工程管理部".into(),
                phone: v.text("customer-service BorrowKeys borrower.phone").into(),
            }),
            borrower_signature: borrower_signature.into(),
            expected_return_time: Some(to_timestamp(
                stack.clock.now() + chrono::Duration::hours(4),
            )),
        })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
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
    assert_eq!(loans[0].borrower_signature, borrower_signature);
    keys.return_keys(ReturnKeysRequest {
        property_id: PROPERTY.into(),
        request_id: "r1".into(),
        loan_id: loan.id.clone(),
        quantity: 1,
        note: String::new(),
    })
    .await
    .unwrap();
    let stranger = v.text("customer-service CollectKeys id_number (refused)");
    let refused = keys
        .collect_keys(collect("k1", &set.id, "王小丽", stranger, "王小丽"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let collector_signer = v.text("customer-service CollectKeys signer_name");
    keys.collect_keys(collect(
        "k2",
        &set.id,
        "王小丽",
        collector_id,
        collector_signer,
    ))
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
    let disclaimer = read.disclaimer.unwrap();
    assert_eq!(
        (
            disclaimer.signer_name.as_str(),
            disclaimer.signature_image.as_slice()
        ),
        (signer, image)
    );
    assert_eq!(read.collection.unwrap().signer_name, collector_signer);

    let visited = v.text("customer-service RecordVisit customer.phone");
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
                phone: visited.into(),
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
    assert_eq!(read.customer.unwrap().phone, visited);

    // Engineering: a repair requested by phone and signed for (WO-1, WO-3).
    let requester = v.text("engineering CreateWorkOrder requester.phone");
    let customer_signature = v.text("engineering CompleteWorkOrder customer_signature");
    let order = repair(&stack, "w1", requester, customer_signature).await;
    let read = work_order(&stack, &order.id).await;
    assert_eq!(read.requester.unwrap().phone, requester);
    assert_eq!(read.customer_signature, customer_signature);

    // Archives: the holder of the household file the move-in opened.
    let mut files = HouseholdFileServiceClient::new(stack.as_role("cs_clerk", PROPERTY));
    let file_id = eventually("the household file opens", Duration::from_secs(20), || {
        let mut files = files.clone();
        let household_id = household_id.clone();
        async move {
            files
                .list_household_files(ListHouseholdFilesRequest {
                    property_id: PROPERTY.into(),
                    page_size: 100,
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner()
                .household_files
                .into_iter()
                .find(|f| f.household_id == household_id)
                .map(|f| f.id)
        }
    })
    .await;
    files
        .record_personal_data(RecordPersonalDataRequest {
            property_id: PROPERTY.into(),
            household_file_id: file_id.clone(),
            holder_name: "周明".into(),
            id_number: v.text("archives RecordPersonalData id_number").into(),
            phone: v.text("archives RecordPersonalData phone").into(),
        })
        .await
        .unwrap();
    // A closed record handed over to the archive for keeping (KEY-10, ARC-12).
    RetentionServiceClient::new(stack.as_role("cs_supervisor", PROPERTY))
        .hand_over_record(HandOverRecordRequest {
            property_id: PROPERTY.into(),
            request_id: "sealed-hand-over".into(),
            source: "customer-service".into(),
            record_kind: "key_custody".into(),
            record_id: "custody-1".into(),
            retention_class: RetentionClass::KeyRecord.into(),
            close_time: Some(wuye_kit::time::to_timestamp(stack.clock.now())),
            summary: "托管钥匙领取完毕".into(),
            content: v.bytes("archives HandOverRecord content").to_vec(),
        })
        .await
        .unwrap();
    v.all_written();

    // rules ARC-6, KEY-9: in no department's stored bytes, as text or hex.
    let stored = stored_bytes(
        &stack,
        &[
            ("customer-service", household_id.as_str()),
            ("engineering", order.id.as_str()),
            ("archives", file_id.as_str()),
            ("quality", "escalations"),
        ],
    )
    .await;
    let found = found_in_clear(&stored, FIELDS);
    assert!(found.is_empty(), "in clear: {found:#?}");

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
    db.close().await.ok();
    let mut db = sqlx::AnyConnection::connect(&stack.database("engineering"))
        .await
        .unwrap();
    let (phone, signature): (Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT requester_phone_sealed, customer_signature_sealed FROM work_orders WHERE id = $1",
    )
    .bind(&order.id)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(
        (&phone[..4], &signature[..4]),
        (&b"\x03dev"[..], &b"\x03dev"[..])
    );
    db.close().await.ok();
}

/// A key set entrusted, lent, returned and collected, as the key desk records it now; returns
/// the set's and the loan's ids.
async fn custody_from_entrustment_to_collection(stack: &Stack) -> (String, String) {
    let mut keys = stack.keys("cs_clerk");
    let set = keys
        .entrust_keys(key_requests::entrust(
            "e1",
            &unit(stack, "803").await,
            "B-01",
        ))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let tech = key_requests::hire_borrower(stack).await;
    let loan = keys
        .borrow_keys(key_requests::borrow(
            "b1",
            &set.id,
            1,
            stack.clock.now() + chrono::Duration::hours(4),
            &tech,
        ))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    keys.return_keys(ReturnKeysRequest {
        property_id: PROPERTY.into(),
        request_id: "r1".into(),
        loan_id: loan.id.clone(),
        quantity: 1,
        note: String::new(),
    })
    .await
    .unwrap();
    keys.collect_keys(collect("k1", &set.id, "王建国", OWNER_ID, "王建国"))
        .await
        .unwrap();
    (set.id, loan.id)
}

/// Values as they were stored before they were sealed.
const CLEAR_BEFORE: &[(&str, Value)] = &[
    ("key_sets.disclaimer_signer", Text("旧表·王建国签名")),
    (
        "key_sets.disclaimer_image",
        Bytes(b"old signature image 0042"),
    ),
    ("key_sets.collector_signer", Text("旧表·领取人签名")),
    ("key_loans.borrower_signature", Text("旧表·借用人签名")),
    ("work_orders.requester_phone", Text("13166665555")),
    ("work_orders.customer_signature", Text("旧表·验收签名")),
    (
        "retained_records.content",
        Bytes("旧档·钥匙托管记录 13177776666".as_bytes()),
    ),
];

fn clear_before(column: &str) -> Value {
    CLEAR_BEFORE
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, v)| *v)
        .unwrap()
}

fn text_before(column: &str) -> &'static str {
    match clear_before(column) {
        Text(t) => t,
        Bytes(_) => unreachable!(),
    }
}

async fn values_stored_in_clear_before_are_sealed_at_start_up(backend: Backend) {
    let stack = Stack::start(backend).await;
    let household_id = move_in(&stack, "901", RESIDENT).await;
    let (set_id, loan_id) = custody_from_entrustment_to_collection(&stack).await;
    let order = repair(&stack, "w1", "13288889999", "李明").await;
    let record_id = RetentionServiceClient::new(stack.as_role("cs_supervisor", PROPERTY))
        .hand_over_record(HandOverRecordRequest {
            property_id: PROPERTY.into(),
            request_id: "old-hand-over".into(),
            source: "customer-service".into(),
            record_kind: "key_custody".into(),
            record_id: set_id.clone(),
            retention_class: RetentionClass::KeyRecord.into(),
            close_time: Some(wuye_kit::time::to_timestamp(stack.clock.now())),
            summary: "托管钥匙领取完毕".into(),
            content: b"sealed from the start".to_vec(),
        })
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap()
        .id;

    // Plant the values in clear, as the databases held them before they were sealed.
    let mut cs = raw(&stack, &household_id).await;
    let Bytes(image) = clear_before("key_sets.disclaimer_image") else {
        unreachable!()
    };
    sqlx::query(
        "UPDATE key_sets SET disclaimer_signer = $2, disclaimer_signer_sealed = NULL, \
         disclaimer_image = $3, disclaimer_image_sealed = NULL, collector_signer = $4, \
         collector_signer_sealed = NULL WHERE id = $1",
    )
    .bind(&set_id)
    .bind(text_before("key_sets.disclaimer_signer"))
    .bind(image.to_vec())
    .bind(text_before("key_sets.collector_signer"))
    .execute(&mut cs)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE key_loans SET borrower_signature = $2, borrower_signature_sealed = NULL \
         WHERE id = $1",
    )
    .bind(&loan_id)
    .bind(text_before("key_loans.borrower_signature"))
    .execute(&mut cs)
    .await
    .unwrap();
    cs.close().await.ok();
    let mut engineering = sqlx::AnyConnection::connect(&stack.database("engineering"))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE work_orders SET requester_phone = $2, requester_phone_sealed = NULL, \
         customer_signature = $3, customer_signature_sealed = NULL WHERE id = $1",
    )
    .bind(&order.id)
    .bind(text_before("work_orders.requester_phone"))
    .bind(text_before("work_orders.customer_signature"))
    .execute(&mut engineering)
    .await
    .unwrap();
    engineering.close().await.ok();
    let mut archives = sqlx::AnyConnection::connect(&stack.database("archives"))
        .await
        .unwrap();
    let Bytes(content) = clear_before("retained_records.content") else {
        unreachable!()
    };
    sqlx::query("UPDATE retained_records SET content = $2, content_sealed = NULL WHERE id = $1")
        .bind(&record_id)
        .bind(content.to_vec())
        .execute(&mut archives)
        .await
        .unwrap();
    archives.close().await.ok();
    let markers = [
        ("customer-service", household_id.as_str()),
        ("engineering", order.id.as_str()),
        ("archives", record_id.as_str()),
    ];
    // The search finds them.
    let found = found_in_clear(&stored_bytes(&stack, &markers).await, CLEAR_BEFORE);
    for (column, _) in CLEAR_BEFORE {
        assert!(
            found.iter().any(|f| f.starts_with(column)),
            "{column} planted in clear: {found:#?}"
        );
    }

    // Start-up seals them; they read back intact and are nowhere in clear any more.
    stack.restart_department("customer-service").await;
    stack.restart_department("engineering").await;
    stack.restart_department("archives").await;
    let set = stack
        .keys("cs_clerk")
        .get_key_set(GetKeySetRequest {
            property_id: PROPERTY.into(),
            key_set_id: set_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let disclaimer = set.disclaimer.unwrap();
    assert_eq!(
        (
            disclaimer.signer_name.as_str(),
            disclaimer.signature_image.as_slice()
        ),
        (text_before("key_sets.disclaimer_signer"), image)
    );
    assert_eq!(
        set.collection.unwrap().signer_name,
        text_before("key_sets.collector_signer")
    );
    let loans = stack
        .keys("cs_clerk")
        .list_key_loans(ListKeyLoansRequest {
            property_id: PROPERTY.into(),
            key_set_id: set_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert_eq!(
        loans[0].borrower_signature,
        text_before("key_loans.borrower_signature")
    );
    let read = work_order(&stack, &order.id).await;
    assert_eq!(
        read.requester.unwrap().phone,
        text_before("work_orders.requester_phone")
    );
    assert_eq!(
        read.customer_signature,
        text_before("work_orders.customer_signature")
    );
    let found = found_in_clear(&stored_bytes(&stack, &markers).await, CLEAR_BEFORE);
    assert!(found.is_empty(), "still in clear: {found:#?}");

    // The clear columns are emptied.
    let mut cs = raw(&stack, &household_id).await;
    let (signer, image, collector): (String, Option<Vec<u8>>, String) = sqlx::query_as(
        "SELECT disclaimer_signer, disclaimer_image, collector_signer FROM key_sets WHERE id = $1",
    )
    .bind(&set_id)
    .fetch_one(&mut cs)
    .await
    .unwrap();
    assert_eq!((signer.as_str(), image, collector.as_str()), ("", None, ""));
    cs.close().await.ok();
    let mut engineering = sqlx::AnyConnection::connect(&stack.database("engineering"))
        .await
        .unwrap();
    let (phone, signature): (String, String) =
        sqlx::query_as("SELECT requester_phone, customer_signature FROM work_orders WHERE id = $1")
            .bind(&order.id)
            .fetch_one(&mut engineering)
            .await
            .unwrap();
    assert_eq!((phone.as_str(), signature.as_str()), ("", ""));
    engineering.close().await.ok();
    let mut archives = sqlx::AnyConnection::connect(&stack.database("archives"))
        .await
        .unwrap();
    let (clear, sealed): (Option<Vec<u8>>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT content, content_sealed FROM retained_records WHERE id = $1")
            .bind(&record_id)
            .fetch_one(&mut archives)
            .await
            .unwrap();
    assert_eq!(clear, None);
    assert!(sealed.is_some(), "the content is kept, sealed");
    archives.close().await.ok();
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
