//! Opening household files from customer-service's move-ins (ARC-3). The kit's follower
//! applies each event once, in the transaction that advances the cursor; the unique
//! (property, household) key keeps a file single even if an event came twice.

use wuye_kit::{
    Result,
    clock::SharedClock,
    db::Tx,
    follow::EventHandler,
    properties::Properties,
    time::from_timestamp,
};
use wuye_proto::events::{Event, HouseholdMovedIn, event::Payload};

use crate::{
    domain::files::{HouseholdFile, filing_due},
    store,
};

pub struct MoveIns {
    pub properties: Properties,
    pub clock: SharedClock,
}

impl EventHandler for MoveIns {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<()> {
        match &event.payload {
            Some(Payload::HouseholdMovedIn(moved)) => self.open_file(tx, event, moved).await,
            _ => Ok(()),
        }
    }
}

impl MoveIns {
    async fn open_file(&self, tx: &mut Tx, event: &Event, moved: &HouseholdMovedIn) -> Result<()> {
        let Ok(property) = self.properties.get(&event.property_id) else {
            // Every service reads the same properties file; an unknown property means the
            // deployments disagree, which holding up every other property would not fix.
            tracing::error!(property = %event.property_id, seq = event.seq, "move-in of a property this deployment does not serve; no household file opened");
            return Ok(());
        };
        let now = self.clock.now();
        let moved_in_at = moved
            .move_in_time
            .as_ref()
            .or(event.occur_time.as_ref())
            .and_then(from_timestamp)
            .unwrap_or(now);
        let file = HouseholdFile {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            household_id: moved.household_id.clone(),
            unit_id: moved.unit_id.clone(),
            unit_label: moved.unit_label.clone(),
            moved_in_at,
            // rule ARC-3
            filing_due_at: filing_due(moved_in_at, property),
            filed_at: None,
            opened_at: now,
            holder_name: String::new(),
        };
        if store::files::open(tx, &file).await? {
            tracing::info!(property = %file.property_id, unit = %file.unit_label, due = %file.filing_due_at, "household file opened");
        }
        Ok(())
    }
}
