//! Follow-up visits through the gateway (VIS-1 to VIS-6), on SQLite and PostgreSQL: repairs
//! completed in engineering become due here without any other call and survive a restart of
//! customer-service without loss or duplicates; the monthly repair follow-up rate; move-in
//! visit coverage; promised replies overdue; the meeting agenda; a dissatisfied visit raised
//! as a complaint; bad input and retries.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use tonic::Code;
use tonic_types::StatusExt;
use wuye_tests::{
    Backend, PROPERTY, Stack, VisitClient, both_backends,
    proto::{
        customerservice::{self as pb, HouseholdState},
        engineering::{self as eng, work_order_service_client::WorkOrderServiceClient},
    },
};

both_backends!(
    repairs_are_due_without_other_calls_and_survive_a_restart,
    move_in_visit_coverage_matches_the_visits,
    promised_replies_and_the_meeting_agenda,
    a_dissatisfied_visit_becomes_a_complaint,
    bad_input_and_retries,
);

trait Now {
    fn clock_now(&self) -> DateTime<Utc>;
}

impl Now for Stack {
    fn clock_now(&self) -> DateTime<Utc> {
        use wuye_kit::clock::Clock;
        self.clock.now()
    }
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

async fn unit(stack: &Stack, room: &str) -> String {
    stack
        .households("cs_clerk")
        .create_unit(pb::CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "3".into(),
            entrance: "2".into(),
            floor: room[..room.len() - 2].parse().unwrap(),
            room: room.into(),
            area_m2: 100.0,
            state: pb::UnitState::Vacant.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

/// A unit with a household moved in now; the household.
async fn household(stack: &Stack, room: &str) -> pb::Household {
    let unit_id = unit(stack, room).await;
    stack
        .households("cs_clerk")
        .record_move_in(pb::RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: format!("move-in-{room}"),
            unit_id,
            residents: vec![pb::Resident {
                name: "李明".into(),
                relation: pb::ResidentRelation::Owner.into(),
                phone: "138 0013 8000".into(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap()
}

fn visit(request_id: &str, kind: pb::VisitKind) -> pb::RecordVisitRequest {
    pb::RecordVisitRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        kind: kind.into(),
        household_id: String::new(),
        work_order_id: String::new(),
        customer: Some(pb::VisitedCustomer {
            name: "李明".into(),
            phone: "138 0013 8000".into(),
        }),
        visit_time: None,
        channel: pb::VisitChannel::OnSite.into(),
        content: "维修及时，师傅态度好".into(),
        satisfaction: pb::VisitSatisfaction::Satisfied.into(),
        question: String::new(),
        reply_due_time: None,
        major_problem: String::new(),
        meeting_date: String::new(),
    }
}

async fn record(client: &mut VisitClient, request: pb::RecordVisitRequest) -> pb::Visit {
    client
        .record_visit(request)
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap()
}

// --- VIS-4 ----------------------------------------------------------------------------------

fn work_orders(
    stack: &Stack,
    role: &str,
    id: &str,
    name: &str,
) -> WorkOrderServiceClient<wuye_tests::Authed> {
    WorkOrderServiceClient::new(stack.as_user(role, id, name, PROPERTY))
}

/// Takes a repair of `unit_id` from request to completion in engineering; its id.
async fn complete_repair(stack: &Stack, request_id: &str, unit_id: &str) -> String {
    let desk = work_orders(stack, "front_desk", "desk-1", "前台");
    let request = eng::CreateWorkOrderRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        unit_id: unit_id.into(),
        equipment_id: String::new(),
        description: "厨房水龙头漏水".into(),
        urgency: eng::Urgency::Ordinary.into(),
        team: "水电班".into(),
        requester: Some(eng::Requester {
            name: "李明".into(),
            phone: "138 0013 8000".into(),
        }),
        contact_number: 0,
        booked_time: None,
    };
    // Engineering learns a unit registered a moment ago from customer-service's events (WO-1);
    // until then it refuses the unit and stores nothing.
    let order = wuye_tests::eventually(
        "engineering knows the unit",
        StdDuration::from_secs(30),
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
    // The repair goes to a technician of the directory, who records it as themself.
    let tech_id = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    work_orders(stack, "maintenance_foreman", "fm-1", "李领班")
        .dispatch_work_order(eng::DispatchWorkOrderRequest {
            property_id: PROPERTY.into(),
            work_order_id: order.id.clone(),
            assignee_user_id: tech_id.clone(),
        })
        .await
        .unwrap();
    let as_tech = stack.as_person(&tech_id, "张师傅", "technician", PROPERTY);
    let mut tech = WorkOrderServiceClient::new(as_tech);
    tech.record_work_order_arrival(eng::RecordWorkOrderArrivalRequest {
        property_id: PROPERTY.into(),
        work_order_id: order.id.clone(),
    })
    .await
    .unwrap();
    tech.complete_work_order(eng::CompleteWorkOrderRequest {
        property_id: PROPERTY.into(),
        work_order_id: order.id.clone(),
        work_done: "更换阀芯".into(),
        parts: vec![],
        customer_rating: 5,
        customer_signature: "李明".into(),
    })
    .await
    .unwrap();
    order.id
}

async fn follow_ups(client: &mut VisitClient, pending_only: bool) -> Vec<pb::RepairFollowUp> {
    client
        .list_repair_follow_ups(pb::ListRepairFollowUpsRequest {
            property_id: PROPERTY.into(),
            pending_only,
            page_size: 500,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .follow_ups
}

/// Waits (without sleeping the test clock) until customer-service holds `n` follow-ups.
async fn wait_for_follow_ups(stack: &Stack, n: usize) -> Vec<pb::RepairFollowUp> {
    let mut client = stack.visits("cs_clerk");
    let deadline = std::time::Instant::now() + StdDuration::from_secs(20);
    loop {
        let seen = match client
            .list_repair_follow_ups(pb::ListRepairFollowUpsRequest {
                property_id: PROPERTY.into(),
                pending_only: false,
                page_size: 500,
                page_token: String::new(),
            })
            .await
        {
            Ok(r) => r.into_inner().follow_ups,
            // customer-service may be coming back up.
            Err(_) => Vec::new(),
        };
        if seen.len() >= n || std::time::Instant::now() > deadline {
            assert_eq!(seen.len(), n, "follow-ups due");
            return seen;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

async fn repairs_are_due_without_other_calls_and_survive_a_restart(backend: Backend) {
    let stack = Stack::start(backend).await;
    let unit_id = unit(&stack, "1502").await;
    let mut orders = Vec::new();
    for i in 0..3 {
        orders.push(complete_repair(&stack, &format!("wo-{i}"), &unit_id).await);
    }
    // rule VIS-4: due here from engineering's events alone.
    let due = wait_for_follow_ups(&stack, 3).await;
    assert!(
        due.iter()
            .all(|f| f.unit_label == "3-2-1502" && f.customer_rating == 5)
    );

    // Repairs completed while customer-service is down arrive when it is back; the ones it
    // had are not taken twice.
    stack.stop_department("customer-service").await;
    for i in 3..5 {
        orders.push(complete_repair(&stack, &format!("wo-{i}"), &unit_id).await);
    }
    stack.start_department("customer-service").await;
    let due = wait_for_follow_ups(&stack, 5).await;
    stack.restart_department("customer-service").await;
    orders.push(complete_repair(&stack, "wo-5", &unit_id).await);
    let due_after = wait_for_follow_ups(&stack, 6).await;
    let mut ids: Vec<String> = due_after.iter().map(|f| f.work_order_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut expected = orders.clone();
    expected.sort();
    assert_eq!(ids, expected, "each completed repair once");
    assert!(due.iter().all(|f| due_after.contains(f)));

    // Follow-up visits of three of them, one by the engineering manager (VIS-1).
    let mut clerk = stack.visits("cs_clerk");
    let mut manager = stack.visits("engineering_manager");
    for (i, id) in orders[..3].iter().enumerate() {
        let mut request = visit(&format!("v-{i}"), pb::VisitKind::Repair);
        request.work_order_id = id.clone();
        request.channel = pb::VisitChannel::Phone.into();
        let client = if i == 2 { &mut manager } else { &mut clerk };
        let v = record(client, request).await;
        assert_eq!(
            (v.work_order_id.as_str(), v.unit_label.as_str()),
            (id.as_str(), "3-2-1502")
        );
    }
    // A second visit of a repair changes nothing.
    let mut again = visit("v-again", pb::VisitKind::Repair);
    again.work_order_id = orders[0].clone();
    record(&mut clerk, again).await;
    let mut unknown = visit("v-unknown", pb::VisitKind::Repair);
    unknown.work_order_id = "no-such-order".into();
    let refused = clerk.record_visit(unknown).await.unwrap_err();
    assert_eq!(reason(&refused), "REPAIR_NOT_DUE");

    let pending: Vec<String> = follow_ups(&mut clerk, true)
        .await
        .into_iter()
        .map(|f| f.work_order_id)
        .collect();
    let mut not_visited = orders[3..].to_vec();
    not_visited.sort();
    let mut pending_sorted = pending.clone();
    pending_sorted.sort();
    assert_eq!(pending_sorted, not_visited);

    // A repair completed in December counts in December.
    stack.clock.set(
        Shanghai
            .with_ymd_and_hms(2026, 12, 1, 8, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let december = complete_repair(&stack, "wo-december", &unit_id).await;
    wait_for_follow_ups(&stack, 7).await;

    let rate = |month: i32| pb::GetRepairFollowUpRateRequest {
        property_id: PROPERTY.into(),
        year: 2026,
        month,
    };
    let november = stack
        .visits("hq_viewer")
        .get_repair_follow_up_rate(rate(11))
        .await
        .unwrap()
        .into_inner();
    // rule VIS-4: 3 of 6 visited against the 100% target.
    assert_eq!((november.completed, november.visited), (6, 3));
    assert_eq!(november.rate, 0.5);
    assert_eq!((november.target_percent, november.met), (100, false));
    let mut listed: Vec<String> = november
        .not_visited
        .iter()
        .map(|f| f.work_order_id.clone())
        .collect();
    listed.sort();
    assert_eq!(listed, not_visited);
    let december_rate = clerk
        .get_repair_follow_up_rate(rate(12))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((december_rate.completed, december_rate.visited), (1, 0));
    assert_eq!(december_rate.not_visited[0].work_order_id, december);
    let bad = clerk.get_repair_follow_up_rate(rate(13)).await.unwrap_err();
    assert_eq!(fields(&bad), ["month"]);
}

// --- VIS-5 ----------------------------------------------------------------------------------

async fn move_in_visit_coverage_matches_the_visits(backend: Backend) {
    let stack = Stack::start(backend).await;
    let size = wuye::demo::DemoSize {
        complaints: 0,
        ..Default::default()
    };
    let plan = wuye::demo::plan_property(11, PROPERTY, "阳光花园", size);
    wuye::demo::load(&format!("http://{}", stack.gateway), 11, &plan, None)
        .await
        .unwrap();
    let households = stack
        .households("cs_clerk")
        .list_households(pb::ListHouseholdsRequest {
            property_id: PROPERTY.into(),
            state: HouseholdState::Living.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .households;
    let occupied = households.len() as i64;
    assert!(occupied > 20, "{occupied} households");

    let moved_in = stack.clock_now();
    let mut clerk = stack.visits("cs_clerk");
    // Before the move-in there is nobody to visit.
    let mut early = visit("early", pb::VisitKind::MoveIn);
    early.household_id = households[0].id.clone();
    early.visit_time = ts(moved_in - Duration::hours(1));
    let refused = clerk.record_visit(early).await.unwrap_err();
    assert_eq!(reason(&refused), "VISIT_BEFORE_MOVE_IN");

    stack.clock.advance(Duration::days(1));
    let visited = 3usize;
    for (i, h) in households[..visited].iter().enumerate() {
        let mut request = visit(&format!("move-in-visit-{i}"), pb::VisitKind::MoveIn);
        request.household_id = h.id.clone();
        record(&mut clerk, request).await;
    }
    // A second visit of one household, and a routine visit of another, add no household.
    let mut twice = visit("move-in-visit-again", pb::VisitKind::MoveIn);
    twice.household_id = households[0].id.clone();
    record(&mut clerk, twice).await;
    let mut routine = visit("routine", pb::VisitKind::Routine);
    routine.household_id = households[visited].id.clone();
    record(&mut clerk, routine).await;

    let coverage = |month: i32| pb::GetMoveInVisitCoverageRequest {
        property_id: PROPERTY.into(),
        year: 2026,
        month,
    };
    let mut pm = stack.visits("project_manager");
    let november = pm
        .get_move_in_visit_coverage(coverage(11))
        .await
        .unwrap()
        .into_inner();
    // rule VIS-5
    assert_eq!(
        (november.occupied, november.visited),
        (occupied, visited as i64)
    );
    assert_eq!(november.rate, visited as f64 / occupied as f64);
    assert_eq!(november.target_percent, 5);
    assert_eq!(november.met, visited as i64 * 100 >= 5 * occupied);
    let year = pm
        .get_move_in_visit_coverage(coverage(0))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((year.occupied, year.visited), (occupied, visited as i64));

    // A visited household moving out leaves both counts.
    stack
        .households("cs_clerk")
        .record_move_out(pb::RecordMoveOutRequest {
            property_id: PROPERTY.into(),
            household_id: households[1].id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let november = pm
        .get_move_in_visit_coverage(coverage(11))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (november.occupied, november.visited),
        (occupied - 1, visited as i64 - 1)
    );
    // December has had no visits yet.
    let december = pm
        .get_move_in_visit_coverage(coverage(12))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (december.occupied, december.visited, december.met),
        (occupied - 1, 0, false)
    );
}

// --- VIS-2, VIS-3 ---------------------------------------------------------------------------

async fn promised_replies_and_the_meeting_agenda(backend: Backend) {
    let stack = Stack::start(backend).await;
    let h = household(&stack, "801").await;
    let now = stack.clock_now();
    let mut clerk = stack.visits("cs_clerk");
    let mut soon = visit("q1", pb::VisitKind::Routine);
    soon.household_id = h.id.clone();
    soon.question = "地下车库何时重新划线？".into();
    soon.reply_due_time = ts(now + Duration::days(2));
    let soon = record(&mut clerk, soon).await;
    let mut later = visit("q2", pb::VisitKind::Routine);
    later.household_id = h.id.clone();
    later.question = "能否增设快递柜？".into();
    later.reply_due_time = ts(now + Duration::days(5));
    later.major_problem = "多户反映电梯频繁停运".into();
    later.meeting_date = "2026-12-01".into();
    let later = record(&mut clerk, later).await;

    let overdue = |mut client: VisitClient| async move {
        client
            .list_overdue_visit_replies(pb::ListOverdueVisitRepliesRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .visits
    };
    assert!(overdue(clerk.clone()).await.is_empty());
    // rule VIS-2: past its time and not given.
    stack.clock.set(now + Duration::days(3));
    let listed = overdue(clerk.clone()).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, soon.id);
    assert!(listed[0].reply_overdue);
    let replied = clerk
        .record_visit_reply(pb::RecordVisitReplyRequest {
            property_id: PROPERTY.into(),
            visit_id: soon.id.clone(),
            reply: "已电话告知：下周六划线".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap();
    assert!(replied.reply_time.is_some() && !replied.reply_overdue);
    assert!(overdue(clerk.clone()).await.is_empty());
    let twice = clerk
        .record_visit_reply(pb::RecordVisitReplyRequest {
            property_id: PROPERTY.into(),
            visit_id: soon.id.clone(),
            reply: "again".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "REPLY_ALREADY_GIVEN");

    // rule VIS-3: on the meeting's agenda, and on every later one until settled.
    let agenda = |date: &str| pb::ListMeetingAgendaRequest {
        property_id: PROPERTY.into(),
        meeting_date: date.into(),
    };
    let mut pm = stack.visits("project_manager");
    let first = pm
        .list_meeting_agenda(agenda("2026-12-01"))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].visit.as_ref().unwrap().id, later.id);
    assert!(!first[0].carried_over);
    let next = pm
        .list_meeting_agenda(agenda("2026-12-08"))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(next.len(), 1);
    assert!(next[0].carried_over);
    assert!(
        pm.list_meeting_agenda(agenda("2026-11-30"))
            .await
            .unwrap()
            .into_inner()
            .items
            .is_empty()
    );
    let settled = pm
        .settle_major_problem(pb::SettleMajorProblemRequest {
            property_id: PROPERTY.into(),
            visit_id: later.id.clone(),
            settlement: "更换电梯主板，已回复各户".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap();
    assert!(settled.settle_time.is_some());
    assert!(
        pm.list_meeting_agenda(agenda("2026-12-08"))
            .await
            .unwrap()
            .into_inner()
            .items
            .is_empty()
    );
    assert_eq!(
        pm.list_meeting_agenda(agenda("2026-12-01"))
            .await
            .unwrap()
            .into_inner()
            .items
            .len(),
        1
    );
    let again = pm
        .settle_major_problem(pb::SettleMajorProblemRequest {
            property_id: PROPERTY.into(),
            visit_id: later.id.clone(),
            settlement: "again".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "PROBLEM_SETTLED");
    let none = pm
        .settle_major_problem(pb::SettleMajorProblemRequest {
            property_id: PROPERTY.into(),
            visit_id: soon.id.clone(),
            settlement: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&none), "NO_MAJOR_PROBLEM");
}

// --- VIS-6 ----------------------------------------------------------------------------------

async fn a_dissatisfied_visit_becomes_a_complaint(backend: Backend) {
    let stack = Stack::start(backend).await;
    let h = household(&stack, "1203").await;
    let mut clerk = stack.visits("cs_clerk");
    let mut unhappy = visit("unhappy", pb::VisitKind::Routine);
    unhappy.household_id = h.id.clone();
    unhappy.customer = Some(pb::VisitedCustomer {
        name: "王芳".into(),
        phone: "139 1234 5678".into(),
    });
    unhappy.content = "楼道垃圾连续三天无人清理".into();
    unhappy.satisfaction = pb::VisitSatisfaction::Dissatisfied.into();
    let unhappy = record(&mut clerk, unhappy).await;
    let happy = record(&mut clerk, {
        let mut r = visit("happy", pb::VisitKind::Routine);
        r.household_id = h.id.clone();
        r
    })
    .await;

    let raise = |id: &str| pb::RaiseComplaintFromVisitRequest {
        property_id: PROPERTY.into(),
        visit_id: id.into(),
        severity: pb::Severity::General.into(),
        category: "卫生".into(),
        description: String::new(),
    };
    let refused = clerk
        .raise_complaint_from_visit(raise(&happy.id))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "VISIT_NOT_DISSATISFIED");
    // rule VIS-6: one step.
    let raised = clerk
        .raise_complaint_from_visit(raise(&unhappy.id))
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap();
    assert!(!raised.complaint_id.is_empty() && raised.complaint_number > 0);
    let again = clerk
        .raise_complaint_from_visit(raise(&unhappy.id))
        .await
        .unwrap()
        .into_inner()
        .visit
        .unwrap();
    assert_eq!(again.complaint_id, raised.complaint_id, "once per visit");

    let mut complaints = stack.complaints("cs_supervisor");
    let complaint = complaints
        .get_complaint(pb::GetComplaintRequest {
            property_id: PROPERTY.into(),
            complaint_id: raised.complaint_id.clone(),
            number: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(complaint.number, raised.complaint_number);
    assert_eq!(complaint.complainant.as_ref().unwrap().name, "王芳");
    assert_eq!(complaint.description, "楼道垃圾连续三天无人清理");
    assert_eq!(complaint.unit_id, h.unit_id);
    assert_eq!(complaint.channel(), pb::Channel::Visit);
    assert_eq!(complaint.state(), pb::ComplaintState::Registered);
    assert!(complaint.reply_due_time.is_some());
    let all = complaints
        .list_complaints(pb::ListComplaintsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints;
    assert_eq!(all.len(), 1, "raising twice registers one complaint");

    // Engineering visits but does not register complaints (CMP-1).
    let refused = stack
        .visits("engineering_manager")
        .raise_complaint_from_visit(raise(&unhappy.id))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

// --- input ----------------------------------------------------------------------------------

async fn bad_input_and_retries(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut clerk = stack.visits("cs_clerk");
    let now = stack.clock_now();
    let bad = clerk
        .record_visit(pb::RecordVisitRequest {
            property_id: PROPERTY.into(),
            request_id: String::new(),
            kind: pb::VisitKind::MoveIn.into(),
            household_id: String::new(),
            work_order_id: String::new(),
            customer: None,
            visit_time: ts(now + Duration::hours(1)),
            channel: 0,
            content: String::new(),
            satisfaction: 0,
            question: "何时答复？".into(),
            reply_due_time: None,
            major_problem: String::new(),
            meeting_date: "2026-12-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&bad),
        [
            "request_id",
            "channel",
            "satisfaction",
            "customer.name",
            "content",
            "household_id",
            "visit_time",
            "reply_due_time",
            "major_problem",
        ]
    );
    let h = household(&stack, "602").await;
    let mut request = visit("once", pb::VisitKind::Routine);
    request.household_id = h.id.clone();
    let first = record(&mut clerk, request.clone()).await;
    let retry = record(&mut clerk, request.clone()).await;
    assert_eq!(retry, first, "a retry returns the first visit");
    assert_eq!(first.visitor.as_ref().unwrap().role, "cs_clerk");
    assert_eq!(first.unit_label, "3-2-602");
    let listed = clerk
        .list_visits(pb::ListVisitsRequest {
            property_id: PROPERTY.into(),
            household_id: h.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .visits;
    assert_eq!(listed.len(), 1);
    // VIS-1 names who visits.
    for role in ["front_desk", "technician", "admin", "hq_viewer"] {
        let refused = stack
            .visits(role)
            .record_visit(visit("other", pb::VisitKind::Routine))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
    }
}
