//! What the customer service desk's screens ask (issue 19): a unit by its label as people
//! say it, complaints by any of their filters, one entry of the call and visit log, and a
//! complaint's escalation with the quality department's decision; through the gateway, on
//! SQLite and PostgreSQL.

use std::time::Duration as StdDuration;

use chrono::Duration;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_kit::{clock::Clock, time::to_timestamp};
use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack, both_backends, eventually,
    proto::{
        customerservice::{
            Channel, Complainant, Complaint, ComplaintState, CreateComplaintRequest,
            CreateUnitRequest, FindUnitRequest, GetContactLogEntryRequest, ListComplaintsRequest,
            LogContactRequest, MarkMajorRequest, Severity, Unit,
            complaint_service_client::ComplaintServiceClient,
            household_service_client::HouseholdServiceClient,
        },
        quality::{
            AssignEscalationRequest, DecideEscalationRequest, EscalationReason,
            GetEscalationOfComplaintRequest, ListEscalationsRequest,
            escalation_service_client::EscalationServiceClient,
        },
    },
};

both_backends!(
    a_unit_is_found_by_its_label_as_people_say_it,
    complaints_are_listed_by_any_of_their_filters,
    complainants_phones_are_found_by_their_blind_index_once_indexed,
    a_contact_log_entry_is_read_by_its_number,
    a_complaint_s_page_shows_its_escalation_and_the_decision,
);

const WAIT: StdDuration = StdDuration::from_secs(20);

/// The fields of a status's violations; the status must be INVALID_ARGUMENT.
fn fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

async fn unit(stack: &Stack, building: &str, entrance: &str, room: &str) -> Unit {
    stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{building}-{entrance}-{room}"),
            building: building.into(),
            entrance: entrance.into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 96.0,
            state: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
}

async fn find(stack: &Stack, label: &str) -> Result<Unit, Status> {
    stack
        .households("front_desk")
        .find_unit(FindUnitRequest {
            property_id: PROPERTY.into(),
            label: label.into(),
        })
        .await
        .map(|r| r.into_inner().unit.unwrap())
}

