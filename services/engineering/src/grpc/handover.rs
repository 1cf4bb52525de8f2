use tonic::{Request, Response, Status};
use tonic_types::PreconditionViolation;
use wuye_kit::idempotency::RequestId;
use wuye_kit::{Error, Result, Violations, identity, page};
use wuye_proto::engineering::{self as pb, handover_service_server::HandoverService};

use super::{
    check_request_id, fitness_from_proto, fitness_to_proto, handover_state_from_proto,
    handover_state_to_proto, id_field, next_token, running_from_proto, running_to_proto, token_id,
    ts,
};
use crate::{
    Engineering,
    domain::{
        MAX_ID, MAX_TEXT,
        handover::{Blocker, Handover, Observation},
    },
    store::{
        equipment::Created,
        handover::{self as store, SignOutcome, Start, Step, View},
    },
};

impl Engineering {
    /// Takes one step of a handover for the caller.
    async fn handover_step(
        &self,
        caller: &identity::Caller,
        property_id: &str,
        handover_id: &str,
        step: Step,
    ) -> Result<pb::Handover> {
        let property = self.properties.for_call(caller, property_id)?;
        let v = store::step(
            &self.db,
            &property.id,
            handover_id,
            step,
            &caller.actor(),
            &property.rules.engineering,
            self.clock.now(),
        )
        .await?;
        Ok(to_proto(v))
    }
}

fn check_handover_id(v: &mut Violations, id: &str) {
    id_field(v, "handover_id", id);
}

