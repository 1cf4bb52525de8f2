//! The archives' own settings, beside the [`ServiceSettings`] every department shares: where
//! document content lives, how large a document may be, and the register's checkpoints. Read
//! from the environment
//! (`WUYE_ARCHIVES__<KEY>`), so they layer on top of the shared settings without a field in
//! the kit. The keys personal identifiers are encrypted with are shared settings
//! (`WUYE_ARCHIVES__ENCRYPTION_KEYS`, see `wuye_kit::seal`).
//!
//! - `WUYE_ARCHIVES__DOCUMENT_STORE`: empty for `<data_dir>/archives-documents`, `file:///dir`,
//!   or `s3://bucket/prefix` (with the `s3` cargo feature; credentials from the usual `AWS_*`
//!   variables).
//! - `WUYE_ARCHIVES__MAX_DOCUMENT_BYTES`: the largest document accepted.
//! - `WUYE_ARCHIVES__AUDIT_CHECKPOINT_STORE`: where checkpoints of the register (ARC-12) are
//!   kept, under `audit-checkpoints/`: empty for the document store, or a store URL of its own
//!   (`file:///dir`, `s3://bucket/prefix`), best one the database's administrators cannot
//!   write, such as a bucket with object lock.
//! - `WUYE_ARCHIVES__AUDIT_CHECKPOINT_INTERVAL_SECS`: the longest a grown register goes
//!   without a checkpoint (checked every `jobs_interval_ms`); entries newer than the last
//!   checkpoint are the ones a database writer could remove unseen. 0 checkpoints at every run.
//! - `WUYE_ARCHIVES__AUDIT_RELINK_PLAIN_ENTRIES`: re-link at start-up, under the keyring, the
//!   register entries written before links were keyed (on by default, for the upgrade). Turn
//!   it off once every property has been re-linked: then nobody can have plain entries
//!   re-linked by wiping the checkpoints too.

use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Serialized},
};
use serde::{Deserialize, Serialize};
use wuye_kit::ServiceSettings;

/// 200 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 200 * 1024 * 1024;
/// Five minutes.
pub const DEFAULT_AUDIT_CHECKPOINT_INTERVAL_SECS: u64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchiveSettings {
    pub document_store: String,
    pub max_document_bytes: u64,
    pub audit_checkpoint_store: String,
    pub audit_checkpoint_interval_secs: u64,
    pub audit_relink_plain_entries: bool,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            document_store: String::new(),
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            audit_checkpoint_store: String::new(),
            audit_checkpoint_interval_secs: DEFAULT_AUDIT_CHECKPOINT_INTERVAL_SECS,
            audit_relink_plain_entries: true,
        }
    }
}

/// The names this loader reads; everything else under the prefix belongs to the shared
/// settings.
const KEYS: [&str; 5] = [
    "document_store",
    "max_document_bytes",
    "audit_checkpoint_store",
    "audit_checkpoint_interval_secs",
    "audit_relink_plain_entries",
];

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

impl ArchiveSettings {
    /// Where the register's checkpoints are kept: their own store, or `None` for the
    /// document store's.
    pub fn checkpoint_store_url(&self) -> Option<&str> {
        (!self.audit_checkpoint_store.is_empty()).then_some(self.audit_checkpoint_store.as_str())
    }

    /// The longest a grown register goes without a checkpoint.
    pub fn checkpoint_interval(&self) -> anyhow::Result<chrono::Duration> {
        let secs = i64::try_from(self.audit_checkpoint_interval_secs)
            .ok()
            .filter(|s| *s <= 366 * 24 * 3600)
            .ok_or_else(|| anyhow::anyhow!("audit_checkpoint_interval_secs is at most a year"))?;
        Ok(chrono::Duration::seconds(secs))
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
            jail.set_env("WUYE_ARCHIVES__AUDIT_CHECKPOINT_STORE", "file:///ckpt");
            jail.set_env("WUYE_ARCHIVES__AUDIT_CHECKPOINT_INTERVAL_SECS", "60");
            jail.set_env("WUYE_ARCHIVES__AUDIT_RELINK_PLAIN_ENTRIES", "false");
            let s = ArchiveSettings::from_env().unwrap();
            assert_eq!(s.max_document_bytes, 1024);
            assert_eq!(s.checkpoint_store_url(), Some("file:///ckpt"));
            assert_eq!(
                s.checkpoint_interval().unwrap(),
                chrono::Duration::minutes(1)
            );
            assert!(!s.audit_relink_plain_entries);
            Ok(())
        });
    }

    #[test]
    fn documents_default_to_the_data_dir() {
        let mut shared = ServiceSettings::default();
        shared.database.data_dir = "/var/lib/wuye".into();
        let defaults = ArchiveSettings::default();
        let url = defaults.store_url(&shared);
        assert_eq!(url, "file:///var/lib/wuye/archives-documents");
        assert_eq!(defaults.checkpoint_store_url(), None);
        assert_eq!(
            defaults.checkpoint_interval().unwrap(),
            chrono::Duration::minutes(5)
        );
        assert!(defaults.audit_relink_plain_entries);
        let mut never = defaults;
        never.audit_checkpoint_interval_secs = u64::MAX;
        assert!(never.checkpoint_interval().is_err());
    }
}
