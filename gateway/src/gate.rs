//! The gate every call passes: the bearer token verified (an OpenID provider's ID token and
//! the staff directory, or a script token of the static keys), the post chosen, then the
//! role and the `x-wuye-property` checked by the policy.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use tonic::{Status, transport::Channel};
use wuye_kit::identity::{Caller, PROPERTY_HEADER, Signed, Signer};
use wuye_proto::directory::staff_lookup_service_client::StaffLookupServiceClient;

use crate::{
    GatewaySettings, Policy,
    auth::{
        self, Authenticator, Fetcher, Issuer, OidcIssuerSettings, POST_HEADER, StaffDirectory,
        User, choose_post, reason,
    },
    proxy,
};

/// The package of the staff directory, whose upstream answers the gateway's sign-in lookups.
const DIRECTORY_PACKAGE: &str = "wuye.directory.v1";
/// The directory's service the gateway asks.
const STAFF_LOOKUP: &str = "wuye.directory.v1.StaffLookupService";

/// What the gate verified of a caller besides the [`Caller`], in a call's extensions beside
/// it: what `AccessService/GetMyAccess` tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Signed in as a person of the directory, not with a script token.
    pub person: bool,
    /// The properties of the token or the post (none for a headquarters post).
    pub properties: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct Gate {
    pub policy: Arc<Policy>,
    /// Script tokens; none when only OpenID providers are configured (outside development).
    pub keys: Option<Authenticator>,
    pub static_issuer: String,
    pub oidc: Option<Arc<auth::Oidc>>,
}

impl Gate {
    /// The gate of `settings`; `dev_issuer` is the development issuer's URL, when the gateway
    /// serves one.
    pub fn new(
        settings: &GatewaySettings,
        policy: Policy,
        signer: &Signer,
        tls: Option<&wuye_kit::tls::Tls>,
        dev_issuer: Option<&str>,
    ) -> anyhow::Result<Self> {
        let auth = &settings.auth;
        let keys = if auth.keys.is_empty() && !settings.dev && !auth.oidc.is_empty() {
            None
        } else {
            Some(Authenticator::new(auth, settings.dev)?)
        };
        let mut providers = auth.oidc.clone();
        if let Some(url) = dev_issuer {
            providers.push(OidcIssuerSettings {
                issuer: url.to_owned(),
                audiences: vec![auth::DEFAULT_AUDIENCE.into()],
                // The gateway fetches its own keys: no reason to wait long between fetches.
                min_refetch_secs: 1,
                ..OidcIssuerSettings::default()
            });
        }
        for provider in &providers {
            anyhow::ensure!(
                provider.issuer != auth.issuer,
                "auth.oidc: issuer {} is the script tokens' issuer (auth.issuer)",
                provider.issuer
            );
        }
        let oidc = if providers.is_empty() {
            None
        } else {
            Some(Arc::new(oidc(settings, &providers, signer, tls)?))
        };
        Ok(Self {
            policy: Arc::new(policy),
            keys,
            static_issuer: auth.issuer.clone(),
            oidc,
        })
    }

    /// The providers, for the task that keeps their keys fresh.
    pub fn issuers(&self) -> Vec<Arc<Issuer>> {
        self.oidc
            .iter()
            .flat_map(|o| o.issuers().cloned())
            .collect()
    }

    /// The verified caller of a call of `method` and their reach, or why it is refused.
    pub async fn check(
        &self,
        method: &str,
        headers: &http::HeaderMap,
    ) -> Result<(Caller, Reach), Status> {
        let token = auth::bearer(headers)?;
        let iss = auth::unverified_issuer(token)?;
        let property = headers.get(PROPERTY_HEADER).and_then(|v| v.to_str().ok());
        if let Some(oidc) = self.oidc.as_ref().filter(|o| o.knows(&iss)) {
            let person = oidc.authenticate(&iss, token).await?;
            // A value that is not text names no post held.
            let chosen = headers
                .get(POST_HEADER)
                .map(|v| v.to_str().unwrap_or("\u{fffd}"));
            let post = choose_post(&person, chosen)?;
            let user = User {
                user_id: person.person_id.clone(),
                name: person.name.clone(),
                role: post.role.clone(),
                properties: Some(post.property_id.clone())
                    .filter(|p| !p.is_empty())
                    .into_iter()
                    .collect(),
            };
            let reach = Reach {
                person: true,
                properties: user.properties.clone(),
            };
            let caller = caller_of(&self.policy, method, user, &post.post_id, property)?;
            return Ok((caller, reach));
        }
        match &self.keys {
            Some(keys) if iss == self.static_issuer => {
                let user = keys.authenticate(token)?;
                let reach = Reach {
                    person: false,
                    properties: user.properties.clone(),
                };
                Ok((caller_of(&self.policy, method, user, "", property)?, reach))
            }
            _ => Err(
                auth::Refusal::new(reason::UNKNOWN_ISSUER, "not a configured issuer")
                    .into_error()
                    .into(),
            ),
        }
    }
}

