//! DirectoryService: the administrators' directory, a property's staff list, and WhoAmI.

use tonic::{Request, Response, Status};
use wuye_kit::{Error, Result, Violations, idempotency::RequestId, identity, page};
use wuye_proto::directory::{self as pb, directory_service_server::DirectoryService};

use super::{MAX_ID, MAX_REQUEST_ID};
use crate::{
    Directory,
    app::{
        self,
        people::{self, Changes, Listing, NewPerson},
        posts,
    },
    domain::{self, PostSpec},
    store::Key,
};

#[tonic::async_trait]
impl DirectoryService for Directory {
    async fn create_person(
        &self,
        request: Request<pb::CreatePersonRequest>,
    ) -> Result<Response<pb::CreatePersonResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let new = self.new_person(req)?;
        let person = people::create(self, &caller, &request_id, new).await?;
        Ok(Response::new(pb::CreatePersonResponse {
            person: Some(person.into()),
        }))
    }

    async fn update_person(
        &self,
        request: Request<pb::UpdatePersonRequest>,
    ) -> Result<Response<pb::UpdatePersonResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("person_id", &req.person_id, MAX_ID);
        let name = req.name.trim();
        let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        domain::check_person_fields(&mut v, given(name).as_deref(), &req.phone, &req.sign_in);
        v.check()?;
        let changes = Changes {
            name: given(name),
            phone: given(req.phone.trim()),
            sign_in: given(&req.sign_in),
        };
        let person = people::update(self, &caller, &request_id, &req.person_id, changes).await?;
        Ok(Response::new(pb::UpdatePersonResponse {
            person: Some(person.into()),
        }))
    }

    async fn get_person(
        &self,
        request: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::GetPersonResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        v.max_text("person_id", &req.person_id, MAX_ID);
        v.max_text("staff_number", &req.staff_number, domain::MAX_STAFF_NUMBER);
        v.check()?;
        let key = match (req.person_id.as_str(), req.staff_number.as_str()) {
            (id, "") if !id.is_empty() => Key::Id(id),
            ("", number) if !number.is_empty() => Key::StaffNumber(number),
            _ => {
                return Err(Error::invalid(
                    "person_id",
                    "give the person_id or the staff_number: one of the two",
                )
                .into());
            }
        };
        let person = people::get_as(self, &caller, key).await?;
        Ok(Response::new(pb::GetPersonResponse {
            person: Some(person.into()),
        }))
    }

    async fn list_staff(
        &self,
        request: Request<pb::ListStaffRequest>,
    ) -> Result<Response<pb::ListStaffResponse>, Status> {
        let (scope, req) = self.properties.scope(request)?;
        let role = match req.role.trim() {
            "" => None,
            role if domain::is_role(role) => Some(role),
            _ => return Err(Error::invalid("role", "is not a role code of the directory").into()),
        };
        let limit = page::page_size(req.page_size)?;
        let after = page::after::<String>(&req.page_token)?;
        let listing = Listing {
            role,
            after: after.as_deref(),
            limit,
        };
        let list = people::list(self, &scope, listing).await?;
        let next_page_token = page::next_token(&list, limit, |p| p.staff_number.clone());
        Ok(Response::new(pb::ListStaffResponse {
            people: list.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn assign_post(
        &self,
        request: Request<pb::AssignPostRequest>,
    ) -> Result<Response<pb::AssignPostResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("person_id", &req.person_id, MAX_ID);
        let spec = req.post.map(PostSpec::from);
        match &spec {
            Some(spec) => {
                domain::check_specs(&mut v, "post", std::slice::from_ref(spec), false, |p| {
                    self.properties.get(p).is_ok()
                })
            }
            None => v.add("post", "is required"),
        }
        v.check()?;
        let Some(spec) = spec else {
            unreachable!("checked above")
        };
        let person = posts::assign(self, &caller, &request_id, &req.person_id, spec).await?;
        Ok(Response::new(pb::AssignPostResponse {
            person: Some(person.into()),
        }))
    }

    async fn end_post(
        &self,
        request: Request<pb::EndPostRequest>,
    ) -> Result<Response<pb::EndPostResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("person_id", &req.person_id, MAX_ID);
        v.required_text("post_id", &req.post_id, MAX_ID);
        v.check()?;
        let person = posts::end(self, &caller, &request_id, &req.person_id, &req.post_id).await?;
        Ok(Response::new(pb::EndPostResponse {
            person: Some(person.into()),
        }))
    }

    async fn mark_left(
        &self,
        request: Request<pb::MarkLeftRequest>,
    ) -> Result<Response<pb::MarkLeftResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        v.required_text("person_id", &req.person_id, MAX_ID);
        v.check()?;
        let person = people::mark_left(self, &caller, &request_id, &req.person_id).await?;
        Ok(Response::new(pb::MarkLeftResponse {
            person: Some(person.into()),
        }))
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let caller = identity::caller(&request)?;
        let person = app::lookup::who_am_i(self, &caller).await?;
        Ok(Response::new(pb::WhoAmIResponse {
            person: Some(person.into()),
            post_id: caller.post_id,
        }))
    }
}

impl Directory {
    /// The person of a CreatePersonRequest, every field checked at once.
    fn new_person(&self, req: pb::CreatePersonRequest) -> Result<NewPerson> {
        let mut v = Violations::new();
        v.required_text("request_id", &req.request_id, MAX_REQUEST_ID);
        domain::check_staff_number(&mut v, &req.staff_number);
        domain::check_person_fields(
            &mut v,
            Some(req.name.trim()),
            req.phone.trim(),
            &req.sign_in,
        );
        let posts: Vec<PostSpec> = req.posts.into_iter().map(PostSpec::from).collect();
        domain::check_specs(&mut v, "posts", &posts, true, |p| {
            self.properties.get(p).is_ok()
        });
        v.check()?;
        Ok(NewPerson {
            staff_number: req.staff_number,
            name: req.name.trim().to_owned(),
            phone: req.phone.trim().to_owned(),
            sign_in: req.sign_in,
            posts,
        })
    }
}
