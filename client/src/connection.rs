//! The connection: a tower service over a channel that stamps every call with its metadata
//! (and its caller, for a signed channel) and retries what may be retried.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use http::HeaderMap;
use tonic::{body::Body, transport::Channel};
use tower::Service;
use wuye_kit::identity::{Caller, PROPERTY_HEADER, Signed};

use crate::retry::{self, Policy};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What every generated client takes: `ComplaintServiceClient::new(connection)`. Cheap to
/// clone; clones share the channel.
#[derive(Clone)]
pub struct Connection {
    transport: Transport,
    metadata: Arc<HeaderMap>,
    caller: Option<Arc<Caller>>,
    retry: Policy,
}

#[derive(Clone)]
pub(crate) enum Transport {
    Plain(Channel),
    Signed(Signed<Channel>),
}

impl Service<http::Request<Body>> for Transport {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<http::Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Transport::Plain(channel) => channel.poll_ready(cx).map_err(Into::into),
            Transport::Signed(signed) => signed.poll_ready(cx),
        }
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match self {
            Transport::Plain(channel) => {
                let answer = channel.call(request);
                Box::pin(async move { answer.await.map_err(Into::into) })
            }
            Transport::Signed(signed) => signed.call(request),
        }
    }
}

impl Connection {
    pub(crate) fn new(
        transport: Transport,
        metadata: HeaderMap,
        caller: Option<Caller>,
        retry: Policy,
    ) -> Self {
        Self {
            transport,
            metadata: Arc::new(metadata),
            caller: caller.map(Arc::new),
            retry,
        }
    }

    /// The same connection with another retry policy.
    pub fn with_retry(mut self, retry: Policy) -> Self {
        self.retry = retry;
        self
    }

    pub fn retry(&self) -> Policy {
        self.retry
    }

    /// The same connection (its channel shared) calling as `caller`, of the caller's property:
    /// for a signed connection, whose identities are signed for this caller.
    pub fn calling_as(&self, caller: Caller) -> Self {
        let mut metadata = HeaderMap::clone(&self.metadata);
        if let Some(property) = &caller.property
            && let Ok(value) = http::HeaderValue::try_from(property)
        {
            metadata.insert(PROPERTY_HEADER, value);
        }
        Self {
            metadata: Arc::new(metadata),
            caller: Some(Arc::new(caller)),
            ..self.clone()
        }
    }

    fn stamp(&self, request: &mut http::Request<Body>) {
        let headers = request.headers_mut();
        for key in self.metadata.keys() {
            headers.remove(key);
        }
        for (key, value) in self.metadata.iter() {
            headers.append(key, value.clone());
        }
        if let Some(caller) = &self.caller {
            request.extensions_mut().insert(Caller::clone(caller));
        }
    }
}

impl Service<http::Request<Body>> for Connection {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<http::Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.transport.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        self.stamp(&mut request);
        match retry::method(request.uri().path()) {
            Some(method) if self.retry.attempts > 1 && !method.streams_in => {
                // The ready transport takes the first attempt; its clone stays here.
                let fresh = self.transport.clone();
                let ready = std::mem::replace(&mut self.transport, fresh);
                Box::pin(retry::send(ready, request, method, self.retry))
            }
            _ => self.transport.call(request),
        }
    }
}
