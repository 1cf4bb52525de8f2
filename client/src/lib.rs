//! The typed client of wuye: one way to reach the gateway (or, for the tests, a department
//! directly), used by the CLI, the demo loader, the tests and the benchmark.
//!
//! - [`Config`] says where and as whom: the address, a bearer token, the property of the call,
//!   TLS, or an internal identity signer for a department; [`Config::lazy`] and
//!   [`Config::connect`] give a [`Connection`], a cloneable tower service every generated client
//!   takes (`ComplaintServiceClient::new(connection)`).
//! - The connection retries what may be retried ([`retry::Policy`]).
//! - [`paging::pages`] and [`paging::all`] walk a List call page by page.
//! - [`request_id`] makes a request id when the caller has none; [`describe`] says a refusal
//!   for people.

mod config;
mod connection;
pub mod paging;
pub mod retry;

pub use config::{Config, Error, Identity};
pub use connection::Connection;
pub use paging::{Listing, Paged, all, pages};
pub use retry::Policy;

pub use wuye_proto as proto;

/// `given`, or a new request id (UUID v7, ordered by time) when `given` is empty: the one id a
/// create call keeps across its retries.
pub fn request_id(given: &str) -> String {
    if given.is_empty() {
        uuid::Uuid::now_v7().to_string()
    } else {
        given.to_owned()
    }
}

/// A refusal as people read it: `Code: message`, and the reason of the rule in brackets when
/// the status names one (`InvalidArgument: … [UNIT_OCCUPIED]`).
pub fn describe(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    let mut message = format!("{:?}: {}", status.code(), status.message());
    if let Some(info) = status.get_details_error_info() {
        message.push_str(&format!(" [{}]", info.reason));
    }
    message
}

/// The answer of a call, or its refusal as [`describe`] says it.
pub async fn call<T>(
    response: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, Refused> {
    response
        .await
        .map(tonic::Response::into_inner)
        .map_err(Refused)
}

/// A call's refusal, displayed as [`describe`] says it; the status stays at hand.
#[derive(Debug, Clone)]
pub struct Refused(pub tonic::Status);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(&self.0))
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_kept_or_made() {
        assert_eq!(request_id("mine"), "mine");
        let made = request_id("");
        assert_eq!(uuid::Uuid::parse_str(&made).unwrap().get_version_num(), 7);
        assert_ne!(made, request_id(""));
    }

    #[test]
    fn a_refusal_names_its_code_message_and_reason() {
        use tonic_types::{ErrorDetails, StatusExt};
        let plain = tonic::Status::not_found("no such complaint");
        assert_eq!(describe(&plain), "NotFound: no such complaint");
        let ruled = tonic::Status::with_error_details(
            tonic::Code::FailedPrecondition,
            "the unit is lived in",
            ErrorDetails::with_error_info(
                "UNIT_OCCUPIED",
                "wuye",
                std::collections::HashMap::new(),
            ),
        );
        assert_eq!(
            Refused(ruled).to_string(),
            "FailedPrecondition: the unit is lived in [UNIT_OCCUPIED]"
        );
    }
}
