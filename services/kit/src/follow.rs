//! Following another service's events: resume after the last event applied, apply each one in
//! a transaction that also advances the cursor (so a redelivered event is skipped), and
//! reconnect with backoff when the source is down.

use std::{future::Future, time::Duration};

use tokio_stream::StreamExt;
use tonic::{Request, transport::Channel};
use wuye_proto::events::{Event, SubscribeRequest, event_service_client::EventServiceClient};

use crate::{
    Error, Result,
    db::{Db, Tx},
    identity::{Caller, IDENTITY_HEADER, InternalKey},
};

/// What a consumer does with one event, inside the transaction that records it as applied.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(&self, tx: &mut Tx, event: &Event) -> impl Future<Output = Result<()>> + Send;
}

/// A consumer named `consumer` of the events served at `source`.
pub struct Follower<H> {
    pub consumer: &'static str,
    pub db: Db,
    pub source: Channel,
    pub identity: InternalKey,
    pub handler: H,
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl<H: EventHandler> Follower<H> {
    /// Follows the source until the task is dropped.
    pub async fn run(self) {
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.follow_once(&mut backoff).await {
                Ok(()) => tracing::info!(
                    consumer = self.consumer,
                    "event stream ended; resubscribing"
                ),
                Err(e) => {
                    tracing::warn!(consumer = self.consumer, error = %e, "following events failed; retrying")
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn follow_once(&self, backoff: &mut Duration) -> Result<()> {
        let after_seq = self.cursor().await?;
        let identity = self.identity.sign(&Caller::service(self.consumer))?;
        let mut request = Request::new(SubscribeRequest { after_seq });
        request.metadata_mut().insert(
            IDENTITY_HEADER,
            identity
                .parse()
                .map_err(|_| Error::Internal(anyhow::anyhow!("identity is not metadata")))?,
        );
        let mut client = EventServiceClient::new(self.source.clone());
        let mut stream = client
            .subscribe(request)
            .await
            .map_err(|s| Error::Unavailable(format!("subscribe: {}", s.message())))?
            .into_inner();
        while let Some(item) = stream.next().await {
            let item =
                item.map_err(|s| Error::Unavailable(format!("event stream: {}", s.message())))?;
            if let Some(event) = item.event {
                self.apply(&event).await?;
                *backoff = MIN_BACKOFF;
            }
        }
        Ok(())
    }

    /// Applies `event` once: a sequence number at or below the cursor is a duplicate.
    async fn apply(&self, event: &Event) -> Result<()> {
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
            return Ok(()); // seen before; the transaction rolls back
        }
        self.handler.handle(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
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

/// A lazy channel to a peer service's address.
pub fn peer_channel(address: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(address.to_owned())?.connect_lazy())
}
