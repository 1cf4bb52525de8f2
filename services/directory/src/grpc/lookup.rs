//! StaffLookupService: service to service only (the gateway signs people in, departments
//! check the staff their requests name).

use tonic::{Request, Response, Status};
use wuye_kit::{Violations, identity, page};
use wuye_proto::directory::{self as pb, staff_lookup_service_server::StaffLookupService};

use super::MAX_ID;
use crate::{
    Directory,
    app::lookup as app,
    domain::{self, MAX_ROLES, MAX_SIGN_IN},
};

#[tonic::async_trait]
impl StaffLookupService for Directory {
    async fn sign_in(
        &self,
        request: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        identity::caller(&request)?.require_service()?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.required_text("sign_in", &req.sign_in, MAX_SIGN_IN);
        v.check()?;
        let person = app::sign_in(self, &req.sign_in).await?;
        Ok(Response::new(pb::SignInResponse {
            person: Some(person.into()),
        }))
    }

    async fn list_sign_ins(
        &self,
        request: Request<pb::ListSignInsRequest>,
    ) -> Result<Response<pb::ListSignInsResponse>, Status> {
        // A department's own identity opens only the peer methods: a service caller of this
        // method is the gateway.
        identity::caller(&request)?.require_service()?;
        let req = request.into_inner();
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?;
        let people = app::sign_ins(self, after.as_deref(), limit).await?;
        let next_page_token = page::next_token(&people, limit, |p| p.staff_number.clone());
        Ok(Response::new(pb::ListSignInsResponse {
            people: people.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn check_staff(
        &self,
        request: Request<pb::CheckStaffRequest>,
    ) -> Result<Response<pb::CheckStaffResponse>, Status> {
        identity::caller(&request)?.require_service()?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.required_text("person_id", &req.person_id, MAX_ID);
        if !req.property_id.is_empty() && self.properties.get(&req.property_id).is_err() {
            v.add("property_id", "is not a property of this deployment");
        }
        if req.roles.is_empty() || req.roles.len() > MAX_ROLES {
            v.add("roles", format!("must name 1 to {MAX_ROLES} roles"));
        }
        for (i, role) in req.roles.iter().enumerate() {
            if !domain::is_role(role) {
                v.add(
                    &format!("roles[{i}]"),
                    "is not a role code of the directory",
                );
            }
        }
        v.check()?;
        let (person, post) = app::check(self, &req.property_id, &req.person_id, &req.roles).await?;
        Ok(Response::new(pb::CheckStaffResponse {
            person_id: person.id,
            name: person.name,
            post: Some(post.into()),
        }))
    }
}
