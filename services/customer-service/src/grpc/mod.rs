//! The transport: a handler establishes the call's scope, checks the shape of its request,
//! converts it (`crate::convert`) and calls its use case in `app`.

mod complaints;
mod figures;
mod households;
pub(crate) mod keys;
mod properties;
mod surveys;
mod visits;
