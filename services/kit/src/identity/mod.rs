//! The verified caller. The gateway authenticates users and passes each call on with an
//! internal identity signed with its own Ed25519 key; departments hold only its public key,
//! so no department can speak for a user. An identity names the service it is for and the
//! method, and lives a few seconds: seen on the wire, it opens nothing else. A department's
//! own calls to another (following its events) carry the department's identity, signed with
//! the department's own key, and the other accepts those for the event stream only. Health
//! and reflection stay open for probes and tools.

use std::{
    collections::{BTreeMap, HashMap},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::Status;
use tower::{Layer, Service};

use crate::{Error, Result, config::Secret, dev};

/// Metadata key carrying the internal identity from the gateway to a service.
pub const IDENTITY_HEADER: &str = "x-wuye-identity";
/// Metadata key naming the property a call works on; the gateway checks it against the
/// token's scope and services check it against the message's `property_id`.
pub const PROPERTY_HEADER: &str = "x-wuye-property";
/// Metadata key naming the post a signed-in person acts in, for a person with several.
pub const POST_HEADER: &str = "x-wuye-post";

/// The name the gateway signs as: identities of users come only from it.
pub const GATEWAY: &str = "gateway";
/// The role of a wuye component calling as itself.
pub const SERVICE_ROLE: &str = "service";
/// What a department may call on another as itself: the event stream, and the directory's
/// check of the staff a request names.
const PEER_METHODS: &[&str] = &[
    "/wuye.events.v1.EventService/Subscribe",
    "/wuye.directory.v1.StaffLookupService/CheckStaff",
];

/// The department serving each package of the contracts, by the name identities for its
/// methods are addressed to.
pub const DEPARTMENTS: [(&str, &str); 5] = [
    ("wuye.customerservice.v1", "customer-service"),
    ("wuye.engineering.v1", "engineering"),
    ("wuye.archives.v1", "archives"),
    ("wuye.quality.v1", "quality"),
    ("wuye.directory.v1", "directory"),
];

/// The department that serves `method` (`/package.Service/Method` or without the slash).
pub fn department_of(method: &str) -> Option<&'static str> {
    let service = method.trim_start_matches('/').split('/').next()?;
    let package = service.rsplit_once('.')?.0;
    DEPARTMENTS
        .iter()
        .find(|(p, _)| *p == package)
        .map(|(_, name)| *name)
}

/// Who is calling, as verified by the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Caller {
    pub user_id: String,
    pub name: String,
    /// A role code of DOMAIN.md "Who is who", or [`SERVICE_ROLE`] for a wuye component.
    pub role: String,
    /// The property of this call, checked against the caller's scope by the gateway.
    pub property: Option<String>,
    /// The directory post (`post_id`) the person acts in for this call, when they signed in
    /// through the company's identity provider; empty for script tokens and services.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub post_id: String,
    /// The kinds of personal data (`phone`, `id_number`) this call may see in full, as the
    /// gateway's policy decides for the role and the method; the rest is answered masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_full: Vec<String>,
}

impl Caller {
    /// The identity a wuye component uses for its own calls to another.
    pub fn service(name: &str) -> Self {
        Self {
            user_id: name.to_owned(),
            name: name.to_owned(),
            role: SERVICE_ROLE.to_owned(),
            property: None,
            post_id: String::new(),
            in_full: Vec::new(),
        }
    }

    /// What this call's answers show in full.
    pub fn shown(&self) -> wuye_proto::personal::Shown {
        wuye_proto::personal::Shown::of(self.in_full.iter().map(String::as_str))
    }

    /// Refuses a message whose `property_id` is not the property the gateway authorized.
    pub fn require_property(&self, property_id: &str) -> Result<()> {
        match &self.property {
            Some(p) if p == property_id => Ok(()),
            _ => Err(Error::permission_denied(
                "PROPERTY_MISMATCH",
                "property_id is not the property this call was authorized for",
            )),
        }
    }

    /// Refuses anyone but a wuye component calling as itself.
    pub fn require_service(&self) -> Result<()> {
        if self.role == SERVICE_ROLE {
            Ok(())
        } else {
            Err(Error::permission_denied(
                "SERVICE_ONLY",
                "only wuye services may call this method",
            ))
        }
    }

