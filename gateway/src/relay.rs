//! The escalation relay (ESC-1 to ESC-4): follows customer service's complaint events, applies
//! each property's escalation rules, and delivers the escalations to the company quality
//! department; and carries the department's updates back onto the complaints.
//!
//! It keeps no state of its own: the quality department records what it has received from this
//! relay's source and what the source has acknowledged of its updates, and the relay resumes
//! from there after every (re)start. Deliveries are idempotent there (one reason per complaint
//! once), so a redelivery after a crash changes nothing. While the department is down, the
//! relay retries with backoff and does not move on, so nothing is lost.

use std::{collections::BTreeMap, future::Future, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt as _;
use tonic::{Code, Request, Status, transport::Channel};
use wuye_kit::{
    identity::{Caller, SERVICE_ROLE, Signed, Signer},
    properties::{EscalationRules, Properties},
};
use wuye_proto::{
    customerservice::{
        self as cs, ListPropertiesRequest, RecordEscalationStateRequest,
        complaint_service_client::ComplaintServiceClient,
        property_service_client::PropertyServiceClient,
    },
    events::{Event, SubscribeRequest, event::Payload, event_service_client::EventServiceClient},
    quality::{
        self as q, AcknowledgeUpdatesRequest, GetRelayPositionRequest, ReceiveEscalationRequest,
        escalation_relay_service_client::EscalationRelayServiceClient,
    },
};

pub const CUSTOMER_SERVICE_PACKAGE: &str = "wuye.customerservice.v1";
pub const QUALITY_PACKAGE: &str = "wuye.quality.v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RelaySettings {
    /// Whether this gateway relays its customer service's escalations to the quality
    /// department (the upstreams of wuye.customerservice.v1 and wuye.quality.v1).
    pub enabled: bool,
    /// The name the quality department knows this deployment's customer service by: unique
    /// among the deployments that share one quality department.
    pub source: String,
    /// The properties file with each property's escalation rules (`rules.escalation`).
    pub properties_file: PathBuf,
    /// Longest wait between retries while a service is down, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            source: "customer-service".into(),
            properties_file: PathBuf::from("deploy/properties.toml"),
            max_backoff_ms: 5_000,
        }
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(50);

/// An escalation the rules call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub complaint_id: String,
    pub number: i64,
    pub severity: cs::Severity,
    pub category: String,
    pub reason: q::EscalationReason,
    pub detail: String,
}

/// Whether `event` escalates a complaint under `rules` (ESC-1: a major marking always does;
/// ESC-2: serious severity, a missed reply deadline, unresolved, a recurring problem, each if
/// the property says so). Customer service establishes every fact once; the relay only maps.
pub fn escalation_of(event: &Event, rules: &EscalationRules) -> Option<Escalation> {
    let e = |id: &str, number, severity, category: &str, reason, detail: &str| Escalation {
        complaint_id: id.to_owned(),
        number,
        severity: cs::Severity::try_from(severity).unwrap_or_default(),
        category: category.to_owned(),
        reason,
        detail: detail.to_owned(),
    };
    match event.payload.as_ref()? {
        Payload::ComplaintMarkedMajor(m) => Some(e(
            &m.complaint_id,
            m.number,
            m.severity,
            &m.category,
            q::EscalationReason::Major,
            &m.reason,
        )),
        Payload::ComplaintRegistered(r)
            if rules.escalate_serious && r.severity == cs::Severity::Serious as i32 =>
        {
            Some(e(
                &r.complaint_id,
                r.number,
                r.severity,
                &r.category,
                q::EscalationReason::Serious,
                "",
            ))
        }
        Payload::ComplaintReplyOverdue(o) if rules.escalate_reply_overdue => Some(e(
            &o.complaint_id,
            o.number,
            o.severity,
            &o.category,
            q::EscalationReason::ReplyOverdue,
            "",
        )),
        Payload::ComplaintUnresolved(u) if rules.escalate_unresolved => Some(e(
            &u.complaint_id,
            u.number,
            u.severity,
            &u.category,
            q::EscalationReason::Unresolved,
            "",
        )),
        Payload::ComplaintRecurring(r) if rules.escalate_recurring => Some(e(
            &r.complaint_id,
            r.number,
            r.severity,
            &r.category,
            q::EscalationReason::Recurring,
            &recurring_detail(r),
        )),
        _ => None,
    }
}

