//! wuye's benchmarks (issue 10): what the gateway and the departments do on this machine,
//! each comparison side by side in one run, medians of several runs. The figures and how to
//! read them are in docs/PERFORMANCE.md.
//!
//! ```sh
//! cargo build --release --workspace --bins   # the footprint scenario runs the binaries
//! WUYE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:55432 \
//!   cargo bench -p wuye-tests --bench wuye -- --runs 3 --seconds 5
//! ```
//!
//! The stacks run in this process (the harness of the tests, with the departments' production
//! settings) and the load comes from this process too: client and servers share the machine's
//! cores, as they would on a one-machine deployment. Without `WUYE_TEST_POSTGRES_URL` the
//! PostgreSQL scenarios are skipped.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use tonic::{Status, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use wuye_kit::{
    ServiceSettings,
    clock::{Clock, SystemClock},
    identity::Caller,
};
use wuye_tests::{
    AsGateway, Backend, PROPERTY, Stack, deploy_properties,
    proto::customerservice::{
        Channel as ContactChannel, Complainant, CreateComplaintRequest, GetComplaintRequest,
        Severity, complaint_service_client::ComplaintServiceClient,
    },
};

#[derive(Parser)]
struct Args {
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Length of one measured run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Only these scenarios (comma-separated): ceiling, proxy, intake, day, portfolio,
    /// footprint.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Concurrent callers of the multi-caller measurements.
    #[arg(long, default_value_t = 32)]
    callers: usize,
    /// The property's day: operations a second, and for how long.
    #[arg(long, default_value_t = 200)]
    day_rate: u32,
    #[arg(long, default_value_t = 60)]
    day_seconds: u64,
    /// Headquarters scale: properties, complaints and work orders in the data set.
    #[arg(long, default_value_t = 100)]
    hq_properties: u32,
    #[arg(long, default_value_t = 1_000_000)]
    hq_complaints: u64,
    #[arg(long, default_value_t = 200_000)]
    hq_work_orders: u64,
    /// `cargo bench` passes this to every bench target.
    #[arg(long, hide = true)]
    bench: bool,
}

impl Args {
    fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "wuye benchmarks: {cores} cores, {} runs of {} s, {} callers, median of the runs",
        args.runs, args.seconds, args.callers
    );
    let postgres = std::env::var_os("WUYE_TEST_POSTGRES_URL").is_some();
    if args.wants("ceiling") || args.wants("proxy") {
        let stack = production_stack(Backend::Sqlite).await;
        let ids = complaints(&stack, 1).await;
        if args.wants("ceiling") {
            ceiling(&args, &stack).await;
        }
        if args.wants("proxy") {
            proxy(&args, &stack, &ids[0]).await;
        }
    }
    if args.wants("intake") {
        let mut backends = vec![Backend::Sqlite];
        if postgres {
            backends.push(Backend::Postgres);
        } else {
            println!("(PostgreSQL skipped: WUYE_TEST_POSTGRES_URL is not set)");
        }
        for backend in backends {
            intake(&args, backend).await?;
        }
    }
    if args.wants("day") {
        day::run(&args).await;
    }
    if args.wants("portfolio") {
        portfolio::run(&args, Backend::Sqlite).await?;
        if postgres {
            portfolio::run(&args, Backend::Postgres).await?;
        }
    }
    if args.wants("footprint") {
        footprint::run(&args).await?;
    }
    Ok(())
}

/// A stack with the departments' production settings (pool size, job interval) rather than
/// the tests' small ones, on the real clock.
async fn production_stack(backend: Backend) -> Stack {
    Stack::start_configured(backend, deploy_properties(), production_settings).await
}

/// The departments' production pool size and job interval instead of the tests' own.
fn production_settings(settings: &mut ServiceSettings) {
    let defaults = ServiceSettings::default();
    settings.database.max_connections = defaults.database.max_connections;
    settings.jobs_interval_ms = defaults.jobs_interval_ms;
}

// --- the scenarios --------------------------------------------------------------------------

/// Scenario 1: what tonic does on this machine with no work: the gateway's own health check.
async fn ceiling(args: &Args, stack: &Stack) {
    let health = HealthClient::new(stack.channel());
    let call = move |_, _| {
        let mut health = health.clone();
        async move {
            health
                .check(HealthCheckRequest::default())
                .await
                .map(|_| ())
        }
    };
    let mut table = Table::new("1. ceiling: the gateway's health check");
    for callers in [1, args.callers] {
        table.row(
            &format!("Health/Check, {callers} callers"),
            repeat(args, || closed_loop(callers, args.window(), call.clone())).await,
        );
    }
    table.print();
}

/// Scenario 2: the gateway's cost: GetComplaint straight to customer-service (with the internal
/// identity the gateway would add) against the same call through the gateway.
async fn proxy(args: &Args, stack: &Stack, complaint_id: &str) {
    let through = Arc::new(desks(stack, args.callers));
    let direct = ComplaintServiceClient::new(direct(stack));
    let request = GetComplaintRequest {
        property_id: PROPERTY.into(),
        complaint_id: complaint_id.into(),
        number: 0,
    };
    let mut table = Table::new("2. proxy cost: GetComplaint direct vs through the gateway");
    for callers in [1, args.callers] {
        let mut pair = Vec::new();
        // Interleaved, so that both see the same machine.
        let (mut direct_runs, mut gateway_runs) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let client = direct.clone();
            let req = request.clone();
            direct_runs.push(
                closed_loop(callers, args.window(), move |_, _| {
                    let (mut client, req) = (client.clone(), req.clone());
                    async move { client.get_complaint(req).await.map(|_| ()) }
                })
                .await,
            );
            let clients = through.clone();
            let req = request.clone();
            gateway_runs.push(
                closed_loop(callers, args.window(), move |caller, _| {
                    let (mut client, req) = (clients[caller].clone(), req.clone());
                    async move { client.get_complaint(req).await.map(|_| ()) }
                })
                .await,
            );
        }
        let direct = Measured::median(direct_runs);
        let gateway = Measured::median(gateway_runs);
        pair.push(format!(
            "gateway keeps {:.0}% of the direct throughput, adds {:.3} ms to the median",
            100.0 * gateway.per_second / direct.per_second,
            gateway.p50_ms - direct.p50_ms
        ));
        table.row(&format!("direct, {callers} callers"), direct);
        table.row(&format!("gateway, {callers} callers"), gateway);
        table.note(pair.join(""));
    }
    table.print();
}

