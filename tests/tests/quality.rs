//! Escalation to the company quality department (ESC-1 to ESC-4) through the gateway's relay,
//! and the headquarters portfolio over many property stacks (HQ-1), on SQLite and PostgreSQL.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use tonic::Code;
use tonic_types::StatusExt;
use wuye_tests::{
    Authed, Backend, Killable, OTHER_PROPERTY, PROPERTY, Stack, authed, both_backends,
    deploy_properties, eventually, properties_of,
    proto::{
        customerservice::{
            self as cs, Channel, CommunicatePlanRequest, Complainant, Complaint,
            ConfirmPlanRequest, CreateComplaintRequest,
            EscalationState as ComplaintEscalationState, GetComplaintRequest, MarkMajorRequest,
            ProposePlanRequest, SendToTeamRequest, Severity,
            complaint_service_client::ComplaintServiceClient,
        },
        engineering::{self as eng, work_order_service_client::WorkOrderServiceClient},
        hq::{
            GetPortfolioRequest, Portfolio, PropertyFigures, Rate,
            portfolio_service_client::PortfolioServiceClient,
        },
        quality::{
            AssignEscalationRequest, CloseEscalationRequest, DecideEscalationRequest, Escalation,
            EscalationReason, EscalationState, ListEscalationsRequest, ProvideInformationRequest,
            ReceiveEscalationRequest, RequestInformationRequest,
            escalation_relay_service_client::EscalationRelayServiceClient,
            escalation_service_client::EscalationServiceClient,
        },
    },
};

both_backends!(
    escalations_reach_the_inbox_once_by_the_rules,
    the_decision_shows_on_the_complaint,
    nothing_is_lost_while_quality_or_the_gateway_is_down,
    the_portfolio_merges_three_property_stacks,
    a_property_user_sees_only_its_own_portfolio,
    the_portfolio_counts_surveys_and_visits_over_a_period,
    a_recurring_problem_reaches_the_inbox_once,
);

const WAIT: Duration = Duration::from_secs(20);
const MONTH: &str = "2026-11";

type Complaints = ComplaintServiceClient<Authed>;
type Inbox = EscalationServiceClient<Authed>;

fn complaints(stack: &Stack, role: &str, property: &str) -> Complaints {
    ComplaintServiceClient::new(stack.as_role(role, property))
}

fn inbox(stack: &Stack, gateway: std::net::SocketAddr, role: &str) -> Inbox {
    EscalationServiceClient::new(stack.via(gateway, role, PROPERTY))
}

async fn file(stack: &Stack, property: &str, key: &str, severity: Severity) -> Complaint {
    complaints(stack, "front_desk", property)
        .create_complaint(CreateComplaintRequest {
            property_id: property.into(),
            request_id: key.into(),
            contact_number: 0,
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "李明".into(),
                phone: "13800138000".into(),
            }),
            unit_id: String::new(),
            category: "维修服务".into(),
            description: format!("投诉 {key}"),
            severity: severity.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
}

async fn mark_major(stack: &Stack, id: &str) {
    complaints(stack, "project_manager", PROPERTY)
        .mark_major(MarkMajorRequest {
            property_id: PROPERTY.into(),
            complaint_id: id.into(),
            reason: "涉及开发商遗留问题，需公司协调".into(),
        })
        .await
        .unwrap();
}

async fn complaint(stack: &Stack, id: &str) -> Complaint {
    complaints(stack, "cs_supervisor", PROPERTY)
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
}

