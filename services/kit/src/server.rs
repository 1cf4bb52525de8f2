//! Server bootstrap on a listener passed in (port 0 in tests): gRPC health, reflection (v1 and
//! v1alpha, for grpcurl), a span and RED metrics per call ([`crate::rpc`]), the internal
//! identity check, gRPC-Web when asked, and graceful shutdown.

use std::{future::Future, net::SocketAddr};

use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    service::{Routes, RoutesBuilder},
};
use tonic_health::ServingStatus;

use crate::identity::{RequireIdentityLayer, Verifier};

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
    cors: Option<tower_http::cors::CorsLayer>,
    max_message_bytes: usize,
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
            cors: None,
            max_message_bytes: crate::message_size::DEFAULT_MAX_MESSAGE_BYTES,
        }
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
        let mut names: Vec<String> = services.into_iter().collect();
        names.extend(
            [
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ]
            .map(String::from),
        );
        self.reflected = Some(names);
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
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.served {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let mut routes = self.routes;
        routes.add_service(health_service);
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
        if let Some(wrap) = self.wrap {
            routes = wrap(routes);
        }
        let name = self.name;
        let addr = self.listener.local_addr()?;
        let mut tasks = tokio::task::JoinSet::new();
        for task in self.tasks {
            tasks.spawn(task);
        }
        tracing::info!(server = name, %addr, "serving");
        tonic::transport::Server::builder()
            .accept_http1(self.grpc_web)
            // CORS, then gRPC-Web outermost: the span, the metrics and the identity check see
            // the call as plain gRPC.
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
            .add_routes(routes)
            // No Nagle delay: a call's headers, message and trailers are separate writes, and
            // waiting to coalesce them costs every call on a quiet connection.
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await?;
        tasks.shutdown().await;
        tracing::info!(server = name, "stopped");
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
/// outbox, and a server that requires the internal identity and serves the outbox's events.
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
    let db = crate::db::Db::connect(&settings.database, name, migrations).await?;
    let outbox = crate::outbox::Outbox::new(db.clone(), deps.clock.clone());
    let server = Server::new(name, listener)
        .max_message_bytes(settings.max_message_bytes)?
        .require_identity(verifier)
        .add_service(outbox.service());
    Ok((db, outbox, server))
}