/// Scenario 3: intake: CreateComplaint through the gateway against the same registration written
/// straight to a database of its own (customer-service's use case, no gRPC): the storage limit.
async fn intake(args: &Args, backend: Backend) -> anyhow::Result<()> {
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let mut table = Table::new(&format!(
        "3. intake on {name}: CreateComplaint, {} callers",
        args.callers
    ));
    let stack = production_stack(backend).await;
    let clients = Arc::new(desks(&stack, args.callers));
    let mut gateway_runs = Vec::new();
    let mut storage_runs = Vec::new();
    let storage = storage::Limit::open(backend).await?;
    for run in 0..args.runs {
        let clients = clients.clone();
        gateway_runs.push(
            closed_loop(args.callers, args.window(), move |caller, i| {
                let mut client = clients[caller].clone();
                async move {
                    client
                        .create_complaint(new_complaint(&format!("bench-{run}-{caller}-{i}")))
                        .await
                        .map(|_| ())
                }
            })
            .await,
        );
        let storage = storage.clone();
        storage_runs.push(
            closed_loop(args.callers, args.window(), move |caller, i| {
                let storage = storage.clone();
                async move { storage.register(&format!("limit-{run}-{caller}-{i}")).await }
            })
            .await,
        );
    }
    let gateway = Measured::median(gateway_runs);
    let limit = Measured::median(storage_runs);
    let share = 100.0 * gateway.per_second / limit.per_second;
    table.row("through the gateway", gateway);
    table.row("storage limit (use case, no gRPC)", limit);
    table.note(format!(
        "the gateway path reaches {share:.0}% of the storage limit"
    ));
    table.print();
    Ok(())
}

fn new_complaint(request_id: &str) -> CreateComplaintRequest {
    CreateComplaintRequest {
        property_id: PROPERTY.into(),
        request_id: request_id.into(),
        contact_number: 0,
        channel: ContactChannel::Phone.into(),
        complainant: Some(Complainant {
            name: "李静".into(),
            phone: "139 1234 5678".into(),
        }),
        unit_id: String::new(),
        category: "保洁服务".into(),
        description: "楼道垃圾未及时清运".into(),
        severity: Severity::General.into(),
    }
}

/// A front desk client through the gateway for each of `n` callers, each its own person (the
/// gateway's limits are per person).
fn desks(stack: &Stack, n: usize) -> Vec<ComplaintServiceClient<wuye_tests::Authed>> {
    (0..n)
        .map(|c| {
            ComplaintServiceClient::new(stack.as_user(
                "front_desk",
                &format!("desk-{c}"),
                "前台",
                PROPERTY,
            ))
        })
        .collect()
}

/// Creates `n` complaints through the gateway and gives their ids.
async fn complaints(stack: &Stack, n: usize) -> Vec<String> {
    let mut client = ComplaintServiceClient::new(stack.as_role("front_desk", PROPERTY));
    let mut ids = Vec::new();
    for i in 0..n {
        let created = client
            .create_complaint(new_complaint(&format!("seed-{i}")))
            .await
            .expect("a complaint for the reads");
        ids.push(created.into_inner().complaint.unwrap().id);
    }
    ids
}

/// A channel straight to customer-service carrying the internal identity of a front desk
/// clerk, as the gateway would forward it.
fn direct(stack: &Stack) -> AsGateway {
    let caller = Caller {
        post_id: String::new(),
        user_id: "front_desk-1".into(),
        name: "测试员".into(),
        role: "front_desk".into(),
        property: Some(PROPERTY.into()),
        ..Default::default()
    };
    stack.as_gateway("customer-service", caller)
}

/// The storage limit: customer-service's registration transaction on a database of its own.
mod storage {
    use super::*;
    use wuye_customer_service::{
        CustomerService,
        app::complaints::create,
        domain::complaints::{Channel, Complainant, Registration, Severity},
    };
    use wuye_kit::{
        db::Db, idempotency::RequestId, identity::Caller, outbox::Outbox, properties::Properties,
        sealed::SealedDb,
    };

    /// The department's own registration of a complaint (its application function, the
    /// transaction it runs), without the gateway and the transport.
    #[derive(Clone)]
    pub struct Limit(Arc<(CustomerService, Properties)>);

    impl Limit {
        pub async fn open(backend: Backend) -> anyhow::Result<Limit> {
            let mut settings = ServiceSettings::default().database;
            let dir = std::env::temp_dir().join(format!("wuye-bench-{}", uuid::Uuid::now_v7()));
            settings.data_dir = dir;
            if backend == Backend::Postgres {
                settings.url = wuye_kit::config::Secret::new(
                    wuye_tests::fresh_postgres_database("limit").await,
                );
            }
            let db = Db::connect(
                &settings,
                "customer-service",
                wuye_customer_service::migrations(),
            )
            .await?;
            let outbox = Outbox::new(
                db.clone(),
                Arc::new(SystemClock),
                tokio::sync::watch::channel(false).1,
            );
            // Development, as the harness: the public keyring seals the benchmark's data.
            let development = ServiceSettings {
                dev: true,
                ..ServiceSettings::default()
            };
            let keyring = development.keyring(wuye_customer_service::NAME)?;
            let properties = deploy_properties();
            let service = CustomerService::new(
                SealedDb::new(db, keyring),
                outbox,
                Arc::new(SystemClock),
                properties.clone(),
            );
            Ok(Limit(Arc::new((service, properties))))
        }

        pub async fn register(&self, request_id: &str) -> Result<(), Status> {
            let (service, properties) = &*self.0;
            let caller = Caller {
                post_id: String::new(),
                user_id: "front_desk-1".into(),
                name: "测试员".into(),
                role: "front_desk".into(),
                property: Some(PROPERTY.into()),
                in_full: Vec::new(),
            };
            let scope = properties.scope_of(caller, PROPERTY)?;
            let registration = Registration {
                channel: Channel::Phone,
                complainant: Complainant {
                    name: "李静".into(),
                    phone: "139 1234 5678".into(),
                },
                unit_id: None,
                category: "保洁服务".into(),
                description: "楼道垃圾未及时清运".into(),
                severity: Severity::General,
                note: String::new(),
            };
            create(
                service,
                &scope,
                &RequestId::internal(request_id),
                None,
                registration,
            )
            .await?;
            Ok(())
        }
    }
}

// --- load and figures -----------------------------------------------------------------------

/// One measured run.
struct Sample {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<Status>,
    elapsed: Duration,
}