#[tonic::async_trait]
impl HandoverService for Engineering {
    async fn start_handover(
        &self,
        request: Request<pb::StartHandoverRequest>,
    ) -> Result<Response<pb::StartHandoverResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let request_id = RequestId::new(&caller, &req.request_id, &req);
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_request_id(&mut v, &req.request_id);
        id_field(&mut v, "incoming_shift_id", &req.incoming_shift_id);
        v.max_text("note", &req.note, MAX_TEXT);
        v.check()?;
        let start = Start {
            handover_id: uuid::Uuid::now_v7().to_string(),
            incoming_shift_id: req.incoming_shift_id,
            equipment_ok: req.equipment_ok,
            rooms_cleaned: req.rooms_cleaned,
            note: req.note,
        };
        let view = match store::start(
            &self.db,
            &request_id,
            &property.id,
            start,
            &caller.actor(),
            &property.rules.engineering,
            self.clock.now(),
        )
        .await?
        {
            Created::New(v) => v,
            Created::Retry(id) => store::get(&self.db, &property.id, &id).await?,
        };
        tracing::info!(property = %property.id, handover = %view.handover.id, "handover started");
        Ok(Response::new(pb::StartHandoverResponse {
            handover: Some(to_proto(view)),
        }))
    }

    async fn record_handover_arrival(
        &self,
        request: Request<pb::RecordHandoverArrivalRequest>,
    ) -> Result<Response<pb::RecordHandoverArrivalResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        let fitness = fitness_from_proto(req.fitness);
        if fitness.is_none() {
            v.add("fitness", "must be one of fit, tired, drunk, ill, injured");
        }
        v.check()?;
        let step = Step::Arrival(fitness.expect("checked above"));
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::RecordHandoverArrivalResponse {
            handover: Some(h),
        }))
    }

    async fn replace_incoming(
        &self,
        request: Request<pb::ReplaceIncomingRequest>,
    ) -> Result<Response<pb::ReplaceIncomingResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        id_field(&mut v, "incoming_shift_id", &req.incoming_shift_id);
        v.check()?;
        let step = Step::Replace {
            incoming_shift_id: req.incoming_shift_id,
        };
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::ReplaceIncomingResponse {
            handover: Some(h),
        }))
    }

    async fn check_handover_equipment(
        &self,
        request: Request<pb::CheckHandoverEquipmentRequest>,
    ) -> Result<Response<pb::CheckHandoverEquipmentResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        let mut observations = Vec::with_capacity(req.observations.len());
        for (i, o) in req.observations.into_iter().enumerate() {
            id_field(
                &mut v,
                &format!("observations[{i}].equipment_id"),
                &o.equipment_id,
            );
            v.max_text(&format!("observations[{i}].note"), &o.note, MAX_TEXT);
            match running_from_proto(o.running) {
                None => v.add(
                    &format!("observations[{i}].running"),
                    "must be normal, abnormal_known_cause or abnormal_unknown_cause",
                ),
                Some(running) => observations.push(Observation {
                    equipment_id: o.equipment_id,
                    running,
                    matches_record: o.matches_record,
                    note: o.note,
                }),
            }
        }
        v.check()?;
        let step = Step::Equipment(observations);
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::CheckHandoverEquipmentResponse {
            handover: Some(h),
        }))
    }

    async fn read_last_duty_record(
        &self,
        request: Request<pb::ReadLastDutyRecordRequest>,
    ) -> Result<Response<pb::ReadLastDutyRecordResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        v.max_text("note", &req.note, MAX_TEXT);
        v.check()?;
        let step = Step::LastRecord {
            regular: req.regular,
            note: req.note,
        };
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::ReadLastDutyRecordResponse {
            handover: Some(h),
        }))
    }

    async fn count_handover_inventory(
        &self,
        request: Request<pb::CountHandoverInventoryRequest>,
    ) -> Result<Response<pb::CountHandoverInventoryResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        for (i, c) in req.counts.iter().enumerate() {
            id_field(&mut v, &format!("counts[{i}].item_id"), &c.item_id);
            if c.counted < 0 {
                v.add(&format!("counts[{i}].counted"), "must not be negative");
            }
        }
        v.check()?;
        let counts = req
            .counts
            .into_iter()
            .map(|c| (c.item_id, c.counted))
            .collect();
        let step = Step::Inventory(counts);
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::CountHandoverInventoryResponse {
            handover: Some(h),
        }))
    }

    async fn check_handover_cleanliness(
        &self,
        request: Request<pb::CheckHandoverCleanlinessRequest>,
    ) -> Result<Response<pb::CheckHandoverCleanlinessResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        v.max_text("note", &req.note, MAX_TEXT);
        v.check()?;
        let step = Step::Cleanliness {
            clean: req.clean,
            note: req.note,
        };
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::CheckHandoverCleanlinessResponse {
            handover: Some(h),
        }))
    }

    async fn brief_handover(
        &self,
        request: Request<pb::BriefHandoverRequest>,
    ) -> Result<Response<pb::BriefHandoverResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        v.required_text("summary", &req.summary, MAX_TEXT);
        v.max_text("points_to_watch", &req.points_to_watch, MAX_TEXT);
        v.check()?;
        let step = Step::Briefing {
            summary: req.summary,
            points_to_watch: req.points_to_watch,
            both_clear: req.both_clear,
        };
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, step)
            .await?;
        Ok(Response::new(pb::BriefHandoverResponse {
            handover: Some(h),
        }))
    }

    async fn sign_handover(
        &self,
        request: Request<pb::SignHandoverRequest>,
    ) -> Result<Response<pb::SignHandoverResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        v.check()?;
        let outcome = store::sign(
            &self.db,
            &self.outbox,
            &property.id,
            &req.handover_id,
            &caller.actor(),
            self.clock.now(),
        )
        .await?;
        match outcome {
            SignOutcome::Signed(view) => Ok(Response::new(pb::SignHandoverResponse {
                handover: Some(to_proto(*view)),
            })),
            SignOutcome::Blocked(blockers) => Err(refused(&blockers).into()),
        }
    }

    async fn restart_handover(
        &self,
        request: Request<pb::RestartHandoverRequest>,
    ) -> Result<Response<pb::RestartHandoverResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        v.check()?;
        let h = self
            .handover_step(&caller, &req.property_id, &req.handover_id, Step::Restart)
            .await?;
        Ok(Response::new(pb::RestartHandoverResponse {
            handover: Some(h),
        }))
    }

    async fn get_handover(
        &self,
        request: Request<pb::GetHandoverRequest>,
    ) -> Result<Response<pb::GetHandoverResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let mut v = Violations::new();
        check_handover_id(&mut v, &req.handover_id);
        v.check()?;
        let view = store::get(&self.db, &property.id, &req.handover_id).await?;
        Ok(Response::new(pb::GetHandoverResponse {
            handover: Some(to_proto(view)),
        }))
    }

    async fn list_handovers(
        &self,
        request: Request<pb::ListHandoversRequest>,
    ) -> Result<Response<pb::ListHandoversResponse>, Status> {
        let caller = identity::caller(&request)?;
        let req = request.into_inner();
        let property = self.properties.for_call(&caller, &req.property_id)?;
        let state = handover_state_from_proto(req.state);
        if state.is_none() && req.state != 0 {
            return Err(Error::invalid("state", "is not a handover state").into());
        }
        let limit = page::page_size(req.page_size)?;
        let before = token_id(&req.page_token)?;
        if before.chars().count() > MAX_ID {
            return Err(page::bad_token().into());
        }
        let list = store::list(&self.db, &property.id, state, &before, limit).await?;
        let next_page_token = next_token(&list, limit, |v| page::encode(&v.handover.id));
        Ok(Response::new(pb::ListHandoversResponse {
            handovers: list.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

/// A refused signature: `FAILED_PRECONDITION` listing every reason, each violation's `type`
/// its stable code (HO-7).
fn refused(blockers: &[Blocker]) -> Error {
    let ho7 = blockers.iter().any(|b| b.ho7);
    let codes: Vec<&str> = crate::domain::handover::distinct_codes(blockers);
    let message = if ho7 {
        format!(
            "handover refused (HO-7), the engineering manager is notified: {}",
            codes.join(", ")
        )
    } else {
        format!("handover not ready to sign: {}", codes.join(", "))
    };
    Error::Precondition {
        message,
        violations: blockers
            .iter()
            .map(|b| PreconditionViolation::new(b.code, &b.subject, &b.description))
            .collect(),
    }
}

fn blocker_to_proto(b: &Blocker) -> pb::HandoverBlocker {
    pb::HandoverBlocker {
        code: b.code.to_owned(),
        subject: b.subject.clone(),
        description: b.description.clone(),
        ho7: b.ho7,
    }
}

fn to_proto(v: View) -> pb::Handover {
    let View {
        handover: h,
        blockers,
    } = v;
    let Handover {
        id,
        property_id,
        state,
        outgoing_shift_id,
        outgoing_user_id,
        incoming_shift_id,
        incoming_user_id,
        preparation,
        arrival,
        equipment_check,
        last_record,
        inventory,
        cleanliness,
        briefing,
        outgoing_signed_at,
        incoming_signed_at,
        completed_at,
        stopped_by_fault,
        refusals,
    } = h;
    pb::Handover {
        id,
        property_id,
        state: handover_state_to_proto(state).into(),
        outgoing_shift_id,
        outgoing_user_id,
        incoming_shift_id,
        incoming_user_id,
        preparation: Some(pb::Preparation {
            prepare_time: ts(Some(preparation.at)),
            late: preparation.late,
            equipment_ok: preparation.equipment_ok,
            rooms_cleaned: preparation.rooms_cleaned,
            note: preparation.note,
        }),
        arrival: arrival.map(|a| pb::Arrival {
            arrive_time: ts(Some(a.at)),
            late: a.late,
            fitness: fitness_to_proto(a.fitness).into(),
        }),
        equipment_check: equipment_check.map(|c| pb::EquipmentCheck {
            check_time: ts(Some(c.at)),
            observations: c
                .observations
                .into_iter()
                .map(|o| pb::EquipmentObservation {
                    equipment_id: o.equipment_id,
                    running: running_to_proto(o.running).into(),
                    matches_record: o.matches_record,
                    note: o.note,
                })
                .collect(),
        }),
        last_record: last_record.map(|r| pb::LastRecordReading {
            read_time: ts(Some(r.at)),
            regular: r.regular,
            note: r.note,
        }),
        inventory: inventory.map(|i| pb::InventoryCheck {
            check_time: ts(Some(i.at)),
            counts: i
                .counts
                .into_iter()
                .map(|c| pb::InventoryCount {
                    item_id: c.item_id,
                    name: c.name,
                    listed: c.listed,
                    counted: c.counted,
                })
                .collect(),
        }),
        cleanliness: cleanliness.map(|c| pb::CleanlinessCheck {
            check_time: ts(Some(c.at)),
            clean: c.clean,
            note: c.note,
        }),
        briefing: briefing.map(|b| pb::Briefing {
            brief_time: ts(Some(b.at)),
            summary: b.summary,
            points_to_watch: b.points_to_watch,
            both_clear: b.both_clear,
        }),
        outgoing_sign_time: ts(outgoing_signed_at),
        incoming_sign_time: ts(incoming_signed_at),
        complete_time: ts(completed_at),
        stopped_by_fault_id: stopped_by_fault.unwrap_or_default(),
        refusals: refusals
            .into_iter()
            .map(|r| pb::HandoverRefusal {
                refuse_time: ts(Some(r.at)),
                refused_to: Some(r.refused_to.to_proto()),
                reasons: r.reasons.iter().map(blocker_to_proto).collect(),
            })
            .collect(),
        blockers: blockers.iter().map(blocker_to_proto).collect(),
    }
}
