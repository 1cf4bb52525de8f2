//! Logs and traces: `tracing` everywhere, text or JSON lines on stderr, and OpenTelemetry OTLP
//! export of traces and metrics when an endpoint is configured (nothing is exported, and
//! nothing slows down, when none is). W3C trace context crosses every hop through the
//! helpers here: [`extract_context`] on the way in, [`inject_context`] on the way out, and
//! [`current_traceparent`] / [`remote_span_context`] through the event streams.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use opentelemetry::{
    Context, KeyValue,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{Span as _, SpanContext, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _},
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    propagation::TraceContextPropagator,
    trace::{SdkTracer, SdkTracerProvider},
};
use serde::{Deserialize, Serialize};
use tracing::{Dispatch, Subscriber, dispatcher::WeakDispatch};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// `text` for people, `json` for log collectors.
    pub log_format: String,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// OTLP/gRPC endpoint such as `http://collector:4317`; empty exports nothing.
    pub otlp_endpoint: String,
    /// How often metrics are exported, and domain gauges recounted, in milliseconds.
    pub metrics_interval_ms: u64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: "text".into(),
            log_filter: "info".into(),
            otlp_endpoint: String::new(),
            metrics_interval_ms: 30_000,
        }
    }
}

/// Whether this process exports metrics, and how often (set once by [`init`]).
static METRICS_ON: AtomicBool = AtomicBool::new(false);
static METRICS_INTERVAL_MS: AtomicU64 = AtomicU64::new(30_000);

/// Whether traces and metrics are exported: work that only feeds them (domain gauges) skip their work
/// otherwise.
pub fn exporting() -> bool {
    METRICS_ON.load(Ordering::Relaxed)
}

/// The metrics export interval of this process.
pub fn metrics_interval() -> Duration {
    Duration::from_millis(METRICS_INTERVAL_MS.load(Ordering::Relaxed).max(100))
}

/// Flushes and stops the exporters when the process ends.
#[must_use = "telemetry stops exporting when the guard is dropped"]
pub struct TelemetryGuard {
    providers: Option<(SdkTracerProvider, SdkMeterProvider)>,
}

impl TelemetryGuard {
    /// Exports everything recorded so far. It blocks: on a Tokio runtime call it from
    /// `spawn_blocking`, on a multi-thread runtime (the exporter needs the runtime running).
    pub fn flush(&self) {
        if let Some((tracer, meter)) = &self.providers {
            if let Err(e) = tracer.force_flush() {
                tracing::warn!(error = %e, "flushing spans failed");
            }
            if let Err(e) = meter.force_flush() {
                tracing::warn!(error = %e, "flushing metrics failed");
            }
        }
    }

    pub fn shutdown(mut self) {
        if let Some((tracer, meter)) = self.providers.take() {
            let _ = tracer.shutdown();
            let _ = meter.shutdown();
        }
    }
}

/// Sets up logging and, with an endpoint, OTLP export, for the process. Call it once, inside
/// a Tokio runtime; a second call (several servers in one process) keeps the first set-up.
pub fn init(service: &str, settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter =
        EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let subscriber = Arc::new(OnceLock::new());
    let fmt = match settings.log_format.as_str() {
        "json" => json_layer(subscriber.clone(), std::io::stderr).boxed(),
        "text" => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        other => anyhow::bail!("log_format must be text or json, not {other}"),
    };
    // The log filter chooses what is logged, not what is traced: traces take every span and
    // event at INFO and above, whatever the log level.
    let fmt = fmt.with_filter(filter);
    if settings.otlp_endpoint.is_empty() {
        install(tracing_subscriber::registry().with(fmt).into(), &subscriber);
        return Ok(TelemetryGuard { providers: None });
    }
    let resource = Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(&settings.otlp_endpoint)
        .build()?;
    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        .with_resource(resource.clone())
        .build();
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(&settings.otlp_endpoint)
        .build()?;
    let interval = Duration::from_millis(settings.metrics_interval_ms.max(100));
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(metrics)
                .with_interval(interval)
                .build(),
        )
        .with_resource(resource)
        .build();
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    METRICS_INTERVAL_MS.store(interval.as_millis() as u64, Ordering::Relaxed);
    METRICS_ON.store(true, Ordering::Relaxed);
    let otel =
        tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer(service.to_owned()));
    let otel = otel.with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    // sqlx reports each statement at DEBUG under `sqlx::query`; only this layer asks for it.
    // It sees the spans the traces see (INFO), so that a statement finds the span it ran in.
    let db = DbSpans {
        tracer: tracer_provider.tracer("wuye.db"),
        subscriber: subscriber.clone(),
    }
    .with_filter(
        tracing_subscriber::filter::Targets::new()
            .with_target(SQLX_TARGET, tracing::Level::DEBUG)
            .with_default(tracing::Level::INFO),
    );
    install(
        tracing_subscriber::registry()
            .with(fmt)
            .with(otel)
            .with(db)
            .into(),
        &subscriber,
    );
    Ok(TelemetryGuard {
        providers: Some((tracer_provider, meter_provider)),
    })
}