/// What the quality department reads of a recurring problem: where, when, and which
/// complaints ("3号楼 2026-H2 第3次: 投诉 #4, #7, #9").
fn recurring_detail(r: &wuye_proto::events::ComplaintRecurring) -> String {
    let numbers: Vec<String> = r.numbers.iter().map(|n| format!("#{n}")).collect();
    format!(
        "{}号楼 {} 第{}次: 投诉 {}",
        r.building,
        r.period,
        r.numbers.len(),
        numbers.join(", ")
    )
}

/// The relay between one customer service and the quality department.
#[derive(Clone)]
pub struct Relay {
    settings: RelaySettings,
    /// Both channels sign their calls as the gateway's relay.
    customer_service: Signed<Channel>,
    quality: Signed<Channel>,
}

impl Relay {
    /// The relay of `upstreams` (over mutual TLS with `tls`), or None when it is disabled or an
    /// end is not configured.
    pub fn new(
        settings: &RelaySettings,
        upstreams: &BTreeMap<String, String>,
        identity: &Signer,
        tls: Option<&wuye_kit::tls::Tls>,
    ) -> anyhow::Result<Option<Self>> {
        if !settings.enabled {
            return Ok(None);
        }
        let (Some(cs), Some(quality)) = (
            upstreams.get(CUSTOMER_SERVICE_PACKAGE),
            upstreams.get(QUALITY_PACKAGE),
        ) else {
            tracing::warn!("escalation relay off: customer service or quality has no upstream");
            return Ok(None);
        };
        anyhow::ensure!(
            !settings.source.is_empty(),
            "relay.source must name this deployment's customer service"
        );
        Ok(Some(Self {
            settings: settings.clone(),
            customer_service: identity
                .channel(wuye_kit::follow::peer_channel(cs, tls)?, "customer-service"),
            quality: identity.channel(wuye_kit::follow::peer_channel(quality, tls)?, "quality"),
        }))
    }

    /// Both directions, until the task is dropped.
    pub async fn run(self) {
        let up = self.clone();
        let down = self.clone();
        tokio::join!(
            self.forever("escalations", move || {
                let relay = up.clone();
                async move { relay.escalate().await }
            }),
            self.forever("updates", move || {
                let relay = down.clone();
                async move { relay.update().await }
            }),
        );
    }

