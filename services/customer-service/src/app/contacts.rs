//! The call and visit log (客户来电来访登记表, CMP-1, CMP-2): every contact gets the property's
//! next number; a complaint keeps the number of the entry it comes from.

use wuye_kit::{
    Error, Result,
    db::to_micros,
    idempotency::{self, Claim, RequestId},
    scope::Scope,
};

use crate::{
    CustomerService,
    domain::contacts::{Contact, ContactEntry},
    store,
};

/// LogContact: logs a contact under the property's next number, once per request id; a retry
/// answers the entry the first call logged.
pub(crate) async fn log(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    contact: Contact,
) -> Result<ContactEntry> {
    let property_id = &scope.property().id;
    let mut entry = ContactEntry::log(property_id.clone(), contact, scope.actor(), cs.clock.now());
    let mut tx = cs.db.begin().await?;
    if let Some(unit_id) = &entry.unit_id
        && !store::units::exists(&mut tx, property_id, unit_id).await?
    {
        return Err(Error::invalid("unit_id", "is not a unit of this property"));
    }
    // The number is the entry's id. A retry drops this transaction, giving the number back.
    entry.number = store::complaints::next_number(&mut tx, property_id).await?;
    let claim = format!("LogContact/{property_id}");
    let number = entry.number.to_string();
    let now = to_micros(entry.registered_at);
    if let Claim::Retry(first) =
        idempotency::claim(&mut tx, cs.db.keyring(), &claim, request_id, &number, now).await?
    {
        let first: i64 = first.parse().map_err(|_| {
            Error::Internal(anyhow::anyhow!("logged number {first} is not a number"))
        })?;
        drop(tx);
        return store::contacts::get(&cs.db, property_id, first)
            .await?
            .ok_or_else(|| Error::not_found("contact", first.to_string()));
    }
    store::contacts::insert(&cs.db, &mut tx, &entry).await?;
    tx.commit().await?;
    Ok(entry)
}

/// ListContactLog: newest number first, below `before`.
pub(crate) async fn list(
    cs: &CustomerService,
    scope: &Scope<'_>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ContactEntry>> {
    store::contacts::list(&cs.db, &scope.property().id, before, limit).await
}

/// GetContactLogEntry: the entry `number` of the property's log.
pub(crate) async fn get(
    cs: &CustomerService,
    scope: &Scope<'_>,
    number: i64,
) -> Result<ContactEntry> {
    store::contacts::get(&cs.db, &scope.property().id, number)
        .await?
        .ok_or_else(|| Error::not_found("contact log entry", number.to_string()))
}
