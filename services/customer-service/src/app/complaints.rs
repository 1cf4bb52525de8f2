//! Complaints (客户投诉): registration (CMP-1 to CMP-4), the steps of a complaint's life
//! (CMP-5), the quality department's handling (ESC-3), the printed form, the analysis (CMP-9)
//! and the sweep announcing overdue and unresolved complaints (ESC-2).

use chrono::{DateTime, Utc};
use wuye_kit::{
    Error, Result,
    db::{Tx, to_micros},
    idempotency::{self, Claim, RequestId},
    outbox::Outbox,
    personal::PersonalData,
    properties::Property,
    scope::Scope,
    time::to_timestamp,
};
use wuye_proto::{
    customerservice as pb,
    events::{
        ComplaintClosed, ComplaintMarkedMajor, ComplaintRecurring, ComplaintRegistered,
        ComplaintReplyOverdue, ComplaintUnresolved, event::Payload,
    },
};

use crate::{
    CustomerService,
    domain::{
        analysis::{self, PeriodAnalysis, Recurrence},
        complaints::{
            self as rules, Action, Complaint, Escalation, EscalationState, Filter, Registration,
            Step,
        },
        contacts::ContactEntry,
        forms,
    },
    store::{self, complaints::Problem},
};

/// CreateComplaint: registers a complaint of the scope's property by the caller, now, and
/// answers a retry of `request_id` with the complaint its first call registered. The benchmark
/// measures the storage limit through this function, so it is public.
pub async fn create(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    contact_number: Option<i64>,
    registration: Registration,
) -> Result<Complaint> {
    let complaint = Complaint::register(
        uuid::Uuid::now_v7().to_string(),
        scope.property(),
        registration,
        scope.actor(),
        cs.clock.now(),
    );
    match register(cs, scope, request_id, contact_number, complaint).await? {
        Registered::New(c) => {
            tracing::info!(property = %c.property_id, number = c.number, "complaint registered");
            Ok(c)
        }
        Registered::Retry(c) => Ok(c),
    }
}

/// What registering found.
pub(crate) enum Registered {
    New(Complaint),
    /// A retry of the request id: the complaint the first call registered.
    Retry(Complaint),
}

/// Registers `c` in one transaction: the request id, the number (the log entry's it comes
/// from, or the next one), the log entry, the complaint and its `ComplaintRegistered` event;
/// and `ComplaintRecurring` when it makes its problem recurrent.
pub(crate) async fn register(
    cs: &CustomerService,
    scope: &Scope<'_>,
    request_id: &RequestId,
    contact_number: Option<i64>,
    mut c: Complaint,
) -> Result<Registered> {
    let property = scope.property();
    let recurrence = Recurrence::at(
        c.registered_at,
        property.time_zone,
        property.rules.complaints.recurring_threshold,
    )?;
    let mut tx = cs.db.begin().await?;
    let claim = format!("CreateComplaint/{}", c.property_id);
    let now = to_micros(c.registered_at);
    if let Claim::Retry(id) =
        idempotency::claim(&mut tx, cs.db.keyring(), &claim, request_id, &c.id, now).await?
    {
        drop(tx);
        return get(cs, scope, &id).await.map(Registered::Retry);
    }
    if let Some(unit_id) = &c.unit_id
        && !store::units::exists(&mut tx, &c.property_id, unit_id).await?
    {
        return Err(Error::invalid("unit_id", "is not a unit of this property"));
    }
    c.number = match contact_number {
        Some(number) => {
            take_contact(&mut tx, &c, number).await?;
            number
        }
        None => {
            let number = store::complaints::next_number(&mut tx, &c.property_id).await?;
            let entry = ContactEntry::of_complaint(&c, number);
            store::contacts::insert(&cs.db, &mut tx, &entry).await?;
            number
        }
    };
    store::complaints::insert(&cs.db, &mut tx, &c).await?;
    let event = Payload::ComplaintRegistered(ComplaintRegistered {
        complaint_id: c.id.clone(),
        number: c.number,
        severity: pb::Severity::from(c.severity).into(),
        category: c.category.clone(),
        unit_id: c.unit_id.clone().unwrap_or_default(),
        reply_due_time: Some(to_timestamp(c.reply_due_at)),
    });
    cs.outbox.append(&mut tx, &c.property_id, event).await?;
    if let Some(unit_id) = &c.unit_id {
        note_recurring(&mut tx, &cs.outbox, &c, unit_id, &recurrence).await?;
    }
    tx.commit().await?;
    cs.outbox.notify();
    Ok(Registered::New(c))
}

/// Turns the log entry `number` into the complaint `c`: the complaint keeps its number (CMP-2).
async fn take_contact(tx: &mut Tx, c: &Complaint, number: i64) -> Result<()> {
    if store::contacts::link_complaint(tx, &c.property_id, number, &c.id).await? {
        return Ok(());
    }
    Err(
        if store::contacts::exists(tx, &c.property_id, number).await? {
            Error::rule(
                "CONTACT_ALREADY_A_COMPLAINT",
                "this log entry is a complaint already",
            )
        } else {
            Error::invalid(
                "contact_number",
                "is not an entry of this property's call and visit log",
            )
        },
    )
}

