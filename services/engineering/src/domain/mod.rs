//! The engineering department's rules, free of I/O and of protobuf types.

pub mod alerts;
pub mod duty;
pub mod equipment;
pub mod figures;
pub mod handover;
pub mod inspections;
pub mod work_orders;

/// A rule or a state refusing a call: a stable reason code and a short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

impl From<Refusal> for wuye_kit::Error {
    fn from(r: Refusal) -> Self {
        wuye_kit::Error::rule(r.reason, r.message)
    }
}

/// Text lengths, in characters.
pub const MAX_NAME: usize = 100;
pub const MAX_TEXT: usize = 2000;
pub const MAX_ID: usize = 64;
