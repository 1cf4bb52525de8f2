//! What the engineering manager must know at once: a refused handover (HO-7) and a major
//! inspection finding (INS-2).

use chrono::{DateTime, Utc};
use wuye_kit::identity::Actor;

use super::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    HandoverRefused,
    MajorFinding,
}

wuye_kit::text_codes!(AlertKind { HandoverRefused => "handover_refused", MajorFinding => "major_finding" });

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: String,
    pub property_id: String,
    pub kind: AlertKind,
    /// The handover or the inspection.
    pub subject_id: String,
    pub message: String,
    pub reasons: Vec<String>,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_by: Option<Actor>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl Alert {
    pub fn acknowledge(&mut self, by: Actor, now: DateTime<Utc>) -> Result<(), Refusal> {
        if self.acknowledged_by.is_some() {
            return Err(Refusal::new(
                "ALERT_ACKNOWLEDGED",
                "the alert is already acknowledged",
            ));
        }
        self.acknowledged_by = Some(by);
        self.acknowledged_at = Some(now);
        Ok(())
    }
}
