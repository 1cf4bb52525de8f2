//! The use cases of engineering: one function per RPC verb and scheduled job. Each owns its
//! transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, appends the outbox event and commits. Property data is reached only with
//! the call's [`wuye_kit::scope::Scope`].

pub(crate) mod alerts;
pub(crate) mod duty;
pub(crate) mod equipment;
pub(crate) mod figures;
pub(crate) mod handover;
pub(crate) mod inspections;
pub(crate) mod units;
pub(crate) mod work_orders;
