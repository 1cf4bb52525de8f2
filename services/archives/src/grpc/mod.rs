//! The transport: validates requests and converts between protobuf and domain types. The
//! rules live in `domain`, the SQL in `store`.

mod access;
mod audit;
mod documents;
mod files;
mod retention;

use tonic::Status;
use wuye_kit::{Error, identity::Caller, page};
use wuye_proto::archives as pb;

use crate::{
    Archives,
    domain::{
        Refusal,
        audit::{Action, Happening, Outcome},
        files::{Category, FilingState},
    },
    store,
};

const MAX_REQUEST_ID: usize = 100;
const MAX_ID: usize = 64;

fn category_from_proto(value: i32) -> Option<Category> {
    match pb::DocumentCategory::try_from(value).ok()? {
        pb::DocumentCategory::Unspecified => None,
        pb::DocumentCategory::Personal => Some(Category::Personal),
        pb::DocumentCategory::Family => Some(Category::Family),
        pb::DocumentCategory::House => Some(Category::House),
        pb::DocumentCategory::Decoration => Some(Category::Decoration),
        pb::DocumentCategory::Fees => Some(Category::Fees),
        pb::DocumentCategory::Photos => Some(Category::Photos),
    }
}

fn category_to_proto(category: Category) -> pb::DocumentCategory {
    match category {
        Category::Personal => pb::DocumentCategory::Personal,
        Category::Family => pb::DocumentCategory::Family,
        Category::House => pb::DocumentCategory::House,
        Category::Decoration => pb::DocumentCategory::Decoration,
        Category::Fees => pb::DocumentCategory::Fees,
        Category::Photos => pb::DocumentCategory::Photos,
    }
}

fn filing_state_from_proto(value: i32) -> Option<FilingState> {
    match pb::FilingState::try_from(value).ok()? {
        pb::FilingState::Unspecified => None,
        pb::FilingState::Open => Some(FilingState::Open),
        pb::FilingState::Overdue => Some(FilingState::Overdue),
        pb::FilingState::Filed => Some(FilingState::Filed),
        pb::FilingState::FiledLate => Some(FilingState::FiledLate),
    }
}

fn filing_state_to_proto(state: FilingState) -> pb::FilingState {
    match state {
        FilingState::Open => pb::FilingState::Open,
        FilingState::Overdue => pb::FilingState::Overdue,
        FilingState::Filed => pb::FilingState::Filed,
        FilingState::FiledLate => pb::FilingState::FiledLate,
    }
}

/// The id a page continues after (the last id of the previous page; empty for the first).
fn after_id(token: &str) -> Result<String, Error> {
    Ok(page::decode(token)?.unwrap_or_default())
}

/// The token of the page after `items`, when the page is full.
fn next_token<T>(items: &[T], limit: i64, key: impl Fn(&T) -> String) -> String {
    match items.last() {
        Some(last) if items.len() as i64 == limit => page::encode(&key(last)),
        _ => String::new(),
    }
}

/// What an audited call is about.
struct Subject<'a> {
    property_id: &'a str,
    action: Action,
    kind: &'static str,
    id: &'a str,
    access_request_id: &'a str,
}

impl Archives {
    fn happening(
        &self,
        caller: &Caller,
        subject: &Subject<'_>,
        outcome: Outcome,
        reason: &str,
        detail: String,
    ) -> Happening {
        Happening {
            property_id: subject.property_id.to_owned(),
            occurred_at: self.clock.now(),
            actor: caller.actor(),
            action: subject.action,
            outcome,
            reason: reason.to_owned(),
            subject_kind: subject.kind,
            subject_id: subject.id.to_owned(),
            access_request_id: subject.access_request_id.to_owned(),
            detail,
        }
    }

    /// Records a refusal in the register (ARC-12), then gives the refusal to the caller.
    async fn refuse(&self, caller: &Caller, subject: &Subject<'_>, refusal: Refusal) -> Status {
        let happening = self.happening(
            caller,
            subject,
            Outcome::Refused,
            refusal.reason(),
            String::new(),
        );
        if let Err(e) = store::audit::record(&self.db, &self.keyring, happening).await {
            return Status::from(e);
        }
        tracing::info!(property = %subject.property_id, action = subject.action.code(), reason = refusal.reason(), "archive access refused");
        Status::from(Error::from(refusal))
    }
}
