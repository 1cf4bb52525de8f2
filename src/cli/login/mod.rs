//! `wuye login` and `wuye logout`: signing in through the company's OpenID provider (the
//! authorization code flow with PKCE on a loopback redirect), or the gateway's development
//! sign-in; the sign-in is kept for the next commands (wuye::connect::credentials).

mod loopback;

use std::time::Duration;

use clap::Args;
use wuye::connect::{
    credentials::{self, Credentials},
    oidc::{self, Authorization},
    sign_in_client,
};
use wuye_kit::http::Client as Http;

use super::output::say;

/// How long the browser may take to come back.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Args)]
pub struct LoginArgs {
    /// The gateway the sign-in is for (the development sign-in asks it).
    #[arg(long, env = "WUYE_GATEWAY", default_value = "http://127.0.0.1:50050")]
    gateway: String,
    /// The CA certificate (PEM) of an `https://` gateway or provider, besides the system's.
    #[arg(long, env = "WUYE_GATEWAY_CA")]
    ca: Option<std::path::PathBuf>,
    /// The post to act in by default, for a person with several (`wuye whoami` lists them).
    #[arg(long, env = "WUYE_POST")]
    post: Option<String>,
    /// The issuer URL of the company's OpenID provider (such as
    /// `https://sso.example.com/realms/wuye`); by default the one of the last sign-in.
    #[arg(long, env = "WUYE_OIDC_ISSUER")]
    issuer: Option<String>,
    /// The client id wuye is registered with at the provider (a public client, with the
    /// redirect URI `http://127.0.0.1/callback` on any port).
    #[arg(long, env = "WUYE_OIDC_CLIENT_ID", default_value = "wuye")]
    client_id: String,
    /// Print the address to open instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// The development sign-in of a gateway in development mode (`wuye up`), as the person
    /// the directory knows by this sign-in: no identity provider, no password.
    #[arg(long, value_name = "SIGN_IN")]
    dev: Option<String>,
}

#[derive(Args)]
pub struct LogoutArgs {}

impl LoginArgs {
    /// The HTTP client of the sign-in, trusting `--ca` too.
    fn http(&self) -> anyhow::Result<Http> {
        sign_in_client(self.ca.as_deref())
    }
}

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let http = args.http()?;
    let path = credentials::path()?;
    let last_issuer = || -> anyhow::Result<Option<String>> {
        let last = credentials::load(&path)?;
        Ok(last.filter(|c| !c.development).map(|c| c.issuer))
    };
    let issuer = match &args.issuer {
        Some(issuer) => Some(issuer.clone()),
        None => last_issuer()?,
    };
    let mut signed_in = match (&args.dev, &issuer) {
        (Some(sign_in), _) => {
            say!(
                "开发登录 (development sign-in)：由网关 {} 的开发签发方签发，不经过公司的身份提供方，\
                 仅在开发模式下可用。",
                args.gateway
            );
            oidc::dev_sign_in(&http, &args.gateway, sign_in).await?
        }
        (None, Some(issuer)) => browser_sign_in(&args, &http, issuer).await?,
        (None, None) => {
            anyhow::bail!(
                "需要 --issuer <公司身份提供方的地址> (或 WUYE_OIDC_ISSUER)，开发时 --dev <登录名>"
            )
        }
    };
    signed_in.gateway = Some(args.gateway.clone());
    signed_in.post = args.post.clone();
    credentials::save(&path, &signed_in)?;
    report(&signed_in, &path);
    Ok(())
}

/// The authorization code flow: the loopback, the URL to open, the code, the tokens.
async fn browser_sign_in(
    args: &LoginArgs,
    http: &Http,
    issuer: &str,
) -> anyhow::Result<Credentials> {
    let issuer = oidc::discover(http, issuer).await?;
    let loopback = loopback::Loopback::bind().await?;
    let authorization = Authorization::start(&issuer, &args.client_id, &loopback.redirect_uri()?)?;
    say!("在浏览器中打开以下地址登录 (open this address to sign in):");
    say!("{}", authorization.url);
    if !args.no_browser {
        open_browser(&authorization.url);
    }
    let code = loopback
        .wait(SIGN_IN_TIMEOUT, |callback| {
            authorization.code(&issuer, callback)
        })
        .await?;
    authorization
        .exchange(http, &issuer, &args.client_id, code)
        .await
}

/// Tries the desktop's browser; without one, the printed address is there to copy.
fn open_browser(url: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        say!("(没有找到浏览器：请手动打开上面的地址)");
    }
}

fn report(signed_in: &Credentials, path: &std::path::Path) {
    let who = if signed_in.name.is_empty() || signed_in.name == signed_in.subject {
        signed_in.subject.clone()
    } else {
        format!("{} ({})", signed_in.name, signed_in.subject)
    };
    let until = chrono::DateTime::from_timestamp(signed_in.expires_at, 0)
        .map(|t| {
            t.with_timezone(&super::output::ZONE)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    let renewal = if signed_in.refresh_token.is_some() {
        "，到期前自动续期"
    } else {
        ""
    };
    say!("已登录：{who}，签发方 {}", signed_in.issuer);
    say!("令牌有效至 {until}{renewal}；凭据保存在 {}", path.display());
    if let Some(post) = &signed_in.post {
        say!("默认岗位：{post}");
    }
}

pub fn logout(_args: LogoutArgs) -> anyhow::Result<()> {
    let path = credentials::path()?;
    if credentials::remove(&path)? {
        say!("已退出登录：删除了 {}", path.display());
    } else {
        say!("没有登录 ({} 不存在)", path.display());
    }
    Ok(())
}
