//! The sign-in `wuye login` keeps for the next commands: the ID token (the gateway takes it as
//! the bearer token), the refresh token, when it expires, and where it came from, in
//! `$XDG_CONFIG_HOME/wuye/credentials.json` (else `~/.config/wuye/`), readable by the user
//! alone (mode 0600, in a directory of mode 0700).

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// What one sign-in left.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    /// The issuer of the ID token (for a development sign-in, the gateway's `/dev/oidc`).
    pub issuer: String,
    pub client_id: String,
    /// Where new tokens come from (the issuer's token endpoint, found by discovery).
    #[serde(default)]
    pub token_endpoint: String,
    pub id_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token's `iat` and `exp`, in seconds since 1970.
    pub issued_at: i64,
    pub expires_at: i64,
    /// Who signed in: the ID token's `sub` and `name`, for messages.
    pub subject: String,
    #[serde(default)]
    pub name: String,
    /// The gateway of the sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The post to act in when a command names none (`--post`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// A development sign-in of the gateway, not of an identity provider.
    #[serde(default)]
    pub development: bool,
}

/// The longest a token is renewed before it expires.
const RENEW_BEFORE_SECS: i64 = 60;

impl Credentials {
    /// Whether the ID token should be renewed at `now`: expired, or within a minute (or half
    /// its lifetime, for short ones) of expiring.
    pub fn needs_refresh(&self, now: i64) -> bool {
        let lifetime = (self.expires_at - self.issued_at).max(0);
        let margin = RENEW_BEFORE_SECS.min(lifetime / 2);
        now + margin >= self.expires_at
    }

    /// Whether the ID token has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }
}

/// Where the credentials are kept: `$XDG_CONFIG_HOME/wuye/credentials.json`, else
/// `$HOME/.config/wuye/credentials.json`.
pub fn path() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .context("no config directory: set XDG_CONFIG_HOME or HOME")?,
        )
        .join(".config"),
    };
    Ok(base.join("wuye").join("credentials.json"))
}

/// The credentials at `path`; none when nobody signed in.
pub fn load(path: &Path) -> anyhow::Result<Option<Credentials>> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let credentials = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a sign-in of wuye: `wuye logout`, then `wuye login`",
            path.display()
        )
    })?;
    Ok(Some(credentials))
}

/// Writes `credentials` to `path` (replacing what was there at once), mode 0600.
pub fn save(path: &Path, credentials: &Credentials) -> anyhow::Result<()> {
    let dir = path.parent().context("no directory for the credentials")?;
    create_private_dir(dir)?;
    let temporary = dir.join(format!(".credentials.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(credentials)?;
    let written = open_private(&temporary).and_then(|mut file| {
        file.write_all(&json)?;
        file.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&temporary, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
        .with_context(|| format!("writing {}", path.display()))
}

/// Removes the credentials at `path`; whether there were any.
pub fn remove(path: &Path) -> anyhow::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            issuer: "https://id.example.com".into(),
            client_id: "wuye".into(),
            token_endpoint: "https://id.example.com/token".into(),
            id_token: "header.claims.signature".into(),
            refresh_token: Some("refresh".into()),
            issued_at: 1_000,
            expires_at: 4_600,
            subject: "zhang.san".into(),
            name: "张三".into(),
            gateway: None,
            post: Some("post-1".into()),
            development: false,
        }
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("wuye-credentials-{}", uuid::Uuid::now_v7()))
    }

    #[test]
    fn credentials_are_kept_for_the_user_alone_and_read_back() {
        let dir = temp_dir();
        let path = dir.join("wuye").join("credentials.json");
        assert!(load(&path).unwrap().is_none(), "nobody signed in yet");
        save(&path, &sample()).unwrap();
        assert!(load(&path).unwrap() == Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        let mut newer = sample();
        newer.id_token = "newer".into();
        save(&path, &newer).unwrap();
        assert_eq!(load(&path).unwrap().unwrap().id_token, "newer");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_sign_in_is_named_with_what_to_do() {
        let dir = temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = load(&path).err().unwrap().to_string();
        assert!(err.contains("wuye logout"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn tokens_are_renewed_a_minute_before_they_expire_or_half_way_when_short() {
        let hour = sample();
        assert!(!hour.needs_refresh(4_000));
        assert!(hour.needs_refresh(4_540));
        assert!(hour.needs_refresh(5_000));
        assert!(!hour.expired(4_599));
        assert!(hour.expired(4_600));
        let short = Credentials {
            issued_at: 1_000,
            expires_at: 1_010,
            ..sample()
        };
        assert!(!short.needs_refresh(1_004));
        assert!(short.needs_refresh(1_005));
    }
}
