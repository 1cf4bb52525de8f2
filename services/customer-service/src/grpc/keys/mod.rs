//! The key custody desk (KeyService): validation and conversion; the rules are in
//! `domain::keys`, the SQL in `store::keys`, the overdue check and retention in `jobs`.

mod convert;
mod jobs;

use std::{collections::BTreeMap, pin::Pin, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};
use wuye_kit::{
    Error, Result, Violations, idempotency::RequestId, identity, page, personal::PersonalData,
    properties::Property, server::Server, time::from_timestamp,
};
use wuye_proto::customerservice::{
    self as pb,
    key_service_server::{KeyService, KeyServiceServer},
};

use self::convert::*;
use crate::{
    CustomerService,
    domain::keys::{
        self as rules, Audit, Borrower, Chase, Collector, Disclaimer, IdType, KeySet, KeySetState,
        KeySource, Loan, LoanState, ShownId,
    },
    store::keys::{self as store, Claimant, CountedReturn, Created, FormIds, IdToRecord},
};

use super::surveys::require_role;

/// How often the desk's stream looks for alerts raised by another instance of the service.
const ALERT_POLL: Duration = Duration::from_secs(1);
const ALERT_BATCH: i64 = 100;

/// The key custody desk: the department's state and the wake-up of alert watchers.
#[derive(Clone)]
pub(crate) struct KeyDesk {
    cs: CustomerService,
    raised: watch::Sender<()>,
}

