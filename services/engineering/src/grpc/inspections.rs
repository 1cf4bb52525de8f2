use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use wuye_kit::idempotency::RequestId;
use wuye_kit::{Error, Violations, identity, page};
use wuye_proto::engineering::{self as pb, inspection_service_server::InspectionService};

use super::{
    check_request_id, id_field, inspection_state_from_proto, inspection_state_to_proto,
    kind_from_proto, kind_to_proto, next_token, observed_from_proto, observed_to_proto,
    optional_time, pair_token, token_pair, ts,
};
use crate::{
    Engineering,
    domain::{
        MAX_ID, MAX_TEXT,
        inspections::{Inspection, ItemKind, Value},
    },
    store::{
        equipment::Created,
        inspections::{self as store, Filter, Recorded, Recording},
    },
};

#[tonic::async_trait]
impl InspectionService for Engineering {
    async fn generate_due_inspections(
        &self,
        request: Request<pb::GenerateDueInspectionsRequest>,
    ) -> Result<Response<pb::GenerateDueInspectionsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let day = NaiveDate::parse_from_str(&req.day, "%Y-%m-%d")
            .map_err(|_| Error::invalid("day", "must be a date, YYYY-MM-DD"))?;
        let created = store::generate(
            &self.db,
            &property.id,
            day,
            property.time_zone,
            &property.rules.engineering,
        )
        .await?;
        let now = self.clock.now();
        tracing::info!(property = %property.id, %day, created = created.len(), "inspections scheduled");
        Ok(Response::new(pb::GenerateDueInspectionsResponse {
            created: created.into_iter().map(|i| to_proto(i, now)).collect(),
        }))
    }

    async fn list_inspections(
        &self,
        request: Request<pb::ListInspectionsRequest>,
    ) -> Result<Response<pb::ListInspectionsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let kind = kind_from_proto(req.kind);
        if kind.is_none() && req.kind != 0 {
            v.add("kind", "is not an inspection kind");
        }
        let state = inspection_state_from_proto(req.state);
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
            after: token_pair(&req.page_token)?,
        };
        let now = self.clock.now();
        let list = store::list(&self.db, &property.id, &filter, now, limit).await?;
        let next_page_token = next_token(&list, limit, |i| pair_token(i.due_at, &i.id));
        Ok(Response::new(pb::ListInspectionsResponse {
            inspections: list.into_iter().map(|i| to_proto(i, now)).collect(),
            next_page_token,
        }))
    }

    async fn get_inspection(
        &self,
        request: Request<pb::GetInspectionRequest>,
    ) -> Result<Response<pb::GetInspectionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let i = store::get(&self.db, &property.id, &req.inspection_id).await?;
        Ok(Response::new(pb::GetInspectionResponse {
            inspection: Some(to_proto(i, self.clock.now())),
        }))
    }

    async fn record_inspection(
        &self,
        request: Request<pb::RecordInspectionRequest>,
    ) -> Result<Response<pb::RecordInspectionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "inspection_id", &req.inspection_id);
        v.max_text("findings", &req.findings, MAX_TEXT);
        v.max_text("major_finding", &req.major_finding, MAX_TEXT);
        let mut results = Vec::with_capacity(req.results.len());
        for (n, r) in req.results.into_iter().enumerate() {
            let value = r.value.and_then(|v| v.value).and_then(|value| {
                use pb::item_value::Value as V;
                Some(match value {
                    V::State(s) => Value::State(observed_from_proto(s)?),
                    V::Count(c) => Value::Count(c),
                    V::Reading(x) => Value::Reading(x),
                    V::Yes(b) => Value::Yes(b),
                    V::Text(t) => Value::Text(t),
                })
            });
            match value {
                Some(value) => results.push((r.key, value)),
                None => v.add(&format!("results[{n}].value"), "must be set"),
            }
        }
        v.check()?;
        let now = self.clock.now();
        let recording = Recording {
            results,
            findings: req.findings,
            major_finding: req.major_finding,
        };
        let recorded = store::record(
            &self.db,
            &self.outbox,
            &property.id,
            &req.inspection_id,
            recording,
            caller.actor(),
            now,
        )
        .await?;
        match recorded {
            Recorded::Done(i) => Ok(Response::new(pb::RecordInspectionResponse {
                inspection: Some(to_proto(*i, now)),
            })),
            Recorded::Invalid(problems) => {
                let mut v = Violations::new();
                for (field, why) in problems {
                    v.add(&field, why);
                }
                Err(v.check().expect_err("problems were found").into())
            }
        }
    }

    async fn spot_check_inspection(
        &self,
        request: Request<pb::SpotCheckInspectionRequest>,
    ) -> Result<Response<pb::SpotCheckInspectionResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "inspection_id", &req.inspection_id);
        v.max_text("note", &req.note, MAX_TEXT);
        v.check()?;
        let now = self.clock.now();
        let i = store::spot_check(
            &self.db,
            &property.id,
            &req.inspection_id,
            req.note,
            caller.actor(),
            now,
        )
        .await?;
        Ok(Response::new(pb::SpotCheckInspectionResponse {
            inspection: Some(to_proto(i, now)),
        }))
    }

    async fn report_major_finding(
        &self,
        request: Request<pb::ReportMajorFindingRequest>,
    ) -> Result<Response<pb::ReportMajorFindingResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.max_text("inspection_id", &req.inspection_id, MAX_ID);
        v.max_text("equipment_id", &req.equipment_id, MAX_ID);
        v.required_text("description", &req.description, MAX_TEXT);
        v.check()?;
        let alert_id = match store::report_major_finding(
            &self.db,
            &self.outbox,
            &request_id,
            &property.id,
            &req.inspection_id,
            &req.equipment_id,
            &req.description,
            self.clock.now(),
        )
        .await?
        {
            Created::New(id) | Created::Retry(id) => id,
        };
        tracing::info!(property = %property.id, alert = %alert_id, "major finding reported (INS-2)");
        Ok(Response::new(pb::ReportMajorFindingResponse { alert_id }))
    }
}

