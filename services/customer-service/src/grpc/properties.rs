use tonic::{Request, Response, Status};
use wuye_kit::identity;
use wuye_proto::customerservice::{self as pb, property_service_server::PropertyService};

use crate::{CustomerService, app::properties as app, convert::property_settings};

#[tonic::async_trait]
impl PropertyService for CustomerService {
    async fn get_property(
        &self,
        request: Request<pb::GetPropertyRequest>,
    ) -> Result<Response<pb::GetPropertyResponse>, Status> {
        let (scope, _) = self.properties.scope(request)?;
        Ok(Response::new(pb::GetPropertyResponse {
            settings: Some(property_settings(app::get(&scope))),
        }))
    }

    async fn list_properties(
        &self,
        request: Request<pb::ListPropertiesRequest>,
    ) -> Result<Response<pb::ListPropertiesResponse>, Status> {
        // The gateway's policy keeps this to headquarters and administrators.
        identity::caller(&request)?;
        Ok(Response::new(pb::ListPropertiesResponse {
            properties: app::list(self).map(property_settings).collect(),
        }))
    }
}
