//! The company quality department: the escalation inbox (ESC-3).

mod escalations;

pub(crate) use escalations::{QualityArgs, run};
