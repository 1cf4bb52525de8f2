//! Server bootstrap on a listener passed in (port 0 in tests): gRPC health, reflection (v1 and
//! v1alpha, for grpcurl), a span and RED metrics per call ([`crate::rpc`]), the internal
//! identity check, gRPC-Web when asked, plain HTTP routes beside gRPC when asked
//! ([`Server::http_routes`]), TLS when configured ([`crate::tls`]), a plaintext health-only
//! listener for probes that cannot speak TLS, and graceful shutdown.

use std::{future::Future, net::SocketAddr};

use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    service::{Routes, RoutesBuilder},
};
use tonic_health::ServingStatus;

use crate::{
    identity::{RequireIdentityLayer, Verifier},
    tls::{ClientCerts, Tls},
};

/// A gRPC server being assembled: add services, then run it.
pub struct Server {
    name: &'static str,
    listener: TcpListener,
    routes: RoutesBuilder,
    /// The services reflection lists; every one of the contracts when `None`.
    reflected: Option<Vec<String>>,
    served: Vec<&'static str>,
    identity: Option<Verifier>,
    wrap: Option<Box<dyn FnOnce(Routes) -> Routes + Send>>,
    tasks: Vec<BackgroundTask>,
    grpc_web: bool,
    /// Plain HTTP routers by path prefix, answered before every layer.
    http_routes: Vec<crate::http_routes::HttpRoute>,
    cors: Option<tower_http::cors::CorsLayer>,
    max_message_bytes: usize,
    tls: Option<(Tls, ClientCerts)>,
    health_listener: Option<TcpListener>,
    /// Turns true when the server begins to stop.
    stopping: tokio::sync::watch::Sender<bool>,
}

type BackgroundTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

