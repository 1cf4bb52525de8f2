use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use wuye_kit::{Error, Violations, from_proto, idempotency::RequestId, page};
use wuye_proto::engineering::{self as pb, inspection_service_server::InspectionService};

use super::{check_request_id, id_field, optional_time};
use crate::{
    Engineering,
    app::inspections::{self as app, Finding, Recording},
    domain::{
        MAX_ID, MAX_TEXT,
        inspections::{Filter, Kind, State, Value},
    },
};

#[tonic::async_trait]
impl InspectionService for Engineering {
    async fn generate_due_inspections(
        &self,
        request: Request<pb::GenerateDueInspectionsRequest>,
    ) -> Result<Response<pb::GenerateDueInspectionsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let day = NaiveDate::parse_from_str(&req.day, "%Y-%m-%d")
            .map_err(|_| Error::invalid("day", "must be a date, YYYY-MM-DD"))?;
        let created = app::generate(self, &scope, day).await?;
        Ok(Response::new(pb::GenerateDueInspectionsResponse {
            created: created.into_iter().map(Into::into).collect(),
        }))
    }

    async fn list_inspections(
        &self,
        request: Request<pb::ListInspectionsRequest>,
    ) -> Result<Response<pb::ListInspectionsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        let kind = from_proto::<pb::InspectionKind, Kind>(req.kind);
        if kind.is_none() && req.kind != 0 {
            v.add("kind", "is not an inspection kind");
        }
        let state = from_proto::<pb::InspectionState, State>(req.state);
        if state.is_none() && req.state != 0 {
            v.add("state", "is not an inspection state");
        }
        v.max_text("zone_id", &req.zone_id, MAX_ID);
        let due_from = optional_time(&mut v, "due_from", &req.due_from);
        let due_before = optional_time(&mut v, "due_before", &req.due_before);
        v.check()?;
        let limit = page::page_size(req.page_size)?;
        let filter = Filter {
            kind,
            state,
            zone_id: req.zone_id,
            due_from,
            due_before,
            after: page::after_time_and_id(&req.page_token)?,
        };
        let list = app::list(self, &scope, &filter, limit).await?;
        let next_page_token = page::next_token(&list, limit, |s| {
            page::time_and_id(s.inspection.due_at, &s.inspection.id)
        });
        Ok(Response::new(pb::ListInspectionsResponse {
            inspections: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn get_inspection(
        &self,
        request: Request<pb::GetInspectionRequest>,
    ) -> Result<Response<pb::GetInspectionResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let i = app::get(self, &scope, &req.inspection_id).await?;
        Ok(Response::new(pb::GetInspectionResponse {
            inspection: Some(i.into()),
        }))
    }

    async fn record_inspection(
        &self,
        request: Request<pb::RecordInspectionRequest>,
    ) -> Result<Response<pb::RecordInspectionResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "inspection_id", &req.inspection_id);
        v.max_text("findings", &req.findings, MAX_TEXT);
        v.max_text("major_finding", &req.major_finding, MAX_TEXT);
        let mut results = Vec::with_capacity(req.results.len());
        for (n, r) in req.results.into_iter().enumerate() {
            let value = r.value.and_then(|v| v.value).map(Value::try_from);
            match value {
                Some(Ok(value)) => results.push((r.key, value)),
                _ => v.add(&format!("results[{n}].value"), "must be set"),
            }
        }
        v.check()?;
        let recording = Recording {
            results,
            findings: req.findings,
            major_finding: req.major_finding,
        };
        let i = app::record(self, &scope, &req.inspection_id, recording).await?;
        Ok(Response::new(pb::RecordInspectionResponse {
            inspection: Some(i.into()),
        }))
    }

    async fn spot_check_inspection(
        &self,
        request: Request<pb::SpotCheckInspectionRequest>,
    ) -> Result<Response<pb::SpotCheckInspectionResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "inspection_id", &req.inspection_id);
        v.max_text("note", &req.note, MAX_TEXT);
        v.check()?;
        let i = app::spot_check(self, &scope, &req.inspection_id, req.note).await?;
        Ok(Response::new(pb::SpotCheckInspectionResponse {
            inspection: Some(i.into()),
        }))
    }

    async fn report_major_finding(
        &self,
        request: Request<pb::ReportMajorFindingRequest>,
    ) -> Result<Response<pb::ReportMajorFindingResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.max_text("inspection_id", &req.inspection_id, MAX_ID);
        v.max_text("equipment_id", &req.equipment_id, MAX_ID);
        v.required_text("description", &req.description, MAX_TEXT);
        v.check()?;
        let finding = Finding {
            inspection_id: req.inspection_id,
            equipment_id: req.equipment_id,
            description: req.description,
        };
        let alert_id = app::report_major_finding(self, &scope, &request_id, &finding).await?;
        Ok(Response::new(pb::ReportMajorFindingResponse { alert_id }))
    }
}
