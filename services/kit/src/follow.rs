//! Following another service's events: resume after the last event applied, apply each one in
//! a transaction that also advances the cursor (so a redelivered event is skipped), and
//! reconnect with backoff when the source is down. Applying an event is a span linked to the
//! span that wrote it (the event's `traceparent`), and the consumer's progress is measured
//! (`wuye.events.*`, see [`crate::metrics`]).

use std::{future::Future, time::Duration};

use futures::FutureExt as _;
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Gauge},
};
use prost::Message as _;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use tokio_stream::StreamExt;
use tonic::{Request, transport::Channel};
use wuye_proto::events::{Event, SubscribeRequest, event_service_client::EventServiceClient};

use crate::{
    Error, Result,
    db::{Db, Tx},
    identity::Signed,
    metrics,
};

/// What a consumer does with one event, inside the transaction that records it as applied.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(&self, tx: &mut Tx, event: &Event) -> impl Future<Output = Result<()>> + Send;
}

/// A consumer named `consumer` of the events served at `source` (a channel to the peer whose
/// calls carry this service's own identity: [`source`]).
pub struct Follower<H> {
    pub consumer: &'static str,
    pub db: Db,
    pub source: Signed<Channel>,
    pub handler: H,
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl<H: EventHandler> Follower<H> {
    /// Follows the source until the task is dropped.
    pub async fn run(self) {
        let progress = Progress::new(self.consumer);
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.follow_once(&mut backoff, &progress).await {
                Ok(()) => tracing::info!(
                    consumer = self.consumer,
                    "event stream ended; resubscribing"
                ),
                Err(e) => {
                    progress.failed();
                    tracing::warn!(consumer = self.consumer, error = %e, "following events failed; retrying")
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn follow_once(&self, backoff: &mut Duration, progress: &Progress) -> Result<()> {
        let after_seq = self.cursor().await?;
        let request = Request::new(SubscribeRequest { after_seq });
        let mut client = EventServiceClient::new(self.source.clone());
        let mut stream = client
            .subscribe(request)
            .await
            .map_err(|s| Error::Unavailable(format!("subscribe: {}", s.message())))?
            .into_inner();
        let mut next = stream.next().await;
        while let Some(item) = next {
            let item =
                item.map_err(|s| Error::Unavailable(format!("event stream: {}", s.message())))?;
            let Some(event) = item.event else {
                next = stream.next().await;
                continue;
            };
            if self.apply(&event).instrument(self.span(&event)).await? {
                progress.applied();
            }
            *backoff = MIN_BACKOFF;
            // Nothing more ready on the stream right now means caught up.
            next = match stream.next().now_or_never() {
                Some(ready) => {
                    progress.lag(&event, true);
                    ready
                }
                None => {
                    progress.lag(&event, false);
                    stream.next().await
                }
            };
        }
        Ok(())
    }

    /// The span of applying `event`: a consumer span of its own trace, linked to the span of
    /// the transaction that wrote the event.
    fn span(&self, event: &Event) -> tracing::Span {
        let span = tracing::info_span!(
            "event",
            otel.name = %format!("apply {}", self.consumer),
            otel.kind = "consumer",
            wuye.consumer = self.consumer,
            wuye.event.seq = event.seq,
            wuye.event.kind = event_kind(event),
            wuye.property = %event.property_id,
        );
        if let Some(producer) = crate::telemetry::remote_span_context(&event.traceparent) {
            span.add_link(producer);
        }
        span
    }

    /// Applies `event` once: a sequence number at or below the cursor is a duplicate. Whether
    /// it was applied now.
    async fn apply(&self, event: &Event) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let advanced = sqlx::query(
            "UPDATE event_cursors SET last_seq = $2 WHERE consumer = $1 AND last_seq < $2",
        )
        .bind(self.consumer)
        .bind(event.seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if advanced == 0 {
            return Ok(false); // seen before; the transaction rolls back
        }
        self.handler.handle(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn cursor(&self) -> Result<i64> {
        let mut tx = self.db.begin().await?;
        sqlx::query("INSERT INTO event_cursors (consumer, last_seq) VALUES ($1, 0) ON CONFLICT (consumer) DO NOTHING")
            .bind(self.consumer)
            .execute(&mut *tx)
            .await?;
        let (seq,): (i64,) =
            sqlx::query_as("SELECT last_seq FROM event_cursors WHERE consumer = $1")
                .bind(self.consumer)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(seq)
    }
}

/// The name of an event's payload (`household_moved_in`), from the contracts' descriptors:
/// the kind is worth a span attribute, the payload's content is not.
pub fn event_kind(event: &Event) -> &'static str {
    use std::{collections::HashMap, sync::OnceLock};
    static NAMES: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let fds = prost_types::FileDescriptorSet::decode(wuye_proto::FILE_DESCRIPTOR_SET)
            .unwrap_or_default();
        fds.file
            .iter()
            .filter(|f| f.package() == "wuye.events.v1")
            .flat_map(|f| &f.message_type)
            .filter(|m| m.name() == "Event")
            .flat_map(|m| &m.field)
            .filter(|f| f.oneof_index.is_some())
            .map(|f| {
                let name: &'static str = Box::leak(f.name().to_owned().into_boxed_str());
                (f.number() as u32, name)
            })
            .collect()
    });
    let Some(payload) = &event.payload else {
        return "none";
    };
    // The payload's field number is the key of its encoding.
    let mut bytes = Vec::new();
    payload.encode(&mut bytes);
    prost::encoding::decode_key(&mut bytes.as_slice())
        .ok()
        .and_then(|(tag, _)| names.get(&tag).copied())
        .unwrap_or("unknown")
}

/// A consumer's measurements (no-ops unless metrics are exported).
struct Progress {
    attributes: [KeyValue; 1],
    applied: Counter<u64>,
    failures: Counter<u64>,
    lag: Gauge<f64>,
}

impl Progress {
    fn new(consumer: &'static str) -> Self {
        let meter = metrics::meter();
        Self {
            attributes: [KeyValue::new("consumer", consumer)],
            applied: meter
                .u64_counter(metrics::EVENTS_APPLIED.name)
                .with_description(metrics::EVENTS_APPLIED.description)
                .with_unit(metrics::EVENTS_APPLIED.unit)
                .build(),
            failures: meter
                .u64_counter(metrics::EVENTS_FAILURES.name)
                .with_description(metrics::EVENTS_FAILURES.description)
                .with_unit(metrics::EVENTS_FAILURES.unit)
                .build(),
            lag: meter
                .f64_gauge(metrics::EVENTS_LAG.name)
                .with_description(metrics::EVENTS_LAG.description)
                .with_unit(metrics::EVENTS_LAG.unit)
                .build(),
        }
    }

    fn applied(&self) {
        self.applied.add(1, &self.attributes);
    }

    fn failed(&self) {
        self.failures.add(1, &self.attributes);
    }

    /// After `event`: its age while more events wait, 0 once caught up. Ages come from the
    /// producer's clock, so a skew between machines shows; never below 0.
    fn lag(&self, event: &Event, more_waiting: bool) {
        let age = if more_waiting {
            event
                .occur_time
                .as_ref()
                .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
                .map(|at| (chrono::Utc::now() - at).as_seconds_f64().max(0.0))
                .unwrap_or(0.0)
        } else {
            0.0
        };
        self.lag.record(age, &self.attributes);
    }
}

/// A lazy channel to a peer service's address: mutual TLS with `tls` (the address is then
/// `https://` and the peer's certificate must name its host), plaintext without.
pub fn peer_channel(address: &str, tls: Option<&crate::tls::Tls>) -> anyhow::Result<Channel> {
    Ok(crate::tls::endpoint(address, tls)?.connect_lazy())
}

/// The channel over which `service` follows the events of its peer `peer` (an address of
/// `peers`), its calls signed as `service` itself, over mutual TLS when `service` has TLS.
pub fn source(
    settings: &crate::ServiceSettings,
    service: &str,
    peer: &str,
) -> anyhow::Result<Signed<Channel>> {
    let tls = settings.tls.load(service)?;
    let channel = peer_channel(settings.peer(peer)?, tls.as_ref())
        .map_err(|e| anyhow::anyhow!("peers.{peer}: {e:#}"))?;
    Ok(settings.signer(service)?.channel(channel, peer))
}
