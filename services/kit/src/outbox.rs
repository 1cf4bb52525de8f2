//! The transactional outbox and the event stream each service serves from it.

use std::{pin::Pin, time::Duration};

use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};
use wuye_proto::events::{
    Event, SubscribeRequest, SubscribeResponse,
    event::Payload,
    event_service_server::{EventService, EventServiceServer},
};

use crate::{
    Result,
    clock::SharedClock,
    db::{Db, Tx, to_micros},
    time::to_timestamp,
};

/// Events read from the database per round trip while a subscriber catches up.
const BATCH: i64 = 256;
/// A subscriber also polls this often, for events written by another instance of the service.
const POLL: Duration = Duration::from_secs(1);

/// Writes events in the caller's transaction and wakes subscribers once it commits.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    clock: SharedClock,
    committed: watch::Sender<()>,
    /// Turns true when the server stops: the streams served end, so that it can.
    stopping: watch::Receiver<bool>,
}

impl Outbox {
    /// The outbox of `db`, whose event streams end when `stopping` turns true.
    pub fn new(db: Db, clock: SharedClock, stopping: watch::Receiver<bool>) -> Self {
        Self {
            db,
            clock,
            committed: watch::Sender::new(()),
            stopping,
        }
    }

    /// Appends an event to the outbox inside `tx`; returns its sequence number. Call
    /// [`Outbox::notify`] after the commit. Write it last in the transaction: taking the
    /// number holds the sequence row until commit.
    pub async fn append(&self, tx: &mut Tx, property_id: &str, payload: Payload) -> Result<i64> {
        let now = self.clock.now();
        let event = Event {
            seq: 0,
            property_id: property_id.to_owned(),
            occur_time: Some(to_timestamp(now)),
            traceparent: crate::telemetry::current_traceparent().unwrap_or_default(),
            payload: Some(payload),
        };
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE outbox_seq SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq",
        )
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO outbox (seq, property_id, occur_at, event) VALUES ($1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(property_id)
        .bind(to_micros(now))
        .bind(event.encode_to_vec())
        .execute(&mut **tx)
        .await?;
        Ok(seq)
    }

    /// Wakes the subscribers after a transaction that appended events has committed.
    pub fn notify(&self) {
        self.committed.send_replace(());
    }

    /// Events after `after_seq`, at most `limit`, in order.
    pub async fn read(&self, after_seq: i64, limit: i64) -> Result<Vec<Event>> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, event FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after_seq)
                .bind(limit)
                .fetch_all(self.db.pool())
                .await?;
        rows.into_iter()
            .map(|(seq, bytes)| {
                let mut event = Event::decode(bytes.as_slice())
                    .map_err(|e| anyhow::anyhow!("outbox event {seq} does not decode: {e}"))?;
                event.seq = seq;
                Ok(event)
            })
            .collect()
    }

    /// The `wuye.events.v1.EventService` of this outbox.
    pub fn service(&self) -> EventServiceServer<Self> {
        EventServiceServer::new(self.clone())
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<SubscribeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for Outbox {
    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        // Departments (and the gateway's relay) follow events as themselves; users never do.
        crate::identity::caller(&request)?.require_service()?;
        let mut cursor = request.into_inner().after_seq.max(0);
        let (tx, rx) = mpsc::channel(BATCH as usize);
        let outbox = self.clone();
        let mut committed = self.committed.subscribe();
        let mut stopping = self.stopping.clone();
        tokio::spawn(async move {
            loop {
                committed.borrow_and_update();
                let events = match outbox.read(cursor, BATCH).await {
                    Ok(events) => events,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let caught_up = (events.len() as i64) < BATCH;
                for event in events {
                    cursor = event.seq;
                    let item = SubscribeResponse { event: Some(event) };
                    if tx.send(Ok(item)).await.is_err() {
                        return; // the subscriber hung up
                    }
                }
                if caught_up {
                    tokio::select! {
                        _ = committed.changed() => {}
                        _ = tokio::time::sleep(POLL) => {}
                        _ = tx.closed() => return,
                        // The subscriber resumes from its cursor elsewhere or after the restart.
                        _ = stopping.wait_for(|s| *s) => return,
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
