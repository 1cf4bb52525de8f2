//! Headquarters: the portfolio of every property (HQ-1).

mod portfolio;

pub(crate) use portfolio::{ReportArgs, run};