/// `callers` tasks calling back to back for `window` (after a short warm-up that is not
/// counted); `call(caller, i)` makes the i-th call of a caller.
async fn closed_loop<F, Fut>(callers: usize, window: Duration, call: F) -> Sample
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send,
{
    let warm_up = Duration::from_millis(500);
    let start = Instant::now();
    let measure_from = start + warm_up;
    let end = measure_from + window;
    let mut tasks = tokio::task::JoinSet::new();
    for caller in 0..callers {
        let call = call.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut first_error) = (0, None);
            let mut i = 0;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let answer = call(caller, i).await;
                i += 1;
                if sent < measure_from {
                    continue;
                }
                match answer {
                    Ok(()) => latencies.push(sent.elapsed()),
                    Err(status) => {
                        errors += 1;
                        first_error.get_or_insert(status);
                    }
                }
            }
            (latencies, errors, first_error)
        });
    }
    let mut sample = Sample {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        let (latencies, errors, first_error) = done.expect("a caller task");
        sample.latencies.extend(latencies);
        sample.errors += errors;
        if sample.first_error.is_none() {
            sample.first_error = first_error;
        }
    }
    // Calls that started before the end finish after it: count the time they took.
    sample.elapsed = Instant::now().saturating_duration_since(measure_from);
    sample
}

/// The figures of one run, or the median of several.
#[derive(Clone, Copy)]
struct Measured {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    errors: u64,
}

