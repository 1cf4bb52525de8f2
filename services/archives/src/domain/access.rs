//! Access to household files (ARC-7 to ARC-11): reading or copying needs an access request
//! approved by the CS supervisor, never by the requester; the use must fall inside it.

use chrono::{DateTime, Duration, Utc};
use wuye_kit::identity::Actor;

use super::{Refusal, SUPERVISOR_ROLE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessState {
    Pending,
    Approved,
    Rejected,
}

wuye_kit::text_codes!(AccessState { Pending => "pending", Approved => "approved", Rejected => "rejected" });

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderKind {
    Staff,
    GovernmentOfficial,
}

wuye_kit::text_codes!(ReaderKind { Staff => "staff", GovernmentOfficial => "government_official" });

/// ARC-8: the official, the body and the proof shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfficialReading {
    pub official_name: String,
    pub official_body: String,
    pub proof_kind: String,
    pub proof_number: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequest {
    pub id: String,
    pub property_id: String,
    pub household_file_id: String,
    pub document_ids: Vec<String>,
    pub personal_data: bool,
    pub copying: bool,
    pub purpose: String,
    pub reader_kind: ReaderKind,
    pub official: Option<OfficialReading>,
    pub valid_until: DateTime<Utc>,
    pub state: AccessState,
    pub requested_by: Actor,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<Actor>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: String,
}

/// A copy made in the archive room (ARC-10).
#[derive(Debug, Clone, PartialEq)]
pub struct CopyRecord {
    pub id: String,
    pub property_id: String,
    pub document_id: String,
    pub access_request_id: String,
    pub copies: i32,
    pub purpose: String,
    pub copied_by: Actor,
    pub copied_at: DateTime<Utc>,
}

/// The longest an access request may run.
pub const MAX_ACCESS_DAYS: i64 = 30;
pub const MAX_PURPOSE: usize = 500;
pub const MAX_DOCUMENTS: usize = 200;
pub const MAX_OFFICIAL_TEXT: usize = 100;

/// The latest `valid_until` a request made at `now` may ask for.
pub fn latest_valid_until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(MAX_ACCESS_DAYS)
}

/// What the caller wants to do with the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use<'a> {
    ReadDocument(&'a str),
    CopyDocument(&'a str),
    ReadPersonalData,
}

/// ARC-9, ARC-11: whether `request` (the one the caller named; `None` when it names none or
/// an unknown one) lets `caller` make `use` of the household file `household_file_id` at
/// `now`. Refusals are `PERMISSION_DENIED` with a stable reason.
pub fn check_use(
    request: Option<&AccessRequest>,
    caller: &Actor,
    household_file_id: &str,
    what: Use<'_>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let Some(request) = request else {
        return Err(Refusal::denied(
            "ACCESS_NOT_APPROVED",
            "reading or copying an archive needs an approved access request",
        ));
    };
    if request.state != AccessState::Approved {
        return Err(Refusal::denied(
            "ACCESS_NOT_APPROVED",
            "the access request is not approved",
        ));
    }
    if request.requested_by.user_id != caller.user_id {
        return Err(Refusal::denied(
            "NOT_REQUESTER",
            "an access request is used only by the person who made it",
        ));
    }
    if now >= request.valid_until {
        return Err(Refusal::denied(
            "ACCESS_EXPIRED",
            "the access request has expired",
        ));
    }
    let outside = || {
        Refusal::denied(
            "OUTSIDE_REQUEST",
            "the access request does not cover this document",
        )
    };
    if request.household_file_id != household_file_id {
        return Err(outside());
    }
    match what {
        Use::ReadDocument(id) | Use::CopyDocument(id)
            if !request.document_ids.iter().any(|d| d == id) =>
        {
            Err(outside())
        }
        Use::CopyDocument(_) if !request.copying => Err(Refusal::denied(
            "COPYING_NOT_APPROVED",
            "the access request does not allow copies",
        )),
        Use::ReadPersonalData if !request.personal_data => Err(Refusal::denied(
            "PERSONAL_DATA_NOT_COVERED",
            "the access request does not cover personal data",
        )),
        _ => Ok(()),
    }
}