async fn a_unit_is_found_by_its_label_as_people_say_it(backend: Backend) {
    let stack = Stack::start(backend).await;
    let first = unit(&stack, "2", "1", "502").await;
    let second = unit(&stack, "2", "2", "502").await;
    // A building with one entrance.
    let single = unit(&stack, "3", "", "502").await;

    for label in [
        "2-2-502",
        "2栋2单元502",
        "2号楼 2单元 502室",
        " 2 - 2 - 502 ",
        "２－２－５０２",
    ] {
        assert_eq!(
            find(&stack, label).await.unwrap().id,
            second.id,
            "{label:?}"
        );
    }
    assert_eq!(find(&stack, "2-1-502").await.unwrap().id, first.id);
    for label in ["3-502", "3栋502", "3幢 502室"] {
        assert_eq!(
            find(&stack, label).await.unwrap().id,
            single.id,
            "{label:?}"
        );
    }

    // No such unit; a label that cannot be read; one naming two entrances.
    let status = find(&stack, "9-9-999").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(
        find(&stack, "3-1-502").await.unwrap_err().code(),
        Code::NotFound
    );
    for label in ["2502", "", "2/502", "1-2-3-502"] {
        let status = find(&stack, label).await.unwrap_err();
        assert_eq!(fields(&status), ["label"], "{label:?}");
    }
    let status = find(&stack, "2-502").await.unwrap_err();
    assert_eq!(fields(&status), ["label"]);
    assert!(
        status.message().contains("2-1-502") && status.message().contains("2-2-502"),
        "{status:?}"
    );

    // Another property's desk, or a role without the unit register, is refused.
    let status = HouseholdServiceClient::new(stack.as_role("front_desk", OTHER_PROPERTY))
        .find_unit(FindUnitRequest {
            property_id: PROPERTY.into(),
            label: "2-2-502".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = stack
        .households("admin")
        .find_unit(FindUnitRequest {
            property_id: PROPERTY.into(),
            label: "2-2-502".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

/// A complaint registered at the desk.
struct Filing<'a> {
    key: &'a str,
    unit_id: &'a str,
    phone: &'a str,
    category: &'a str,
    description: &'a str,
    severity: Severity,
}

async fn file(stack: &Stack, f: Filing<'_>) -> Complaint {
    stack
        .complaints("front_desk")
        .create_complaint(CreateComplaintRequest {
            property_id: PROPERTY.into(),
            request_id: f.key.into(),
            contact_number: 0,
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "李明".into(),
                phone: f.phone.into(),
            }),
            unit_id: f.unit_id.into(),
            category: f.category.into(),
            description: f.description.into(),
            severity: f.severity.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
}

/// The numbers a list answers, every page of `page_size` read.
async fn numbers(stack: &Stack, request: ListComplaintsRequest) -> Vec<i64> {
    let mut client = stack.complaints("cs_supervisor");
    let mut found = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_complaints(ListComplaintsRequest {
                page_token: page_token.clone(),
                ..request.clone()
            })
            .await
            .unwrap()
            .into_inner();
        found.extend(page.complaints.iter().map(|c| c.number));
        if page.next_page_token.is_empty() {
            return found;
        }
        page_token = page.next_page_token;
    }
}

fn listing() -> ListComplaintsRequest {
    ListComplaintsRequest {
        property_id: PROPERTY.into(),
        page_size: 2,
        ..Default::default()
    }
}

/// Sends the complaint to a team, plans and tells the plan: its reply (CMP-3).
async fn reply(stack: &Stack, id: &str, team: &str) {
    use wuye_tests::proto::customerservice::{
        CommunicatePlanRequest, ConfirmPlanRequest, ProposePlanRequest, SendToTeamRequest,
    };
    let (p, c) = (|| PROPERTY.to_owned(), || id.to_owned());
    stack
        .complaints("front_desk")
        .send_to_team(SendToTeamRequest {
            property_id: p(),
            complaint_id: c(),
            team: team.into(),
            note: String::new(),
        })
        .await
        .unwrap();
    stack
        .complaints("maintenance_foreman")
        .propose_plan(ProposePlanRequest {
            property_id: p(),
            complaint_id: c(),
            plan: "清理".into(),
            remedial_measures: "致歉".into(),
        })
        .await
        .unwrap();
    stack
        .complaints("project_manager")
        .confirm_plan(ConfirmPlanRequest {
            property_id: p(),
            complaint_id: c(),
            note: String::new(),
        })
        .await
        .unwrap();
    stack
        .complaints("front_desk")
        .communicate_plan(CommunicatePlanRequest {
            property_id: p(),
            complaint_id: c(),
            note: String::new(),
        })
        .await
        .unwrap();
}

/// Four complaints of two buildings, registered an hour apart: the first and third from one
/// phone written two ways, the third replied to.
async fn four_complaints(stack: &Stack) -> [Complaint; 4] {
    let a = unit(stack, "2", "1", "501").await;
    let b = unit(stack, "2", "1", "502").await;
    let c = unit(stack, "3", "1", "601").await;
    let hour = || stack.clock.advance(Duration::hours(1));
    let first = file(
        stack,
        Filing {
            key: "c1",
            unit_id: &a.id,
            phone: "138 0013 8000",
            category: "卫生",
            description: "楼道垃圾三天没人清运",
            severity: Severity::General,
        },
    )
    .await;
    hour();
    let second = file(
        stack,
        Filing {
            key: "c2",
            unit_id: &b.id,
            phone: "13900139000",
            category: "维修服务",
            description: "卫生间漏水 100%",
            severity: Severity::Serious,
        },
    )
    .await;
    hour();
    let third = file(
        stack,
        Filing {
            key: "c3",
            unit_id: &c.id,
            phone: "+86 138-0013-8000",
            category: "卫生",
            description: "垃圾桶未清洗",
            severity: Severity::Minor,
        },
    )
    .await;
    reply(stack, &third.id, "保洁班").await;
    hour();
    let fourth = file(
        stack,
        Filing {
            key: "c4",
            unit_id: "",
            phone: "",
            category: "噪音",
            description: "大堂 Wi-Fi 信号差",
            severity: Severity::General,
        },
    )
    .await;
    [first, second, third, fourth]
}

async fn complaints_are_listed_by_any_of_their_filters(backend: Backend) {
    let stack = Stack::start(backend).await;
    let [c1, c2, c3, c4] = four_complaints(&stack).await;
    let (n1, n2, n3, n4) = (c1.number, c2.number, c3.number, c4.number);
    let all = numbers(&stack, listing()).await;
    assert_eq!(all, [n4, n3, n2, n1], "newest first, across pages of 2");

    let by = |f: fn(&mut ListComplaintsRequest)| {
        let mut request = listing();
        f(&mut request);
        numbers(&stack, request)
    };
    let unit_id = c1.unit_id.clone();
    let mut request = listing();
    request.unit_id = unit_id;
    assert_eq!(numbers(&stack, request).await, [n1]);
    assert_eq!(by(|r| r.building = "2".into()).await, [n2, n1]);
    assert_eq!(by(|r| r.building = "2栋".into()).await, [n2, n1]);
    assert_eq!(by(|r| r.category = "卫生".into()).await, [n3, n1]);
    assert_eq!(by(|r| r.team = "保洁班".into()).await, [n3]);
    assert_eq!(
        by(|r| r.complainant_phone = "13800138000".into()).await,
        [n3, n1],
        "one phone written two ways"
    );
    assert_eq!(
        by(|r| r.complainant_phone = "+86 138 0013 8000".into()).await,
        [n3, n1]
    );
    assert_eq!(
        by(|r| r.complainant_phone = "13900139000".into()).await,
        [n2]
    );
    assert!(
        by(|r| r.complainant_phone = "13700137000".into())
            .await
            .is_empty()
    );
    assert_eq!(by(|r| r.query = "wi-fi".into()).await, [n4], "any case");
    assert_eq!(by(|r| r.query = "垃圾".into()).await, [n3, n1]);
    assert_eq!(by(|r| r.query = "%".into()).await, [n2], "no wildcard");
    let mut request = listing();
    request.query = format!("#{n2}");
    assert_eq!(numbers(&stack, request).await, [n2]);
    // The filters hold together.
    assert_eq!(
        by(|r| {
            r.category = "卫生".into();
            r.building = "2".into();
        })
        .await,
        [n1]
    );
    assert_eq!(
        by(|r| {
            r.state = ComplaintState::Registered.into();
            r.severity = Severity::General.into();
        })
        .await,
        [n4, n1]
    );

    // Registered in [from, to): the second and the third.
    let mut request = listing();
    request.registered_from = c2.register_time;
    request.registered_to = c4.register_time;
    assert_eq!(numbers(&stack, request).await, [n3, n2]);

    // Reply deadlines (CMP-3): the serious one is due first, the third is replied to.
    let now = stack.clock.now();
    let due = |c: &Complaint| wuye_kit::time::from_timestamp(c.reply_due_time.as_ref().unwrap());
    let to_second = due(&c2).unwrap() - now;
    stack.clock.advance(to_second + Duration::minutes(1));
    let now = stack.clock.now();
    let overdue = by(|r| r.overdue = true).await;
    assert_eq!(overdue, [n2]);
    let hours = (due(&c4).unwrap() - now).num_hours() as i32 + 1;
    let mut request = listing();
    request.due_within_hours = hours;
    assert_eq!(numbers(&stack, request).await, [n4, n1]);
    let mut request = listing();
    request.due_within_hours = 1;
    assert!(numbers(&stack, request).await.is_empty());

    // Bad values are field violations, all at once.
    let status = stack
        .complaints("cs_supervisor")
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            state: 99,
            complainant_phone: "138x".into(),
            registered_from: Some(to_timestamp(now)),
            registered_to: Some(to_timestamp(now - Duration::hours(1))),
            due_within_hours: -1,
            query: "查".repeat(101),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let mut found = fields(&status);
    found.sort();
    assert_eq!(
        found,
        [
            "complainant_phone",
            "due_within_hours",
            "query",
            "registered_to",
            "state"
        ]
    );
    let status = stack
        .complaints("cs_supervisor")
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            overdue: true,
            due_within_hours: 24,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), ["due_within_hours"]);

    // Another property's desk sees none of these.
    let status = ComplaintServiceClient::new(stack.as_role("front_desk", OTHER_PROPERTY))
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn complainants_phones_are_found_by_their_blind_index_once_indexed(backend: Backend) {
    use sqlx::Connection as _;
    let stack = Stack::start(backend).await;
    let [c1, _, c3, _] = four_complaints(&stack).await;
    let mut request = listing();
    request.complainant_phone = "13800138000".into();
    assert_eq!(
        numbers(&stack, request.clone()).await,
        [c3.number, c1.number]
    );

    // The index holds no phone, only its keyed digest, and complaints stored without one (as
    // before the index, or by a replica of the previous version) are indexed by the service.
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&stack.database("customer-service"))
        .await
        .unwrap();
    let indexes: Vec<(Vec<u8>,)> = sqlx::query_as(
        "SELECT complainant_phone_index FROM complaints \
         WHERE complainant_phone_index IS NOT NULL ORDER BY number",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(indexes.len(), 3);
    assert_eq!(indexes[0], indexes[2], "one phone written two ways");
    assert_ne!(indexes[0], indexes[1]);
    for (index,) in &indexes {
        assert!(!String::from_utf8_lossy(index).contains("13800138000"));
    }
    sqlx::query("UPDATE complaints SET complainant_phone_index = NULL")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let expected = vec![c3.number, c1.number];
    eventually("the phones indexed again", WAIT, || {
        let (request, expected) = (request.clone(), expected.clone());
        let stack = &stack;
        async move { (numbers(stack, request).await == expected).then_some(()) }
    })
    .await;
}

async fn a_contact_log_entry_is_read_by_its_number(backend: Backend) {
    let stack = Stack::start(backend).await;
    let logged = stack
        .complaints("front_desk")
        .log_contact(LogContactRequest {
            property_id: PROPERTY.into(),
            request_id: "call-1".into(),
            channel: Channel::Phone.into(),
            kind: wuye_tests::proto::customerservice::ContactKind::Inquiry.into(),
            caller: Some(Complainant {
                name: "张丽".into(),
                phone: "13711112222".into(),
            }),
            unit_id: String::new(),
            summary: "咨询物业费缴纳方式".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    let get = |role: &str, property: &str, number: i64| {
        let mut client = ComplaintServiceClient::new(stack.as_role(role, property));
        async move {
            client
                .get_contact_log_entry(GetContactLogEntryRequest {
                    property_id: PROPERTY.into(),
                    number,
                })
                .await
                .map(|r| r.into_inner().entry.unwrap())
        }
    };
    let entry = get("front_desk", PROPERTY, logged.number).await.unwrap();
    assert_eq!(entry, logged);
    assert_eq!(entry.caller.as_ref().unwrap().phone, "13711112222");
    // ARC-11: the managers read the entry with the phone masked.
    let seen = get("project_manager", PROPERTY, logged.number)
        .await
        .unwrap();
    assert_eq!(seen.caller.unwrap().phone, "137****2222");

    // A complaint's entry names its complaint (CMP-2).
    let complaint = file(
        &stack,
        Filing {
            key: "c1",
            unit_id: "",
            phone: "",
            category: "卫生",
            description: "楼道",
            severity: Severity::Minor,
        },
    )
    .await;
    let entry = get("cs_clerk", PROPERTY, complaint.number).await.unwrap();
    assert_eq!(entry.complaint_id, complaint.id);

    let status = get("front_desk", PROPERTY, 999).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        fields(&get("front_desk", PROPERTY, 0).await.unwrap_err()),
        ["number"]
    );
    let status = get("front_desk", OTHER_PROPERTY, logged.number)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = get("technician", PROPERTY, logged.number)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn a_complaint_s_page_shows_its_escalation_and_the_decision(backend: Backend) {
    let stack = Stack::start(backend).await;
    let _relay = stack.relay_gateway(|_| {}).await;
    let filing = |key| Filing {
        key,
        unit_id: "",
        phone: "13800138000",
        category: "维修服务",
        description: "屋面漏水",
        severity: Severity::General,
    };
    let major = file(&stack, filing("major")).await;
    let quiet = file(&stack, filing("quiet")).await;
    stack
        .complaints("project_manager")
        .mark_major(MarkMajorRequest {
            property_id: PROPERTY.into(),
            complaint_id: major.id.clone(),
            reason: "涉及开发商遗留问题".into(),
        })
        .await
        .unwrap();
    let mut officer = EscalationServiceClient::new(stack.as_role("quality_officer", PROPERTY));
    let escalation = eventually("the escalation", WAIT, || {
        let mut officer = officer.clone();
        async move {
            let list = officer
                .list_escalations(ListEscalationsRequest {
                    property_id: PROPERTY.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .escalations;
            list.into_iter().next()
        }
    })
    .await;
    officer
        .assign_escalation(AssignEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: escalation.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    officer
        .decide_escalation(DecideEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: escalation.id.clone(),
            decision: "由公司协调开发商整改".into(),
            corrective_actions: vec!["更换屋面防水层".into(), "雨季前复查".into()],
        })
        .await
        .unwrap();

    let page = |role: &str, property: &str, complaint_id: &str| {
        let mut client = EscalationServiceClient::new(stack.as_role(role, property));
        let request = GetEscalationOfComplaintRequest {
            property_id: property.into(),
            complaint_id: complaint_id.into(),
        };
        async move {
            client
                .get_escalation_of_complaint(request)
                .await
                .map(|r| r.into_inner().escalation.unwrap())
        }
    };
    for role in [
        "front_desk",
        "cs_clerk",
        "cs_supervisor",
        "project_manager",
        "hq_viewer",
    ] {
        let shown = page(role, PROPERTY, &major.id).await.unwrap();
        assert_eq!(shown.id, escalation.id, "{role}");
        assert_eq!(shown.complaint_number, major.number);
        assert_eq!(shown.decision, "由公司协调开发商整改");
        assert_eq!(shown.corrective_actions, ["更换屋面防水层", "雨季前复查"]);
        assert_eq!(
            shown.reasons.iter().map(|r| r.reason()).collect::<Vec<_>>(),
            [EscalationReason::Major]
        );
        assert_eq!(shown.reasons[0].detail, "涉及开发商遗留问题");
        assert_eq!(shown.assignee.unwrap().role, "quality_officer");
    }

    // A complaint without an escalation; another property's; a role without the page.
    let status = page("front_desk", PROPERTY, &quiet.id).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = page("front_desk", OTHER_PROPERTY, &major.id)
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "not this property's complaint"
    );
    let mut elsewhere = EscalationServiceClient::new(stack.as_role("front_desk", OTHER_PROPERTY));
    let status = elsewhere
        .get_escalation_of_complaint(GetEscalationOfComplaintRequest {
            property_id: PROPERTY.into(),
            complaint_id: major.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = page("technician", PROPERTY, &major.id).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        fields(&page("front_desk", PROPERTY, "").await.unwrap_err()),
        ["complaint_id"]
    );
}
