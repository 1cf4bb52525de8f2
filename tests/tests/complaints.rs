//! The life of a complaint (CMP-1 to CMP-9, ESC-1, ESC-3) through the gateway, on SQLite and
//! PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt, stream};
use tonic::Code;
use tonic_types::StatusExt;
use wuye_kit::{
    calendar::Calendars,
    clock::Clock,
    properties::{Properties, PropertyConfig},
    time::from_timestamp,
};
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends, deploy_properties,
    proto::{
        customerservice::{
            Channel, Complainant, Complaint, ComplaintState, CreateComplaintRequest,
            CreateUnitRequest, EscalationState, GetComplaintAnalysisRequest,
            GetComplaintFiguresRequest, GetComplaintRequest, ListContactLogRequest,
            ListCorrectiveActionsRequest, ListOverdueComplaintsRequest, LogContactRequest,
            OpenCorrectiveActionRequest, RecordCorrectiveMeasuresRequest,
            RecordCustomerVerdictRequest, RecordEscalationStateRequest, RenderComplaintFormRequest,
            Severity, StepAction, VerifyCorrectiveActionRequest,
            complaint_service_client::ComplaintServiceClient,
            customer_service_figures_service_client::CustomerServiceFiguresServiceClient,
        },
        events::{SubscribeRequest, event::Payload},
    },
};

both_backends!(
    a_complaint_goes_from_intake_to_a_satisfied_close,
    refused_steps_change_nothing,
    overdue_replies_are_listed_and_announced_once,
    major_complaints_and_the_quality_department_s_handling,
    corrective_actions_are_verified_by_someone_else,
    a_logged_contact_becomes_a_complaint_with_its_number,
    the_half_year_analysis_matches_an_independent_count,
);

type Client = ComplaintServiceClient<wuye_tests::Authed>;

/// A client acting as a named person of `role`, so steps record who took them.
fn as_person(stack: &Stack, role: &str, name: &str) -> Client {
    ComplaintServiceClient::new(stack.as_user(role, &format!("{role}-{name}"), name, PROPERTY))
}

fn complaint(request_id: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        channel: Channel::Phone.into(),
        complainant: Some(Complainant {
            name: "李明".into(),
            phone: "13800138000".into(),
        }),
        unit_id: String::new(),
        category: "卫生".into(),
        description: "楼道垃圾三天没人清运".into(),
        severity: Severity::General.into(),
        contact_number: 0,
    }
}

async fn file(stack: &Stack, request_id: &str) -> Complaint {
    stack
        .complaints("front_desk")
        .create_complaint(complaint(request_id))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
}

