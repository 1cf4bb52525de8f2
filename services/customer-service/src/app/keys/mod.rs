//! Key custody (KEY-1 to KEY-11): the custody register and collection here, loans and the
//! overdue alerts in `loans`, the cabinet in `cabinet`, the scheduled work in `jobs`.

mod cabinet;
mod jobs;
mod loans;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result, db::Tx, idempotency::RequestId, page, personal::PersonalData, scope::Scope,
};
use wuye_proto::events::{KeyCustodyClosed, event::Payload};

pub(crate) use self::{cabinet::*, jobs::run, loans::*};
use crate::{
    CustomerService,
    app::{Once, begin_once},
    domain::keys::{
        self as rules, Collection, FormIds, IdRecord, KeySet, KeySetState, OnFile, RefusalRecord,
        ShownId,
    },
    store::{self, keys as keys_store},
};

/// The property's days past the expected return after which a loan is overdue (KEY-8).
fn days(scope: &Scope<'_>) -> u32 {
    scope.property().rules.keys.overdue_after_days
}

/// Begins the write of `method` at the scope's property under its request id, for the new
/// record `id`.
async fn once(
    cs: &CustomerService,
    method: &str,
    scope: &Scope<'_>,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Once> {
    let key = format!("{method}/{}", scope.property().id);
    begin_once(&cs.db, &key, request_id, id, now).await
}

/// A key set of the property as an answer shows it now.
async fn key_set(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    with_image: bool,
) -> Result<KeySet> {
    let set = keys_store::get(&cs.db, &scope.property().id, id, with_image)
        .await?
        .ok_or_else(|| Error::not_found("key set", id))?;
    Ok(set.as_of(cs.clock.now(), days(scope)))
}

/// The set in the transaction, as it is now.
async fn key_set_in(
    cs: &CustomerService,
    tx: &mut Tx,
    scope: &Scope<'_>,
    id: &str,
) -> Result<KeySet> {
    keys_store::get_in(&cs.db, tx, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("key set", id))
}

// --- The custody register -------------------------------------------------------------------

/// Takes a key set into custody (KEY-1 to KEY-5): its register number, the form, the
/// collectors and the slot, once per request id. The slot is refused while another set is in
/// it.
pub(crate) async fn entrust(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    mut set: KeySet,
    ids: FormIds,
) -> Result<KeySet> {
    let property_id = &scope.property().id;
    let claimed = once(
        cs,
        "EntrustKeys",
        scope,
        request_id,
        &set.id,
        set.entrusted_at,
    )
    .await?;
    let mut tx = match claimed {
        Once::New(tx) => tx,
        Once::Retry(id) => return key_set(cs, scope, &id, false).await,
    };
    let unit = store::units::get_in(&mut tx, property_id, &set.unit_id)
        .await?
        .ok_or_else(|| Error::invalid("unit_id", "is not a unit of this property"))?;
    rules::check_source(set.source, unit.state)?; // rule KEY-1
    set.unit_label = unit.label();
    set.tag = rules::tag(&set.customer_name, &set.unit_label);
    if keys_store::slot_in_use(&mut tx, property_id, &set.slot).await? {
        return Err(rules::slot_taken());
    }
    set.number = keys_store::next_number(&mut tx, property_id).await?;
    if !keys_store::insert_set(&cs.db, &mut tx, &set, &ids).await? {
        // A concurrent entrustment took the slot between the check and the insert.
        return Err(rules::slot_taken());
    }
    tx.commit().await?;
    key_set(cs, scope, &set.id, false).await
}

/// A key set with its signature image.
pub(crate) async fn get_key_set(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
) -> Result<KeySet> {
    key_set(cs, scope, id, true).await
}

