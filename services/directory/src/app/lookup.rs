//! Who is who, asked by the gateway (a sign-in), by departments (the staff a request names)
//! and by the signed-in person themselves.

use wuye_kit::{Error, Result, identity::Caller};

use super::get;
use crate::{
    Directory,
    domain::{self, Person, Post},
    store::{self, Key},
};

/// The person of an identity provider's sign-in, with their current posts: a person who left
/// is answered with status LEFT and no posts, for the gateway to refuse.
pub(crate) async fn sign_in(d: &Directory, sign_in: &str) -> Result<Person> {
    Ok(get(d, Key::SignIn(sign_in)).await?.current())
}

/// Who may sign in (the gateway's development sign-in): the people who work for the company
/// with a sign-in, by staff number after `after`, each with their current posts.
pub(crate) async fn sign_ins(
    d: &Directory,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Person>> {
    let mut conn = d.db.pool().acquire().await?;
    let people = store::list_signing_in(&d.db, &mut conn, after, limit).await?;
    Ok(people.into_iter().map(Person::current).collect())
}

/// The staff member `person_id` a record of `property_id` names, and the post of theirs that
/// fits one of `roles` there.
pub(crate) async fn check(
    d: &Directory,
    property_id: &str,
    person_id: &str,
    roles: &[String],
) -> Result<(Person, Post)> {
    let person = get(d, Key::Id(person_id)).await?;
    let post = domain::fitting_post(&person, property_id, roles)?.clone();
    Ok((person, post))
}

/// The caller as the directory knows them, with their current posts. A caller that is not a
/// person of the directory (a script token, a service) is not found.
pub(crate) async fn who_am_i(d: &Directory, caller: &Caller) -> Result<Person> {
    if caller.user_id.is_empty() {
        return Err(Error::not_found("person", ""));
    }
    Ok(get(d, Key::Id(&caller.user_id)).await?.current())
}
