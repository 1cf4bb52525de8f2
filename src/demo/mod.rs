//! Demo data: realistic properties (buildings, units, households with Chinese names and
//! plausible phone numbers, occupancy, complaints) planned from a seed number, so the same
//! seed always gives the same data, and loaded through the gateway's public RPCs. Optionally
//! months of history: complaints taken through their steps, key custody with loans and
//! returns, follow-up visits, each on its day when the loader may move the services' clock
//! (a [`TimeMachine`]).

mod history;
mod load;
mod plan;
mod staff;

use std::time::Instant;

use chrono::{DateTime, Utc};
use wuye_kit::clock::ShiftedClock;

pub use load::load;
pub use plan::{
    COMPLAINT_PATH, ComplaintPlan, HistoryPlan, KeySetPlan, PropertyPlan, TECHNICIANS, UnitPlan,
    VisitPlan, WorkOrderPlan, plan_property, property_configs,
};
pub use staff::{Hired, HiredStaff, StaffPlan, headquarters_staff, plan_staff};

/// How much to plan.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub buildings: u32,
    pub entrances: u32,
    pub floors: u32,
    /// Units per floor and entrance.
    pub doors: u32,
    /// Percent of sold units that are occupied.
    pub occupancy_percent: u32,
    pub complaints: u32,
    /// Months of history before today (0: everything happens now, complaints stay new).
    pub months: u32,
}

impl Default for DemoSize {
    fn default() -> Self {
        Self {
            buildings: 2,
            entrances: 2,
            floors: 6,
            doors: 2,
            occupancy_percent: 85,
            complaints: 12,
            months: 0,
        }
    }
}

/// SplitMix64: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn percent(&mut self, p: u32) -> bool {
        self.below(100) < u64::from(p)
    }
}

/// What a load did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub units: usize,
    pub households: usize,
    pub complaints: usize,
    /// Complaint steps, key entrustments, loans, returns, visits and work orders (with their
    /// steps) of the history.
    pub steps: usize,
    pub key_sets: usize,
    pub loans: usize,
    pub returns: usize,
    pub visits: usize,
    pub work_orders: usize,
    pub work_order_steps: usize,
}

/// Moves the services' clock for the history: the loader goes to each day of the history in
/// turn, and back to the present at the end.
pub trait TimeMachine: Send + Sync {
    /// Where the history ends.
    fn present(&self) -> DateTime<Utc>;
    /// Makes it `at` for the services.
    fn travel(&self, at: DateTime<Utc>);
    /// Back to the present.
    fn back(&self);
}

impl TimeMachine for ShiftedClock {
    fn present(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn travel(&self, at: DateTime<Utc>) {
        self.set(at);
    }

    fn back(&self) {
        self.reset();
    }
}

/// Returns the clock to the present however the load ends.
struct Back<'a>(Option<&'a dyn TimeMachine>);

impl Drop for Back<'_> {
    fn drop(&mut self) {
        if let Some(machine) = self.0 {
            machine.back();
        }
    }
}
/// Plans and loads every property of `properties`, printing progress.
pub async fn load_all(
    gateway: &str,
    seed: u64,
    properties: &[(String, String)],
    size: DemoSize,
    machine: Option<&dyn TimeMachine>,
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let mut total = Loaded::default();
    let headquarters = staff::hire(gateway, seed, &headquarters_staff()).await?;
    let mut sign_ins: Vec<String> = headquarters.iter().map(|h| h.sign_in.clone()).collect();
    for (i, (id, name)) in properties.iter().enumerate() {
        let mut plan = plan_property(seed, id, name, size);
        // Each property's people sign in with logins of their own.
        plan.staff = plan_staff(id, i);
        if i == 0 {
            sign_ins.extend(plan.staff.iter().map(|p| p.sign_in.clone()));
        }
        let loaded = load(gateway, seed, &plan, machine).await?;
        total.units += loaded.units;
        total.households += loaded.households;
        total.complaints += loaded.complaints;
        total.steps += loaded.steps;
        total.key_sets += loaded.key_sets;
        total.loans += loaded.loans;
        total.returns += loaded.returns;
        total.visits += loaded.visits;
        total.work_orders += loaded.work_orders;
        total.work_order_steps += loaded.work_order_steps;
    }
    println!(
        "demo data (seed {seed}): {} properties, {} units, {} households, {} complaints in {:.1} s",
        properties.len(),
        total.units,
        total.households,
        total.complaints,
        started.elapsed().as_secs_f64()
    );
    println!(
        "demo staff: {} people at headquarters and {} at each property; sign-ins {} (at a \
         later property with its number: wangfang2, …)",
        headquarters.iter().count(),
        plan_staff("", 0).len(),
        sign_ins.join(", ")
    );
    if size.months > 0 {
        println!(
            "history of {} months: {} complaint steps, {} key sets, {} loans, {} returns, {} visits, \
             {} work orders with {} steps (retries of an earlier load count; their steps do not)",
            size.months,
            total.steps,
            total.key_sets,
            total.loans,
            total.returns,
            total.visits,
            total.work_orders,
            total.work_order_steps
        );
    }
    Ok(total)
}

#[cfg(test)]
mod tests;
