//! Complaint intake through the gateway (CMP-1 to CMP-4), on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use chrono::Duration;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;
use wuye_kit::{clock::Clock, time::from_timestamp};
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends,
    proto::{
        customerservice::{
            Channel, Complainant, ComplaintState, CreateComplaintRequest, CreateUnitRequest,
            GetComplaintRequest, ListComplaintsRequest, Severity,
            complaint_service_client::ComplaintServiceClient,
        },
        engineering::{CreateZoneRequest, equipment_service_client::EquipmentServiceClient},
        events::{SubscribeRequest, event::Payload},
    },
};

both_backends!(
    complaint_gets_the_next_number_and_reads_back,
    concurrent_intake_numbers_without_gaps,
    retry_with_the_same_request_id_returns_the_first_complaint,
    a_request_id_reused_for_another_request_is_refused,
    bad_input_is_refused_with_field_violations_and_nothing_written,
    reply_deadline_follows_the_property_rules,
    registration_is_on_the_event_stream,
);

fn complaint(request_id: &str, unit_id: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        channel: Channel::Phone.into(),
        complainant: Some(Complainant {
            name: "李明".into(),
            phone: "138 0013 8000".into(),
        }),
        unit_id: unit_id.into(),
        category: "维修服务".into(),
        description: "楼道灯坏了一周，报修后无人处理".into(),
        severity: Severity::General.into(),
        contact_number: 0,
    }
}