/// The OpenID providers of `providers` and the directory, asked over the gateway's upstream
/// of the directory as the gateway itself.
fn oidc(
    settings: &GatewaySettings,
    providers: &[OidcIssuerSettings],
    signer: &Signer,
    tls: Option<&wuye_kit::tls::Tls>,
) -> anyhow::Result<auth::Oidc> {
    let auth = &settings.auth;
    let fetcher = Fetcher::builder()
        .timeout(Duration::from_millis(auth.fetch_timeout_ms.max(1)))
        .max_bytes(auth.fetch_max_bytes)
        .plain_http_anywhere(settings.dev)
        .user_agent("wuye-gateway")
        .build()?;
    let issuers = providers
        .iter()
        .map(|p| Issuer::new(p, fetcher.clone()).map(Arc::new))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = directory_client(settings, signer, tls)?;
    if client.is_none() {
        tracing::warn!(
            "no upstream serves {DIRECTORY_PACKAGE}: OpenID sign-ins are refused until one does"
        );
    }
    let directory = StaffDirectory::new(
        client,
        Duration::from_secs(auth.directory_cache_secs),
        Duration::from_millis(settings.upstream_timeout_ms.max(1)),
    );
    auth::Oidc::new(
        issuers,
        directory,
        auth.leeway_secs,
        auth.max_lifetime_secs,
        auth.directory_cache_secs,
    )
}

/// The directory's lookup service over its upstream, each call signed as the gateway itself;
/// none without an upstream.
pub(crate) fn directory_client(
    settings: &GatewaySettings,
    signer: &Signer,
    tls: Option<&wuye_kit::tls::Tls>,
) -> anyhow::Result<Option<StaffLookupServiceClient<Signed<Channel>>>> {
    directory_upstream(&settings.upstreams)
        .map(|address| {
            let channel = wuye_kit::follow::peer_channel(address, tls)?;
            Ok(StaffLookupServiceClient::new(
                signer.channel(channel, wuye_kit::staff::DIRECTORY),
            ))
        })
        .transpose()
}

/// The upstream with the longest package prefix of the directory's lookup service.
fn directory_upstream(upstreams: &BTreeMap<String, String>) -> Option<&str> {
    upstreams
        .iter()
        .filter(|(prefix, _)| {
            STAFF_LOOKUP
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, address)| address.as_str())
}

/// The gate's reading of a script token's call: the bearer token verified with the static
/// keys, then the role and the `x-wuye-property` checked by the policy. Public for the fuzz
/// targets (`fuzz/`).
pub fn check_metadata(
    policy: &Policy,
    auth: &Authenticator,
    method: &str,
    headers: &http::HeaderMap,
) -> wuye_kit::Result<Caller> {
    let user = auth.authenticate_headers(headers)?;
    let property = headers.get(PROPERTY_HEADER).and_then(|v| v.to_str().ok());
    caller_of(policy, method, user, "", property)
}

/// The caller `user` (acting in `post_id`) is for a call of `method` on `property`, if the
/// policy allows it.
fn caller_of(
    policy: &Policy,
    method: &str,
    user: User,
    post_id: &str,
    property: Option<&str>,
) -> wuye_kit::Result<Caller> {
    let property = policy.authorize(method, &user, property)?;
    Ok(Caller {
        post_id: post_id.to_owned(),
        in_full: policy.in_full(method, &user.role),
        user_id: user.user_id,
        name: user.name,
        role: user.role,
        property,
    })
}

/// Public methods pass; every other call needs a valid token and the policy's consent. The
/// verified caller goes on in the request's extensions, for the proxy to sign.
pub(crate) async fn admit(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    request
        .extensions_mut()
        .insert(proxy::Arrival(tokio::time::Instant::now()));
    let method = request.uri().path().trim_start_matches('/').to_owned();
    if gate.policy.is_public(&method) {
        return next.run(request).await;
    }
    match gate.check(&method, request.headers()).await {
        Ok((caller, reach)) => {
            wuye_kit::rpc::record_caller_role(&caller.role);
            request.extensions_mut().insert(caller);
            request.extensions_mut().insert(reach);
            next.run(request).await
        }
        Err(status) => {
            tracing::info!(%method, code = ?status.code(), error = status.message(), "call refused");
            status.into_http()
        }
    }
}
