//! Scheduled work of the department, run by the server while it serves.

use std::time::Duration;

use crate::{CustomerService, store};

/// Every `every`: announce, once each, complaints whose reply deadline passed and those still
/// unresolved (ESC-2), for the escalation relay.
pub async fn run(service: CustomerService, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for property in service.properties.iter() {
            let days = property.rules.complaints.unresolved_after_days;
            let now = service.clock.now();
            match store::complaints::note_overdue(
                &service.db,
                &service.outbox,
                &property.id,
                days,
                now,
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(property = %property.id, announced = n, "overdue complaints announced")
                }
                Err(e) => {
                    tracing::warn!(property = %property.id, error = %e, "overdue sweep failed")
                }
            }
        }
    }
}