    /// Runs `once` again after every failure or end, with backoff.
    async fn forever<F, Fut>(&self, what: &'static str, once: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(), Status>>,
    {
        let mut backoff = MIN_BACKOFF;
        loop {
            match once().await {
                Ok(()) => backoff = MIN_BACKOFF,
                Err(e) => {
                    tracing::warn!(relay = what, code = ?e.code(), error = e.message(), "relay interrupted; retrying");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.max_backoff());
        }
    }

    fn max_backoff(&self) -> Duration {
        Duration::from_millis(
            self.settings
                .max_backoff_ms
                .max(MIN_BACKOFF.as_millis() as u64),
        )
    }

    /// A request as the relay, for `property` when given: the channel signs it.
    fn signed<T>(&self, message: T, property: Option<&str>) -> Request<T> {
        let mut request = Request::new(message);
        request.extensions_mut().insert(Caller {
            post_id: String::new(),
            user_id: "gateway-relay".into(),
            name: "escalation relay".into(),
            role: SERVICE_ROLE.into(),
            property: property.map(str::to_owned),
            ..Default::default()
        });
        request
    }

    fn quality(&self) -> EscalationRelayServiceClient<Signed<Channel>> {
        EscalationRelayServiceClient::new(self.quality.clone())
    }

    /// Customer service → quality: from what quality has received, to the end of the stream.
    async fn escalate(&self) -> Result<(), Status> {
        let properties = Properties::load(&self.settings.properties_file)
            .map_err(|e| Status::failed_precondition(format!("escalation rules: {e:#}")))?;
        let source = &self.settings.source;
        let after_seq = self
            .quality()
            .get_relay_position(self.signed(
                GetRelayPositionRequest {
                    source: source.clone(),
                },
                None,
            ))
            .await?
            .into_inner()
            .received_seq;
        let mut events = EventServiceClient::new(self.customer_service.clone())
            .subscribe(self.signed(SubscribeRequest { after_seq }, None))
            .await?
            .into_inner();
        tracing::info!(after_seq, "relaying escalations");
        while let Some(item) = events.next().await {
            let Some(event) = item?.event else { continue };
            // A property missing from the file still escalates by the default rules.
            let rules = properties
                .get(&event.property_id)
                .map(|p| p.rules.escalation.clone())
                .unwrap_or_default();
            if let Some(escalation) = escalation_of(&event, &rules) {
                self.deliver(&event, escalation).await;
            }
        }
        Ok(())
    }

    /// Delivers one escalation, retrying until the quality department takes it: the relay
    /// does not move past an escalation it could not deliver (ESC-4).
    async fn deliver(&self, event: &Event, e: Escalation) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let request = ReceiveEscalationRequest {
                property_id: event.property_id.clone(),
                source: self.settings.source.clone(),
                source_seq: event.seq,
                complaint_id: e.complaint_id.clone(),
                complaint_number: e.number,
                severity: e.severity.into(),
                category: e.category.clone(),
                reason: e.reason.into(),
                detail: e.detail.clone(),
            };
            let result = self
                .quality()
                .receive_escalation(self.signed(request, Some(&event.property_id)))
                .await;
            match result {
                Ok(response) => {
                    if response.into_inner().new_reason {
                        tracing::info!(
                            property = %event.property_id,
                            complaint_number = e.number,
                            reason = e.reason.as_str_name(),
                            seq = event.seq,
                            "escalation delivered"
                        );
                    }
                    return;
                }
                Err(status) if permanent(&status) => {
                    // Redelivering a refused escalation would stall every later one.
                    tracing::error!(
                        property = %event.property_id,
                        complaint_number = e.number,
                        seq = event.seq,
                        code = ?status.code(),
                        error = status.message(),
                        "quality department refused an escalation; skipped"
                    );
                    return;
                }
                Err(status) => {
                    tracing::warn!(
                        seq = event.seq,
                        code = ?status.code(),
                        error = status.message(),
                        "quality department unreachable; escalation waits"
                    );
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.max_backoff());
        }
    }

    /// Quality → customer service: the department's updates of this deployment's properties,
    /// shown on their complaints, from what this source has acknowledged.
    async fn update(&self) -> Result<(), Status> {
        let source = &self.settings.source;
        let ours: std::collections::BTreeSet<String> =
            PropertyServiceClient::new(self.customer_service.clone())
                .list_properties(self.signed(ListPropertiesRequest {}, None))
                .await?
                .into_inner()
                .properties
                .into_iter()
                .filter_map(|p| p.property.map(|p| p.id))
                .collect();
        let after_seq = self
            .quality()
            .get_relay_position(self.signed(
                GetRelayPositionRequest {
                    source: source.clone(),
                },
                None,
            ))
            .await?
            .into_inner()
            .acknowledged_seq;
        let mut events = EventServiceClient::new(self.quality.clone())
            .subscribe(self.signed(SubscribeRequest { after_seq }, None))
            .await?
            .into_inner();
        while let Some(item) = events.next().await {
            let Some(event) = item?.event else { continue };
            if let Some(Payload::EscalationUpdated(u)) = &event.payload
                && ours.contains(&event.property_id)
            {
                self.record(&event, u).await;
            }
            self.quality()
                .acknowledge_updates(self.signed(
                    AcknowledgeUpdatesRequest {
                        source: source.clone(),
                        seq: event.seq,
                    },
                    None,
                ))
                .await?;
        }
        Ok(())
    }

    /// Shows one update on its complaint, retrying while customer service is down.
    async fn record(&self, event: &Event, u: &wuye_proto::events::EscalationUpdated) {
        let state = match q::EscalationState::try_from(u.state) {
            Ok(q::EscalationState::Received) => cs::EscalationState::Received,
            Ok(q::EscalationState::Assigned) => cs::EscalationState::Assigned,
            Ok(q::EscalationState::InformationRequested) => {
                cs::EscalationState::InformationRequested
            }
            Ok(q::EscalationState::Decided) => cs::EscalationState::Decided,
            Ok(q::EscalationState::Closed) => cs::EscalationState::Closed,
            _ => return,
        };
        let mut backoff = MIN_BACKOFF;
        loop {
            let request = RecordEscalationStateRequest {
                property_id: event.property_id.clone(),
                complaint_id: u.complaint_id.clone(),
                state: state.into(),
                decision: u.text.clone(),
            };
            let result = ComplaintServiceClient::new(self.customer_service.clone())
                .record_escalation_state(self.signed(request, Some(&event.property_id)))
                .await;
            match result {
                Ok(_) => return,
                Err(status) if permanent(&status) => {
                    tracing::error!(
                        property = %event.property_id,
                        complaint_number = u.complaint_number,
                        code = ?status.code(),
                        error = status.message(),
                        "customer service refused an escalation update; skipped"
                    );
                    return;
                }
                Err(status) => tracing::warn!(
                    code = ?status.code(),
                    error = status.message(),
                    "customer service unreachable; escalation update waits"
                ),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.max_backoff());
        }
    }
}

/// Refusals that no retry changes: the request itself is wrong.
fn permanent(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::OutOfRange
    )
}

