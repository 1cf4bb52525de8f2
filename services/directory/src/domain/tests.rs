use chrono::TimeZone;
use wuye_kit::{Error, Violations};

use super::*;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, 9, 0, 0).unwrap()
}

fn spec(role: &str, property_id: &str) -> PostSpec {
    PostSpec {
        role: role.into(),
        property_id: property_id.into(),
    }
}

fn post(id: &str, role: &str, property_id: &str, day: u32, ended: Option<u32>) -> Post {
    Post {
        id: id.into(),
        role: role.into(),
        property_id: property_id.into(),
        started_at: at(day),
        ended_at: ended.map(at),
    }
}

fn person(posts: Vec<Post>) -> Person {
    Person {
        id: "p1".into(),
        staff_number: "S001".into(),
        name: "王芳".into(),
        phone: String::new(),
        status: Status::Active,
        sign_in: "wangfang".into(),
        posts,
        created_at: at(1),
        left_at: None,
    }
}

fn violations(specs: &[PostSpec]) -> Vec<(String, String)> {
    let mut v = Violations::new();
    check_specs(&mut v, "posts", specs, true, |p| p == "sunshine-garden");
    match v.check() {
        Ok(()) => Vec::new(),
        Err(Error::InvalidArgument(list)) => {
            list.into_iter().map(|f| (f.field, f.description)).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

fn reason(result: Result<impl std::fmt::Debug>) -> &'static str {
    match result {
        Err(Error::Rule { reason, .. }) => reason,
        other => panic!("not a rule refusal: {other:?}"),
    }
}

#[test]
fn roles_are_those_of_the_domain_at_their_places() {
    assert!(violations(&[spec("technician", "sunshine-garden")]).is_empty());
    assert!(violations(&[spec("quality_officer", ""), spec("hq_viewer", "")]).is_empty());
    assert!(violations(&[spec("admin", ""), spec("admin", "sunshine-garden")]).is_empty());
    let fields: Vec<String> = violations(&[
        spec("janitor", "sunshine-garden"),
        spec("technician", ""),
        spec("quality_officer", "sunshine-garden"),
        spec("front_desk", "atlantis"),
        spec("admin", "atlantis"),
    ])
    .into_iter()
    .map(|(field, _)| field)
    .collect();
    assert_eq!(
        fields,
        [
            "posts[0].role",
            "posts[1].property_id",
            "posts[2].property_id",
            "posts[3].property_id",
            "posts[4].property_id",
        ]
    );
}

#[test]
fn a_request_gives_a_post_once() {
    let twice = violations(&[
        spec("technician", "sunshine-garden"),
        spec("technician", "sunshine-garden"),
    ]);
    assert_eq!(twice.len(), 1);
    assert_eq!(twice[0].0, "posts[1]");
}

#[test]
fn a_role_is_held_once_at_a_place_and_again_after_it_ended() {
    let mut p = person(vec![
        post("a", "technician", "sunshine-garden", 1, None),
        post("b", "front_desk", "riverside", 1, Some(3)),
    ]);
    assert_eq!(
        reason(may_assign(&p, &spec("technician", "sunshine-garden"))),
        POST_ALREADY_HELD
    );
    // The same role elsewhere, or again after it ended, is another post (一人多岗).
    assert!(may_assign(&p, &spec("technician", "riverside")).is_ok());
    assert!(may_assign(&p, &spec("front_desk", "riverside")).is_ok());
    p.status = Status::Left;
    assert_eq!(
        reason(may_assign(&p, &spec("cs_clerk", "riverside"))),
        STAFF_LEFT
    );
}

#[test]
fn only_a_current_post_of_the_person_ends() {
    let p = person(vec![
        post("a", "technician", "sunshine-garden", 1, None),
        post("b", "front_desk", "riverside", 1, Some(3)),
    ]);
    assert_eq!(may_end(&p, "a").unwrap().id, "a");
    assert_eq!(reason(may_end(&p, "b")), POST_ENDED);
    assert!(matches!(
        may_end(&p, "someone-elses"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn leaving_ends_the_current_posts_once() {
    let mut p = person(vec![
        post("a", "technician", "sunshine-garden", 1, None),
        post("b", "front_desk", "riverside", 1, Some(3)),
        post("c", "cs_clerk", "riverside", 2, None),
    ]);
    let ending: Vec<&str> = may_leave(&p)
        .unwrap()
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ending, ["a", "c"]);
    p.status = Status::Left;
    assert_eq!(reason(may_leave(&p)), STAFF_LEFT);
}

#[test]
fn a_fitting_post_is_at_the_property_or_at_headquarters() {
    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut p = person(vec![
        post("a", "technician", "sunshine-garden", 1, None),
        post("b", "maintenance_foreman", "riverside", 1, Some(2)),
        post("q", "quality_officer", "", 1, None),
    ]);
    let tech = roles(&["technician", "maintenance_foreman"]);
    assert_eq!(fitting_post(&p, "sunshine-garden", &tech).unwrap().id, "a");
    // Another property's post, or an ended one, does not fit.
    assert_eq!(
        reason(fitting_post(&p, "riverside", &tech)),
        NO_FITTING_POST
    );
    // A headquarters post fits every property for a headquarters role.
    let officer = roles(&["quality_officer"]);
    assert_eq!(fitting_post(&p, "riverside", &officer).unwrap().id, "q");
    assert_eq!(fitting_post(&p, "", &officer).unwrap().id, "q");
    p.status = Status::Left;
    assert_eq!(
        reason(fitting_post(&p, "sunshine-garden", &tech)),
        STAFF_LEFT
    );
}

#[test]
fn posts_show_current_first_then_ended_newest_first() {
    let mut p = person(vec![
        post("old", "technician", "sunshine-garden", 1, Some(2)),
        post("a", "technician", "sunshine-garden", 3, None),
        post("ended", "front_desk", "riverside", 4, Some(5)),
        post("b", "cs_clerk", "riverside", 4, None),
    ]);
    p.order_posts();
    let ids: Vec<&str> = p.posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["b", "a", "ended", "old"]);
    let here: Vec<String> = p
        .clone()
        .current_at("riverside")
        .posts
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(here, ["b"]);
    assert_eq!(p.current().posts.len(), 2);
}

#[test]
fn fields_of_a_person_are_checked_for_shape() {
    let mut v = Violations::new();
    check_person_fields(&mut v, Some(" "), "138-0013 8000", "wangfang");
    check_staff_number(&mut v, "S001");
    assert!(v.check().is_err(), "a blank name is refused");
    let mut v = Violations::new();
    check_person_fields(&mut v, Some("王芳"), "phone", " x");
    check_staff_number(&mut v, " S1");
    let Err(Error::InvalidArgument(list)) = v.check() else {
        panic!("refused")
    };
    let fields: Vec<&str> = list.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["phone", "sign_in", "staff_number"]);
}
