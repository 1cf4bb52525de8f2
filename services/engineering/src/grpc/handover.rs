use tonic::{Request, Response, Status};
use tonic_types::PreconditionViolation;
use wuye_kit::{Error, Result, Violations, from_proto, idempotency::RequestId, page};
use wuye_proto::engineering::{self as pb, handover_service_server::HandoverService};

use super::{check_request_id, id_field};
use crate::{
    Engineering,
    app::handover::{self as app, SignOutcome, Start, Step},
    domain::{
        MAX_ID, MAX_TEXT,
        handover::{Blocker, Fitness, Observation, Running, State, distinct_codes},
    },
};

/// The service from a table. A step RPC checks the handover id, converts its request into a
/// [`Step`] with the function named (which checks the rest), takes the step and answers the
/// handover; any other RPC calls the function named.
macro_rules! handover_service {
    (
        steps { $($step:ident($step_req:ident) -> $step_resp:ident = $convert:ident;)* }
        calls { $($call:ident($call_req:ident) -> $call_resp:ident = $handler:ident;)* }
    ) => {
        #[tonic::async_trait]
        impl HandoverService for Engineering {
            $(
                async fn $step(
                    &self,
                    request: Request<pb::$step_req>,
                ) -> Result<Response<pb::$step_resp>, Status> {
                    let (scope, req) = self.properties.scope(request)?;
                    let mut v = Violations::new();
                    check_handover_id(&mut v, &req.handover_id);
                    let handover_id = req.handover_id.clone();
                    let step = $convert(v, req)?;
                    let view = app::step(self, &scope, &handover_id, step).await?;
                    Ok(Response::new(pb::$step_resp {
                        handover: Some(view.into()),
                    }))
                }
            )*
            $(
                async fn $call(
                    &self,
                    request: Request<pb::$call_req>,
                ) -> Result<Response<pb::$call_resp>, Status> {
                    $handler(self, request).await
                }
            )*
        }
    };
}

fn check_handover_id(v: &mut Violations, id: &str) {
    id_field(v, "handover_id", id);
}

handover_service! {
    steps {
        record_handover_arrival(RecordHandoverArrivalRequest)
            -> RecordHandoverArrivalResponse = arrival;
        replace_incoming(ReplaceIncomingRequest) -> ReplaceIncomingResponse = replacement;
        check_handover_equipment(CheckHandoverEquipmentRequest)
            -> CheckHandoverEquipmentResponse = equipment_check;
        read_last_duty_record(ReadLastDutyRecordRequest)
            -> ReadLastDutyRecordResponse = last_record;
        count_handover_inventory(CountHandoverInventoryRequest)
            -> CountHandoverInventoryResponse = inventory;
        check_handover_cleanliness(CheckHandoverCleanlinessRequest)
            -> CheckHandoverCleanlinessResponse = cleanliness;
        brief_handover(BriefHandoverRequest) -> BriefHandoverResponse = briefing;
        restart_handover(RestartHandoverRequest) -> RestartHandoverResponse = restart;
    }

    calls {
        start_handover(StartHandoverRequest) -> StartHandoverResponse = start;
        sign_handover(SignHandoverRequest) -> SignHandoverResponse = sign;
        get_handover(GetHandoverRequest) -> GetHandoverResponse = get;
        list_handovers(ListHandoversRequest) -> ListHandoversResponse = list;
    }
}

async fn start(
    eng: &Engineering,
    request: Request<pb::StartHandoverRequest>,
) -> Result<Response<pb::StartHandoverResponse>, Status> {
    let (scope, req) = eng.properties.scope(request)?;
    let request_id = RequestId::new(scope.caller(), &req.request_id, &req);
    let mut v = Violations::new();
    check_request_id(&mut v, &req.request_id);
    id_field(&mut v, "incoming_shift_id", &req.incoming_shift_id);
    v.max_text("note", &req.note, MAX_TEXT);
    v.check()?;
    let start = Start {
        incoming_shift_id: req.incoming_shift_id,
        equipment_ok: req.equipment_ok,
        rooms_cleaned: req.rooms_cleaned,
        note: req.note,
    };
    let view = app::start(eng, &scope, &request_id, start).await?;
    Ok(Response::new(pb::StartHandoverResponse {
        handover: Some(view.into()),
    }))
}

async fn sign(
    eng: &Engineering,
    request: Request<pb::SignHandoverRequest>,
) -> Result<Response<pb::SignHandoverResponse>, Status> {
    let (scope, req) = eng.properties.scope(request)?;
    let mut v = Violations::new();
    check_handover_id(&mut v, &req.handover_id);
    v.check()?;
    match app::sign(eng, &scope, &req.handover_id).await? {
        SignOutcome::Signed(view) => Ok(Response::new(pb::SignHandoverResponse {
            handover: Some((*view).into()),
        })),
        SignOutcome::Blocked(blockers) => Err(refused(&blockers).into()),
    }
}

