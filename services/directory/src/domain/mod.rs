//! The rules of the staff directory (DOMAIN.md "Who is who"): which roles exist and where each
//! is held, a post held once at a place, a person who left holds nothing, and which post fits
//! a record that names a staff member. Pure: no I/O, no protobuf types.

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use wuye_kit::{Error, Result, Violations};

pub use wuye_kit::roles::{ADMIN, HEADQUARTERS_ROLES, PROPERTY_ROLES, is_role};

pub const MAX_NAME: usize = 100;
pub const MAX_STAFF_NUMBER: usize = 32;
pub const MAX_PHONE: usize = 32;
pub const MAX_SIGN_IN: usize = 200;
/// The most posts one request gives.
pub const MAX_POSTS: usize = 20;
/// The most roles a check names.
pub const MAX_ROLES: usize = 20;

/// The reason of a second post of the same role at the same place.
pub const POST_ALREADY_HELD: &str = "POST_ALREADY_HELD";
/// The reason of a change to, or a check of, a person who left.
pub const STAFF_LEFT: &str = "STAFF_LEFT";
/// The reason of a check that finds no current post of the roles at the property.
pub const NO_FITTING_POST: &str = "NO_FITTING_POST";
/// The reason of ending a post that ended already.
pub const POST_ENDED: &str = "POST_ENDED";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Left,
}

wuye_kit::text_codes!(Status {
    Active => "active",
    Left => "left",
});

/// Whether a post of `role` may be held at headquarters (empty property).
pub fn at_headquarters(role: &str) -> bool {
    role == ADMIN || HEADQUARTERS_ROLES.contains(&role)
}

/// A post to give: a role, at a property or (empty) at headquarters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSpec {
    pub role: String,
    pub property_id: String,
}

/// A post a person holds or held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub id: String,
    pub role: String,
    /// Empty for a headquarters post.
    pub property_id: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Post {
    pub fn is_current(&self) -> bool {
        self.ended_at.is_none()
    }

    fn is(&self, spec: &PostSpec) -> bool {
        self.role == spec.role && self.property_id == spec.property_id
    }
}

/// A person of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub staff_number: String,
    pub name: String,
    pub phone: String,
    pub status: Status,
    /// Empty: the person does not sign in.
    pub sign_in: String,
    /// Current posts first, then ended ones, each newest first (see [`Person::order_posts`]).
    pub posts: Vec<Post>,
    pub created_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

impl Person {
    /// Orders the posts as answers show them: current first, then ended, each newest first;
    /// posts given at the same moment (in one request) in the order they were given.
    pub fn order_posts(&mut self) {
        self.posts.sort_by(|a, b| {
            b.is_current()
                .cmp(&a.is_current())
                .then(b.started_at.cmp(&a.started_at))
                .then(a.id.cmp(&b.id))
        });
    }

    /// The person with their current posts only.
    pub fn current(mut self) -> Person {
        self.posts.retain(Post::is_current);
        self
    }

    /// The person with their current posts at `property_id` only.
    pub fn current_at(mut self, property_id: &str) -> Person {
        self.posts
            .retain(|p| p.is_current() && p.property_id == property_id);
        self
    }
}

/// Checks the posts of a request, each named `<field>[i]` (or `field` alone when `indexed` is
/// false): a role of DOMAIN.md, at headquarters for the headquarters roles, at a known property
/// (`known`) for property roles, and no post twice.
pub fn check_specs(
    v: &mut Violations,
    field: &str,
    specs: &[PostSpec],
    indexed: bool,
    known: impl Fn(&str) -> bool,
) {
    if specs.len() > MAX_POSTS {
        v.add(field, format!("at most {MAX_POSTS} posts"));
    }
    for (i, spec) in specs.iter().enumerate() {
        let at = if indexed {
            format!("{field}[{i}]")
        } else {
            field.to_owned()
        };
        check_spec(v, &at, spec, &known);
        if specs[..i].contains(spec) {
            v.add(&at, "the same post is given twice");
        }
    }
}

