//! The key desk's scheduled work, on the injected clock: the overdue check that raises one
//! alert per loan past its limit (KEY-8), and the retention job that purges custodies closed
//! longer ago than the property keeps them (KEY-10). Both are safe to run on several
//! instances at once.

use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::KeyDesk;
use crate::{domain::keys as rules, store::keys as store};

/// Runs the checks every `every`; when there is nothing to do each is one indexed query per
/// property.
pub(super) async fn run(desk: KeyDesk, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        desk.check_once().await;
    }
}

impl KeyDesk {
    /// One round over every property; a failure is logged and retried on the next round.
    async fn check_once(&self) {
        for property in self.cs.properties.iter() {
            let rules_of = &property.rules.keys;
            let now = self.cs.clock.now();
            let cutoff = rules::overdue_cutoff(now, rules_of.overdue_after_days);
            match store::raise_overdue(
                &self.cs.db,
                &self.cs.outbox,
                &property.id,
                cutoff,
                rules_of.overdue_after_days,
                now,
            )
            .await
            {
                Ok(0) => {}
                Ok(_) => {
                    self.raised.send_replace(());
                }
                Err(e) => {
                    tracing::warn!(property = %property.id, error = %e, "key overdue check failed")
                }
            }
            let cutoff = rules::retention_cutoff(now, rules_of.retention_years);
            if let Err(e) =
                store::purge(&self.cs.db, &self.cs.outbox, &property.id, cutoff, now).await
            {
                tracing::warn!(property = %property.id, error = %e, "key retention job failed");
            }
        }
    }
}
