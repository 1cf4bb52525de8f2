//! Shift handover (交接班, HO-1 to HO-8), step by step; a handover left out is the one under way.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use tonic_types::StatusExt;
use wuye::connect::{Authed, call};
use wuye_proto::engineering::{self as pb, handover_service_client::HandoverServiceClient};

use super::{all_equipment, handover_id, inventory, shift_id};
use crate::cli::Session;
use crate::cli::input::request_id;
use crate::cli::output::{left, say, short, time, yes};

#[derive(Subcommand)]
pub(super) enum HandoverCommand {
    /// The outgoing person's preparation (HO-1), naming the incoming shift.
    Start {
        /// The incoming shift id, or its person's user id.
        #[arg(long)]
        incoming: String,
        /// The equipment was not checked in order.
        #[arg(long)]
        equipment_not_ok: bool,
        #[arg(long)]
        rooms_not_cleaned: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        request_id: Option<String>,
    },
    /// The incoming person arrives (HO-2), fit or not (HO-7).
    Arrive {
        handover: Option<String>,
        #[arg(long, value_enum, default_value = "fit")]
        fitness: FitnessArg,
    },
    /// The incoming person's equipment check (HO-3): all normal and as recorded, except what
    /// is flagged.
    Check {
        handover: Option<String>,
        /// Equipment running abnormally, as NUMBER or NUMBER=known|unknown (cause); repeat.
        #[arg(long = "abnormal")]
        abnormal: Vec<String>,
        /// Equipment whose record differs from what is seen; repeat.
        #[arg(long = "differs")]
        differs: Vec<String>,
    },
    /// The incoming person read the last duty record (HO-5).
    Read {
        handover: Option<String>,
        #[arg(long)]
        irregular: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The inventory count (HO-5): every item as listed, except NAME=N given with --counted.
    Count {
        handover: Option<String>,
        #[arg(long = "counted")]
        counted: Vec<String>,
    },
    /// The cleanliness check (HO-5, DUTY-3).
    Clean {
        handover: Option<String>,
        #[arg(long)]
        unclean: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The outgoing person's briefing (HO-4).
    Brief {
        handover: Option<String>,
        #[arg(long)]
        summary: String,
        #[arg(long, default_value = "")]
        watch: String,
        /// Things were left unclear.
        #[arg(long)]
        unclear: bool,
    },
    /// Sign as the outgoing or incoming person; a refusal lists every reason.
    Sign {
        handover: Option<String>,
    },
    /// Start a handover stopped by a fault again (HO-8).
    Restart {
        handover: Option<String>,
    },
    Show {
        handover: Option<String>,
    },
    /// Handovers, newest first.
    List {
        #[arg(long, default_value_t = 10)]
        limit: i32,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum FitnessArg {
    Fit,
    Tired,
    Drunk,
    Ill,
    Injured,
}

type Client = HandoverServiceClient<Authed>;

pub(super) async fn run(s: &Session, command: HandoverCommand) -> anyhow::Result<()> {
    let mut c = s.client(HandoverServiceClient::new);
    let c = &mut c;
    // A step shows what still blocks; `show` and the last signature show everything.
    let mut full = matches!(command, HandoverCommand::Show { .. });
    let h = match command {
        HandoverCommand::Start {
            incoming,
            equipment_not_ok,
            rooms_not_cleaned,
            note,
            request_id: rid,
        } => {
            start(
                s,
                c,
                &incoming,
                !equipment_not_ok,
                !rooms_not_cleaned,
                note,
                rid,
            )
            .await?
        }
        HandoverCommand::Arrive { handover, fitness } => arrive(s, c, handover, fitness).await?,
        HandoverCommand::Check {
            handover,
            abnormal,
            differs,
        } => check(s, c, handover, &abnormal, &differs).await?,
        HandoverCommand::Read {
            handover,
            irregular,
            note,
        } => read(s, c, handover, !irregular, note).await?,
        HandoverCommand::Count { handover, counted } => count(s, c, handover, &counted).await?,
        HandoverCommand::Clean {
            handover,
            unclean,
            note,
        } => clean(s, c, handover, !unclean, note).await?,
        HandoverCommand::Brief {
            handover,
            summary,
            watch,
            unclear,
        } => brief(s, c, handover, summary, watch, !unclear).await?,
        HandoverCommand::Sign { handover } => {
            let h = sign(s, c, handover).await?;
            full = h.as_ref().is_some_and(|h| h.complete_time.is_some());
            h
        }
        HandoverCommand::Restart { handover } => restart(s, c, handover).await?,
        HandoverCommand::Show { handover } => show(s, c, handover).await?,
        HandoverCommand::List { limit } => return list(s, c, limit).await,
    };
    let h = h.unwrap_or_default();
    if full {
        print_handover(&h);
    } else {
        say!(
            "handover {}  {}",
            h.id,
            short(h.state().as_str_name(), "HANDOVER_STATE_")
        );
        print_blockers(&h);
    }
    Ok(())
}

type Step = anyhow::Result<Option<pb::Handover>>;

async fn start(
    s: &Session,
    c: &mut Client,
    incoming: &str,
    equipment_ok: bool,
    rooms_cleaned: bool,
    note: String,
    rid: Option<String>,
) -> Step {
    let request = pb::StartHandoverRequest {
        property_id: s.p(),
        request_id: request_id(rid),
        incoming_shift_id: shift_id(s, incoming).await?,
        equipment_ok,
        rooms_cleaned,
        note,
    };
    Ok(call(c.start_handover(request)).await?.handover)
}

async fn arrive(
    s: &Session,
    c: &mut Client,
    handover: Option<String>,
    fitness: FitnessArg,
) -> Step {
    let fitness = match fitness {
        FitnessArg::Fit => pb::Fitness::Fit,
        FitnessArg::Tired => pb::Fitness::Tired,
        FitnessArg::Drunk => pb::Fitness::Drunk,
        FitnessArg::Ill => pb::Fitness::Ill,
        FitnessArg::Injured => pb::Fitness::Injured,
    };
    let request = pb::RecordHandoverArrivalRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
        fitness: fitness.into(),
    };
    Ok(call(c.record_handover_arrival(request)).await?.handover)
}

async fn check(
    s: &Session,
    c: &mut Client,
    handover: Option<String>,
    abnormal: &[String],
    differs: &[String],
) -> Step {
    let handover_id = handover_id(s, handover).await?;
    let equipment = all_equipment(s, String::new()).await?;
    let find = |text: &str| {
        equipment
            .iter()
            .find(|e| e.number == text || e.id == text)
            .map(|e| e.id.clone())
            .with_context(|| format!("no equipment {text}"))
    };
    let mut running = std::collections::HashMap::new();
    for a in abnormal {
        let (number, cause) = a.split_once('=').unwrap_or((a, "known"));
        let state = match cause {
            "known" => pb::RunningState::AbnormalKnownCause,
            "unknown" => pb::RunningState::AbnormalUnknownCause,
            _ => anyhow::bail!("--abnormal {a}: write NUMBER or NUMBER=known|unknown"),
        };
        running.insert(find(number)?, state);
    }
    let differs = differs
        .iter()
        .map(|d| find(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let observations = equipment
        .iter()
        .map(|e| pb::EquipmentObservation {
            equipment_id: e.id.clone(),
            running: running
                .get(&e.id)
                .copied()
                .unwrap_or(pb::RunningState::Normal)
                .into(),
            matches_record: !differs.contains(&e.id),
            note: String::new(),
        })
        .collect();
    let request = pb::CheckHandoverEquipmentRequest {
        property_id: s.p(),
        handover_id,
        observations,
    };
    Ok(call(c.check_handover_equipment(request)).await?.handover)
}

async fn read(
    s: &Session,
    c: &mut Client,
    handover: Option<String>,
    regular: bool,
    note: String,
) -> Step {
    let request = pb::ReadLastDutyRecordRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
        regular,
        note,
    };
    Ok(call(c.read_last_duty_record(request)).await?.handover)
}

async fn count(s: &Session, c: &mut Client, handover: Option<String>, counted: &[String]) -> Step {
    let handover_id = handover_id(s, handover).await?;
    let items = inventory(s).await?;
    let mut counts: Vec<pb::InventoryCount> = items
        .iter()
        .map(|i| pb::InventoryCount {
            item_id: i.id.clone(),
            counted: i.count,
            ..Default::default()
        })
        .collect();
    for c in counted {
        let (name, n) = c
            .split_once('=')
            .with_context(|| format!("--counted {c}: write NAME=N"))?;
        let n: i64 = n.parse().with_context(|| format!("--counted {c}"))?;
        let item = items
            .iter()
            .position(|i| i.name == name || i.id == name)
            .with_context(|| format!("no inventory item {name}"))?;
        counts[item].counted = n;
    }
    let request = pb::CountHandoverInventoryRequest {
        property_id: s.p(),
        handover_id,
        counts,
    };
    Ok(call(c.count_handover_inventory(request)).await?.handover)
}

async fn clean(
    s: &Session,
    c: &mut Client,
    handover: Option<String>,
    clean: bool,
    note: String,
) -> Step {
    let request = pb::CheckHandoverCleanlinessRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
        clean,
        note,
    };
    Ok(call(c.check_handover_cleanliness(request)).await?.handover)
}

async fn brief(
    s: &Session,
    c: &mut Client,
    handover: Option<String>,
    summary: String,
    points_to_watch: String,
    both_clear: bool,
) -> Step {
    let request = pb::BriefHandoverRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
        summary,
        points_to_watch,
        both_clear,
    };
    Ok(call(c.brief_handover(request)).await?.handover)
}

async fn sign(s: &Session, c: &mut Client, handover: Option<String>) -> Step {
    let request = pb::SignHandoverRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
    };
    match c.sign_handover(request).await {
        Ok(r) => Ok(r.into_inner().handover),
        Err(status) => {
            // Reasons name equipment by id: shown by number, as on site.
            let equipment = all_equipment(s, String::new()).await.unwrap_or_default();
            Err(refusal(status, &equipment).await)
        }
    }
}

async fn restart(s: &Session, c: &mut Client, handover: Option<String>) -> Step {
    let request = pb::RestartHandoverRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
    };
    Ok(call(c.restart_handover(request)).await?.handover)
}

