//! One error type for every service and its one mapping to `tonic::Status` with rich details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

/// The `ErrorInfo.domain` of every refusal wuye gives.
pub const ERROR_DOMAIN: &str = "wuye";

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: every field that is wrong, with why (`INVALID_ARGUMENT` + `BadRequest`).
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    /// A written rule refuses the call (`FAILED_PRECONDITION` + `ErrorInfo` with a stable reason).
    #[error("{message}")]
    Rule {
        reason: &'static str,
        message: String,
        metadata: HashMap<String, String>,
    },
    /// The record is not in a state that allows the call
    /// (`FAILED_PRECONDITION` + `PreconditionFailure`, one violation per reason).
    #[error("{message}")]
    Precondition {
        message: String,
        violations: Vec<PreconditionViolation>,
    },
    #[error("{0}")]
    Unauthenticated(String),
    /// A bearer credential refused, with why (`UNAUTHENTICATED` + `ErrorInfo` with a stable
    /// reason, such as `TOKEN_EXPIRED`).
    #[error("{message}")]
    Refused {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("{0}")]
    Unavailable(String),
    /// A limit refuses the call (`RESOURCE_EXHAUSTED` + `ErrorInfo` with a stable reason, and
    /// `RetryInfo` when waiting helps).
    #[error("{message}")]
    ResourceExhausted {
        reason: &'static str,
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            id: id.into(),
        }
    }

    /// Bad input in one field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn rule(reason: &'static str, message: impl Into<String>) -> Self {
        Error::Rule {
            reason,
            message: message.into(),
            metadata: HashMap::new(),
        }
    }

    pub fn resource_exhausted(
        reason: &'static str,
        message: impl Into<String>,
        retry_after: Option<std::time::Duration>,
    ) -> Self {
        Error::ResourceExhausted {
            reason,
            message: message.into(),
            retry_after,
        }
    }

    /// A bearer credential refused for `reason` (`UNAUTHENTICATED`).
    pub fn refused(reason: &'static str, message: impl Into<String>) -> Self {
        Error::Refused {
            reason,
            message: message.into(),
        }
    }

    pub fn permission_denied(reason: &'static str, message: impl Into<String>) -> Self {
        Error::PermissionDenied {
            reason,
            message: message.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        match error {
            Error::InvalidArgument(violations) => {
                let message = format!("invalid argument: {}", describe(&violations));
                Status::with_error_details(
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request(violations),
                )
            }
            e @ Error::NotFound { .. } => Status::not_found(e.to_string()),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::Rule {
                reason,
                message,
                metadata,
            } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
            ),
            Error::Precondition {
                message,
                violations,
            } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_precondition_failure(violations),
            ),
            Error::Unauthenticated(message) => Status::unauthenticated(message),
            Error::Refused { reason, message } => Status::with_error_details(
                Code::Unauthenticated,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
            ),
            Error::PermissionDenied { reason, message } => Status::with_error_details(
                Code::PermissionDenied,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
            ),
            Error::Unavailable(message) => Status::unavailable(message),
            Error::ResourceExhausted {
                reason,
                message,
                retry_after,
            } => {
                let mut details =
                    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
                if let Some(delay) = retry_after {
                    details.set_retry_info(Some(delay));
                }
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            Error::Database(e) if is_unique_violation(&e) => {
                Status::already_exists("the record already exists")
            }
            Error::Database(e) => {
                tracing::error!(error = %e, "database error");
                Status::internal("internal error")
            }
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Collects the field violations of one request, so a caller learns every mistake at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Requires a non-blank text of at most `max` characters.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else {
            self.max_text(field, value, max);
        }
    }

    /// A text of at most `max` characters. NUL is refused: PostgreSQL cannot store it in text,
    /// and no form has a use for it.
    pub fn max_text(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
        if value.contains('\0') {
            self.add(field, "must not contain NUL characters");
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was added, else the `INVALID_ARGUMENT` error with every violation.
    pub fn check(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_in_any_text() {
        let mut v = Violations::new();
        v.required_text("name", "a\0b", 10);
        v.max_text("note", "\0", 10);
        v.max_text("ok", "a\u{200d}b", 10);
        let status = Status::from(v.check().unwrap_err());
        let fields: Vec<_> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["name", "note"]);
    }

    #[test]
    fn violations_become_bad_request_details() {
        let mut v = Violations::new();
        v.required_text("description", "  ", 10);
        v.max_text("category", "abcdef", 3);
        let status = Status::from(v.check().unwrap_err());
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<_> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["description", "category"]);
    }

    #[test]
    fn rule_refusal_carries_stable_reason() {
        let status = Status::from(Error::rule("ID_NOT_VERIFIED", "no id, no key"));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "ID_NOT_VERIFIED");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn refused_credentials_say_why() {
        let status = Status::from(Error::refused("TOKEN_EXPIRED", "the token expired"));
        assert_eq!(status.code(), Code::Unauthenticated);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "TOKEN_EXPIRED");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn limits_say_why_and_when_to_retry() {
        let status = Status::from(Error::resource_exhausted(
            "CALLER_RATE_EXCEEDED",
            "slow down",
            Some(std::time::Duration::from_millis(1500)),
        ));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            "CALLER_RATE_EXCEEDED"
        );
        let delay = status.get_details_retry_info().unwrap().retry_delay;
        assert_eq!(delay, Some(std::time::Duration::from_millis(1500)));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = Status::from(Error::Internal(anyhow::anyhow!("secret detail")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