fn item_kind_to_proto(k: ItemKind) -> pb::ItemKind {
    match k {
        ItemKind::State => pb::ItemKind::State,
        ItemKind::Count => pb::ItemKind::Count,
        ItemKind::MeterReading => pb::ItemKind::MeterReading,
        ItemKind::YesNo => pb::ItemKind::YesNo,
        ItemKind::Text => pb::ItemKind::Text,
    }
}

fn value_to_proto(v: Value) -> pb::ItemValue {
    use pb::item_value::Value as V;
    pb::ItemValue {
        value: Some(match v {
            Value::State(o) => V::State(observed_to_proto(o).into()),
            Value::Count(c) => V::Count(c),
            Value::Reading(x) => V::Reading(x),
            Value::Yes(b) => V::Yes(b),
            Value::Text(t) => V::Text(t),
        }),
    }
}

fn to_proto(i: Inspection, now: chrono::DateTime<chrono::Utc>) -> pb::Inspection {
    let state = inspection_state_to_proto(i.state(now));
    pb::Inspection {
        id: i.id,
        property_id: i.property_id,
        kind: kind_to_proto(i.kind).into(),
        zone_id: i.zone_id.unwrap_or_default(),
        assignee_user_id: i.assignee_user_id,
        assignee_name: i.assignee_name,
        window_start_time: ts(Some(i.window_start)),
        due_time: ts(Some(i.due_at)),
        state: state.into(),
        items: i
            .items
            .into_iter()
            .map(|item| pb::ChecklistItem {
                key: item.key,
                kind: item_kind_to_proto(item.kind).into(),
                label: item.label,
                equipment_id: item.equipment_id.unwrap_or_default(),
                unit: item.unit,
                min: item.min,
                max: item.max,
                value: item.value.map(value_to_proto),
                failed: item.failed,
            })
            .collect(),
        record_time: ts(i.recorded_at),
        recorded_by: i.recorded_by.map(|a| a.to_proto()),
        findings: i.findings,
        major_finding: i.major_finding,
        work_order_ids: i.work_order_ids,
        spot_checked_by: i.spot_checked_by.map(|a| a.to_proto()),
        spot_check_time: ts(i.spot_checked_at),
        spot_check_note: i.spot_check_note,
    }
}
