use tonic::{Request, Response, Status};
use wuye_kit::{Result, Violations, from_proto, idempotency::RequestId, page};
use wuye_proto::engineering::{self as pb, duty_service_server::DutyService};

use super::{check_request_id, id_field, optional_time, required_time};
use crate::{
    Engineering,
    app::duty::{self as app, NewFault, NewShift, NewSwap, ShiftFilter},
    domain::{
        MAX_ID, MAX_TEXT,
        duty::{EntryKind, shift_times_problem},
    },
};

#[tonic::async_trait]
impl DutyService for Engineering {
    async fn create_shift(
        &self,
        request: Request<pb::CreateShiftRequest>,
    ) -> Result<Response<pb::CreateShiftResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "user_id", &req.user_id);
        let start = required_time(&mut v, "start_time", &req.start_time);
        let end = required_time(&mut v, "end_time", &req.end_time);
        if let (Some(start), Some(end)) = (start, end)
            && let Some(problem) = shift_times_problem(start, end)
        {
            v.add("end_time", problem);
        }
        v.check()?;
        let new = NewShift {
            user_id: req.user_id,
            start: start.expect("checked above"),
            end: end.expect("checked above"),
        };
        let shift = app::create_shift(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::CreateShiftResponse {
            shift: Some(shift.into()),
        }))
    }

    async fn list_shifts(
        &self,
        request: Request<pb::ListShiftsRequest>,
    ) -> Result<Response<pb::ListShiftsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
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
            after: page::after_time_and_id(&req.page_token)?,
        };
        let shifts = app::list_shifts(self, &scope, &filter, limit).await?;
        let next_page_token =
            page::next_token(&shifts, limit, |s| page::time_and_id(s.start, &s.id));
        Ok(Response::new(pb::ListShiftsResponse {
            shifts: shifts.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn request_shift_swap(
        &self,
        request: Request<pb::RequestShiftSwapRequest>,
    ) -> Result<Response<pb::RequestShiftSwapResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "shift_id", &req.shift_id);
        id_field(&mut v, "to_user_id", &req.to_user_id);
        v.required_text("reason", &req.reason, MAX_TEXT);
        v.check()?;
        let new = NewSwap {
            shift_id: req.shift_id,
            to_user_id: req.to_user_id,
            reason: req.reason,
        };
        let swap = app::request_swap(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::RequestShiftSwapResponse {
            swap: Some(swap.into()),
        }))
    }

    async fn decide_shift_swap(
        &self,
        request: Request<pb::DecideShiftSwapRequest>,
    ) -> Result<Response<pb::DecideShiftSwapResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "swap_id", &req.swap_id);
        v.check()?;
        let (swap, shift) = app::decide_swap(self, &scope, &req.swap_id, req.approve).await?;
        Ok(Response::new(pb::DecideShiftSwapResponse {
            swap: Some(swap.into()),
            shift: Some(shift.into()),
        }))
    }

    async fn open_duty(
        &self,
        request: Request<pb::OpenDutyRequest>,
    ) -> Result<Response<pb::OpenDutyResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "shift_id", &req.shift_id);
        v.check()?;
        let shift = app::open_duty(self, &scope, &req.shift_id).await?;
        Ok(Response::new(pb::OpenDutyResponse {
            shift: Some(shift.into()),
        }))
    }

    async fn get_on_duty(
        &self,
        request: Request<pb::GetOnDutyRequest>,
    ) -> Result<Response<pb::GetOnDutyResponse>, Status> {
        let (scope, _req) = self.properties.scope(request)?;
        let (shift, holder) = app::on_duty(self, &scope).await?;
        Ok(Response::new(pb::GetOnDutyResponse {
            shift: shift.map(Into::into),
            since: holder.since.map(wuye_kit::time::to_timestamp),
            handover_id: holder.handover_id.unwrap_or_default(),
        }))
    }

    async fn end_shift(
        &self,
        request: Request<pb::EndShiftRequest>,
    ) -> Result<Response<pb::EndShiftResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "shift_id", &req.shift_id);
        v.check()?;
        let shift = app::end_shift(self, &scope, &req.shift_id).await?;
        Ok(Response::new(pb::EndShiftResponse {
            shift: Some(shift.into()),
        }))
    }

    async fn add_duty_record_entry(
        &self,
        request: Request<pb::AddDutyRecordEntryRequest>,
    ) -> Result<Response<pb::AddDutyRecordEntryResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        let kind = from_proto::<pb::DutyEntryKind, EntryKind>(req.kind);
        if !kind.is_some_and(|k| k.written_by_hand()) {
            v.add(
                "kind",
                "must be one of event, equipment_state, cleaning, note",
            );
        }
        v.required_text("text", &req.text, MAX_TEXT);
        v.max_text("equipment_id", &req.equipment_id, MAX_ID);
        v.check()?;
        let kind = kind.expect("checked above");
        let equipment_id = (!req.equipment_id.is_empty()).then_some(req.equipment_id);
        let entry = app::add_entry(self, &scope, &request_id, kind, req.text, equipment_id).await?;
        Ok(Response::new(pb::AddDutyRecordEntryResponse {
            entry: Some(entry.into()),
        }))
    }

    async fn list_duty_record(
        &self,
        request: Request<pb::ListDutyRecordRequest>,
    ) -> Result<Response<pb::ListDutyRecordResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        v.max_text("shift_id", &req.shift_id, MAX_ID);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let after = page::after_time_and_id(&req.page_token)?;
        let entries = app::list_entries(self, &scope, &req.shift_id, after, limit).await?;
        let next_page_token =
            page::next_token(&entries, limit, |e| page::time_and_id(e.recorded_at, &e.id));
        Ok(Response::new(pb::ListDutyRecordResponse {
            entries: entries.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn report_incident(
        &self,
        request: Request<pb::ReportIncidentRequest>,
    ) -> Result<Response<pb::ReportIncidentResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.required_text("description", &req.description, MAX_TEXT);
        v.check()?;
        let incident = app::report_incident(self, &scope, &request_id, req.description).await?;
        Ok(Response::new(pb::ReportIncidentResponse {
            incident: Some(incident.into()),
        }))
    }

    async fn close_incident(
        &self,
        request: Request<pb::CloseIncidentRequest>,
    ) -> Result<Response<pb::CloseIncidentResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "incident_id", &req.incident_id);
        v.required_text("resolution", &req.resolution, MAX_TEXT);
        v.check()?;
        let incident = app::close_incident(self, &scope, &req.incident_id, req.resolution).await?;
        Ok(Response::new(pb::CloseIncidentResponse {
            incident: Some(incident.into()),
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<Response<pb::ListIncidentsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let list = app::list_incidents(self, &scope, req.open_only, &before, limit).await?;
        let next_page_token = page::next_token(&list, limit, |i| i.id.clone());
        Ok(Response::new(pb::ListIncidentsResponse {
            incidents: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn report_fault(
        &self,
        request: Request<pb::ReportFaultRequest>,
    ) -> Result<Response<pb::ReportFaultResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "equipment_id", &req.equipment_id);
        v.required_text("description", &req.description, MAX_TEXT);
        v.check()?;
        let new = NewFault {
            equipment_id: req.equipment_id,
            description: req.description,
            needs_both_shifts: req.needs_both_shifts,
        };
        let fault = app::report_fault(self, &scope, &request_id, new).await?;
        Ok(Response::new(pb::ReportFaultResponse {
            fault: Some(fault.into()),
        }))
    }

    async fn clear_fault(
        &self,
        request: Request<pb::ClearFaultRequest>,
    ) -> Result<Response<pb::ClearFaultResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "fault_id", &req.fault_id);
        v.required_text("resolution", &req.resolution, MAX_TEXT);
        v.check()?;
        let fault = app::clear_fault(self, &scope, &req.fault_id, req.resolution).await?;
        Ok(Response::new(pb::ClearFaultResponse {
            fault: Some(fault.into()),
        }))
    }

    async fn list_faults(
        &self,
        request: Request<pb::ListFaultsRequest>,
    ) -> Result<Response<pb::ListFaultsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let list = app::list_faults(self, &scope, req.open_only, &before, limit).await?;
        let next_page_token = page::next_token(&list, limit, |f| f.id.clone());
        Ok(Response::new(pb::ListFaultsResponse {
            faults: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }
}
