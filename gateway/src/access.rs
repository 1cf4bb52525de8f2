//! `wuye.gateway.v1.AccessService`: what the calling post may do, answered by the gateway
//! from the policy the gate authorizes calls by, so the console shows only what would pass.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use wuye_kit::identity::Caller;
use wuye_proto::gateway::{
    GetMyAccessRequest, GetMyAccessResponse,
    access_service_server::{AccessService, AccessServiceServer},
};

use crate::{Policy, gate::Reach};

const PACKAGE: &str = "wuye.gateway.v1";

/// Whether the gateway itself serves `method` (`package.Service/Method`) here.
pub fn serves(method: &str) -> bool {
    method
        .strip_prefix(PACKAGE)
        .is_some_and(|rest| rest.starts_with('.'))
}

#[derive(Clone)]
pub struct AccessServer {
    policy: Arc<Policy>,
}

impl AccessServer {
    pub fn new(policy: Arc<Policy>) -> Self {
        Self { policy }
    }

    pub fn service(self) -> AccessServiceServer<Self> {
        AccessServiceServer::new(self)
    }
}

/// What `caller`, of `reach`, may do by `policy`.
pub fn access_of(policy: &Policy, caller: &Caller, reach: &Reach) -> GetMyAccessResponse {
    let headquarters = policy.is_headquarters(&caller.role);
    GetMyAccessResponse {
        person_id: if reach.person {
            caller.user_id.clone()
        } else {
            String::new()
        },
        name: caller.name.clone(),
        role: caller.role.clone(),
        post_id: caller.post_id.clone(),
        // A headquarters role's scope is every property, whatever its token says.
        property_ids: if headquarters {
            Vec::new()
        } else {
            reach.properties.clone()
        },
        headquarters,
        methods: policy.methods_of(&caller.role).map(str::to_owned).collect(),
    }
}

#[tonic::async_trait]
impl AccessService for AccessServer {
    async fn get_my_access(
        &self,
        request: Request<GetMyAccessRequest>,
    ) -> Result<Response<GetMyAccessResponse>, Status> {
        let caller = request.extensions().get::<Caller>();
        let reach = request.extensions().get::<Reach>();
        let (Some(caller), Some(reach)) = (caller, reach) else {
            return Err(Status::unauthenticated("no verified caller"));
        };
        Ok(Response::new(access_of(&self.policy, caller, reach)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::contract_methods;

    const DEPLOYED: &str = include_str!("../../deploy/policy.toml");
    const CREATE_PERSON: &str = "wuye.directory.v1.DirectoryService/CreatePerson";
    const CREATE_COMPLAINT: &str = "wuye.customerservice.v1.ComplaintService/CreateComplaint";
    const GET_MY_ACCESS: &str = "wuye.gateway.v1.AccessService/GetMyAccess";

    fn policy() -> Policy {
        Policy::parse(DEPLOYED, &contract_methods().unwrap()).unwrap()
    }

    fn caller(role: &str, post_id: &str) -> Caller {
        Caller {
            user_id: "p-1".into(),
            name: "王芳".into(),
            role: role.into(),
            post_id: post_id.into(),
            ..Default::default()
        }
    }

    fn reach(person: bool, properties: &[&str]) -> Reach {
        Reach {
            person,
            properties: properties.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn a_post_gets_its_roles_methods_and_scope() {
        let policy = policy();
        let desk = access_of(
            &policy,
            &caller("front_desk", "post-1"),
            &reach(true, &["sunshine-garden"]),
        );
        assert_eq!(
            (desk.person_id.as_str(), desk.post_id.as_str()),
            ("p-1", "post-1")
        );
        assert_eq!(desk.property_ids, ["sunshine-garden"]);
        assert!(!desk.headquarters);
        assert!(desk.methods.iter().any(|m| m == CREATE_COMPLAINT));
        assert!(desk.methods.iter().any(|m| m == GET_MY_ACCESS));
        assert!(!desk.methods.iter().any(|m| m == CREATE_PERSON));
        // Exactly what the gate would let through, nothing service to service.
        for method in &desk.methods {
            let user = crate::User {
                user_id: "p-1".into(),
                name: "王芳".into(),
                role: "front_desk".into(),
                properties: vec!["sunshine-garden".into()],
            };
            assert!(
                policy
                    .authorize(method, &user, Some("sunshine-garden"))
                    .is_ok(),
                "{method}"
            );
        }
        assert!(
            !desk
                .methods
                .iter()
                .any(|m| m.contains("StaffLookupService"))
        );
        let mut sorted = desk.methods.clone();
        sorted.sort();
        assert_eq!(sorted, desk.methods);

        let admin = access_of(&policy, &caller("admin", "post-2"), &reach(true, &[]));
        assert!(admin.methods.iter().any(|m| m == CREATE_PERSON));
    }

    #[test]
    fn headquarters_spans_every_property_and_scripts_are_no_person() {
        let policy = policy();
        let officer = access_of(
            &policy,
            &caller("quality_officer", "post-3"),
            &reach(true, &["*"]),
        );
        assert!(officer.headquarters);
        assert!(officer.property_ids.is_empty());
        let script = access_of(
            &policy,
            &caller("cs_clerk", ""),
            &reach(false, &["riverside"]),
        );
        assert_eq!(script.person_id, "");
        assert_eq!(script.name, "王芳");
        assert_eq!(script.property_ids, ["riverside"]);
    }

    #[test]
    fn every_role_may_ask() {
        let policy = policy();
        for role in wuye_kit::roles::all() {
            let user = crate::User {
                user_id: "u".into(),
                name: "u".into(),
                role: role.into(),
                properties: vec![],
            };
            assert_eq!(
                policy.authorize(GET_MY_ACCESS, &user, None).unwrap(),
                None,
                "{role}"
            );
        }
        assert!(serves(GET_MY_ACCESS));
        assert!(!serves("wuye.gatewayx.v1.S/M"));
    }
}