async fn unit(stack: &Stack, room: &str) -> String {
    stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "3".into(),
            entrance: "2".into(),
            floor: 15,
            room: room.into(),
            area_m2: 89.5,
            state: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

async fn complaint_gets_the_next_number_and_reads_back(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "1502").await;
    let mut desk = stack.complaints("front_desk");

    let first = desk
        .create_complaint(complaint("r1", &unit_id))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    let second = desk
        .create_complaint(complaint("r2", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    // rule CMP-2: numbered per property, from 1, in order
    assert_eq!((first.number, second.number), (1, 2));
    assert_eq!(first.state(), ComplaintState::Registered);
    assert_eq!(first.unit_id, unit_id);
    assert_eq!(first.registered_by.as_ref().unwrap().role, "front_desk");

    let got = desk
        .get_complaint(GetComplaintRequest {
            property_id: PROPERTY.into(),
            complaint_id: first.id.clone(),
            number: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(got, first);

    let listed = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let numbers: Vec<i64> = listed.complaints.iter().map(|c| c.number).collect();
    assert_eq!(numbers, [2, 1]);
    assert!(listed.next_page_token.is_empty());

    // Paging and filters: one per page, and only the general ones of state registered.
    let page = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.complaints[0].number, 2);
    let page2 = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.complaints[0].number, 1);
    let serious = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            severity: Severity::Serious.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(serious.complaints.is_empty());
    let closed = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            state: ComplaintState::Closed.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(closed.complaints.is_empty());
}

async fn concurrent_intake_numbers_without_gaps(backend: Backend) {
    let stack = Stack::start(backend).await;
    let calls = (0..50).map(|i| {
        let mut desk = stack.complaints("front_desk");
        async move {
            desk.create_complaint(complaint(&format!("c{i}"), ""))
                .await
                .map(|r| r.into_inner().complaint.unwrap().number)
        }
    });
    let numbers: Vec<i64> = futures::future::try_join_all(calls).await.unwrap();
    // rule CMP-2: 50 distinct numbers, 1 to 50, no gap
    let distinct: BTreeSet<i64> = numbers.into_iter().collect();
    assert_eq!(distinct, (1..=50).collect::<BTreeSet<i64>>());
}

async fn retry_with_the_same_request_id_returns_the_first_complaint(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let first = desk
        .create_complaint(complaint("same", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    let retry = desk
        .create_complaint(complaint("same", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(retry, first);
    // Concurrent retries too.
    let calls = (0..10).map(|_| {
        let mut desk = stack.complaints("front_desk");
        async move {
            desk.create_complaint(complaint("again", ""))
                .await
                .map(|r| r.into_inner().complaint.unwrap().id)
        }
    });
    let ids: BTreeSet<String> = futures::future::try_join_all(calls)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 1);

    let listed = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.complaints.len(), 2);
}

async fn a_request_id_reused_for_another_request_is_refused(backend: Backend) {
    let stack = Stack::start(backend).await;
    let desk = |user: &str| {
        ComplaintServiceClient::new(stack.as_user("front_desk", user, "前台", PROPERTY))
    };
    let first = desk("desk-1")
        .create_complaint(complaint("r-1", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    // The same id with a different request: refused, not answered with the first record.
    let mut other = complaint("r-1", "");
    other.description = "电梯异响".into();
    let status = desk("desk-1").create_complaint(other).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "REQUEST_ID_REUSED"
    );
    // The same request is still the first one's retry.
    let retry = desk("desk-1")
        .create_complaint(complaint("r-1", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(retry, first);
    // A request id is its caller's own: another person's same id is another complaint.
    let theirs = desk("desk-2")
        .create_complaint(complaint("r-1", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_ne!(theirs.id, first.id);
    let listed = desk("desk-1")
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.complaints.len(),
        2,
        "nothing written for the refused one"
    );

    // The same in every department: engineering's zones, for one.
    let mut zones = EquipmentServiceClient::new(stack.as_role("engineering_manager", PROPERTY));
    let tech = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    let zone = |name: &str| CreateZoneRequest {
        property_id: PROPERTY.into(),
        request_id: "z-1".into(),
        name: name.into(),
        technician_user_id: tech.clone(),
    };
    zones.create_zone(zone("泵房")).await.unwrap();
    let status = zones.create_zone(zone("配电房")).await.unwrap_err();
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "REQUEST_ID_REUSED"
    );
    zones.create_zone(zone("泵房")).await.unwrap();
}

async fn bad_input_is_refused_with_field_violations_and_nothing_written(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let cases: Vec<(CreateComplaintRequest, &[&str])> = vec![
        (
            CreateComplaintRequest {
                description: "  ".into(),
                ..complaint("b1", "")
            },
            &["description"],
        ),
        (complaint("b2", "no-such-unit"), &["unit_id"]),
        (
            CreateComplaintRequest {
                severity: 99,
                channel: 0,
                ..complaint("b3", "")
            },
            &["channel", "severity"],
        ),
        (
            CreateComplaintRequest {
                description: "长".repeat(2001),
                ..complaint("b4", "")
            },
            &["description"],
        ),
        (
            CreateComplaintRequest {
                complainant: Some(Complainant {
                    name: String::new(),
                    phone: "call me".into(),
                }),
                request_id: String::new(),
                ..complaint("b5", "")
            },
            &["request_id", "complainant.name", "complainant.phone"],
        ),
    ];
    for (request, fields) in cases {
        let status = desk.create_complaint(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let violated: Vec<String> = status
            .get_details_bad_request()
            .expect("field violations")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(violated, fields);
    }
    let listed = desk
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.complaints.is_empty());
    // Nothing written means no number was used either: the next complaint is number 1.
    let next = desk
        .create_complaint(complaint("ok", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(next.number, 1);
}

async fn reply_deadline_follows_the_property_rules(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    // deploy/properties.toml: minor 3, general 2, serious 1 day (rule CMP-3)
    for (severity, days) in [
        (Severity::Minor, 3),
        (Severity::General, 2),
        (Severity::Serious, 1),
    ] {
        let c = desk
            .create_complaint(CreateComplaintRequest {
                severity: severity.into(),
                ..complaint(&format!("d{days}"), "")
            })
            .await
            .unwrap()
            .into_inner()
            .complaint
            .unwrap();
        let registered = from_timestamp(c.register_time.as_ref().unwrap()).unwrap();
        let due = from_timestamp(c.reply_due_time.as_ref().unwrap()).unwrap();
        assert_eq!(registered, stack.clock.now());
        assert_eq!(due - registered, Duration::days(days));
        assert!(due - registered <= Duration::days(3));
    }
}

async fn registration_is_on_the_event_stream(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let filed = desk
        .create_complaint(complaint("e1", ""))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();

    // Events are served service to service, with an internal identity.
    let mut events = stack.events("customer-service");
    let mut stream = events
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let event = stream.next().await.unwrap().unwrap().event.unwrap();
    assert_eq!(event.seq, 1);
    assert_eq!(event.property_id, PROPERTY);
    let Some(Payload::ComplaintRegistered(registered)) = event.payload else {
        panic!("not a registration: {event:?}");
    };
    assert_eq!((registered.complaint_id, registered.number), (filed.id, 1));

    // A later registration arrives on the open stream.
    desk.create_complaint(complaint("e2", "")).await.unwrap();
    let next = stream.next().await.unwrap().unwrap().event.unwrap();
    assert_eq!(next.seq, 2);

    // Resuming after the last seen event gives only what came after.
    let mut resumed = events
        .subscribe(SubscribeRequest { after_seq: 1 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.next().await.unwrap().unwrap().event.unwrap().seq, 2);
}
