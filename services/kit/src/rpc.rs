//! Every call served, gateway and services alike, is one span and one set of RED
//! measurements. The span continues the caller's W3C trace context, names the method, the
//! property, the caller's role and the gRPC status, and lasts until the answer's last byte
//! (streams included); never a message body, never personal data.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram},
    trace::TraceContextExt,
};
use tonic::{Code, Status};
use tower::{Layer, Service};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{identity::PROPERTY_HEADER, metrics};

/// Records the verified caller's role on the current call's span (the gateway after
/// authentication, a service after checking the internal identity).
pub fn record_caller_role(role: &str) {
    tracing::Span::current().record("wuye.caller.role", role);
}

/// The tower layer of [`crate::server::Server`]: spans and RED metrics for component
/// `service` (such as "gateway" or "customer-service").
#[derive(Clone)]
pub struct RpcLayer {
    service: &'static str,
    instruments: Option<Arc<Instruments>>,
}

struct Instruments {
    requests: Counter<u64>,
    errors: Counter<u64>,
    duration: Histogram<f64>,
}

/// Buckets for call durations in seconds, from a cached read to a slow report.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl RpcLayer {
    pub fn new(service: &'static str) -> Self {
        // Without an exporter there is nothing to measure for.
        let instruments = crate::telemetry::exporting().then(|| {
            let meter = metrics::meter();
            Arc::new(Instruments {
                requests: meter
                    .u64_counter(metrics::RPC_REQUESTS.name)
                    .with_description(metrics::RPC_REQUESTS.description)
                    .with_unit(metrics::RPC_REQUESTS.unit)
                    .build(),
                errors: meter
                    .u64_counter(metrics::RPC_ERRORS.name)
                    .with_description(metrics::RPC_ERRORS.description)
                    .with_unit(metrics::RPC_ERRORS.unit)
                    .build(),
                duration: meter
                    .f64_histogram(metrics::RPC_DURATION.name)
                    .with_description(metrics::RPC_DURATION.description)
                    .with_unit(metrics::RPC_DURATION.unit)
                    .with_boundaries(DURATION_BUCKETS.to_vec())
                    .build(),
            })
        });
        Self {
            service,
            instruments,
        }
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = Rpc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Rpc {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Rpc<S> {
    inner: S,
    layer: RpcLayer,
}

impl<S, B, R> Service<http::Request<B>> for Rpc<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: http_body::Body<Data = Bytes> + Send + 'static,
    R::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().trim_start_matches('/').to_owned();
        let (rpc_service, rpc_method) = path.split_once('/').unwrap_or((path.as_str(), ""));
        let property = request
            .headers()
            .get(PROPERTY_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!(
            "rpc",
            otel.name = %path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = rpc_service,
            rpc.method = rpc_method,
            wuye.component = self.layer.service,
            wuye.property = Empty,
            wuye.caller.role = Empty,
            rpc.grpc.status_code = Empty,
        );
        if !property.is_empty() {
            span.record("wuye.property", property.as_str());
        }
        let parent = crate::telemetry::extract_context(request.headers());
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
        let call = Call {
            service: self.layer.service,
            method: path,
            property,
            start: Instant::now(),
            code: None,
            instruments: self.layer.instruments.clone(),
            span: span.clone(),
        };
        let future = span.in_scope(|| self.inner.call(request));
        Box::pin(async move {
            let response = tracing::Instrument::instrument(future, span).await?;
            let mut call = call;
            call.code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map(Code::from_i32);
            Ok(response.map(|body| {
                tonic::body::Body::new(RpcBody {
                    inner: tonic::body::Body::new(body),
                    call: Some(call),
                })
            }))
        })
    }
}

/// A call in flight, measured when its answer ends.
struct Call {
    service: &'static str,
    method: String,
    property: String,
    start: Instant,
    /// The status, once known: from the headers of a trailers-only answer, or the trailers.
    code: Option<Code>,
    instruments: Option<Arc<Instruments>>,
    span: tracing::Span,
}

impl Call {
    fn finish(self, ended: bool) {
        // An answer dropped before its end: the client went away.
        let code = self.code.unwrap_or(if ended {
            Code::Unknown
        } else {
            Code::Cancelled
        });
        let name = code_name(code);
        self.span.record("rpc.grpc.status_code", code as i32);
        if server_fault(code) {
            self.span
                .set_status(opentelemetry::trace::Status::error(name));
        }
        if let Some(instruments) = &self.instruments {
            let attributes = [
                KeyValue::new("service", self.service),
                KeyValue::new("method", self.method.clone()),
                KeyValue::new("property", self.property),
                KeyValue::new("code", name),
            ];
            instruments.requests.add(1, &attributes);
            if server_fault(code) {
                instruments.errors.add(1, &attributes);
            }
            let attributes = [
                KeyValue::new("service", self.service),
                KeyValue::new("method", self.method),
                KeyValue::new("code", name),
            ];
            instruments
                .duration
                .record(self.start.elapsed().as_secs_f64(), &attributes);
        }
    }
}

/// The answer's body, passed through; it watches for the trailers carrying the status and
/// measures the call when the body ends or is dropped.
struct RpcBody {
    inner: tonic::body::Body,
    call: Option<Call>,
}

impl http_body::Body for RpcBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = Status::from_header_map(trailers).map(|s| s.code());
                    if let Some(call) = &mut self.call {
                        call.code = code.or(Some(Code::Unknown));
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = &mut self.call {
                    call.code = Some(Code::Internal);
                }
                if let Some(call) = self.call.take() {
                    call.finish(true);
                }
            }
            Poll::Ready(None) => {
                if let Some(call) = self.call.take() {
                    call.finish(true);
                }
            }
            Poll::Pending => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RpcBody {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            // A trailers-only answer (an error status) has an empty body that may never be
            // polled; its status came with the headers.
            let ended = call.code.is_some() || self.inner.is_end_stream();
            call.finish(ended);
        }
    }
}

/// Codes that mean the server failed, as OpenTelemetry's gRPC conventions count errors;
/// refusals (invalid argument, permission denied, failed precondition…) are answers.
fn server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The canonical name of a status code, as in gRPC's documentation.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
