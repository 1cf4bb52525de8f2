//! The staff a request names come from the directory (issue 18), on SQLite and PostgreSQL:
//! every request that names a staff member takes their staff id, which must be in the
//! directory, not have left, and hold a fitting post at the property; otherwise the request
//! is refused with a field violation of that field and writes nothing. The records carry the
//! directory's name.
//!
//! The requests: engineering's CreateShift.user_id, RequestShiftSwap.to_user_id,
//! CreateZone.technician_user_id, AssignZoneTechnician.technician_user_id and
//! DispatchWorkOrder.assignee_user_id; customer-service's BorrowKeys.borrower.user_id; quality's
//! AssignEscalation.assignee_user_id.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use tonic::{Code, Status};
use tonic_types::StatusExt;
use wuye_kit::{clock::Clock, identity::Caller, time::to_timestamp};
use wuye_tests::{
    Backend, OTHER_PROPERTY, PROPERTY, Stack, both_backends, keys,
    proto::{
        customerservice::{
            CreateUnitRequest, KeySetState, ListKeyLoansRequest, Severity,
            household_service_client::HouseholdServiceClient,
        },
        directory::MarkLeftRequest,
        engineering::{
            self as eng, duty_service_client::DutyServiceClient,
            equipment_service_client::EquipmentServiceClient,
            work_order_service_client::WorkOrderServiceClient,
        },
        quality::{
            AssignEscalationRequest, EscalationReason, EscalationState, GetEscalationRequest,
            ReceiveEscalationRequest,
            escalation_relay_service_client::EscalationRelayServiceClient,
            escalation_service_client::EscalationServiceClient,
        },
    },
};

both_backends!(
    shifts_and_swaps_name_staff_on_duty,
    zones_name_a_technician_of_the_property,
    work_orders_go_to_maintenance_staff,
    key_loans_name_staff_of_the_property,
    escalations_go_to_a_quality_officer,
);

// --- the people a request may not name -----------------------------------------------------

/// The staff ids a request naming someone of post `fitting` must refuse, each with what it
/// is: an id the directory does not know, people of `wrong` posts (role, property; "" for
/// headquarters), and a person of the fitting post who left.
async fn unfit(
    stack: &Stack,
    fitting: (&str, &str),
    wrong: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut out = vec![(
        "a staff id the directory does not know".to_owned(),
        uuid::Uuid::now_v7().to_string(),
    )];
    for &(role, property) in wrong {
        let place = if property.is_empty() {
            "headquarters"
        } else {
            property
        };
        let id = stack.hire("岗位不符", &[(role, property)]).await;
        out.push((format!("a {role} of {place}"), id));
    }
    let left = stack.hire("已离职", &[fitting]).await;
    stack
        .directory_admin()
        .mark_left(MarkLeftRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            person_id: left.clone(),
        })
        .await
        .unwrap();
    out.push((format!("a {} who left", fitting.0), left));
    out
}

/// Sends `attempt` naming each of `people`: every one is refused as bad input with a single
/// field violation, of `field`.
async fn each_refused<F, Fut, T>(people: &[(String, String)], field: &str, mut attempt: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    for (what, id) in people {
        let Err(status) = attempt(id.clone()).await else {
            panic!("naming {what} was accepted");
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let fields: Vec<String> = status
            .get_details_bad_request()
            .expect("field violations")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, [field], "{what}: {status:?}");
    }
}

/// The engineering people and the others the engineering requests may not name.
async fn engineering_unfit(stack: &Stack) -> Vec<(String, String)> {
    let wrong = [("front_desk", PROPERTY), ("technician", OTHER_PROPERTY)];
    unfit(stack, ("technician", PROPERTY), &wrong).await
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(t))
}

// --- engineering -------------------------------------------------------------------------

