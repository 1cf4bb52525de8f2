//! The use cases of customer service: one function per RPC verb and scheduled job. Each owns
//! its transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, appends the outbox event and commits. Property data is reached only with
//! the call's [`wuye_kit::scope::Scope`].

/// Public for the benchmark, which measures the storage limit through [`complaints::create`].
pub mod complaints;
pub(crate) mod contacts;
pub(crate) mod corrective;
pub(crate) mod figures;
pub(crate) mod households;
pub(crate) mod keys;
pub(crate) mod properties;
pub(crate) mod surveys;
pub(crate) mod units;
pub(crate) mod visits;