async fn get(
    eng: &Engineering,
    request: Request<pb::GetHandoverRequest>,
) -> Result<Response<pb::GetHandoverResponse>, Status> {
    let (scope, req) = eng.properties.scope(request)?;
    let mut v = Violations::new();
    check_handover_id(&mut v, &req.handover_id);
    v.check()?;
    let view = app::get(eng, &scope, &req.handover_id).await?;
    Ok(Response::new(pb::GetHandoverResponse {
        handover: Some(view.into()),
    }))
}

async fn list(
    eng: &Engineering,
    request: Request<pb::ListHandoversRequest>,
) -> Result<Response<pb::ListHandoversResponse>, Status> {
    let (scope, req) = eng.properties.scope(request)?;
    let state = from_proto::<pb::HandoverState, State>(req.state);
    if state.is_none() && req.state != 0 {
        return Err(Error::invalid("state", "is not a handover state").into());
    }
    let limit = page::page_size(req.page_size)?;
    let before = page::after::<String>(&req.page_token)?.unwrap_or_default();
    if before.chars().count() > MAX_ID {
        return Err(page::bad_token().into());
    }
    let list = app::list(eng, &scope, state, &before, limit).await?;
    let next_page_token = page::next_token(&list, limit, |v| v.handover.id.clone());
    Ok(Response::new(pb::ListHandoversResponse {
        handovers: list.into_iter().map(Into::into).collect(),
        next_page_token,
    }))
}

fn arrival(mut v: Violations, req: pb::RecordHandoverArrivalRequest) -> Result<Step> {
    let fitness = from_proto::<pb::Fitness, Fitness>(req.fitness);
    if fitness.is_none() {
        v.add("fitness", "must be one of fit, tired, drunk, ill, injured");
    }
    v.check()?;
    Ok(Step::Arrival(fitness.expect("checked above")))
}

fn replacement(mut v: Violations, req: pb::ReplaceIncomingRequest) -> Result<Step> {
    id_field(&mut v, "incoming_shift_id", &req.incoming_shift_id);
    v.check()?;
    Ok(Step::Replace {
        incoming_shift_id: req.incoming_shift_id,
    })
}

fn equipment_check(mut v: Violations, req: pb::CheckHandoverEquipmentRequest) -> Result<Step> {
    let mut observations = Vec::with_capacity(req.observations.len());
    for (i, o) in req.observations.into_iter().enumerate() {
        id_field(
            &mut v,
            &format!("observations[{i}].equipment_id"),
            &o.equipment_id,
        );
        v.max_text(&format!("observations[{i}].note"), &o.note, MAX_TEXT);
        match from_proto::<pb::RunningState, Running>(o.running) {
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
    Ok(Step::Equipment(observations))
}

fn last_record(mut v: Violations, req: pb::ReadLastDutyRecordRequest) -> Result<Step> {
    v.max_text("note", &req.note, MAX_TEXT);
    v.check()?;
    Ok(Step::LastRecord {
        regular: req.regular,
        note: req.note,
    })
}

fn inventory(mut v: Violations, req: pb::CountHandoverInventoryRequest) -> Result<Step> {
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
    Ok(Step::Inventory(counts))
}

fn cleanliness(mut v: Violations, req: pb::CheckHandoverCleanlinessRequest) -> Result<Step> {
    v.max_text("note", &req.note, MAX_TEXT);
    v.check()?;
    Ok(Step::Cleanliness {
        clean: req.clean,
        note: req.note,
    })
}

fn briefing(mut v: Violations, req: pb::BriefHandoverRequest) -> Result<Step> {
    v.required_text("summary", &req.summary, MAX_TEXT);
    v.max_text("points_to_watch", &req.points_to_watch, MAX_TEXT);
    v.check()?;
    Ok(Step::Briefing {
        summary: req.summary,
        points_to_watch: req.points_to_watch,
        both_clear: req.both_clear,
    })
}

fn restart(v: Violations, _req: pb::RestartHandoverRequest) -> Result<Step> {
    v.check()?;
    Ok(Step::Restart)
}

/// A refused signature: `FAILED_PRECONDITION` listing every reason, each violation's `type`
/// its stable code (HO-7).
fn refused(blockers: &[Blocker]) -> Error {
    let ho7 = blockers.iter().any(|b| b.ho7);
    let codes: Vec<&str> = distinct_codes(blockers);
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
