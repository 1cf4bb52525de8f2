//! Escalation to the company quality department (ESC-1 to ESC-4) through the gateway's relay,
//! and the headquarters portfolio over many property stacks (HQ-1), on SQLite and PostgreSQL.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use tonic::Code;
use tonic_types::StatusExt;
use wuye_tests::{
    Auth, Authed, Backend, Killable, OTHER_PROPERTY, PROPERTY, Stack, both_backends, channel,
    deploy_properties, eventually, properties_of,
    proto::{
        customerservice::{
            Channel, CommunicatePlanRequest, Complainant, Complaint, ConfirmPlanRequest,
            CreateComplaintRequest, EscalationState as ComplaintEscalationState,
            GetComplaintRequest, MarkMajorRequest, ProposePlanRequest, SendToTeamRequest, Severity,
            complaint_service_client::ComplaintServiceClient,
        },
        hq::{
            GetPortfolioRequest, Portfolio, PropertyFigures,
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
    PortfolioServiceClient::new(wuye_tests::Authed::new(
        channel(gateway),
        Auth {
            token: Some(stack.token("hq_viewer", &[])),
            property: None,
        },
    ))
}

async fn portfolio(client: &mut PortfolioServiceClient<Authed>) -> Portfolio {
    client
        .get_portfolio(GetPortfolioRequest {
            month: MONTH.into(),
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
    // Surveys and visits do not exist yet: marked, not faked.
    assert!(!total.survey_return.unwrap().available);
    assert!(!each[0].repair_follow_up.unwrap().available);

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
    let mut astray = PortfolioServiceClient::new(wuye_tests::Authed::new(
        stack.channel(),
        Auth {
            token: Some(stack.token("project_manager", &[PROPERTY])),
            property: Some(OTHER_PROPERTY.into()),
        },
    ));
    let status = astray.get_portfolio(request(&[])).await.unwrap_err();
    assert_eq!(
        (status.code(), error_reason(&status).as_str()),
        (Code::PermissionDenied, "PROPERTY_OUT_OF_SCOPE")
    );
    let mut unnamed = PortfolioServiceClient::new(wuye_tests::Authed::new(
        stack.channel(),
        Auth {
            token: Some(stack.token("project_manager", &[PROPERTY])),
            property: None,
        },
    ));
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
