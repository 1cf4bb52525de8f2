//! The authorization policy (deploy/policy.toml): which roles may call which method, and on
//! which properties. Deny by default; the gateway refuses to start when the policy and the
//! contracts disagree, so a new method is closed until someone decides who may call it.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use anyhow::Context as _;
use prost::Message as _;
use serde::Deserialize;
use wuye_kit::{Error, identity::PROPERTY_HEADER};

use crate::auth::User;

/// Packages of the contracts that the gateway never routes: the event stream is service to
/// service.
const UNROUTED_PACKAGES: &[&str] = &["wuye.events.v1"];

/// What a method needs besides an allowed role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The call works on one property, named by the `x-wuye-property` metadata, which must be
    /// in the caller's scope.
    #[default]
    Property,
    /// The call spans the company (such as portfolio reports); a property, when given, is
    /// still checked.
    Company,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodRule {
    pub roles: BTreeSet<String>,
    #[serde(default)]
    pub scope: Scope,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    headquarters_roles: BTreeSet<String>,
    #[serde(default)]
    public: BTreeSet<String>,
    #[serde(default)]
    methods: BTreeMap<String, MethodRule>,
    /// Kind of personal data → method → the roles whose answers show it in full.
    #[serde(default)]
    personal: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

/// A checked policy. Methods are named `package.Service/Method`.
#[derive(Debug, Clone)]
pub struct Policy {
    headquarters_roles: BTreeSet<String>,
    public: BTreeSet<String>,
    methods: BTreeMap<String, MethodRule>,
    /// (method, role) → the kinds of personal data its answers show in full.
    in_full: BTreeMap<(String, String), Vec<String>>,
}

impl Policy {
    /// Reads the policy file and checks it against the contracts.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the policy {}", path.display()))?;
        Self::parse(&text, &contract_methods()?)
            .with_context(|| format!("the policy {} is not valid", path.display()))
    }

    /// Parses a policy and checks it against `contract`, the methods it must cover exactly.
    /// The error lists every problem at once.
    pub fn parse(text: &str, contract: &BTreeSet<String>) -> anyhow::Result<Self> {
        let file: PolicyFile = toml::from_str(text)?;
        let mut problems = Vec::new();
        for method in contract {
            if !file.methods.contains_key(method) {
                problems.push(format!("method {method} has no policy entry"));
            }
        }
        for method in file.methods.keys() {
            if !contract.contains(method) {
                problems.push(format!(
                    "policy entry {method} names no method of the contracts"
                ));
            }
        }
        for method in &file.public {
            if split_method(method).is_none() {
                problems.push(format!(
                    "public entry {method} is not package.Service/Method"
                ));
            } else if method.starts_with("wuye.") {
                // Services refuse calls without a verified caller, so this could never work.
                problems.push(format!(
                    "public entry {method}: wuye methods cannot be public"
                ));
            }
        }
        let mut unknown_role = |role: &String, place: &str| {
            if !wuye_kit::roles::is_role(role) {
                problems.push(format!("unknown role code {role} in {place}"));
            }
        };
        for role in &file.headquarters_roles {
            unknown_role(role, "headquarters_roles");
        }
        for (method, rule) in &file.methods {
            for role in &rule.roles {
                unknown_role(role, method);
            }
        }
        let mut in_full: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (kind, methods) in &file.personal {
            if !wuye_proto::personal::KINDS.iter().any(|(k, _)| k == kind) {
                problems.push(format!("personal.{kind} is no kind of personal data"));
            }
            for (method, roles) in methods {
                let Some(rule) = file.methods.get(method) else {
                    problems.push(format!("personal.{kind}: {method} has no policy entry"));
                    continue;
                };
                for role in roles {
                    if !rule.roles.contains(role) {
                        problems.push(format!(
                            "personal.{kind}: role {role} may not call {method}"
                        ));
                    }
                    in_full
                        .entry((method.clone(), role.clone()))
                        .or_default()
                        .push(kind.clone());
                }
            }
        }
        anyhow::ensure!(
            problems.is_empty(),
            "{} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        );
        Ok(Self {
            headquarters_roles: file.headquarters_roles,
            public: file.public,
            methods: file.methods,
            in_full,
        })
    }

    /// Whether anyone may call `method` without a token.
    pub fn is_public(&self, method: &str) -> bool {
        self.public.contains(method)
    }

    /// The services someone may call: a method open to some role, or public. Reflection
    /// lists only these.
    pub fn reachable_services(&self) -> BTreeSet<String> {
        let open = self
            .methods
            .iter()
            .filter(|(_, rule)| !rule.roles.is_empty())
            .map(|(method, _)| method);
        open.chain(&self.public)
            .filter_map(|method| split_method(method).map(|(service, _)| service.to_owned()))
            .collect()
    }

    /// The kinds of personal data the answers of `method` show in full to `role` (ARC-11);
    /// everything else personal is masked.
    pub fn in_full(&self, method: &str, role: &str) -> Vec<String> {
        self.in_full
            .get(&(method.to_owned(), role.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The methods with a rule.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.methods.keys().map(String::as_str)
    }

    /// The methods `role` may call, sorted.
    pub fn methods_of<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a str> {
        self.methods
            .iter()
            .filter(move |(_, rule)| rule.roles.contains(role))
            .map(|(method, _)| method.as_str())
    }

    /// Whether `role` spans every property.
    pub fn is_headquarters(&self, role: &str) -> bool {
        self.headquarters_roles.contains(role)
    }

    /// Decides whether `user` may call `method` on `property` (the `x-wuye-property`
    /// metadata); returns the property the call is authorized for.
    pub fn authorize(
        &self,
        method: &str,
        user: &User,
        property: Option<&str>,
    ) -> Result<Option<String>, Error> {
        let rule = self.methods.get(method).ok_or_else(|| {
            Error::permission_denied("METHOD_NOT_IN_POLICY", "this method is not open to anyone")
        })?;
        if !rule.roles.contains(&user.role) {
            return Err(Error::permission_denied(
                "ROLE_NOT_ALLOWED",
                format!("role {} may not call this method", user.role),
            ));
        }
        let property = property.filter(|p| !p.is_empty());
        match property {
            None if rule.scope == Scope::Property => Err(Error::permission_denied(
                "PROPERTY_REQUIRED",
                format!("this method needs the {PROPERTY_HEADER} metadata"),
            )),
            None => Ok(None),
            Some(p) if self.is_headquarters(&user.role) => Ok(Some(p.to_owned())),
            Some(p) if user.properties.iter().any(|own| own == p) => Ok(Some(p.to_owned())),
            Some(p) => Err(Error::permission_denied(
                "PROPERTY_OUT_OF_SCOPE",
                format!("property {p} is outside your scope"),
            )),
        }
    }
}

/// Every method of the contracts the gateway routes, as `package.Service/Method`.
pub fn contract_methods() -> anyhow::Result<BTreeSet<String>> {
    let set = prost_types::FileDescriptorSet::decode(wuye_proto::FILE_DESCRIPTOR_SET)
        .context("decoding the contracts' descriptors")?;
    let mut methods = BTreeSet::new();
    for file in set.file {
        let package = file.package();
        if !package.starts_with("wuye.") || UNROUTED_PACKAGES.contains(&package) {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                methods.insert(format!("{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    Ok(methods)
}

/// Splits `package.Service/Method` into the full service name and the method.
pub(crate) fn split_method(method: &str) -> Option<(&str, &str)> {
    let (service, name) = method.split_once('/')?;
    let ok = service.contains('.') && !service.is_empty() && !name.is_empty();
    (ok && !name.contains('/')).then_some((service, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYED: &str = include_str!("../../deploy/policy.toml");
    const CREATE: &str = "wuye.customerservice.v1.ComplaintService/CreateComplaint";
    const GET_UNIT: &str = "wuye.customerservice.v1.HouseholdService/GetUnit";

    fn deployed() -> Policy {
        Policy::parse(DEPLOYED, &contract_methods().unwrap()).unwrap()
    }

    fn user(role: &str, properties: &[&str]) -> User {
        User {
            user_id: "u1".into(),
            name: "u1".into(),
            role: role.into(),
            properties: properties.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn reason(result: Result<Option<String>, Error>) -> &'static str {
        match result {
            Err(Error::PermissionDenied { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_contracts_are_enumerated_without_the_event_stream() {
        let methods = contract_methods().unwrap();
        assert!(methods.contains(CREATE));
        assert!(methods.contains(GET_UNIT));
        assert!(!methods.iter().any(|m| m.starts_with("wuye.events.")));
    }

    #[test]
    fn accepts_the_deployed_policy() {
        let policy = deployed();
        assert!(policy.is_public("grpc.health.v1.Health/Check"));
        assert!(!policy.is_public(CREATE));
    }

    #[test]
    fn personal_data_is_shown_in_full_only_where_listed() {
        let policy = deployed();
        let get = "wuye.customerservice.v1.ComplaintService/GetComplaint";
        let list = "wuye.customerservice.v1.ComplaintService/ListComplaints";
        assert_eq!(policy.in_full(get, "front_desk"), vec!["phone".to_owned()]);
        // Lists, other roles and headquarters see it masked.
        assert!(policy.in_full(list, "front_desk").is_empty());
        assert!(policy.in_full(get, "maintenance_foreman").is_empty());
        assert!(policy.in_full(get, "hq_viewer").is_empty());
        let contract = BTreeSet::from([CREATE.to_owned()]);
        let entry = format!("[methods]\n\"{CREATE}\" = {{ roles = [\"front_desk\"] }}\n");
        for (personal, problem) in [
            (
                format!("[personal.phone]\n\"{CREATE}\" = [\"cs_clerk\"]\n"),
                "role cs_clerk may not call",
            ),
            (
                format!("[personal.email]\n\"{CREATE}\" = [\"front_desk\"]\n"),
                "personal.email is no kind of personal data",
            ),
            (
                "[personal.phone]\n\"wuye.x.v1.S/M\" = [\"front_desk\"]\n".to_owned(),
                "wuye.x.v1.S/M has no policy entry",
            ),
        ] {
            let err = Policy::parse(&format!("{entry}{personal}"), &contract).unwrap_err();
            assert!(err.to_string().contains(problem), "{err}");
        }
    }

    #[test]
    fn refuses_a_policy_missing_a_method() {
        let start = DEPLOYED.find(&format!("[methods.\"{GET_UNIT}\"]")).unwrap();
        let end = start + DEPLOYED[start..].find("\n\n").unwrap();
        let text = format!("{}{}", &DEPLOYED[..start], &DEPLOYED[end..]);
        let err = Policy::parse(&text, &contract_methods().unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("method {GET_UNIT} has no policy entry")),
            "{err}"
        );
    }

    #[test]
    fn refuses_unknown_roles_and_methods() {
        let contract = BTreeSet::from([CREATE.to_owned()]);
        let err = Policy::parse(
            &format!("[methods]\n\"{CREATE}\" = {{ roles = [\"front_dsk\"] }}\n"),
            &contract,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown role code front_dsk"),
            "{err}"
        );

        let err = Policy::parse(
            &format!(
                "headquarters_roles = [\"boss\"]\n[methods]\n\"{CREATE}\" = {{ roles = [] }}\n\
                 \"wuye.customerservice.v1.ComplaintService/CreateComplain\" = {{ roles = [] }}\n"
            ),
            &contract,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown role code boss"), "{err}");
        assert!(err.contains("CreateComplain names no method"), "{err}");
    }

    #[test]
    fn refuses_public_wuye_methods_and_unknown_keys() {
        let contract = BTreeSet::from([CREATE.to_owned()]);
        let rule = format!("[methods]\n\"{CREATE}\" = {{ roles = [] }}\n");
        assert!(Policy::parse(&format!("public = [\"{CREATE}\"]\n{rule}"), &contract).is_err());
        assert!(Policy::parse(&format!("public = [\"Health\"]\n{rule}"), &contract).is_err());
        assert!(Policy::parse(&format!("publik = []\n{rule}"), &contract).is_err());
        let typo = format!("[methods]\n\"{CREATE}\" = {{ role = [] }}\n");
        assert!(Policy::parse(&typo, &contract).is_err());
    }

    #[test]
    fn authorizes_by_role_and_property() {
        let policy = deployed();
        let desk = user("front_desk", &["sunshine-garden"]);
        assert_eq!(
            policy
                .authorize(CREATE, &desk, Some("sunshine-garden"))
                .unwrap(),
            Some("sunshine-garden".into())
        );
        assert_eq!(
            reason(policy.authorize(CREATE, &desk, Some("riverside"))),
            "PROPERTY_OUT_OF_SCOPE"
        );
        assert_eq!(
            reason(policy.authorize(CREATE, &desk, None)),
            "PROPERTY_REQUIRED"
        );
        assert_eq!(
            reason(policy.authorize(CREATE, &desk, Some(""))),
            "PROPERTY_REQUIRED"
        );
        let tech = user("technician", &["sunshine-garden"]);
        assert_eq!(
            reason(policy.authorize(CREATE, &tech, Some("sunshine-garden"))),
            "ROLE_NOT_ALLOWED"
        );
        let admin = user("admin", &["*"]);
        assert_eq!(
            reason(policy.authorize(GET_UNIT, &admin, Some("sunshine-garden"))),
            "ROLE_NOT_ALLOWED"
        );
        assert_eq!(
            reason(policy.authorize("wuye.x.v1.S/M", &desk, Some("sunshine-garden"))),
            "METHOD_NOT_IN_POLICY"
        );
    }

    #[test]
    fn headquarters_roles_span_every_property() {
        let policy = deployed();
        let list = "wuye.customerservice.v1.ComplaintService/ListComplaints";
        for properties in [&["*"][..], &[], &["sunshine-garden"]] {
            let officer = user("quality_officer", properties);
            assert_eq!(
                policy.authorize(list, &officer, Some("riverside")).unwrap(),
                Some("riverside".into())
            );
        }
        // A property role's "*" is just an unknown property id.
        let pm = user("project_manager", &["*"]);
        assert_eq!(
            reason(policy.authorize(list, &pm, Some("riverside"))),
            "PROPERTY_OUT_OF_SCOPE"
        );
    }

    #[test]
    fn company_scope_needs_no_property_but_checks_one_given() {
        let contract = BTreeSet::from([CREATE.to_owned()]);
        let policy = Policy::parse(
            &format!(
                "[methods]\n\"{CREATE}\" = {{ roles = [\"cs_clerk\"], scope = \"company\" }}\n"
            ),
            &contract,
        )
        .unwrap();
        let clerk = user("cs_clerk", &["riverside"]);
        assert_eq!(policy.authorize(CREATE, &clerk, None).unwrap(), None);
        assert_eq!(
            reason(policy.authorize(CREATE, &clerk, Some("sunshine-garden"))),
            "PROPERTY_OUT_OF_SCOPE"
        );
    }

    #[test]
    fn splits_method_paths() {
        assert_eq!(split_method("a.B/C"), Some(("a.B", "C")));
        assert_eq!(split_method("B/C"), None);
        assert_eq!(split_method("a.B/"), None);
        assert_eq!(split_method("a.B/C/D"), None);
    }
}
