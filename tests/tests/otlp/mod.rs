//! An in-process OTLP receiver (the collector's gRPC trace and metrics services, from
//! `opentelemetry-proto`), on port 0, keeping what it receives for the tests to inspect.

#![allow(dead_code)] // each test binary uses part of it

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_proto::tonic::{
    collector::{
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::{AnyValue, KeyValue, any_value},
    metrics::v1::{metric::Data, number_data_point},
    trace::v1::Span,
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// A span as received, with the `service.name` of its resource.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service: String,
    pub span: Span,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<String> {
        attribute(&self.span.attributes, key)
    }

    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}

/// One data point of a metric: its attributes and its value (a gauge's or sum's value, or a
/// histogram's count).
#[derive(Debug, Clone)]
pub struct Point {
    pub service: String,
    pub metric: String,
    pub attributes: Vec<(String, String)>,
    pub value: f64,
    pub time_unix_nano: u64,
}

impl Point {
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.attributes.iter().any(|(k, v)| k == key && v == value)
    }
}

#[derive(Default)]
struct Received {
    spans: Mutex<Vec<ReceivedSpan>>,
    points: Mutex<Vec<Point>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Received>,
}

impl Receiver {
    /// Serves on 127.0.0.1, port 0, until the runtime ends.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Received::default());
        let service = Service(received.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(service.clone()))
                .add_service(MetricsServiceServer::new(service))
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await
                .expect("OTLP receiver serves");
        });
        Receiver { addr, received }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.spans.lock().unwrap().clone()
    }

    /// Spans whose name is `name`.
    pub fn spans_named(&self, name: &str) -> Vec<ReceivedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.span.name == name)
            .collect()
    }

    /// The database spans under `rpc`, checked to be in its trace and of `system`
    /// ("sqlite", "postgresql"); there must be at least one.
    pub fn db_spans_under(&self, rpc: &ReceivedSpan, system: &str) -> Vec<ReceivedSpan> {
        let db: Vec<ReceivedSpan> = self
            .spans_named("db")
            .into_iter()
            .filter(|s| s.parent_span_id() == rpc.span_id())
            .collect();
        assert!(!db.is_empty(), "no database span under the RPC span");
        for span in &db {
            assert_eq!(span.trace_id(), rpc.trace_id());
            assert_eq!(span.attribute("db.system").as_deref(), Some(system));
        }
        db
    }

    /// The latest value of `metric` at the data point having all of `attributes`.
    pub fn latest(&self, metric: &str, attributes: &[(&str, &str)]) -> Option<f64> {
        self.received
            .points
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.metric == metric && attributes.iter().all(|(k, v)| p.has(k, v)))
            .max_by_key(|p| p.time_unix_nano)
            .map(|p| p.value)
    }

    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .received
            .points
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.metric.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Waits (polling, up to 30 s) until `ready` holds; `flush` is called between checks.
    pub async fn wait_for(
        &self,
        what: &str,
        mut flush: impl AsyncFnMut(),
        ready: impl Fn(&Self) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if ready(self) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let spans: Vec<String> = self
                    .spans()
                    .iter()
                    .map(|s| format!("{} {:?}", s.span.name, s.attribute("wuye.component")))
                    .collect();
                panic!(
                    "timed out waiting for {what}; received spans {spans:#?} and metrics {:?}",
                    self.metric_names()
                );
            }
            flush().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[derive(Clone)]
struct Service(Arc<Received>);

fn service_name(resource: Option<&opentelemetry_proto::tonic::resource::v1::Resource>) -> String {
    resource
        .and_then(|r| attribute(&r.attributes, "service.name"))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.0.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = service_name(resource_spans.resource.as_ref());
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(ReceivedSpan {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Service {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut points = self.0.points.lock().unwrap();
        for resource_metrics in request.into_inner().resource_metrics {
            let service = service_name(resource_metrics.resource.as_ref());
            for scope in resource_metrics.scope_metrics {
                for metric in scope.metrics {
                    let mut push = |attributes: &[KeyValue], value: f64, time: u64| {
                        points.push(Point {
                            service: service.clone(),
                            metric: metric.name.clone(),
                            attributes: attributes
                                .iter()
                                .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                                .collect(),
                            value,
                            time_unix_nano: time,
                        })
                    };
                    match &metric.data {
                        Some(Data::Sum(sum)) => sum
                            .data_points
                            .iter()
                            .for_each(|p| push(&p.attributes, number(&p.value), p.time_unix_nano)),
                        Some(Data::Gauge(gauge)) => gauge
                            .data_points
                            .iter()
                            .for_each(|p| push(&p.attributes, number(&p.value), p.time_unix_nano)),
                        Some(Data::Histogram(histogram)) => histogram
                            .data_points
                            .iter()
                            .for_each(|p| push(&p.attributes, p.count as f64, p.time_unix_nano)),
                        _ => {}
                    }
                }
            }
        }
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn number(value: &Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsDouble(v)) => *v,
        Some(number_data_point::Value::AsInt(v)) => *v as f64,
        None => f64::NAN,
    }
}

pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| text(kv.value.as_ref()))
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