async fn shifts_and_swaps_name_staff_on_duty(backend: Backend) {
    // rule DUTY-1: the roster's people are the property's maintenance staff on duty.
    let stack = Stack::start(backend).await;
    let zhang = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    let foreman = stack
        .hire("李领班", &[("maintenance_foreman", PROPERTY)])
        .await;
    let mut people = engineering_unfit(&stack).await;
    let manager = stack
        .hire("王经理", &[("engineering_manager", PROPERTY)])
        .await;
    people.push((
        "an engineering_manager (supervises the duty)".into(),
        manager,
    ));
    let mut roster = DutyServiceClient::new(stack.as_role("maintenance_foreman", PROPERTY));
    let start = stack.clock.now() + Duration::hours(1);
    let shift = |user_id: String| eng::CreateShiftRequest {
        property_id: PROPERTY.into(),
        request_id: "s1".into(),
        user_id,
        start_time: ts(start),
        end_time: ts(start + Duration::hours(8)),
    };
    each_refused(&people, "user_id", |id| {
        let mut roster = roster.clone();
        let request = shift(id);
        async move { roster.create_shift(request).await }
    })
    .await;
    let shifts = |roster: &mut DutyServiceClient<_>| {
        let mut roster = roster.clone();
        async move {
            roster
                .list_shifts(eng::ListShiftsRequest {
                    property_id: PROPERTY.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .shifts
        }
    };
    assert!(shifts(&mut roster).await.is_empty(), "nothing written");
    // The same request id is still free: the refusals claimed nothing.
    let made = roster
        .create_shift(shift(zhang.clone()))
        .await
        .unwrap()
        .into_inner()
        .shift
        .unwrap();
    assert_eq!(
        (made.user_id.as_str(), made.user_name.as_str()),
        (zhang.as_str(), "张师傅")
    );

    // The foreman asks to give the shift away: to someone of the roster only.
    let swap = |to_user_id: String| eng::RequestShiftSwapRequest {
        property_id: PROPERTY.into(),
        request_id: "sw1".into(),
        shift_id: made.id.clone(),
        to_user_id,
        reason: "家中有事".into(),
    };
    each_refused(&people, "to_user_id", |id| {
        let mut roster = roster.clone();
        let request = swap(id);
        async move { roster.request_shift_swap(request).await }
    })
    .await;
    let swapped = roster
        .request_shift_swap(swap(foreman.clone()))
        .await
        .unwrap()
        .into_inner()
        .swap
        .unwrap();
    assert_eq!(
        (swapped.to_user_id.as_str(), swapped.to_user_name.as_str()),
        (foreman.as_str(), "李领班"),
        "the first swap of the request id, to the directory's name"
    );
    let listed = shifts(&mut roster).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_id, zhang, "the shift is still Zhang's");
}

async fn zones_name_a_technician_of_the_property(backend: Backend) {
    // rule INS-1: each technician inspects the equipment of their own zone.
    let stack = Stack::start(backend).await;
    let zhang = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    let liu = stack.hire("刘师傅", &[("technician", PROPERTY)]).await;
    let mut people = engineering_unfit(&stack).await;
    let foreman = stack
        .hire("李领班", &[("maintenance_foreman", PROPERTY)])
        .await;
    people.push(("a maintenance_foreman (records no daily)".into(), foreman));
    let mut zones = EquipmentServiceClient::new(stack.as_role("engineering_manager", PROPERTY));
    let zone = |technician_user_id: String| eng::CreateZoneRequest {
        property_id: PROPERTY.into(),
        request_id: "z1".into(),
        name: "地下室泵房".into(),
        technician_user_id,
    };
    each_refused(&people, "technician_user_id", |id| {
        let mut zones = zones.clone();
        let request = zone(id);
        async move { zones.create_zone(request).await }
    })
    .await;
    let listed = |zones: &EquipmentServiceClient<_>| {
        let mut zones = zones.clone();
        async move {
            zones
                .list_zones(eng::ListZonesRequest {
                    property_id: PROPERTY.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .zones
        }
    };
    assert!(listed(&zones).await.is_empty(), "nothing written");
    let made = zones
        .create_zone(zone(zhang.clone()))
        .await
        .unwrap()
        .into_inner()
        .zone
        .unwrap();
    assert_eq!(made.technician_name, "张师傅", "the directory's name");

    each_refused(&people, "technician_user_id", |id| {
        let mut zones = zones.clone();
        let request = eng::AssignZoneTechnicianRequest {
            property_id: PROPERTY.into(),
            zone_id: made.id.clone(),
            technician_user_id: id,
        };
        async move { zones.assign_zone_technician(request).await }
    })
    .await;
    let now = listed(&zones).await;
    assert_eq!(
        (
            now[0].technician_user_id.as_str(),
            now[0].technician_name.as_str()
        ),
        (zhang.as_str(), "张师傅"),
        "the zone is still Zhang's"
    );
    let given = zones
        .assign_zone_technician(eng::AssignZoneTechnicianRequest {
            property_id: PROPERTY.into(),
            zone_id: made.id.clone(),
            technician_user_id: liu.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .zone
        .unwrap();
    assert_eq!(
        (
            given.technician_user_id.as_str(),
            given.technician_name.as_str()
        ),
        (liu.as_str(), "刘师傅")
    );
}

async fn work_orders_go_to_maintenance_staff(backend: Backend) {
    // rule WO-2: the order goes to the person who repairs.
    let stack = Stack::start(backend).await;
    let zhang = stack.hire("张师傅", &[("technician", PROPERTY)]).await;
    let people = engineering_unfit(&stack).await;
    let manager = stack.as_role("engineering_manager", PROPERTY);
    let mut zones = EquipmentServiceClient::new(manager.clone());
    let zone = zones
        .create_zone(eng::CreateZoneRequest {
            property_id: PROPERTY.into(),
            request_id: "z1".into(),
            name: "屋面风机房".into(),
            technician_user_id: zhang.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .zone
        .unwrap();
    let fan = zones
        .create_equipment(eng::CreateEquipmentRequest {
            property_id: PROPERTY.into(),
            request_id: "e1".into(),
            number: "FJ-01".into(),
            name: "排烟风机".into(),
            r#type: "风机".into(),
            zone_id: zone.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .equipment
        .unwrap();
    let mut orders = WorkOrderServiceClient::new(manager);
    let order = orders
        .create_work_order(eng::CreateWorkOrderRequest {
            property_id: PROPERTY.into(),
            request_id: "w1".into(),
            equipment_id: fan.id,
            description: "风机异响".into(),
            urgency: eng::Urgency::Ordinary.into(),
            team: "水电班".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    let mut foreman = WorkOrderServiceClient::new(stack.as_role("maintenance_foreman", PROPERTY));
    let dispatch = |assignee_user_id: String| eng::DispatchWorkOrderRequest {
        property_id: PROPERTY.into(),
        work_order_id: order.id.clone(),
        assignee_user_id,
    };
    each_refused(&people, "assignee_user_id", |id| {
        let mut foreman = foreman.clone();
        let request = dispatch(id);
        async move { foreman.dispatch_work_order(request).await }
    })
    .await;
    let unchanged = orders
        .get_work_order(eng::GetWorkOrderRequest {
            property_id: PROPERTY.into(),
            work_order_id: order.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(unchanged, order, "nothing written");
    let dispatched = foreman
        .dispatch_work_order(dispatch(zhang.clone()))
        .await
        .unwrap()
        .into_inner()
        .work_order
        .unwrap();
    assert_eq!(dispatched.state(), eng::WorkOrderState::Dispatched);
    assert_eq!(
        (
            dispatched.assignee_user_id.as_str(),
            dispatched.assignee_name.as_str()
        ),
        (zhang.as_str(), "张师傅")
    );
}

// --- customer service --------------------------------------------------------------------

async fn key_loans_name_staff_of_the_property(backend: Backend) {
    // rule KEY-6: staff of the property borrow keys; headquarters and other properties do not.
    let stack = Stack::start(backend).await;
    let clerk_id = stack.hire("李管理员", &[("cs_clerk", PROPERTY)]).await;
    let wrong = [("hq_viewer", ""), ("technician", OTHER_PROPERTY)];
    let people = unfit(&stack, ("technician", PROPERTY), &wrong).await;
    let unit = HouseholdServiceClient::new(stack.as_role("cs_clerk", PROPERTY))
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: "unit-1502".into(),
            building: "3".into(),
            entrance: "2".into(),
            floor: 15,
            room: "1502".into(),
            area_m2: 98.5,
            state: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap()
        .id;
    let mut desk = stack.keys("cs_clerk");
    let set = desk
        .entrust_keys(keys::entrust("e1", &unit, "A-01"))
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    let back = stack.clock.now() + Duration::hours(4);
    each_refused(&people, "borrower.user_id", |id| {
        let mut desk = desk.clone();
        let request = keys::borrow("b1", &set.id, 1, back, &id);
        async move { desk.borrow_keys(request).await }
    })
    .await;
    let loans = desk
        .list_key_loans(ListKeyLoansRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .loans;
    assert!(loans.is_empty(), "nothing written");
    let loan = desk
        .borrow_keys(keys::borrow("b1", &set.id, 1, back, &clerk_id))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let borrower = loan.borrower.unwrap();
    assert_eq!(
        (borrower.user_id.as_str(), borrower.name.as_str()),
        (clerk_id.as_str(), "李管理员"),
        "a clerk is staff of the property too; the register has the directory's name"
    );
    let set = desk
        .get_key_set(wuye_tests::proto::customerservice::GetKeySetRequest {
            property_id: PROPERTY.into(),
            key_set_id: set.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .key_set
        .unwrap();
    assert_eq!(set.state(), KeySetState::OnLoan);
}

// --- quality -----------------------------------------------------------------------------

async fn escalations_go_to_a_quality_officer(backend: Backend) {
    // rule ESC-3: the quality department assigns an escalation to one of its officers.
    let stack = Stack::start(backend).await;
    let officer_id = stack
        .hire("品质专员 周敏", &[("quality_officer", "")])
        .await;
    let wrong = [("project_manager", PROPERTY), ("hq_viewer", "")];
    let people = unfit(&stack, ("quality_officer", ""), &wrong).await;
    // Delivered as the gateway's relay delivers it.
    let relay = Caller {
        user_id: "gateway-relay".into(),
        name: "escalation relay".into(),
        role: "service".into(),
        property: Some(PROPERTY.into()),
        ..Default::default()
    };
    let escalation = EscalationRelayServiceClient::new(stack.as_gateway("quality", relay))
        .receive_escalation(ReceiveEscalationRequest {
            property_id: PROPERTY.into(),
            source: "test".into(),
            source_seq: 1,
            complaint_id: uuid::Uuid::now_v7().to_string(),
            complaint_number: 1,
            severity: Severity::Serious.into(),
            category: "维修服务".into(),
            reason: EscalationReason::Serious.into(),
            detail: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    let mut inbox = EscalationServiceClient::new(stack.as_role("quality_officer", PROPERTY));
    let assign = |assignee_user_id: String| AssignEscalationRequest {
        property_id: PROPERTY.into(),
        escalation_id: escalation.id.clone(),
        assignee_user_id,
    };
    each_refused(&people, "assignee_user_id", |id| {
        let mut inbox = inbox.clone();
        let request = assign(id);
        async move { inbox.assign_escalation(request).await }
    })
    .await;
    let unchanged = inbox
        .get_escalation(GetEscalationRequest {
            property_id: PROPERTY.into(),
            escalation_id: escalation.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(
        unchanged.state(),
        EscalationState::Received,
        "nothing written"
    );
    assert!(unchanged.assignee.is_none());
    let assigned = inbox
        .assign_escalation(assign(officer_id.clone()))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(assigned.state(), EscalationState::Assigned);
    let assignee = assigned.assignee.unwrap();
    assert_eq!(
        (
            assignee.user_id.as_str(),
            assignee.name.as_str(),
            assignee.role.as_str()
        ),
        (officer_id.as_str(), "品质专员 周敏", "quality_officer")
    );
}
