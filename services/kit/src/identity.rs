//! The verified caller. The gateway authenticates users and passes each call on with a
//! short-lived internal identity signed with a key only the gateway and the services hold;
//! services refuse calls without a valid one, so nobody reaches a department around the
//! gateway. Health and reflection stay open for probes and tools.

use std::{
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::Status;
use tower::{Layer, Service};

use crate::{Error, Result, config::Secret};

/// Metadata key carrying the internal identity from the gateway to a service.
pub const IDENTITY_HEADER: &str = "x-wuye-identity";
/// Metadata key naming the property a call works on; the gateway checks it against the
/// token's scope and services check it against the message's `property_id`.
pub const PROPERTY_HEADER: &str = "x-wuye-property";

const ISSUER: &str = "wuye-gateway";
const AUDIENCE: &str = "wuye-internal";

/// Who is calling, as verified by the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub user_id: String,
    pub name: String,
    /// A role code of DOMAIN.md "Who is who", or "service" for another wuye service.
    pub role: String,
    /// The property of this call, checked against the caller's scope by the gateway.
    pub property: Option<String>,
}

impl Caller {
    /// The identity a wuye service uses for its own calls to another service (event
    /// subscriptions).
    pub fn service(name: &str) -> Self {
        Self {
            user_id: name.to_owned(),
            name: name.to_owned(),
            role: "service".to_owned(),
            property: None,
        }
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
    iss: String,
    aud: String,
    exp: u64,
    iat: u64,
    #[serde(flatten)]
    caller: Caller,
}

/// Signs and verifies internal identities (HS256 with the shared internal key).
#[derive(Clone)]
pub struct InternalKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl InternalKey {
    pub fn new(key: &Secret, ttl: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(
            key.expose().len() >= 32,
            "the internal identity key must be at least 32 bytes"
        );
        Ok(Self {
            encoding: EncodingKey::from_secret(key.expose().as_bytes()),
            decoding: DecodingKey::from_secret(key.expose().as_bytes()),
            ttl,
        })
    }

    pub fn sign(&self, caller: &Caller) -> Result<String> {
        let now = unix_now();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl.as_secs().max(1),
            caller: caller.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(e.into()))
    }

    pub fn verify(&self, token: &str) -> Result<Caller> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims.caller)
            .map_err(|_| Error::Unauthenticated("invalid internal identity".into()))
    }
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

/// Tower layer of a service: verifies the internal identity of every call, puts the
/// [`Caller`] into the request's extensions, and answers `UNAUTHENTICATED` otherwise.
#[derive(Clone)]
pub struct RequireIdentityLayer {
    key: InternalKey,
}

impl RequireIdentityLayer {
    pub fn new(key: InternalKey) -> Self {
        Self { key }
    }
}

impl<S> Layer<S> for RequireIdentityLayer {
    type Service = RequireIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireIdentity {
            inner,
            key: self.key.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequireIdentity<S> {
    inner: S,
    key: InternalKey,
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
        S::Future,
        futures::future::Ready<std::result::Result<S::Response, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if is_open_path(request.uri().path()) {
            return futures::future::Either::Left(self.inner.call(request));
        }
        let verified = request
            .headers()
            .get(IDENTITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Unauthenticated("calls must come through the gateway".into()))
            .and_then(|token| self.key.verify(token));
        match verified {
            Ok(caller) => {
                crate::rpc::record_caller_role(&caller.role);
                request.extensions_mut().insert(caller);
                futures::future::Either::Left(self.inner.call(request))
            }
            Err(e) => {
                let status = Status::from(e);
                futures::future::Either::Right(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> InternalKey {
        InternalKey::new(&Secret::new(secret), Duration::from_secs(30)).unwrap()
    }

    #[test]
    fn signed_identity_verifies_and_a_foreign_one_does_not() {
        let caller = Caller {
            user_id: "u1".into(),
            name: "王芳".into(),
            role: "front_desk".into(),
            property: Some("p1".into()),
        };
        let ours = key("0123456789abcdef0123456789abcdef");
        let theirs = key("fedcba9876543210fedcba9876543210");
        let token = ours.sign(&caller).unwrap();
        assert_eq!(ours.verify(&token).unwrap(), caller);
        assert!(theirs.verify(&token).is_err());
        assert!(ours.verify("not-a-token").is_err());
    }

    #[test]
    fn property_must_match() {
        let mut caller = Caller::service("svc");
        assert!(caller.require_property("p1").is_err());
        caller.property = Some("p1".into());
        assert!(caller.require_property("p1").is_ok());
        assert!(caller.require_property("p2").is_err());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(InternalKey::new(&Secret::new("short"), Duration::from_secs(1)).is_err());
    }
}
