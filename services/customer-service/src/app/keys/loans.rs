//! Loans and returns (KEY-6 to KEY-8): lending, counted returns, chases, the borrowing register
//! and the stream of overdue alerts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use wuye_kit::{Error, Result, db::Tx, idempotency::RequestId, page, scope::Scope};
use wuye_proto::events::{KeyLoanReturned, event::Payload};

use super::{days, key_set_in, once};
use crate::{
    CustomerService,
    app::Once,
    domain::keys::{self as rules, Alert, Chase, KeyReturn, Loan, ReturnOutcome},
    store::keys as store,
};

/// How often the desk's stream looks for alerts raised by another instance of the service.
const ALERT_POLL: Duration = Duration::from_secs(1);
const ALERT_BATCH: i64 = 100;

/// A loan of the property as an answer shows it now.
async fn loan(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Loan> {
    let loan = store::get_loan(&cs.db, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("key loan", id))?;
    Ok(loan.as_of(cs.clock.now(), days(scope)))
}

async fn loan_in(cs: &CustomerService, tx: &mut Tx, scope: &Scope<'_>, id: &str) -> Result<Loan> {
    store::get_loan_in(&cs.db, tx, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("key loan", id))
}

/// Lends keys of a set (KEY-6), once per request id, to a borrower of the staff directory,
/// whose name the register records. Of concurrent loans of one set exactly one takes it: the
/// set moves from in_cabinet to on_loan in a conditional UPDATE.
pub(crate) async fn borrow(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    mut loan: Loan,
) -> Result<Loan> {
    let (field, roles) = ("borrower.user_id", rules::BORROWER_ROLES);
    let staff_id = &loan.borrower.user_id;
    let borrower = cs
        .directory
        .check(&scope.property().id, field, staff_id, roles);
    let borrower = borrower.await?;
    loan.borrower.user_id = borrower.person_id;
    loan.borrower.name = borrower.name;
    let id = match once(
        cs,
        "BorrowKeys",
        scope,
        request_id,
        &loan.id,
        loan.borrowed_at,
    )
    .await?
    {
        Once::Retry(id) => id,
        Once::New(mut tx) => {
            lend(cs, scope, &mut tx, &loan).await?;
            tx.commit().await?;
            loan.id
        }
    };
    self::loan(cs, scope, &id).await
}

async fn lend(cs: &CustomerService, scope: &Scope<'_>, tx: &mut Tx, loan: &Loan) -> Result<()> {
    let set = key_set_in(cs, tx, scope, &loan.key_set_id).await?;
    rules::check_borrow(&set, loan.quantity)?; // rule KEY-6
    if store::take_out(tx, &set.id, loan.quantity).await? == 0 {
        // Lost the race for the set: the set as it is now refuses it.
        rules::check_borrow(
            &key_set_in(cs, tx, scope, &loan.key_set_id).await?,
            loan.quantity,
        )?;
        return Err(Error::Unavailable("the key set changed: try again".into()));
    }
    if !store::insert_loan(&cs.db, tx, loan).await? {
        // Another open loan of the set: the unique index keeps one.
        return Err(Error::rule(
            "KEYS_OUT",
            "keys of this set are lent out: they come back before the set is lent again",
        ));
    }
    Ok(())
}

/// A return as the clerk counts it (KEY-7).
pub(crate) struct CountedReturn {
    pub loan_id: String,
    pub received: i32,
    pub note: String,
}

/// Records a counted return once per request id: the return, the loan's keys out, and when
/// every key is back the loan closes, the set is back in its slot and `KeyLoanReturned` is
/// written.
pub(crate) async fn return_keys(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    r: CountedReturn,
) -> Result<(Loan, KeyReturn)> {
    let now = cs.clock.now();
    let return_id = uuid::Uuid::now_v7().to_string();
    let id = match once(cs, "ReturnKeys", scope, request_id, &return_id, now).await? {
        Once::Retry(id) => id,
        Once::New(mut tx) => {
            let complete = count_back(cs, scope, &mut tx, &r, &return_id, now).await?;
            tx.commit().await?;
            if complete {
                cs.outbox.notify();
            }
            return_id
        }
    };
    let key_return = store::get_return(&cs.db, &id)
        .await?
        .ok_or_else(|| Error::not_found("key return", &id))?;
    let loan = loan(cs, scope, &key_return.loan_id).await?;
    Ok((loan, key_return))
}

/// Counts the return in; whether it brought the last key back.
async fn count_back(
    cs: &CustomerService,
    scope: &Scope<'_>,
    tx: &mut Tx,
    r: &CountedReturn,
    return_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let loan = loan_in(cs, tx, scope, &r.loan_id).await?;
    let outcome = rules::check_return(loan.state, loan.keys_out, r.received)?; // rule KEY-7
    let overdue_since = loan.overdue_since(now, days(scope));
    // Guarded by the count read: a concurrent return of the same loan makes this one retry.
    if store::count_return(tx, &loan, r.received, overdue_since, now).await? == 0 {
        return Err(Error::Unavailable(
            "the loan changed while the return was counted: count again".into(),
        ));
    }
    let key_return = KeyReturn {
        id: return_id.to_owned(),
        loan_id: loan.id.clone(),
        expected: loan.keys_out,
        received: r.received,
        returned_at: now,
        received_by: scope.actor(),
        note: r.note.clone(),
    };
    store::insert_return(tx, &key_return).await?;
    let complete = outcome == ReturnOutcome::Complete;
    // The keys received go back to the slot; the set is back in the cabinet with the last one.
    store::put_back(tx, &loan.key_set_id, r.received, complete).await?;
    if complete {
        let event = Payload::KeyLoanReturned(KeyLoanReturned {
            loan_id: loan.id.clone(),
            key_set_id: loan.key_set_id.clone(),
            key_number: loan.key_number,
            was_overdue: overdue_since.is_some(),
            return_time: Some(wuye_kit::time::to_timestamp(now)),
        });
        cs.outbox.append(tx, &scope.property().id, event).await?;
    }
    Ok(complete)
}

/// Which loans of the borrowing register to list.
pub(crate) struct LoanFilter {
    pub key_set_id: String,
    pub open_only: bool,
    pub overdue_only: bool,
}

/// The borrowing register, newest first, and the next page's token.
pub(crate) async fn list_loans(
    cs: &CustomerService,
    scope: &Scope<'_>,
    filter: LoanFilter,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Loan>, String)> {
    let now = cs.clock.now();
    let limit = page::page_size(page_size)?;
    let before = page::after::<String>(page_token)?;
    let set = (!filter.key_set_id.is_empty()).then_some(filter.key_set_id.as_str());
    // rule KEY-8: past the property's days after the expected return
    let overdue_before = filter
        .overdue_only
        .then(|| rules::overdue_cutoff(now, days(scope)));
    let loans = store::list_loans(
        &cs.db,
        &scope.property().id,
        set,
        filter.open_only,
        overdue_before,
        before.as_deref(),
        limit,
    )
    .await?;
    let next = page::next_token(&loans, limit, |l| l.id.clone());
    let days = days(scope);
    Ok((
        loans.into_iter().map(|l| l.as_of(now, days)).collect(),
        next,
    ))
}

/// Records a chase of an overdue loan (KEY-8), once per request id.
pub(crate) async fn chase(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    chase: Chase,
) -> Result<(Loan, Chase)> {
    let id = match once(
        cs,
        "RecordKeyChase",
        scope,
        request_id,
        &chase.id,
        chase.chased_at,
    )
    .await?
    {
        Once::Retry(id) => id,
        Once::New(mut tx) => {
            let loan = loan_in(cs, &mut tx, scope, &chase.loan_id).await?;
            let overdue = loan.overdue_since(chase.chased_at, days(scope)).is_some();
            rules::check_chase(loan.state, overdue)?; // rule KEY-8
            store::insert_chase(&mut tx, &chase).await?;
            tx.commit().await?;
            chase.id
        }
    };
    let chase = store::get_chase(&cs.db, &id)
        .await?
        .ok_or_else(|| Error::not_found("key chase", &id))?;
    let loan = loan(cs, scope, &chase.loan_id).await?;
    Ok((loan, chase))
}

/// The property's overdue alerts after `after_seq` whose loans still have keys out, then each
/// alert as it is raised (`raised` wakes the stream; alerts of another instance are found by
/// polling), until the watcher hangs up.
pub(crate) fn watch_alerts(
    cs: &CustomerService,
    scope: &Scope<'_>,
    mut raised: watch::Receiver<()>,
    after_seq: i64,
) -> ReceiverStream<Result<Alert>> {
    let (tx, rx) = mpsc::channel(ALERT_BATCH as usize);
    let db = cs.db.clone();
    let clock = cs.clock.clone();
    let property_id = scope.property().id.clone();
    let days = days(scope);
    let mut cursor = after_seq;
    tokio::spawn(async move {
        loop {
            raised.borrow_and_update();
            let alerts = match store::alerts_after(&db, &property_id, cursor, ALERT_BATCH).await {
                Ok(alerts) => alerts,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let full = alerts.len() as i64 == ALERT_BATCH;
            for mut alert in alerts {
                cursor = alert.seq;
                alert.loan = alert.loan.as_of(clock.now(), days);
                if tx.send(Ok(alert)).await.is_err() {
                    return; // the watcher hung up
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = raised.changed() => {}
                _ = tokio::time::sleep(ALERT_POLL) => {}
                _ = tx.closed() => return,
            }
        }
    });
    ReceiverStream::new(rx)
}
