//! The archives' own settings, beside the [`ServiceSettings`] every department shares: where
//! document content lives and how large a document may be. Read from the environment
//! (`WUYE_ARCHIVES__<KEY>`), so they layer on top of the shared settings without a field in
//! the kit. The keys personal identifiers are encrypted with are shared settings
//! (`WUYE_ARCHIVES__ENCRYPTION_KEYS`, see `wuye_kit::seal`).
//!
//! - `WUYE_ARCHIVES__DOCUMENT_STORE`: empty for `<data_dir>/archives-documents`, `file:///dir`,
//!   or `s3://bucket/prefix` (with the `s3` cargo feature; credentials from the usual `AWS_*`
//!   variables).
//! - `WUYE_ARCHIVES__MAX_DOCUMENT_BYTES`: the largest document accepted.

use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Serialized},
};
use serde::{Deserialize, Serialize};
use wuye_kit::ServiceSettings;

/// 200 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 200 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchiveSettings {
    pub document_store: String,
    pub max_document_bytes: u64,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            document_store: String::new(),
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

/// The names this loader reads; everything else under the prefix belongs to the shared
/// settings.
const KEYS: [&str; 2] = ["document_store", "max_document_bytes"];

impl ArchiveSettings {
    /// Defaults, then the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Figment::from(Serialized::defaults(Self::default()))
            .merge(Env::prefixed("WUYE_ARCHIVES__").only(&KEYS))
            .extract()?)
    }

    /// Where documents are kept: the configured store, or a folder beside the database.
    pub fn store_url(&self, shared: &ServiceSettings) -> String {
        if self.document_store.is_empty() {
            let dir: &Path = &shared.database.data_dir;
            format!(
                "file://{}",
                absolute(dir).join("archives-documents").display()
            )
        } else {
            self.document_store.clone()
        }
    }
}

fn absolute(dir: &Path) -> std::path::PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn environment_overrides_defaults_and_shared_keys_are_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("WUYE_ARCHIVES__MAX_DOCUMENT_BYTES", "1024");
            jail.set_env("WUYE_ARCHIVES__DATABASE__URL", "postgres://x");
            let s = ArchiveSettings::from_env().unwrap();
            assert_eq!(s.max_document_bytes, 1024);
            Ok(())
        });
    }

    #[test]
    fn documents_default_to_the_data_dir() {
        let mut shared = ServiceSettings::default();
        shared.database.data_dir = "/var/lib/wuye".into();
        let url = ArchiveSettings::default().store_url(&shared);
        assert_eq!(url, "file:///var/lib/wuye/archives-documents");
    }
}
