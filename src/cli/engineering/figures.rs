//! The month's engineering figures: inspection coverage, intact rate, handovers, work orders.

use wuye::connect::call;
use wuye_proto::engineering::{self as pb, figures_service_client::FiguresServiceClient};

use crate::cli::Session;
use crate::cli::output::{left, say, today, yes};

pub(super) async fn run(s: &Session, month: Option<String>) -> anyhow::Result<()> {
    let month = month.unwrap_or_else(|| today("%Y-%m"));
    let request = pb::GetEngineeringFiguresRequest {
        property_id: s.p(),
        month,
    };
    let f = call(
        s.client(FiguresServiceClient::new)
            .get_engineering_figures(request),
    )
    .await?
    .figures
    .unwrap_or_default();
    say!("engineering figures of {} for {}", f.property_id, f.month);
    for (name, c) in [
        ("daily", &f.daily),
        ("weekly", &f.weekly),
        ("monthly", &f.monthly),
        ("all", &f.all_inspections),
    ] {
        let c = c.unwrap_or_default();
        say!(
            "  inspections {} due {:>3}  done {:>3}  pending {:>3}  missed {:>3}  coverage {:.1}%",
            left(name, 8),
            c.due,
            c.done,
            c.pending,
            c.missed,
            c.coverage_percent
        );
    }
    let i = f.intact.unwrap_or_default();
    say!(
        "  intact rate {:.1}% ({} of {} inspected, {} not inspected), target {}%: {}",
        i.rate_percent,
        i.intact,
        i.inspected,
        i.not_inspected,
        i.target_percent,
        yes(i.meets_target, "met", "NOT met")
    );
    let h = f.handovers.unwrap_or_default();
    let reasons: Vec<String> = h
        .reasons
        .iter()
        .map(|r| format!("{} {}", r.code, r.count))
        .collect();
    say!(
        "  handovers   {} completed, {} refusals on {} handovers{}",
        h.completed,
        h.refusals,
        h.refused_handovers,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join(", "))
        }
    );
    let w = f.work_orders.unwrap_or_default();
    say!(
        "  work orders {} opened, {} completed, arrivals {} on time / {} late ({:.1}% on time)",
        w.opened,
        w.completed,
        w.arrived_on_time,
        w.arrived_late,
        w.on_time_percent
    );
    Ok(())
}
