//! The use cases of the escalation inbox: one function per RPC verb. Each owns its
//! transaction: it loads through `store`, decides by the rules of `domain`, saves, appends the
//! event that tells the property (the outbox) and commits. The department reads across
//! properties, so its calls take the caller rather than one property's scope; the relay's
//! deliveries come within the scope of the complaint's property.

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result,
    identity::{Actor, Caller},
    scope::Scope,
    time::to_timestamp,
};
use wuye_proto::{
    events::{EscalationUpdated, event::Payload},
    quality as pb,
};

use crate::{
    Quality,
    domain::{self, Delivery, Escalation, State, Step},
    store::{self, Filter},
};

/// The escalations a list may show: one property's, or every property's (`None`, for
/// headquarters only). Established before the list's other fields are read.
pub(crate) struct Inbox {
    property_id: Option<String>,
}

/// The inbox of the caller: property roles see their own property only, and must name it.
pub(crate) fn inbox(q: &Quality, caller: &Caller, property_id: &str) -> Result<Inbox> {
    let headquarters = domain::HEADQUARTERS_ROLES.contains(&caller.role.as_str());
    let property_id = if property_id.is_empty() && headquarters {
        None
    } else {
        Some(readable_property(q, caller, property_id)?)
    };
    Ok(Inbox { property_id })
}

/// What a list of escalations asks for.
pub(crate) struct Listing<'a> {
    pub state: Option<State>,
    pub open_only: bool,
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// Escalations of the inbox, newest first.
pub(crate) async fn list(
    q: &Quality,
    inbox: &Inbox,
    listing: Listing<'_>,
) -> Result<Vec<Escalation>> {
    let filter = Filter {
        property_id: inbox.property_id.as_deref(),
        state: listing.state,
        open_only: listing.open_only,
    };
    store::list(&q.db, &filter, listing.after, listing.limit).await
}

/// The escalation `id` if the caller may read it; another property's is "not found", so its
/// existence does not leak.
pub(crate) async fn get(q: &Quality, caller: &Caller, id: &str) -> Result<Escalation> {
    if id.is_empty() {
        return Err(Error::invalid("escalation_id", "must not be empty"));
    }
    let escalation = store::get(&q.db, id).await?;
    if !domain::may_read(
        &caller.role,
        caller.property.as_deref(),
        &escalation.property_id,
    ) {
        return Err(Error::not_found("escalation", id));
    }
    Ok(escalation)
}

/// The escalation of the complaint `complaint_id` of the scope's property, for the complaint's
/// page (ESC-3: the property sees its escalation); NOT_FOUND when it has none.
pub(crate) async fn of_complaint(
    q: &Quality,
    scope: &Scope<'_>,
    complaint_id: &str,
) -> Result<Escalation> {
    let property_id = &scope.property().id;
    match store::id_of_complaint(&q.db, property_id, complaint_id).await? {
        Some(id) => store::get(&q.db, &id).await,
        None => Err(Error::not_found("escalation of complaint", complaint_id)),
    }
}

/// ESC-3: assigns the escalation `id` to the quality officer `assignee_user_id` (a staff id of
/// the directory, whose name the escalation records), or to the caller when it is empty. The
/// caller needs no look-up: only a quality officer may assign (the gateway's policy and
/// [`domain::check_role`]), and the caller's identity is the gateway's.
pub(crate) async fn assign(
    q: &Quality,
    caller: &Caller,
    id: &str,
    assignee_user_id: &str,
) -> Result<Escalation> {
    let to_caller = Step::Assign {
        assignee: caller.actor(),
    };
    if assignee_user_id.is_empty() {
        return step(q, caller, id, to_caller).await;
    }
    // Who may not assign learns nothing of the directory; the escalation's property is the
    // place the officer's post must fit (a headquarters post does).
    domain::check_role(&caller.role, &to_caller)?;
    let before = get(q, caller, id).await?;
    let (field, roles) = ("assignee_user_id", domain::ASSIGNEE_ROLES);
    let officer = q
        .directory
        .check(&before.property_id, field, assignee_user_id, roles);
    let officer = officer.await?;
    let assignee = Actor {
        user_id: officer.person_id,
        name: officer.name,
        role: officer.role,
    };
    step(q, caller, id, Step::Assign { assignee }).await
}

