//! Protobuf ↔ domain, in one place: the status enum both ways, people and posts to their
//! messages, post specs from theirs. The transport converts requests and answers with it; the
//! application, the payloads of its events.

use wuye_kit::time::to_timestamp;
use wuye_proto::directory as pb;

use crate::domain::{Person, Post, PostSpec, Status};

wuye_kit::enum_conversions!(Status <=> pb::PersonStatus { Active, Left });

impl From<Post> for pb::Post {
    fn from(p: Post) -> Self {
        pb::Post {
            post_id: p.id,
            role: p.role,
            property_id: p.property_id,
            start_time: Some(to_timestamp(p.started_at)),
            end_time: p.ended_at.map(to_timestamp),
        }
    }
}

impl From<Person> for pb::Person {
    fn from(p: Person) -> Self {
        pb::Person {
            person_id: p.id,
            staff_number: p.staff_number,
            name: p.name,
            phone: p.phone,
            status: pb::PersonStatus::from(p.status).into(),
            sign_in: p.sign_in,
            posts: p.posts.into_iter().map(Into::into).collect(),
            create_time: Some(to_timestamp(p.created_at)),
            leave_time: p.left_at.map(to_timestamp),
        }
    }
}

impl From<pb::PostSpec> for PostSpec {
    fn from(s: pb::PostSpec) -> Self {
        PostSpec {
            role: s.role.trim().to_owned(),
            property_id: s.property_id.trim().to_owned(),
        }
    }
}