/// ARC-9, ARC-11: only the CS supervisor decides, never on their own request, and only a
/// pending request that has not run out.
pub fn check_decision(
    request: &AccessRequest,
    decider: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if decider.role != SUPERVISOR_ROLE {
        return Err(Refusal::denied(
            "NOT_SUPERVISOR",
            "access is approved by the customer service supervisor",
        ));
    }
    if decider.user_id == request.requested_by.user_id {
        return Err(Refusal::denied(
            "SELF_APPROVAL",
            "a requester cannot decide their own access request",
        ));
    }
    if request.state != AccessState::Pending {
        return Err(Refusal::rule(
            "ALREADY_DECIDED",
            "the access request was decided already",
        ));
    }
    if now >= request.valid_until {
        return Err(Refusal::rule(
            "ACCESS_EXPIRED",
            "the access request ran out before it was decided",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str, role: &str) -> Actor {
        Actor {
            user_id: id.into(),
            name: id.into(),
            role: role.into(),
        }
    }

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(h)
    }

    fn request() -> AccessRequest {
        AccessRequest {
            id: "a1".into(),
            property_id: "p".into(),
            household_file_id: "f1".into(),
            document_ids: vec!["d1".into()],
            personal_data: false,
            copying: false,
            purpose: "核对房屋档案".into(),
            reader_kind: ReaderKind::Staff,
            official: None,
            valid_until: t(10),
            state: AccessState::Approved,
            requested_by: actor("clerk", "cs_clerk"),
            requested_at: t(0),
            decided_by: Some(actor("boss", "cs_supervisor")),
            decided_at: Some(t(1)),
            decision_note: String::new(),
        }
    }

    fn reason(r: Result<(), Refusal>) -> &'static str {
        r.unwrap_err().reason()
    }

    #[test]
    fn an_approved_request_lets_its_requester_read_its_documents() {
        // rule ARC-11
        let clerk = actor("clerk", "cs_clerk");
        assert!(
            check_use(
                Some(&request()),
                &clerk,
                "f1",
                Use::ReadDocument("d1"),
                t(5)
            )
            .is_ok()
        );
    }

    #[test]
    fn reading_outside_the_approval_is_refused() {
        // rules ARC-9, ARC-11
        let clerk = actor("clerk", "cs_clerk");
        let read = Use::ReadDocument("d1");
        assert_eq!(
            reason(check_use(None, &clerk, "f1", read, t(5))),
            "ACCESS_NOT_APPROVED"
        );
        let mut pending = request();
        pending.state = AccessState::Pending;
        assert_eq!(
            reason(check_use(Some(&pending), &clerk, "f1", read, t(5))),
            "ACCESS_NOT_APPROVED"
        );
        assert_eq!(
            reason(check_use(Some(&request()), &clerk, "f1", read, t(10))),
            "ACCESS_EXPIRED"
        );
        assert_eq!(
            reason(check_use(
                Some(&request()),
                &clerk,
                "f1",
                Use::ReadDocument("d2"),
                t(5)
            )),
            "OUTSIDE_REQUEST"
        );
        assert_eq!(
            reason(check_use(Some(&request()), &clerk, "f2", read, t(5))),
            "OUTSIDE_REQUEST"
        );
        let other = actor("other", "cs_clerk");
        assert_eq!(
            reason(check_use(Some(&request()), &other, "f1", read, t(5))),
            "NOT_REQUESTER"
        );
        assert_eq!(
            reason(check_use(
                Some(&request()),
                &clerk,
                "f1",
                Use::CopyDocument("d1"),
                t(5)
            )),
            "COPYING_NOT_APPROVED"
        );
        assert_eq!(
            reason(check_use(
                Some(&request()),
                &clerk,
                "f1",
                Use::ReadPersonalData,
                t(5)
            )),
            "PERSONAL_DATA_NOT_COVERED"
        );
    }

    #[test]
    fn only_another_supervisor_decides_a_pending_request() {
        // rules ARC-9, ARC-11
        let mut pending = request();
        pending.state = AccessState::Pending;
        let boss = actor("boss", "cs_supervisor");
        assert!(check_decision(&pending, &boss, t(5)).is_ok());
        assert_eq!(
            reason(check_decision(
                &pending,
                &actor("pm", "project_manager"),
                t(5)
            )),
            "NOT_SUPERVISOR"
        );
        let mut own = pending.clone();
        own.requested_by = boss.clone();
        assert_eq!(reason(check_decision(&own, &boss, t(5))), "SELF_APPROVAL");
        assert_eq!(
            reason(check_decision(&request(), &boss, t(5))),
            "ALREADY_DECIDED"
        );
        assert_eq!(
            reason(check_decision(&pending, &boss, t(10))),
            "ACCESS_EXPIRED"
        );
    }

    mod properties {
        //! No sequence of decisions and uses by anyone reaches an invalid access: a request is
        //! decided once, by a CS supervisor who did not make it, before it runs out, and a read
        //! or a copy is allowed only inside an approved request, to its requester (ARC-9 to
        //! ARC-11).
        use proptest::prelude::*;

        use super::*;

        const PEOPLE: [(&str, &str); 5] = [
            ("clerk", "cs_clerk"),
            ("boss", "cs_supervisor"),
            ("boss2", "cs_supervisor"),
            ("pm", "project_manager"),
            ("clerk2", "cs_clerk"),
        ];

        #[derive(Debug, Clone)]
        enum Call {
            Decide {
                who: usize,
                approve: bool,
            },
            Read {
                who: usize,
                file: bool,
                document: usize,
            },
            Copy {
                who: usize,
                file: bool,
                document: usize,
            },
            ReadPersonalData {
                who: usize,
            },
        }

        fn call() -> impl Strategy<Value = Call> {
            let who = 0..PEOPLE.len();
            prop_oneof![
                (who.clone(), any::<bool>())
                    .prop_map(|(who, approve)| Call::Decide { who, approve }),
                (who.clone(), prop::bool::weighted(0.8), 0..3usize).prop_map(
                    |(who, file, document)| Call::Read {
                        who,
                        file,
                        document
                    }
                ),
                (who.clone(), prop::bool::weighted(0.8), 0..3usize).prop_map(
                    |(who, file, document)| Call::Copy {
                        who,
                        file,
                        document
                    }
                ),
                who.prop_map(|who| Call::ReadPersonalData { who }),
            ]
        }

        fn person(who: usize) -> Actor {
            actor(PEOPLE[who].0, PEOPLE[who].1)
        }

        proptest! {
            // 256 cases, or PROPTEST_CASES.
            #[test]
            fn no_sequence_of_calls_reaches_an_invalid_access(
                copying in any::<bool>(),
                personal_data in any::<bool>(),
                calls in prop::collection::vec((call(), 0i64..3), 1..30),
            ) {
                let mut r = AccessRequest {
                    state: AccessState::Pending,
                    decided_by: None,
                    decided_at: None,
                    copying,
                    personal_data,
                    document_ids: vec!["d1".into(), "d2".into()],
                    ..request()
                };
                let mut now = t(0);
                let documents = ["d1", "d2", "d9"];
                for (call, hours) in calls {
                    now += Duration::hours(hours);
                    let before = r.clone();
                    let file = |inside: bool| if inside { "f1" } else { "f2" };
                    let (who, allowed) = match call {
                        Call::Decide { who, approve } => {
                            let decided = check_decision(&r, &person(who), now);
                            if decided.is_ok() {
                                // As the store records a decision.
                                r.state = if approve {
                                    AccessState::Approved
                                } else {
                                    AccessState::Rejected
                                };
                                r.decided_by = Some(person(who));
                                r.decided_at = Some(now);
                                prop_assert_eq!(before.state, AccessState::Pending);
                                prop_assert_eq!(PEOPLE[who].1, SUPERVISOR_ROLE);
                                prop_assert_ne!(&person(who).user_id, &r.requested_by.user_id);
                                prop_assert!(now < r.valid_until);
                            } else {
                                prop_assert_eq!(&r, &before, "a refused decision changes nothing");
                            }
                            continue;
                        }
                        Call::Read { who, file: inside, document } => (
                            who,
                            check_use(Some(&r), &person(who), file(inside),
                                Use::ReadDocument(documents[document]), now)
                                .map(|()| (inside, document, false, false)),
                        ),
                        Call::Copy { who, file: inside, document } => (
                            who,
                            check_use(Some(&r), &person(who), file(inside),
                                Use::CopyDocument(documents[document]), now)
                                .map(|()| (inside, document, true, false)),
                        ),
                        Call::ReadPersonalData { who } => (
                            who,
                            check_use(Some(&r), &person(who), "f1", Use::ReadPersonalData, now)
                                .map(|()| (true, 0, false, true)),
                        ),
                    };
                    // Using a request never changes it.
                    prop_assert_eq!(&r, &before);
                    if let Ok((inside, document, copy, personal)) = allowed {
                        prop_assert_eq!(r.state, AccessState::Approved);
                        let decider = r.decided_by.as_ref().unwrap();
                        prop_assert_eq!(decider.role.as_str(), SUPERVISOR_ROLE);
                        prop_assert_ne!(&decider.user_id, &r.requested_by.user_id);
                        prop_assert_eq!(&person(who).user_id, &r.requested_by.user_id);
                        prop_assert!(now < r.valid_until);
                        prop_assert!(inside);
                        if !personal {
                            prop_assert!(document < 2, "a document of the request");
                        }
                        prop_assert!(!copy || r.copying);
                        prop_assert!(!personal || r.personal_data);
                    }
                    // Decided stays decided.
                    if before.state != AccessState::Pending {
                        prop_assert_eq!(r.state, before.state);
                    }
                }
            }
        }
    }
}
