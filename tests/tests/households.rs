//! The master data: properties and their settings, units, households, move-in and move-out,
//! and the registers (issue 11), through the gateway on SQLite and PostgreSQL.

use chrono::{Duration, TimeZone, Utc};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;
use wuye_kit::{
    clock::Clock,
    properties::{Properties, PropertyConfig},
    time::{from_timestamp, to_timestamp},
};
use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack, both_backends, deploy_properties,
    proto::{
        customerservice::{
            Channel, Complainant, CreateComplaintRequest, CreateUnitRequest, GetHouseholdRequest,
            GetOverviewRegisterRequest, GetPropertyRequest, GetUnitRequest, HouseholdState,
            ListContactsRequest, ListHouseholdsRequest, ListPropertiesRequest, RecordMoveInRequest,
            RecordMoveOutRequest, Register, RenderRegisterRequest, Resident, ResidentRelation,
            Severity, UnitState, property_service_client::PropertyServiceClient,
        },
        events::{SubscribeRequest, event::Payload},
    },
};

both_backends!(
    a_unit_is_announced_once_with_its_registration,
    move_in_occupies_the_unit_and_move_out_frees_it,
    move_in_refusals_write_nothing,
    registers_list_every_resident_and_unit,
    property_settings_are_readable_and_change_behaviour,
    generated_data_loads_through_the_gateway_once,
    generated_history_happens_on_its_days_once,
);

async fn unit(stack: &Stack, building: &str, room: &str, state: UnitState) -> String {
    stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{building}-{room}"),
            building: building.into(),
            entrance: "1".into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 100.0,
            state: state.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

fn resident(name: &str, relation: ResidentRelation, phone: &str) -> Resident {
    Resident {
        name: name.into(),
        relation: relation.into(),
        phone: phone.into(),
        primary_contact: false,
    }
}

fn move_in(request_id: &str, unit_id: &str) -> RecordMoveInRequest {
    RecordMoveInRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        unit_id: unit_id.into(),
        residents: vec![
            resident("王建国", ResidentRelation::Owner, "139 1111 2222"),
            resident("王小丽", ResidentRelation::Family, ""),
        ],
        move_in_time: None,
    }
}

