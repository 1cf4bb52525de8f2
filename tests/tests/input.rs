//! Odd input through the gateway, on SQLite and PostgreSQL: SQL metacharacters, odd Unicode
//! (emoji and joiners, combining marks, right-to-left text, zero-width characters) and the
//! longest allowed text are stored and read back byte for byte, in complaints, residents and
//! key sets. NUL, which PostgreSQL cannot store in text, is refused the same way on both
//! backends: INVALID_ARGUMENT naming the field, and nothing written.

use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends, keys,
    proto::customerservice::{
        Channel as ContactChannel, Complainant, CreateComplaintRequest, CreateUnitRequest,
        DesignatedCollector, DisclaimerSignature, EntrustKeysRequest, GetComplaintRequest,
        GetHouseholdRequest, GetKeySetRequest, ListComplaintsRequest, RecordMoveInRequest,
        Resident, ResidentRelation, SendToTeamRequest, Severity, UnitState,
    },
};

both_backends!(
    odd_text_is_stored_and_returned_intact,
    the_longest_allowed_text_is_kept_and_one_more_character_refused,
    nul_is_refused_as_bad_input_and_writes_nothing,
);

/// Texts that break naive SQL, string handling or rendering. None starts or ends with
/// whitespace (names and categories are trimmed) and each fits a name (50 characters).
const ODD: &[&str] = &[
    "'; DROP TABLE complaints; --",
    "Robert'); DROP TABLE residents;--",
    "\"双引号\" 'single' `back`",
    "C:\\path\\to\\file \\' \\\" \\\\",
    "100% _under_ %_ LIKE '%' $1 ? :name",
    "👨\u{200d}👩\u{200d}👧\u{200d}👦 🏳\u{fe0f}\u{200d}🌈 家庭",
    "e\u{301}\u{302}\u{303} Z\u{36b}\u{33f}a\u{35b}l\u{36a}g\u{34f}o",
    "\u{202e}שלום עולם\u{202c} مرحبا بكم",
    "a\u{200b}b\u{200c}c\u{200d}d\u{2060}e\u{feff}f",
    "line1\nline2\r\n\ttabbed\u{7f}\u{1b}[31m",
    "\u{10ffff}\u{fffd}\u{e000}𝕨𝕦𝕪𝕖",
];

fn complaint(
    request_id: &str,
    name: &str,
    category: &str,
    description: &str,
) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        channel: ContactChannel::Visit.into(),
        complainant: Some(Complainant {
            name: name.into(),
            phone: "137 0000 0000".into(),
        }),
        category: category.into(),
        description: description.into(),
        severity: Severity::General.into(),
        ..Default::default()
    }
}

