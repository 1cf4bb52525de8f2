//! The use cases of the archives: one function per RPC verb and per job. Each owns its
//! transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, registers what happened (ARC-12) and commits. Property data is reached only
//! with the call's [`wuye_kit::scope::Scope`].

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod documents;
pub(crate) mod files;
pub(crate) mod retention;