impl Server {
    /// A server named `name` (for logs) on `listener`, with reflection over every wuye
    /// contract.
    pub fn new(name: &'static str, listener: TcpListener) -> Self {
        Self {
            name,
            listener,
            routes: RoutesBuilder::default(),
            reflected: None,
            served: Vec::new(),
            identity: None,
            wrap: None,
            tasks: Vec::new(),
            grpc_web: false,
            http_routes: Vec::new(),
            cors: None,
            max_message_bytes: crate::message_size::DEFAULT_MAX_MESSAGE_BYTES,
            tls: None,
            health_listener: None,
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Turns true when the server begins to stop: what it serves without end (event streams)
    /// ends then, so that calls in flight can finish.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Serves TLS with `tls` when given (see [`crate::tls`]), asking clients for a certificate
    /// the CA signed or not; plaintext when `None`. ALPN offers `h2`, and `http/1.1` too when
    /// the server accepts gRPC-Web.
    pub fn tls(mut self, tls: Option<Tls>, clients: ClientCerts) -> Self {
        self.tls = tls.map(|tls| (tls, clients));
        self
    }

    /// Also serves the gRPC health service alone, in plaintext, on `address` (empty: not at
    /// all): for probes that cannot speak TLS, such as the kubelet's gRPC probes. It tells
    /// whether the server serves and nothing else.
    pub async fn health_on(mut self, address: &str) -> anyhow::Result<Self> {
        if !address.is_empty() {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|e| anyhow::anyhow!("health_listen: binding {address}: {e}"))?;
            self.health_listener = Some(listener);
        }
        Ok(self)
    }

    /// Where the health-only listener listens, when there is one.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Refuse every call that does not carry a valid internal identity (health and reflection
    /// excepted).
    pub fn require_identity(mut self, verifier: Verifier) -> Self {
        self.identity = Some(verifier);
        self
    }

    /// Lists only `services` (full names) in reflection: what the callers of this server can
    /// reach. Health and reflection itself are listed too.
    pub fn reflect_only(mut self, services: impl IntoIterator<Item = String>) -> Self {
        let mut names: std::collections::BTreeSet<String> = services.into_iter().collect();
        names.extend(
            [
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ]
            .map(String::from),
        );
        self.reflected = Some(names.into_iter().collect());
        self
    }

    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.served.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// The largest message taken or given, in bytes; larger ones are refused with
    /// `RESOURCE_EXHAUSTED` (see [`crate::message_size`]). At most tonic's own ceiling.
    pub fn max_message_bytes(mut self, limit: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(
            (1..=crate::message_size::DEFAULT_MAX_MESSAGE_BYTES).contains(&limit),
            "max_message_bytes must be between 1 and {}",
            crate::message_size::DEFAULT_MAX_MESSAGE_BYTES
        );
        self.max_message_bytes = limit;
        Ok(self)
    }

    /// Lets the owner reshape the routes before serving (the gateway adds its proxy).
    pub fn wrap_routes(mut self, wrap: impl FnOnce(Routes) -> Routes + Send + 'static) -> Self {
        self.wrap = Some(Box::new(wrap));
        self
    }

    /// Also accepts gRPC-Web (HTTP/1.1 and HTTP/2, binary and text) for browser-based apps.
    pub fn accept_grpc_web(mut self) -> Self {
        self.grpc_web = true;
        self
    }

    /// Also answers plain HTTP on the same listener: a request whose path is `prefix` or under
    /// it (`prefix/…`), and whose content-type is not gRPC or gRPC-Web, goes to `router`,
    /// which sees the whole path. It is answered before every other layer: CORS, gRPC-Web,
    /// the RPC span and metrics, the message-size check and the identity check see none of
    /// these requests (see [`crate::http_routes`]). HTTP/1.1 is accepted (and offered by ALPN
    /// under TLS) from then on. The first prefix holding a path wins.
    pub fn http_routes(self, prefix: &'static str, router: axum::Router) -> Self {
        self.http_route(prefix, false, router)
    }

    /// Like [`Self::http_routes`], for GET and HEAD requests only: the others under `prefix`
    /// (a CORS preflight, a stray POST) go on to gRPC. For pages served under `/`.
    pub fn http_reads(self, prefix: &'static str, router: axum::Router) -> Self {
        self.http_route(prefix, true, router)
    }

    fn http_route(mut self, prefix: &'static str, reads_only: bool, router: axum::Router) -> Self {
        debug_assert!(prefix.starts_with('/'), "a path prefix starts with /");
        self.http_routes.push(crate::http_routes::HttpRoute {
            prefix,
            reads_only,
            router,
        });
        self
    }

    /// Answers browsers' CORS preflights and marks answers readable by the origins `cors`
    /// allows. It sits outside gRPC-Web, which refuses anything else over HTTP/1.1 (a
    /// preflight is an OPTIONS request).
    pub fn with_cors(mut self, cors: Option<tower_http::cors::CorsLayer>) -> Self {
        self.cors = cors;
        self
    }

    /// Runs `task` (an event follower, a scheduled job) while the server serves, and stops it
    /// when the server stops.
    pub fn with_task(mut self, task: impl Future<Output = ()> + Send + 'static) -> Self {
        self.tasks.push(Box::pin(task));
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then lets calls in flight finish.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.served {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let probes = self
            .health_listener
            .take()
            .map(|listener| (listener, health_service.clone()));
        let routes = self.routes(health_service)?;
        let mut tasks = self.start_tasks(probes)?;
        let stopping = self.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        let name = self.name;
        self.serve(routes, shutdown).await?;
        tasks.shutdown().await;
        tracing::info!(server = name, "stopped");
        Ok(())
    }

    /// The services added, with health and reflection, reshaped by [`Self::wrap_routes`].
    fn routes(
        &mut self,
        health: tonic_health::pb::health_server::HealthServer<
            impl tonic_health::pb::health_server::Health,
        >,
    ) -> anyhow::Result<Routes> {
        let mut routes = std::mem::take(&mut self.routes);
        routes.add_service(health);
        let reflection = || {
            let builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(wuye_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
            self.reflected
                .iter()
                .flatten()
                .fold(builder, |b, name| b.with_service_name(name))
        };
        routes.add_service(reflection().build_v1()?);
        routes.add_service(reflection().build_v1alpha()?);
        let mut routes = routes.routes();
        if let Some(wrap) = self.wrap.take() {
            routes = wrap(routes);
        }
        Ok(routes)
    }

    /// Starts the background work and the plaintext health listener. Background work
    /// (followers, jobs) ends as soon as the server begins to stop: a follower's stream held
    /// open would keep its peer's graceful stop waiting, and two departments following each
    /// other would wait for each other forever. The health listener stops with the tasks, once
    /// the server has stopped.
    fn start_tasks(
        &mut self,
        probes: Option<(
            TcpListener,
            tonic_health::pb::health_server::HealthServer<
                impl tonic_health::pb::health_server::Health,
            >,
        )>,
    ) -> anyhow::Result<tokio::task::JoinSet<()>> {
        let mut tasks = tokio::task::JoinSet::new();
        for task in std::mem::take(&mut self.tasks) {
            let mut stopping = self.stopping.subscribe();
            tasks.spawn(async move {
                tokio::select! {
                    () = task => {}
                    _ = stopping.wait_for(|s| *s) => {}
                }
            });
        }
        if let Some((listener, health)) = probes {
            let name = self.name;
            let probe_addr = listener.local_addr()?;
            tracing::info!(server = name, addr = %probe_addr, "serving health checks in plaintext");
            tasks.spawn(async move {
                let served = tonic::transport::Server::builder()
                    .add_service(health)
                    .serve_with_incoming(
                        tonic::transport::server::TcpIncoming::from(listener)
                            .with_nodelay(Some(true)),
                    )
                    .await;
                if let Err(e) = served {
                    tracing::warn!(server = name, error = %e, "health listener stopped");
                }
            });
        }
        Ok(tasks)
    }

    /// Serves `routes` on the listener, in TLS when configured, until `shutdown`.
    async fn serve(
        self,
        routes: Routes,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let name = self.name;
        let addr = self.listener.local_addr()?;
        // gRPC-Web and plain HTTP may come over HTTP/1.1; gRPC never does.
        let http1 = self.grpc_web || !self.http_routes.is_empty();
        let tls = match &self.tls {
            Some((tls, clients)) => {
                let alpn: &[&[u8]] = if http1 {
                    &[crate::tls::ALPN_H2, crate::tls::ALPN_HTTP1]
                } else {
                    &[crate::tls::ALPN_H2]
                };
                Some((tls, tls.server_config(alpn, *clients)?))
            }
            None => None,
        };
        let mode = match &self.tls {
            None => "plaintext",
            Some((_, ClientCerts::Required)) => "mutual TLS",
            Some((_, ClientCerts::NotAsked)) => "TLS",
        };
        tracing::info!(server = name, %addr, transport = mode, "serving");
        let http_routes = (!self.http_routes.is_empty())
            .then(|| crate::http_routes::HttpRoutes::new(self.http_routes));
        let router = tonic::transport::Server::builder()
            .accept_http1(http1)
            // The plain HTTP routes outermost; then CORS, then gRPC-Web: the span, the metrics
            // and the identity check see the call as plain gRPC.
            .layer(tower::util::option_layer(http_routes))
            .layer(tower::util::option_layer(self.cors))
            .layer(tower::util::option_layer(
                self.grpc_web.then(tonic_web::GrpcWebLayer::new),
            ))
            .layer(crate::rpc::RpcLayer::new(name))
            .layer(crate::message_size::MessageSizeLayer::new(
                self.max_message_bytes,
            ))
            .layer(tower::util::option_layer(
                self.identity.map(RequireIdentityLayer::new),
            ))
            .add_routes(routes);
        match tls {
            Some((tls, config)) => {
                router
                    .serve_with_incoming_shutdown(tls.incoming(self.listener, config), shutdown)
                    .await?
            }
            // No Nagle delay: a call's headers, message and trailers are separate writes, and
            // waiting to coalesce them costs every call on a quiet connection.
            None => {
                router
                    .serve_with_incoming_shutdown(
                        tonic::transport::server::TcpIncoming::from(self.listener)
                            .with_nodelay(Some(true)),
                        shutdown,
                    )
                    .await?
            }
        }
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// What every department starts from: its database with the kit's and its own migrations, its
/// outbox, and a server that requires the internal identity (and, with TLS configured, a
/// client certificate of the CA) and serves the outbox's events.
pub async fn department(
    name: &'static str,
    settings: &crate::ServiceSettings,
    listener: TcpListener,
    deps: &crate::Deps,
    migrations: sqlx::migrate::Migrator,
) -> anyhow::Result<(crate::db::Db, crate::outbox::Outbox, Server)> {
    if settings.dev {
        crate::dev::announce(name);
    }
    let verifier = settings.verifier(name)?;
    let tls = settings.tls.load(name)?;
    let db = crate::db::Db::connect(&settings.database, name, migrations).await?;
    let server = Server::new(name, listener)
        .max_message_bytes(settings.max_message_bytes)?
        // Mutual TLS when configured: only the deployment's components reach a department.
        .tls(tls, ClientCerts::Required)
        .health_on(&settings.health_listen)
        .await?
        .require_identity(verifier);
    let outbox = crate::outbox::Outbox::new(db.clone(), deps.clock.clone(), server.stopping());
    let server = server.add_service(outbox.service());
    Ok((db, outbox, server))
}
