//! VIS-4: every repair engineering completes becomes due for a follow-up visit here, without
//! anyone asking. The kit's follower applies each `WorkOrderCompleted` once, in the
//! transaction that advances its cursor, and the work order id is the table's key, so a
//! restart neither loses nor duplicates a repair.

use wuye_kit::{
    Result, clock::SharedClock, db::Tx, follow::EventHandler, properties::Properties,
    time::from_timestamp,
};
use wuye_proto::events::{Event, WorkOrderCompleted, event::Payload};

use crate::app::{self, visits::CompletedRepair};

/// The follower's name in `event_cursors`.
pub const CONSUMER: &str = "customer-service/repair-follow-ups";

pub struct RepairFollowUps {
    pub properties: Properties,
    pub clock: SharedClock,
}

impl EventHandler for RepairFollowUps {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<()> {
        match &event.payload {
            Some(Payload::WorkOrderCompleted(done)) => self.completed(tx, event, done).await,
            _ => Ok(()),
        }
    }
}

impl RepairFollowUps {
    async fn completed(&self, tx: &mut Tx, event: &Event, done: &WorkOrderCompleted) -> Result<()> {
        if self.properties.get(&event.property_id).is_err() {
            // Every service reads the same properties file: holding up the others' repairs
            // would not mend a deployment that disagrees with itself.
            tracing::error!(property = %event.property_id, seq = event.seq, "completed repair of a property this deployment does not serve; no follow-up kept");
            return Ok(());
        }
        let now = self.clock.now();
        let completed_at = done
            .complete_time
            .as_ref()
            .or(event.occur_time.as_ref())
            .and_then(from_timestamp)
            .unwrap_or(now);
        let repair = CompletedRepair {
            property_id: event.property_id.clone(),
            work_order_id: done.work_order_id.clone(),
            number: done.number,
            unit_id: done.unit_id.clone(),
            completed_at,
            customer_rating: done.customer_rating,
            contact_number: done.contact_number,
            event_seq: event.seq,
        };
        app::visits::keep_completed_repair(tx, repair, now).await
    }
}
