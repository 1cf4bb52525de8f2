//! The post a signed-in person acts in for one call: the `x-wuye-post` metadata names it; a
//! person with one current post acts in it without naming it.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use wuye_kit::error::ERROR_DOMAIN;
pub use wuye_kit::identity::POST_HEADER;

use super::{Held, SignedIn};

/// `PERMISSION_DENIED` reasons of post selection.
pub const POST_REQUIRED: &str = "POST_REQUIRED";
pub const POST_NOT_HELD: &str = "POST_NOT_HELD";
pub const NO_CURRENT_POST: &str = "NO_CURRENT_POST";

/// The post `person` acts in, by the `x-wuye-post` value `chosen`. Refusals are
/// `PERMISSION_DENIED`: `POST_REQUIRED` (several posts, none named: the `ErrorInfo` metadata
/// lists the caller's own posts, `post_id` → `role@property`, to choose from),
/// `POST_NOT_HELD` (a post they do not hold now), `NO_CURRENT_POST`.
pub fn choose_post<'a>(person: &'a SignedIn, chosen: Option<&str>) -> Result<&'a Held, Status> {
    let chosen = chosen.map(str::trim).filter(|c| !c.is_empty());
    match (chosen, person.posts.as_slice()) {
        (Some(id), posts) => posts.iter().find(|p| p.post_id == id).ok_or_else(|| {
            denied(
                POST_NOT_HELD,
                format!("you hold no current post {id} (see {POST_HEADER})"),
                HashMap::new(),
            )
        }),
        (None, [only]) => Ok(only),
        (None, []) => Err(denied(
            NO_CURRENT_POST,
            "you hold no current post in the staff directory".into(),
            HashMap::new(),
        )),
        (None, posts) => {
            let listed = posts
                .iter()
                .map(|p| {
                    let place = if p.property_id.is_empty() {
                        "headquarters"
                    } else {
                        &p.property_id
                    };
                    (p.post_id.clone(), format!("{}@{place}", p.role))
                })
                .collect();
            Err(denied(
                POST_REQUIRED,
                format!(
                    "you hold {} posts: name the one this call is made in with the {POST_HEADER} \
                     metadata",
                    posts.len()
                ),
                listed,
            ))
        }
    }
}

fn denied(reason: &str, message: String, metadata: HashMap<String, String>) -> Status {
    Status::with_error_details(
        Code::PermissionDenied,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, role: &str, property: &str) -> Held {
        Held {
            post_id: id.into(),
            role: role.into(),
            property_id: property.into(),
        }
    }

    fn person(posts: Vec<Held>) -> SignedIn {
        SignedIn {
            person_id: "p1".into(),
            name: "王芳".into(),
            posts,
        }
    }

    fn reason(status: Status) -> String {
        assert_eq!(status.code(), Code::PermissionDenied);
        status.get_details_error_info().unwrap().reason
    }

    #[test]
    fn one_post_is_the_default_several_need_a_choice() {
        let one = person(vec![post("a", "technician", "sunshine-garden")]);
        assert_eq!(choose_post(&one, None).unwrap().post_id, "a");
        assert_eq!(choose_post(&one, Some(" ")).unwrap().post_id, "a");
        assert_eq!(choose_post(&one, Some("a")).unwrap().post_id, "a");
        assert_eq!(
            reason(choose_post(&one, Some("b")).unwrap_err()),
            POST_NOT_HELD
        );

        let two = person(vec![
            post("a", "technician", "sunshine-garden"),
            post("b", "quality_officer", ""),
        ]);
        let refused = choose_post(&two, None).unwrap_err();
        let info = refused.get_details_error_info().unwrap();
        assert_eq!(info.reason, POST_REQUIRED);
        assert_eq!(info.metadata["a"], "technician@sunshine-garden");
        assert_eq!(info.metadata["b"], "quality_officer@headquarters");
        assert!(!refused.message().contains("王芳"));
        assert_eq!(
            choose_post(&two, Some("b")).unwrap().role,
            "quality_officer"
        );
        assert_eq!(
            reason(choose_post(&two, Some("c")).unwrap_err()),
            POST_NOT_HELD
        );

        let none = person(vec![]);
        assert_eq!(
            reason(choose_post(&none, None).unwrap_err()),
            NO_CURRENT_POST
        );
        assert_eq!(
            reason(choose_post(&none, Some("a")).unwrap_err()),
            POST_NOT_HELD
        );
    }
}
