//! The engineering manager's alerts: refused handovers and major findings.

use wuye::connect::call;
use wuye_proto::engineering::{self as pb, alert_service_client::AlertServiceClient};

use crate::cli::Session;
use crate::cli::output::{left, say, short, time, yes};

pub(super) async fn run(s: &Session, all: bool, ack: Option<String>) -> anyhow::Result<()> {
    let mut c = s.client(AlertServiceClient::new);
    if let Some(id) = ack {
        let a = call(c.acknowledge_alert(pb::AcknowledgeAlertRequest {
            property_id: s.p(),
            alert_id: id,
        }))
        .await?
        .alert
        .unwrap_or_default();
        say!(
            "alert {} acknowledged {}",
            a.id,
            time(a.acknowledge_time.as_ref())
        );
        return Ok(());
    }
    let list = call(c.list_alerts(pb::ListAlertsRequest {
        property_id: s.p(),
        open_only: !all,
        kind: 0,
        page_size: 100,
        page_token: String::new(),
    }))
    .await?;
    for a in &list.alerts {
        say!(
            "{}  {}  {} {}{}",
            a.id,
            time(a.raise_time.as_ref()),
            left(&short(a.kind().as_str_name(), "ALERT_KIND_"), 16),
            yes(a.acknowledged, "(acknowledged) ", ""),
            // The message of a refusal names its reasons already.
            if a.reasons.iter().all(|r| a.message.contains(r.as_str())) {
                a.message.clone()
            } else {
                format!("{}  {}", a.message, a.reasons.join(","))
            }
        );
    }
    if list.alerts.is_empty() {
        say!("no alerts");
    }
    Ok(())
}
