//! The key desk's scheduled work, on the injected clock: the overdue check that raises one
//! alert per loan past its limit (KEY-8), and the retention job that purges custodies closed
//! longer ago than the property keeps them (KEY-10). Both are safe to run on several
//! instances at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::{sync::watch, time::MissedTickBehavior};
use wuye_kit::{Result, properties::Property, time::to_timestamp};
use wuye_proto::events::{KeyLoanOverdue, KeyRecordsPurged, event::Payload};

use crate::{CustomerService, domain::keys as rules, store::keys as store};

/// Runs the checks every `every`, waking the desk's alert streams through `raised` when an
/// alert was raised; when there is nothing to do each is one indexed query per property.
pub(crate) async fn run(cs: CustomerService, raised: watch::Sender<()>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        check_once(&cs, &raised).await;
    }
}

/// One round over every property; a failure is logged and retried on the next round.
async fn check_once(cs: &CustomerService, raised: &watch::Sender<()>) {
    for property in cs.properties.iter() {
        let now = cs.clock.now();
        match raise_overdue(cs, property, now).await {
            Ok(0) => {}
            Ok(_) => {
                raised.send_replace(());
            }
            Err(e) => {
                tracing::warn!(property = %property.id, error = %e, "key overdue check failed")
            }
        }
        if let Err(e) = purge(cs, property, now).await {
            tracing::warn!(property = %property.id, error = %e, "key retention job failed");
        }
    }
}

/// Raises an alert for each open loan of the property past its limit that has none yet: marks
/// it overdue and writes `KeyLoanOverdue`, once per loan even when several instances run the
/// check. Returns how many were raised.
async fn raise_overdue(
    cs: &CustomerService,
    property: &Property,
    now: DateTime<Utc>,
) -> Result<usize> {
    let days = property.rules.keys.overdue_after_days;
    let cutoff = rules::overdue_cutoff(now, days);
    let mut raised = 0;
    for loan in store::due_for_alert(&cs.db, &property.id, cutoff).await? {
        let limit = rules::overdue_at(loan.expected_return_at, days);
        let mut tx = cs.db.begin().await?;
        if store::mark_overdue(&mut tx, &loan.id, limit).await? == 0 {
            continue; // returned or raised meanwhile
        }
        let event = Payload::KeyLoanOverdue(KeyLoanOverdue {
            loan_id: loan.id.clone(),
            key_set_id: loan.key_set_id.clone(),
            key_number: loan.key_number,
            unit_id: loan.unit_id.clone(),
            unit_label: loan.unit_label.clone(),
            borrower_department: loan.borrower.department.clone(),
            keys_out: loan.keys_out,
            expected_return_time: Some(to_timestamp(loan.expected_return_at)),
            overdue_time: Some(to_timestamp(limit)),
        });
        let seq = cs.outbox.append(&mut tx, &property.id, event).await?;
        if !store::insert_alert(&mut tx, seq, &property.id, &loan.id, now).await? {
            continue; // another instance raised it first; its alert stands
        }
        tx.commit().await?;
        tracing::info!(loan_id = %loan.id, "key loan overdue");
        raised += 1;
    }
    if raised > 0 {
        cs.outbox.notify();
    }
    Ok(raised)
}

/// Removes every record of the custodies of the property closed before its retention, and
/// audits done before it, one custody per transaction with its `KeyRecordsPurged` event.
/// Nothing of a custody still open, or closed since, is touched. Returns how many custodies
/// went.
async fn purge(cs: &CustomerService, property: &Property, now: DateTime<Utc>) -> Result<usize> {
    let cutoff = rules::retention_cutoff(now, property.rules.keys.retention_years);
    let mut purged = 0;
    for custody in store::closed_before(&cs.db, &property.id, cutoff).await? {
        let mut tx = cs.db.begin().await?;
        if store::delete_custody(&mut tx, &custody.id, cutoff).await? == 0 {
            tx.rollback().await?;
            continue;
        }
        let event = Payload::KeyRecordsPurged(KeyRecordsPurged {
            key_set_id: custody.id.clone(),
            key_number: custody.number,
            close_time: Some(to_timestamp(custody.closed_at)),
            purge_time: Some(to_timestamp(now)),
        });
        cs.outbox.append(&mut tx, &property.id, event).await?;
        tx.commit().await?;
        tracing::info!(key_set_id = %custody.id, "key custody records purged");
        purged += 1;
    }
    if purged > 0 {
        cs.outbox.notify();
    }
    // Audits are kept as long, from the day they were done; the write lock only when due.
    if store::audits_before(&cs.db, &property.id, cutoff).await? {
        let mut tx = cs.db.begin().await?;
        store::delete_audits_before(&mut tx, &property.id, cutoff).await?;
        tx.commit().await?;
    }
    Ok(purged)
}
