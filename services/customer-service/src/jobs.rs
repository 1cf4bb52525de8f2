//! Scheduled work of the department, run by the server while it serves.

use std::time::Duration;

use crate::{CustomerService, app};

/// Every `every`: announce, once each, complaints whose reply deadline passed and those still
/// unresolved (ESC-2), for the escalation relay.
pub async fn run(service: CustomerService, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for property in service.properties.iter() {
            let now = service.clock.now();
            match app::complaints::sweep_overdue(&service, property, now).await {
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