/// Serves the KeyService on `server` and runs its overdue check and retention job beside it,
/// every `every` (the service's `jobs_interval_ms`).
pub(crate) fn register(server: Server, cs: &CustomerService, every: Duration) -> Server {
    let desk = KeyDesk {
        cs: cs.clone(),
        raised: watch::Sender::new(()),
    };
    server
        .add_service(KeyServiceServer::new(desk.clone()))
        .with_task(jobs::run(desk, every))
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<pb::WatchKeyAlertsResponse, Status>> + Send>>;

/// An optional timestamp of a request, checked.
fn optional_time(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Option<DateTime<Utc>> {
    let ts = ts?;
    let at = from_timestamp(ts);
    if at.is_none() {
        v.add(field, "is not a valid time");
    }
    at
}

fn not_future(field: &str, at: DateTime<Utc>, now: DateTime<Utc>, v: &mut Violations) {
    if at > now + chrono::Duration::minutes(1) {
        v.add(field, "is in the future");
    }
}

fn check_request_id(v: &mut Violations, value: &str) {
    v.required_text("request_id", value, 100);
}

fn id_field(v: &mut Violations, field: &str, value: &str) {
    v.required_text(field, value, 64);
}

fn days(property: &Property) -> u32 {
    property.rules.keys.overdue_after_days
}

impl KeyDesk {
    async fn key_set(&self, property_id: &str, id: &str, with_image: bool) -> Result<KeySet> {
        store::get(&self.cs.db, property_id, id, with_image)
            .await?
            .ok_or_else(|| Error::not_found("key set", id))
    }

    async fn loan(&self, property_id: &str, id: &str) -> Result<Loan> {
        store::get_loan(&self.cs.db, property_id, id)
            .await?
            .ok_or_else(|| Error::not_found("key loan", id))
    }
}

#[tonic::async_trait]
impl KeyService for KeyDesk {
    async fn entrust_keys(
        &self,
        request: Request<pb::EntrustKeysRequest>,
    ) -> Result<Response<pb::EntrustKeysResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "unit_id", &req.unit_id);
        let source = source_from_proto(req.source);
        if source.is_none() {
            v.add("source", "must be developer or customer");
        }
        let customer = source == Some(KeySource::Customer);
        rules::check_person(
            "customer_",
            &req.customer_name,
            &req.customer_phone,
            customer,
            &mut v,
        );
        if !(1..=rules::MAX_KEYS).contains(&req.key_count) {
            v.add(
                "key_count",
                format!("must be between 1 and {}", rules::MAX_KEYS),
            );
        }
        // KEY-2: a customer states why and on what conditions the keys may be collected.
        if customer {
            v.required_text("reason", &req.reason, rules::MAX_TEXT);
            v.required_text(
                "collection_conditions",
                &req.collection_conditions,
                rules::MAX_TEXT,
            );
        } else {
            v.max_text("reason", &req.reason, rules::MAX_TEXT);
            v.max_text(
                "collection_conditions",
                &req.collection_conditions,
                rules::MAX_TEXT,
            );
        }
        v.required_text("slot", &req.slot, rules::MAX_SLOT);
        if req.collectors.len() > rules::MAX_COLLECTORS {
            v.add(
                "collectors",
                format!("at most {} designated collectors", rules::MAX_COLLECTORS),
            );
        }
        let (collectors, collector_ids): (Vec<Collector>, Vec<ShownId>) = req
            .collectors
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let prefix = format!("collectors[{i}].");
                rules::check_person(&prefix, &c.name, &c.phone, false, &mut v);
                let id = match id_type_from_proto(c.id_document_type) {
                    Some(t) => {
                        rules::mask_id(&format!("{prefix}id_number"), t, &c.id_number, &mut v)
                    }
                    None => {
                        v.add(
                            &format!("{prefix}id_document_type"),
                            "is not an identity document type",
                        );
                        None
                    }
                }
                .unwrap_or_else(ShownId::none);
                let collector = Collector {
                    name: c.name.trim().to_owned(),
                    phone: c.phone.trim().to_owned(),
                    id: id.masked.clone(),
                    // Made by the store, which holds the keyring (KEY-9).
                    id_digest: None,
                };
                (collector, id)
            })
            .unzip();
        let customer_id = match id_type_from_proto(req.customer_id_document_type) {
            Some(t) => rules::mask_id("customer_id_number", t, &req.customer_id_number, &mut v),
            None => {
                v.add(
                    "customer_id_document_type",
                    "is not an identity document type",
                );
                None
            }
        }
        .unwrap_or_else(ShownId::none);
        let entrusted_at =
            optional_time(req.entrust_time.as_ref(), "entrust_time", &mut v).unwrap_or(now);
        not_future("entrust_time", entrusted_at, now, &mut v);
        let disclaimer = req.disclaimer.unwrap_or_default();
        v.max_text(
            "disclaimer.signer_name",
            &disclaimer.signer_name,
            rules::MAX_NAME,
        );
        if disclaimer.signature_image.len() > rules::MAX_SIGNATURE_IMAGE {
            v.add("disclaimer.signature_image", "must be at most 256 KiB");
        }
        let signed_at = optional_time(
            disclaimer.sign_time.as_ref(),
            "disclaimer.sign_time",
            &mut v,
        )
        .unwrap_or(entrusted_at);
        not_future("disclaimer.sign_time", signed_at, now, &mut v);
        v.check()?;
        rules::check_disclaimer(disclaimer.accepted, &disclaimer.signer_name)?; // rule KEY-3
        let set = KeySet {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            number: 0,
            source: source.unwrap_or(KeySource::Customer),
            unit_id: req.unit_id,
            unit_label: String::new(),
            customer_name: req.customer_name.trim().to_owned(),
            customer_phone: req.customer_phone.trim().to_owned(),
            customer_id: customer_id.masked.clone(),
            customer_id_digest: None,
            key_count: req.key_count,
            reason: req.reason.trim().to_owned(),
            collection_conditions: req.collection_conditions.trim().to_owned(),
            collectors,
            disclaimer: Disclaimer {
                signer_name: disclaimer.signer_name.trim().to_owned(),
                image: (!disclaimer.signature_image.is_empty())
                    .then_some(disclaimer.signature_image),
                signed_at,
            },
            tag: String::new(),
            slot: rules::normalize_slot(&req.slot),
            state: KeySetState::InCabinet,
            keys_out: 0,
            entrusted_at,
            entrusted_by: caller.actor(),
            collection: None,
            current_loan: None,
        };
        let ids = FormIds {
            customer: customer_id,
            collectors: collector_ids,
        };
        let id = match store::entrust(&self.cs.db, &request_id, set, &ids).await? {
            Created::New(set) => set.id,
            Created::Retry(id) => id,
        };
        let set = self.key_set(&property.id, &id, false).await?;
        Ok(Response::new(pb::EntrustKeysResponse {
            key_set: Some(key_set_to_proto(set, now, days(property))),
        }))
    }

    async fn get_key_set(
        &self,
        request: Request<pb::GetKeySetRequest>,
    ) -> Result<Response<pb::GetKeySetResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let set = self.key_set(&property.id, &req.key_set_id, true).await?;
        Ok(Response::new(pb::GetKeySetResponse {
            key_set: Some(key_set_to_proto(set, self.cs.clock.now(), days(property))),
        }))
    }

    async fn list_key_sets(
        &self,
        request: Request<pb::ListKeySetsRequest>,
    ) -> Result<Response<pb::ListKeySetsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let state = match req.state {
            0 => None,
            s => Some(
                key_set_state_from_proto(s)
                    .ok_or_else(|| Error::invalid("state", "is not a key set state"))?,
            ),
        };
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token)? {
            Some(n) => n.parse::<i64>().map_err(|_| page::bad_token())?,
            None => 0,
        };
        let unit = (!req.unit_id.is_empty()).then_some(req.unit_id.as_str());
        let sets = store::list(&self.cs.db, &property.id, state, unit, after, limit).await?;
        let next_page_token = match sets.last() {
            Some(s) if sets.len() as i64 == limit => page::encode(&s.number.to_string()),
            _ => String::new(),
        };
        let now = self.cs.clock.now();
        Ok(Response::new(pb::ListKeySetsResponse {
            key_sets: sets
                .into_iter()
                .map(|s| key_set_to_proto(s, now, days(property)))
                .collect(),
            next_page_token,
        }))
    }

    async fn render_entrustment_form(
        &self,
        request: Request<pb::RenderEntrustmentFormRequest>,
    ) -> Result<Response<pb::RenderEntrustmentFormResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let mut set = self.key_set(&property.id, &req.key_set_id, false).await?;
        // A printed form shows what the answer would (ARC-11).
        let shown = caller.shown();
        for collector in &mut set.collectors {
            collector.phone = shown.show(PersonalData::Phone, &collector.phone);
        }
        set.customer_phone = shown.show(PersonalData::Phone, &set.customer_phone);
        let now = self.cs.clock.now();
        let html = rules::render_form_part_two(&set, &property.name, property.time_zone, now);
        let date = now.with_timezone(&property.time_zone).format("%Y-%m-%d");
        let file_name = format!(
            "客户托管钥匙委托书-{}-{}-{date}.html",
            property.id, set.number
        );
        Ok(Response::new(pb::RenderEntrustmentFormResponse {
            document: Some(wuye_kit::document::html_document(file_name, html)),
        }))
    }

    async fn borrow_keys(
        &self,
        request: Request<pb::BorrowKeysRequest>,
    ) -> Result<Response<pb::BorrowKeysResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "key_set_id", &req.key_set_id);
        if !(1..=rules::MAX_KEYS).contains(&req.quantity) {
            v.add(
                "quantity",
                format!("must be between 1 and {}", rules::MAX_KEYS),
            );
        }
        let purpose = purpose_from_proto(req.purpose);
        if purpose.is_none() {
            v.add("purpose", "must be repair or vacant_patrol");
        }
        v.required_text("reason", &req.reason, rules::MAX_TEXT);
        let borrower = req.borrower.unwrap_or_default();
        rules::check_person("borrower.", &borrower.name, &borrower.phone, true, &mut v);
        v.required_text("borrower.department", &borrower.department, rules::MAX_NAME);
        v.max_text("borrower.user_id", &borrower.user_id, 64);
        // KEY-6: the borrower signs the borrowing register.
        v.required_text(
            "borrower_signature",
            &req.borrower_signature,
            rules::MAX_NAME,
        );
        let expected = optional_time(
            req.expected_return_time.as_ref(),
            "expected_return_time",
            &mut v,
        );
        match expected {
            None if req.expected_return_time.is_none() => {
                v.add("expected_return_time", "must be given (预借期)")
            }
            Some(at) if at <= now => v.add("expected_return_time", "must be in the future"),
            Some(at) if at > now + chrono::Duration::days(rules::MAX_LOAN_DAYS) => v.add(
                "expected_return_time",
                format!("must be within {} days", rules::MAX_LOAN_DAYS),
            ),
            _ => {}
        }
        v.check()?;
        let loan = Loan {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            key_set_id: req.key_set_id,
            key_number: 0,
            unit_id: String::new(),
            unit_label: String::new(),
            slot: String::new(),
            quantity: req.quantity,
            keys_out: req.quantity,
            purpose: purpose.unwrap_or(rules::LoanPurpose::Repair),
            reason: req.reason.trim().to_owned(),
            borrower: Borrower {
                user_id: borrower.user_id.trim().to_owned(),
                name: borrower.name.trim().to_owned(),
                department: borrower.department.trim().to_owned(),
                phone: borrower.phone.trim().to_owned(),
            },
            borrower_signature: req.borrower_signature.trim().to_owned(),
            borrowed_at: now,
            expected_return_at: expected.unwrap_or(now),
            state: LoanState::Open,
            overdue_at: None,
            lent_by: caller.actor(),
            returns: Vec::new(),
            chases: Vec::new(),
            closed_at: None,
        };
        let id = match store::borrow(&self.cs.db, &request_id, loan).await? {
            Created::New(id) | Created::Retry(id) => id,
        };
        let loan = self.loan(&property.id, &id).await?;
        Ok(Response::new(pb::BorrowKeysResponse {
            loan: Some(loan_to_proto(loan, now, days(property))),
        }))
    }

    async fn return_keys(
        &self,
        request: Request<pb::ReturnKeysRequest>,
    ) -> Result<Response<pb::ReturnKeysResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "loan_id", &req.loan_id);
        if !(1..=rules::MAX_KEYS).contains(&req.quantity) {
            v.add(
                "quantity",
                format!("must be between 1 and {}", rules::MAX_KEYS),
            );
        }
        v.max_text("note", &req.note, rules::MAX_TEXT);
        v.check()?;
        let return_id = store::return_keys(
            &self.cs.db,
            &self.cs.outbox,
            &request_id,
            CountedReturn {
                property_id: &property.id,
                loan_id: &req.loan_id,
                return_id: uuid::Uuid::now_v7().to_string(),
                received: req.quantity,
                note: req.note.trim().to_owned(),
                received_by: caller.actor(),
                now,
                overdue_after_days: days(property),
            },
        )
        .await?;
        let (loan_id, key_return) = store::loan_of_return(&self.cs.db, &return_id)
            .await?
            .ok_or_else(|| Error::not_found("key return", &return_id))?;
        let loan = self.loan(&property.id, &loan_id).await?;
        Ok(Response::new(pb::ReturnKeysResponse {
            loan: Some(loan_to_proto(loan, now, days(property))),
            key_return: Some(return_to_proto(key_return)),
        }))
    }

    async fn list_key_loans(
        &self,
        request: Request<pb::ListKeyLoansRequest>,
    ) -> Result<Response<pb::ListKeyLoansResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let limit = page::page_size(req.page_size)?;
        let before = page::decode(&req.page_token)?;
        let set = (!req.key_set_id.is_empty()).then_some(req.key_set_id.as_str());
        // rule KEY-8: past the property's days after the expected return
        let overdue_before = req
            .overdue_only
            .then(|| rules::overdue_cutoff(now, days(property)));
        let loans = store::list_loans(
            &self.cs.db,
            &property.id,
            set,
            req.open_only,
            overdue_before,
            before.as_deref(),
            limit,
        )
        .await?;
        let next_page_token = match loans.last() {
            Some(l) if loans.len() as i64 == limit => page::encode(&l.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListKeyLoansResponse {
            loans: loans
                .into_iter()
                .map(|l| loan_to_proto(l, now, days(property)))
                .collect(),
            next_page_token,
        }))
    }

    async fn record_key_chase(
        &self,
        request: Request<pb::RecordKeyChaseRequest>,
    ) -> Result<Response<pb::RecordKeyChaseResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "loan_id", &req.loan_id);
        let method = chase_method_from_proto(req.method);
        if method.is_none() {
            v.add("method", "must be phone or visit");
        }
        v.required_text("contacted", &req.contacted, 100);
        v.required_text("result", &req.result, rules::MAX_TEXT);
        let promised = optional_time(
            req.promised_return_time.as_ref(),
            "promised_return_time",
            &mut v,
        );
        v.check()?;
        let chase = Chase {
            id: uuid::Uuid::now_v7().to_string(),
            loan_id: req.loan_id.clone(),
            method: method.unwrap_or(rules::ChaseMethod::Phone),
            contacted: req.contacted.trim().to_owned(),
            result: req.result.trim().to_owned(),
            promised_return_at: promised,
            chased_at: now,
            chased_by: caller.actor(),
        };
        let id = store::chase(
            &self.cs.db,
            &request_id,
            &property.id,
            chase,
            days(property),
        )
        .await?;
        let chase = store::get_chase(&self.cs.db, &id)
            .await?
            .ok_or_else(|| Error::not_found("key chase", &id))?;
        let loan = self.loan(&property.id, &chase.loan_id).await?;
        Ok(Response::new(pb::RecordKeyChaseResponse {
            loan: Some(loan_to_proto(loan, now, days(property))),
            chase: Some(chase_to_proto(chase)),
        }))
    }

    async fn collect_keys(
        &self,
        request: Request<pb::CollectKeysRequest>,
    ) -> Result<Response<pb::CollectKeysResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "key_set_id", &req.key_set_id);
        v.required_text("collector_name", &req.collector_name, rules::MAX_NAME);
        // KEY-9: the collector signs the register.
        v.required_text("signer_name", &req.signer_name, rules::MAX_NAME);
        let id_type = id_type_from_proto(req.id_document_type);
        if id_type.is_none() {
            v.add("id_document_type", "is not an identity document type");
        }
        let id_type = id_type.unwrap_or(IdType::None);
        // Both empty: no ID was shown, which is refused (and logged), not bad input.
        let id_shown = if id_type == IdType::None && req.id_number.trim().is_empty() {
            Some(ShownId::none())
        } else {
            rules::mask_id("id_number", id_type, &req.id_number, &mut v)
        };
        v.check()?;
        store::collect(
            &self.cs.db,
            &self.cs.outbox,
            &request_id,
            Claimant {
                property_id: &property.id,
                key_set_id: &req.key_set_id,
                name: req.collector_name.trim().to_owned(),
                id_shown: id_shown.unwrap_or_else(ShownId::none),
                signer_name: req.signer_name.trim().to_owned(),
                clerk: caller.actor(),
                now,
            },
        )
        .await?;
        let set = self.key_set(&property.id, &req.key_set_id, false).await?;
        Ok(Response::new(pb::CollectKeysResponse {
            key_set: Some(key_set_to_proto(set, now, days(property))),
        }))
    }

    async fn record_custody_id(
        &self,
        request: Request<pb::RecordCustodyIdRequest>,
    ) -> Result<Response<pb::RecordCustodyIdResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        // rule KEY-9: the whole number recorded is the proof a hand-over rests on; the clerk
        // who hands keys over against it may not replace it (beside the gateway's policy).
        require_role(
            &caller.actor(),
            rules::ID_RECORDERS,
            "record a person's ID on a custody again",
        )?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "key_set_id", &req.key_set_id);
        let whose = holder_from_proto(req.holder, req.collector_position);
        match pb::IdHolder::try_from(req.holder) {
            Ok(pb::IdHolder::Customer) if req.collector_position != 0 => v.add(
                "collector_position",
                "is only for a designated collector: zero for the customer",
            ),
            Ok(pb::IdHolder::DesignatedCollector) if whose.is_none() => {
                v.add("collector_position", "must not be negative")
            }
            Ok(pb::IdHolder::Customer | pb::IdHolder::DesignatedCollector) => {}
            _ => v.add("holder", "must be the customer or a designated collector"),
        }
        // The same checks as at entrustment (a resident ID card's check digit and so on); a
        // document is needed, since it is what is recorded.
        let shown = match id_type_from_proto(req.id_document_type) {
            None | Some(IdType::None) => {
                v.add("id_document_type", "must be an identity document type");
                None
            }
            Some(_) if req.id_number.trim().is_empty() => {
                v.add("id_number", "must be given, as read from the document");
                None
            }
            Some(t) => rules::mask_id("id_number", t, &req.id_number, &mut v),
        };
        v.check()?;
        // Both are there once the request passed its checks.
        let (Some(whose), Some(shown)) = (whose, shown) else {
            return Err(Error::invalid("holder", "is not a person on the form").into());
        };
        let id = store::record_id(
            &self.cs.db,
            &request_id,
            IdToRecord {
                property_id: &property.id,
                key_set_id: &req.key_set_id,
                record_id: uuid::Uuid::now_v7().to_string(),
                whose,
                shown,
                recorded_by: caller.actor(),
                now,
            },
        )
        .await?;
        let record = store::get_id_record(&self.cs.db, &property.id, &id)
            .await?
            .ok_or_else(|| Error::not_found("custody ID record", &id))?;
        let set = self
            .key_set(&property.id, &record.key_set_id, false)
            .await?;
        Ok(Response::new(pb::RecordCustodyIdResponse {
            key_set: Some(key_set_to_proto(set, now, days(property))),
            record: Some(id_record_to_proto(record)),
        }))
    }

    async fn list_key_refusals(
        &self,
        request: Request<pb::ListKeyRefusalsRequest>,
    ) -> Result<Response<pb::ListKeyRefusalsResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let limit = page::page_size(req.page_size)?;
        let before = page::decode(&req.page_token)?;
        let set = (!req.key_set_id.is_empty()).then_some(req.key_set_id.as_str());
        let refusals =
            store::list_refusals(&self.cs.db, &property.id, set, before.as_deref(), limit).await?;
        let next_page_token = match refusals.last() {
            Some(r) if refusals.len() as i64 == limit => page::encode(&r.id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListKeyRefusalsResponse {
            refusals: refusals.into_iter().map(refusal_to_proto).collect(),
            next_page_token,
        }))
    }

    type WatchKeyAlertsStream = AlertStream;

    async fn watch_key_alerts(
        &self,
        request: Request<pb::WatchKeyAlertsRequest>,
    ) -> Result<Response<Self::WatchKeyAlertsStream>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        if req.after_seq < 0 {
            return Err(Error::invalid("after_seq", "must not be negative").into());
        }
        let (tx, rx) = mpsc::channel(ALERT_BATCH as usize);
        let mut raised = self.raised.subscribe();
        let db = self.cs.db.clone();
        let clock = self.cs.clock.clone();
        let property_id = property.id.clone();
        let days = days(property);
        let mut cursor = req.after_seq;
        tokio::spawn(async move {
            loop {
                raised.borrow_and_update();
                let alerts = match store::alerts_after(&db, &property_id, cursor, ALERT_BATCH).await
                {
                    Ok(alerts) => alerts,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                };
                let full = alerts.len() as i64 == ALERT_BATCH;
                for alert in alerts {
                    cursor = alert.seq;
                    let item = pb::WatchKeyAlertsResponse {
                        alert: Some(alert_to_proto(&property_id, alert, clock.now(), days)),
                    };
                    if tx.send(Ok(item)).await.is_err() {
                        return; // the watcher hung up
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = raised.changed() => {}
                    _ = tokio::time::sleep(ALERT_POLL) => {}
                    _ = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn audit_key_cabinet(
        &self,
        request: Request<pb::AuditKeyCabinetRequest>,
    ) -> Result<Response<pb::AuditKeyCabinetResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let now = self.cs.clock.now();
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        v.max_text("note", &req.note, rules::MAX_TEXT);
        if req.counts.len() > 2000 {
            v.add("counts", "at most 2000 slots");
        }
        let mut counted = BTreeMap::new();
        for (i, c) in req.counts.iter().enumerate() {
            v.required_text(&format!("counts[{i}].slot"), &c.slot, rules::MAX_SLOT);
            if !(0..=rules::MAX_KEYS).contains(&c.counted) {
                v.add(
                    &format!("counts[{i}].counted"),
                    format!("must be between 0 and {}", rules::MAX_KEYS),
                );
            }
            if counted
                .insert(rules::normalize_slot(&c.slot), c.counted)
                .is_some()
            {
                v.add(&format!("counts[{i}].slot"), "is counted twice");
            }
        }
        v.check()?;
        let audit = Audit {
            id: uuid::Uuid::now_v7().to_string(),
            property_id: property.id.clone(),
            audited_at: now,
            audited_by: caller.actor(),
            slots_checked: 0,
            mismatches: Vec::new(),
            note: req.note.trim().to_owned(),
        };
        let id = store::audit(&self.cs.db, &request_id, audit, &counted).await?;
        let audit = store::get_audit(&self.cs.db, &property.id, &id)
            .await?
            .ok_or_else(|| Error::not_found("key audit", &id))?;
        if !audit.mismatches.is_empty() {
            tracing::warn!(
                audit_id = %audit.id,
                mismatches = audit.mismatches.len(),
                "key cabinet differs from the register"
            );
        }
        Ok(Response::new(pb::AuditKeyCabinetResponse {
            audit: Some(audit_to_proto(audit)),
        }))
    }

    async fn get_key_figures(
        &self,
        request: Request<pb::GetKeyFiguresRequest>,
    ) -> Result<Response<pb::GetKeyFiguresResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.cs.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        let from = rules::parse_month(&req.from_month);
        if from.is_none() {
            v.add("from_month", "must be a month YYYY-MM");
        }
        let to = rules::parse_month(&req.to_month);
        if to.is_none() {
            v.add("to_month", "must be a month YYYY-MM");
        }
        if let (Some(f), Some(t)) = (from, to) {
            match rules::months_between(f, t) {
                n if n < 1 => v.add("to_month", "must not be before from_month"),
                n if n > 24 => v.add("to_month", "at most 24 months at a time"),
                _ => {}
            }
        }
        v.check()?;
        let (Some(from), Some(to)) = (from, to) else {
            return Err(Error::invalid("from_month", "must be a month YYYY-MM").into());
        };
        let (start, end) = rules::month_window(from, to, property.time_zone);
        let occurrences = store::occurrences(&self.cs.db, &property.id, start, end).await?;
        let figures = rules::figures(&occurrences, property.time_zone);
        Ok(Response::new(pb::GetKeyFiguresResponse {
            figures: figures.into_iter().map(figures_to_proto).collect(),
        }))
    }
}
