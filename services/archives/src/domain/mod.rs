//! The archives' rules, free of I/O and of protobuf types.

pub mod access;
pub mod audit;
pub mod checkpoints;
pub mod documents;
pub mod files;
pub mod retention;

/// Why a rule refuses a caller: `Denied` for access the caller does not have
/// (`PERMISSION_DENIED`), `Rule` for a state that does not allow the call
/// (`FAILED_PRECONDITION`). Both carry a stable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Denied {
        reason: &'static str,
        message: String,
    },
    Rule {
        reason: &'static str,
        message: String,
    },
}

impl Refusal {
    pub fn denied(reason: &'static str, message: impl Into<String>) -> Self {
        Refusal::Denied {
            reason,
            message: message.into(),
        }
    }

    pub fn rule(reason: &'static str, message: impl Into<String>) -> Self {
        Refusal::Rule {
            reason,
            message: message.into(),
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Denied { reason, .. } | Refusal::Rule { reason, .. } => reason,
        }
    }
}

impl From<Refusal> for wuye_kit::Error {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Denied { reason, message } => {
                wuye_kit::Error::permission_denied(reason, message)
            }
            Refusal::Rule { reason, message } => wuye_kit::Error::rule(reason, message),
        }
    }
}

/// The role that directs archive work and approves (ARC-1, ARC-9, ARC-11).
pub const SUPERVISOR_ROLE: &str = "cs_supervisor";
