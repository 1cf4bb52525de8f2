use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, identity, page};
use wuye_proto::engineering::{self as pb, alert_service_server::AlertService};

use super::{id_field, next_token, token_id, ts};
use crate::{
    Engineering,
    domain::alerts::{Alert, AlertKind},
    store::alerts as store,
};

#[tonic::async_trait]
impl AlertService for Engineering {
    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let kind = match pb::AlertKind::try_from(req.kind) {
            Ok(pb::AlertKind::Unspecified) => None,
            Ok(pb::AlertKind::HandoverRefused) => Some(AlertKind::HandoverRefused),
            Ok(pb::AlertKind::MajorFinding) => Some(AlertKind::MajorFinding),
            Err(_) => return Err(Error::invalid("kind", "is not an alert kind").into()),
        };
        let limit = page::page_size(req.page_size)?;
        let before = token_id(&req.page_token)?;
        let alerts =
            store::list(&self.db, &property.id, req.open_only, kind, &before, limit).await?;
        let next_page_token = next_token(&alerts, limit, |a| page::encode(&a.id));
        Ok(Response::new(pb::ListAlertsResponse {
            alerts: alerts.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::AcknowledgeAlertResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        id_field(&mut v, "alert_id", &req.alert_id);
        v.check()?;
        let alert = store::acknowledge(
            &self.db,
            &property.id,
            &req.alert_id,
            caller.actor(),
            self.clock.now(),
        )
        .await?;
        Ok(Response::new(pb::AcknowledgeAlertResponse {
            alert: Some(to_proto(alert)),
        }))
    }
}

fn to_proto(a: Alert) -> pb::Alert {
    pb::Alert {
        id: a.id,
        property_id: a.property_id,
        kind: match a.kind {
            AlertKind::HandoverRefused => pb::AlertKind::HandoverRefused,
            AlertKind::MajorFinding => pb::AlertKind::MajorFinding,
        }
        .into(),
        subject_id: a.subject_id,
        message: a.message,
        reasons: a.reasons,
        raise_time: ts(Some(a.raised_at)),
        acknowledged: a.acknowledged_by.is_some(),
        acknowledged_by: a.acknowledged_by.map(|x| x.to_proto()),
        acknowledge_time: ts(a.acknowledged_at),
    }
}