    /// The caller as records name who did something.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
        }
    }
}

/// Who did something, as a record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub name: String,
    pub role: String,
}

impl Actor {
    pub fn to_proto(&self) -> wuye_proto::common::Actor {
        wuye_proto::common::Actor {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
        }
    }
}

/// The verified caller of a request, put there by [`RequireIdentityLayer`].
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Error::Unauthenticated("no verified caller".into()))
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Who signed: the gateway or a department.
    iss: String,
    /// The component the identity is for.
    aud: String,
    /// The one method it opens, as its path (`/package.Service/Method`).
    method: String,
    iat: u64,
    exp: u64,
    #[serde(flatten)]
    caller: Caller,
}

/// The settings of internal identities, the same shape in the gateway and every department.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentitySettings {
    /// This component's own Ed25519 private key (PKCS#8 PEM text, or the path of a PEM file):
    /// it signs the identities this component sends. Needed by the gateway and by departments
    /// that follow another's events.
    pub signing_key: Secret,
    /// The Ed25519 public keys (PEM text or file path) of those whose identities this
    /// department accepts, by their name: `gateway` for every call through the gateway, and
    /// each department that follows this one's events (`archives`, …). One entry may hold
    /// several keys (PEM blocks one after another): the old and the new while a key rotates.
    pub trusted: BTreeMap<String, String>,
    /// How long an identity is valid, in seconds.
    pub ttl_secs: u64,
    /// Clock skew tolerated between components, in seconds.
    pub leeway_secs: u64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            signing_key: Secret::default(),
            trusted: BTreeMap::new(),
            ttl_secs: 5,
            leeway_secs: 2,
        }
    }
}

impl IdentitySettings {
    /// The signer of `component`: its configured key, or its development key in development.
    pub fn signer(&self, component: &str, dev: bool) -> anyhow::Result<Signer> {
        let setting = "identity.signing_key";
        let pem = if self.signing_key.is_empty() {
            match dev::identity_private_key(component) {
                Some(pem) if dev => pem.to_owned(),
                _ => return Err(dev::refuse(component, setting, "is not configured")),
            }
        } else {
            let pem = dev::read_pem(self.signing_key.expose(), setting)?;
            if !dev && dev::is_identity_key(&pem) {
                return Err(dev::refuse(
                    component,
                    setting,
                    "is a public development key (deploy/dev-keys)",
                ));
            }
            pem
        };
        Signer::new(component, &pem, Duration::from_secs(self.ttl_secs.max(1)))
            .map_err(|e| anyhow::anyhow!("{setting} of {component}: {e}"))
    }

    /// The verifier of the identities `component` accepts: the configured public keys, or
    /// every component's development key in development.
    pub fn verifier(&self, component: &str, dev: bool) -> anyhow::Result<Verifier> {
        let mut trusted = Vec::new();
        for (name, value) in &self.trusted {
            // Environment variable names cannot hold a dash: `trusted.customer_service`.
            let name = name.replace('_', "-");
            let setting = format!("identity.trusted.{name}");
            let pem = dev::read_pem(value, &setting)?;
            if !dev && dev::is_identity_key(&pem) {
                return Err(dev::refuse(
                    component,
                    &setting,
                    "is a public development key (deploy/dev-keys)",
                ));
            }
            trusted.push((name, pem));
        }
        if trusted.is_empty() && dev {
            trusted = dev::IDENTITY_KEYS
                .iter()
                .map(|(name, _, public)| (name.to_string(), public.to_string()))
                .collect();
        }
        if !trusted.iter().any(|(name, _)| name == GATEWAY) {
            return Err(dev::refuse(
                component,
                "identity.trusted.gateway",
                "is not configured (the gateway's public key)",
            ));
        }
        Verifier::new(component, &trusted, self.leeway_secs)
    }
}

/// Signs the identities a component sends, with its own private key.
#[derive(Clone)]
pub struct Signer {
    name: Arc<str>,
    key: Arc<EncodingKey>,
    ttl: Duration,
    /// The identities signed this second: the same call's identity is the same bytes within a
    /// second (Ed25519 is deterministic), and signing costs more than the rest of a hop.
    signed: Arc<Memo<CallOf, (u64, String)>>,
}

