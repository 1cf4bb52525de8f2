//! Development only: who may sign in at the development issuer, for the console to offer a
//! demo person and then a post. `GET /dev/oidc/people` →
//! `{"people":[{"sign_in","name","posts":[{"post_id","role","property_id"}]}]}`: every current
//! person with a sign-in, read from the directory (`StaffLookupService/ListSignIns`) as the
//! gateway itself.

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::State, response::Response, routing::get};
use serde_json::{Value, json};
use tonic::transport::Channel;
use wuye_kit::identity::Signed;
use wuye_proto::directory::{
    ListSignInsRequest, Person, staff_lookup_service_client::StaffLookupServiceClient,
};

use super::{DEV_ISSUER_PATH, dev_issuer::json_answer};

type Client = StaffLookupServiceClient<Signed<Channel>>;

/// People per page asked, and the most pages read: a development directory is small.
const PAGE: i32 = 500;
const MAX_PAGES: usize = 20;

struct People {
    client: Option<Client>,
    timeout: Duration,
}

/// The route, asking the directory over `client` (none: no upstream serves it) within
/// `timeout` a page.
pub fn router(client: Option<Client>, timeout: Duration) -> Router {
    Router::new()
        .route(&format!("{DEV_ISSUER_PATH}/people"), get(people))
        .with_state(Arc::new(People { client, timeout }))
}

async fn people(State(state): State<Arc<People>>) -> Response {
    let Some(client) = &state.client else {
        tracing::warn!("no upstream serves the staff directory (wuye.directory.v1)");
        return unavailable();
    };
    let mut people = Vec::new();
    let mut page_token = String::new();
    for _ in 0..MAX_PAGES {
        let mut request = tonic::Request::new(ListSignInsRequest {
            page_size: PAGE,
            page_token,
        });
        request.set_timeout(state.timeout);
        match client.clone().list_sign_ins(request).await {
            Ok(answer) => {
                let answer = answer.into_inner();
                people.extend(answer.people.iter().map(person));
                page_token = answer.next_page_token;
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "the staff directory did not list the sign-ins");
                return unavailable();
            }
        }
        if page_token.is_empty() {
            break;
        }
    }
    json_answer(200, &json!({ "people": people }))
}

fn person(p: &Person) -> Value {
    let posts: Vec<Value> = p
        .posts
        .iter()
        .filter(|post| post.end_time.is_none())
        .map(|post| {
            json!({
                "post_id": post.post_id,
                "role": post.role,
                "property_id": post.property_id,
            })
        })
        .collect();
    json!({ "sign_in": p.sign_in, "name": p.name, "posts": posts })
}

fn unavailable() -> Response {
    json_answer(
        503,
        &json!({ "error": "unavailable", "error_description": "the staff directory is unavailable" }),
    )
}
