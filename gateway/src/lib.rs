//! The wuye gateway: the one door of the system. It authenticates callers (bearer JWT: an ID
//! token of the company's OpenID provider, the person and their post looked up in the staff
//! directory, or a script token of the static keys; see [`auth`]), authorizes each call by
//! the policy file (role and property scope, deny by default) and
//! forwards it untouched to the department service of its package, with the verified caller
//! as a short-lived signed internal identity and the call's trace context. It speaks gRPC and
//! gRPC-Web, and serves the web console ([`console`]) beside them.

pub mod access;
pub mod auth;
pub mod console;
pub mod cors;
mod gate;
pub mod limits;
pub mod policy;
pub mod portfolio;
pub mod proxy;
pub mod relay;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

use axum::extract::Request;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::service::Routes;
use wuye_kit::{IdentitySettings, identity::GATEWAY, server::Server, telemetry::TelemetrySettings};

pub use auth::{
    AuthSettings, Authenticator, Claims, KeyAlgorithm, OidcAlgorithm, OidcIssuerSettings,
    POST_HEADER, User, VerifyKey, sign_dev_token, sign_token,
};
pub use gate::{Reach, check_metadata};
pub use policy::Policy;
pub use proxy::Proxy;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewaySettings {
    /// Development: keys left unset are the public development keys of deploy/dev-keys,
    /// announced at start-up. Off, the gateway refuses to start without its own keys, or with
    /// a public one.
    pub dev: bool,
    /// Address the gateway listens on.
    pub listen: String,
    /// The authorization policy.
    pub policy_file: PathBuf,
    pub telemetry: TelemetrySettings,
    /// The gateway's own key, which signs the internal identities of the calls it forwards
    /// (`identity.signing_key`; the departments hold its public key).
    pub identity: IdentitySettings,
    pub auth: AuthSettings,
    /// Protobuf package prefix (such as "wuye.customerservice.v1") → upstream address; the
    /// longest prefix of a call's service wins.
    pub upstreams: BTreeMap<String, String>,
    /// Longest wait for an upstream's answer once the request is sent, in milliseconds; past
    /// it the caller gets `UNAVAILABLE`. The caller's own `grpc-timeout` covers the whole call
    /// and is passed on; past it the caller gets `DEADLINE_EXCEEDED`.
    pub upstream_timeout_ms: u64,
    /// The largest message taken or given, in bytes (at most 4 MiB).
    pub max_message_bytes: usize,
    /// Bounds on each caller's calls.
    pub limits: limits::LimitSettings,
    /// The escalation relay from customer service to the quality department and back.
    pub relay: relay::RelaySettings,
    /// Other deployments' gateways whose portfolios this gateway merges into its own (a
    /// headquarters gateway), by name → address.
    pub portfolio_upstreams: BTreeMap<String, String>,
    /// A portfolio source that has not answered by then is left out and named, in
    /// milliseconds.
    pub portfolio_deadline_ms: u64,
    /// Browser origins allowed to call over gRPC-Web; none by default.
    pub cors: cors::CorsSettings,
    /// TLS: the gateway's certificate and key, and the CA of the deployment (see
    /// `wuye_kit::tls`). When set, the listener serves TLS (ALPN `h2` and `http/1.1`, no client
    /// certificate asked) and every upstream is called over mutual TLS at an `https://`
    /// address. Off by default; all three files or none.
    pub tls: wuye_kit::tls::TlsSettings,
    /// Address of a plaintext listener serving only the gRPC health service, for probes that
    /// cannot speak TLS (the kubelet's gRPC probes); empty: none.
    pub health_listen: String,
    /// The web console's files and how it signs staff in.
    pub console: console::ConsoleSettings,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        let upstreams = [
            ("wuye.customerservice.v1", "http://127.0.0.1:50051"),
            ("wuye.engineering.v1", "http://127.0.0.1:50052"),
            ("wuye.archives.v1", "http://127.0.0.1:50053"),
            ("wuye.quality.v1", "http://127.0.0.1:50054"),
            ("wuye.directory.v1", "http://127.0.0.1:50055"),
        ];
        Self {
            dev: false,
            listen: "127.0.0.1:50050".into(),
            policy_file: PathBuf::from("deploy/policy.toml"),
            telemetry: TelemetrySettings::default(),
            identity: IdentitySettings::default(),
            auth: AuthSettings::default(),
            upstreams: upstreams
                .into_iter()
                .map(|(package, address)| (package.into(), address.into()))
                .collect(),
            upstream_timeout_ms: 10_000,
            max_message_bytes: wuye_kit::message_size::DEFAULT_MAX_MESSAGE_BYTES,
            limits: Default::default(),
            relay: Default::default(),
            portfolio_upstreams: Default::default(),
            portfolio_deadline_ms: 5_000,
            cors: Default::default(),
            tls: Default::default(),
            health_listen: String::new(),
            console: Default::default(),
        }
    }
}