fn install(dispatch: Dispatch, subscriber: &OnceLock<WeakDispatch>) {
    let _ = subscriber.set(dispatch.downgrade());
    let _ = dispatch.try_init();
}

/// The JSON log layer writing to `writer`. `subscriber` is set to the subscriber the layer
/// ends up in: the formatter finds a span's OpenTelemetry ids through it (looking it up
/// through the thread's default dispatcher from inside an event is not possible: tracing
/// hands nested look-ups a no-op dispatcher).
fn json_layer<S, W>(
    subscriber: Arc<OnceLock<WeakDispatch>>,
    writer: W,
) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .event_format(JsonWithTraceIds {
            json: tracing_subscriber::fmt::format()
                .json()
                .with_current_span(true),
            subscriber,
        })
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .with_writer(writer)
}

/// JSON lines as tracing-subscriber writes them, plus the OpenTelemetry `trace_id` and
/// `span_id` of the event's span when it is traced, so that logs and traces join.
struct JsonWithTraceIds<F> {
    json: F,
    subscriber: Arc<OnceLock<WeakDispatch>>,
}

impl<S, N, F> FormatEvent<S, N> for JsonWithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let span = event
            .parent()
            .cloned()
            .or_else(|| ctx.lookup_current().map(|span| span.id()));
        let ids = span.and_then(|id| {
            let dispatch = self.subscriber.get()?.upgrade()?;
            let context = tracing_opentelemetry::get_otel_context(&id, &dispatch)?;
            let span = context.span();
            let sc = span.span_context();
            sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
        });
        let mut line = String::new();
        self.json.format_event(ctx, Writer::new(&mut line), event)?;
        match (ids, line.strip_prefix('{')) {
            (Some((trace_id, span_id)), Some(rest)) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            _ => writer.write_str(&line),
        }
    }
}

const SQLX_TARGET: &str = "sqlx::query";

/// The database system of this process, for the spans of its statements: 0 unknown, 1 SQLite,
/// 2 PostgreSQL (a service has one database; set when it connects).
static DB_SYSTEM: AtomicU8 = AtomicU8::new(0);

pub(crate) fn set_db_system(backend: crate::db::Backend) {
    let code = match backend {
        crate::db::Backend::Sqlite => 1,
        crate::db::Backend::Postgres => 2,
    };
    DB_SYSTEM.store(code, Ordering::Relaxed);
}

fn db_system() -> &'static str {
    match DB_SYSTEM.load(Ordering::Relaxed) {
        1 => "sqlite",
        2 => "postgresql",
        _ => "other_sql",
    }
}

/// Database calls as child spans of the span they run in: sqlx reports every statement when
/// it ends (with its duration, on the task or the SQLite worker that entered the caller's
/// span), and this layer records it as a span "db" under that span, started when the
/// statement started. Only the operation and the table are kept — never the statement's
/// values, which are bound parameters and not in the report anyway. Statements outside any
/// traced span (migrations, idle sweeps) make no span.
struct DbSpans {
    tracer: SdkTracer,
    subscriber: Arc<OnceLock<WeakDispatch>>,
}

impl<S> Layer<S> for DbSpans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != SQLX_TARGET {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let Some(dispatch) = self.subscriber.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let Some(parent) = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch) else {
            return;
        };
        if !parent.span().span_context().is_valid() {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let text = if statement.sql.trim().is_empty() {
            &statement.summary
        } else {
            &statement.sql
        };
        let (operation, table) = describe_statement(text);
        let end = SystemTime::now();
        let took = Duration::try_from_secs_f64(statement.elapsed_secs).unwrap_or_default();
        let mut attributes = vec![
            KeyValue::new("db.system", db_system()),
            KeyValue::new("db.operation", operation),
        ];
        if let Some(table) = table {
            attributes.push(KeyValue::new("db.collection.name", table));
        }
        let mut db = self
            .tracer
            .span_builder("db")
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(took).unwrap_or(end))
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        db.end_with_timestamp(end);
    }
}

