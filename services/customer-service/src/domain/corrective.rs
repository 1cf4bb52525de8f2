//! Corrective and preventive actions (纠正预防措施实施验证报告, CMP-8): opened from a complaint,
//! acted on, and verified by someone other than who acted.

use chrono::{DateTime, Utc};
use wuye_kit::{Error, Result, identity::Actor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrectiveState {
    Open,
    Acted,
    Verified,
}

wuye_kit::text_codes!(CorrectiveState { Open => "open", Acted => "acted", Verified => "verified" });

#[derive(Debug, Clone, PartialEq)]
pub struct CorrectiveAction {
    pub id: String,
    pub property_id: String,
    pub complaint_id: String,
    pub state: CorrectiveState,
    pub problem: String,
    pub opened_by: Actor,
    pub opened_at: DateTime<Utc>,
    pub measures: String,
    pub acted: Option<(Actor, DateTime<Utc>)>,
    pub effective: bool,
    pub verification: String,
    pub verified: Option<(Actor, DateTime<Utc>)>,
}

/// Records the measures taken; again while not verified, as the work goes on.
pub fn act(
    a: &CorrectiveAction,
    measures: String,
    by: &Actor,
    at: DateTime<Utc>,
) -> Result<CorrectiveAction> {
    if a.state == CorrectiveState::Verified {
        return Err(Error::rule(
            "CORRECTIVE_ACTION_VERIFIED",
            "the corrective action is verified already",
        ));
    }
    Ok(CorrectiveAction {
        state: CorrectiveState::Acted,
        measures,
        acted: Some((by.clone(), at)),
        ..a.clone()
    })
}

/// Verifies the measures: only after they were taken, and never by the person who took them.
pub fn verify(
    a: &CorrectiveAction,
    effective: bool,
    verification: String,
    by: &Actor,
    at: DateTime<Utc>,
) -> Result<CorrectiveAction> {
    let Some((acted_by, _)) = &a.acted else {
        return Err(Error::rule(
            "NO_MEASURES_YET",
            "no measures were recorded to verify",
        ));
    };
    if a.state == CorrectiveState::Verified {
        return Err(Error::rule(
            "CORRECTIVE_ACTION_VERIFIED",
            "the corrective action is verified already",
        ));
    }
    if acted_by.user_id == by.user_id {
        return Err(Error::rule(
            "VERIFIER_ACTED",
            "the person who took the measures cannot verify them",
        ));
    }
    Ok(CorrectiveAction {
        state: CorrectiveState::Verified,
        effective,
        verification,
        verified: Some((by.clone(), at)),
        ..a.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str) -> Actor {
        Actor {
            user_id: id.into(),
            name: id.into(),
            role: "cs_supervisor".into(),
        }
    }

    #[test]
    fn the_one_who_acted_does_not_verify() {
        // rule CMP-8
        let at = Utc::now();
        let open = CorrectiveAction {
            id: "a".into(),
            property_id: "p".into(),
            complaint_id: "c".into(),
            state: CorrectiveState::Open,
            problem: "p".into(),
            opened_by: actor("u0"),
            opened_at: at,
            measures: String::new(),
            acted: None,
            effective: false,
            verification: String::new(),
            verified: None,
        };
        assert!(matches!(
            verify(&open, true, "v".into(), &actor("u2"), at),
            Err(Error::Rule {
                reason: "NO_MEASURES_YET",
                ..
            })
        ));
        let acted = act(&open, "m".into(), &actor("u1"), at).unwrap();
        assert!(matches!(
            verify(&acted, true, "v".into(), &actor("u1"), at),
            Err(Error::Rule {
                reason: "VERIFIER_ACTED",
                ..
            })
        ));
        let verified = verify(&acted, true, "v".into(), &actor("u2"), at).unwrap();
        assert_eq!(verified.state, CorrectiveState::Verified);
        assert!(act(&verified, "m2".into(), &actor("u1"), at).is_err());
    }
}
