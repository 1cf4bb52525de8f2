//! Posts: given to a person, and ended. An ended post stays in the person's history.

use wuye_kit::{
    Result,
    idempotency::{Claim, RequestId},
    identity::Caller,
};

use super::{claim, get, load, post_assigned, post_ended, require_admin};
use crate::{
    Directory,
    domain::{self, Person, PostSpec},
    store::{self, Key},
};

/// Gives `person_id` the post `spec`: not after they left, and not a role they hold at that
/// place already (POST_ALREADY_HELD).
pub(crate) async fn assign(
    d: &Directory,
    caller: &Caller,
    request_id: &RequestId,
    person_id: &str,
    spec: PostSpec,
) -> Result<Person> {
    require_admin(caller)?;
    let now = d.clock.now();
    let post = super::people::new_post(spec.clone(), now);
    let mut tx = d.db.begin().await?;
    if let Claim::Retry(_) = claim(d, &mut tx, "AssignPost", request_id, &post.id, now).await? {
        tx.rollback().await?;
        return get(d, Key::Id(person_id)).await;
    }
    let mut person = load(d, &mut tx, person_id).await?;
    domain::may_assign(&person, &spec)?;
    if !store::insert_post(&mut tx, &person.id, &post).await? {
        return Err(domain::post_already_held());
    }
    let event = post_assigned(&person, &post);
    d.outbox.append(&mut tx, &post.property_id, event).await?;
    tx.commit().await?;
    d.outbox.notify();
    tracing::info!(person_id = %person.id, post_id = %post.id, role = %post.role, "post assigned");
    person.posts.push(post);
    person.order_posts();
    Ok(person)
}

/// Ends the current post `post_id` of `person_id`.
pub(crate) async fn end(
    d: &Directory,
    caller: &Caller,
    request_id: &RequestId,
    person_id: &str,
    post_id: &str,
) -> Result<Person> {
    require_admin(caller)?;
    let now = d.clock.now();
    let mut tx = d.db.begin().await?;
    if let Claim::Retry(_) = claim(d, &mut tx, "EndPost", request_id, post_id, now).await? {
        tx.rollback().await?;
        return get(d, Key::Id(person_id)).await;
    }
    let mut person = load(d, &mut tx, person_id).await?;
    domain::may_end(&person, post_id)?;
    store::end_post(&mut tx, post_id, now).await?;
    let post = person
        .posts
        .iter_mut()
        .find(|p| p.id == post_id)
        .expect("may_end found it");
    post.ended_at = Some(now);
    let post = post.clone();
    let event = post_ended(&person, &post);
    d.outbox.append(&mut tx, &post.property_id, event).await?;
    tx.commit().await?;
    d.outbox.notify();
    tracing::info!(person_id = %person.id, %post_id, "post ended");
    person.order_posts();
    Ok(person)
}
