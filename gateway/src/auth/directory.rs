//! The staff directory as the gateway asks it: who a sign-in is, with their current posts
//! (`StaffLookupService/SignIn`, as the gateway itself). Answers are kept for
//! `auth.directory_cache_secs`, so a person who left or whose posts changed is seen within
//! that, and a busy person's calls do not each cost a lookup.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use tonic::{Code, transport::Channel};
use tonic_types::StatusExt as _;
use wuye_kit::{Error, identity::Signed};
use wuye_proto::directory::{
    PersonStatus, SignInRequest, staff_lookup_service_client::StaffLookupServiceClient,
};

use super::{Refusal, reason};

/// A signed-in person of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub person_id: String,
    pub name: String,
    /// Current posts only.
    pub posts: Vec<Held>,
}

/// A current post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub post_id: String,
    pub role: String,
    /// Empty for a headquarters post.
    pub property_id: String,
}

/// What the directory said of a sign-in.
#[derive(Debug, Clone)]
enum Answer {
    Person(SignedIn),
    NotFound,
    Left,
}

/// How many sign-ins are remembered; past that the memory starts afresh.
const REMEMBERED: usize = 10_000;

/// The directory's lookup of sign-ins, cached.
pub struct StaffDirectory {
    client: Option<StaffLookupServiceClient<Signed<Channel>>>,
    cache: Mutex<HashMap<String, (Instant, Answer)>>,
    ttl: Duration,
    timeout: Duration,
}

impl StaffDirectory {
    /// The directory over `client` (none: no upstream serves it, every sign-in is refused
    /// as unavailable), answers kept for `ttl`, each asked within `timeout`.
    pub fn new(
        client: Option<StaffLookupServiceClient<Signed<Channel>>>,
        ttl: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            cache: Mutex::default(),
            ttl,
            timeout,
        }
    }

    fn remembered(&self, sign_in: &str) -> Option<Answer> {
        let cache = self.cache.lock().ok()?;
        let (at, answer) = cache.get(sign_in)?;
        (at.elapsed() < self.ttl).then(|| answer.clone())
    }

    fn remember(&self, sign_in: &str, answer: &Answer) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= REMEMBERED {
                cache.clear();
            }
            cache.insert(sign_in.to_owned(), (Instant::now(), answer.clone()));
        }
    }

    /// The person who signs in as `sign_in`: refused `NOT_IN_DIRECTORY` when nobody does,
    /// `STAFF_LEFT` when they left; `UNAVAILABLE` when the directory cannot answer.
    pub async fn sign_in(&self, sign_in: &str) -> Result<SignedIn, Error> {
        let answer = match self.remembered(sign_in) {
            Some(answer) => answer,
            None => {
                let answer = self.ask(sign_in).await?;
                self.remember(sign_in, &answer);
                answer
            }
        };
        match answer {
            Answer::Person(person) => Ok(person),
            Answer::NotFound => {
                Err(Refusal::new(reason::NOT_IN_DIRECTORY, "no such sign-in").into_error())
            }
            Answer::Left => Err(Refusal::new(reason::STAFF_LEFT, "left the company").into_error()),
        }
    }

    async fn ask(&self, sign_in: &str) -> Result<Answer, Error> {
        let Some(client) = &self.client else {
            tracing::warn!("no upstream serves the staff directory (wuye.directory.v1)");
            return Err(Error::Unavailable(
                "the staff directory is unavailable".into(),
            ));
        };
        let mut request = tonic::Request::new(SignInRequest {
            sign_in: sign_in.to_owned(),
        });
        request.set_timeout(self.timeout);
        match client.clone().sign_in(request).await {
            Ok(answer) => {
                let Some(person) = answer.into_inner().person else {
                    return Ok(Answer::NotFound);
                };
                if person.status == PersonStatus::Left as i32 {
                    return Ok(Answer::Left);
                }
                let posts = person
                    .posts
                    .into_iter()
                    .filter(|p| p.end_time.is_none())
                    .map(|p| Held {
                        post_id: p.post_id,
                        role: p.role,
                        property_id: p.property_id,
                    })
                    .collect();
                Ok(Answer::Person(SignedIn {
                    person_id: person.person_id,
                    name: person.name,
                    posts,
                }))
            }
            Err(status) if status.code() == Code::NotFound => Ok(Answer::NotFound),
            Err(status) if status.code() == Code::FailedPrecondition && is_left(&status) => {
                Ok(Answer::Left)
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "the staff directory did not answer a sign-in");
                Err(Error::Unavailable(
                    "the staff directory is unavailable".into(),
                ))
            }
        }
    }
}

/// Whether the directory refused a sign-in because the person left.
fn is_left(status: &tonic::Status) -> bool {
    status
        .get_details_error_info()
        .is_some_and(|info| info.reason == reason::STAFF_LEFT)
}
