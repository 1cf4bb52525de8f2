//! The use cases of customer service: one function per RPC verb and scheduled job. Each owns
//! its transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, appends the outbox event and commits. Property data is reached only with
//! the call's [`wuye_kit::scope::Scope`].

pub(crate) mod complaints;
pub(crate) mod figures;
pub(crate) mod households;
pub(crate) mod keys;
pub(crate) mod surveys;
pub(crate) mod visits;

use wuye_kit::{Error, Result, identity::Actor};

/// The service's own check of who may act, beside the gateway's policy.
pub(crate) fn require_role(actor: &Actor, roles: &[&str], what: &str) -> Result<()> {
    if roles.contains(&actor.role.as_str()) {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("role {} is not among those who {what}", actor.role),
        ))
    }
}
