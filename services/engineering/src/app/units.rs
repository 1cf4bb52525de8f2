//! WO-1: a repair names a unit of its property. Customer-service owns the units; engineering
//! learns them from its `UnitRegistered` events rather than asking at each request, so taking
//! a repair needs no other department to be up, and the dependency runs one way (engineering
//! reads customer-service's stream; customer-service knows nothing of engineering's needs).
//! The kit's follower applies each event once, in the transaction that advances its cursor,
//! and the (property, unit) key keeps a unit single even if it is announced twice.

use wuye_kit::{Result, db::Tx, follow::EventHandler, time::from_timestamp};
use wuye_proto::events::{Event, UnitRegistered, event::Payload};

use crate::store::units::{self as store, KnownUnit};

/// The follower's name in `event_cursors`.
pub const CONSUMER: &str = "engineering/units";

pub struct Units;

impl EventHandler for Units {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<()> {
        match &event.payload {
            Some(Payload::UnitRegistered(unit)) => registered(tx, event, unit).await,
            _ => Ok(()),
        }
    }
}

async fn registered(tx: &mut Tx, event: &Event, unit: &UnitRegistered) -> Result<()> {
    if event.property_id.is_empty() || unit.unit_id.is_empty() {
        // Customer-service never writes one; holding up every later unit would not mend it.
        tracing::error!(
            property = %event.property_id,
            seq = event.seq,
            "unit announcement without a property or unit id; ignored"
        );
        return Ok(());
    }
    // Kept whether or not this deployment serves the property: a call for a property it does
    // not serve is refused anyway, and the unit is known should it serve it later.
    let known = KnownUnit {
        property_id: event.property_id.clone(),
        unit_id: unit.unit_id.clone(),
        unit_label: unit.unit_label.clone(),
        building: unit.building.clone(),
        registered_at: unit.register_time.as_ref().and_then(from_timestamp),
    };
    if store::learn(tx, &known, event.seq).await? {
        tracing::debug!(property = %known.property_id, unit = %known.unit_label, "unit learnt");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use wuye_kit::db::{DatabaseSettings, Db};

    use super::*;

    async fn db(dir: &std::path::Path) -> Db {
        let settings = DatabaseSettings {
            data_dir: dir.to_owned(),
            ..Default::default()
        };
        Db::connect(&settings, "engineering", sqlx::migrate!("./migrations"))
            .await
            .unwrap()
    }

    fn announced(seq: i64, property: &str, unit: &str) -> Event {
        Event {
            seq,
            property_id: property.into(),
            occur_time: None,
            traceparent: String::new(),
            payload: Some(Payload::UnitRegistered(UnitRegistered {
                unit_id: unit.into(),
                unit_label: "3-2-1502".into(),
                building: "3".into(),
                entrance: "2".into(),
                room: "1502".into(),
                register_time: None,
            })),
        }
    }

    #[tokio::test]
    async fn a_unit_is_known_once_and_only_at_its_property() {
        // rule WO-1
        let dir = std::env::temp_dir().join(format!("wuye-units-{}", uuid::Uuid::now_v7()));
        let db = db(&dir).await;
        for event in [
            announced(1, "sunshine-garden", "u1"),
            announced(2, "sunshine-garden", "u1"),
            announced(3, "sunshine-garden", ""),
            announced(4, "", "u3"),
            announced(5, "other", "u2"),
        ] {
            let mut tx = db.begin().await.unwrap();
            Units.handle(&mut tx, &event).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut tx = db.begin().await.unwrap();
        assert!(
            store::is_known(&mut tx, "sunshine-garden", "u1")
                .await
                .unwrap()
        );
        assert!(
            !store::is_known(&mut tx, "sunshine-garden", "u2")
                .await
                .unwrap()
        );
        assert!(store::is_known(&mut tx, "other", "u2").await.unwrap());
        assert!(!store::is_known(&mut tx, "", "u3").await.unwrap());
        tx.commit().await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM known_units")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 2);
        db.pool().close().await;
        std::fs::remove_dir_all(&dir).ok();
    }
}
