use tonic::{Request, Response, Status};
use wuye_kit::{Violations, from_proto, idempotency::RequestId, page};
use wuye_proto::engineering::{self as pb, work_order_service_server::WorkOrderService};

use super::{check_request_id, id_field, optional_time};
use crate::{
    Engineering,
    app::work_orders as app,
    domain::{
        MAX_ID, MAX_NAME, MAX_TEXT,
        work_orders::{
            Completion, Filter, MAX_PARTS, MAX_TEAM, Repair, Requester, Source, State, Urgency,
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
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let repair = repair(req)?;
        let w = app::create(self, &scope, &request_id, repair).await?;
        Ok(Response::new(pb::CreateWorkOrderResponse {
            work_order: Some(w.into()),
        }))
    }

    async fn dispatch_work_order(
        &self,
        request: Request<pb::DispatchWorkOrderRequest>,
    ) -> Result<Response<pb::DispatchWorkOrderResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "work_order_id", &req.work_order_id);
        id_field(&mut v, "assignee_user_id", &req.assignee_user_id);
        v.check()?;
        let assignee = &req.assignee_user_id;
        let w = app::dispatch(self, &scope, &req.work_order_id, assignee).await?;
        Ok(Response::new(pb::DispatchWorkOrderResponse {
            work_order: Some(w.into()),
        }))
    }

    async fn record_work_order_arrival(
        &self,
        request: Request<pb::RecordWorkOrderArrivalRequest>,
    ) -> Result<Response<pb::RecordWorkOrderArrivalResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "work_order_id", &req.work_order_id);
        v.check()?;
        let w = app::arrive(self, &scope, &req.work_order_id).await?;
        Ok(Response::new(pb::RecordWorkOrderArrivalResponse {
            work_order: Some(w.into()),
        }))
    }

    async fn complete_work_order(
        &self,
        request: Request<pb::CompleteWorkOrderRequest>,
    ) -> Result<Response<pb::CompleteWorkOrderResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
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
            parts: req.parts.into_iter().map(Into::into).collect(),
            rating: req.customer_rating,
            signature: req.customer_signature.trim().to_owned(),
        };
        let w = app::complete(self, &scope, &req.work_order_id, completion).await?;
        Ok(Response::new(pb::CompleteWorkOrderResponse {
            work_order: Some(w.into()),
        }))
    }

    async fn get_work_order(
        &self,
        request: Request<pb::GetWorkOrderRequest>,
    ) -> Result<Response<pb::GetWorkOrderResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let w = app::get(self, &scope, &req.work_order_id).await?;
        Ok(Response::new(pb::GetWorkOrderResponse {
            work_order: Some(w.into()),
        }))
    }

    async fn list_work_orders(
        &self,
        request: Request<pb::ListWorkOrdersRequest>,
    ) -> Result<Response<pb::ListWorkOrdersResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        let state = from_proto::<pb::WorkOrderState, State>(req.state);
        if state.is_none() && req.state != 0 {
            v.add("state", "is not a work order state");
        }
        let source = from_proto::<pb::WorkOrderSource, Source>(req.source);
        if source.is_none() && req.source != 0 {
            v.add("source", "is not a work order source");
        }
        v.max_text("inspection_id", &req.inspection_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let filter = Filter {
            state,
            source,
            inspection_id: req.inspection_id,
            before_number: page::after::<i64>(&req.page_token)?,
        };
        let list = app::list(self, &scope, &filter, limit).await?;
        let next_page_token = page::next_token(&list, limit, |w| w.number);
        Ok(Response::new(pb::ListWorkOrdersResponse {
            work_orders: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}

/// A customer's request as the front desk takes it (WO-1), checked as input.
fn repair(req: pb::CreateWorkOrderRequest) -> wuye_kit::Result<Repair> {
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    v.max_text("unit_id", &req.unit_id, MAX_ID);
    v.max_text("equipment_id", &req.equipment_id, MAX_ID);
    if req.unit_id.is_empty() && req.equipment_id.is_empty() {
        v.add("unit_id", "a repair names the unit, the equipment, or both");
    }
    v.required_text("description", &req.description, MAX_TEXT);
    let urgency = from_proto::<pb::Urgency, Urgency>(req.urgency);
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
    Ok(Repair {
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
    })
}

/// A phone number as people write it: digits with `+`, `-`, spaces or brackets.
fn is_plausible_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (3..=20).contains(&digits)
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
}
