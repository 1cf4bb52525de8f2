//! Layered configuration: defaults → TOML file → environment (`WUYE_<COMPONENT>__KEY`,
//! `__` between nested keys, e.g. `WUYE_CUSTOMER_SERVICE__DATABASE__URL`).

use std::{fmt, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Loads the settings of `component` (such as "customer-service"): the type's defaults, then
/// the TOML file when one is given, then the environment.
pub fn load<T>(component: &str, file: Option<&Path>) -> anyhow::Result<T>
where
    T: Serialize + DeserializeOwned + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        anyhow::ensure!(
            file.exists(),
            "configuration file {} not found",
            file.display()
        );
        figment = figment.merge(Toml::file(file));
    }
    let prefix = format!("WUYE_{}__", component.to_uppercase().replace('-', "_"));
    figment = figment.merge(Env::prefixed(&prefix).split("__"));
    Ok(figment.extract()?)
}

/// A configuration value that never prints: keys, passwords, database URLs with passwords.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Sample {
        listen: String,
        nested: Nested,
    }

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Nested {
        url: Secret,
        size: u32,
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("s.toml", "listen = \"from-file\"\n[nested]\nsize = 3\n")?;
            jail.set_env("WUYE_SAMPLE_PART__NESTED__URL", "postgres://x");
            let s: Sample = load("sample-part", Some(Path::new("s.toml"))).unwrap();
            assert_eq!(s.listen, "from-file");
            assert_eq!(s.nested.size, 3);
            assert_eq!(s.nested.url.expose(), "postgres://x");
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