/// Replies to a complaint (CMP-3) by the steps of CMP-5 up to communicating the plan.
async fn reply(stack: &Stack, id: &str) {
    let p = || PROPERTY.to_owned();
    let c = || id.to_owned();
    complaints(stack, "front_desk", PROPERTY)
        .send_to_team(SendToTeamRequest {
            property_id: p(),
            complaint_id: c(),
            team: "工程维修班".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    complaints(stack, "maintenance_foreman", PROPERTY)
        .propose_plan(ProposePlanRequest {
            property_id: p(),
            complaint_id: c(),
            plan: "更换水管".into(),
            remedial_measures: "免收维修费".into(),
        })
        .await
        .unwrap();
    complaints(stack, "project_manager", PROPERTY)
        .confirm_plan(ConfirmPlanRequest {
            property_id: p(),
            complaint_id: c(),
            note: String::new(),
        })
        .await
        .unwrap();
    complaints(stack, "front_desk", PROPERTY)
        .communicate_plan(CommunicatePlanRequest {
            property_id: p(),
            complaint_id: c(),
            note: "电话告知".into(),
        })
        .await
        .unwrap();
}

async fn list(client: &mut Inbox, property: &str) -> Vec<Escalation> {
    client
        .list_escalations(ListEscalationsRequest {
            property_id: property.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .escalations
}

/// The reasons of each complaint's escalation, by complaint id.
fn reasons(list: &[Escalation]) -> BTreeMap<String, Vec<EscalationReason>> {
    list.iter()
        .map(|e| {
            let mut reasons: Vec<EscalationReason> = e.reasons.iter().map(|r| r.reason()).collect();
            reasons.sort();
            (e.complaint_id.clone(), reasons)
        })
        .collect()
}

fn error_reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

async fn escalations_reach_the_inbox_once_by_the_rules(backend: Backend) {
    let stack = Stack::start(backend).await;
    let _relay = stack.relay_gateway(|_| {}).await;

    let on_time = file(&stack, PROPERTY, "on-time", Severity::Minor).await;
    let serious = file(&stack, PROPERTY, "serious", Severity::Serious).await;
    let major = file(&stack, PROPERTY, "major", Severity::Minor).await;
    let late = file(&stack, PROPERTY, "late", Severity::General).await;
    mark_major(&stack, &major.id).await;
    reply(&stack, &on_time.id).await;
    // Past every reply deadline (CMP-3: at most 3 days); the sweep runs every 50 ms.
    stack.clock.advance(chrono::Duration::days(4));

    let mut officer = inbox(&stack, stack.gateway, "quality_officer");
    let expected = BTreeMap::from([
        (
            serious.id.clone(),
            vec![EscalationReason::Serious, EscalationReason::ReplyOverdue],
        ),
        (
            major.id.clone(),
            vec![EscalationReason::Major, EscalationReason::ReplyOverdue],
        ),
        (late.id.clone(), vec![EscalationReason::ReplyOverdue]),
    ]);
    let found = eventually("the three escalations with their reasons", WAIT, || {
        let mut officer = officer.clone();
        let expected = expected.clone();
        async move {
            let found = reasons(&list(&mut officer, "").await);
            (found == expected).then_some(found)
        }
    })
    .await;
    assert!(
        !found.contains_key(&on_time.id),
        "replied on time: no escalation"
    );
    // Nothing more arrives: each complaint once, each reason once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = list(&mut officer, "").await;
    assert_eq!(reasons(&all), expected);
    let major_escalation = all.iter().find(|e| e.complaint_id == major.id).unwrap();
    assert_eq!(major_escalation.state(), EscalationState::Received);
    assert_eq!(major_escalation.property_id, PROPERTY);
    let marked = major_escalation
        .reasons
        .iter()
        .find(|r| r.reason() == EscalationReason::Major)
        .unwrap();
    assert_eq!(marked.detail, "涉及开发商遗留问题，需公司协调");

    // The property sees that the department has it.
    eventually("the complaint shows the escalation", WAIT, || async {
        let c = complaint(&stack, &serious.id).await;
        c.escalation
            .filter(|e| e.state() == ComplaintEscalationState::Received)
    })
    .await;

    // The property's managers see their own property's escalations only.
    let mut manager = inbox(&stack, stack.gateway, "project_manager");
    assert_eq!(list(&mut manager, PROPERTY).await.len(), 3);
    let status = manager
        .list_escalations(ListEscalationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "a property names itself"
    );
    let mut elsewhere =
        EscalationServiceClient::new(stack.as_role("project_manager", OTHER_PROPERTY));
    let status = elsewhere
        .list_escalations(ListEscalationsRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(list(&mut elsewhere, OTHER_PROPERTY).await.len(), 0);
    let status = elsewhere
        .get_escalation(wuye_tests::proto::quality::GetEscalationRequest {
            property_id: OTHER_PROPERTY.into(),
            escalation_id: major_escalation.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "another property's escalation"
    );

    // Only the relay delivers: through the gateway nobody may.
    let status = EscalationRelayServiceClient::new(stack.as_role("quality_officer", PROPERTY))
        .receive_escalation(ReceiveEscalationRequest {
            property_id: PROPERTY.into(),
            source: "forged".into(),
            source_seq: 1,
            complaint_id: on_time.id.clone(),
            complaint_number: on_time.number,
            severity: Severity::Minor.into(),
            category: "x".into(),
            reason: EscalationReason::Major.into(),
            detail: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn the_decision_shows_on_the_complaint(backend: Backend) {
    let stack = Stack::start(backend).await;
    let _relay = stack.relay_gateway(|_| {}).await;
    let c = file(&stack, PROPERTY, "decided", Severity::General).await;
    mark_major(&stack, &c.id).await;

    let mut officer = inbox(&stack, stack.gateway, "quality_officer");
    let escalation = eventually("the escalation", WAIT, || {
        let mut officer = officer.clone();
        async move { list(&mut officer, PROPERTY).await.into_iter().next() }
    })
    .await;
    let id = escalation.id.clone();

    // Out of order and by the wrong role, refused.
    let status = officer
        .close_escalation(CloseEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id.clone(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), error_reason(&status).as_str()),
        (Code::FailedPrecondition, "STEP_OUT_OF_ORDER")
    );
    let status = inbox(&stack, stack.gateway, "hq_viewer")
        .assign_escalation(AssignEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let assigned = officer
        .assign_escalation(AssignEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(assigned.state(), EscalationState::Assigned);
    assert_eq!(assigned.assignee.unwrap().role, "quality_officer");

    officer
        .request_information(RequestInformationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id.clone(),
            question: "请提供开发商的整改承诺书".into(),
        })
        .await
        .unwrap();
    eventually("the question on the complaint", WAIT, || async {
        complaint(&stack, &c.id).await.escalation.filter(|e| {
            e.state() == ComplaintEscalationState::InformationRequested
                && e.decision == "请提供开发商的整改承诺书"
        })
    })
    .await;
    let answered = inbox(&stack, stack.gateway, "project_manager")
        .provide_information(ProvideInformationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id.clone(),
            answer: "承诺书已于 11 月 20 日签署".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(answered.state(), EscalationState::Assigned);
    assert_eq!(
        answered.information_requests[0].answer,
        "承诺书已于 11 月 20 日签署"
    );

    let decided = officer
        .decide_escalation(DecideEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id.clone(),
            decision: "由公司工程部协调开发商整改".into(),
            corrective_actions: vec!["更换屋面防水层".into(), "雨季前复查".into()],
        })
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(decided.state(), EscalationState::Decided);
    assert_eq!(decided.corrective_actions.len(), 2);

    let shown = eventually("the decision on the complaint", WAIT, || async {
        complaint(&stack, &c.id)
            .await
            .escalation
            .filter(|e| e.state() == ComplaintEscalationState::Decided)
    })
    .await;
    assert_eq!(
        shown.decision,
        "由公司工程部协调开发商整改\n纠正预防措施:\n1. 更换屋面防水层\n2. 雨季前复查"
    );

    officer
        .close_escalation(CloseEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: id,
            note: "已验证".into(),
        })
        .await
        .unwrap();
    let closed = eventually("the close on the complaint", WAIT, || async {
        complaint(&stack, &c.id)
            .await
            .escalation
            .filter(|e| e.state() == ComplaintEscalationState::Closed)
    })
    .await;
    assert!(closed.decision.starts_with("由公司工程部协调开发商整改"));
}

async fn nothing_is_lost_while_quality_or_the_gateway_is_down(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut quality = stack.killable_quality(deploy_properties()).await;
    let quality_address = format!("http://{}", quality.address);
    let mut relay = stack
        .relay_gateway(move |s| {
            s.upstreams
                .insert("wuye.quality.v1".into(), quality_address.clone());
        })
        .await;
    let officer = |relay: &Killable| inbox(&stack, relay.address, "quality_officer");
    let complaint_ids = |list: &[Escalation]| -> BTreeSet<String> {
        list.iter().map(|e| e.complaint_id.clone()).collect()
    };

    quality.kill();
    let first = file(&stack, PROPERTY, "first", Severity::Serious).await;
    let second = file(&stack, PROPERTY, "second", Severity::General).await;
    mark_major(&stack, &second.id).await;
    // The relay keeps retrying meanwhile; the gateway is killed and comes back twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.kill();
    let third = file(&stack, PROPERTY, "third", Severity::Serious).await;
    relay.restart().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.kill();
    relay.restart().await;
    let _minor = file(&stack, PROPERTY, "minor", Severity::Minor).await;

    quality.restart().await;
    let expected: BTreeSet<String> = [&first, &second, &third]
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let mut client = officer(&relay);
    eventually("every escalation after quality is back", WAIT, || {
        let mut client = client.clone();
        let expected = expected.clone();
        async move { (complaint_ids(&list(&mut client, "").await) == expected).then_some(()) }
    })
    .await;

    // Killed again after delivering: it resumes from what quality acknowledged.
    relay.kill();
    relay.restart().await;
    let fourth = file(&stack, PROPERTY, "fourth", Severity::Serious).await;
    let mut expected = expected;
    expected.insert(fourth.id.clone());
    client = officer(&relay);
    let all = eventually("the escalation after the restart", WAIT, || {
        let mut client = client.clone();
        let expected = expected.clone();
        async move {
            let all = list(&mut client, "").await;
            (complaint_ids(&all) == expected).then_some(all)
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all_again = list(&mut client, "").await;
    assert_eq!(all_again.len(), all.len(), "no duplicate escalation");
    for e in &all_again {
        let reasons: Vec<_> = e.reasons.iter().map(|r| r.reason()).collect();
        let unique: BTreeSet<_> = reasons.iter().collect();
        assert_eq!(reasons.len(), unique.len(), "each reason once");
        let expected = if e.complaint_id == second.id {
            EscalationReason::Major
        } else {
            EscalationReason::Serious
        };
        assert_eq!(reasons, vec![expected]);
    }

    // The updates flowed back once quality was up.
    for c in [&first, &second, &third, &fourth] {
        eventually("the complaint shows it was received", WAIT, || async {
            complaint(&stack, &c.id)
                .await
                .escalation
                .filter(|e| e.state() == ComplaintEscalationState::Received)
        })
        .await;
    }
}

fn portfolio_client(
    stack: &Stack,
    gateway: std::net::SocketAddr,
) -> PortfolioServiceClient<Authed> {
    PortfolioServiceClient::new(authed(gateway, Some(stack.token("hq_viewer", &[])), None))
}

async fn portfolio(client: &mut PortfolioServiceClient<Authed>) -> Portfolio {
    client
        .get_portfolio(GetPortfolioRequest {
            month: MONTH.into(),
            to_month: String::new(),
            property_ids: vec![],
        })
        .await
        .unwrap()
        .into_inner()
        .portfolio
        .unwrap()
}

fn registered(f: &PropertyFigures) -> i64 {
    f.complaints.as_ref().unwrap().registered
}

fn severity_count(f: &PropertyFigures, key: &str) -> i64 {
    let c = f.complaints.as_ref().unwrap();
    c.by_severity
        .iter()
        .find(|k| k.key == key)
        .map(|k| k.count)
        .unwrap_or(0)
}

async fn the_portfolio_merges_three_property_stacks(backend: Backend) {
    let names = [
        ("east-lake", "东湖苑"),
        ("west-hill", "西山府"),
        ("south-bay", "南湾"),
    ];
    let mut stacks = Vec::new();
    for (id, name) in names {
        stacks.push(Stack::start_with(backend, properties_of(&[(id, name)])).await);
    }
    // Complaints of each property: 2, 1 and 3, of mixed severities.
    let severities: [&[Severity]; 3] = [
        &[Severity::Serious, Severity::Minor],
        &[Severity::General],
        &[Severity::Minor, Severity::Minor, Severity::Serious],
    ];
    for ((stack, (id, _)), list) in stacks.iter().zip(names).zip(severities) {
        for (i, severity) in list.iter().enumerate() {
            file(stack, id, &format!("{id}-{i}"), *severity).await;
        }
    }
    let upstreams: BTreeMap<String, String> = stacks
        .iter()
        .zip(names)
        .map(|(s, (id, _))| (id.to_owned(), format!("http://{}", s.gateway)))
        .collect();

    // Headquarters: a deployment serving no property itself, in front of the three.
    let hq = Stack::start_with(backend, properties_of(&[])).await;
    let hq_upstreams = upstreams.clone();
    let hq_gateway = hq
        .relay_gateway(move |s| {
            s.relay.enabled = false;
            s.portfolio_upstreams = hq_upstreams.clone();
            s.portfolio_deadline_ms = 2_000;
        })
        .await;

    let mut each = Vec::new();
    for stack in &stacks {
        let own = portfolio(&mut portfolio_client(stack, stack.gateway)).await;
        assert!(!own.partial, "{:?}", own.missing);
        assert_eq!(own.properties.len(), 1);
        each.push(own.properties[0].clone());
    }
    let merged = portfolio(&mut portfolio_client(&hq, hq_gateway.address)).await;
    assert!(!merged.partial, "{:?}", merged.missing);
    assert_eq!(merged.month, MONTH);
    let by_id: BTreeMap<&str, &PropertyFigures> = merged
        .properties
        .iter()
        .map(|p| (p.property_id.as_str(), p))
        .collect();
    assert_eq!(by_id.len(), 3);
    for (own, (id, name)) in each.iter().zip(names) {
        let theirs = by_id[id];
        assert_eq!(theirs.source, id, "answered by that property's gateway");
        assert_eq!(theirs.property_name, name);
        let mut mine = own.clone();
        mine.source = theirs.source.clone();
        assert_eq!(&mine, theirs, "the same figures as the property's own");
    }
    assert_eq!(
        each.iter().map(registered).collect::<Vec<_>>(),
        vec![2, 1, 3]
    );
    let total = merged.total.clone().unwrap();
    assert_eq!(registered(&total), each.iter().map(registered).sum::<i64>());
    for key in ["minor", "general", "serious"] {
        assert_eq!(
            severity_count(&total, key),
            each.iter().map(|f| severity_count(f, key)).sum::<i64>(),
            "{key}"
        );
    }
    assert_eq!(severity_count(&total, "serious"), 2);
    let sum_count = |f: fn(&PropertyFigures) -> i64| each.iter().map(f).sum::<i64>();
    assert_eq!(
        total.refused_handovers.unwrap().value,
        sum_count(|f| f.refused_handovers.unwrap().value)
    );
    assert_eq!(
        total.late_archive_files.unwrap().value,
        sum_count(|f| f.late_archive_files.unwrap().value)
    );
    assert_eq!(
        total.open_escalations.unwrap().value,
        sum_count(|f| f.open_escalations.unwrap().value)
    );
    let replies = total.complaints.as_ref().unwrap().replies_on_time.unwrap();
    assert_eq!(
        replies.denominator,
        sum_count(|f| f
            .complaints
            .as_ref()
            .unwrap()
            .replies_on_time
            .unwrap()
            .denominator)
    );
    for f in &each {
        assert!(f.complaints.as_ref().unwrap().available);
        assert!(f.open_escalations.unwrap().available);
        assert!(f.overdue_keys.unwrap().available);
        assert!(f.late_archive_files.unwrap().available);
        assert!(f.refused_handovers.unwrap().available);
        assert!(f.inspection_coverage.unwrap().available);
        assert!(f.intact_rate.unwrap().available);
    }
    // Rates in total: summed numerators over summed denominators, never averaged percents.
    type RateOf = fn(&PropertyFigures) -> Option<wuye_tests::proto::hq::Rate>;
    let rates: [(&str, RateOf); 4] = [
        ("survey_return", |f| f.survey_return),
        ("survey_satisfaction", |f| f.survey_satisfaction),
        ("repair_follow_up", |f| f.repair_follow_up),
        ("move_in_visits", |f| f.move_in_visits),
    ];
    for (name, of) in rates {
        let t = of(&total).unwrap();
        assert!(t.available, "{name}");
        assert!(each.iter().all(|f| of(f).unwrap().available), "{name}");
        assert_eq!(
            (t.numerator, t.denominator),
            (
                each.iter().map(|f| of(f).unwrap().numerator).sum::<i64>(),
                each.iter().map(|f| of(f).unwrap().denominator).sum::<i64>()
            ),
            "{name}"
        );
    }

    // One stack stopped: the report names it and comes within the deadline.
    let stopped = stacks.pop().unwrap();
    drop(stopped);
    let started = Instant::now();
    let partial = portfolio(&mut portfolio_client(&hq, hq_gateway.address)).await;
    assert!(started.elapsed() < Duration::from_millis(3_000));
    assert!(partial.partial);
    assert_eq!(
        partial
            .missing
            .iter()
            .map(|m| m.source.as_str())
            .collect::<Vec<_>>(),
        vec!["south-bay"]
    );
    assert_eq!(partial.properties.len(), 2);
    assert_eq!(registered(partial.total.as_ref().unwrap()), 3);

    // A gateway that accepts but never answers: partial at the deadline, not a hang.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let east = upstreams["east-lake"].clone();
    let slow_hq = hq
        .relay_gateway(move |s| {
            s.relay.enabled = false;
            s.portfolio_upstreams = BTreeMap::from([
                ("east-lake".to_owned(), east.clone()),
                ("silent".to_owned(), format!("http://{silent_address}")),
            ]);
            s.portfolio_deadline_ms = 1_000;
        })
        .await;
    let started = Instant::now();
    let partial = portfolio(&mut portfolio_client(&hq, slow_hq.address)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2_500), "took {took:?}");
    assert!(partial.partial);
    assert_eq!(partial.missing.len(), 1);
    assert_eq!(partial.missing[0].source, "silent");
    assert_eq!(partial.properties.len(), 1);
    held.abort();
}

async fn a_property_user_sees_only_its_own_portfolio(backend: Backend) {
    let stack = Stack::start(backend).await;
    file(&stack, PROPERTY, "one", Severity::General).await;
    let request = |ids: &[&str]| GetPortfolioRequest {
        month: MONTH.into(),
        to_month: String::new(),
        property_ids: ids.iter().map(|s| s.to_string()).collect(),
    };
    let mut manager = PortfolioServiceClient::new(stack.as_role("project_manager", PROPERTY));
    let own = manager
        .get_portfolio(request(&[]))
        .await
        .unwrap()
        .into_inner()
        .portfolio
        .unwrap();
    assert_eq!(own.properties.len(), 1);
    assert_eq!(own.properties[0].property_id, PROPERTY);
    assert_eq!(registered(&own.properties[0]), 1);

    let status = manager
        .get_portfolio(request(&[OTHER_PROPERTY]))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), error_reason(&status).as_str()),
        (Code::PermissionDenied, "PROPERTY_OUT_OF_SCOPE")
    );
    // The token is for PROPERTY: naming the other in the metadata is refused at the gateway.
    let mut astray = PortfolioServiceClient::new(stack.authed(
        Some(stack.token("project_manager", &[PROPERTY])),
        Some(OTHER_PROPERTY),
    ));
    let status = astray.get_portfolio(request(&[])).await.unwrap_err();
    assert_eq!(
        (status.code(), error_reason(&status).as_str()),
        (Code::PermissionDenied, "PROPERTY_OUT_OF_SCOPE")
    );
    let mut unnamed = PortfolioServiceClient::new(
        stack.authed(Some(stack.token("project_manager", &[PROPERTY])), None),
    );
    let status = unnamed.get_portfolio(request(&[])).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = PortfolioServiceClient::new(stack.as_role("front_desk", PROPERTY))
        .get_portfolio(request(&[]))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), error_reason(&status).as_str()),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
    );

    // Headquarters sees both properties of the deployment.
    let all = portfolio(&mut portfolio_client(&stack, stack.gateway)).await;
    let ids: BTreeSet<&str> = all
        .properties
        .iter()
        .map(|p| p.property_id.as_str())
        .collect();
    assert!(
        ids.contains(PROPERTY) && ids.contains(OTHER_PROPERTY),
        "{ids:?}"
    );
    assert_eq!(registered(all.total.as_ref().unwrap()), 1);
}

fn now(stack: &Stack) -> chrono::DateTime<chrono::Utc> {
    use wuye_kit::clock::Clock;
    stack.clock.now()
}

fn portfolio_request(month: &str, to_month: &str) -> GetPortfolioRequest {
    GetPortfolioRequest {
        month: month.into(),
        to_month: to_month.into(),
        property_ids: vec![],
    }
}

fn of<'a>(p: &'a Portfolio, property: &str) -> &'a PropertyFigures {
    p.properties
        .iter()
        .find(|f| f.property_id == property)
        .unwrap_or_else(|| panic!("{property} in the portfolio"))
}

fn counts(r: Option<Rate>) -> (i64, i64) {
    let r = r.expect("rate");
    assert!(r.available);
    (r.numerator, r.denominator)
}

/// A unit of PROPERTY with a household moved in now; (unit, household).
async fn lived_in(stack: &Stack, room: &str) -> (String, String) {
    let mut clerk = stack.households("cs_clerk");
    let unit = clerk
        .create_unit(cs::CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{room}"),
            building: "5".into(),
            entrance: "1".into(),
            floor: 1,
            room: room.into(),
            area_m2: 90.0,
            state: cs::UnitState::Vacant.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id;
    let household = clerk
        .record_move_in(cs::RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: format!("move-in-{room}"),
            unit_id: unit.clone(),
            residents: vec![cs::Resident {
                name: "王芳".into(),
                relation: cs::ResidentRelation::Owner.into(),
                phone: "139 0000 0001".into(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap()
        .id;
    (unit, household)
}

fn visit(request_id: &str, kind: cs::VisitKind) -> cs::RecordVisitRequest {
    cs::RecordVisitRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        kind: kind.into(),
        customer: Some(cs::VisitedCustomer {
            name: "王芳".into(),
            phone: "139 0000 0001".into(),
        }),
        channel: cs::VisitChannel::Phone.into(),
        content: "满意".into(),
        satisfaction: cs::VisitSatisfaction::Satisfied.into(),
        ..Default::default()
    }
}

/// A repair of `unit` taken to completion in engineering; its work order id.
async fn complete_repair(stack: &Stack, request_id: &str, unit: &str) -> String {
    let orders = |role: &str, id: &str, name: &str| {
        WorkOrderServiceClient::new(stack.as_user(role, id, name, PROPERTY))
    };
    let desk = orders("front_desk", "desk-1", "前台");
    let request = eng::CreateWorkOrderRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        unit_id: unit.into(),
        description: "门锁损坏".into(),
        urgency: eng::Urgency::Ordinary.into(),
        team: "水电班".into(),
        requester: Some(eng::Requester {
            name: "王芳".into(),
            phone: "139 0000 0001".into(),
        }),
        ..Default::default()
    };
    // Engineering learns a unit registered a moment ago from customer-service's events (WO-1);
    // until then it refuses the unit and stores nothing.
    let order = eventually("engineering knows the unit", WAIT, || {
        let (mut desk, request) = (desk.clone(), request.clone());
        async move {
            match desk.create_work_order(request).await {
                Ok(r) => Some(r.into_inner().work_order.unwrap()),
                Err(s) if s.code() == tonic::Code::InvalidArgument => None,
                Err(s) => panic!("{s:?}"),
            }
        }
    })
    .await;
    // The repair goes to a technician of the directory, who records it as themself.
    let tech_id = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    orders("maintenance_foreman", "fm-1", "李领班")
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
        work_done: "更换锁芯".into(),
        parts: vec![],
        customer_rating: 5,
        customer_signature: "王芳".into(),
    })
    .await
    .unwrap();
    order.id
}

async fn the_portfolio_counts_surveys_and_visits_over_a_period(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut homes = Vec::new();
    for room in ["101", "102", "103", "104", "105"] {
        homes.push(lived_in(&stack, room).await);
    }

    // A survey (CS-2, CS-4): 5 forms handed out, 3 returned with 4 ratings of which 3 are
    // satisfied (the first level always is, the last never).
    let campaign = stack
        .surveys("project_manager")
        .create_survey_campaign(cs::CreateSurveyCampaignRequest {
            property_id: PROPERTY.into(),
            request_id: "campaign".into(),
            title: "2026年度客户满意度调查".into(),
            start_time: Some(wuye_kit::time::to_timestamp(now(&stack))),
            end_time: Some(wuye_kit::time::to_timestamp(
                now(&stack) + chrono::Duration::days(10),
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    let (best, worst) = (
        campaign.levels[0].clone(),
        campaign.levels.last().unwrap().clone(),
    );
    let mut clerk = stack.surveys("cs_clerk");
    clerk
        .distribute_survey_forms(cs::DistributeSurveyFormsRequest {
            property_id: PROPERTY.into(),
            request_id: "hand-out".into(),
            campaign_id: campaign.id.clone(),
            all_living_households: true,
            household_ids: vec![],
        })
        .await
        .unwrap();
    let answers: [&[(usize, &str)]; 3] = [&[(0, &best), (1, &worst)], &[(0, &best)], &[(2, &best)]];
    for (i, ratings) in answers.iter().enumerate() {
        clerk
            .return_survey_form(cs::ReturnSurveyFormRequest {
                property_id: PROPERTY.into(),
                request_id: format!("return-{i}"),
                campaign_id: campaign.id.clone(),
                household_id: homes[i].1.clone(),
                ratings: ratings
                    .iter()
                    .map(|(item, level)| cs::SurveyRating {
                        item: campaign.items[*item].clone(),
                        level: (*level).to_owned(),
                    })
                    .collect(),
                remarks: vec![],
            })
            .await
            .unwrap();
    }

    // Move-in visits (VIS-5) of 2 of the 5 households, a day after they moved in.
    stack.clock.advance(chrono::Duration::days(1));
    let mut visits = stack.visits("cs_clerk");
    for (i, (_, household)) in homes[..2].iter().enumerate() {
        let mut request = visit(&format!("move-in-visit-{i}"), cs::VisitKind::MoveIn);
        request.household_id = household.clone();
        visits.record_visit(request).await.unwrap();
    }

    // Three repairs completed (VIS-4), one of them followed up.
    let mut orders = Vec::new();
    for (i, (unit, _)) in homes.iter().take(3).enumerate() {
        orders.push(complete_repair(&stack, &format!("wo-{i}"), unit).await);
    }
    eventually("the repairs due for a follow-up", WAIT, || {
        let mut visits = visits.clone();
        async move {
            let due = visits
                .list_repair_follow_ups(cs::ListRepairFollowUpsRequest {
                    property_id: PROPERTY.into(),
                    pending_only: false,
                    page_size: 100,
                    page_token: String::new(),
                })
                .await
                .ok()?
                .into_inner()
                .follow_ups;
            (due.len() == 3).then_some(())
        }
    })
    .await;
    let mut request = visit("repair-visit", cs::VisitKind::Repair);
    request.work_order_id = orders[1].clone();
    visits.record_visit(request).await.unwrap();

    let mut hq = portfolio_client(&stack, stack.gateway);
    let november = hq
        .get_portfolio(portfolio_request(MONTH, ""))
        .await
        .unwrap()
        .into_inner()
        .portfolio
        .unwrap();
    assert!(!november.partial, "{:?}", november.missing);
    assert_eq!(
        (november.month.as_str(), november.to_month.as_str()),
        (MONTH, MONTH)
    );
    let here = of(&november, PROPERTY);
    // rules CS-4, VIS-4, VIS-5 as counted from what the test created
    assert_eq!(counts(here.survey_return), (3, 5));
    assert_eq!(counts(here.survey_satisfaction), (3, 4));
    assert_eq!(counts(here.repair_follow_up), (1, 3));
    assert_eq!(counts(here.move_in_visits), (2, 5));
    let rate = here.survey_return.unwrap();
    assert_eq!(rate.percent, 60.0);
    // The other property has no survey, repair or household: nothing to count, still known.
    let other = of(&november, OTHER_PROPERTY);
    assert_eq!(counts(other.survey_return), (0, 0));
    assert_eq!(counts(other.move_in_visits), (0, 0));
    // In total: sums of the counts, not the mean of the two percents.
    let total = november.total.clone().unwrap();
    assert_eq!(counts(total.survey_satisfaction), (3, 4));
    assert_eq!(counts(total.repair_follow_up), (1, 3));
    assert_eq!(total.repair_follow_up.unwrap().percent, 100.0 / 3.0);

    // October: before the campaign, the repairs and the visits.
    let october = hq
        .get_portfolio(portfolio_request("2026-10", ""))
        .await
        .unwrap()
        .into_inner()
        .portfolio
        .unwrap();
    let here = of(&october, PROPERTY);
    assert_eq!(counts(here.survey_return), (0, 0));
    assert_eq!(counts(here.repair_follow_up), (0, 0));
    assert_eq!(
        counts(here.move_in_visits),
        (0, 0),
        "nobody lived there yet"
    );

    // A quarter (October to December): the same events, each counted once; the households
    // are those living at the quarter's end.
    let quarter = hq
        .get_portfolio(portfolio_request("2026-10", "2026-12"))
        .await
        .unwrap()
        .into_inner()
        .portfolio
        .unwrap();
    assert!(!quarter.partial, "{:?}", quarter.missing);
    assert_eq!(
        (quarter.month.as_str(), quarter.to_month.as_str()),
        ("2026-10", "2026-12")
    );
    let here = of(&quarter, PROPERTY);
    assert_eq!(counts(here.survey_return), (3, 5));
    assert_eq!(counts(here.repair_follow_up), (1, 3));
    assert_eq!(counts(here.move_in_visits), (2, 5));
    assert_eq!(registered(here), registered(of(&november, PROPERTY)));
    assert!(here.inspection_coverage.unwrap().available);

    // Periods backwards or longer than a year are refused.
    for (month, to_month) in [
        ("2026-11", "2026-10"),
        ("2026-01", "2027-01"),
        ("2026-11", "11"),
    ] {
        let status = hq
            .get_portfolio(portfolio_request(month, to_month))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{month}..{to_month}");
    }
}

/// A unit of `building` in PROPERTY; its id.
async fn unit_in(stack: &Stack, building: &str, room: &str) -> String {
    stack
        .households("cs_clerk")
        .create_unit(cs::CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: format!("unit-{building}-{room}"),
            building: building.into(),
            entrance: "1".into(),
            floor: 1,
            room: room.into(),
            area_m2: 80.0,
            state: cs::UnitState::Vacant.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id
}

async fn file_at(stack: &Stack, key: &str, unit: &str, category: &str) -> Complaint {
    complaints(stack, "front_desk", PROPERTY)
        .create_complaint(CreateComplaintRequest {
            property_id: PROPERTY.into(),
            request_id: key.into(),
            contact_number: 0,
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "赵敏".into(),
                phone: "13900000002".into(),
            }),
            unit_id: unit.into(),
            category: category.into(),
            description: format!("投诉 {key}"),
            severity: Severity::Minor.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
}

async fn a_recurring_problem_reaches_the_inbox_once(backend: Backend) {
    let stack = Stack::start(backend).await;
    let _relay = stack.relay_gateway(|_| {}).await;
    let threshold = deploy_properties()
        .get(PROPERTY)
        .unwrap()
        .rules
        .complaints
        .recurring_threshold as usize;
    assert!(threshold >= 2);
    let mut units = Vec::new();
    for room in ["101", "102", "103", "104", "105"] {
        units.push(unit_in(&stack, "7", room).await);
    }
    let elsewhere = unit_in(&stack, "8", "101").await;

    // One short of the threshold at building 7, and the same category at building 8, another
    // category at building 7, a complaint without a unit: none of it recurs.
    let mut filed = Vec::new();
    for (i, unit) in units.iter().take(threshold - 1).enumerate() {
        filed.push(file_at(&stack, &format!("lift-{i}"), unit, "电梯故障").await);
    }
    file_at(&stack, "lift-8", &elsewhere, "电梯故障").await;
    file_at(&stack, "green-7", &units[0], "绿化").await;
    file(&stack, PROPERTY, "no-unit", Severity::Minor).await;
    // The one that makes it recurrent (ESC-2, CMP-9), then one more of the same problem.
    let reaching = file_at(&stack, "lift-reach", &units[threshold - 1], "电梯故障").await;
    filed.push(reaching.clone());
    let after = file_at(&stack, "lift-after", &units[threshold], "电梯故障").await;

    let mut officer = inbox(&stack, stack.gateway, "quality_officer");
    let expected = BTreeMap::from([(reaching.id.clone(), vec![EscalationReason::Recurring])]);
    eventually("the recurring problem in the inbox", WAIT, || {
        let mut officer = officer.clone();
        let expected = expected.clone();
        async move { (reasons(&list(&mut officer, "").await) == expected).then_some(()) }
    })
    .await;
    // Once: neither the later complaint nor a redelivery adds anything.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = list(&mut officer, "").await;
    assert_eq!(reasons(&all), expected);
    assert!(!all.iter().any(|e| e.complaint_id == after.id));
    let numbers: Vec<String> = filed.iter().map(|c| format!("#{}", c.number)).collect();
    let reason = &all[0].reasons[0];
    assert_eq!(
        reason.detail,
        format!("7号楼 2026-H2 第{threshold}次: 投诉 {}", numbers.join(", "))
    );

    // The fact is customer service's, written once in its event stream.
    let mut stream = stack
        .events("customer-service")
        .subscribe(wuye_tests::proto::events::SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut recurring = Vec::new();
    // The stream follows new events forever: read what is there, until it falls quiet.
    while let Ok(Ok(Some(item))) =
        tokio::time::timeout(Duration::from_millis(500), stream.message()).await
    {
        if let Some(wuye_tests::proto::events::event::Payload::ComplaintRecurring(r)) =
            item.event.and_then(|e| e.payload)
        {
            recurring.push(r);
        }
    }
    assert_eq!(recurring.len(), 1, "{recurring:?}");
    assert_eq!(recurring[0].complaint_id, reaching.id);
    assert_eq!(recurring[0].building, "7");
}