/// Takes `step` on the escalation `id`, in the order of handling (ESC-3); a change of state is
/// announced to the property.
pub(crate) async fn step(q: &Quality, caller: &Caller, id: &str, step: Step) -> Result<Escalation> {
    domain::check_role(&caller.role, &step)?;
    let before = get(q, caller, id).await?;
    let now = q.clock.now();
    let actor = caller.actor();
    let state = domain::next_state(before.state, &step)?;
    let mut tx = q.db.begin().await?;
    if !store::move_state(&mut tx, id, before.state, state, now).await? {
        return Err(Error::Unavailable(
            "the escalation changed meanwhile: try again".into(),
        ));
    }
    let mut question = None;
    let (mut decision, mut actions) = (&before.decision, &before.corrective_actions);
    match &step {
        Step::Assign { assignee } => store::assign(&mut tx, id, assignee, now).await?,
        Step::RequestInformation { question: q } => {
            let seq = before.information.len() as i64 + 1;
            store::ask(&mut tx, id, seq, q, &actor, now).await?;
            question = Some(q.as_str());
        }
        Step::ProvideInformation { answer } => {
            let seq = before.information.len() as i64;
            store::answer(&mut tx, id, seq, answer, &actor, now).await?;
        }
        Step::Decide {
            decision: d,
            corrective_actions,
        } => {
            store::decide(&mut tx, id, d, corrective_actions, &actor, now).await?;
            (decision, actions) = (d, corrective_actions);
        }
        Step::Close { note } => store::close(&mut tx, id, note, &actor, now).await?,
    }
    let announce = state != before.state;
    if announce {
        let text = domain::property_text(state, question, decision, actions);
        let event = updated(
            id,
            &before.complaint_id,
            before.complaint_number,
            state,
            text,
            now,
        );
        q.outbox.append(&mut tx, &before.property_id, event).await?;
    }
    tx.commit().await?;
    if announce {
        q.outbox.notify();
    }
    let escalation = store::get(&q.db, id).await?;
    tracing::info!(
        property = %escalation.property_id,
        complaint_number = escalation.complaint_number,
        state = escalation.state.code(),
        "escalation handled"
    );
    Ok(escalation)
}

/// The escalations of a property the caller may read: how many are open, and how many are in
/// each state (by state code).
pub(crate) async fn figures(
    q: &Quality,
    caller: &Caller,
    property_id: &str,
) -> Result<(String, i64, Vec<(String, i64)>)> {
    let property = readable_property(q, caller, property_id)?;
    let by_state = store::count_by_state(&q.db, &property).await?;
    let open = by_state
        .iter()
        .filter(|(state, _)| state != State::Closed.code())
        .map(|(_, n)| n)
        .sum();
    Ok((property, open, by_state))
}

/// Records a delivery of the relay: the escalation of the complaint (created on its first
/// reason), the reason once, and the source's position. Gives the escalation and whether the
/// reason was new.
pub(crate) async fn receive(
    q: &Quality,
    scope: &Scope<'_>,
    d: Delivery,
) -> Result<(Escalation, bool)> {
    let now = q.clock.now();
    let property_id = &scope.property().id;
    let mut tx = q.db.begin().await?;
    let created =
        store::insert_escalation(&mut tx, &uuid::Uuid::now_v7().to_string(), &d, now).await?;
    let (id, state) = store::of_complaint(&mut tx, property_id, &d.complaint_id).await?;
    let new_reason = store::add_reason(&mut tx, &id, &d, now).await?;
    let reopened = domain::reopens(state, created, new_reason)
        && store::move_state(&mut tx, &id, State::Closed, State::Received, now).await?;
    store::advance_received(&mut tx, &d.source, d.source_seq).await?;
    let announce = created || reopened;
    if announce {
        let event = updated(
            &id,
            &d.complaint_id,
            d.complaint_number,
            State::Received,
            String::new(),
            now,
        );
        q.outbox.append(&mut tx, property_id, event).await?;
    }
    tx.commit().await?;
    if announce {
        q.outbox.notify();
    }
    if new_reason {
        tracing::info!(
            property = %property_id,
            complaint_number = d.complaint_number,
            reason = d.reason.code(),
            "escalation received"
        );
    }
    Ok((store::get(&q.db, &id).await?, new_reason))
}

/// What `source` has delivered and acknowledged: (received, acknowledged).
pub(crate) async fn position(q: &Quality, source: &str) -> Result<(i64, i64)> {
    store::position(&q.db, source).await
}

/// `source` has applied the department's events up to `seq`; never moves back.
pub(crate) async fn acknowledge(q: &Quality, source: &str, seq: i64) -> Result<()> {
    store::acknowledge(&q.db, source, seq).await
}

/// The property whose escalations the caller may read: the message's, which must be the
/// call's unless the caller is from headquarters.
fn readable_property(q: &Quality, caller: &Caller, property_id: &str) -> Result<String> {
    if property_id.is_empty() {
        return Err(Error::invalid("property_id", "must not be empty"));
    }
    if !domain::may_read(&caller.role, caller.property.as_deref(), property_id) {
        return Err(Error::permission_denied(
            "PROPERTY_MISMATCH",
            "property_id is not the property this call was authorized for",
        ));
    }
    Ok(q.properties.get(property_id)?.id.clone())
}

/// The event that tells the property its escalation changed (ESC-3).
fn updated(
    id: &str,
    complaint_id: &str,
    complaint_number: i64,
    state: State,
    text: String,
    now: DateTime<Utc>,
) -> Payload {
    Payload::EscalationUpdated(EscalationUpdated {
        escalation_id: id.to_owned(),
        complaint_id: complaint_id.to_owned(),
        complaint_number,
        state: pb::EscalationState::from(state).into(),
        text,
        update_time: Some(to_timestamp(now)),
    })
}