/// What the layer reads of sqlx's report of a statement.
#[derive(Default)]
struct Statement {
    summary: String,
    sql: String,
    elapsed_secs: f64,
}

impl tracing::field::Visit for Statement {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.sql = value.to_owned(),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "summary" | "db.statement" => self.record_str(field, &format!("{value:?}")),
            _ => {}
        }
    }
}

/// The operation ("SELECT", "INSERT", …) and the first table a statement names, as a label
/// for its span: words of the query text only, which holds placeholders, not values.
fn describe_statement(sql: &str) -> (String, Option<String>) {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let operation = words
        .first()
        .map(|w| w.to_ascii_uppercase())
        .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        .unwrap_or_else(|| "OTHER".into());
    let after = match operation.as_str() {
        "SELECT" | "DELETE" => "FROM",
        "INSERT" => "INTO",
        "UPDATE" => "UPDATE",
        _ => return (operation, None),
    };
    let table = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(after))
        .and_then(|i| words.get(i + 1))
        .map(|w| {
            w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .to_owned()
        })
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    (operation, table)
}

/// The W3C `traceparent` of the current span, when it is being traced.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// The span context a `traceparent` names (an event's producer), when it is valid.
pub fn remote_span_context(traceparent: &str) -> Option<SpanContext> {
    let context = TraceContextPropagator::new().extract(&OneHeader(traceparent));
    let span = context.span();
    let sc = span.span_context().clone();
    sc.is_valid().then_some(sc)
}

/// The trace context a caller sent in its metadata (`traceparent`, `tracestate`).
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// Writes the current span's trace context into outgoing metadata, replacing what the caller
/// sent; when nothing is traced the metadata passes untouched.
pub fn inject_context(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeadersMut(headers));
    }
}

struct OneHeader<'a>(&'a str);

impl Extractor for OneHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeadersMut<'a>(&'a mut http::HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_logs_carry_the_trace_and_span_ids() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = Arc::new(OnceLock::new());
        // A tracer without an exporter: spans get ids, nothing leaves the process.
        let tracer = SdkTracerProvider::builder().build().tracer("test");
        let dispatch: Dispatch = tracing_subscriber::registry()
            .with(json_layer(subscriber.clone(), move || writer.clone()))
            .with(tracing_opentelemetry::layer().with_tracer(tracer))
            .into();
        let _ = subscriber.set(dispatch.downgrade());
        let ids = tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("outside any span");
            let span = tracing::info_span!("rpc");
            let _entered = span.enter();
            tracing::info!(answer = 42, "inside");
            let context = span.context();
            let sc = context.span().span_context().clone();
            (sc.trace_id().to_string(), sc.span_id().to_string())
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(!lines[0].contains("trace_id"), "{}", lines[0]);
        assert!(lines[0].starts_with('{') && lines[0].ends_with('}'));
        let expected = format!("{{\"trace_id\":\"{}\",\"span_id\":\"{}\",", ids.0, ids.1);
        assert!(lines[1].starts_with(&expected), "{}", lines[1]);
        assert!(lines[1].contains("\"answer\":42"), "{}", lines[1]);
    }

    #[test]
    fn statements_are_labelled_by_operation_and_table() {
        let cases = [
            (
                "SELECT c.number, c.category FROM complaints c LEFT JOIN units u",
                ("SELECT", Some("complaints")),
            ),
            (
                "insert into outbox (seq, payload) values ($1, $2)",
                ("INSERT", Some("outbox")),
            ),
            (
                "UPDATE complaints SET state = $1",
                ("UPDATE", Some("complaints")),
            ),
            (
                "DELETE FROM idempotency WHERE",
                ("DELETE", Some("idempotency")),
            ),
            ("BEGIN IMMEDIATE", ("BEGIN", None)),
            ("SELECT COUNT(*), COUNT(return_at) FROM", ("SELECT", None)),
            ("", ("OTHER", None)),
        ];
        for (sql, (operation, table)) in cases {
            let (o, t) = describe_statement(sql);
            assert_eq!((o.as_str(), t.as_deref()), (operation, table), "{sql}");
        }
    }

    #[test]
    fn a_traceparent_round_trips_through_metadata() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let sc = remote_span_context(traceparent).expect("valid");
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(sc.is_remote());
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", traceparent.parse().unwrap());
        let context = extract_context(&headers);
        assert_eq!(context.span().span_context(), &sc);
        assert!(remote_span_context("garbage").is_none());
    }
}
