//! Personal data shown only to the posts that need it (ARC-11): every answer masks phone
//! numbers (138****8000) unless the policy's [personal] section shows them in full to the
//! caller's role for that method. Checked per role and method through the gateway, on SQLite
//! and PostgreSQL, and at a department called around the policy.

use std::time::Duration;

use wuye_kit::{identity::Caller, personal::mask_phone};
use wuye_tests::{
    Backend, PROPERTY, Stack, both_backends, eventually,
    proto::{
        customerservice::{
            Channel, Complainant, CreateComplaintRequest, CreateUnitRequest, GetComplaintRequest,
            GetHouseholdRequest, ListComplaintsRequest, ListContactsRequest, RecordMoveInRequest,
            RenderComplaintFormRequest, Resident, ResidentRelation, Severity, UnitState,
            complaint_service_client::ComplaintServiceClient,
            household_service_client::HouseholdServiceClient,
        },
        engineering::{
            CreateWorkOrderRequest, GetWorkOrderRequest, ListWorkOrdersRequest, Requester, Urgency,
            work_order_service_client::WorkOrderServiceClient,
        },
    },
};

both_backends!(phone_numbers_are_shown_in_full_only_to_the_posts_that_need_them);

const RESIDENT: &str = "13911112222";
const COMPLAINANT: &str = "13822223333";
const REQUESTER: &str = "13733334444";

/// Whether `seen` is `full` in full, or masked (and not in full).
fn shown(seen: &str, full: &str) -> &'static str {
    if seen == full {
        "full"
    } else {
        assert_eq!(seen, mask_phone(full), "neither in full nor masked");
        "masked"
    }
}

