//! Development mode. The repository carries public keys for development (deploy/dev-keys):
//! the components' identity keys, the user token key, the sealing keyring. They are used only
//! when development is asked for explicitly (`dev = true`, `WUYE_<COMPONENT>__DEV=true`; `wuye
//! up` and the test harness ask for it) and announced at start-up. Outside development a
//! component refuses to start without its own keys, and refuses any public development key,
//! naming the setting to configure.

/// The public development identity keys of each component: (name, private PEM, public PEM).
pub const IDENTITY_KEYS: [(&str, &str, &str); 6] = [
    (
        "gateway",
        include_str!("../../../deploy/dev-keys/identity/gateway.pem"),
        include_str!("../../../deploy/dev-keys/identity/gateway.pub.pem"),
    ),
    (
        "customer-service",
        include_str!("../../../deploy/dev-keys/identity/customer-service.pem"),
        include_str!("../../../deploy/dev-keys/identity/customer-service.pub.pem"),
    ),
    (
        "engineering",
        include_str!("../../../deploy/dev-keys/identity/engineering.pem"),
        include_str!("../../../deploy/dev-keys/identity/engineering.pub.pem"),
    ),
    (
        "archives",
        include_str!("../../../deploy/dev-keys/identity/archives.pem"),
        include_str!("../../../deploy/dev-keys/identity/archives.pub.pem"),
    ),
    (
        "quality",
        include_str!("../../../deploy/dev-keys/identity/quality.pem"),
        include_str!("../../../deploy/dev-keys/identity/quality.pub.pem"),
    ),
    (
        "directory",
        include_str!("../../../deploy/dev-keys/identity/directory.pem"),
        include_str!("../../../deploy/dev-keys/identity/directory.pub.pem"),
    ),
];

/// The development private identity key of `component`, if it has one.
pub fn identity_private_key(component: &str) -> Option<&'static str> {
    IDENTITY_KEYS
        .iter()
        .find(|(name, ..)| *name == component)
        .map(|(_, private, _)| *private)
}

/// Whether `pem` is one of the public development keys of [`IDENTITY_KEYS`] (either half).
pub fn is_identity_key(pem: &str) -> bool {
    IDENTITY_KEYS
        .iter()
        .any(|(_, private, public)| same_pem(pem, private) || same_pem(pem, public))
}

/// Whether two PEM texts hold the same bytes, whatever their line breaks.
pub fn same_pem(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    strip(a) == strip(b)
}

/// The environment variable of `setting` (dotted, such as `identity.signing_key`) of
/// `component`: `WUYE_ARCHIVES__IDENTITY__SIGNING_KEY`.
pub fn env_var(component: &str, setting: &str) -> String {
    format!(
        "WUYE_{}__{}",
        component.to_uppercase().replace('-', "_"),
        setting.to_uppercase().replace('.', "__").replace('-', "_")
    )
}

/// The refusal of a missing or public development key outside development.
pub fn refuse(component: &str, setting: &str, problem: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{setting} {problem}: configure your own ({}), or run in development with dev = true \
         ({})",
        env_var(component, setting),
        env_var(component, "dev")
    )
}

/// Says loudly at start-up that `component` runs in development, with public keys.
pub fn announce(component: &str) {
    tracing::warn!(
        component,
        "DEVELOPMENT MODE: missing keys are the public development keys of deploy/dev-keys; \
         never use this with real data"
    );
}

/// The text of a PEM setting: the value itself when it is PEM text, else the file it names.
pub fn read_pem(value: &str, setting: &str) -> anyhow::Result<String> {
    let value = value.trim();
    if value.starts_with("-----BEGIN") {
        return Ok(value.to_owned());
    }
    std::fs::read_to_string(value)
        .map_err(|e| anyhow::anyhow!("{setting}: reading the key file {value}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_keys_are_recognised_whatever_their_line_breaks() {
        let (_, private, public) = IDENTITY_KEYS[0];
        assert!(is_identity_key(private));
        assert!(is_identity_key(&public.replace('\n', "\r\n")));
        assert!(!is_identity_key(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
        ));
        assert_eq!(
            env_var("customer-service", "identity.trusted.gateway"),
            "WUYE_CUSTOMER_SERVICE__IDENTITY__TRUSTED__GATEWAY"
        );
    }

    #[test]
    fn a_pem_setting_is_the_text_or_a_file() {
        let (_, _, public) = IDENTITY_KEYS[1];
        assert_eq!(read_pem(public, "s").unwrap(), public.trim());
        let file = std::env::temp_dir().join(format!("wuye-pem-{}", std::process::id()));
        std::fs::write(&file, public).unwrap();
        assert_eq!(read_pem(file.to_str().unwrap(), "s").unwrap(), public);
        std::fs::remove_file(&file).unwrap();
        let err = read_pem("/nowhere/key.pem", "identity.signing_key").unwrap_err();
        assert!(err.to_string().contains("identity.signing_key"), "{err}");
    }
}
