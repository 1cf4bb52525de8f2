use tonic::{Request, Response, Status};
use wuye_kit::idempotency::RequestId;
use wuye_kit::{Violations, identity, page};
use wuye_proto::engineering::{self as pb, work_order_service_server::WorkOrderService};

use super::{
    check_request_id, id_field, next_token, optional_time, source_from_proto, ts,
    urgency_from_proto, work_order_state_from_proto, work_order_state_to_proto,
};
use crate::{
    Engineering,
    domain::{
        MAX_ID, MAX_NAME, MAX_TEXT,
        work_orders::{MAX_PARTS, MAX_TEAM, Part, Requester, Source, State, WorkOrder},
    },
    store::{
        equipment::Created,
        work_orders::{
            self as store, Completed, Completion, Filter, source_to_proto, urgency_to_proto,
        },
    },
};

const MAX_PHONE: usize = 30;

#[tonic::async_trait]
impl WorkOrderService for Engineering {
    async fn create_work_order(
        &self,
        request: Request<pb::CreateWorkOrderRequest>,
    ) -> Result<Response<pb::CreateWorkOrderResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.max_text("unit_id", &req.unit_id, MAX_ID);
        v.max_text("equipment_id", &req.equipment_id, MAX_ID);
        if req.unit_id.is_empty() && req.equipment_id.is_empty() {
            v.add("unit_id", "a repair names the unit, the equipment, or both");
        }
        v.required_text("description", &req.description, MAX_TEXT);
        let urgency = urgency_from_proto(req.urgency);
        if urgency.is_none() {
            v.add("urgency", "must be emergency or ordinary");
        }
        v.required_text("team", &req.team, MAX_TEAM);
        let requester = req.requester.unwrap_or_default();
        v.max_text("requester.name", &requester.name, MAX_NAME);
        v.max_text("requester.phone", &requester.phone, MAX_PHONE);
        if !requester.phone.is_empty() && !is_plausible_phone(&requester.phone) {
            v.add("requester.phone", "is not a phone number");
        }
        if req.contact_number < 0 {
            v.add("contact_number", "must not be negative");
        }
        let booked_at = optional_time(&mut v, "booked_time", &req.booked_time);
        v.check()?;
        let w = WorkOrder {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            number: 0,
            source: Source::CustomerRequest,
            unit_id: (!req.unit_id.is_empty()).then_some(req.unit_id),
            equipment_id: (!req.equipment_id.is_empty()).then_some(req.equipment_id),
            inspection_id: None,
            description: req.description,
            urgency: urgency.expect("checked above"),
            team: req.team.trim().to_owned(),
            requester: Requester {
                name: requester.name.trim().to_owned(),
                phone: requester.phone.trim().to_owned(),
            },
            contact_number: (req.contact_number > 0).then_some(req.contact_number),
            booked_at,
            state: State::Open,
            opened_at: self.clock.now(),
            opened_by: caller.actor(),
            assignee_user_id: String::new(),
            assignee_name: String::new(),
            dispatched_at: None,
            arrival_due_at: None,
            arrived_at: None,
            arrived_late: false,
            work_done: String::new(),
            parts: Vec::new(),
            completed_at: None,
            customer_rating: 0,
            customer_signature: String::new(),
            completed_by: None,
        };
        let w = match store::open(&self.db, &self.outbox, &request_id, w).await? {
            Created::New(w) => {
                tracing::info!(property = %w.property_id, number = w.number, "work order opened");
                w
            }
            Created::Retry(id) => store::get(&self.db, &property.id, &id).await?,
        };
        Ok(Response::new(pb::CreateWorkOrderResponse {
            work_order: Some(to_proto(w)),
        }))
    }

    async fn dispatch_work_order(
        &self,
        request: Request<pb::DispatchWorkOrderRequest>,
    ) -> Result<Response<pb::DispatchWorkOrderResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "work_order_id", &req.work_order_id);
        id_field(&mut v, "assignee_user_id", &req.assignee_user_id);
        v.required_text("assignee_name", &req.assignee_name, MAX_NAME);
        v.check()?;
        let w = store::dispatch(
            &self.db,
            &property.id,
            &req.work_order_id,
            (req.assignee_user_id, req.assignee_name.trim().to_owned()),
            &property.rules.engineering,
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::DispatchWorkOrderResponse {
            work_order: Some(to_proto(w)),
        }))
    }

    async fn record_work_order_arrival(
        &self,
        request: Request<pb::RecordWorkOrderArrivalRequest>,
    ) -> Result<Response<pb::RecordWorkOrderArrivalResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "work_order_id", &req.work_order_id);
        v.check()?;
        let w = store::arrive(&self.db, &property.id, &req.work_order_id, self.clock.now()).await?;
        Ok(Response::new(pb::RecordWorkOrderArrivalResponse {
            work_order: Some(to_proto(w)),
        }))
    }

    async fn complete_work_order(
        &self,
        request: Request<pb::CompleteWorkOrderRequest>,
    ) -> Result<Response<pb::CompleteWorkOrderResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "work_order_id", &req.work_order_id);
        v.required_text("work_done", &req.work_done, MAX_TEXT);
        if req.parts.len() > MAX_PARTS {
            v.add("parts", format!("at most {MAX_PARTS}"));
        }
        for (i, p) in req.parts.iter().enumerate() {
            v.required_text(&format!("parts[{i}].name"), &p.name, MAX_NAME);
            v.max_text(&format!("parts[{i}].unit"), &p.unit, 20);
            if !(p.quantity.is_finite() && p.quantity > 0.0) {
                v.add(&format!("parts[{i}].quantity"), "must be a positive number");
            }
        }
        if !(0..=5).contains(&req.customer_rating) {
            v.add(
                "customer_rating",
                "must be 1 to 5, or 0 when there is no customer",
            );
        }
        v.max_text("customer_signature", &req.customer_signature, MAX_NAME);
        v.check()?;
        let completion = Completion {
            work_done: req.work_done,
            parts: req
                .parts
                .into_iter()
                .map(|p| Part {
                    name: p.name.trim().to_owned(),
                    quantity: p.quantity,
                    unit: p.unit.trim().to_owned(),
                })
                .collect(),
            rating: req.customer_rating,
            signature: req.customer_signature.trim().to_owned(),
        };
        let done = store::complete(
            &self.db,
            &self.outbox,
            &property.id,
            &req.work_order_id,
            completion,
            caller.actor(),
            self.clock.now(),
        )
        .await?;
        match done {
            Completed::Done(w) => Ok(Response::new(pb::CompleteWorkOrderResponse {
                work_order: Some(to_proto(*w)),
            })),
            Completed::MissingCustomer(missing) => {
                let mut v = Violations::new();
                for (field, why) in missing {
                    v.add(field, why);
                }
                Err(v.check().expect_err("violations were added").into())
            }
        }
    }

    async fn get_work_order(
        &self,
        request: Request<pb::GetWorkOrderRequest>,
    ) -> Result<Response<pb::GetWorkOrderResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let w = store::get(&self.db, &property.id, &req.work_order_id).await?;
        Ok(Response::new(pb::GetWorkOrderResponse {
            work_order: Some(to_proto(w)),
        }))
    }

    async fn list_work_orders(
        &self,
        request: Request<pb::ListWorkOrdersRequest>,
    ) -> Result<Response<pb::ListWorkOrdersResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let state = work_order_state_from_proto(req.state);
        if state.is_none() && req.state != 0 {
            v.add("state", "is not a work order state");
        }
        let source = source_from_proto(req.source);
        if source.is_none() && req.source != 0 {
            v.add("source", "is not a work order source");
        }
        v.max_text("inspection_id", &req.inspection_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let before_number = page::decode(&req.page_token)?
            .map(|key| key.parse::<i64>())
            .transpose()
            .map_err(|_| page::bad_token())?;
        let filter = Filter {
            state,
            source,
            inspection_id: req.inspection_id,
            before_number,
        };
        let list = store::list(&self.db, &property.id, &filter, limit).await?;
        let next_page_token = next_token(&list, limit, |w| page::encode(&w.number.to_string()));
        Ok(Response::new(pb::ListWorkOrdersResponse {
            work_orders: list.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

/// A phone number as people write it: digits with `+`, `-`, spaces or brackets.
fn is_plausible_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (3..=20).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
}

fn to_proto(w: WorkOrder) -> pb::WorkOrder {
    pb::WorkOrder {
        id: w.id,
        property_id: w.property_id,
        number: w.number,
        source: source_to_proto(w.source).into(),
        unit_id: w.unit_id.unwrap_or_default(),
        equipment_id: w.equipment_id.unwrap_or_default(),
        inspection_id: w.inspection_id.unwrap_or_default(),
        description: w.description,
        urgency: urgency_to_proto(w.urgency).into(),
        team: w.team,
        requester: Some(pb::Requester {
            name: w.requester.name,
            phone: w.requester.phone,
        }),
        contact_number: w.contact_number.unwrap_or_default(),
        booked_time: ts(w.booked_at),
        state: work_order_state_to_proto(w.state).into(),
        open_time: ts(Some(w.opened_at)),
        opened_by: Some(w.opened_by.to_proto()),
        assignee_user_id: w.assignee_user_id,
        assignee_name: w.assignee_name,
        dispatch_time: ts(w.dispatched_at),
        arrival_due_time: ts(w.arrival_due_at),
        arrive_time: ts(w.arrived_at),
        arrived_late: w.arrived_late,
        work_done: w.work_done,
        parts: w
            .parts
            .into_iter()
            .map(|p| pb::Part {
                name: p.name,
                quantity: p.quantity,
                unit: p.unit,
            })
            .collect(),
        complete_time: ts(w.completed_at),
        customer_rating: w.customer_rating,
        customer_signature: w.customer_signature,
        completed_by: w.completed_by.map(|a| a.to_proto()),
    }
}