async fn unit(stack: &Stack, room: &str, state: UnitState) -> String {
    stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "7".into(),
            entrance: "1".into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 90.0,
            state: state.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

/// Entrusted keys with `text` in every free-text field.
fn entrust(request_id: &str, unit_id: &str, slot: &str, text: &str) -> EntrustKeysRequest {
    let plain = keys::entrust(request_id, unit_id, slot);
    EntrustKeysRequest {
        customer_name: text.into(),
        reason: text.into(),
        collection_conditions: text.into(),
        collectors: vec![DesignatedCollector {
            name: format!("{text}。"),
            ..plain.collectors[0].clone()
        }],
        disclaimer: Some(DisclaimerSignature {
            signer_name: text.into(),
            ..keys::signed().unwrap()
        }),
        ..plain
    }
}

async fn odd_text_is_stored_and_returned_intact(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let mut supervisor = stack.complaints("cs_supervisor");
    for (i, text) in ODD.iter().enumerate() {
        let description = format!("{text}\n——{text}");
        let created = desk
            .create_complaint(complaint(&format!("odd-{i}"), text, text, &description))
            .await
            .unwrap_or_else(|e| panic!("{text:?} is accepted: {e:?}"))
            .into_inner()
            .complaint
            .unwrap();
        // A step's note too.
        supervisor
            .send_to_team(SendToTeamRequest {
                property_id: PROPERTY.into(),
                complaint_id: created.id.clone(),
                team: text.to_string(),
                note: text.to_string(),
            })
            .await
            .unwrap_or_else(|e| panic!("{text:?} as a note: {e:?}"));
        let read = supervisor
            .get_complaint(GetComplaintRequest {
                property_id: PROPERTY.into(),
                complaint_id: created.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .complaint
            .unwrap();
        assert_eq!(read.description.as_bytes(), description.as_bytes());
        assert_eq!(read.category.as_bytes(), text.as_bytes());
        assert_eq!(
            read.complainant.unwrap().name.as_bytes(),
            text.as_bytes(),
            "{text:?}"
        );
        assert_eq!(read.team.as_bytes(), text.as_bytes());
        let step = read.steps.last().unwrap();
        assert!(step.note.contains(text), "{:?} in {:?}", text, step.note);
    }
    // Nothing was dropped or interpreted: every complaint is listed with its text.
    let listed = supervisor
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints;
    assert_eq!(listed.len(), ODD.len());
    for text in ODD {
        assert!(
            listed.iter().any(|c| c.category == *text),
            "{text:?} listed"
        );
    }

    // A resident's name, through a move-in.
    let mut households = stack.households("cs_clerk");
    for (i, text) in ODD.iter().enumerate() {
        let unit_id = unit(&stack, &format!("{}{:02}", 10 + i, i), UnitState::Vacant).await;
        let household = households
            .record_move_in(RecordMoveInRequest {
                property_id: PROPERTY.into(),
                request_id: format!("move-in-{i}"),
                unit_id,
                residents: vec![Resident {
                    name: text.to_string(),
                    relation: ResidentRelation::Owner.into(),
                    phone: "139 1111 2222".into(),
                    primary_contact: true,
                }],
                move_in_time: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{text:?} as a resident: {e:?}"))
            .into_inner()
            .household
            .unwrap();
        let read = households
            .get_household(GetHouseholdRequest {
                property_id: PROPERTY.into(),
                household_id: household.id,
            })
            .await
            .unwrap()
            .into_inner()
            .household
            .unwrap();
        assert_eq!(read.residents[0].name.as_bytes(), text.as_bytes());
    }

    // A key set's form: the customer, the reason, the conditions, a collector.
    let mut clerk = stack.keys("cs_clerk");
    for (i, text) in ODD.iter().enumerate() {
        let unit_id = unit(&stack, &format!("{}{:02}", 30 + i, i), UnitState::Occupied).await;
        let set = clerk
            .entrust_keys(entrust(
                &format!("keys-{i}"),
                &unit_id,
                &format!("K-{i:02}"),
                text,
            ))
            .await
            .unwrap_or_else(|e| panic!("{text:?} on a key form: {e:?}"))
            .into_inner()
            .key_set
            .unwrap();
        let read = clerk
            .get_key_set(GetKeySetRequest {
                property_id: PROPERTY.into(),
                key_set_id: set.id,
            })
            .await
            .unwrap()
            .into_inner()
            .key_set
            .unwrap();
        assert_eq!(read.customer_name.as_bytes(), text.as_bytes());
        assert_eq!(read.reason.as_bytes(), text.as_bytes());
        assert_eq!(read.collection_conditions.as_bytes(), text.as_bytes());
        assert_eq!(
            read.collectors[0].name.as_bytes(),
            format!("{text}。").as_bytes()
        );
    }
}

fn fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|f| f.field).collect())
        .unwrap_or_default()
}

async fn the_longest_allowed_text_is_kept_and_one_more_character_refused(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    // 2,000 characters (the limit) of four bytes each, with a joiner and a combining mark.
    let longest: String = ["🏠", "\u{200d}", "e\u{301}", "'", "%"]
        .iter()
        .cycle()
        .flat_map(|s| s.chars())
        .take(2000)
        .collect();
    let name: String = "王'🏠\u{200d}".chars().cycle().take(50).collect();
    let created = desk
        .create_complaint(complaint("long", &name, "长文本", &longest))
        .await
        .expect("the longest description is accepted")
        .into_inner()
        .complaint
        .unwrap();
    let read = stack
        .complaints("cs_supervisor")
        .get_complaint(GetComplaintRequest {
            property_id: PROPERTY.into(),
            complaint_id: created.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(read.description.as_bytes(), longest.as_bytes());
    assert_eq!(read.complainant.unwrap().name.as_bytes(), name.as_bytes());

    let status = desk
        .create_complaint(complaint(
            "longer",
            &format!("{name}王"),
            "长文本",
            &format!("{longest}🏠"),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(fields(&status), ["complainant.name", "description"]);
}

async fn nul_is_refused_as_bad_input_and_writes_nothing(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let status = desk
        .create_complaint(complaint("nul", "王\0芳", "噪音\0", "夜间\0噪音"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(
        fields(&status),
        ["complainant.name", "category", "description"]
    );
    let listed = stack
        .complaints("cs_supervisor")
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints;
    assert!(listed.is_empty(), "nothing written: {listed:?}");

    // The same request without the NUL is fine: the request id was not used up.
    desk.create_complaint(complaint("nul", "王芳", "噪音", "夜间噪音"))
        .await
        .expect("the corrected request registers");

    let unit_id = unit(&stack, "0901", UnitState::Vacant).await;
    let status = stack
        .households("cs_clerk")
        .record_move_in(RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: "nul-move-in".into(),
            unit_id: unit_id.clone(),
            residents: vec![Resident {
                name: "\0".into(),
                relation: ResidentRelation::Owner.into(),
                phone: String::new(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(fields(&status), ["residents[0].name"]);

    let unit_id = unit(&stack, "0902", UnitState::Occupied).await;
    let status = stack
        .keys("cs_clerk")
        .entrust_keys(EntrustKeysRequest {
            reason: "出差\0".into(),
            ..entrust("nul-keys", &unit_id, "K-01", "王芳")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(fields(&status), ["reason"]);
}