/// Assembles the gateway on `listener`: loads and checks the policy and the keys, and
/// refuses to start when a policy method has no upstream. Run the returned server.
///
/// In development (without TLS, unless `auth.dev_sign_in` is off) the server also answers
/// the development sign-in's plain HTTP routes (see [`auth::DevIssuer`]). It serves the web
/// console's files and configuration (see [`console`]).
pub async fn build(settings: GatewaySettings, listener: TcpListener) -> anyhow::Result<Server> {
    if settings.dev {
        wuye_kit::dev::announce(GATEWAY);
    }
    let policy = Policy::load(&settings.policy_file)?;
    settings.console.check(&settings.auth.oidc)?;
    let signer = settings.identity.signer(GATEWAY, settings.dev)?;
    let tls = settings.tls.load(GATEWAY)?;
    let dev_issuer = dev_issuer(&settings, &listener, tls.is_some())?;
    let dev_issuer_url = dev_issuer.as_ref().map(|i| i.issuer().to_owned());
    let gate = gate::Gate::new(
        &settings,
        policy,
        &signer,
        tls.as_ref(),
        dev_issuer_url.as_deref(),
    )?;
    let proxy = Proxy::new(
        &settings.upstreams,
        Duration::from_millis(settings.upstream_timeout_ms),
        signer.clone(),
        tls.as_ref(),
    )?;
    let unrouted: Vec<&str> = gate
        .policy
        .methods()
        .filter(|m| !proxy.routes(m) && !portfolio::serves(m) && !access::serves(m))
        .collect();
    anyhow::ensure!(
        unrouted.is_empty(),
        "no upstream serves {} (configure upstreams)",
        unrouted.join(", ")
    );
    anyhow::ensure!(
        settings.upstream_timeout_ms > 0,
        "upstream_timeout_ms must be positive"
    );
    let limits = limits::LimitLayer::new(Arc::new(limits::Limiter::new(settings.limits.clone())?));
    let server = server(&settings, listener, &gate, &signer, tls.clone()).await?;
    let mut server = http_routes(server, &settings, dev_issuer, &signer, tls.as_ref())?;
    for issuer in gate.issuers() {
        server = server.with_task(issuer.keep_fresh());
    }
    if let Some(relay) =
        relay::Relay::new(&settings.relay, &settings.upstreams, &signer, tls.as_ref())?
    {
        server = server.with_task(relay.run());
    }
    Ok(server.wrap_routes(move |routes| {
        // The gateway's own health and reflection stay routes; every other path is proxied.
        // The gate wraps both, so nothing is served that the policy does not allow; inside it
        // each verified caller's calls are limited.
        let router = routes
            .into_axum_router()
            .fallback(move |request: Request| async move { proxy.forward(request).await })
            .layer(limits)
            .layer(axum::middleware::from_fn_with_state(gate, gate::admit));
        Routes::from(router)
    }))
}

/// The plain HTTP beside gRPC: the development issuer (or, without it, not found under its
/// path), the console's configuration and its files.
fn http_routes(
    server: Server,
    settings: &GatewaySettings,
    dev_issuer: Option<auth::DevIssuer>,
    signer: &wuye_kit::identity::Signer,
    tls: Option<&wuye_kit::tls::Tls>,
) -> anyhow::Result<Server> {
    let dev = dev_issuer.is_some();
    let mut server = match dev_issuer {
        Some(issuer) => {
            let people = auth::dev_people::router(
                gate::directory_client(settings, signer, tls)?,
                Duration::from_millis(settings.upstream_timeout_ms.max(1)),
            );
            server.http_routes(auth::DEV_ISSUER_PATH, issuer.router().merge(people))
        }
        None => server.http_routes(auth::DEV_ISSUER_PATH, auth::dev_issuer_absent()),
    };
    server = server.http_reads(
        console::CONFIG_PATH,
        console::config_router(&settings.console, dev),
    );
    if let Some(assets) = console::assets_router(&settings.console, &settings.auth.oidc) {
        server = server.http_reads("/", assets);
    }
    Ok(server)
}

/// The development issuer, in development without TLS unless `auth.dev_sign_in` is off.
fn dev_issuer(
    settings: &GatewaySettings,
    listener: &TcpListener,
    tls: bool,
) -> anyhow::Result<Option<auth::DevIssuer>> {
    if !settings.dev || !settings.auth.dev_sign_in {
        return Ok(None);
    }
    if tls {
        tracing::warn!("development sign-in is off: it is not served over TLS");
        return Ok(None);
    }
    let issuer = auth::DevIssuer::new(
        auth::dev_issuer_url(listener.local_addr()?),
        Duration::from_secs(settings.auth.dev_token_ttl_secs),
    )?;
    tracing::warn!(
        issuer = issuer.issuer(),
        "DEVELOPMENT SIGN-IN: POST {}/token with sign_in=<a person's sign_in> gives anyone \
         an ID token of this gateway's development issuer; never use this with real data",
        issuer.issuer()
    );
    Ok(Some(issuer))
}

