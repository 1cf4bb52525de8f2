//! One OpenID provider as the gateway knows it: its discovery document and its keys, cached.
//! The keys are fetched at start (in the background), again every `jwks_refresh_secs`, and
//! when a token names a `kid` not known yet — at most once per `min_refetch_secs`, so a flood
//! of made-up kids cannot make the gateway hammer the provider. A failed fetch keeps the keys
//! held, so a provider that is down for a while does not stop sign-ins it already verifies.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, Header};
use tokio::time::Instant;
use wuye_kit::{
    Error,
    oidc::{Discovery, JwksKey, Keys, NoKey, key_for, parse_jwks},
};

use super::{Fetcher, OidcIssuerSettings, Refusal};

/// A provider: its settings and its keys.
pub struct Issuer {
    pub settings: OidcIssuerSettings,
    pub algorithms: Vec<Algorithm>,
    fetcher: Fetcher,
    state: Mutex<State>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Arc<Keys>,
    /// The last fetch that succeeded.
    fetched: Option<Instant>,
    /// The last fetch tried.
    attempted: Option<Instant>,
    /// Why the last fetch failed, while it did.
    failure: Option<String>,
}

impl Issuer {
    /// A provider of the settings, its URLs checked; nothing is fetched yet.
    pub fn new(settings: &OidcIssuerSettings, fetcher: Fetcher) -> anyhow::Result<Self> {
        let name = &settings.issuer;
        anyhow::ensure!(
            !name.is_empty(),
            "auth.oidc: every issuer needs its issuer URL"
        );
        fetcher
            .check_url(name)
            .with_context(|| format!("auth.oidc issuer {name}"))?;
        fetcher
            .check_url(&settings.discovery())
            .with_context(|| format!("auth.oidc issuer {name}: discovery_url"))?;
        anyhow::ensure!(
            settings.audiences.iter().any(|a| !a.is_empty()),
            "auth.oidc issuer {name}: audiences must name the client ids of the company's apps"
        );
        anyhow::ensure!(
            !settings.person_claim.is_empty(),
            "auth.oidc issuer {name}: person_claim must name a claim (such as sub)"
        );
        anyhow::ensure!(
            !settings.algorithms.is_empty(),
            "auth.oidc issuer {name}: algorithms must name at least one"
        );
        anyhow::ensure!(
            settings.jwks_refresh_secs > 0,
            "auth.oidc issuer {name}: jwks_refresh_secs must be positive"
        );
        Ok(Self {
            algorithms: settings.algorithms.iter().map(|a| a.jwt()).collect(),
            settings: settings.clone(),
            fetcher,
            state: Mutex::default(),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.issuer
    }

    fn refresh_every(&self) -> Duration {
        Duration::from_secs(self.settings.jwks_refresh_secs)
    }

    fn min_refetch(&self) -> Duration {
        Duration::from_secs(self.settings.min_refetch_secs)
    }

    fn state<T>(&self, read: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        read(&mut state)
    }

    /// Whether a fetch may start now: none was tried within `min_refetch_secs`.
    fn may_fetch(&self) -> bool {
        self.state(|s| {
            s.attempted
                .is_none_or(|at| at.elapsed() >= self.min_refetch())
        })
    }

    /// The key that verifies a token of `header`, fetching the keys when its `kid` is not
    /// known yet or they are due.
    pub async fn key(&self, header: &Header) -> Result<JwksKey, Error> {
        let (keys, due) = self.state(|s| {
            let due = s
                .fetched
                .is_none_or(|at| at.elapsed() >= self.refresh_every());
            (s.keys.clone(), due)
        });
        let known = !matches!(key_for(&keys, header), Err(NoKey::Unknown(_)));
        if known && !due {
            return self.chosen(&keys, header);
        }
        if self.may_fetch() {
            self.refresh(false).await;
        }
        let (keys, failure) = self.state(|s| (s.keys.clone(), s.failure.clone()));
        if keys.is_empty() {
            tracing::info!(issuer = self.name(), failure = ?failure, "no keys of the identity provider yet");
            return Err(Error::Unavailable(format!(
                "the identity provider {} cannot be reached: try again later",
                self.name()
            )));
        }
        self.chosen(&keys, header)
    }

    fn chosen(&self, keys: &Keys, header: &Header) -> Result<JwksKey, Error> {
        key_for(keys, header)
            .cloned()
            .map_err(|no| Refusal::bad(format!("{no} of {}", self.name())).into_error())
    }

    /// Fetches the discovery document and the keys; on failure the keys held stay. A fetch
    /// that someone else finished meanwhile is not repeated unless `force`.
    pub async fn refresh(&self, force: bool) {
        let asked = Instant::now();
        let _one = self.fetching.lock().await;
        if !force && self.state(|s| s.attempted.is_some_and(|at| at >= asked)) {
            return;
        }
        let fetched = self.fetch().await;
        self.state(|s| {
            s.attempted = Some(Instant::now());
            match fetched {
                Ok(keys) => {
                    s.keys = Arc::new(keys);
                    s.fetched = s.attempted;
                    s.failure = None;
                }
                Err(e) => {
                    tracing::warn!(
                        issuer = self.name(),
                        error = format!("{e:#}"),
                        kept = s.keys.len(),
                        "fetching the identity provider's keys failed"
                    );
                    s.failure = Some(format!("{e:#}"));
                }
            }
        });
    }

    async fn fetch(&self) -> anyhow::Result<Keys> {
        let url = self.settings.discovery();
        let discovery: Discovery = self
            .fetcher
            .get_json(&url)
            .await
            .with_context(|| format!("discovery {url}"))?;
        discovery
            .check_issuer(self.name())
            .with_context(|| format!("discovery {url}"))?;
        let jwks_uri = &discovery.jwks_uri;
        let document: serde_json::Value = self
            .fetcher
            .get_json(jwks_uri)
            .await
            .with_context(|| format!("JWKS {jwks_uri}"))?;
        let (keys, skipped) = parse_jwks(&document);
        for why in &skipped {
            tracing::info!(issuer = self.name(), skipped = %why, "JWKS key not used");
        }
        anyhow::ensure!(!keys.is_empty(), "JWKS {jwks_uri} has no usable key");
        tracing::info!(
            issuer = self.name(),
            keys = keys.len(),
            "identity provider's keys fetched"
        );
        Ok(keys)
    }

    /// Keeps the keys fresh until dropped: at once, then every `jwks_refresh_secs`; after a
    /// failure again after `min_refetch_secs` (at least a second), doubling up to the refresh.
    pub async fn keep_fresh(self: Arc<Self>) {
        let mut wait_after_failure = self.min_refetch().max(Duration::from_secs(1));
        loop {
            self.refresh(true).await;
            let failed = self.state(|s| s.failure.is_some());
            let wait = if failed {
                let wait = wait_after_failure;
                wait_after_failure = (wait_after_failure * 2).min(self.refresh_every());
                wait
            } else {
                wait_after_failure = self.min_refetch().max(Duration::from_secs(1));
                self.refresh_every()
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// How many keys are held.
    pub fn key_count(&self) -> usize {
        self.state(|s| s.keys.len())
    }

    /// Moves the last fetches `by` into the past, as if that much time went by.
    #[cfg(test)]
    pub fn age(&self, by: Duration) {
        self.state(|s| {
            let back = |at: Option<Instant>| at.map(|at| at.checked_sub(by).unwrap_or(at));
            s.fetched = back(s.fetched);
            s.attempted = back(s.attempted);
        });
    }
}
