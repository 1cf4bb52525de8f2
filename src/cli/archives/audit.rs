//! The audit register (查阅登记): its last entries, or the check of its hash chain.

use wuye::connect::call;
use wuye_proto::archives::{self as pb, audit_service_client::AuditServiceClient};

use crate::cli::output::{left, say, short, time};
use crate::cli::{Session, for_each_page};

type Client = AuditServiceClient<wuye::connect::Authed>;

pub(super) async fn run(s: &Session, verify: bool, last: usize) -> anyhow::Result<()> {
    let mut c = s.client(AuditServiceClient::new);
    if verify {
        return self::verify(s, &mut c).await;
    }
    let mut entries = Vec::new();
    for_each_page(async |page_token| {
        let page = call(c.list_audit_entries(pb::ListAuditEntriesRequest {
            property_id: s.p(),
            page_size: 500,
            page_token,
        }))
        .await?;
        entries.extend(page.entries);
        Ok(page.next_page_token)
    })
    .await?;
    for e in entries.iter().skip(entries.len().saturating_sub(last)) {
        let actor = e.actor.clone().unwrap_or_default();
        say!(
            "{:>4}  {}  {} {} {} {} ({})  {}",
            e.seq,
            time(e.occur_time.as_ref()),
            left(&short(e.action().as_str_name(), "AUDIT_ACTION_"), 20),
            left(&short(e.outcome().as_str_name(), "AUDIT_OUTCOME_"), 8),
            left(&e.reason, 20),
            actor.name,
            actor.role,
            e.detail
        );
    }
    Ok(())
}

async fn verify(s: &Session, c: &mut Client) -> anyhow::Result<()> {
    let v = call(c.verify_audit_chain(pb::VerifyAuditChainRequest { property_id: s.p() })).await?;
    if !v.intact {
        anyhow::bail!(
            "the register is BROKEN at entry {}: {} ({} entries checked)",
            v.first_broken_seq,
            v.problem,
            v.entries_checked
        );
    }
    say!(
        "the register is intact: {} entries checked",
        v.entries_checked
    );
    Ok(())
}
