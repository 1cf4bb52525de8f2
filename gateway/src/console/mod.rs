//! The web console on the gateway's listener, outside the gate (a page carries no token):
//! - its built files from `console.dir` for every GET and HEAD that is not gRPC: a file when
//!   there is one, else `index.html` (the console's own routes, such as `/complaints/123`);
//!   hashed files under `/assets/` cached for good, the rest revalidated, security headers on
//!   every answer; a file's `.gz` beside it (the console's build writes them) is sent instead
//!   to a browser that accepts gzip, so nothing is compressed while serving;
//! - `GET /console/config.json`: how the console signs staff in.

use std::{path::PathBuf, sync::Arc};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse as _, Response},
    routing::get,
};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use crate::auth::{DEV_ISSUER_PATH, OidcIssuerSettings};

/// Where the console reads its sign-in configuration.
pub const CONFIG_PATH: &str = "/console/config.json";
/// The hashed files of a build.
const ASSETS: &str = "/assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsoleSettings {
    /// The console's built files (`index.html`, `assets/`), relative to the working directory;
    /// empty: no console.
    pub dir: PathBuf,
    /// The company's OpenID providers the console signs staff in with.
    pub sign_in: Vec<SignInSettings>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("console/dist"),
            sign_in: Vec::new(),
        }
    }
}

/// One way to sign in offered by the console: a client of one of `[[auth.oidc]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignInSettings {
    /// What the sign-in button says, such as "公司账号".
    pub name: String,
    /// An issuer of `[[auth.oidc]]`.
    pub issuer: String,
    /// The console's client id at the provider: one of that issuer's audiences.
    pub client_id: String,
    pub scope: String,
}

impl Default for SignInSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            scope: "openid profile".into(),
        }
    }
}

impl ConsoleSettings {
    /// Refuses a sign-in whose ID tokens the gateway would refuse.
    pub fn check(&self, oidc: &[OidcIssuerSettings]) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for (i, s) in self.sign_in.iter().enumerate() {
            let place = format!("console.sign_in[{i}] ({:?})", s.name);
            if s.name.trim().is_empty() {
                problems.push(format!("{place}: name is empty"));
            }
            match oidc.iter().find(|p| p.issuer == s.issuer) {
                None => problems.push(format!(
                    "{place}: issuer {:?} is not an issuer of [[auth.oidc]]",
                    s.issuer
                )),
                Some(p) if !p.audiences.contains(&s.client_id) => problems.push(format!(
                    "{place}: client_id {:?} is not one of the audiences of {} in [[auth.oidc]]",
                    s.client_id, s.issuer
                )),
                Some(_) => {}
            }
        }
        anyhow::ensure!(
            problems.is_empty(),
            "the console's sign-in is not valid:\n  - {}",
            problems.join("\n  - ")
        );
        Ok(())
    }
}

/// `GET /console/config.json`; `dev_sign_in`: the development issuer is served.
pub fn config_router(settings: &ConsoleSettings, dev_sign_in: bool) -> Router {
    let providers: Vec<_> = settings
        .sign_in
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "issuer": s.issuer,
                "client_id": s.client_id,
                "scope": s.scope,
            })
        })
        .collect();
    let config = json!({
        "providers": providers,
        "dev_sign_in": dev_sign_in.then_some(DEV_ISSUER_PATH),
    })
    .to_string();
    Router::new().route(
        CONFIG_PATH,
        get(move || async move {
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                config,
            )
        }),
    )
}

/// The console's files, or none (said once) when `dir` is empty or holds no `index.html`.
/// `oidc`: the providers the pages may fetch from.
pub fn assets_router(settings: &ConsoleSettings, oidc: &[OidcIssuerSettings]) -> Option<Router> {
    let dir = &settings.dir;
    if dir.as_os_str().is_empty() {
        return None;
    }
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(
            dir = %dir.display(),
            "no web console is served: no index.html in console.dir (build it: npm run build in console/)"
        );
        return None;
    }
    tracing::info!(dir = %dir.display(), "serving the web console");
    let index = ServeFile::new(index).precompressed_gzip();
    // Not a file: the console's own route, answered by its page; a missing asset stays missing.
    let pages = tower::service_fn(move |request: Request| {
        let index = index.clone();
        async move {
            if request.uri().path().starts_with(ASSETS) {
                return Ok(StatusCode::NOT_FOUND.into_response());
            }
            index
                .oneshot(request)
                .await
                .map(|answer| answer.map(Body::new))
        }
    });
    let files = ServeDir::new(dir).precompressed_gzip().fallback(pages);
    let headers = Arc::new(Headers::new(oidc));
    Some(
        Router::new()
            .fallback_service(files)
            .layer(axum::middleware::from_fn_with_state(headers, with_headers)),
    )
}

/// The headers of every console answer.
struct Headers {
    csp: HeaderValue,
}

impl Headers {
    fn new(oidc: &[OidcIssuerSettings]) -> Self {
        let mut connect = vec!["'self'".to_owned()];
        for origin in oidc.iter().filter_map(|p| origin(&p.issuer)) {
            if !connect.contains(&origin) {
                connect.push(origin);
            }
        }
        let csp = format!(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
             connect-src {}; frame-ancestors 'none'",
            connect.join(" ")
        );
        Self {
            csp: HeaderValue::try_from(csp).expect("origins are checked ASCII"),
        }
    }
}

/// The origin (`https://host:port`) of a URL, if it is a plain http(s) one: the console
/// fetches a provider's discovery, keys and tokens there.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
    (!host.is_empty() && host.chars().all(plain)).then(|| format!("{scheme}://{host}"))
}

async fn with_headers(
    State(headers): State<Arc<Headers>>,
    request: Request,
    next: Next,
) -> Response {
    let asset = request.uri().path().starts_with(ASSETS);
    let mut answer = next.run(request).await;
    let status = answer.status();
    let kept = asset && (status.is_success() || status == StatusCode::NOT_MODIFIED);
    let set = answer.headers_mut();
    set.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if kept { IMMUTABLE } else { "no-cache" }),
    );
    set.insert(header::CONTENT_SECURITY_POLICY, headers.csp.clone());
    set.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Caches keep the gzip and the plain answer apart.
    set.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    answer
}

#[cfg(test)]
mod tests;