/// One call an identity is for: its audience, its method and its caller.
type CallOf = (String, String, Caller);

/// How many signed or verified identities are remembered; past that the memory starts afresh.
const REMEMBERED: usize = 10_000;

/// A bounded memory of results by key.
struct Memo<K, V>(std::sync::Mutex<HashMap<K, V>>);

impl<K: std::hash::Hash + Eq, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Self(std::sync::Mutex::new(HashMap::new()))
    }

    fn get(&self, key: &K) -> Option<V> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= REMEMBERED {
                map.clear();
            }
            map.insert(key, value);
        }
    }
}

impl Signer {
    /// The signer called `name` with the Ed25519 private key `pem`.
    pub fn new(name: &str, pem: &str, ttl: Duration) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(pem.as_bytes())
            .map_err(|_| anyhow::anyhow!("not an Ed25519 private key in PEM (PKCS#8)"))?;
        Ok(Self {
            name: name.into(),
            key: Arc::new(key),
            ttl,
            signed: Arc::new(Memo::new()),
        })
    }

    /// The name identities are signed as.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The identity of `caller` for one call of `method` (its path) at `audience`.
    pub fn sign(&self, caller: &Caller, audience: &str, method: &str) -> Result<String> {
        let now = unix_now();
        let key = (audience.to_owned(), method.to_owned(), caller.clone());
        if let Some((at, token)) = self.signed.get(&key)
            && at == now
        {
            return Ok(token);
        }
        let claims = Claims {
            iss: self.name.to_string(),
            aud: audience.to_owned(),
            method: method.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            caller: caller.clone(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.name.to_string());
        let token = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::Internal(e.into()))?;
        self.signed.put(key, (now, token.clone()));
        Ok(token)
    }

    /// `channel` with every call signed for `audience` and the call's method, as the caller
    /// in the request's extensions, else as this component itself.
    pub fn channel<S>(&self, channel: S, audience: &str) -> Signed<S> {
        Signed {
            inner: channel,
            signer: self.clone(),
            audience: audience.into(),
        }
    }
}

/// Verifies the identities a department receives.
#[derive(Clone)]
pub struct Verifier {
    audience: Arc<str>,
    /// Each signer's keys: more than one while its key rotates.
    keys: Arc<HashMap<String, Vec<DecodingKey>>>,
    validation: Arc<Validation>,
    leeway: u64,
    /// Identities verified lately, by their bytes: the method they open, until when, and the
    /// caller (a gateway forwarding one person's calls sends the same bytes for a second).
    verified: Arc<Memo<String, (String, u64, Caller)>>,
}

