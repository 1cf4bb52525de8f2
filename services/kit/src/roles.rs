//! The role codes of DOMAIN.md "Who is who", listed once for every component: the gateway's
//! policy check, the staff directory's posts, the rules that name every property post.

/// The roles held at a property.
pub const PROPERTY_ROLES: &[&str] = &[
    "project_manager",
    "project_manager_assistant",
    "cs_supervisor",
    "cs_clerk",
    "front_desk",
    "engineering_manager",
    "maintenance_foreman",
    "technician",
];
/// The roles held at headquarters only, spanning every property.
pub const HEADQUARTERS_ROLES: &[&str] = &["quality_officer", "hq_viewer"];
/// System administration: at headquarters or at a property.
pub const ADMIN: &str = "admin";

/// Every role code.
pub fn all() -> impl Iterator<Item = &'static str> {
    PROPERTY_ROLES
        .iter()
        .chain(HEADQUARTERS_ROLES)
        .copied()
        .chain([ADMIN])
}

/// Whether `role` is a role code of DOMAIN.md.
pub fn is_role(role: &str) -> bool {
    all().any(|r| r == role)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_role_once() {
        let all: Vec<_> = super::all().collect();
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(all.len(), 11);
        assert_eq!(unique.len(), all.len());
        assert!(super::is_role("technician") && !super::is_role("nobody"));
    }
}