/// rules CMP-9, ESC-2: announces the problem of `c` (its category at its unit's building) once
/// in the half-year, when this complaint brings it to the threshold. The problem's row is
/// locked first, so concurrent registrations of one problem count one after the other.
async fn note_recurring(
    tx: &mut Tx,
    outbox: &Outbox,
    c: &Complaint,
    unit_id: &str,
    recurrence: &Recurrence,
) -> Result<()> {
    let building = store::complaints::building_of(tx, &c.property_id, unit_id).await?;
    let problem = Problem {
        property_id: &c.property_id,
        category: &c.category,
        building: &building,
        period: &recurrence.period,
    };
    if store::complaints::lock_problem(tx, &problem).await? {
        return Ok(());
    }
    let numbers =
        store::complaints::problem_numbers(tx, &problem, recurrence.from, recurrence.to).await?;
    if !recurrence.reached(numbers.len()) {
        return Ok(());
    }
    store::complaints::note_problem(tx, &problem).await?;
    let event = Payload::ComplaintRecurring(ComplaintRecurring {
        complaint_id: c.id.clone(),
        number: c.number,
        severity: pb::Severity::from(c.severity).into(),
        category: c.category.clone(),
        building: building.clone(),
        period: recurrence.period.clone(),
        numbers,
    });
    outbox.append(tx, &c.property_id, event).await?;
    Ok(())
}