/// The custody register by register number, and the next page's token.
pub(crate) async fn list_key_sets(
    cs: &CustomerService,
    scope: &Scope<'_>,
    state: Option<KeySetState>,
    unit_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<KeySet>, String)> {
    let limit = page::page_size(page_size)?;
    let after = page::after::<i64>(page_token)?.unwrap_or(0);
    let unit = (!unit_id.is_empty()).then_some(unit_id);
    let sets = keys_store::list(&cs.db, &scope.property().id, state, unit, after, limit).await?;
    let next = page::next_token(&sets, limit, |s| s.number);
    let (now, days) = (cs.clock.now(), days(scope));
    Ok((sets.into_iter().map(|s| s.as_of(now, days)).collect(), next))
}

/// Part two of the authorization form (KEY-4): its file name and page. A printed form shows
/// the phone numbers as the answer would (ARC-11).
pub(crate) async fn render_entrustment_form(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
) -> Result<(String, String)> {
    let property = scope.property();
    let mut set = key_set(cs, scope, id, false).await?;
    let shown = scope.caller().shown();
    for collector in &mut set.collectors {
        collector.phone = shown.show(PersonalData::Phone, &collector.phone);
    }
    set.customer_phone = shown.show(PersonalData::Phone, &set.customer_phone);
    let now = cs.clock.now();
    let html = rules::render_form_part_two(&set, &property.name, property.time_zone, now);
    let date = now.with_timezone(&property.time_zone).format("%Y-%m-%d");
    let file_name = format!(
        "客户托管钥匙委托书-{}-{}-{date}.html",
        property.id, set.number
    );
    Ok((file_name, html))
}

// --- Collection (KEY-9) ---------------------------------------------------------------------

/// A claimant at the counter (KEY-9).
pub(crate) struct Claimant {
    pub key_set_id: String,
    pub name: String,
    pub id_shown: ShownId,
    pub signer_name: String,
}

/// Hands the keys over once per request id, or refuses: a refused claimant is logged (once per
/// request id) and the custody is left as it was.
pub(crate) async fn collect(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    c: Claimant,
) -> Result<KeySet> {
    let now = cs.clock.now();
    match once(cs, "CollectKeys", scope, request_id, &c.key_set_id, now).await? {
        Once::Retry(_) => {}
        Once::New(tx) => hand_over(cs, scope, tx, request_id, &c, now).await?,
    }
    key_set(cs, scope, &c.key_set_id, false).await
}

async fn hand_over(
    cs: &CustomerService,
    scope: &Scope<'_>,
    mut tx: Tx,
    request_id: &RequestId,
    c: &Claimant,
    now: DateTime<Utc>,
) -> Result<()> {
    let property_id = &scope.property().id;
    let set = key_set_in(cs, &mut tx, scope, &c.key_set_id).await?;
    rules::check_collect_state(&set)?; // rule KEY-9: keys on loan stay
    // rule KEY-9: the rule decides; the keyring checks the number against the digest on file.
    let verdict = rules::identify_collector(&set, &c.name, &c.id_shown, |whose, digest| {
        keys_store::id_matches(&cs.db, &set.id, whose, c.id_shown.number(), digest)
    })?;
    let designated = match verdict {
        Ok(designated) => designated,
        Err(refusal) => {
            // The claim goes with the rollback: a retry is refused (and logged) again, once.
            tx.rollback().await?;
            let record = RefusalRecord {
                id: uuid::Uuid::now_v7().to_string(),
                key_set_id: set.id.clone(),
                key_number: set.number,
                refusal,
                claimant_name: c.name.trim().to_owned(),
                id_shown: c.id_shown.masked.clone(),
                refused_at: now,
                refused_by: scope.actor(),
            };
            keys_store::log_refusal(&cs.db, property_id, request_id.as_str(), &record).await?;
            // Ids and the reason only: the claimant's name and ID stay out of the logs.
            tracing::info!(key_set_id = %set.id, reason = refusal.reason(), "key collection refused");
            return Err(refusal.to_error());
        }
    };
    let collection = Collection {
        collector_name: c.name.trim().to_owned(),
        designated,
        id: c.id_shown.masked.clone(),
        signer_name: c.signer_name.clone(),
        collected_at: now,
        handed_over_by: scope.actor(),
    };
    if keys_store::hand_over(&cs.db, &mut tx, &set.id, &collection).await? == 0 {
        // A loan or another collection came first.
        rules::check_collect_state(&key_set_in(cs, &mut tx, scope, &set.id).await?)?;
        return Err(Error::Unavailable("the key set changed: try again".into()));
    }
    let event = Payload::KeyCustodyClosed(KeyCustodyClosed {
        key_set_id: set.id.clone(),
        key_number: set.number,
        unit_id: set.unit_id.clone(),
        close_time: Some(wuye_kit::time::to_timestamp(now)),
    });
    cs.outbox.append(&mut tx, property_id, event).await?;
    tx.commit().await?;
    cs.outbox.notify();
    Ok(())
}