async fn phone_numbers_are_shown_in_full_only_to_the_posts_that_need_them(backend: Backend) {
    let stack = Stack::start(backend).await;
    let households = |role: &str| HouseholdServiceClient::new(stack.as_role(role, PROPERTY));
    let complaints = |role: &str| ComplaintServiceClient::new(stack.as_role(role, PROPERTY));
    let orders = |role: &str| WorkOrderServiceClient::new(stack.as_role(role, PROPERTY));

    let unit = households("cs_clerk")
        .create_unit(CreateUnitRequest {
            property_id: PROPERTY.into(),
            request_id: "u-1".into(),
            building: "1".into(),
            entrance: "1".into(),
            floor: 3,
            room: "0301".into(),
            area_m2: 90.0,
            state: UnitState::Vacant.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    let household = households("cs_clerk")
        .record_move_in(RecordMoveInRequest {
            property_id: PROPERTY.into(),
            request_id: "m-1".into(),
            unit_id: unit.id.clone(),
            residents: vec![Resident {
                name: "周建华".into(),
                relation: ResidentRelation::Owner.into(),
                phone: RESIDENT.into(),
                primary_contact: true,
            }],
            move_in_time: None,
        })
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    let complaint = complaints("front_desk")
        .create_complaint(CreateComplaintRequest {
            property_id: PROPERTY.into(),
            request_id: "c-1".into(),
            channel: Channel::Phone.into(),
            complainant: Some(Complainant {
                name: "李明".into(),
                phone: COMPLAINANT.into(),
            }),
            category: "维修服务".into(),
            description: "楼道灯坏了".into(),
            severity: Severity::General.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    // The desk that took it sees what it typed.
    assert_eq!(complaint.complainant.unwrap().phone, COMPLAINANT);
    // Engineering may learn of the unit a moment after customer service registered it.
    let order = eventually("a work order for the unit", Duration::from_secs(30), || {
        let mut desk = orders("front_desk");
        let unit_id = unit.id.clone();
        async move {
            desk.create_work_order(CreateWorkOrderRequest {
                property_id: PROPERTY.into(),
                request_id: "w-1".into(),
                unit_id,
                description: "厨房水龙头漏水".into(),
                urgency: Urgency::Ordinary.into(),
                team: "水电班".into(),
                requester: Some(Requester {
                    name: "周建华".into(),
                    phone: REQUESTER.into(),
                }),
                ..Default::default()
            })
            .await
            .ok()
        }
    })
    .await
    .into_inner()
    .work_order
    .unwrap();

    // (what, role, as the answer shows it)
    let mut seen = Vec::new();
    for role in [
        "front_desk",
        "cs_supervisor",
        "maintenance_foreman",
        "hq_viewer",
    ] {
        let got = complaints(role)
            .get_complaint(GetComplaintRequest {
                property_id: PROPERTY.into(),
                complaint_id: complaint.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .complaint
            .unwrap();
        let phone = got.complainant.unwrap().phone;
        seen.push(("GetComplaint", role, shown(&phone, COMPLAINANT)));
    }
    for role in ["front_desk", "quality_officer"] {
        let listed = complaints(role)
            .list_complaints(ListComplaintsRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let phone = listed.complaints[0].complainant.clone().unwrap().phone;
        seen.push(("ListComplaints", role, shown(&phone, COMPLAINANT)));
    }
    for role in ["front_desk", "project_manager"] {
        let form = complaints(role)
            .render_complaint_form(RenderComplaintFormRequest {
                property_id: PROPERTY.into(),
                complaint_id: complaint.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .document
            .unwrap();
        let html = String::from_utf8(form.content).unwrap();
        let printed = if html.contains(COMPLAINANT) {
            "full"
        } else {
            assert!(html.contains(&mask_phone(COMPLAINANT)), "{html}");
            "masked"
        };
        seen.push(("RenderComplaintForm", role, printed));
    }
    for role in ["cs_clerk", "engineering_manager"] {
        let got = households(role)
            .get_household(GetHouseholdRequest {
                property_id: PROPERTY.into(),
                household_id: household.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .household
            .unwrap();
        seen.push((
            "GetHousehold",
            role,
            shown(&got.residents[0].phone, RESIDENT),
        ));
    }
    for role in ["cs_clerk", "front_desk"] {
        let contacts = households(role)
            .list_contacts(ListContactsRequest {
                property_id: PROPERTY.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .contacts;
        seen.push(("ListContacts", role, shown(&contacts[0].phone, RESIDENT)));
    }
    for role in ["maintenance_foreman", "technician", "hq_viewer"] {
        let got = orders(role)
            .get_work_order(GetWorkOrderRequest {
                property_id: PROPERTY.into(),
                work_order_id: order.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .work_order
            .unwrap();
        let phone = got.requester.unwrap().phone;
        seen.push(("GetWorkOrder", role, shown(&phone, REQUESTER)));
    }
    let listed = orders("maintenance_foreman")
        .list_work_orders(ListWorkOrdersRequest {
            property_id: PROPERTY.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let phone = listed.work_orders[0].requester.clone().unwrap().phone;
    seen.push((
        "ListWorkOrders",
        "maintenance_foreman",
        shown(&phone, REQUESTER),
    ));

    assert_eq!(
        seen,
        [
            ("GetComplaint", "front_desk", "full"),
            ("GetComplaint", "cs_supervisor", "full"),
            ("GetComplaint", "maintenance_foreman", "masked"),
            ("GetComplaint", "hq_viewer", "masked"),
            ("ListComplaints", "front_desk", "masked"),
            ("ListComplaints", "quality_officer", "masked"),
            ("RenderComplaintForm", "front_desk", "full"),
            ("RenderComplaintForm", "project_manager", "masked"),
            ("GetHousehold", "cs_clerk", "full"),
            ("GetHousehold", "engineering_manager", "masked"),
            ("ListContacts", "cs_clerk", "full"),
            ("ListContacts", "front_desk", "masked"),
            ("GetWorkOrder", "maintenance_foreman", "full"),
            ("GetWorkOrder", "technician", "masked"),
            ("GetWorkOrder", "hq_viewer", "masked"),
            ("ListWorkOrders", "maintenance_foreman", "masked"),
        ]
    );

    // A department decides by the identity alone: one that shows nothing in full (as any
    // identity the policy did not widen) gets the number masked, whatever the role.
    let caller = Caller {
        post_id: String::new(),
        user_id: "u1".into(),
        name: "王芳".into(),
        role: "front_desk".into(),
        property: Some(PROPERTY.into()),
        ..Default::default()
    };
    let direct = ComplaintServiceClient::new(stack.as_gateway("customer-service", caller))
        .get_complaint(GetComplaintRequest {
            property_id: PROPERTY.into(),
            complaint_id: complaint.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(direct.complainant.unwrap().phone, mask_phone(COMPLAINANT));
}
