use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, page};
use wuye_proto::engineering::{self as pb, alert_service_server::AlertService};

use super::id_field;
use crate::{Engineering, app::alerts as app, domain::alerts::AlertKind};

#[tonic::async_trait]
impl AlertService for Engineering {
    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let kind = pb::AlertKind::try_from(req.kind)
            .map_err(|_| Error::invalid("kind", "is not an alert kind"))?;
        let kind = AlertKind::try_from(kind).ok();
        let limit = page::page_size(req.page_size)?;
        let before = page::after::<String>(&req.page_token)?.unwrap_or_default();
        let alerts = app::list(self, &scope, req.open_only, kind, &before, limit).await?;
        let next_page_token = page::next_token(&alerts, limit, |a| a.id.clone());
        Ok(Response::new(pb::ListAlertsResponse {
            alerts: alerts.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::AcknowledgeAlertResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let mut v = Violations::new();
        id_field(&mut v, "alert_id", &req.alert_id);
        v.check()?;
        let alert = app::acknowledge(self, &scope, &req.alert_id).await?;
        Ok(Response::new(pb::AcknowledgeAlertResponse {
            alert: Some(alert.into()),
        }))
    }
}
