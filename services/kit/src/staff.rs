//! The staff a request names (a shift's technician, a zone's technician, a key's borrower, a
//! work order's assignee, an escalation's owner) are people of the staff directory holding a
//! fitting post at the property. A department asks the directory before it writes anything,
//! and records the name the directory gives, never one typed into the request.

use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;
use wuye_proto::directory::staff_lookup_service_client::StaffLookupServiceClient;

use crate::{Error, Result, ServiceSettings, identity::Signed};

/// The name of the directory service, as departments know it among their peers.
pub const DIRECTORY: &str = "directory";

/// A staff member a request named, as the directory knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// The staff id (the directory's `person_id`).
    pub person_id: String,
    pub name: String,
    /// The fitting post found: its id and role.
    pub post_id: String,
    pub role: String,
}

/// The directory, as a department asks it about the staff its requests name.
#[derive(Clone)]
pub struct Directory {
    client: StaffLookupServiceClient<Signed<Channel>>,
}

impl Directory {
    /// The directory at `peers.directory`, asked as `service` itself.
    pub fn new(settings: &ServiceSettings, service: &str) -> anyhow::Result<Self> {
        let channel = crate::follow::source(settings, service, DIRECTORY)?;
        Ok(Self {
            client: StaffLookupServiceClient::new(channel),
        })
    }

    /// The staff member `person_id` named in `field`, who must be in the directory, not have
    /// left, and hold one of `roles` at `property_id` (or at headquarters). Every refusal is a
    /// field violation of `field`.
    pub async fn check(
        &self,
        property_id: &str,
        field: &str,
        person_id: &str,
        roles: &[&str],
    ) -> Result<StaffMember> {
        if person_id.trim().is_empty() {
            return Err(Error::invalid(
                field,
                "is required: a staff id of the directory",
            ));
        }
        let request = wuye_proto::directory::CheckStaffRequest {
            property_id: property_id.to_owned(),
            person_id: person_id.to_owned(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        let answer = self.client.clone().check_staff(request).await;
        match answer {
            Ok(found) => {
                let found = found.into_inner();
                let post = found.post.unwrap_or_default();
                Ok(StaffMember {
                    person_id: found.person_id,
                    name: found.name,
                    post_id: post.post_id,
                    role: post.role,
                })
            }
            Err(status) => Err(refusal(&status, field, person_id, roles)),
        }
    }
}

/// The directory's answer to a staff id it does not accept, as a field violation of the
/// request that named it; a directory that cannot answer leaves the call unavailable.
fn refusal(status: &tonic::Status, field: &str, person_id: &str, roles: &[&str]) -> Error {
    let reason = status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default();
    match (status.code(), reason.as_str()) {
        (Code::NotFound, _) => Error::invalid(
            field,
            format!("{person_id} is not a staff id of the directory"),
        ),
        (Code::FailedPrecondition, "STAFF_LEFT") => {
            Error::invalid(field, format!("{person_id} has left the company"))
        }
        (Code::FailedPrecondition, "NO_FITTING_POST") => Error::invalid(
            field,
            format!(
                "{person_id} holds no post of {} at this property",
                roles.join(", ")
            ),
        ),
        (Code::InvalidArgument, _) => Error::invalid(field, "is not a staff id"),
        _ => {
            tracing::warn!(code = ?status.code(), message = %status.message(), "the staff directory did not answer");
            Error::Unavailable("the staff directory is unavailable".into())
        }
    }
}