impl Verifier {
    /// A verifier of identities addressed to `audience`, signed by one of `trusted` (name,
    /// Ed25519 public key PEM).
    pub fn new(
        audience: &str,
        trusted: &[(String, String)],
        leeway_secs: u64,
    ) -> anyhow::Result<Self> {
        let mut keys = HashMap::new();
        for (name, pem) in trusted {
            let not_a_key =
                || anyhow::anyhow!("identity.trusted.{name} is not an Ed25519 public key in PEM");
            let blocks = pem_blocks(pem);
            if blocks.is_empty() {
                return Err(not_a_key());
            }
            let decoded = blocks
                .iter()
                .map(|block| DecodingKey::from_ed_pem(block.as_bytes()).map_err(|_| not_a_key()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            keys.insert(name.clone(), decoded);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = leeway_secs;
        Ok(Self {
            audience: audience.into(),
            keys: Arc::new(keys),
            validation: Arc::new(validation),
            leeway: leeway_secs,
            verified: Arc::new(Memo::new()),
        })
    }

    /// The caller of a call of `method` (its path) that carries `token`. The caller learns
    /// only that it was refused; the log says why.
    pub fn verify(&self, token: &str, method: &str) -> Result<Caller> {
        self.check(token, method).map_err(|reason| {
            tracing::info!(%reason, audience = %self.audience, %method, "internal identity refused");
            Error::Unauthenticated("invalid internal identity".into())
        })
    }

    fn check(&self, token: &str, method: &str) -> anyhow::Result<Caller> {
        if let Some((opens, until, caller)) = self.verified.get(&token.to_owned()) {
            anyhow::ensure!(opens == method, "identity is for another method");
            anyhow::ensure!(unix_now() <= until, "identity expired");
            return Ok(caller);
        }
        let header = jsonwebtoken::decode_header(token)?;
        let signer = header.kid.ok_or_else(|| anyhow::anyhow!("no kid"))?;
        let keys = self
            .keys
            .get(&signer)
            .ok_or_else(|| anyhow::anyhow!("signer {signer} is not trusted"))?;
        let mut decoded = Err(anyhow::anyhow!("no key of {signer}"));
        for key in keys {
            decoded = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                .map_err(anyhow::Error::from);
            if decoded.is_ok() {
                break;
            }
        }
        let claims = decoded?.claims;
        anyhow::ensure!(claims.iss == signer, "issuer is not the signer");
        anyhow::ensure!(claims.method == method, "identity is for another method");
        anyhow::ensure!(
            claims.iat <= unix_now() + self.leeway,
            "identity issued in the future"
        );
        if signer != GATEWAY {
            // A department speaks only for itself, and only to follow events.
            anyhow::ensure!(
                claims.caller == Caller::service(&signer),
                "a service identity names another caller"
            );
            anyhow::ensure!(
                PEER_METHODS.contains(&method),
                "a service may not call this method"
            );
        }
        let until = claims.exp + self.leeway;
        self.verified.put(
            token.to_owned(),
            (claims.method, until, claims.caller.clone()),
        );
        Ok(claims.caller)
    }
}

/// The PEM blocks of `text`, each from its BEGIN line to its END line.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            current = Some(String::new());
        }
        if let Some(block) = &mut current {
            block.push_str(line);
            block.push('\n');
            if line.starts_with("-----END") {
                blocks.extend(current.take());
            }
        }
    }
    blocks
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Paths that need no identity: health checks and reflection.
pub fn is_open_path(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// A channel (any tower service of HTTP requests) whose calls carry identities signed by a
/// [`Signer`] for one audience: see [`Signer::channel`].
#[derive(Clone)]
pub struct Signed<S> {
    inner: S,
    signer: Signer,
    audience: Arc<str>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> Service<http::Request<B>> for Signed<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let caller = request
            .extensions_mut()
            .remove::<Caller>()
            .unwrap_or_else(|| Caller::service(self.signer.name()));
        let signed = self
            .signer
            .sign(&caller, &self.audience, request.uri().path())
            .map_err(|e| -> BoxError { Box::new(Status::from(e)) })
            .and_then(|token| {
                http::HeaderValue::try_from(token).map_err(|e| -> BoxError { Box::new(e) })
            });
        match signed {
            Ok(value) => {
                request.headers_mut().insert(IDENTITY_HEADER, value);
                let future = self.inner.call(request);
                Box::pin(async move { future.await.map_err(Into::into) })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// Tower layer of a service: verifies the internal identity of every call, puts the
/// [`Caller`] into the request's extensions, and answers `UNAUTHENTICATED` otherwise.
#[derive(Clone)]
pub struct RequireIdentityLayer {
    verifier: Verifier,
}

impl RequireIdentityLayer {
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for RequireIdentityLayer {
    type Service = RequireIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireIdentity {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequireIdentity<S> {
    inner: S,
    verifier: Verifier,
}

impl<S, B, R> Service<http::Request<B>> for RequireIdentity<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::Either<
        wuye_proto::personal::Answer<S::Future>,
        futures::future::Ready<std::result::Result<S::Response, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if is_open_path(path) {
            let answer = wuye_proto::personal::answer(Default::default(), self.inner.call(request));
            return futures::future::Either::Left(answer);
        }
        let verified = request
            .headers()
            .get(IDENTITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Unauthenticated("calls must come through the gateway".into()))
            .and_then(|token| self.verifier.verify(token, path));
        match verified {
            Ok(caller) => {
                crate::rpc::record_caller_role(&caller.role);
                // The answers show what the policy lets this caller see in full, no more.
                let shown = caller.shown();
                request.extensions_mut().insert(caller);
                let answer = wuye_proto::personal::answer(shown, self.inner.call(request));
                futures::future::Either::Left(answer)
            }
            Err(e) => {
                let status = Status::from(e);
                futures::future::Either::Right(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests;
