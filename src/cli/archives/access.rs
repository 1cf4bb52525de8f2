//! Access requests (ARC-8, ARC-9, ARC-11): asked for, listed, approved or rejected.

use chrono::{Duration, Utc};
use clap::Args;
use wuye::connect::call;
use wuye_proto::archives::{self as pb, access_service_client::AccessServiceClient};

use super::{documents_of, file};
use crate::cli::Session;
use crate::cli::input::{request_id, timestamp};
use crate::cli::output::{left, say, short, time};

#[derive(Args)]
pub(super) struct RequestAccessArgs {
    #[arg(long)]
    household: String,
    /// A document to read; repeat. Every current document of the file when absent.
    #[arg(long = "document")]
    documents: Vec<String>,
    #[arg(long)]
    purpose: String,
    /// Also the personal identifiers.
    #[arg(long)]
    personal_data: bool,
    /// Copies may be made in the archive room.
    #[arg(long)]
    copying: bool,
    /// Days the access lasts (at most 30).
    #[arg(long, default_value_t = 1)]
    days: i64,
    /// A government official's reading (ARC-8) as NAME,BODY,PROOF KIND,PROOF NUMBER.
    #[arg(long)]
    official: Option<String>,
    #[arg(long)]
    request_id: Option<String>,
}

pub(super) async fn request(s: &Session, a: RequestAccessArgs) -> anyhow::Result<()> {
    let file = file(s, &a.household).await?;
    let document_ids = if a.documents.is_empty() && !a.personal_data {
        documents_of(s, &file.id)
            .await?
            .into_iter()
            .filter(|d| !d.superseded)
            .map(|d| d.id)
            .collect()
    } else {
        a.documents
    };
    let official = a.official.as_deref().map(official).transpose()?;
    let request = pb::CreateAccessRequestRequest {
        property_id: s.p(),
        request_id: request_id(a.request_id),
        household_file_id: file.id,
        document_ids,
        personal_data: a.personal_data,
        copying: a.copying,
        purpose: a.purpose,
        reader_kind: if official.is_some() {
            pb::ReaderKind::GovernmentOfficial
        } else {
            pb::ReaderKind::Staff
        }
        .into(),
        official,
        valid_until_time: Some(timestamp(Utc::now() + Duration::days(a.days))),
    };
    let mut access = s.client(AccessServiceClient::new);
    let r = call(access.create_access_request(request))
        .await?
        .access_request;
    print_access(&r.unwrap_or_default());
    Ok(())
}

/// `--official NAME,BODY,PROOF KIND,PROOF NUMBER`.
fn official(text: &str) -> anyhow::Result<pb::OfficialReading> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [name, body, kind, number] = parts[..] else {
        anyhow::bail!("--official: write NAME,BODY,PROOF KIND,PROOF NUMBER");
    };
    Ok(pb::OfficialReading {
        official_name: name.into(),
        official_body: body.into(),
        proof_kind: kind.into(),
        proof_number: number.into(),
    })
}

pub(super) async fn list(s: &Session, pending: bool) -> anyhow::Result<()> {
    let mut access = s.client(AccessServiceClient::new);
    let list = call(access.list_access_requests(pb::ListAccessRequestsRequest {
        property_id: s.p(),
        state: if pending {
            pb::AccessState::Pending.into()
        } else {
            0
        },
        page_size: 100,
        page_token: String::new(),
    }))
    .await?;
    list.access_requests.iter().for_each(print_access);
    Ok(())
}

pub(super) async fn approve(s: &Session, request: String, note: String) -> anyhow::Result<()> {
    let mut access = s.client(AccessServiceClient::new);
    let r = call(
        access.approve_access_request(pb::ApproveAccessRequestRequest {
            property_id: s.p(),
            access_request_id: request,
            note,
        }),
    )
    .await?
    .access_request;
    print_access(&r.unwrap_or_default());
    Ok(())
}

pub(super) async fn reject(s: &Session, request: String, note: String) -> anyhow::Result<()> {
    let mut access = s.client(AccessServiceClient::new);
    let r = call(
        access.reject_access_request(pb::RejectAccessRequestRequest {
            property_id: s.p(),
            access_request_id: request,
            note,
        }),
    )
    .await?
    .access_request;
    print_access(&r.unwrap_or_default());
    Ok(())
}

fn print_access(r: &pb::AccessRequest) {
    let by = r.requested_by.clone().unwrap_or_default();
    say!(
        "access {}  {} file {}  {} documents{}{}  until {}",
        r.id,
        left(&short(r.state().as_str_name(), "ACCESS_STATE_"), 8),
        r.household_file_id,
        r.document_ids.len(),
        if r.personal_data {
            ", personal data"
        } else {
            ""
        },
        if r.copying { ", copying" } else { "" },
        time(r.valid_until_time.as_ref())
    );
    say!("  by {} ({}): {}", by.name, by.role, r.purpose);
    if let Some(o) = &r.official {
        say!(
            "  official {} of {}, {} {}",
            o.official_name,
            o.official_body,
            o.proof_kind,
            o.proof_number
        );
    }
    if let Some(d) = &r.decided_by {
        say!(
            "  decided by {} {}  {}",
            d.name,
            time(r.decide_time.as_ref()),
            r.decision_note
        );
    }
}
