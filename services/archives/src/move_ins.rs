//! Customer-service's move-ins, as they arrive: each opens a household file (ARC-3, the use
//! case is `app::files::open_on_move_in`). The kit's follower applies each event once, in the
//! transaction that advances the cursor; the unique (property, household) key keeps a file
//! single even if an event came twice.

use wuye_kit::{
    Result, clock::SharedClock, db::Tx, follow::EventHandler, properties::Properties,
    time::from_timestamp,
};
use wuye_proto::events::{Event, event::Payload};

use crate::app::files::{self, MovedIn};

pub struct MoveIns {
    pub properties: Properties,
    pub clock: SharedClock,
}

impl EventHandler for MoveIns {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<()> {
        let Some(Payload::HouseholdMovedIn(moved)) = &event.payload else {
            return Ok(());
        };
        let moved = MovedIn {
            property_id: event.property_id.clone(),
            seq: event.seq,
            household_id: moved.household_id.clone(),
            unit_id: moved.unit_id.clone(),
            unit_label: moved.unit_label.clone(),
            moved_in_at: moved
                .move_in_time
                .as_ref()
                .or(event.occur_time.as_ref())
                .and_then(from_timestamp),
        };
        files::open_on_move_in(&self.properties, &self.clock, tx, moved).await
    }
}

#[cfg(test)]
mod tests {
    use std::{path::Path, sync::Arc};

    use chrono::TimeZone;
    use wuye_kit::{
        clock::ManualClock,
        db::{DatabaseSettings, Db},
        time::to_timestamp,
    };

    use super::*;
    use wuye_proto::events::HouseholdMovedIn;

    async fn db(dir: &Path) -> Db {
        let settings = DatabaseSettings {
            data_dir: dir.to_owned(),
            ..Default::default()
        };
        Db::connect(&settings, "archives", sqlx::migrate!("./migrations"))
            .await
            .unwrap()
    }

    fn moved_in(seq: i64, property: &str, household: &str) -> Event {
        let at = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 9, 24, 16, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc);
        Event {
            seq,
            property_id: property.into(),
            occur_time: Some(to_timestamp(at)),
            traceparent: String::new(),
            payload: Some(Payload::HouseholdMovedIn(HouseholdMovedIn {
                household_id: household.into(),
                unit_id: "u1".into(),
                unit_label: "3-2-1502".into(),
                move_in_time: Some(to_timestamp(at)),
            })),
        }
    }

    async fn count(db: &Db) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM household_files")
            .fetch_one(db.pool())
            .await
            .unwrap();
        n
    }

    #[tokio::test]
    async fn a_household_gets_one_file_whatever_arrives_twice() {
        // rule ARC-3
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path()).await;
        let properties = Properties::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/properties.toml"),
        )
        .unwrap();
        let handler = MoveIns {
            properties,
            clock: Arc::new(ManualClock::new(chrono::Utc::now())),
        };
        for (seq, property, household) in [
            (1, "sunshine-garden", "h1"),
            (2, "sunshine-garden", "h1"),
            (3, "nowhere", "h2"),
            (4, "sunshine-garden", "h3"),
        ] {
            let mut tx = db.begin().await.unwrap();
            handler
                .handle(&mut tx, &moved_in(seq, property, household))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(count(&db).await, 2);
        let (due,): (i64,) =
            sqlx::query_as("SELECT filing_due_at FROM household_files WHERE household_id = 'h1'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        let expected = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
            .unwrap();
        assert_eq!(due, expected.timestamp_micros());
    }
}