/// The gateway's server on `listener`, with gRPC-Web, CORS, reflection of what users can
/// reach, the portfolio and the access service.
async fn server(
    settings: &GatewaySettings,
    listener: TcpListener,
    gate: &gate::Gate,
    signer: &wuye_kit::identity::Signer,
    tls: Option<wuye_kit::tls::Tls>,
) -> anyhow::Result<Server> {
    let cors = cors::layer(&settings.cors)?;
    let reachable = gate.policy.reachable_services();
    let portfolio = portfolio::PortfolioServer::new(
        &settings.upstreams,
        &settings.portfolio_upstreams,
        Duration::from_millis(settings.portfolio_deadline_ms.max(1)),
        signer.clone(),
        tls.as_ref(),
    )?;
    // gRPC-Web too, for browser-based internal apps: translated to gRPC before the gate, so
    // it is authorized and forwarded like any call.
    Ok(Server::new("gateway", listener)
        .max_message_bytes(settings.max_message_bytes)?
        // Callers prove who they are with their token: no client certificate is asked.
        .tls(tls, wuye_kit::tls::ClientCerts::NotAsked)
        .health_on(&settings.health_listen)
        .await?
        .accept_grpc_web()
        // Outside the gate: a preflight carries no token.
        .with_cors(cors)
        // Reflection shows what users can reach, not the event stream or the relay's methods.
        .reflect_only(reachable)
        .add_service(portfolio.service())
        .add_service(access::AccessServer::new(gate.policy.clone()).service()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_example_configuration_loads_with_the_defaults() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/gateway.example.toml");
        let settings: GatewaySettings = wuye_kit::config::load("gateway", Some(&file)).unwrap();
        let defaults = GatewaySettings::default();
        assert_eq!(settings.listen, defaults.listen);
        assert_eq!(settings.upstreams, defaults.upstreams);
        assert_eq!(settings.upstream_timeout_ms, defaults.upstream_timeout_ms);
        assert_eq!(settings.max_message_bytes, defaults.max_message_bytes);
        assert_eq!(
            format!("{:?}", settings.limits),
            format!("{:?}", defaults.limits)
        );
        assert_eq!(settings.auth.leeway_secs, defaults.auth.leeway_secs);
        assert!(settings.dev, "the example runs in development");
        assert!(settings.auth.keys.is_empty());
        assert_eq!(
            settings.auth.max_lifetime_secs,
            defaults.auth.max_lifetime_secs
        );
        assert!(Authenticator::new(&settings.auth, settings.dev).is_ok());
        assert!(Authenticator::new(&settings.auth, false).is_err());
        let auth = &settings.auth;
        let default = &defaults.auth;
        assert!(auth.oidc.is_empty());
        assert_eq!(auth.directory_cache_secs, default.directory_cache_secs);
        assert_eq!(auth.fetch_timeout_ms, default.fetch_timeout_ms);
        assert_eq!(auth.fetch_max_bytes, default.fetch_max_bytes);
        assert_eq!(auth.dev_token_ttl_secs, default.dev_token_ttl_secs);
        assert_eq!(auth.dev_sign_in, default.dev_sign_in);
        // The commented provider, as written, is the defaults plus issuer and audiences.
        let text = std::fs::read_to_string(&file).unwrap();
        let provider = commented(&text, "# [[auth.oidc]]\n");
        #[derive(Deserialize)]
        struct Oidc {
            auth: AuthSettings,
        }
        let parsed: Oidc = toml::from_str(&provider).unwrap();
        let example = &parsed.auth.oidc[0];
        assert_eq!(
            example,
            &OidcIssuerSettings {
                issuer: example.issuer.clone(),
                audiences: example.audiences.clone(),
                ..OidcIssuerSettings::default()
            }
        );
        // The console: the default directory; the commented sign-in, a client of the
        // commented provider with the default scope.
        assert_eq!(settings.console.dir, defaults.console.dir);
        assert!(settings.console.sign_in.is_empty());
        let sign_in = commented(&text, "# [[console.sign_in]]\n");
        #[derive(Deserialize)]
        struct SignIn {
            console: console::ConsoleSettings,
        }
        let console: SignIn = toml::from_str(&sign_in).unwrap();
        let console = console.console;
        assert_eq!(
            console.sign_in[0].scope,
            console::SignInSettings::default().scope
        );
        console.check(&parsed.auth.oidc).unwrap();
    }

    /// The commented table starting with `start` in `text`, uncommented.
    fn commented(text: &str, start: &str) -> String {
        let at = text.find(start).unwrap();
        text[at..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.strip_prefix("# ").unwrap_or_default())
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
