//! Traces and metrics arrive at an OTLP endpoint: a complaint filed through the gateway is
//! one trace across the gateway and customer-service, archives' handling of a move-in links
//! to the move-in's trace, and the RED metrics and the domain gauges carry the right values.
//!
//! Telemetry is global to a process, so this binary holds one test, on a multi-thread
//! runtime (flushing blocks, and the exporter needs the runtime running meanwhile).

mod otlp;

use std::sync::Arc;

use otlp::{ReceivedSpan, Receiver};
use wuye_kit::{
    clock::Clock,
    telemetry::{TelemetryGuard, TelemetrySettings},
};
use wuye_tests::{
    Backend, PROPERTY, Stack,
    proto::customerservice::{
        Channel, Complainant, CreateComplaintRequest, CreateUnitRequest, MarkMajorRequest,
        RecordMoveInRequest, Resident, ResidentRelation, Severity,
    },
};

const CREATE_COMPLAINT: &str = "wuye.customerservice.v1.ComplaintService/CreateComplaint";
const RECORD_MOVE_IN: &str = "wuye.customerservice.v1.HouseholdService/RecordMoveIn";
const MOVE_IN_SPAN: &str = "apply archives.household-files";

async fn flush(guard: &Arc<TelemetryGuard>) {
    let guard = guard.clone();
    tokio::task::spawn_blocking(move || guard.flush())
        .await
        .unwrap();
}

/// Archives' spans of applying a move-in.
fn moved_in(receiver: &Receiver) -> Vec<ReceivedSpan> {
    receiver
        .spans_named(MOVE_IN_SPAN)
        .into_iter()
        .filter(|s| s.attribute("wuye.event.kind").as_deref() == Some("household_moved_in"))
        .collect()
}

