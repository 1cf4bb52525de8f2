//! The use cases of the directory: one function per RPC verb. Each that writes owns its
//! transaction: it claims the request id, loads through `store`, decides by the rules of
//! `domain`, saves, appends the events that tell who follows the directory (the outbox) and
//! commits. The directory is the company's: its administrators' calls take the caller rather
//! than one property's scope; the staff list of a property takes that property's scope.

pub(crate) mod lookup;
pub(crate) mod people;
pub(crate) mod posts;

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    identity::Caller,
    time::to_timestamp,
};
use wuye_proto::events::{self as ev, event::Payload};

use crate::{
    Directory,
    domain::{self, Person, Post},
    store::{self, Key},
};

/// Claims `request_id` of a call to `method` for the resource `id`, inside the transaction
/// that writes it. The directory is one for the company: the method is the whole scope.
async fn claim(
    d: &Directory,
    tx: &mut Tx,
    method: &str,
    request_id: &RequestId,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Claim> {
    idempotency::claim(tx, d.db.keyring(), method, request_id, id, to_micros(now)).await
}

/// The directory is managed by administrators only; the gateway's policy says so too, and a
/// call that reaches the service otherwise is refused here again.
fn require_admin(caller: &Caller) -> Result<()> {
    if caller.role == domain::ADMIN {
        Ok(())
    } else {
        Err(Error::permission_denied(
            "ROLE_NOT_ALLOWED",
            "only administrators manage the staff directory",
        ))
    }
}

/// The person found by `key`, with every post.
pub(crate) async fn get(d: &Directory, key: Key<'_>) -> Result<Person> {
    let mut conn = d.db.pool().acquire().await?;
    store::get(&d.db, &mut conn, key)
        .await?
        .ok_or_else(|| not_found(key))
}

/// The person `person_id` within the transaction that changes them.
async fn load(d: &Directory, tx: &mut Tx, person_id: &str) -> Result<Person> {
    let key = Key::Id(person_id);
    store::get(&d.db, tx, key)
        .await?
        .ok_or_else(|| not_found(key))
}

/// The refusal of a person not in the directory; a sign-in is not repeated back.
fn not_found(key: Key<'_>) -> Error {
    match key {
        Key::Id(id) => Error::not_found("person", id),
        Key::StaffNumber(n) => Error::not_found("person with staff number", n),
        Key::SignIn(_) => Error::not_found("person", "with this sign-in"),
    }
}

fn post_assigned(person: &Person, post: &Post) -> Payload {
    Payload::PostAssigned(ev::PostAssigned {
        person_id: person.id.clone(),
        name: person.name.clone(),
        post: Some(post.clone().into()),
    })
}

fn post_ended(person: &Person, post: &Post) -> Payload {
    Payload::PostEnded(ev::PostEnded {
        person_id: person.id.clone(),
        name: person.name.clone(),
        post: Some(post.clone().into()),
    })
}

fn person_updated(person: &Person, now: DateTime<Utc>) -> Payload {
    Payload::PersonUpdated(ev::PersonUpdated {
        person_id: person.id.clone(),
        staff_number: person.staff_number.clone(),
        name: person.name.clone(),
        update_time: Some(to_timestamp(now)),
    })
}