/// The refusal log, newest first, and the next page's token.
pub(crate) async fn list_refusals(
    cs: &CustomerService,
    scope: &Scope<'_>,
    key_set_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<RefusalRecord>, String)> {
    let limit = page::page_size(page_size)?;
    let before = page::after::<String>(page_token)?;
    let set = (!key_set_id.is_empty()).then_some(key_set_id);
    let refusals =
        keys_store::list_refusals(&cs.db, &scope.property().id, set, before.as_deref(), limit)
            .await?;
    let next = page::next_token(&refusals, limit, |r| r.id.clone());
    Ok((refusals, next))
}

/// A person's ID to record again on a custody (KEY-9).
pub(crate) struct IdToRecord {
    pub key_set_id: String,
    pub whose: OnFile,
    pub shown: ShownId,
}

/// Records the keyed digest of the person's whole number on the form, where the custody kept
/// only its masked number, and the record of who did it when; once per request id. Refused
/// (nothing written) as `rules::check_record_id` says; of concurrent calls for one person
/// exactly one writes.
pub(crate) async fn record_id(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    r: IdToRecord,
) -> Result<(KeySet, IdRecord)> {
    let now = cs.clock.now();
    let record_id = uuid::Uuid::now_v7().to_string();
    let id = match once(cs, "RecordCustodyId", scope, request_id, &record_id, now).await? {
        Once::Retry(id) => id,
        Once::New(tx) => record_new(cs, scope, tx, &r, record_id, now).await?,
    };
    let record = keys_store::get_id_record(&cs.db, &scope.property().id, &id)
        .await?
        .ok_or_else(|| Error::not_found("custody ID record", &id))?;
    let set = key_set(cs, scope, &record.key_set_id, false).await?;
    Ok((set, record))
}

async fn record_new(
    cs: &CustomerService,
    scope: &Scope<'_>,
    mut tx: Tx,
    r: &IdToRecord,
    record_id: String,
    now: DateTime<Utc>,
) -> Result<String> {
    let set = key_set_in(cs, &mut tx, scope, &r.key_set_id).await?;
    let holder_name = rules::check_record_id(&set, r.whose, &r.shown)?.to_owned(); // rule KEY-9
    if keys_store::record_digest(&cs.db, &mut tx, &set.id, r.whose, &r.shown).await? == 0 {
        // Another record or the collection came first: the custody as it is now refuses it.
        let now_set = key_set_in(cs, &mut tx, scope, &r.key_set_id).await?;
        rules::check_record_id(&now_set, r.whose, &r.shown)?;
        return Err(Error::Unavailable("the key set changed: try again".into()));
    }
    let record = IdRecord {
        id: record_id,
        property_id: scope.property().id.clone(),
        key_set_id: set.id.clone(),
        key_number: set.number,
        whose: r.whose,
        holder_name,
        document: r.shown.masked.clone(),
        recorded_at: now,
        recorded_by: scope.actor(),
    };
    if !keys_store::insert_id_record(&mut tx, &record).await? {
        // Another record of the person: the unique index keeps one (the transaction is spent).
        return Err(rules::id_already_on_file());
    }
    tx.commit().await?;
    let (holder, position) = keys_store::holder_code(r.whose);
    // Ids and whose only: the number, even masked, stays out of the logs.
    tracing::info!(key_set_id = %set.id, holder, position, "custody ID recorded again");
    Ok(record.id)
}