async fn show(s: &Session, c: &mut Client, handover: Option<String>) -> Step {
    let request = pb::GetHandoverRequest {
        property_id: s.p(),
        handover_id: handover_id(s, handover).await?,
    };
    Ok(call(c.get_handover(request)).await?.handover)
}

async fn list(s: &Session, c: &mut Client, limit: i32) -> anyhow::Result<()> {
    let list = call(c.list_handovers(pb::ListHandoversRequest {
        property_id: s.p(),
        state: 0,
        page_size: limit,
        page_token: String::new(),
    }))
    .await?;
    for h in list.handovers {
        say!(
            "{}  {} {} → {}  started {}  refusals {}",
            h.id,
            left(&short(h.state().as_str_name(), "HANDOVER_STATE_"), 11),
            h.outgoing_user_id,
            h.incoming_user_id,
            time(h.preparation.as_ref().and_then(|p| p.prepare_time.as_ref())),
            h.refusals.len()
        );
    }
    Ok(())
}

/// A refused signature as an error listing every reason (HO-7), one a line.
async fn refusal(status: tonic::Status, equipment: &[pb::Equipment]) -> anyhow::Error {
    let violations = status
        .get_details_precondition_failure()
        .map(|p| p.violations)
        .unwrap_or_default();
    if violations.is_empty() {
        return call::<()>(std::future::ready(Err(status)))
            .await
            .unwrap_err();
    }
    // The message ends with the codes, listed here one a line with their descriptions.
    let headline = status.message().split(": ").next().unwrap_or_default();
    let mut message = format!("{headline}:");
    for v in violations {
        message.push_str(&format!("\n  {} {}", left(&v.r#type, 30), v.description));
        if !v.subject.is_empty() {
            let subject = equipment
                .iter()
                .find(|e| e.id == v.subject)
                .map(|e| e.number.as_str())
                .unwrap_or(&v.subject);
            message.push_str(&format!(" [{subject}]"));
        }
    }
    anyhow::anyhow!(message)
}

fn print_handover(h: &pb::Handover) {
    say!(
        "handover {}  {}",
        h.id,
        short(h.state().as_str_name(), "HANDOVER_STATE_")
    );
    say!(
        "  outgoing   {} (shift {})",
        h.outgoing_user_id,
        h.outgoing_shift_id
    );
    say!(
        "  incoming   {} (shift {})",
        h.incoming_user_id,
        h.incoming_shift_id
    );
    print_preparation_and_arrival(h);
    print_checks(h);
    say!(
        "  signed     outgoing {}, incoming {}",
        time(h.outgoing_sign_time.as_ref()),
        time(h.incoming_sign_time.as_ref())
    );
    if !h.stopped_by_fault_id.is_empty() {
        say!("  stopped by fault {}", h.stopped_by_fault_id);
    }
    if !h.refusals.is_empty() {
        say!("  refusals   {}", h.refusals.len());
    }
    print_blockers(h);
}

/// HO-1 and HO-2: the outgoing person's preparation and the incoming person's arrival.
fn print_preparation_and_arrival(h: &pb::Handover) {
    if let Some(p) = &h.preparation {
        say!(
            "  prepared   {}  equipment {}, rooms {}{}",
            time(p.prepare_time.as_ref()),
            yes(p.equipment_ok, "ok", "NOT ok"),
            yes(p.rooms_cleaned, "cleaned", "NOT cleaned"),
            yes(p.late, "  (late)", "")
        );
    }
    match &h.arrival {
        Some(a) => say!(
            "  arrived    {}  {}{}",
            time(a.arrive_time.as_ref()),
            short(a.fitness().as_str_name(), "FITNESS_"),
            yes(a.late, "  (late)", "")
        ),
        None => say!("  arrived    -"),
    }
}

/// HO-3 to HO-5: the checks of the incoming person, and the briefing.
fn print_checks(h: &pb::Handover) {
    match &h.equipment_check {
        Some(c) => {
            let off = c
                .observations
                .iter()
                .filter(|o| o.running() != pb::RunningState::Normal || !o.matches_record)
                .count();
            say!(
                "  equipment  {}  {} checked, {} not normal or not as recorded",
                time(c.check_time.as_ref()),
                c.observations.len(),
                off
            );
        }
        None => say!("  equipment  -"),
    }
    match &h.last_record {
        Some(r) => say!(
            "  last record {} {}",
            time(r.read_time.as_ref()),
            yes(r.regular, "regular", "IRREGULAR")
        ),
        None => say!("  last record -"),
    }
    match &h.inventory {
        Some(i) => {
            let off: Vec<String> = i
                .counts
                .iter()
                .filter(|c| c.counted != c.listed)
                .map(|c| format!("{} {}/{}", c.name, c.counted, c.listed))
                .collect();
            say!(
                "  inventory  {}  {} items{}",
                time(i.check_time.as_ref()),
                i.counts.len(),
                if off.is_empty() {
                    ", all as listed".to_owned()
                } else {
                    format!(", differ: {}", off.join(", "))
                }
            );
        }
        None => say!("  inventory  -"),
    }
    match &h.cleanliness {
        Some(c) => say!(
            "  clean      {}  {}",
            time(c.check_time.as_ref()),
            yes(c.clean, "yes", "NO")
        ),
        None => say!("  clean      -"),
    }
    match &h.briefing {
        Some(b) => say!(
            "  briefing   {}  {}{}",
            time(b.brief_time.as_ref()),
            b.summary,
            yes(b.both_clear, "", "  (NOT clear)")
        ),
        None => say!("  briefing   -"),
    }
}

fn print_blockers(h: &pb::Handover) {
    for b in &h.blockers {
        say!(
            "  blocker    {} {}{}",
            left(&b.code, 30),
            b.description,
            yes(b.ho7, "  (HO-7)", "")
        );
    }
    if h.blockers.is_empty() && h.complete_time.is_none() {
        say!("  nothing blocks: both may sign");
    }
}