#[cfg(test)]
mod tests {
    use wuye_proto::events::{
        ComplaintMarkedMajor, ComplaintRecurring, ComplaintRegistered, ComplaintReplyOverdue,
    };

    use super::*;

    fn event(payload: Payload) -> Event {
        Event {
            seq: 7,
            property_id: "p1".into(),
            occur_time: None,
            traceparent: String::new(),
            payload: Some(payload),
        }
    }

    fn registered(severity: cs::Severity) -> Event {
        event(Payload::ComplaintRegistered(ComplaintRegistered {
            complaint_id: "c1".into(),
            number: 3,
            severity: severity.into(),
            category: "维修服务".into(),
            unit_id: String::new(),
            reply_due_time: None,
        }))
    }

    #[test]
    fn major_always_escalates_and_esc2_follows_the_rules() {
        // rules ESC-1, ESC-2
        let all = EscalationRules::default();
        let none = EscalationRules {
            escalate_serious: false,
            escalate_reply_overdue: false,
            escalate_unresolved: false,
            escalate_recurring: false,
        };
        let major = event(Payload::ComplaintMarkedMajor(ComplaintMarkedMajor {
            complaint_id: "c1".into(),
            number: 3,
            severity: cs::Severity::Minor.into(),
            category: "c".into(),
            reason: "需公司协调".into(),
        }));
        for rules in [&all, &none] {
            let e = escalation_of(&major, rules).unwrap();
            assert_eq!(e.reason, q::EscalationReason::Major);
            assert_eq!(e.detail, "需公司协调");
        }
        let serious = registered(cs::Severity::Serious);
        assert_eq!(
            escalation_of(&serious, &all).unwrap().reason,
            q::EscalationReason::Serious
        );
        assert_eq!(escalation_of(&serious, &none), None);
        assert_eq!(
            escalation_of(&registered(cs::Severity::General), &all),
            None
        );
        let overdue = event(Payload::ComplaintReplyOverdue(ComplaintReplyOverdue {
            complaint_id: "c1".into(),
            number: 3,
            severity: cs::Severity::Minor.into(),
            category: "c".into(),
            reply_due_time: None,
        }));
        assert_eq!(
            escalation_of(&overdue, &all).unwrap().reason,
            q::EscalationReason::ReplyOverdue
        );
        assert_eq!(escalation_of(&overdue, &none), None);
        let recurring = event(Payload::ComplaintRecurring(ComplaintRecurring {
            complaint_id: "c9".into(),
            number: 9,
            severity: cs::Severity::Minor.into(),
            category: "c".into(),
            building: "3".into(),
            period: "2026-H2".into(),
            numbers: vec![4, 7, 9],
        }));
        let e = escalation_of(&recurring, &all).unwrap();
        assert_eq!(
            (e.complaint_id.as_str(), e.reason),
            ("c9", q::EscalationReason::Recurring)
        );
        assert_eq!(e.detail, "3号楼 2026-H2 第3次: 投诉 #4, #7, #9");
        assert_eq!(escalation_of(&recurring, &none), None);
    }

    #[test]
    fn refusals_that_retrying_cannot_fix_are_permanent() {
        assert!(permanent(&Status::invalid_argument("x")));
        assert!(!permanent(&Status::unavailable("x")));
        assert!(!permanent(&Status::unauthenticated("x")));
        assert!(!permanent(&Status::deadline_exceeded("x")));
    }
}
