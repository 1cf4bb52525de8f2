//! Calling the gateway as a user: the address, the bearer token, the property and the post of
//! the call, as the command line gives them; the connection itself is wuye-client's. Without
//! `--token`, the sign-in of `wuye login` is used ([`credentials`]), renewed with its refresh
//! token when it expires soon ([`oidc::refresh`]).

pub mod credentials;
pub mod oidc;

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use credentials::Credentials;
use wuye_kit::identity::POST_HEADER;

/// Where and as whom a client command calls.
#[derive(Args)]
pub struct Target {
    /// The gateway's address.
    #[arg(
        long,
        env = "WUYE_GATEWAY",
        default_value = "http://127.0.0.1:50050",
        global = true
    )]
    pub gateway: String,
    /// A bearer token (`wuye token`); without one, the sign-in of `wuye login`.
    #[arg(long, env = "WUYE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// The property the call works on.
    #[arg(
        long,
        env = "WUYE_PROPERTY",
        default_value = "sunshine-garden",
        global = true
    )]
    pub property: String,
    /// The CA certificate (PEM) the gateway's TLS certificate is checked against, for an
    /// `https://` gateway.
    #[arg(long, env = "WUYE_GATEWAY_CA", global = true)]
    pub ca: Option<PathBuf>,
    /// The post to act in (`wuye whoami` lists them), for a person with several; by default
    /// the one `wuye login --post` remembered.
    #[arg(long, env = "WUYE_POST", global = true)]
    pub post: Option<String>,
}

/// A connection to the gateway, as every generated client takes it.
pub type Authed = wuye_client::Connection;

impl Target {
    /// The client configuration of this target (retrying with the default policy).
    pub fn config(&self) -> anyhow::Result<wuye_client::Config> {
        let mut config = wuye_client::Config::new(&self.gateway).property(&self.property);
        config.token = self.token.clone();
        if self.gateway.starts_with("https://") {
            let ca = self.ca.as_ref().context(
                "an https:// gateway needs its CA certificate: --ca FILE or WUYE_GATEWAY_CA",
            )?;
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            config = config.ca_pem(pem);
        }
        if let Some(post) = &self.post {
            config = config.metadata(POST_HEADER, post);
        }
        Ok(config)
    }

    /// A connection to the gateway, connected now: with `--token`, or else as signed in with
    /// `wuye login` (renewed first when the sign-in expires soon).
    pub async fn channel(&self) -> anyhow::Result<Authed> {
        self.channel_over(self.config()?).await
    }

    /// [`Target::channel`] for calls about the caller, not a property (`wuye whoami`): no
    /// `x-wuye-property`, so a post at another property than `--property` answers too.
    pub async fn channel_unscoped(&self) -> anyhow::Result<Authed> {
        let mut config = self.config()?;
        config.property = None;
        self.channel_over(config).await
    }

    async fn channel_over(&self, mut config: wuye_client::Config) -> anyhow::Result<Authed> {
        if config.token.is_none()
            && let Some(signed_in) = self.signed_in().await?
        {
            config.token = Some(signed_in.id_token);
            if let (None, Some(post)) = (&self.post, &signed_in.post) {
                config = config.metadata(POST_HEADER, post);
            }
        }
        connect(&config).await
    }

    /// The HTTP client of signing in, trusting the gateway's CA too.
    pub fn http(&self) -> anyhow::Result<wuye_kit::http::Client> {
        sign_in_client(self.ca.as_deref())
    }

    /// The sign-in of `wuye login`, renewed (and kept) when it expires within a minute; none
    /// when nobody signed in.
    pub async fn signed_in(&self) -> anyhow::Result<Option<Credentials>> {
        let Ok(path) = credentials::path() else {
            return Ok(None);
        };
        let Some(stored) = credentials::load(&path)? else {
            return Ok(None);
        };
        let now = chrono::Utc::now().timestamp();
        if !stored.needs_refresh(now) {
            return Ok(Some(stored));
        }
        if stored.refresh_token.is_none() {
            anyhow::ensure!(!stored.expired(now), "{}", expired_message(&stored));
            return Ok(Some(stored));
        }
        match oidc::refresh(&self.http()?, &stored).await {
            Ok(renewed) => {
                credentials::save(&path, &renewed)?;
                Ok(Some(renewed))
            }
            Err(e) => {
                // Another command may have renewed it meanwhile (refresh tokens are used once).
                if let Some(newer) = credentials::load(&path)?
                    && newer.id_token != stored.id_token
                    && !newer.expired(now)
                {
                    return Ok(Some(newer));
                }
                // Still valid for a few seconds: this call goes through, the next one retries.
                if stored.expired(now) {
                    Err(e)
                } else {
                    Ok(Some(stored))
                }
            }
        }
    }
}

/// The HTTP client of signing in, trusting the CA certificate (PEM) `ca` too; plain http goes
/// to any host (a development gateway): [`oidc`] checks the issuers' URLs.
pub fn sign_in_client(ca: Option<&std::path::Path>) -> anyhow::Result<wuye_kit::http::Client> {
    let ca = ca
        .map(|ca| std::fs::read(ca).with_context(|| format!("reading {}", ca.display())))
        .transpose()?;
    wuye_kit::http::Client::builder()
        .ca_pem(ca.as_deref())
        .plain_http_anywhere(true)
        .build()
}

/// What to do when a sign-in without a refresh token expired.
fn expired_message(stored: &Credentials) -> String {
    if stored.development {
        "开发登录已过期：请重新运行 wuye login --dev <登录名>".to_owned()
    } else {
        "登录已过期：请重新运行 wuye login".to_owned()
    }
}

/// A connection to the gateway of `config`, connected now.
pub async fn connect(config: &wuye_client::Config) -> anyhow::Result<Authed> {
    match config.connect().await {
        Ok(connection) => Ok(connection),
        Err(wuye_client::Error::Unreachable { address, source }) => {
            Err(anyhow::Error::new(source)
                .context(format!("cannot reach the gateway at {address}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes a call and turns a refusal into a readable error, with the reason of the rule
/// (`Code: message [REASON]`, [`wuye_client::describe`]).
pub async fn call<T>(
    response: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> anyhow::Result<T> {
    wuye_client::call(response)
        .await
        .map_err(|refused| match posts_to_choose(&refused.0) {
            Some(choose) => anyhow::anyhow!(choose),
            None => refused.into(),
        })
}

/// For a person with several posts who named none (`POST_REQUIRED`): the posts the gateway
/// lists, and how to choose one.
fn posts_to_choose(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt as _;
    let info = status.get_details_error_info()?;
    if info.reason != "POST_REQUIRED" {
        return None;
    }
    let mut text = format!(
        "你有 {} 个岗位：用 --post <岗位编号> (或 WUYE_POST) 选择本次所用的岗位 [POST_REQUIRED]",
        info.metadata.len()
    );
    let mut posts: Vec<_> = info.metadata.iter().collect();
    posts.sort();
    for (post_id, post) in posts {
        text.push_str(&format!("\n  {post_id}  {post}"));
    }
    Some(text)
}