fn check_spec(v: &mut Violations, at: &str, spec: &PostSpec, known: &impl Fn(&str) -> bool) {
    let (role, property) = (spec.role.as_str(), spec.property_id.as_str());
    if !is_role(role) {
        v.add(
            &format!("{at}.role"),
            "is not a role code of the directory (DOMAIN.md \"Who is who\")",
        );
        return;
    }
    let field = format!("{at}.property_id");
    if HEADQUARTERS_ROLES.contains(&role) && !property.is_empty() {
        v.add(
            &field,
            format!("must be empty: {role} is held at headquarters"),
        );
    } else if property.is_empty() && !at_headquarters(role) {
        v.add(&field, format!("is required: {role} is held at a property"));
    } else if !property.is_empty() && !known(property) {
        v.add(&field, "is not a property of this deployment");
    }
}

/// Refuses a change of the posts of a person who left.
pub fn check_active(person: &Person) -> Result<()> {
    match person.status {
        Status::Active => Ok(()),
        Status::Left => Err(Error::rule(
            STAFF_LEFT,
            "this person has left the company: they hold no posts any more",
        )),
    }
}

/// Whether `person` may be given the post `spec`: not after leaving, and not the same role
/// at the same place twice.
pub fn may_assign(person: &Person, spec: &PostSpec) -> Result<()> {
    check_active(person)?;
    if person.posts.iter().any(|p| p.is_current() && p.is(spec)) {
        return Err(post_already_held());
    }
    Ok(())
}

/// The refusal of a second post of the same role at the same place.
pub fn post_already_held() -> Error {
    Error::rule(
        POST_ALREADY_HELD,
        "this person already holds this role at this place",
    )
}

/// The current post `post_id` of `person`, which may end: another person's post is not found,
/// an ended one is refused.
pub fn may_end<'a>(person: &'a Person, post_id: &str) -> Result<&'a Post> {
    let post = person
        .posts
        .iter()
        .find(|p| p.id == post_id)
        .ok_or_else(|| Error::not_found("post of this person", post_id))?;
    if !post.is_current() {
        return Err(Error::rule(POST_ENDED, "this post has ended already"));
    }
    Ok(post)
}

/// The current posts that end when `person` leaves; a person who left cannot leave again.
pub fn may_leave(person: &Person) -> Result<Vec<&Post>> {
    check_active(person)?;
    Ok(person.posts.iter().filter(|p| p.is_current()).collect())
}

/// The post of `person` that fits a record of `property_id` naming them in one of `roles`:
/// a current post of one of the roles at the property, or at headquarters for a role held
/// there.
pub fn fitting_post<'a>(
    person: &'a Person,
    property_id: &str,
    roles: &[String],
) -> Result<&'a Post> {
    if person.status == Status::Left {
        return Err(Error::rule(STAFF_LEFT, "this person has left the company"));
    }
    person
        .posts
        .iter()
        .filter(|p| p.is_current() && roles.contains(&p.role))
        .find(|p| {
            p.property_id == property_id || (p.property_id.is_empty() && at_headquarters(&p.role))
        })
        .ok_or_else(|| {
            Error::rule(
                NO_FITTING_POST,
                "this person holds none of these roles at this property",
            )
        })
}

/// The fields of a person as a request gives them, checked for shape.
pub fn check_person_fields(v: &mut Violations, name: Option<&str>, phone: &str, sign_in: &str) {
    if let Some(name) = name {
        v.required_text("name", name, MAX_NAME);
    }
    check_phone(v, phone);
    v.max_text("sign_in", sign_in, MAX_SIGN_IN);
    if sign_in.trim() != sign_in {
        v.add("sign_in", "must not start or end with spaces");
    }
}

fn check_phone(v: &mut Violations, phone: &str) {
    v.max_text("phone", phone, MAX_PHONE);
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ');
    if !phone.chars().all(allowed) {
        v.add("phone", "may hold only digits, spaces, + and -");
    }
}

/// Checks a staff number: required, short, without spaces around it.
pub fn check_staff_number(v: &mut Violations, staff_number: &str) {
    v.required_text("staff_number", staff_number, MAX_STAFF_NUMBER);
    if staff_number.trim() != staff_number {
        v.add("staff_number", "must not start or end with spaces");
    }
}
