use tonic::{Request, Response, Status};
use wuye_kit::Error;
use wuye_proto::engineering::{self as pb, figures_service_server::FiguresService};

use crate::{Engineering, app::figures as app, domain::figures::parse_month};

#[tonic::async_trait]
impl FiguresService for Engineering {
    async fn get_engineering_figures(
        &self,
        request: Request<pb::GetEngineeringFiguresRequest>,
    ) -> Result<Response<pb::GetEngineeringFiguresResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let first = parse_month(&req.month)
            .ok_or_else(|| Error::invalid("month", "must be a month, YYYY-MM"))?;
        let figures = app::month(self, &scope, req.month, first).await?;
        Ok(Response::new(pb::GetEngineeringFiguresResponse {
            figures: Some(figures.into()),
        }))
    }
}
