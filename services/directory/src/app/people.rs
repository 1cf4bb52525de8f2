//! People: hired with their first posts, changed, listed by property, and leaving.

use wuye_kit::{
    Error, Result,
    idempotency::{Claim, RequestId},
    identity::Caller,
    scope::Scope,
    time::to_timestamp,
};
use wuye_proto::events::{self as ev, event::Payload};

use super::{claim, get, load, person_updated, post_assigned, post_ended, require_admin};
use crate::{
    Directory,
    domain::{self, Person, Post, PostSpec, Status},
    store::{self, Key},
};

/// A person as CreatePerson gives them, checked for shape.
pub(crate) struct NewPerson {
    pub staff_number: String,
    pub name: String,
    pub phone: String,
    pub sign_in: String,
    pub posts: Vec<PostSpec>,
}

/// What UpdatePerson changes: each field when given.
pub(crate) struct Changes {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub sign_in: Option<String>,
}

/// A new person with their first posts; a retry gives the person the first call created.
pub(crate) async fn create(
    d: &Directory,
    caller: &Caller,
    request_id: &RequestId,
    new: NewPerson,
) -> Result<Person> {
    require_admin(caller)?;
    let now = d.clock.now();
    let person = Person {
        id: uuid::Uuid::now_v7().to_string(),
        staff_number: new.staff_number,
        name: new.name,
        phone: new.phone,
        status: Status::Active,
        sign_in: new.sign_in,
        posts: new
            .posts
            .into_iter()
            .map(|spec| new_post(spec, now))
            .collect(),
        created_at: now,
        left_at: None,
    };
    let mut tx = d.db.begin().await?;
    if let Claim::Retry(first) =
        claim(d, &mut tx, "CreatePerson", request_id, &person.id, now).await?
    {
        tx.rollback().await?;
        return get(d, Key::Id(&first)).await;
    }
    if store::staff_number_taken(&mut tx, &person.staff_number).await? {
        return Err(Error::AlreadyExists(format!(
            "staff number {} is another person's",
            person.staff_number
        )));
    }
    check_sign_in_free(&mut tx, &person).await?;
    store::insert_person(&d.db, &mut tx, &person).await?;
    let created = Payload::PersonCreated(ev::PersonCreated {
        person_id: person.id.clone(),
        staff_number: person.staff_number.clone(),
        name: person.name.clone(),
        create_time: Some(to_timestamp(now)),
    });
    let mut events = vec![(String::new(), created)];
    for post in &person.posts {
        if !store::insert_post(&mut tx, &person.id, post).await? {
            return Err(domain::post_already_held());
        }
        events.push((post.property_id.clone(), post_assigned(&person, post)));
    }
    for (property_id, event) in events {
        d.outbox.append(&mut tx, &property_id, event).await?;
    }
    tx.commit().await?;
    d.outbox.notify();
    tracing::info!(person_id = %person.id, posts = person.posts.len(), "person created");
    let mut person = person;
    person.order_posts();
    Ok(person)
}

/// A post starting `now`.
pub(crate) fn new_post(spec: PostSpec, now: chrono::DateTime<chrono::Utc>) -> Post {
    Post {
        id: uuid::Uuid::now_v7().to_string(),
        role: spec.role,
        property_id: spec.property_id,
        started_at: now,
        ended_at: None,
    }
}

/// Refuses a sign-in another person has: it must name one person.
async fn check_sign_in_free(tx: &mut wuye_kit::db::Tx, person: &Person) -> Result<()> {
    if !person.sign_in.is_empty() && store::sign_in_taken(tx, &person.sign_in, &person.id).await? {
        return Err(Error::AlreadyExists(
            "this sign_in is another person's".into(),
        ));
    }
    Ok(())
}

/// Changes the name, phone or sign-in of a person.
pub(crate) async fn update(
    d: &Directory,
    caller: &Caller,
    request_id: &RequestId,
    person_id: &str,
    changes: Changes,
) -> Result<Person> {
    require_admin(caller)?;
    let now = d.clock.now();
    let mut tx = d.db.begin().await?;
    if let Claim::Retry(first) =
        claim(d, &mut tx, "UpdatePerson", request_id, person_id, now).await?
    {
        tx.rollback().await?;
        return get(d, Key::Id(&first)).await;
    }
    let mut person = load(d, &mut tx, person_id).await?;
    let before = person.clone();
    if let Some(name) = changes.name {
        person.name = name;
    }
    if let Some(phone) = changes.phone {
        person.phone = phone;
    }
    if let Some(sign_in) = changes.sign_in {
        person.sign_in = sign_in;
    }
    if person == before {
        tx.rollback().await?;
        return Ok(person);
    }
    check_sign_in_free(&mut tx, &person).await?;
    store::update_person(&d.db, &mut tx, &person, now).await?;
    d.outbox
        .append(&mut tx, "", person_updated(&person, now))
        .await?;
    tx.commit().await?;
    d.outbox.notify();
    tracing::info!(person_id = %person.id, "person updated");
    Ok(person)
}

/// The person left the company: every current post ends now, and they sign in no more.
pub(crate) async fn mark_left(
    d: &Directory,
    caller: &Caller,
    request_id: &RequestId,
    person_id: &str,
) -> Result<Person> {
    require_admin(caller)?;
    let now = d.clock.now();
    let mut tx = d.db.begin().await?;
    if let Claim::Retry(first) = claim(d, &mut tx, "MarkLeft", request_id, person_id, now).await? {
        tx.rollback().await?;
        return get(d, Key::Id(&first)).await;
    }
    let mut person = load(d, &mut tx, person_id).await?;
    let ending: Vec<String> = domain::may_leave(&person)?
        .into_iter()
        .map(|p| p.id.clone())
        .collect();
    person.status = Status::Left;
    person.left_at = Some(now);
    store::update_person(&d.db, &mut tx, &person, now).await?;
    for post in person.posts.iter_mut().filter(|p| ending.contains(&p.id)) {
        store::end_post(&mut tx, &post.id, now).await?;
        post.ended_at = Some(now);
    }
    for post in person.posts.iter().filter(|p| ending.contains(&p.id)) {
        let event = post_ended(&person, post);
        d.outbox.append(&mut tx, &post.property_id, event).await?;
    }
    let left = Payload::PersonLeft(ev::PersonLeft {
        person_id: person.id.clone(),
        staff_number: person.staff_number.clone(),
        name: person.name.clone(),
        leave_time: Some(to_timestamp(now)),
    });
    d.outbox.append(&mut tx, "", left).await?;
    tx.commit().await?;
    d.outbox.notify();
    tracing::info!(person_id = %person.id, posts_ended = ending.len(), "person left");
    person.order_posts();
    Ok(person)
}

/// The person found by `key`, with every post they hold or held (administrators).
pub(crate) async fn get_as(d: &Directory, caller: &Caller, key: Key<'_>) -> Result<Person> {
    require_admin(caller)?;
    get(d, key).await
}

/// What a list of a property's staff asks for.
pub(crate) struct Listing<'a> {
    pub role: Option<&'a str>,
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// The people with a current post at the scope's property, by staff number, each with their
/// current posts there only.
pub(crate) async fn list(
    d: &Directory,
    scope: &Scope<'_>,
    listing: Listing<'_>,
) -> Result<Vec<Person>> {
    let property_id = &scope.property().id;
    let mut conn = d.db.pool().acquire().await?;
    let people = store::list_at(
        &d.db,
        &mut conn,
        property_id,
        listing.role,
        listing.after,
        listing.limit,
    )
    .await?;
    Ok(people
        .into_iter()
        .map(|p| p.current_at(property_id))
        .collect())
}