/// The span of `method` served by `component` ("gateway", "customer-service").
fn served<'a>(spans: &'a [ReceivedSpan], component: &str) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.attribute("wuye.component").as_deref() == Some(component))
        .collect();
    assert_eq!(found.len(), 1, "one span by {component}: {spans:#?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_complaint_is_one_trace_and_is_measured() {
    let receiver = Receiver::start().await;
    let settings = TelemetrySettings {
        otlp_endpoint: receiver.endpoint(),
        log_format: "json".into(),
        log_filter: "warn".into(),
        metrics_interval_ms: 200,
    };
    let guard = Arc::new(wuye_kit::telemetry::init("wuye-tests", &settings).unwrap());
    let stack = Stack::start(Backend::Sqlite).await;

    let unit_id = stack
        .households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: "unit-7-0301".into(),
            building: "7".into(),
            entrance: "1".into(),
            floor: 3,
            room: "0301".into(),
            area_m2: 90.0,
            state: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id;
    let complaint = stack
        .complaints("front_desk")
        .create_complaint(CreateComplaintRequest {
            property_id: PROPERTY.into(),
            request_id: "telemetry-1".into(),
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "李明".into(),
                phone: "138 0013 8000".into(),
            }),
            unit_id: unit_id.clone(),
            category: "维修服务".into(),
            description: "楼道灯坏了一周".into(),
            severity: Severity::General.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    stack
        .households("cs_clerk")
        .record_move_in(RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: "telemetry-move-in".into(),
            unit_id: unit_id.clone(),
            residents: vec![Resident {
                name: "王建国".into(),
                relation: ResidentRelation::Owner.into(),
                phone: "139 1111 2222".into(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .unwrap();

    // Marked major (ESC-1), the complaint reaches the quality department through the relay:
    // one escalation waiting there.
    let _relay = stack.relay_gateway(|_| {}).await;
    stack
        .complaints("project_manager")
        .mark_major(MarkMajorRequest {
            property_id: PROPERTY.into(),
            complaint_id: complaint.id,
            reason: "涉及开发商遗留问题".into(),
        })
        .await
        .unwrap();
    // A key loan past its expected return and the day of grace (KEY-8): one loan overdue.
    let mut keys = stack.keys("cs_clerk");
    let set = keys
        .entrust_keys(wuye_tests::keys::entrust(
            "telemetry-keys",
            &unit_id,
            "T-01",
        ))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let back = stack.clock.now() + chrono::Duration::hours(1);
    let tech = wuye_tests::keys::hire_borrower(&stack).await;
    let loan = wuye_tests::keys::borrow("telemetry-loan", &set.id, 1, back, &tech);
    keys.borrow_keys(loan).await.unwrap();
    stack.clock.advance(chrono::Duration::hours(26));

    // Archives applies the move-in in the background; everything is exported in batches.
    receiver
        .wait_for(
            "spans and metrics",
            async || flush(&guard).await,
            |r| {
                r.spans_named(CREATE_COMPLAINT).len() == 2
                    && r.spans_named(RECORD_MOVE_IN).len() == 2
                    && !r.spans_named("db").is_empty()
                    && !moved_in(r).is_empty()
                    && r.latest(
                        "wuye.complaints.open",
                        &[("property", PROPERTY), ("severity", "general")],
                    ) == Some(1.0)
                    && r.latest("wuye.keys.loans_overdue", &[("property", PROPERTY)]) == Some(1.0)
                    && r.latest(
                        "wuye.escalations.waiting",
                        &[("property", PROPERTY), ("state", "received")],
                    ) == Some(1.0)
            },
        )
        .await;

    // One trace: the gateway's span is the parent of customer-service's.
    let spans = receiver.spans_named(CREATE_COMPLAINT);
    let gateway = served(&spans, "gateway");
    let service = served(&spans, "customer-service");
    assert_eq!(gateway.trace_id(), service.trace_id());
    assert_eq!(service.parent_span_id(), gateway.span_id());
    for span in [gateway, service] {
        assert_eq!(span.attribute("wuye.property").as_deref(), Some(PROPERTY));
        assert_eq!(
            span.attribute("wuye.caller.role").as_deref(),
            Some("front_desk")
        );
        assert_eq!(span.attribute("rpc.grpc.status_code").as_deref(), Some("0"));
    }

    // Its database calls are child spans of customer-service's span, labelled by operation
    // and table, never by values.
    let db = receiver.db_spans_under(service, "sqlite");
    let labels: Vec<(String, String)> = db
        .iter()
        .map(|s| {
            (
                s.attribute("db.operation").unwrap_or_default(),
                s.attribute("db.collection.name").unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        labels.contains(&("INSERT".into(), "complaints".into())),
        "{labels:?}"
    );

    // Archives' handling of the move-in is a trace of its own, linked to the move-in's.
    let spans = receiver.spans_named(RECORD_MOVE_IN);
    let move_in = served(&spans, "customer-service");
    let applied = moved_in(&receiver);
    assert_eq!(applied.len(), 1, "{applied:#?}");
    let applied = &applied[0];
    let links: Vec<String> = applied
        .span
        .links
        .iter()
        .map(|l| otlp::hex(&l.trace_id))
        .collect();
    assert_eq!(links, [move_in.trace_id()]);
    assert_ne!(applied.trace_id(), move_in.trace_id());

    // No personal data in any span: names, phone numbers, descriptions.
    for span in receiver.spans() {
        let text = format!("{:?} {:?}", span.span.attributes, span.span.events);
        for personal in ["李明", "138 0013 8000", "楼道灯", "王建国", "139 1111 2222"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    // RED: one call each at the gateway and at customer-service, none failed.
    for component in ["gateway", "customer-service"] {
        let call = [
            ("service", component),
            ("method", CREATE_COMPLAINT),
            ("code", "OK"),
        ];
        assert_eq!(
            receiver.latest("wuye.rpc.server.requests", &call),
            Some(1.0)
        );
        assert_eq!(
            receiver.latest("wuye.rpc.server.duration", &call),
            Some(1.0)
        );
        assert_eq!(
            receiver.latest("wuye.rpc.server.errors", &[("service", component)]),
            None
        );
    }
    assert_eq!(
        receiver.latest(
            "wuye.rpc.server.requests",
            &[("service", "gateway"), ("method", CREATE_COMPLAINT)]
        ),
        Some(1.0)
    );
    // Domain gauges report zeros too, so that alerts resolve.
    assert_eq!(
        receiver.latest(
            "wuye.complaints.open",
            &[("property", PROPERTY), ("severity", "serious")]
        ),
        Some(0.0)
    );
    // Keys overdue (customer-service) and escalations waiting (quality): the loan and the
    // escalation above, and zero in every other state.
    assert_eq!(
        receiver.latest("wuye.keys.loans_overdue", &[("property", PROPERTY)]),
        Some(1.0)
    );
    for state in ["assigned", "information_requested", "decided"] {
        assert_eq!(
            receiver.latest(
                "wuye.escalations.waiting",
                &[("property", PROPERTY), ("state", state)]
            ),
            Some(0.0),
            "{state}"
        );
    }
    // Archives applied the complaint's and the move-in's events (it acts on the move-in).
    let applied = receiver.latest(
        "wuye.events.applied",
        &[("consumer", "archives.household-files")],
    );
    assert!(applied >= Some(1.0), "{applied:?}");
    // Everything received is in the catalog.
    let catalog: Vec<&str> = wuye_kit::metrics::CATALOG.iter().map(|m| m.name).collect();
    for name in receiver.metric_names() {
        assert!(
            catalog.contains(&name.as_str()),
            "{name} is not in the catalog"
        );
    }
    drop(stack);
}