impl Measured {
    fn of(mut sample: Sample) -> Measured {
        if let Some(status) = &sample.first_error {
            eprintln!("  errors: {} (first: {status})", sample.errors);
        }
        sample.latencies.sort_unstable();
        let at = |q: f64| {
            let n = sample.latencies.len();
            if n == 0 {
                return f64::NAN;
            }
            let i = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
            sample.latencies[i].as_secs_f64() * 1000.0
        };
        Measured {
            per_second: sample.latencies.len() as f64 / sample.elapsed.as_secs_f64(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            errors: sample.errors,
        }
    }

    /// Each figure's median over the runs.
    fn median(samples: Vec<Sample>) -> Measured {
        let runs: Vec<Measured> = samples.into_iter().map(Measured::of).collect();
        let median = |f: fn(&Measured) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(f).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        Measured {
            per_second: median(|m| m.per_second),
            p50_ms: median(|m| m.p50_ms),
            p99_ms: median(|m| m.p99_ms),
            p999_ms: median(|m| m.p999_ms),
            errors: runs.iter().map(|m| m.errors).sum(),
        }
    }
}

async fn repeat<F, Fut>(args: &Args, mut run: F) -> Measured
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Sample>,
{
    let mut samples = Vec::new();
    for _ in 0..args.runs {
        samples.push(run().await);
    }
    Measured::median(samples)
}

/// A printed table of one scenario, as docs/PERFORMANCE.md quotes it.
struct Table {
    title: String,
    rows: Vec<(String, Measured)>,
    notes: Vec<String>,
}

impl Table {
    fn new(title: &str) -> Table {
        Table {
            title: title.to_owned(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn row(&mut self, name: &str, measured: Measured) {
        self.rows.push((name.to_owned(), measured));
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    fn print(&self) {
        println!("\n{}", self.title);
        println!(
            "| {:<36} | {:>10} | {:>8} | {:>8} | {:>8} | {:>6} |",
            "", "calls/s", "p50 ms", "p99 ms", "p999 ms", "errors"
        );
        println!(
            "|{:-<38}|{:->12}|{:->10}|{:->10}|{:->10}|{:->8}|",
            "", "", "", "", "", ""
        );
        for (name, m) in &self.rows {
            println!(
                "| {:<36} | {:>10.0} | {:>8.3} | {:>8.3} | {:>8.3} | {:>6} |",
                name, m.per_second, m.p50_ms, m.p99_ms, m.p999_ms, m.errors
            );
        }
        for note in &self.notes {
            println!("{note}");
        }
    }
}

/// Scenario 4: a property's day: intake, key loans, work orders, inspections and reads at a steady
/// rate, each operation timed from when it was due (a late start counts against it).
mod day {
    use std::{collections::BTreeMap, sync::Mutex};

    use wuye_tests::keys;
    use wuye_tests::proto::{
        customerservice::{
            CreateUnitRequest, ListComplaintsRequest, ReturnKeysRequest,
            household_service_client::HouseholdServiceClient, key_service_client::KeyServiceClient,
        },
        engineering::{
            CreateWorkOrderRequest, CreateZoneRequest, GenerateDueInspectionsRequest,
            GetWorkOrderRequest, Inspection, InspectionKind, ListInspectionsRequest,
            ListWorkOrdersRequest, RecordInspectionRequest, Requester, Urgency,
            equipment_service_client::EquipmentServiceClient,
            inspection_service_client::InspectionServiceClient,
            work_order_service_client::WorkOrderServiceClient,
        },
    };

    use super::*;

    /// The day's mix, one slot a twentieth of the operations.
    const MIX: [Op; 20] = {
        use Op::*;
        [
            Intake,
            Read,
            ListComplaints,
            KeyLoan,
            WorkOrder,
            Read,
            ReadWorkOrder,
            Intake,
            ListWorkOrders,
            Read,
            Inspections,
            Intake,
            Read,
            KeyLoan,
            WorkOrder,
            ReadWorkOrder,
            Intake,
            ListComplaints,
            ListWorkOrders,
            RecordInspection,
        ]
    };

    #[derive(Clone, Copy)]
    enum Op {
        Intake,
        Read,
        ListComplaints,
        KeyLoan,
        WorkOrder,
        ReadWorkOrder,
        ListWorkOrders,
        Inspections,
        RecordInspection,
    }

    type Daily = (Inspection, InspectionServiceClient<wuye_tests::Authed>);

    #[derive(Clone)]
    struct Clients {
        complaints: ComplaintServiceClient<wuye_tests::Authed>,
        keys: KeyServiceClient<wuye_tests::Authed>,
        work_orders: WorkOrderServiceClient<wuye_tests::Authed>,
        inspections: InspectionServiceClient<wuye_tests::Authed>,
        complaint_ids: Arc<Vec<String>>,
        /// The unit the day's repairs are for, known to engineering.
        unit_id: Arc<str>,
        work_order_ids: Arc<Vec<String>>,
        /// Key sets not on loan; a loan takes one and gives it back.
        free_sets: Arc<Mutex<Vec<String>>>,
        /// The day's dailies not yet recorded, each with a client of its zone's technician.
        dailies: Arc<Mutex<Vec<Daily>>>,
        timings: Arc<Mutex<BTreeMap<&'static str, Sample>>>,
        /// Every operation's latency by the minute of the day it was due in (the drift).
        by_minute: Arc<Mutex<BTreeMap<u64, Vec<Duration>>>>,
        start: Instant,
    }

    pub async fn run(args: &Args) {
        let stack = production_stack(Backend::Sqlite).await;
        // One daily to record for each of the day's RecordInspection slots.
        let dailies = (u64::from(args.day_rate) * args.day_seconds).div_ceil(MIX.len() as u64);
        let setting_up = Instant::now();
        let clients = setup(&stack, dailies as usize).await;
        println!(
            "\n(the day's site set up in {:.1} s: {dailies} zones with their dailies)",
            setting_up.elapsed().as_secs_f64()
        );
        let start = Instant::now() + Duration::from_secs(1);
        let clients = Clients { start, ..clients };
        let period = Duration::from_secs_f64(1.0 / f64::from(args.day_rate.max(1)));
        let end = start + Duration::from_secs(args.day_seconds);
        let mut tasks = tokio::task::JoinSet::new();
        let mut memory = Vec::new();
        let mut i = 0u64;
        loop {
            let due = start + period * i as u32;
            if due >= end {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            // Memory of this process (the stack and the load) each minute: the soak's drift.
            if i.is_multiple_of(u64::from(args.day_rate.max(1)) * 60) {
                memory.push(footprint::resident(std::process::id(), "VmRSS").unwrap_or(f64::NAN));
            }
            let clients = clients.clone();
            let op = MIX[i as usize % MIX.len()];
            tasks.spawn(async move { clients.perform(op, i, due).await });
            i += 1;
            // Finished operations are collected as the day goes, so that the set stays small.
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        let elapsed = start.elapsed();
        let mut table = Table::new(&format!(
            "4. a property's day on SQLite: {} operations/s for {} s ({i} operations)",
            args.day_rate, args.day_seconds
        ));
        let timings = std::mem::take(&mut *clients.timings.lock().unwrap());
        for (method, mut sample) in timings {
            sample.elapsed = elapsed;
            table.row(method, Measured::of(sample));
        }
        memory.push(footprint::resident(std::process::id(), "VmRSS").unwrap_or(f64::NAN));
        let memory: Vec<String> = memory.iter().map(|mb| format!("{mb:.0}")).collect();
        table.note(format!(
            "resident memory of the process (stack and load), MB, each minute: {}",
            memory.join(", ")
        ));
        table.print();
        if args.day_seconds >= 120 {
            let by_minute = std::mem::take(&mut *clients.by_minute.lock().unwrap());
            let mut drift = Table::new("   the day minute by minute (every operation)");
            for (minute, latencies) in by_minute {
                let sample = Sample {
                    latencies,
                    errors: 0,
                    first_error: None,
                    elapsed: Duration::from_secs(60),
                };
                drift.row(&format!("minute {}", minute + 1), Measured::of(sample));
            }
            drift.print();
        }
    }

    impl Clients {
        async fn perform(&self, op: Op, i: u64, due: Instant) {
            let mut c = self.clone();
            match op {
                Op::Intake => {
                    let answer = c
                        .complaints
                        .create_complaint(new_complaint(&format!("day-{i}")))
                        .await;
                    self.record("CreateComplaint", due, answer.map(|_| ()));
                }
                Op::Read => {
                    let id = &self.complaint_ids[i as usize % self.complaint_ids.len()];
                    let answer = c
                        .complaints
                        .get_complaint(GetComplaintRequest {
                            property_id: PROPERTY.into(),
                            complaint_id: id.clone(),
                            number: 0,
                        })
                        .await;
                    self.record("GetComplaint", due, answer.map(|_| ()));
                }
                Op::ListComplaints => {
                    let answer = c
                        .complaints
                        .list_complaints(ListComplaintsRequest {
                            property_id: PROPERTY.into(),
                            page_size: 20,
                            ..Default::default()
                        })
                        .await;
                    self.record("ListComplaints", due, answer.map(|_| ()));
                }
                Op::KeyLoan => {
                    let Some(set) = self.free_sets.lock().unwrap().pop() else {
                        return self.record(
                            "BorrowKeys",
                            due,
                            Err(Status::resource_exhausted("every key set is out")),
                        );
                    };
                    let back = SystemClock.now() + chrono::Duration::hours(2);
                    let lent = c
                        .keys
                        .borrow_keys(keys::borrow(&format!("day-borrow-{i}"), &set, 1, back))
                        .await;
                    let loan = lent.map(|r| r.into_inner().loan.unwrap_or_default().id);
                    let returned_from = Instant::now();
                    self.record(
                        "BorrowKeys",
                        due,
                        loan.as_ref().map(|_| ()).map_err(Clone::clone),
                    );
                    if let Ok(loan) = loan {
                        let answer = c
                            .keys
                            .return_keys(ReturnKeysRequest {
                                property_id: PROPERTY.into(),
                                request_id: format!("day-return-{i}"),
                                loan_id: loan,
                                quantity: 1,
                                note: String::new(),
                            })
                            .await;
                        self.record("ReturnKeys", returned_from, answer.map(|_| ()));
                    }
                    self.free_sets.lock().unwrap().push(set);
                }
                Op::WorkOrder => {
                    let answer = c
                        .work_orders
                        .create_work_order(repair(&format!("day-{i}"), &self.unit_id))
                        .await;
                    self.record("CreateWorkOrder", due, answer.map(|_| ()));
                }
                Op::ReadWorkOrder => {
                    let id = &self.work_order_ids[i as usize % self.work_order_ids.len()];
                    let answer = c
                        .work_orders
                        .get_work_order(GetWorkOrderRequest {
                            property_id: PROPERTY.into(),
                            work_order_id: id.clone(),
                        })
                        .await;
                    self.record("GetWorkOrder", due, answer.map(|_| ()));
                }
                Op::ListWorkOrders => {
                    let answer = c
                        .work_orders
                        .list_work_orders(ListWorkOrdersRequest {
                            property_id: PROPERTY.into(),
                            page_size: 20,
                            ..Default::default()
                        })
                        .await;
                    self.record("ListWorkOrders", due, answer.map(|_| ()));
                }
                Op::Inspections => {
                    let answer = c
                        .inspections
                        .list_inspections(ListInspectionsRequest {
                            property_id: PROPERTY.into(),
                            page_size: 20,
                            ..Default::default()
                        })
                        .await;
                    self.record("ListInspections", due, answer.map(|_| ()));
                }
                Op::RecordInspection => {
                    let Some((daily, mut technician)) = self.dailies.lock().unwrap().pop() else {
                        return self.record(
                            "RecordInspection",
                            due,
                            Err(Status::resource_exhausted("every daily is recorded")),
                        );
                    };
                    let answer = technician
                        .record_inspection(RecordInspectionRequest {
                            property_id: PROPERTY.into(),
                            inspection_id: daily.id.clone(),
                            results: wuye_tests::inspection_answers(&daily.items, |_| None),
                            findings: String::new(),
                            major_finding: String::new(),
                        })
                        .await;
                    self.record("RecordInspection", due, answer.map(|_| ()));
                }
            }
        }

        fn record(&self, method: &'static str, from: Instant, answer: Result<(), Status>) {
            let mut timings = self.timings.lock().unwrap();
            let sample = timings.entry(method).or_insert_with(|| Sample {
                latencies: Vec::new(),
                errors: 0,
                first_error: None,
                elapsed: Duration::ZERO,
            });
            match answer {
                Ok(()) => {
                    let took = from.elapsed();
                    sample.latencies.push(took);
                    let minute = from.saturating_duration_since(self.start).as_secs() / 60;
                    let mut by_minute = self.by_minute.lock().unwrap();
                    by_minute.entry(minute).or_default().push(took);
                }
                Err(status) => {
                    sample.errors += 1;
                    sample.first_error.get_or_insert(status);
                }
            }
        }
    }

    /// Complaints and work orders to read, key sets to lend, and `zones` zones whose dailies
    /// of today are to be recorded.
    async fn setup(stack: &Stack, zones: usize) -> Clients {
        let complaint_ids = complaints(stack, 200).await;
        let mut households = HouseholdServiceClient::new(stack.as_role("cs_clerk", PROPERTY));
        let mut keys = KeyServiceClient::new(stack.as_role("cs_clerk", PROPERTY));
        let mut sets = Vec::new();
        let mut unit_ids = Vec::new();
        for n in 0..32 {
            let unit = households
                .create_unit(CreateUnitRequest {
                    property_id: PROPERTY.into(),
                    request_id: format!("day-unit-{n}"),
                    building: "9".into(),
                    entrance: "1".into(),
                    floor: n / 2 + 1,
                    room: format!("{}{:02}", n / 2 + 1, n % 2 + 1),
                    area_m2: 90.0,
                    state: 0,
                })
                .await
                .expect("a unit")
                .into_inner()
                .unit
                .unwrap();
            let set = keys
                .entrust_keys(keys::entrust(
                    &format!("day-set-{n}"),
                    &unit.id,
                    &format!("D-{n:02}"),
                ))
                .await
                .expect("an entrusted key set")
                .into_inner()
                .key_set
                .unwrap();
            sets.push(set.id);
            unit_ids.push(unit.id);
        }
        // Repairs of a unit engineering has learnt from customer-service's events (WO-1): the
        // first waits for it, a refusal of the unit storing nothing.
        let unit_id: Arc<str> = unit_ids[0].as_str().into();
        let work_orders =
            WorkOrderServiceClient::new(stack.as_role("engineering_manager", PROPERTY));
        let mut work_order_ids = Vec::new();
        for n in 0..50 {
            let request = repair(&format!("seed-{n}"), &unit_id);
            let order = wuye_tests::eventually(
                "engineering knows the unit",
                Duration::from_secs(30),
                || {
                    let (mut client, request) = (work_orders.clone(), request.clone());
                    async move {
                        match client.create_work_order(request).await {
                            Ok(order) => Some(order.into_inner().work_order.unwrap()),
                            Err(s) if s.code() == tonic::Code::InvalidArgument => None,
                            Err(s) => panic!("a work order for the reads: {s:?}"),
                        }
                    }
                },
            )
            .await;
            work_order_ids.push(order.id);
        }
        // A zone per daily, each with its own technician, who records it (INS-1).
        let mut equipment =
            EquipmentServiceClient::new(stack.as_role("engineering_manager", PROPERTY));
        for z in 0..zones {
            equipment
                .create_zone(CreateZoneRequest {
                    property_id: PROPERTY.into(),
                    request_id: format!("day-zone-{z}"),
                    name: format!("{z}号设备房"),
                    technician_user_id: format!("day-tech-{z}"),
                    technician_name: "李师傅".into(),
                })
                .await
                .expect("a zone");
        }
        let time_zone = deploy_properties()
            .get(PROPERTY)
            .expect("the test property")
            .time_zone;
        let today = SystemClock.now().with_timezone(&time_zone).date_naive();
        let mut inspections =
            InspectionServiceClient::new(stack.as_role("engineering_manager", PROPERTY));
        let dailies = inspections
            .generate_due_inspections(GenerateDueInspectionsRequest {
                property_id: PROPERTY.into(),
                day: today.to_string(),
            })
            .await
            .expect("today's inspections")
            .into_inner()
            .created
            .into_iter()
            .filter(|i| i.kind() == InspectionKind::Daily)
            .map(|daily| {
                let technician =
                    stack.as_user("technician", &daily.assignee_user_id, "李师傅", PROPERTY);
                (daily, InspectionServiceClient::new(technician))
            })
            .collect();
        Clients {
            complaints: ComplaintServiceClient::new(stack.as_role("cs_clerk", PROPERTY)),
            keys,
            work_orders,
            inspections,
            complaint_ids: Arc::new(complaint_ids),
            unit_id,
            work_order_ids: Arc::new(work_order_ids),
            free_sets: Arc::new(Mutex::new(sets)),
            dailies: Arc::new(Mutex::new(dailies)),
            timings: Arc::default(),
            by_minute: Arc::default(),
            start: Instant::now(),
        }
    }

    fn repair(request_id: &str, unit_id: &str) -> CreateWorkOrderRequest {
        CreateWorkOrderRequest {
            property_id: PROPERTY.into(),
            request_id: request_id.into(),
            unit_id: unit_id.into(),
            equipment_id: String::new(),
            description: "厨房水龙头漏水".into(),
            urgency: Urgency::Ordinary.into(),
            team: "水电班".into(),
            requester: Some(Requester {
                name: "李明".into(),
                phone: "138 0013 8000".into(),
            }),
            contact_number: 0,
            booked_time: None,
        }
    }
}

/// Scenario 5: headquarters scale: the portfolio of a month over many properties with a year of
/// complaints and work orders, and the plans of the paged lists on that data.
mod portfolio {
    use sqlx::{AnyConnection, Connection, Row};
    use wuye_kit::{calendar::Calendars, properties::Properties};
    use wuye_tests::proto::hq::{
        GetPortfolioRequest, portfolio_service_client::PortfolioServiceClient,
    };

    use super::*;

    /// The year of data: 2025-11 to 2026-10 (Shanghai); the report is of its last month.
    const FROM: &str = "2025-10-31T16:00:00Z";
    const MONTH: &str = "2026-10";

    pub async fn run(args: &Args, backend: Backend) -> anyhow::Result<()> {
        let configs = wuye::demo::property_configs(1, args.hq_properties);
        let ids: Vec<String> = configs.iter().map(|p| p.id.clone()).collect();
        let calendars = Calendars::load_dir(&wuye_tests::repo_root().join("deploy/calendars"))?;
        let properties = Properties::new(configs, &calendars)?;
        let stack = Stack::start_configured(backend, properties, production_settings).await;
        let loading = Instant::now();
        let complaints = stack.database("customer-service");
        load(
            &complaints,
            &complaint_sql(backend),
            &ids,
            args.hq_complaints,
        )
        .await?;
        let engineering = stack.database("engineering");
        load(
            &engineering,
            &work_order_sql(backend),
            &ids,
            args.hq_work_orders,
        )
        .await?;
        println!(
            "\n(loaded {} complaints and {} work orders over {} properties in {:.1} s)",
            args.hq_complaints,
            args.hq_work_orders,
            ids.len(),
            loading.elapsed().as_secs_f64()
        );

        let token = stack.token(
            "hq_viewer",
            &ids.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let client = PortfolioServiceClient::new(stack.authed(Some(token), None));
        let request = GetPortfolioRequest {
            month: MONTH.into(),
            ..Default::default()
        };
        let first = client
            .clone()
            .get_portfolio(request.clone())
            .await?
            .into_inner();
        let portfolio = first.portfolio.unwrap_or_default();
        let mut table = Table::new(&format!(
            "5. headquarters scale on {backend:?}: GetPortfolio of {MONTH}, {} properties ({} \
             answered, {} missing), 1 caller",
            ids.len(),
            portfolio.properties.len(),
            portfolio.missing.len()
        ));
        let measure = || {
            repeat(args, || {
                let (client, request) = (client.clone(), request.clone());
                closed_loop(1, args.window(), move |_, _| {
                    let (mut client, request) = (client.clone(), request.clone());
                    async move { client.get_portfolio(request).await.map(|_| ()) }
                })
            })
        };
        table.row("GetPortfolio", measure().await);
        breakdown(args, &stack, &ids, &mut table).await;
        for (what, plan) in plans(&complaints, &engineering, backend, &ids[0]).await? {
            table.note(format!("plan of {what}: {plan}"));
        }
        // Before and after: the same report without the work-order indexes of engineering's
        // migration 20261128200000.
        let mut conn = AnyConnection::connect(&engineering).await?;
        for index in WORK_ORDER_INDEXES {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {index}")))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        table.row("GetPortfolio, work-order indexes dropped", measure().await);
        table.print();
        Ok(())
    }

    /// Where the report's time goes: each figures call the gateway makes, for every property
    /// at once, straight to its department with the identity the gateway signs.
    async fn breakdown(args: &Args, stack: &Stack, ids: &[String], table: &mut Table) {
        use wuye_tests::proto::{
            archives::{
                FilingState, ListHouseholdFilesRequest,
                household_file_service_client::HouseholdFileServiceClient,
            },
            customerservice::{
                GetComplaintFiguresRequest, GetCustomerCareFiguresRequest, GetKeyFiguresRequest,
                customer_service_figures_service_client::CustomerServiceFiguresServiceClient,
                key_service_client::KeyServiceClient,
            },
            engineering::{
                GetEngineeringFiguresRequest, figures_service_client::FiguresServiceClient,
            },
            quality::{
                GetEscalationFiguresRequest, escalation_service_client::EscalationServiceClient,
            },
        };

        let signed = move |property: &str| Caller {
            post_id: String::new(),
            user_id: "gateway-portfolio".into(),
            name: "headquarters portfolio".into(),
            role: "service".into(),
            property: Some(property.to_owned()),
            ..Default::default()
        };
        let gateway = stack.signer(wuye_kit::identity::GATEWAY);
        let department = |name| {
            wuye_tests::config(stack.address(name))
                .signed(gateway.clone(), name, None)
                .lazy()
                .expect("a connection")
        };
        let (cs, eng, arc, qua) = (
            department("customer-service"),
            department("engineering"),
            department("archives"),
            department("quality"),
        );
        let ids = Arc::new(ids.to_vec());
        let month = || MONTH.to_owned();
        let calls: [(&str, FiguresCall); 6] = [
            ("GetComplaintFigures", {
                let cs = cs.clone();
                Arc::new(move |id, identity| {
                    let mut client =
                        CustomerServiceFiguresServiceClient::new(cs.calling_as(identity));
                    Box::pin(async move {
                        let request = GetComplaintFiguresRequest {
                            property_id: id,
                            month: month(),
                            to_month: String::new(),
                        };
                        client.get_complaint_figures(request).await.map(|_| ())
                    })
                })
            }),
            ("GetCustomerCareFigures", {
                let cs = cs.clone();
                Arc::new(move |id, identity| {
                    let mut client =
                        CustomerServiceFiguresServiceClient::new(cs.calling_as(identity));
                    Box::pin(async move {
                        let request = GetCustomerCareFiguresRequest {
                            property_id: id,
                            month: month(),
                            to_month: String::new(),
                        };
                        client.get_customer_care_figures(request).await.map(|_| ())
                    })
                })
            }),
            ("GetKeyFigures", {
                Arc::new(move |id, identity| {
                    let mut client = KeyServiceClient::new(cs.calling_as(identity));
                    Box::pin(async move {
                        let request = GetKeyFiguresRequest {
                            property_id: id,
                            from_month: month(),
                            to_month: month(),
                        };
                        client.get_key_figures(request).await.map(|_| ())
                    })
                })
            }),
            ("GetEngineeringFigures", {
                Arc::new(move |id, identity| {
                    let mut client = FiguresServiceClient::new(eng.calling_as(identity));
                    Box::pin(async move {
                        let request = GetEngineeringFiguresRequest {
                            property_id: id,
                            month: month(),
                        };
                        client.get_engineering_figures(request).await.map(|_| ())
                    })
                })
            }),
            ("GetEscalationFigures", {
                Arc::new(move |id, identity| {
                    let mut client = EscalationServiceClient::new(qua.calling_as(identity));
                    Box::pin(async move {
                        let request = GetEscalationFiguresRequest { property_id: id };
                        client.get_escalation_figures(request).await.map(|_| ())
                    })
                })
            }),
            ("ListHouseholdFiles, overdue", {
                Arc::new(move |id, identity| {
                    let mut client = HouseholdFileServiceClient::new(arc.calling_as(identity));
                    Box::pin(async move {
                        let request = ListHouseholdFilesRequest {
                            property_id: id,
                            filing_state: FilingState::Overdue.into(),
                            page_size: 500,
                            page_token: String::new(),
                        };
                        client.list_household_files(request).await.map(|_| ())
                    })
                })
            }),
        ];
        for (name, call) in calls {
            let measured = repeat(args, || {
                let (ids, signed, call) = (ids.clone(), signed, call.clone());
                closed_loop(1, args.window(), move |_, _| {
                    let calls: Vec<_> = ids.iter().map(|id| call(id.clone(), signed(id))).collect();
                    async move { futures::future::join_all(calls).await.into_iter().collect() }
                })
            })
            .await;
            table.row(&format!("  {name}, every property at once"), measured);
        }
    }

    /// One figures call for a property, with the gateway's identity for it.
    type FiguresCall = Arc<
        dyn Fn(String, Caller) -> futures::future::BoxFuture<'static, Result<(), Status>>
            + Send
            + Sync,
    >;

    const WORK_ORDER_INDEXES: [&str; 3] = [
        "work_orders_by_open",
        "work_orders_by_arrival",
        "work_orders_by_completion",
    ];

    /// Inserts `count` rows with `sql`, in batches: rows $1 to $2 (excluded) of $3 properties,
    /// the first at $4 (micros), each property's next `$5` later.
    async fn load(url: &str, sql: &[String], ids: &[String], count: u64) -> anyhow::Result<()> {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(url).await?;
        const BATCH: u64 = 50_000;
        let micros = chrono::DateTime::parse_from_rfc3339(FROM)?.timestamp_micros();
        let per_property = count.div_ceil(ids.len() as u64).max(1);
        // A year spread evenly over each property's records.
        let step = 365 * 24 * 3600 * 1_000_000 / per_property as i64;
        let mut start = 0;
        while start < count {
            let end = (start + BATCH).min(count);
            let mut tx = conn.begin().await?;
            for statement in sql {
                sqlx::query(sqlx::AssertSqlSafe(statement.as_str()))
                    .bind(start as i64)
                    .bind(end as i64)
                    .bind(ids.len() as i64)
                    .bind(micros)
                    .bind(step)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            start = end;
        }
        conn.close().await?;
        Ok(())
    }

    /// Row `i` belongs to property `i % $3` (numbered p001…, as the generator names them),
    /// is its `i / $3 + 1`-th, and registers `step` after its predecessor.
    fn series(backend: Backend) -> (&'static str, &'static str) {
        match backend {
            Backend::Sqlite => (
                "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $2)",
                "printf('p%03d', i % $3 + 1)",
            ),
            Backend::Postgres => (
                "WITH n(i) AS (SELECT generate_series($1::BIGINT, $2::BIGINT - 1))",
                "'p' || lpad((i % $3 + 1)::TEXT, 3, '0')",
            ),
        }
    }

    fn complaint_sql(backend: Backend) -> Vec<String> {
        let (n, property) = series(backend);
        let at = "($4 + (i / $3) * $5)";
        vec![
            format!(
                "{n} INSERT INTO contacts (property_id, number, channel, kind, register_at, \
                 registered_by) SELECT {property}, i / $3 + 1, 'phone', 'complaint', {at}, \
                 'bench' FROM n"
            ),
            format!(
                "{n} INSERT INTO complaints (id, property_id, number, channel, complainant_name, \
                 complainant_phone, category, description, severity, state, register_at, \
                 reply_due_at, registered_by_id, registered_by_name, registered_by_role, \
                 reply_at, close_at, results_told) \
                 SELECT 'bench-' || i, {property}, i / $3 + 1, 'phone', '李静', '', \
                 CASE i % 4 WHEN 0 THEN '保洁服务' WHEN 1 THEN '维修服务' WHEN 2 THEN '安全管理' \
                 ELSE '绿化服务' END, '楼道垃圾未及时清运', \
                 CASE WHEN i % 10 = 0 THEN 'serious' WHEN i % 10 < 4 THEN 'general' \
                 ELSE 'minor' END, \
                 CASE WHEN i % 7 = 0 THEN 'in_progress' ELSE 'closed' END, \
                 {at}, {at} + 86400000000, 'bench', '测试员', 'front_desk', \
                 CASE WHEN i % 13 = 0 THEN NULL ELSE {at} + 3600000000 END, \
                 CASE WHEN i % 7 = 0 THEN NULL ELSE {at} + 172800000000 END, \
                 CASE WHEN i % 7 = 0 THEN 0 ELSE 1 END FROM n"
            ),
        ]
    }

    fn work_order_sql(backend: Backend) -> Vec<String> {
        let (n, property) = series(backend);
        let at = "($4 + (i / $3) * $5)";
        vec![format!(
            "{n} INSERT INTO work_orders (id, property_id, number, source, description, urgency, \
             team, requester_name, requester_phone, state, open_at, opened_by_id, opened_by_name, \
             opened_by_role, assignee_user_id, assignee_name, arrive_at, arrived_late, work_done, \
             complete_at, customer_rating, customer_signature) \
             SELECT 'bench-' || i, {property}, i / $3 + 1, 'customer_request', '厨房水龙头漏水', \
             'ordinary', '水电班', '李明', '', 'completed', {at}, 'bench', '测试员', \
             'front_desk', 'tech-1', '张师傅', {at} + 1800000000, \
             CASE WHEN i % 9 = 0 THEN 1 ELSE 0 END, '更换阀芯', {at} + 7200000000, 5, '' \
             FROM n"
        )]
    }

    /// The query plans of the paged lists and of the figures on the loaded data.
    async fn plans(
        complaints: &str,
        engineering: &str,
        backend: Backend,
        property: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let explain = match backend {
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
            Backend::Postgres => "EXPLAIN",
        };
        let queries = [
            (
                complaints,
                "ListComplaints",
                "SELECT id FROM complaints WHERE property_id = $1 AND number < 500000 \
                 ORDER BY number DESC LIMIT 20",
            ),
            (
                complaints,
                "complaint figures",
                "SELECT severity, state, COUNT(*), \
                 SUM(CASE WHEN reply_at IS NOT NULL OR reply_due_at < 1 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN reply_at <= reply_due_at THEN 1 ELSE 0 END) FROM complaints \
                 WHERE property_id = $1 AND register_at >= 0 AND register_at < 1 \
                 GROUP BY severity, state",
            ),
            (
                engineering,
                "ListWorkOrders",
                "SELECT id FROM work_orders WHERE property_id = $1 ORDER BY number DESC LIMIT 20",
            ),
            (
                engineering,
                "work order figures",
                "SELECT COUNT(*), SUM(arrived_late) FROM work_orders WHERE property_id = $1 \
                 AND arrive_at >= 0 AND arrive_at < 1",
            ),
        ];
        let mut plans = Vec::new();
        for (url, what, sql) in queries {
            let mut conn = AnyConnection::connect(url).await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {sql}")))
                .bind(property)
                .fetch_all(&mut conn)
                .await?;
            let lines: Vec<String> = rows
                .iter()
                .map(|row| match backend {
                    Backend::Sqlite => row.try_get::<String, _>("detail").unwrap_or_default(),
                    Backend::Postgres => row.try_get::<String, _>(0).unwrap_or_default(),
                })
                .map(|line| line.trim().to_owned())
                .collect();
            plans.push((what.to_owned(), lines.join("; ")));
            conn.close().await?;
        }
        Ok(plans)
    }
}

/// Scenario 6: footprint: resident memory of `wuye up` (the release binary beside this benchmark)
/// idle and under the intake load of scenario 3.
mod footprint {
    use std::process::{Command, Stdio};

    use wuye_tests::process::{DEPARTMENTS, Deployment};

    use super::*;

    pub async fn run(args: &Args) -> anyhow::Result<()> {
        up(args).await?;
        apart(args).await
    }

    /// `wuye up`: every department and the gateway in one process.
    async fn up(args: &Args) -> anyhow::Result<()> {
        let bin = wuye_tests::process::bin_dir().join("wuye");
        anyhow::ensure!(
            bin.exists(),
            "build the binaries first: cargo build --release --workspace --bins"
        );
        let data = std::env::temp_dir().join(format!("wuye-bench-up-{}", uuid::Uuid::now_v7()));
        let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut up = Command::new(bin)
            .args(["up", "--listen", &listen.to_string(), "--data"])
            .arg(&data)
            .current_dir(wuye_tests::repo_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let pid = up.id();
        let channel = wuye_tests::channel(listen);
        let mut health = HealthClient::new(channel.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        while health.check(HealthCheckRequest::default()).await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "wuye up did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = resident(pid, "VmRSS")?;
        let sample = load(args, channel).await?;
        let loaded = resident(pid, "VmRSS")?;
        let peak = resident(pid, "VmHWM")?;
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = up.wait();
        let _ = std::fs::remove_dir_all(&data);

        let mut table = Table::new(&format!(
            "6. footprint: wuye up (all departments and the gateway, SQLite), intake at {} \
             callers",
            args.callers
        ));
        table.row("CreateComplaint under the load", Measured::of(sample));
        table.note(format!(
            "resident memory: idle {idle:.1} MB, after the load {loaded:.1} MB, peak {peak:.1} MB"
        ));
        table.print();
        Ok(())
    }

    /// Each department's own binary and the gateway's, as deployed apart (SQLite, the
    /// production pool), idle and after the same intake through the gateway process.
    async fn apart(args: &Args) -> anyhow::Result<()> {
        let work = std::env::temp_dir().join(format!("wuye-bench-apart-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&work)?;
        let pool = ServiceSettings::default()
            .database
            .max_connections
            .to_string();
        let Deployment { processes, gateway } = Deployment::start(
            &work,
            &[const { String::new() }; DEPARTMENTS.len()],
            |prefix| {
                if prefix == "GATEWAY" {
                    return Vec::new();
                }
                vec![(
                    format!("WUYE_{prefix}__DATABASE__MAX_CONNECTIONS"),
                    pool.clone(),
                )]
            },
        )
        .await;
        let names: Vec<&str> = DEPARTMENTS
            .iter()
            .map(|(name, _, _)| *name)
            .chain(["gateway"])
            .collect();
        let memory = |field: &str| -> anyhow::Result<Vec<f64>> {
            names
                .iter()
                .map(|name| {
                    let pid = processes
                        .pid(name)
                        .ok_or_else(|| anyhow::anyhow!("wuye-{name} is not running"))?;
                    resident(pid, field)
                })
                .collect()
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = memory("VmRSS")?;
        let sample = load(args, wuye_tests::channel(gateway)).await?;
        let loaded = memory("VmRSS")?;
        let peak = memory("VmHWM")?;
        processes.stop().await;
        let _ = std::fs::remove_dir_all(&work);

        let mut table = Table::new(&format!(
            "6. footprint: each binary as its own process (SQLite), intake at {} callers \
             through the gateway",
            args.callers
        ));
        table.row("CreateComplaint under the load", Measured::of(sample));
        table.note("resident memory, MB: process | idle | after the load | peak".to_owned());
        for (i, name) in names.iter().enumerate() {
            table.note(format!(
                "  wuye-{name} | {:.1} | {:.1} | {:.1}",
                idle[i], loaded[i], peak[i]
            ));
        }
        table.print();
        Ok(())
    }

    /// Intake at `args.callers` people, each with their own token, through the gateway at
    /// `channel`, for twice the measuring window.
    async fn load(args: &Args, channel: Channel) -> anyhow::Result<Sample> {
        let mut clients = Vec::new();
        for caller in 0..args.callers {
            let token = wuye_gateway::sign_dev_token(
                "front_desk",
                &[PROPERTY.to_owned()],
                &format!("desk-{caller}"),
                "前台",
                Duration::from_secs(3600),
            )?;
            let config = wuye_client::Config::default()
                .token(token)
                .property(PROPERTY)
                .retry(wuye_client::Policy::none());
            clients.push(ComplaintServiceClient::new(config.over(channel.clone())?));
        }
        let clients = Arc::new(clients);
        let run = uuid::Uuid::now_v7();
        Ok(
            closed_loop(args.callers, args.window() * 2, move |caller, i| {
                let mut client = clients[caller].clone();
                async move {
                    client
                        .create_complaint(new_complaint(&format!("footprint-{run}-{caller}-{i}")))
                        .await
                        .map(|_| ())
                }
            })
            .await,
        )
    }

    /// A memory figure of /proc/<pid>/status, in MB.
    pub fn resident(pid: u32, field: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/{pid}/status"))?;
        Ok(kb / 1024.0)
    }
}
