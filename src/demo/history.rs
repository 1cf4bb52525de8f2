//! The history of a plan, act by act.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use wuye_kit::time::to_timestamp;
use wuye_proto::{
    customerservice::{
        self as pb, complaint_service_client::ComplaintServiceClient,
        key_service_client::KeyServiceClient, visit_service_client::VisitServiceClient,
    },
    engineering::{self as eng, work_order_service_client::WorkOrderServiceClient},
};

use super::{
    Loaded,
    load::{Key, Staff, complaint_request, open_work_order, taken_before},
    plan::{COMPLAINT_PATH, PropertyPlan, TECHNICIANS},
};
use crate::connect::call;

/// One thing that happens in the history.
#[derive(Debug, Clone, Copy)]
pub(super) enum Act {
    Register(usize),
    /// The complaint's step of [`COMPLAINT_PATH`].
    Step(usize, usize),
    Entrust(usize),
    Borrow(usize, usize),
    Return(usize, usize),
    Visit(usize),
    OpenOrder(usize),
    /// Dispatch, arrival or completion of the work order.
    OrderStep(usize, usize),
}

/// The history loader of one property: its clients and the ids the calls return.
pub(super) struct History<'a> {
    pub plan: &'a PropertyPlan,
    pub unit_ids: &'a [String],
    pub household_ids: &'a HashMap<usize, String>,
    pub key: &'a Key<'a>,
    pub staff: Staff,
    pub complaint_ids: Mutex<HashMap<usize, String>>,
    pub work_order_ids: Mutex<HashMap<usize, String>>,
    pub key_set_ids: Mutex<HashMap<usize, String>>,
    pub loan_ids: Mutex<HashMap<(usize, usize), String>>,
    pub counts: Mutex<Loaded>,
}

/// A call whose answer is not needed: done, or refused.
macro_rules! done {
    ($call:expr) => {
        call($call).await.map(|_| ())
    };
}

