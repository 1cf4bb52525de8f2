//! The wuye gateway: the one door of the system. It authenticates users (bearer JWT),
//! authorizes each call by the policy file (role and property scope, deny by default) and
//! forwards it untouched to the department service of its package, with the verified caller
//! as a short-lived signed internal identity and the call's trace context. It speaks gRPC and
//! gRPC-Web.

pub mod auth;
pub mod cors;
pub mod limits;
pub mod policy;
pub mod portfolio;
pub mod proxy;
pub mod relay;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tonic::{Status, service::Routes};
use wuye_kit::{
    IdentitySettings,
    identity::{Caller, GATEWAY, PROPERTY_HEADER},
    server::Server,
    telemetry::TelemetrySettings,
};

pub use auth::{
    AuthSettings, Authenticator, Claims, KeyAlgorithm, User, VerifyKey, sign_dev_token, sign_token,
};
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
        }
    }
}

/// Assembles the gateway on `listener`: loads and checks the policy and the keys, and
/// refuses to start when a policy method has no upstream. Run the returned server.
pub async fn build(settings: GatewaySettings, listener: TcpListener) -> anyhow::Result<Server> {
    if settings.dev {
        wuye_kit::dev::announce(GATEWAY);
    }
    let policy = Policy::load(&settings.policy_file)?;
    let auth = Authenticator::new(&settings.auth, settings.dev)?;
    let signer = settings.identity.signer(GATEWAY, settings.dev)?;
    let tls = settings.tls.load(GATEWAY)?;
    let proxy = Proxy::new(
        &settings.upstreams,
        Duration::from_millis(settings.upstream_timeout_ms),
        signer.clone(),
        tls.as_ref(),
    )?;
    let unrouted: Vec<&str> = policy
        .methods()
        .filter(|m| !proxy.routes(m) && !portfolio::serves(m))
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
    let gate = Gate {
        policy: Arc::new(policy),
        auth,
    };
    let cors = cors::layer(&settings.cors)?;
    let reachable = gate.policy.reachable_services();
    // gRPC-Web too, for browser-based internal apps: translated to gRPC before the gate, so
    // it is authorized and forwarded like any call.
    let mut server = Server::new("gateway", listener)
        .max_message_bytes(settings.max_message_bytes)?
        // Callers prove who they are with their token: no client certificate is asked.
        .tls(tls.clone(), wuye_kit::tls::ClientCerts::NotAsked)
        .health_on(&settings.health_listen)
        .await?
        .accept_grpc_web()
        // Outside the gate: a preflight carries no token.
        .with_cors(cors)
        // Reflection shows what users can reach, not the event stream or the relay's methods.
        .reflect_only(reachable)
        .add_service(
            portfolio::PortfolioServer::new(
                &settings.upstreams,
                &settings.portfolio_upstreams,
                Duration::from_millis(settings.portfolio_deadline_ms.max(1)),
                signer.clone(),
                tls.as_ref(),
            )?
            .service(),
        );
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
            .layer(axum::middleware::from_fn_with_state(gate, admit));
        Routes::from(router)
    }))
}

#[derive(Clone)]
struct Gate {
    policy: Arc<Policy>,
    auth: Authenticator,
}

impl Gate {
    fn check(&self, method: &str, headers: &http::HeaderMap) -> wuye_kit::Result<Caller> {
        check_metadata(&self.policy, &self.auth, method, headers)
    }
}

/// The gate's reading of a call's metadata: the bearer token verified, then the role and the
/// `x-wuye-property` checked by the policy. Public for the fuzz targets (`fuzz/`).
pub fn check_metadata(
    policy: &Policy,
    auth: &Authenticator,
    method: &str,
    headers: &http::HeaderMap,
) -> wuye_kit::Result<Caller> {
    let user = auth.authenticate_headers(headers)?;
    let property = headers.get(PROPERTY_HEADER).and_then(|v| v.to_str().ok());
    let property = policy.authorize(method, &user, property)?;
    Ok(Caller {
        post_id: String::new(),
        in_full: policy.in_full(method, &user.role),
        user_id: user.user_id,
        name: user.name,
        role: user.role,
        property,
    })
}

/// Public methods pass; every other call needs a valid token and the policy's consent. The
/// verified caller goes on in the request's extensions, for the proxy to sign.
async fn admit(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    request
        .extensions_mut()
        .insert(proxy::Arrival(tokio::time::Instant::now()));
    let method = request.uri().path().trim_start_matches('/').to_owned();
    if gate.policy.is_public(&method) {
        return next.run(request).await;
    }
    match gate.check(&method, request.headers()) {
        Ok(caller) => {
            wuye_kit::rpc::record_caller_role(&caller.role);
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => {
            tracing::info!(%method, error = %e, "call refused");
            Status::from(e).into_http()
        }
    }
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
    }
}
