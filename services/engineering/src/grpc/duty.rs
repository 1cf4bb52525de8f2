use tonic::{Request, Response, Status};
use wuye_kit::idempotency::RequestId;
use wuye_kit::{Error, Result, Violations, identity, page};
use wuye_proto::engineering::{self as pb, duty_service_server::DutyService};

use super::{
    check_request_id, entry_kind_from_proto, entry_kind_to_proto, id_field, next_token,
    optional_time, pair_token, required_time, shift_state_to_proto, swap_state_to_proto, token_id,
    token_pair, ts,
};
use crate::{
    Engineering,
    domain::{
        MAX_ID, MAX_NAME, MAX_TEXT,
        duty::{
            DutyEntry, Fault, Incident, Shift, ShiftState, ShiftSwap, SwapState,
            shift_times_problem,
        },
    },
    store::{
        self,
        duty::{self as duty_store, ShiftFilter},
        equipment::Created,
    },
};

#[tonic::async_trait]
impl DutyService for Engineering {
    async fn create_shift(
        &self,
        request: Request<pb::CreateShiftRequest>,
    ) -> Result<Response<pb::CreateShiftResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "user_id", &req.user_id);
        v.required_text("user_name", &req.user_name, MAX_NAME);
        let start = required_time(&mut v, "start_time", &req.start_time);
        let end = required_time(&mut v, "end_time", &req.end_time);
        if let (Some(start), Some(end)) = (start, end)
            && let Some(problem) = shift_times_problem(start, end)
        {
            v.add("end_time", problem);
        }
        v.check()?;
        let now = self.clock.now();
        let shift = Shift {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            user_id: req.user_id,
            user_name: req.user_name.trim().to_owned(),
            start: start.expect("checked above"),
            end: end.expect("checked above"),
            state: ShiftState::Scheduled,
            scheduled_by: caller.actor(),
            on_duty_at: None,
            handed_over_at: None,
            left_at: None,
        };
        let shift = match duty_store::create_shift(&self.db, &request_id, shift, now).await? {
            Created::New(s) => s,
            Created::Retry(id) => self.shift(&property.id, &id).await?,
        };
        Ok(Response::new(pb::CreateShiftResponse {
            shift: Some(shift_to_proto(shift)),
        }))
    }

    async fn list_shifts(
        &self,
        request: Request<pb::ListShiftsRequest>,
    ) -> Result<Response<pb::ListShiftsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let start_from = optional_time(&mut v, "start_from", &req.start_from);
        let start_before = optional_time(&mut v, "start_before", &req.start_before);
        v.max_text("user_id", &req.user_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let filter = ShiftFilter {
            start_from,
            start_before,
            user_id: req.user_id,
            after: token_pair(&req.page_token)?,
        };
        let shifts = duty_store::list_shifts(&self.db, &property.id, &filter, limit).await?;
        let next_page_token = next_token(&shifts, limit, |s| pair_token(s.start, &s.id));
        Ok(Response::new(pb::ListShiftsResponse {
            shifts: shifts.into_iter().map(shift_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn request_shift_swap(
        &self,
        request: Request<pb::RequestShiftSwapRequest>,
    ) -> Result<Response<pb::RequestShiftSwapResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "shift_id", &req.shift_id);
        id_field(&mut v, "to_user_id", &req.to_user_id);
        v.required_text("to_user_name", &req.to_user_name, MAX_NAME);
        v.required_text("reason", &req.reason, MAX_TEXT);
        v.check()?;
        let swap = ShiftSwap {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            shift_id: req.shift_id,
            from_user_id: String::new(),
            to_user_id: req.to_user_id,
            to_user_name: req.to_user_name.trim().to_owned(),
            reason: req.reason,
            state: SwapState::Pending,
            requested_by: caller.actor(),
            requested_at: self.clock.now(),
            decided_by: None,
            decided_at: None,
        };
        let foreman = caller.role == "maintenance_foreman";
        let swap = match duty_store::request_swap(&self.db, &request_id, swap, foreman).await? {
            Created::New(s) => s,
            Created::Retry(id) => duty_store::get_swap(&self.db, &property.id, &id)
                .await?
                .ok_or_else(|| Error::not_found("shift swap", id))?,
        };
        Ok(Response::new(pb::RequestShiftSwapResponse {
            swap: Some(swap_to_proto(swap)),
        }))
    }

    async fn decide_shift_swap(
        &self,
        request: Request<pb::DecideShiftSwapRequest>,
    ) -> Result<Response<pb::DecideShiftSwapResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "swap_id", &req.swap_id);
        v.check()?;
        let (swap, shift) = duty_store::decide_swap(
            &self.db,
            &property.id,
            &req.swap_id,
            req.approve,
            caller.actor(),
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::DecideShiftSwapResponse {
            swap: Some(swap_to_proto(swap)),
            shift: Some(shift_to_proto(shift)),
        }))
    }

    async fn open_duty(
        &self,
        request: Request<pb::OpenDutyRequest>,
    ) -> Result<Response<pb::OpenDutyResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "shift_id", &req.shift_id);
        v.check()?;
        let shift = duty_store::open_duty(
            &self.db,
            &property.id,
            &req.shift_id,
            caller.actor(),
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::OpenDutyResponse {
            shift: Some(shift_to_proto(shift)),
        }))
    }

    async fn get_on_duty(
        &self,
        request: Request<pb::GetOnDutyRequest>,
    ) -> Result<Response<pb::GetOnDutyResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let holder = store::duty_holder(&self.db, &property.id).await?;
        let shift = match &holder.shift_id {
            Some(id) => Some(shift_to_proto(self.shift(&property.id, id).await?)),
            None => None,
        };
        Ok(Response::new(pb::GetOnDutyResponse {
            shift,
            since: ts(holder.since),
            handover_id: holder.handover_id.unwrap_or_default(),
        }))
    }

    async fn end_shift(
        &self,
        request: Request<pb::EndShiftRequest>,
    ) -> Result<Response<pb::EndShiftResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "shift_id", &req.shift_id);
        v.check()?;
        let shift = duty_store::end_shift(
            &self.db,
            &property.id,
            &req.shift_id,
            &caller.actor(),
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::EndShiftResponse {
            shift: Some(shift_to_proto(shift)),
        }))
    }

    async fn add_duty_record_entry(
        &self,
        request: Request<pb::AddDutyRecordEntryRequest>,
    ) -> Result<Response<pb::AddDutyRecordEntryResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        let kind = entry_kind_from_proto(req.kind);
        if !kind.is_some_and(|k| k.written_by_hand()) {
            v.add(
                "kind",
                "must be one of event, equipment_state, cleaning, note",
            );
        }
        v.required_text("text", &req.text, MAX_TEXT);
        v.max_text("equipment_id", &req.equipment_id, MAX_ID);
        v.check()?;
        let entry = DutyEntry {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            shift_id: String::new(),
            kind: kind.expect("checked above"),
            text: req.text,
            equipment_id: (!req.equipment_id.is_empty()).then_some(req.equipment_id),
            recorded_at: self.clock.now(),
            recorded_by: caller.actor(),
        };
        let entry = match duty_store::add_entry(&self.db, &request_id, entry).await? {
            Created::New(e) => e,
            Created::Retry(id) => duty_store::get_entry(&self.db, &property.id, &id)
                .await?
                .ok_or_else(|| Error::not_found("duty record entry", id))?,
        };
        Ok(Response::new(pb::AddDutyRecordEntryResponse {
            entry: Some(entry_to_proto(entry)),
        }))
    }

    async fn list_duty_record(
        &self,
        request: Request<pb::ListDutyRecordRequest>,
    ) -> Result<Response<pb::ListDutyRecordResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        v.max_text("shift_id", &req.shift_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let after = token_pair(&req.page_token)?;
        let entries =
            duty_store::list_entries(&self.db, &property.id, &req.shift_id, after, limit).await?;
        let next_page_token = next_token(&entries, limit, |e| pair_token(e.recorded_at, &e.id));
        Ok(Response::new(pb::ListDutyRecordResponse {
            entries: entries.into_iter().map(entry_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn report_incident(
        &self,
        request: Request<pb::ReportIncidentRequest>,
    ) -> Result<Response<pb::ReportIncidentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.required_text("description", &req.description, MAX_TEXT);
        v.check()?;
        let incident = Incident {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            description: req.description,
            open: true,
            shift_id: String::new(),
            reported_at: self.clock.now(),
            reported_by: caller.actor(),
            closed_at: None,
            resolution: String::new(),
        };
        let incident = match duty_store::report_incident(&self.db, &request_id, incident).await? {
            Created::New(i) => i,
            Created::Retry(id) => duty_store::get_incident(&self.db, &property.id, &id).await?,
        };
        Ok(Response::new(pb::ReportIncidentResponse {
            incident: Some(incident_to_proto(incident)),
        }))
    }

    async fn close_incident(
        &self,
        request: Request<pb::CloseIncidentRequest>,
    ) -> Result<Response<pb::CloseIncidentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "incident_id", &req.incident_id);
        v.required_text("resolution", &req.resolution, MAX_TEXT);
        v.check()?;
        let incident = duty_store::close_incident(
            &self.db,
            &property.id,
            &req.incident_id,
            req.resolution,
            caller.actor(),
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::CloseIncidentResponse {
            incident: Some(incident_to_proto(incident)),
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<Response<pb::ListIncidentsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = token_id(&req.page_token)?;
        let list =
            duty_store::list_incidents(&self.db, &property.id, req.open_only, &before, limit)
                .await?;
        let next_page_token = next_token(&list, limit, |i| page::encode(&i.id));
        Ok(Response::new(pb::ListIncidentsResponse {
            incidents: list.into_iter().map(incident_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn report_fault(
        &self,
        request: Request<pb::ReportFaultRequest>,
    ) -> Result<Response<pb::ReportFaultResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "equipment_id", &req.equipment_id);
        v.required_text("description", &req.description, MAX_TEXT);
        v.check()?;
        let fault = Fault {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            equipment_id: req.equipment_id,
            description: req.description,
            needs_both_shifts: req.needs_both_shifts,
            open: true,
            shift_id: String::new(),
            reported_at: self.clock.now(),
            reported_by: caller.actor(),
            cleared_at: None,
            resolution: String::new(),
            stopped_handover_id: None,
        };
        let fault =
            match duty_store::report_fault(&self.db, &self.outbox, &request_id, fault).await? {
                Created::New(f) => f,
                Created::Retry(id) => duty_store::get_fault(&self.db, &property.id, &id).await?,
            };
        Ok(Response::new(pb::ReportFaultResponse {
            fault: Some(fault_to_proto(fault)),
        }))
    }

    async fn clear_fault(
        &self,
        request: Request<pb::ClearFaultRequest>,
    ) -> Result<Response<pb::ClearFaultResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "fault_id", &req.fault_id);
        v.required_text("resolution", &req.resolution, MAX_TEXT);
        v.check()?;
        let fault = duty_store::clear_fault(
            &self.db,
            &property.id,
            &req.fault_id,
            req.resolution,
            caller.actor(),
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::ClearFaultResponse {
            fault: Some(fault_to_proto(fault)),
        }))
    }

    async fn list_faults(
        &self,
        request: Request<pb::ListFaultsRequest>,
    ) -> Result<Response<pb::ListFaultsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = token_id(&req.page_token)?;
        let list =
            duty_store::list_faults(&self.db, &property.id, req.open_only, &before, limit).await?;
        let next_page_token = next_token(&list, limit, |f| page::encode(&f.id));
        Ok(Response::new(pb::ListFaultsResponse {
            faults: list.into_iter().map(fault_to_proto).collect(),
            next_page_token,
        }))
    }
}

impl Engineering {
    async fn shift(&self, property_id: &str, id: &str) -> Result<Shift> {
        duty_store::get_shift(&self.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("shift", id))
    }
}

pub(super) fn shift_to_proto(s: Shift) -> pb::Shift {
    pb::Shift {
        id: s.id,
        property_id: s.property_id,
        user_id: s.user_id,
        user_name: s.user_name,
        start_time: ts(Some(s.start)),
        end_time: ts(Some(s.end)),
        state: shift_state_to_proto(s.state).into(),
        scheduled_by: Some(s.scheduled_by.to_proto()),
        on_duty_time: ts(s.on_duty_at),
        handed_over_time: ts(s.handed_over_at),
        left_time: ts(s.left_at),
    }
}

fn swap_to_proto(s: ShiftSwap) -> pb::ShiftSwap {
    pb::ShiftSwap {
        id: s.id,
        property_id: s.property_id,
        shift_id: s.shift_id,
        from_user_id: s.from_user_id,
        to_user_id: s.to_user_id,
        to_user_name: s.to_user_name,
        reason: s.reason,
        state: swap_state_to_proto(s.state).into(),
        requested_by: Some(s.requested_by.to_proto()),
        request_time: ts(Some(s.requested_at)),
        decided_by: s.decided_by.map(|a| a.to_proto()),
        decide_time: ts(s.decided_at),
    }
}

fn entry_to_proto(e: DutyEntry) -> pb::DutyRecordEntry {
    pb::DutyRecordEntry {
        id: e.id,
        property_id: e.property_id,
        shift_id: e.shift_id,
        kind: entry_kind_to_proto(e.kind).into(),
        text: e.text,
        equipment_id: e.equipment_id.unwrap_or_default(),
        record_time: ts(Some(e.recorded_at)),
        recorded_by: Some(e.recorded_by.to_proto()),
    }
}

fn incident_to_proto(i: Incident) -> pb::Incident {
    pb::Incident {
        id: i.id,
        property_id: i.property_id,
        description: i.description,
        open: i.open,
        shift_id: i.shift_id,
        report_time: ts(Some(i.reported_at)),
        reported_by: Some(i.reported_by.to_proto()),
        close_time: ts(i.closed_at),
        resolution: i.resolution,
    }
}

fn fault_to_proto(f: Fault) -> pb::Fault {
    pb::Fault {
        id: f.id,
        property_id: f.property_id,
        equipment_id: f.equipment_id,
        description: f.description,
        needs_both_shifts: f.needs_both_shifts,
        open: f.open,
        shift_id: f.shift_id,
        report_time: ts(Some(f.reported_at)),
        reported_by: Some(f.reported_by.to_proto()),
        clear_time: ts(f.cleared_at),
        resolution: f.resolution,
        stopped_handover_id: f.stopped_handover_id.unwrap_or_default(),
    }
}