impl History<'_> {
    pub async fn run(&self, acts: Vec<Act>, now: DateTime<Utc>) -> anyhow::Result<()> {
        for act in acts {
            self.act(act, now).await?;
        }
        Ok(())
    }

    pub fn counts(&self) -> Loaded {
        *self.counts.lock().expect("counts")
    }

    fn count(&self, what: impl FnOnce(&mut Loaded)) {
        what(&mut self.counts.lock().expect("counts"));
    }

    async fn act(&self, act: Act, now: DateTime<Utc>) -> anyhow::Result<()> {
        match act {
            Act::Register(i) => self.register(i).await,
            Act::Step(i, step) => {
                let result = self.step(i, step).await;
                self.stepped(result, |c| c.steps += 1)
            }
            Act::Entrust(k) => self.entrust(k).await,
            Act::Borrow(k, j) => self.borrow(k, j, now).await,
            Act::Return(k, j) => self.give_back(k, j).await,
            Act::Visit(v) => self.visit(v).await,
            Act::OpenOrder(w) => self.open_order(w).await,
            Act::OrderStep(w, step) => {
                let result = self.order_step(w, step).await;
                self.stepped(result, |c| c.work_order_steps += 1)
            }
        }
    }

    /// A step counted when taken; one taken by an earlier load is skipped.
    fn stepped(
        &self,
        result: anyhow::Result<()>,
        count: impl FnOnce(&mut Loaded),
    ) -> anyhow::Result<()> {
        match result {
            Ok(()) => self.count(count),
            Err(e) if taken_before(&e) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn register(&self, i: usize) -> anyhow::Result<()> {
        let request = complaint_request(self.plan, self.unit_ids, i, (self.key)("complaint", i));
        let mut client = ComplaintServiceClient::new(self.staff.clerk.clone());
        let complaint = call(client.create_complaint(request)).await?.complaint;
        let id = complaint.unwrap_or_default().id;
        self.complaint_ids.lock().expect("ids").insert(i, id);
        self.count(|c| c.complaints += 1);
        Ok(())
    }

    /// The complaint's step of [`COMPLAINT_PATH`].
    async fn step(&self, i: usize, step: usize) -> anyhow::Result<()> {
        let complaint_id = self.complaint_ids.lock().expect("ids")[&i].clone();
        let (_, note) = COMPLAINT_PATH[step];
        let (property_id, note) = (self.plan.id.clone(), note.to_owned());
        let mut sup = self.staff.supervisor.clone();
        match step {
            0 => done!(sup.send_to_team(pb::SendToTeamRequest {
                property_id,
                complaint_id,
                team: "维修班".into(),
                note,
            })),
            1 => done!(sup.propose_plan(pb::ProposePlanRequest {
                property_id,
                complaint_id,
                plan: note,
                remedial_measures: "加强日常巡查".into(),
            })),
            2 => done!(
                self.staff
                    .manager
                    .clone()
                    .confirm_plan(pb::ConfirmPlanRequest {
                        property_id,
                        complaint_id,
                        note,
                    })
            ),
            3 => done!(sup.communicate_plan(pb::CommunicatePlanRequest {
                property_id,
                complaint_id,
                note,
            })),
            4 => done!(sup.start_work(pb::StartWorkRequest {
                property_id,
                complaint_id,
                note,
            })),
            5 => done!(sup.report_handling(pb::ReportHandlingRequest {
                property_id,
                complaint_id,
                report: note,
            })),
            6 => done!(sup.tell_result(pb::TellResultRequest {
                property_id,
                complaint_id,
                note,
            })),
            _ => done!(
                sup.record_customer_verdict(pb::RecordCustomerVerdictRequest {
                    property_id,
                    complaint_id,
                    satisfied: true,
                    comment: note,
                })
            ),
        }
    }

    async fn entrust(&self, k: usize) -> anyhow::Result<()> {
        let set = &self.plan.history.key_sets[k];
        let unit = &self.plan.units[set.unit];
        let (name, _, phone) = unit.residents[0].clone();
        let request = pb::EntrustKeysRequest {
            property_id: self.plan.id.clone(),
            request_id: (self.key)("keys", k),
            source: pb::KeySource::Customer.into(),
            unit_id: self.unit_ids[set.unit].clone(),
            customer_name: name.clone(),
            customer_phone: phone,
            key_count: 2,
            reason: "外出期间委托保管，便于入户维修".into(),
            collection_conditions: "本人凭身份证领取".into(),
            collectors: Vec::new(),
            disclaimer: Some(pb::DisclaimerSignature {
                accepted: true,
                signer_name: name,
                signature_image: vec![0x89, b'P', b'N', b'G'],
                sign_time: None,
            }),
            slot: set.slot.clone(),
            entrust_time: None,
            customer_id_document_type: pb::IdDocumentType::ResidentIdCard.into(),
            customer_id_number: set.id_number.clone(),
        };
        let mut keys = KeyServiceClient::new(self.staff.clerk.clone());
        let id = call(keys.entrust_keys(request))
            .await?
            .key_set
            .unwrap_or_default()
            .id;
        self.key_set_ids.lock().expect("ids").insert(k, id);
        self.count(|c| c.key_sets += 1);
        Ok(())
    }

    async fn borrow(&self, k: usize, j: usize, now: DateTime<Utc>) -> anyhow::Result<()> {
        let (borrow, back, who) = self.plan.history.key_sets[k].loans[j];
        let (_, _, phone) = TECHNICIANS[who];
        let borrower = self.staff.people.technician(who)?;
        let due_days = back.map_or(3, |back| back - borrow + 1);
        let request = pb::BorrowKeysRequest {
            property_id: self.plan.id.clone(),
            request_id: (self.key)(&format!("loan-{k}"), j),
            key_set_id: self.key_set_ids.lock().expect("ids")[&k].clone(),
            quantity: 1,
            purpose: pb::LoanPurpose::Repair.into(),
            reason: "入户维修".into(),
            borrower: Some(pb::Borrower {
                user_id: borrower.person_id.clone(),
                name: borrower.name.clone(),
                department: "工程管理部".into(),
                phone: phone.into(),
            }),
            borrower_signature: borrower.name.clone(),
            expected_return_time: Some(to_timestamp(now + chrono::Duration::days(due_days.into()))),
        };
        let mut keys = KeyServiceClient::new(self.staff.clerk.clone());
        let id = match call(keys.borrow_keys(request)).await {
            Ok(lent) => lent.loan.unwrap_or_default().id,
            // Lent by a load on another day, whose expected return differed: that load took
            // the loan's steps too.
            Err(e) if e.to_string().contains("REQUEST_ID_REUSED") => return Ok(()),
            Err(e) => return Err(e),
        };
        self.loan_ids.lock().expect("ids").insert((k, j), id);
        self.count(|c| c.loans += 1);
        Ok(())
    }

    async fn give_back(&self, k: usize, j: usize) -> anyhow::Result<()> {
        let Some(loan_id) = self.loan_ids.lock().expect("ids").get(&(k, j)).cloned() else {
            return Ok(()); // lent and returned by an earlier load
        };
        let request = pb::ReturnKeysRequest {
            property_id: self.plan.id.clone(),
            request_id: (self.key)(&format!("return-{k}"), j),
            loan_id,
            quantity: 1,
            note: String::new(),
        };
        let mut keys = KeyServiceClient::new(self.staff.clerk.clone());
        call(keys.return_keys(request)).await?;
        self.count(|c| c.returns += 1);
        Ok(())
    }

    async fn visit(&self, v: usize) -> anyhow::Result<()> {
        let visit = &self.plan.history.visits[v];
        let (name, _, phone) = self.plan.units[visit.unit].residents[0].clone();
        let request = pb::RecordVisitRequest {
            property_id: self.plan.id.clone(),
            request_id: (self.key)("visit", v),
            kind: pb::VisitKind::Routine.into(),
            household_id: self.household_ids[&visit.unit].clone(),
            customer: Some(pb::VisitedCustomer { name, phone }),
            channel: pb::VisitChannel::OnSite.into(),
            content: visit.content.clone(),
            satisfaction: if visit.satisfied {
                pb::VisitSatisfaction::Satisfied
            } else {
                pb::VisitSatisfaction::BasicallySatisfied
            }
            .into(),
            ..Default::default()
        };
        let mut visits = VisitServiceClient::new(self.staff.clerk.clone());
        call(visits.record_visit(request)).await?;
        self.count(|c| c.visits += 1);
        Ok(())
    }

    async fn open_order(&self, w: usize) -> anyhow::Result<()> {
        let order = &self.plan.history.work_orders[w];
        let (name, _, phone) = self.plan.units[order.unit].residents[0].clone();
        let request = eng::CreateWorkOrderRequest {
            property_id: self.plan.id.clone(),
            request_id: (self.key)("work-order", w),
            unit_id: self.unit_ids[order.unit].clone(),
            description: order.description.clone(),
            urgency: eng::Urgency::Ordinary.into(),
            team: "维修班".into(),
            requester: Some(eng::Requester { name, phone }),
            ..Default::default()
        };
        let mut client = WorkOrderServiceClient::new(self.staff.clerk.clone());
        let id = open_work_order(&mut client, request)
            .await?
            .work_order
            .unwrap_or_default()
            .id;
        self.work_order_ids.lock().expect("ids").insert(w, id);
        self.count(|c| c.work_orders += 1);
        Ok(())
    }

    /// Dispatch, arrival or completion of the work order.
    async fn order_step(&self, w: usize, step: usize) -> anyhow::Result<()> {
        let order = &self.plan.history.work_orders[w];
        let work_order_id = self.work_order_ids.lock().expect("ids")[&w].clone();
        let property_id = self.plan.id.clone();
        // The technician is named by their staff id, and records the arrival as themselves.
        let assignee = self.staff.people.technician(order.technician)?;
        let mut technician = self.staff.technicians[order.technician].clone();
        match step {
            0 => done!(self.staff.foreman.clone().dispatch_work_order(
                eng::DispatchWorkOrderRequest {
                    property_id,
                    work_order_id,
                    assignee_user_id: assignee.person_id.clone(),
                    assignee_name: assignee.name.clone(),
                }
            )),
            1 => done!(
                technician.record_work_order_arrival(eng::RecordWorkOrderArrivalRequest {
                    property_id,
                    work_order_id,
                })
            ),
            _ => {
                let signer = self.plan.units[order.unit].residents[0].0.clone();
                done!(
                    technician.complete_work_order(eng::CompleteWorkOrderRequest {
                        property_id,
                        work_order_id,
                        work_done: "已修复，现场清理完毕".into(),
                        parts: Vec::new(),
                        customer_rating: 5,
                        customer_signature: signer,
                    })
                )
            }
        }
    }
}
