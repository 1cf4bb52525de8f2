//! Plain HTTP beside gRPC on one listener ([`crate::server::Server::http_routes`]): a request
//! that is not gRPC or gRPC-Web by its content-type, and whose path is one of the prefixes or
//! under it (of a GET or HEAD, for a prefix of reads only: [`crate::server::Server::http_reads`]),
//! is answered by that prefix's axum router. It is the server's outermost layer:
//! CORS, gRPC-Web, the RPC span and metrics, the message-size check and the identity check see
//! none of these requests, and every other request goes on to them as if the layer were not
//! there.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use futures::{
    FutureExt as _, TryFutureExt as _,
    future::{BoxFuture, Either, MapOk},
};
use tonic::body::Body;
use tower::{Layer, Service, ServiceExt as _};

/// A router of the requests under a path prefix.
#[derive(Clone)]
pub(crate) struct HttpRoute {
    pub prefix: &'static str,
    /// Only GET and HEAD: the rest (a CORS preflight, a stray POST) goes on.
    pub reads_only: bool,
    pub router: axum::Router,
}

/// The routers by prefix, as a layer.
#[derive(Clone, Default)]
pub(crate) struct HttpRoutes(Arc<Vec<HttpRoute>>);

impl HttpRoutes {
    pub(crate) fn new(routes: Vec<HttpRoute>) -> Self {
        Self(Arc::new(routes))
    }

    /// The router answering `request`, if one does.
    fn router_for<B>(&self, request: &http::Request<B>) -> Option<&axum::Router> {
        if is_grpc(request) {
            return None;
        }
        let path = request.uri().path();
        let read = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
        self.0
            .iter()
            .find(|route| (read || !route.reads_only) && is_under(path, route.prefix))
            .map(|route| &route.router)
    }
}

/// Whether `path` is `prefix` or below it: `/dev/oidc` holds `/dev/oidc/jwks`, not
/// `/dev/oidcx`.
fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'))
}

/// Whether the request says it is gRPC or gRPC-Web (`application/grpc…`, any case).
fn is_grpc<B>(request: &http::Request<B>) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.as_bytes().get(..GRPC.len()))
        .is_some_and(|start| start.eq_ignore_ascii_case(GRPC))
}

impl<S> Layer<S> for HttpRoutes {
    type Service = WithHttpRoutes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithHttpRoutes {
            routes: self.clone(),
            inner,
        }
    }
}

/// The server's stack `inner` with the HTTP routes before it.
#[derive(Clone)]
pub(crate) struct WithHttpRoutes<S> {
    routes: HttpRoutes,
    inner: S,
}

type Answer = http::Response<Body>;

impl<S, ResBody> Service<http::Request<Body>> for WithHttpRoutes<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError>,
    S::Error: Send + 'static,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = Either<
        MapOk<S::Future, fn(http::Response<ResBody>) -> Answer>,
        BoxFuture<'static, Result<Answer, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match self.routes.router_for(&request) {
            // axum's router is always ready and never fails.
            Some(router) => Either::Right(
                router
                    .clone()
                    .oneshot(request)
                    .map(|answer| match answer {
                        Ok(answer) => Ok(answer.map(Body::new)),
                        Err(never) => match never {},
                    })
                    .boxed(),
            ),
            None => Either::Left(
                self.inner
                    .call(request)
                    .map_ok(to_tonic as fn(http::Response<ResBody>) -> Answer),
            ),
        }
    }
}

fn to_tonic<B>(answer: http::Response<B>) -> Answer
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    answer.map(Body::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_hold_whole_segments() {
        assert!(is_under("/dev/oidc", "/dev/oidc"));
        assert!(is_under("/dev/oidc/jwks", "/dev/oidc"));
        assert!(is_under("/dev/oidc/jwks", "/dev/"));
        assert!(!is_under("/dev/oidcx", "/dev/oidc"));
        assert!(!is_under("/wuye.x.v1.S/M", "/dev/oidc"));
    }

    fn route(prefix: &'static str, reads_only: bool) -> HttpRoute {
        HttpRoute {
            prefix,
            reads_only,
            router: axum::Router::new(),
        }
    }

    #[test]
    fn a_prefix_of_reads_takes_only_get_and_head() {
        let routes = HttpRoutes::new(vec![route("/", true)]);
        for (method, routed) in [
            (http::Method::GET, true),
            (http::Method::HEAD, true),
            (http::Method::OPTIONS, false),
            (http::Method::POST, false),
        ] {
            let request = http::Request::builder()
                .method(method.clone())
                .uri("/x")
                .body(())
                .unwrap();
            assert_eq!(routes.router_for(&request).is_some(), routed, "{method}");
        }
        let routes = HttpRoutes::new(vec![route("/", false)]);
        let options = http::Request::builder()
            .method(http::Method::OPTIONS)
            .uri("/x")
            .body(())
            .unwrap();
        assert!(routes.router_for(&options).is_some());
    }

    #[test]
    fn grpc_and_grpc_web_are_never_routed() {
        let routes = HttpRoutes::new(vec![route("/", false)]);
        for (content_type, routed) in [
            (Some("application/grpc"), false),
            (Some("application/grpc+proto"), false),
            (Some("application/grpc-web-text"), false),
            (Some("Application/GRPC-Web"), false),
            (Some("application/json"), true),
            (None, true),
        ] {
            let mut request = http::Request::builder().uri("/x");
            if let Some(content_type) = content_type {
                request = request.header(http::header::CONTENT_TYPE, content_type);
            }
            let request = request.body(()).unwrap();
            assert_eq!(
                routes.router_for(&request).is_some(),
                routed,
                "{content_type:?}"
            );
        }
    }

    /// A route answers plain HTTP/1.1 (a body no gRPC frame, larger than the server's message
    /// limit), and gRPC goes on as before, on one listener.
    #[tokio::test]
    async fn a_route_answers_beside_grpc_on_one_listener() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().route(
            "/plain/length",
            axum::routing::post(|body: bytes::Bytes| async move { body.len().to_string() }),
        );
        let server = crate::server::Server::new("test", listener)
            .max_message_bytes(8)
            .unwrap()
            .http_routes("/plain", router);
        tokio::spawn(server.run_until(std::future::pending()));

        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let body = "x".repeat(100);
        let request = format!(
            "POST /plain/length HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n100"), "{answer}");

        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let health = tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap();
        assert_eq!(health.into_inner().status, 1, "SERVING");
    }
}