async fn get(stack: &Stack, id: &str) -> Complaint {
    stack
        .complaints("cs_supervisor")
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

fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// The people of the service center, each with their role.
struct Staff {
    desk: Client,
    foreman: Client,
    manager: Client,
    supervisor: Client,
    assistant: Client,
    clerk: Client,
}

fn staff(stack: &Stack) -> Staff {
    Staff {
        desk: as_person(stack, "front_desk", "王芳"),
        foreman: as_person(stack, "maintenance_foreman", "赵强"),
        manager: as_person(stack, "project_manager", "孙经理"),
        supervisor: as_person(stack, "cs_supervisor", "周主管"),
        assistant: as_person(stack, "project_manager_assistant", "吴助理"),
        clerk: as_person(stack, "cs_clerk", "郑文"),
    }
}

macro_rules! step {
    ($client:expr, $method:ident, $request:ident { $($field:ident: $value:expr),* $(,)? }, $id:expr) => {
        $client
            .$method(wuye_tests::proto::customerservice::$request {
                property_id: PROPERTY.into(),
                complaint_id: $id.clone(),
                $($field: $value.into()),*
            })
            .await
    };
}

/// Takes a complaint from registration to the result told.
async fn to_result_told(s: &mut Staff, id: &str) {
    to_replied(s, id).await;
    let id = id.to_owned();
    step!(s.foreman, start_work, StartWorkRequest { note: "" }, id).unwrap();
    step!(
        s.assistant,
        urge_work,
        UrgeWorkRequest {
            note: "今天内完成"
        },
        id
    )
    .unwrap();
    step!(
        s.clerk,
        report_handling,
        ReportHandlingRequest {
            report: "垃圾已清运，增加每日两次"
        },
        id
    )
    .unwrap();
    step!(
        s.supervisor,
        tell_result,
        TellResultRequest {
            note: "上门告知"
        },
        id
    )
    .unwrap();
}

/// Sent to a team, planned, and the plan told to the customer: the reply of CMP-3.
async fn to_replied(s: &mut Staff, id: &str) {
    let id = id.to_owned();
    step!(
        s.desk,
        send_to_team,
        SendToTeamRequest {
            team: "保洁班",
            note: ""
        },
        id
    )
    .unwrap();
    step!(
        s.foreman,
        propose_plan,
        ProposePlanRequest {
            plan: "增加清运频次",
            remedial_measures: "上门致歉"
        },
        id
    )
    .unwrap();
    step!(
        s.manager,
        confirm_plan,
        ConfirmPlanRequest { note: "同意" },
        id
    )
    .unwrap();
    step!(
        s.desk,
        communicate_plan,
        CommunicatePlanRequest {
            note: "电话告知业主"
        },
        id
    )
    .unwrap();
}

async fn a_complaint_goes_from_intake_to_a_satisfied_close(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut s = staff(&stack);
    let c = file(&stack, "life").await;
    let id = c.id.clone();
    stack.clock.advance(Duration::hours(5));
    to_result_told(&mut s, &id).await;
    let told = get(&stack, &id).await;
    assert_eq!(told.state(), ComplaintState::ResultTold);
    // The reply of CMP-3 is when the plan was communicated, within the deadline.
    let replied = from_timestamp(told.reply_time.as_ref().unwrap()).unwrap();
    assert_eq!(replied, stack.clock.now());
    assert!(replied <= from_timestamp(told.reply_due_time.as_ref().unwrap()).unwrap());

    // Not satisfied: back to the team with the reason ("直到客户满意为止").
    let back = s
        .supervisor
        .record_customer_verdict(RecordCustomerVerdictRequest {
            property_id: PROPERTY.into(),
            complaint_id: id.clone(),
            satisfied: false,
            comment: "还有异味".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(back.state(), ComplaintState::SentToTeam);
    step!(
        s.foreman,
        propose_plan,
        ProposePlanRequest {
            plan: "消毒除味",
            remedial_measures: "赠送清洁服务"
        },
        id
    )
    .unwrap();
    step!(
        s.assistant,
        confirm_plan,
        ConfirmPlanRequest { note: "" },
        id
    )
    .unwrap();
    step!(
        s.desk,
        communicate_plan,
        CommunicatePlanRequest { note: "" },
        id
    )
    .unwrap();
    step!(s.foreman, start_work, StartWorkRequest { note: "" }, id).unwrap();
    step!(
        s.clerk,
        report_handling,
        ReportHandlingRequest {
            report: "已消毒"
        },
        id
    )
    .unwrap();
    step!(
        s.supervisor,
        tell_result,
        TellResultRequest { note: "" },
        id
    )
    .unwrap();
    stack.clock.advance(Duration::hours(20));
    let closed = s
        .clerk
        .record_customer_verdict(RecordCustomerVerdictRequest {
            property_id: PROPERTY.into(),
            complaint_id: id.clone(),
            satisfied: true,
            comment: "满意".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(closed.state(), ComplaintState::Closed);
    assert_eq!(closed.results_told, 2);
    assert_eq!(
        from_timestamp(closed.close_time.as_ref().unwrap()).unwrap(),
        stack.clock.now()
    );
    // The reply time is still the first communication.
    assert_eq!(
        from_timestamp(closed.reply_time.as_ref().unwrap()).unwrap(),
        replied
    );

    // Every step: who, when, what.
    let got = get(&stack, &id).await;
    let steps: Vec<(StepAction, String)> = got
        .steps
        .iter()
        .map(|st| (st.action(), st.actor.as_ref().unwrap().name.clone()))
        .collect();
    use StepAction::*;
    let expected = [
        (Register, "测试员"), // the harness's front desk
        (SendToTeam, "王芳"),
        (ProposePlan, "赵强"),
        (ConfirmPlan, "孙经理"),
        (CommunicatePlan, "王芳"),
        (StartWork, "赵强"),
        (UrgeWork, "吴助理"),
        (ReportHandling, "郑文"),
        (TellResult, "周主管"),
        (CustomerDissatisfied, "周主管"),
        (ProposePlan, "赵强"),
        (ConfirmPlan, "吴助理"),
        (CommunicatePlan, "王芳"),
        (StartWork, "赵强"),
        (ReportHandling, "郑文"),
        (TellResult, "周主管"),
        (CustomerSatisfied, "郑文"),
    ];
    assert_eq!(steps, expected.map(|(a, n)| (a, n.to_owned())));
    assert_eq!(got.steps[9].note, "还有异味");
    assert!(got.steps.windows(2).all(|w| w[0].seq + 1 == w[1].seq));

    // The handling form shows every step and who took it.
    let form = s
        .supervisor
        .render_complaint_form(RenderComplaintFormRequest {
            property_id: PROPERTY.into(),
            complaint_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .document
        .unwrap();
    let html = String::from_utf8(form.content).unwrap();
    for text in [
        "客户投诉处理表",
        "责成班组处理",
        "提出整改方案及补救措施",
        "确认方案",
        "客户不满意，退回班组",
        "客户满意，结案",
        "增加清运频次",
        "赵强",
        "孙经理",
        "周主管",
    ] {
        assert!(html.contains(text), "the form lacks {text}");
    }
    assert_eq!(
        html.matches("<tr><td>").count() - 15,
        17,
        "15 detail rows and 17 steps"
    );
}

async fn refused_steps_change_nothing(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut s = staff(&stack);
    let c = file(&stack, "refusals").await;
    let id = c.id.clone();
    // A skipped step: nothing was proposed to confirm.
    let status = step!(s.manager, confirm_plan, ConfirmPlanRequest { note: "" }, id).unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::FailedPrecondition, "STEP_OUT_OF_ORDER")
    );
    let info = status.get_details_error_info().unwrap();
    assert_eq!(info.metadata["state"], "registered");
    // A wrong role: the front desk does not confirm plans; a technician does not send.
    let status = step!(
        s.desk,
        send_to_team,
        SendToTeamRequest {
            team: "x",
            note: ""
        },
        id
    )
    .map(|_| ());
    assert!(status.is_ok());
    let status = step!(
        s.desk,
        propose_plan,
        ProposePlanRequest {
            plan: "p",
            remedial_measures: "m"
        },
        id
    )
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Bad input names every field.
    let status = step!(
        s.foreman,
        propose_plan,
        ProposePlanRequest {
            plan: " ",
            remedial_measures: ""
        },
        id
    )
    .unwrap_err();
    let fields: Vec<String> = status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["plan", "remedial_measures"]);
    let before = get(&stack, &id).await;
    assert_eq!(before.state(), ComplaintState::SentToTeam);
    assert_eq!(before.steps.len(), 2);

    // A closed complaint changes no more.
    step!(
        s.foreman,
        propose_plan,
        ProposePlanRequest {
            plan: "p",
            remedial_measures: "m"
        },
        id
    )
    .unwrap();
    step!(s.manager, confirm_plan, ConfirmPlanRequest { note: "" }, id).unwrap();
    step!(
        s.desk,
        communicate_plan,
        CommunicatePlanRequest { note: "" },
        id
    )
    .unwrap();
    step!(s.foreman, start_work, StartWorkRequest { note: "" }, id).unwrap();
    step!(
        s.clerk,
        report_handling,
        ReportHandlingRequest { report: "r" },
        id
    )
    .unwrap();
    step!(
        s.supervisor,
        tell_result,
        TellResultRequest { note: "" },
        id
    )
    .unwrap();
    step!(
        s.supervisor,
        record_customer_verdict,
        RecordCustomerVerdictRequest {
            satisfied: true,
            comment: ""
        },
        id
    )
    .unwrap();
    let closed = get(&stack, &id).await;
    for status in [
        step!(
            s.desk,
            send_to_team,
            SendToTeamRequest {
                team: "x",
                note: ""
            },
            id
        )
        .unwrap_err(),
        step!(s.manager, mark_major, MarkMajorRequest { reason: "r" }, id).unwrap_err(),
        step!(
            s.supervisor,
            record_customer_verdict,
            RecordCustomerVerdictRequest {
                satisfied: false,
                comment: "again"
            },
            id
        )
        .unwrap_err(),
    ] {
        assert_eq!(
            (status.code(), reason(&status).as_str()),
            (Code::FailedPrecondition, "COMPLAINT_CLOSED")
        );
    }
    // A dissatisfied verdict needs the customer's reason.
    let other = file(&stack, "other").await;
    let status = step!(
        s.supervisor,
        record_customer_verdict,
        RecordCustomerVerdictRequest {
            satisfied: false,
            comment: ""
        },
        other.id
    )
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(get(&stack, &id).await, closed);
}

async fn overdue_replies_are_listed_and_announced_once(backend: Backend) {
    // Reply days counted as working days of the property's calendar.
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
    configs[0].rules.complaints.reply_in_working_days = true;
    let calendars = Calendars::load_dir(&wuye_tests::repo_root().join("deploy/calendars")).unwrap();
    let stack = Stack::start_with(backend, Properties::new(configs, &calendars).unwrap()).await;
    let tz = chrono_tz::Asia::Shanghai;
    // Wednesday 30 September 2026, before 国庆 (1–7 October); Saturday 10 October is worked.
    stack.clock.set(
        tz.with_ymd_and_hms(2026, 9, 30, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let mut desk = stack.complaints("front_desk");
    let mut numbers = BTreeMap::new();
    for (severity, name) in [
        (Severity::Serious, "serious"),
        (Severity::General, "general"),
        (Severity::Minor, "minor"),
    ] {
        let c = desk
            .create_complaint(CreateComplaintRequest {
                severity: severity.into(),
                ..complaint(name)
            })
            .await
            .unwrap()
            .into_inner()
            .complaint
            .unwrap();
        numbers.insert(name, c);
    }
    let due = |name: &str| from_timestamp(numbers[name].reply_due_time.as_ref().unwrap()).unwrap();
    let end_of = |day| {
        tz.with_ymd_and_hms(2026, 10, day, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    // 1, 2 and 3 working days: Thursday 8, Friday 9, Saturday 10 (调休) October.
    assert_eq!(
        (due("serious"), due("general"), due("minor")),
        (end_of(9), end_of(10), end_of(11))
    );

    let mut events = stack.events("customer-service");
    let mut stream = events
        .subscribe(SubscribeRequest { after_seq: 3 })
        .await
        .unwrap()
        .into_inner();
    let overdue = |stack: &Stack| {
        let mut client = stack.complaints("cs_supervisor");
        async move {
            client
                .list_overdue_complaints(ListOverdueComplaintsRequest {
                    property_id: PROPERTY.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .complaints
                .into_iter()
                .map(|c| c.number)
                .collect::<Vec<_>>()
        }
    };
    assert!(overdue(&stack).await.is_empty());
    // Through the holidays nothing is late; on Friday 9 October the serious one is.
    stack.clock.set(end_of(9) + Duration::minutes(1));
    assert_eq!(overdue(&stack).await, [numbers["serious"].number]);
    // The sweep announces it once for the escalation relay.
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Some(Payload::ComplaintReplyOverdue(e)) = event.event.unwrap().payload else {
        panic!("not an overdue reply")
    };
    assert_eq!(e.number, numbers["serious"].number);

    // A reply takes a complaint off the list; the rest come due in their turn.
    let mut s = staff(&stack);
    let general = numbers["general"].id.clone();
    step!(
        s.desk,
        send_to_team,
        SendToTeamRequest {
            team: "保洁班",
            note: ""
        },
        general
    )
    .unwrap();
    step!(
        s.foreman,
        propose_plan,
        ProposePlanRequest {
            plan: "p",
            remedial_measures: "m"
        },
        general
    )
    .unwrap();
    step!(
        s.manager,
        confirm_plan,
        ConfirmPlanRequest { note: "" },
        general
    )
    .unwrap();
    step!(
        s.desk,
        communicate_plan,
        CommunicatePlanRequest { note: "" },
        general
    )
    .unwrap();
    stack.clock.set(end_of(12));
    assert_eq!(
        overdue(&stack).await,
        [numbers["serious"].number, numbers["minor"].number]
    );
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Some(Payload::ComplaintReplyOverdue(e)) = event.event.unwrap().payload else {
        panic!("not an overdue reply")
    };
    assert_eq!(
        e.number, numbers["minor"].number,
        "the serious one is not announced twice"
    );
    // A month later every open complaint is announced as unresolved (ESC-2), once.
    stack.clock.set(end_of(31) + Duration::days(1));
    let mut unresolved = BTreeSet::new();
    while unresolved.len() < 3 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match event.event.unwrap().payload {
            Some(Payload::ComplaintUnresolved(e)) => assert!(unresolved.insert(e.number)),
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn major_complaints_and_the_quality_department_s_handling(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut s = staff(&stack);
    let c = file(&stack, "major").await;
    let id = c.id.clone();
    let status = step!(
        s.supervisor,
        mark_major,
        MarkMajorRequest { reason: "r" },
        id
    )
    .unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "only the project manager or assistant marks"
    );
    let marked = step!(
        s.manager,
        mark_major,
        MarkMajorRequest {
            reason: "涉及开发商遗留问题，需公司协调"
        },
        id
    )
    .unwrap()
    .into_inner()
    .complaint
    .unwrap();
    assert!(marked.major);
    assert_eq!(marked.state(), ComplaintState::Registered);
    let mut events = stack.events("customer-service");
    let mut stream = events
        .subscribe(SubscribeRequest { after_seq: 1 })
        .await
        .unwrap()
        .into_inner();
    let event = stream.next().await.unwrap().unwrap().event.unwrap();
    let Some(Payload::ComplaintMarkedMajor(e)) = event.payload else {
        panic!("not a major mark")
    };
    assert_eq!(
        (e.complaint_id, e.reason.as_str()),
        (id.clone(), "涉及开发商遗留问题，需公司协调")
    );

    // The quality department's decision shows on the complaint at the property.
    let mut quality = ComplaintServiceClient::new(stack.as_role("quality_officer", PROPERTY));
    quality
        .record_escalation_state(RecordEscalationStateRequest {
            property_id: PROPERTY.into(),
            complaint_id: id.clone(),
            state: EscalationState::Decided.into(),
            decision: "由公司工程部协调开发商整改".into(),
        })
        .await
        .unwrap();
    let escalation = get(&stack, &id).await.escalation.unwrap();
    assert_eq!(
        (escalation.state(), escalation.decision.as_str()),
        (EscalationState::Decided, "由公司工程部协调开发商整改")
    );
    let status = s
        .manager
        .record_escalation_state(RecordEscalationStateRequest {
            property_id: PROPERTY.into(),
            complaint_id: id,
            state: EscalationState::Closed.into(),
            decision: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn corrective_actions_are_verified_by_someone_else(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut s = staff(&stack);
    let c = file(&stack, "capa").await;
    let opened = s
        .supervisor
        .open_corrective_action(OpenCorrectiveActionRequest {
            property_id: PROPERTY.into(),
            request_id: "capa-1".into(),
            complaint_id: c.id.clone(),
            problem: "垃圾清运排班不合理，周末无人值守".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    let acted = s
        .foreman
        .record_corrective_measures(RecordCorrectiveMeasuresRequest {
            property_id: PROPERTY.into(),
            action_id: opened.id.clone(),
            measures: "周末增设保洁班次".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(acted.acted_by.unwrap().name, "赵强");
    // The one who acted cannot verify, whatever the role.
    let mut foreman_as_manager = ComplaintServiceClient::new(stack.as_user(
        "project_manager",
        "maintenance_foreman-赵强",
        "赵强",
        PROPERTY,
    ));
    let status = foreman_as_manager
        .verify_corrective_action(VerifyCorrectiveActionRequest {
            property_id: PROPERTY.into(),
            action_id: opened.id.clone(),
            effective: true,
            verification: "自查".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::FailedPrecondition, "VERIFIER_ACTED")
    );
    let open: Vec<String> = s
        .supervisor
        .list_corrective_actions(ListCorrectiveActionsRequest {
            property_id: PROPERTY.into(),
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .actions
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(open, std::slice::from_ref(&opened.id));
    let verified = s
        .manager
        .verify_corrective_action(VerifyCorrectiveActionRequest {
            property_id: PROPERTY.into(),
            action_id: opened.id.clone(),
            effective: true,
            verification: "连续两周回访，无再投诉".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert!(verified.effective);
    assert_eq!(verified.verified_by.unwrap().name, "孙经理");
    let still_open = s
        .supervisor
        .list_corrective_actions(ListCorrectiveActionsRequest {
            property_id: PROPERTY.into(),
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .actions;
    assert!(still_open.is_empty());
}

async fn a_logged_contact_becomes_a_complaint_with_its_number(backend: Backend) {
    let stack = Stack::start(backend).await;
    let mut desk = stack.complaints("front_desk");
    let log = |request_id: &str| LogContactRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        channel: Channel::Phone.into(),
        kind: wuye_tests::proto::customerservice::ContactKind::Inquiry.into(),
        caller: Some(Complainant {
            name: "钱多多".into(),
            phone: String::new(),
        }),
        unit_id: String::new(),
        summary: "询问物业费缴纳方式".into(),
    };
    let first = desk
        .log_contact(log("l1"))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!(
        desk.log_contact(log("l1"))
            .await
            .unwrap()
            .into_inner()
            .entry
            .unwrap(),
        first
    );
    let filed = file(&stack, "after").await;
    let second = desk
        .log_contact(log("l2"))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    // One sequence for the whole log: 1, 2, 3.
    assert_eq!((first.number, filed.number, second.number), (1, 2, 3));
    // The caller of entry 3 was in fact complaining: the complaint keeps number 3.
    let converted = desk
        .create_complaint(CreateComplaintRequest {
            contact_number: 3,
            ..complaint("from-log")
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(converted.number, 3);
    let status = desk
        .create_complaint(CreateComplaintRequest {
            contact_number: 3,
            ..complaint("again")
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&status), "CONTACT_ALREADY_A_COMPLAINT");
    let status = desk
        .create_complaint(CreateComplaintRequest {
            contact_number: 99,
            ..complaint("missing")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let entries = desk
        .list_contact_log(ListContactLogRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let listed: Vec<(i64, String)> = entries
        .iter()
        .map(|e| (e.number, e.complaint_id.clone()))
        .collect();
    assert_eq!(
        listed,
        [(3, converted.id), (2, filed.id), (1, String::new())]
    );
}

async fn the_half_year_analysis_matches_an_independent_count(backend: Backend) {
    const COMPLAINTS: usize = 10_000;
    const CATEGORIES: [&str; 8] = [
        "供电",
        "供水",
        "消防治安",
        "卫生",
        "绿化",
        "公共设施",
        "维修服务",
        "服务态度",
    ];
    const SEVERITIES: [Severity; 3] = [Severity::Minor, Severity::General, Severity::Serious];
    const CHANNELS: [Channel; 5] = [
        Channel::Letter,
        Channel::Phone,
        Channel::Fax,
        Channel::Visit,
        Channel::App,
    ];
    let stack = Stack::start(backend).await;
    let tz = chrono_tz::Asia::Shanghai;
    // A few in the first half of the year, which the second half's analysis leaves out.
    stack.clock.set(
        tz.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let mut units = Vec::new();
    for b in 1..=4 {
        for r in 1..=10 {
            let unit = stack
                .households("cs_clerk")
                .create_unit(CreateUnitRequest {
                    property_id: PROPERTY.into(),
                    request_id: format!("u{b}-{r}"),
                    building: b.to_string(),
                    entrance: String::new(),
                    floor: 1,
                    room: format!("10{r:02}"),
                    area_m2: 90.0,
                    state: 0,
                })
                .await
                .unwrap()
                .into_inner()
                .unit
                .unwrap();
            units.push((b.to_string(), unit.id));
        }
    }
    let desk = stack.complaints("front_desk");
    let request = |i: usize| CreateComplaintRequest {
        request_id: format!("a{i}"),
        category: CATEGORIES[i % 8].into(),
        severity: SEVERITIES[i % 3].into(),
        channel: CHANNELS[i % 5].into(),
        // One in seven about the common parts; the rest spread over 40 units.
        unit_id: if i.is_multiple_of(7) {
            String::new()
        } else {
            units[i % 40].1.clone()
        },
        ..complaint("")
    };
    for i in COMPLAINTS..COMPLAINTS + 50 {
        desk.clone().create_complaint(request(i)).await.unwrap();
    }
    stack.clock.set(
        tz.with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc),
    );
    let created: Vec<i64> = stream::iter(0..COMPLAINTS)
        .map(|i| {
            let mut desk = desk.clone();
            let request = request(i);
            async move {
                desk.create_complaint(request)
                    .await
                    .map(|r| r.into_inner().complaint.unwrap().number)
            }
        })
        .buffer_unordered(8)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(created.len(), COMPLAINTS);
    // Ten of them go all the way: replied on time and closed the first time.
    let mut s = staff(&stack);
    let mut listed = stack
        .complaints("cs_supervisor")
        .list_complaints(wuye_tests::proto::customerservice::ListComplaintsRequest {
            property_id: PROPERTY.into(),
            page_size: 11,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaints;
    let late_reply = listed[10].id.clone();
    listed.truncate(10);
    for c in &listed {
        to_result_told(&mut s, &c.id).await;
        step!(
            s.supervisor,
            record_customer_verdict,
            RecordCustomerVerdictRequest {
                satisfied: true,
                comment: ""
            },
            c.id
        )
        .unwrap();
    }
    // The portfolio's figures of the month count as the analysis does (HQ-1, CMP-3): before
    // the deadline only the ten replies are due.
    let figures = async || {
        CustomerServiceFiguresServiceClient::new(stack.as_role("hq_viewer", PROPERTY))
            .get_complaint_figures(GetComplaintFiguresRequest {
                property_id: PROPERTY.into(),
                month: "2026-09".into(),
                to_month: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .figures
            .unwrap()
    };
    let before = figures().await;
    assert_eq!(before.registered, COMPLAINTS as i64);
    assert_eq!((before.replies_due, before.replies_on_time), (10, 10));
    // Three days later every other complaint's reply is overdue; one more is replied late.
    stack.clock.advance(Duration::days(4));
    to_replied(&mut s, &late_reply).await;

    let analysis = stack
        .complaints("cs_supervisor")
        .get_complaint_analysis(GetComplaintAnalysisRequest {
            property_id: PROPERTY.into(),
            year: 2026,
            half: 2,
        })
        .await
        .unwrap()
        .into_inner()
        .analysis
        .unwrap();

    // The independent count, from what the test sent.
    let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_severity: BTreeMap<String, i64> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, i64> = BTreeMap::new();
    let mut at_building: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut at_unit: BTreeMap<(String, String), i64> = BTreeMap::new();
    for i in 0..COMPLAINTS {
        *by_category.entry(CATEGORIES[i % 8].into()).or_default() += 1;
        *by_severity
            .entry(["minor", "general", "serious"][i % 3].into())
            .or_default() += 1;
        *by_channel
            .entry(["letter", "phone", "fax", "visit", "app"][i % 5].into())
            .or_default() += 1;
        if !i.is_multiple_of(7) {
            let (building, unit) = &units[i % 40];
            *at_building
                .entry((CATEGORIES[i % 8].into(), building.clone()))
                .or_default() += 1;
            *at_unit
                .entry((CATEGORIES[i % 8].into(), unit.clone()))
                .or_default() += 1;
        }
    }
    let counts = |c: &[wuye_tests::proto::customerservice::Count]| -> BTreeMap<String, i64> {
        c.iter().map(|c| (c.key.clone(), c.count)).collect()
    };
    assert_eq!(analysis.total, COMPLAINTS as i64);
    assert_eq!(counts(&analysis.by_category), by_category);
    assert_eq!(counts(&analysis.by_severity), by_severity);
    assert_eq!(counts(&analysis.by_channel), by_channel);
    let by_state = BTreeMap::from([
        ("closed".into(), 10),
        ("communicated".into(), 1),
        ("registered".into(), COMPLAINTS as i64 - 11),
    ]);
    assert_eq!(counts(&analysis.by_state), by_state);
    assert_eq!(
        (analysis.replies_due, analysis.replies_on_time),
        (COMPLAINTS as i64, 10)
    );
    let after = figures().await;
    assert_eq!(after.registered, COMPLAINTS as i64);
    assert_eq!(counts(&after.by_severity), by_severity);
    assert_eq!(counts(&after.by_state), by_state);
    assert_eq!(
        (after.replies_due, after.replies_on_time),
        (COMPLAINTS as i64, 10)
    );
    assert_eq!((analysis.closed, analysis.closed_first_time), (10, 10));
    assert_eq!(analysis.satisfied_first_time_rate, 1.0);
    // Recurring problems (threshold 3): every category at every building and unit it came
    // back to at least three times.
    let expected: BTreeSet<(String, String, String, usize)> = at_building
        .iter()
        .filter(|(_, n)| **n >= 3)
        .map(|((c, b), n)| (c.clone(), b.clone(), String::new(), *n as usize))
        .chain(at_unit.iter().filter(|(_, n)| **n >= 3).map(|((c, u), n)| {
            let building = units.iter().find(|(_, id)| id == u).unwrap().0.clone();
            (c.clone(), building, u.clone(), *n as usize)
        }))
        .collect();
    let named: BTreeSet<(String, String, String, usize)> = analysis
        .recurring
        .iter()
        .map(|r| {
            (
                r.category.clone(),
                r.building.clone(),
                r.unit_id.clone(),
                r.complaint_numbers.len(),
            )
        })
        .collect();
    assert_eq!(named, expected);
    assert!(!named.is_empty());
}