async fn unit_state(stack: &Stack, unit_id: &str) -> UnitState {
    stack
        .households("cs_clerk")
        .get_unit(GetUnitRequest {
            property_id: PROPERTY.into(),
            unit_id: unit_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .state()
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

async fn a_unit_is_announced_once_with_its_registration(backend: Backend) {
    // rule WO-1: the departments that take unit ids learn each unit from one `UnitRegistered`,
    // written with the unit; a retry or a refused duplicate announces nothing more.
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "6", "1203", UnitState::Vacant).await;
    assert_eq!(unit(&stack, "6", "1203", UnitState::Vacant).await, unit_id);
    let status = stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: "another-request".into(),
            building: "6".into(),
            entrance: "1".into(),
            floor: 12,
            room: "1203".into(),
            area_m2: 100.0,
            state: UnitState::Vacant.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let other = unit(&stack, "6", "1204", UnitState::Unsold).await;

    let mut stream = stack
        .events("customer-service")
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = stream.next().await.unwrap().unwrap().event.unwrap();
        let Some(Payload::UnitRegistered(e)) = event.payload else {
            panic!("not a unit's registration: {event:?}");
        };
        assert!(e.register_time.is_some());
        seen.push((event.seq, event.property_id, e.unit_id, e.unit_label));
    }
    assert_eq!(
        seen,
        [
            (1, PROPERTY.to_owned(), unit_id, "6-1-1203".to_owned()),
            (2, PROPERTY.to_owned(), other, "6-1-1204".to_owned()),
        ]
    );
    // Nothing more is on the stream.
    let more = tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await;
    assert!(more.is_err(), "{more:?}");
}

async fn move_in_occupies_the_unit_and_move_out_frees_it(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "5", "0801", UnitState::Vacant).await;
    let mut clerk = stack.households("cs_clerk");

    let household = clerk
        .record_move_in(move_in("m1", &unit_id))
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    assert_eq!(household.state(), HouseholdState::Living);
    assert_eq!(household.unit_label, "5-1-0801");
    // The owner, not the family member, is the first one called.
    let primary: Vec<&str> = household
        .residents
        .iter()
        .filter(|r| r.primary_contact)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(primary, ["王建国"]);
    assert_eq!(
        from_timestamp(household.move_in_time.as_ref().unwrap()).unwrap(),
        stack.clock.now()
    );
    assert_eq!(unit_state(&stack, &unit_id).await, UnitState::Occupied);
    // A retry of the same request is the same household.
    let retry = clerk
        .record_move_in(move_in("m1", &unit_id))
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    assert_eq!(retry, household);

    // A second household cannot move in while this one lives there.
    let status = clerk
        .record_move_in(move_in("m2", &unit_id))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::FailedPrecondition, "UNIT_OCCUPIED")
    );

    stack.clock.advance(Duration::days(400));
    let moved_out = clerk
        .record_move_out(RecordMoveOutRequest {
            property_id: PROPERTY.into(),
            household_id: household.id.clone(),
            move_out_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    assert_eq!(moved_out.state(), HouseholdState::MovedOut);
    assert_eq!(unit_state(&stack, &unit_id).await, UnitState::Vacant);
    let status = clerk
        .record_move_out(RecordMoveOutRequest {
            property_id: PROPERTY.into(),
            household_id: household.id.clone(),
            move_out_time: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::FailedPrecondition, "HOUSEHOLD_MOVED_OUT")
    );

    // The next household moves in; the unit's history keeps both, newest first.
    let next = clerk
        .record_move_in(move_in("m3", &unit_id))
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    let history = clerk
        .list_households(ListHouseholdsRequest {
            property_id: PROPERTY.into(),
            unit_id: unit_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .households;
    let ids: Vec<&str> = history.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, [next.id.as_str(), household.id.as_str()]);

    // The stream carries the unit's registration (for the departments that take unit ids,
    // WO-1), then move-in, move-out, move-in, in order.
    let mut events = stack.events("customer-service");
    let mut stream = events
        .subscribe(SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = stream.next().await.unwrap().unwrap().event.unwrap();
        assert_eq!(event.property_id, PROPERTY);
        seen.push(match event.payload.unwrap() {
            Payload::UnitRegistered(e) => {
                assert_eq!(
                    (e.building.as_str(), e.entrance.as_str(), e.room.as_str()),
                    ("5", "1", "0801")
                );
                ("unit", e.unit_id, e.unit_label)
            }
            Payload::HouseholdMovedIn(e) => ("in", e.household_id, e.unit_label),
            Payload::HouseholdMovedOut(e) => ("out", e.household_id, e.unit_label),
            other => panic!("unexpected {other:?}"),
        });
    }
    let label = "5-1-0801".to_owned();
    assert_eq!(
        seen,
        [
            ("unit", unit_id.clone(), label.clone()),
            ("in", household.id.clone(), label.clone()),
            ("out", household.id, label.clone()),
            ("in", next.id, label)
        ]
    );
}

async fn move_in_refusals_write_nothing(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "2", "0302", UnitState::Unsold).await;
    let mut clerk = stack.households("cs_clerk");
    let future = stack.clock.now() + Duration::days(2);
    let cases: Vec<(RecordMoveInRequest, &[&str])> = vec![
        (
            RecordMoveInRequest {
                residents: vec![],
                ..move_in("b1", &unit_id)
            },
            &["residents"],
        ),
        (
            RecordMoveInRequest {
                unit_id: "no-such-unit".into(),
                ..move_in("b2", &unit_id)
            },
            &["unit_id"],
        ),
        (
            RecordMoveInRequest {
                residents: vec![Resident {
                    relation: 9,
                    ..resident("", ResidentRelation::Owner, "phone")
                }],
                move_in_time: Some(to_timestamp(future)),
                ..move_in("b3", &unit_id)
            },
            &[
                "residents[0].relation",
                "residents[0].name",
                "residents[0].phone",
                "move_in_time",
            ],
        ),
    ];
    for (request, fields) in cases {
        let status = clerk.record_move_in(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let violated: Vec<String> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(violated, fields);
    }
    // A move-in into an unsold unit (keys handed over by the developer) is fine.
    assert_eq!(unit_state(&stack, &unit_id).await, UnitState::Unsold);
    let listed = clerk
        .list_households(ListHouseholdsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.households.is_empty());
    // The event stream has nothing either: after the unit's registration (1), the next event
    // is this move-in.
    clerk.record_move_in(move_in("ok", &unit_id)).await.unwrap();
    let mut events = stack.events("customer-service");
    let next = events
        .subscribe(SubscribeRequest { after_seq: 1 })
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap()
        .event
        .unwrap();
    assert_eq!(next.seq, 2);
    assert!(matches!(next.payload, Some(Payload::HouseholdMovedIn(_))));
    // Another property's clerk sees none of it.
    let other = stack.as_role("cs_clerk", OTHER_PROPERTY);
    let status =
        wuye_tests::proto::customerservice::household_service_client::HouseholdServiceClient::new(
            other,
        )
        .get_household(GetHouseholdRequest {
            property_id: OTHER_PROPERTY.into(),
            household_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

async fn registers_list_every_resident_and_unit(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut clerk = stack.households("cs_clerk");
    let a = unit(&stack, "1", "0101", UnitState::Vacant).await;
    let b = unit(&stack, "1", "0102", UnitState::Vacant).await;
    unit(&stack, "2", "0101", UnitState::Unsold).await;
    clerk.record_move_in(move_in("a", &a)).await.unwrap();
    let mut tenant = move_in("b", &b);
    tenant.residents = vec![resident(
        "陈<b>静</b>",
        ResidentRelation::Tenant,
        "186-0000-1234",
    )];
    clerk.record_move_in(tenant).await.unwrap();

    let contacts = clerk
        .list_contacts(ListContactsRequest {
            property_id: PROPERTY.into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<(&str, &str)> = contacts
        .contacts
        .iter()
        .map(|c| (c.unit_label.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(names, [("1-1-0101", "王建国"), ("1-1-0101", "王小丽")]);
    let rest = clerk
        .list_contacts(ListContactsRequest {
            property_id: PROPERTY.into(),
            page_size: 2,
            page_token: contacts.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.contacts.len(), 1);
    assert_eq!(rest.contacts[0].unit_label, "1-1-0102");

    let overview = clerk
        .get_overview_register(GetOverviewRegisterRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let lines: Vec<(String, String, i32)> = overview
        .lines
        .iter()
        .map(|l| {
            (
                l.unit.as_ref().unwrap().label.clone(),
                l.primary_contact.clone(),
                l.residents,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("1-1-0101".into(), "王建国".into(), 2),
            ("1-1-0102".into(), "陈<b>静</b>".into(), 1),
            ("2-1-0101".into(), String::new(), 0)
        ]
    );
    let totals = overview.totals.unwrap();
    assert_eq!(
        (
            totals.units,
            totals.unsold,
            totals.vacant,
            totals.occupied,
            totals.residents
        ),
        (3, 1, 0, 2, 3)
    );
    assert_eq!(totals.area_m2, 300.0);

    for register in [Register::ContactList, Register::Overview] {
        let document = clerk
            .render_register(RenderRegisterRequest {
                property_id: PROPERTY.into(),
                register: register.into(),
                building: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .document
            .unwrap();
        assert!(document.content_type.starts_with("text/html"));
        let html = String::from_utf8(document.content).unwrap();
        assert!(html.contains("阳光花园"));
        assert!(html.contains("1-1-0102"));
        // Names are text, never markup.
        assert!(html.contains("陈&lt;b&gt;静&lt;/b&gt;") && !html.contains("<b>静"));
    }
    // A technician may not print the personal data of the contact list.
    let status = stack
        .households("technician")
        .render_register(RenderRegisterRequest {
            property_id: PROPERTY.into(),
            register: Register::ContactList.into(),
            building: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn property_settings_are_readable_and_change_behaviour(backend: Backend) {
    // The same deployment file, with serious complaints given 3 working days instead of 1 day.
    let mut configs: Vec<PropertyConfig> = deploy_properties()
        .iter()
        .map(|p| PropertyConfig {
            id: p.id.clone(),
            name: p.name.clone(),
            time_zone: p.time_zone.name().into(),
            holiday_calendar: p.calendar.name.clone(),
            rules: p.rules.clone(),
        })
        .collect();
    configs[0].rules.complaints.reply_days.serious = 3;
    configs[0].rules.complaints.reply_in_working_days = true;
    let calendars =
        wuye_kit::calendar::Calendars::load_dir(&wuye_tests::repo_root().join("deploy/calendars"))
            .unwrap();
    let stack = Stack::start_with(backend, Properties::new(configs, &calendars).unwrap()).await;

    let mut properties = PropertyServiceClient::new(stack.as_role("admin", PROPERTY));
    let settings = properties
        .get_property(GetPropertyRequest {
            property_id: PROPERTY.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    let rules = settings.rules.unwrap();
    assert_eq!(settings.property.unwrap().name, "阳光花园");
    assert_eq!(settings.holiday_calendar, "cn");
    assert_eq!(
        (
            rules.complaint_reply_days_serious,
            rules.complaint_reply_in_working_days
        ),
        (3, true)
    );
    assert_eq!(
        (
            rules.key_overdue_after_days,
            rules.archive_filing_working_days
        ),
        (1, 3)
    );
    let all = PropertyServiceClient::new(stack.as_role("hq_viewer", PROPERTY))
        .list_properties(ListPropertiesRequest {})
        .await
        .unwrap()
        .into_inner()
        .properties;
    assert_eq!(
        all.iter()
            .map(|p| p.property.as_ref().unwrap().id.as_str())
            .collect::<Vec<_>>(),
        [PROPERTY, OTHER_PROPERTY]
    );
    let status = PropertyServiceClient::new(stack.as_role("front_desk", PROPERTY))
        .list_properties(ListPropertiesRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Registered Friday 2 October 2026, in the 国庆 holidays (1–7 October): the three working
    // days are Thu 8, Fri 9 and Sat 10 (调休), so the reply is due by the end of Saturday.
    let tz = chrono_tz::Asia::Shanghai;
    stack.clock.set(
        tz.with_ymd_and_hms(2026, 10, 2, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let complaint = stack
        .complaints("front_desk")
        .create_complaint(CreateComplaintRequest {
            property_id: PROPERTY.into(),
            request_id: "serious".into(),
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "赵六".into(),
                phone: String::new(),
            }),
            unit_id: String::new(),
            category: "消防治安".into(),
            description: "消防通道被占用".into(),
            severity: Severity::Serious.into(),
            contact_number: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    let due = from_timestamp(complaint.reply_due_time.as_ref().unwrap()).unwrap();
    assert_eq!(
        due,
        tz.with_ymd_and_hms(2026, 10, 11, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    );
}

async fn generated_data_loads_through_the_gateway_once(backend: Backend) {
    let stack = Stack::start(backend).await;
    let size = wuye::demo::DemoSize {
        buildings: 1,
        complaints: 20,
        ..Default::default()
    };
    let plan = wuye::demo::plan_property(42, PROPERTY, "阳光花园", size);
    let gateway = format!("http://{}", stack.gateway);
    let first = wuye::demo::load(&gateway, 42, &plan, None).await.unwrap();
    // Loading the same seed again finds everything there and adds nothing.
    wuye::demo::load(&gateway, 42, &plan, None).await.unwrap();

    let occupied: Vec<&wuye::demo::UnitPlan> = plan
        .units
        .iter()
        .filter(|u| !u.residents.is_empty())
        .collect();
    assert_eq!(
        (first.units, first.households, first.complaints),
        (24, occupied.len(), 20)
    );
    let mut clerk = stack.households("cs_clerk");
    let totals = clerk
        .get_overview_register(GetOverviewRegisterRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .totals
        .unwrap();
    assert_eq!((totals.units, totals.occupied), (24, occupied.len() as i32));
    // The contact list is the plan's residents, unit by unit, in order.
    let contacts = clerk
        .list_contacts(ListContactsRequest {
            property_id: PROPERTY.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .contacts;
    let listed: Vec<(String, String)> = contacts.into_iter().map(|c| (c.name, c.phone)).collect();
    let mut planned: Vec<(String, String, (String, String, String))> = occupied
        .iter()
        .flat_map(|u| {
            u.residents.iter().map(|(name, _, phone)| {
                (
                    name.clone(),
                    phone.clone(),
                    (u.building.clone(), u.entrance.clone(), u.room.clone()),
                )
            })
        })
        .collect();
    planned.sort_by(|a, b| a.2.cmp(&b.2)); // the list runs by building, entrance and room
    assert_eq!(
        listed,
        planned
            .into_iter()
            .map(|(n, p, _)| (n, p))
            .collect::<Vec<_>>()
    );
    let complaints = stack
        .complaints("front_desk")
        .list_complaints(wuye_tests::proto::customerservice::ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints;
    assert_eq!(complaints.len(), 20);
}

/// The stack's clock as the generator's time machine: history ends at the stack's start time.
struct StackTime(wuye_kit::clock::ManualClock, chrono::DateTime<Utc>);

impl wuye::demo::TimeMachine for StackTime {
    fn present(&self) -> chrono::DateTime<Utc> {
        self.1
    }

    fn travel(&self, at: chrono::DateTime<Utc>) {
        self.0.set(at);
    }

    fn back(&self) {
        self.0.set(self.1);
    }
}

async fn generated_history_happens_on_its_days_once(backend: Backend) {
    use wuye_tests::proto::customerservice::{
        ComplaintState, ListComplaintsRequest, ListKeyLoansRequest, ListKeySetsRequest,
        ListVisitsRequest,
    };
    let stack = Stack::start(backend).await;
    let size = wuye::demo::DemoSize {
        buildings: 1,
        complaints: 16,
        months: 2,
        ..Default::default()
    };
    let plan = wuye::demo::plan_property(42, PROPERTY, "阳光花园", size);
    // The same seed gives the same history; the plan without months is the same but for it.
    assert_eq!(
        plan,
        wuye::demo::plan_property(42, PROPERTY, "阳光花园", size)
    );
    let without = wuye::demo::plan_property(
        42,
        PROPERTY,
        "阳光花园",
        wuye::demo::DemoSize { months: 0, ..size },
    );
    assert_eq!(
        (&without.units, &without.complaints),
        (&plan.units, &plan.complaints)
    );
    let history = &plan.history;
    assert_eq!(history.days, 60);
    assert!(!history.key_sets.is_empty() && !history.visits.is_empty());
    assert!(!history.work_orders.is_empty());

    let present = stack.clock.now();
    let time = StackTime(stack.clock.clone(), present);
    let gateway = format!("http://{}", stack.gateway);
    let first = wuye::demo::load(&gateway, 42, &plan, Some(&time))
        .await
        .unwrap();
    assert_eq!(stack.clock.now(), present, "back to the present");
    let planned_steps: usize = history.complaints.iter().map(|(_, s)| s.len()).sum();
    let planned_loans: usize = history.key_sets.iter().map(|k| k.loans.len()).sum();
    let planned_returns = history
        .key_sets
        .iter()
        .flat_map(|k| &k.loans)
        .filter(|l| l.1.is_some())
        .count();
    assert_eq!(
        (
            first.complaints,
            first.steps,
            first.key_sets,
            first.loans,
            first.returns,
            first.visits
        ),
        (
            16,
            planned_steps,
            history.key_sets.len(),
            planned_loans,
            planned_returns,
            history.visits.len()
        )
    );
    // Again: every request is a retry and every step was taken; nothing new.
    let again = wuye::demo::load(&gateway, 42, &plan, Some(&time))
        .await
        .unwrap();
    assert_eq!(again.steps, 0, "{again:?}");

    // Each complaint is where its plan took it, registered on its day.
    let start = present - Duration::days(60);
    let complaints = stack
        .complaints("cs_supervisor")
        .list_complaints(ListComplaintsRequest {
            property_id: PROPERTY.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints;
    assert_eq!(complaints.len(), 16, "no duplicates");
    let states = [
        ComplaintState::Registered,
        ComplaintState::SentToTeam,
        ComplaintState::PlanProposed,
        ComplaintState::PlanConfirmed,
        ComplaintState::Communicated,
        ComplaintState::InProgress,
        ComplaintState::Reported,
        ComplaintState::ResultTold,
        ComplaintState::Closed,
    ];
    let mut got: Vec<(chrono::DateTime<Utc>, ComplaintState)> = complaints
        .iter()
        .map(|c| {
            (
                from_timestamp(c.register_time.as_ref().unwrap()).unwrap(),
                c.state(),
            )
        })
        .collect();
    let mut expected: Vec<(chrono::DateTime<Utc>, ComplaintState)> = history
        .complaints
        .iter()
        .map(|(day, steps)| (start + Duration::days((*day).into()), states[steps.len()]))
        .collect();
    got.sort_by_key(|(at, state)| (*at, *state as i32));
    expected.sort_by_key(|(at, state)| (*at, *state as i32));
    assert_eq!(got, expected);
    assert!(expected.iter().any(|(_, s)| *s == ComplaintState::Closed));

    // Key custody: every set, every loan, the unreturned ones still out.
    let mut keys = stack.keys("cs_clerk");
    let sets = keys
        .list_key_sets(ListKeySetsRequest {
            property_id: PROPERTY.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .key_sets;
    assert_eq!(sets.len(), history.key_sets.len());
    let loans = keys
        .list_key_loans(ListKeyLoansRequest {
            property_id: PROPERTY.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert_eq!(loans.len(), planned_loans);
    assert_eq!(
        loans.iter().filter(|l| l.keys_out > 0).count(),
        planned_loans - planned_returns
    );
    let mut borrowed: Vec<chrono::DateTime<Utc>> = loans
        .iter()
        .map(|l| from_timestamp(l.borrow_time.as_ref().unwrap()).unwrap())
        .collect();
    let mut planned: Vec<chrono::DateTime<Utc>> = history
        .key_sets
        .iter()
        .flat_map(|k| &k.loans)
        .map(|l| start + Duration::days(l.0.into()))
        .collect();
    borrowed.sort();
    planned.sort();
    assert_eq!(borrowed, planned, "each loan on its day");

    let visits = stack
        .visits("cs_clerk")
        .list_visits(ListVisitsRequest {
            property_id: PROPERTY.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .visits;
    let mut visited: Vec<chrono::DateTime<Utc>> = visits
        .iter()
        .map(|v| from_timestamp(v.visit_time.as_ref().unwrap()).unwrap())
        .collect();
    let mut planned: Vec<chrono::DateTime<Utc>> = history
        .visits
        .iter()
        .map(|v| start + Duration::days(v.day.into()))
        .collect();
    visited.sort();
    planned.sort();
    assert_eq!(visited, planned);

    // Repairs: opened on their days, each as far as its plan took it.
    use wuye_tests::proto::engineering::{
        ListWorkOrdersRequest, WorkOrderState, work_order_service_client::WorkOrderServiceClient,
    };
    let orders = WorkOrderServiceClient::new(stack.as_role("maintenance_foreman", PROPERTY))
        .list_work_orders(ListWorkOrdersRequest {
            property_id: PROPERTY.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_orders;
    let order_states = [
        WorkOrderState::Open,
        WorkOrderState::Dispatched,
        WorkOrderState::Arrived,
        WorkOrderState::Completed,
    ];
    let mut got: Vec<(chrono::DateTime<Utc>, i32)> = orders
        .iter()
        .map(|o| {
            let opened = from_timestamp(o.open_time.as_ref().unwrap()).unwrap();
            (opened, o.state)
        })
        .collect();
    let mut expected: Vec<(chrono::DateTime<Utc>, i32)> = history
        .work_orders
        .iter()
        .map(|o| {
            let at = start + Duration::days(o.day.into());
            (at, order_states[o.steps.len()] as i32)
        })
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(
        got.iter()
            .any(|(_, s)| *s == WorkOrderState::Completed as i32)
    );
}