/// GetComplaint by id.
pub(crate) async fn get(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Complaint> {
    store::complaints::get(&cs.db, &scope.property().id, id)
        .await?
        .ok_or_else(|| Error::not_found("complaint", id))
}

/// GetComplaint by the number of the call and visit log.
pub(crate) async fn get_by_number(
    cs: &CustomerService,
    scope: &Scope<'_>,
    number: i64,
) -> Result<Complaint> {
    store::complaints::get_by_number(&cs.db, &scope.property().id, number)
        .await?
        .ok_or_else(|| Error::not_found("complaint number", number.to_string()))
}

/// ListComplaints: newest number first, without their steps.
pub(crate) async fn list(
    cs: &CustomerService,
    scope: &Scope<'_>,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let now = cs.clock.now();
    store::complaints::list(&cs.db, &scope.property().id, filter, now, limit).await
}

/// Writes the blind index of every complaint's phone that has none (written before the
/// index, or by a replica of the previous version), a batch at a time: how many.
pub(crate) async fn index_phones(db: &store::Store) -> Result<u64> {
    const BATCH: i64 = 500;
    let mut indexed = 0;
    loop {
        let batch = store::complaints::unindexed_phones(db, BATCH).await?;
        if batch.is_empty() {
            return Ok(indexed);
        }
        for (id, phone) in &batch {
            store::complaints::index_phone(db, id, phone).await?;
            indexed += 1;
        }
    }
}

/// ListOverdueComplaints (CMP-3): oldest deadline first, after the key (deadline, number).
pub(crate) async fn list_overdue(
    cs: &CustomerService,
    scope: &Scope<'_>,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<Complaint>> {
    let now = cs.clock.now();
    store::complaints::list_overdue(&cs.db, &scope.property().id, now, after, limit).await
}

/// Takes a step of the complaint's life (CMP-5) in one transaction: the rule check on the
/// stored complaint, its new fields, the step, and the event the step announces.
pub(crate) async fn take_step(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    step: Step,
) -> Result<Complaint> {
    let (property_id, actor, now) = (&scope.property().id, scope.actor(), cs.clock.now());
    // A concurrent step on the same complaint makes ours start again from what it left.
    for _ in 0..5 {
        let mut tx = cs.db.begin().await?;
        let (complaint, version) = store::complaints::load(&cs.db, &mut tx, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("complaint", id))?;
        let next = rules::apply(&complaint, step.clone(), &actor, now)?;
        if !store::complaints::update(&mut tx, version, &next).await? {
            continue;
        }
        let record = next.steps.last().expect("apply records the step");
        store::complaints::insert_step(&mut tx, id, record).await?;
        if let Some(event) = step_event(&next, record.action, now) {
            cs.outbox.append(&mut tx, property_id, event).await?;
        }
        tx.commit().await?;
        cs.outbox.notify();
        return Ok(next);
    }
    Err(Error::Unavailable(
        "the complaint is changing too often: try again".into(),
    ))
}

/// The event a step announces: marking major (ESC-1) and the satisfied close.
fn step_event(c: &Complaint, action: Action, now: DateTime<Utc>) -> Option<Payload> {
    match action {
        Action::MarkMajor => Some(Payload::ComplaintMarkedMajor(ComplaintMarkedMajor {
            complaint_id: c.id.clone(),
            number: c.number,
            severity: pb::Severity::from(c.severity).into(),
            category: c.category.clone(),
            reason: c.major.clone().unwrap_or_default(),
        })),
        Action::CustomerSatisfied => Some(Payload::ComplaintClosed(ComplaintClosed {
            complaint_id: c.id.clone(),
            number: c.number,
            close_time: Some(to_timestamp(now)),
        })),
        _ => None,
    }
}

/// RecordEscalationState: the quality department's handling of an escalated complaint (ESC-3).
pub(crate) async fn record_escalation(
    cs: &CustomerService,
    scope: &Scope<'_>,
    id: &str,
    state: EscalationState,
    decision: String,
) -> Result<Complaint> {
    let escalation = Escalation {
        state,
        decision,
        updated_at: cs.clock.now(),
    };
    let property_id = &scope.property().id;
    if !store::complaints::record_escalation(&cs.db, property_id, id, &escalation).await? {
        return Err(Error::not_found("complaint", id));
    }
    get(cs, scope, id).await
}

/// A printed document: its file name and its HTML.
pub(crate) struct Form {
    pub file_name: String,
    pub html: String,
}

/// RenderComplaintForm: the complaint handling form (客户投诉处理表).
pub(crate) async fn form(cs: &CustomerService, scope: &Scope<'_>, id: &str) -> Result<Form> {
    let property = scope.property();
    let mut complaint = get(cs, scope, id).await?;
    // A printed form shows what the answer would (ARC-11).
    let phone = &mut complaint.complainant.phone;
    *phone = scope.caller().shown().show(PersonalData::Phone, phone);
    let unit_label = match &complaint.unit_id {
        Some(id) => store::units::get(&cs.db, &property.id, id)
            .await?
            .map(|u| u.label()),
        None => None,
    };
    let html = forms::render_complaint_form(
        &complaint,
        &property.name,
        unit_label.as_deref(),
        property.time_zone,
        cs.clock.now(),
    );
    Ok(Form {
        file_name: format!("客户投诉处理表-{}-{}.html", property.id, complaint.number),
        html,
    })
}

/// GetComplaintAnalysis: the half-year (`half` 1 or 2) or year (0) analysis of CMP-9.
pub(crate) async fn analysis(
    cs: &CustomerService,
    scope: &Scope<'_>,
    year: i32,
    half: i32,
) -> Result<PeriodAnalysis> {
    let property = scope.property();
    let (from, to) = analysis::period(year, half, property.time_zone)?;
    let facts = store::complaints::facts(&cs.db, &property.id, from, to).await?;
    let threshold = property.rules.complaints.recurring_threshold as usize;
    Ok(PeriodAnalysis {
        from,
        to,
        analysis: analysis::analyse(&facts, cs.clock.now(), threshold),
    })
}

/// The scheduled sweep: announces, once each, the property's complaints whose reply deadline
/// passed without a reply and those still open `unresolved_after_days` after registration,
/// for the escalation relay (ESC-2). Returns how many facts were written. A job has no caller,
/// so it works on the property it is given.
pub(crate) async fn sweep_overdue(
    cs: &CustomerService,
    property: &Property,
    now: DateTime<Utc>,
) -> Result<usize> {
    const BATCH: i64 = 200;
    let days = property.rules.complaints.unresolved_after_days;
    // Read first: most sweeps find nothing and take no write lock.
    let overdue = store::complaints::overdue_unnoted(&cs.db, &property.id, now, BATCH).await?;
    let since = now - chrono::Duration::days(i64::from(days));
    let unresolved =
        store::complaints::unresolved_unnoted(&cs.db, &property.id, since, BATCH).await?;
    if overdue.is_empty() && unresolved.is_empty() {
        return Ok(0);
    }
    let mut tx = cs.db.begin().await?;
    let mut written = 0;
    for c in &overdue {
        if store::complaints::note_reply_overdue(&mut tx, &c.id).await? {
            let event = Payload::ComplaintReplyOverdue(ComplaintReplyOverdue {
                complaint_id: c.id.clone(),
                number: c.number,
                severity: pb::Severity::from(c.severity).into(),
                category: c.category.clone(),
                reply_due_time: Some(to_timestamp(c.reply_due_at)),
            });
            cs.outbox.append(&mut tx, &property.id, event).await?;
            written += 1;
        }
    }
    for c in &unresolved {
        if store::complaints::note_unresolved(&mut tx, &c.id).await? {
            let event = Payload::ComplaintUnresolved(ComplaintUnresolved {
                complaint_id: c.id.clone(),
                number: c.number,
                severity: pb::Severity::from(c.severity).into(),
                category: c.category.clone(),
                register_time: Some(to_timestamp(c.registered_at)),
            });
            cs.outbox.append(&mut tx, &property.id, event).await?;
            written += 1;
        }
    }
    tx.commit().await?;
    cs.outbox.notify();
    Ok(written)
}
