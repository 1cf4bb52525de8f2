//! `wuye up`: the five departments and the gateway in one process.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use clap::Args;
use tokio::net::TcpListener;
use wuye::demo::DemoSize;
use wuye_kit::{
    Deps, ServiceSettings, calendar::Calendars, clock::ShiftedClock, properties::Properties,
};

#[derive(Args)]
pub struct UpArgs {
    /// Where the gateway listens.
    #[arg(long, env = "WUYE_LISTEN", default_value = "127.0.0.1:50050")]
    listen: String,
    /// Directory of the SQLite files, one per service.
    #[arg(long, env = "WUYE_DATA", default_value = "data")]
    data: PathBuf,
    /// The properties file.
    #[arg(long, default_value = "deploy/properties.toml")]
    properties: PathBuf,
    /// The gateway's authorization policy.
    #[arg(long, default_value = "deploy/policy.toml")]
    policy: PathBuf,
    /// Load demo data into the first property (safe to repeat: the same seed loads the same
    /// data once).
    #[arg(long)]
    demo: bool,
    /// With --demo: serve this many generated properties (p001, p002, …) instead of the
    /// properties file, and load demo data into every one.
    #[arg(long, default_value_t = 0)]
    demo_properties: u32,
    /// With --demo: buildings per property (2 entrances, 6 floors, 2 units a floor each).
    #[arg(long, default_value_t = 2)]
    demo_buildings: u32,
    /// With --demo: complaints per property.
    #[arg(long, default_value_t = 12)]
    demo_complaints: u32,
    /// With --demo: months of history per property before today: the complaints spread over
    /// them and taken through their steps, key custody with loans and returns, repair work
    /// orders, follow-up visits, each on its day (the services' clock is set back while they
    /// load).
    #[arg(long, default_value_t = 0)]
    demo_months: u32,
    /// With --demo: the seed number; the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `json` for JSON log lines.
    #[arg(long, default_value = "text")]
    log_format: String,
    /// The web console's built files, served by the gateway. Missing, they are built first
    /// (`npm ci`, `npm run build` in the directory above, console/) when npm is on PATH.
    #[arg(long, default_value = "console/dist")]
    console: PathBuf,
    /// A company OpenID provider staff sign in with beside the development sign-in: its
    /// issuer, exactly as its ID tokens' `iss` says it. With --oidc-client-id.
    #[arg(long, requires = "oidc_client_id", value_name = "URL")]
    oidc_issuer: Option<String>,
    /// The console's client id at that provider: the console offers "使用 公司账号 登录" and
    /// the gateway accepts ID tokens for this audience whose `sub` is a directory sign-in.
    #[arg(long, requires = "oidc_issuer", value_name = "ID")]
    oidc_client_id: Option<String>,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    // `wuye up` is development: every key is the public development key, announced.
    let mut settings = ServiceSettings {
        dev: true,
        ..ServiceSettings::default()
    };
    settings.database.data_dir = args.data.clone();
    settings.properties_file = args.properties.clone();
    settings.telemetry.log_format = args.log_format.clone();
    settings.telemetry.log_filter = "info,sqlx=warn".into();
    let telemetry = wuye_kit::telemetry::init("wuye", &settings.telemetry)?;
    let console_dir = args.console.clone();
    let console = tokio::task::spawn_blocking(move || build_console(&console_dir)).await?;
    let properties = properties(&args)?;
    // The services' clock is real time, except while demo history loads: then it is set to
    // each day of the history in turn, and back to real time before anyone is served.
    let clock = ShiftedClock::new();
    let deps = Deps {
        clock: Arc::new(clock.clone()),
        properties,
    };

    let mut gateway = wuye_gateway::GatewaySettings {
        dev: true,
        policy_file: args.policy.clone(),
        ..Default::default()
    };
    gateway.console.dir = args.console.clone();
    if let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) {
        company_sign_in(&mut gateway, issuer, client_id);
    }
    let mut servers = Vec::new();
    for department in wuye::build_departments(|_| settings.clone(), &deps).await? {
        gateway.upstreams.insert(
            department.package.into(),
            format!("http://{}", department.address),
        );
        servers.push(department.server);
    }
    let listener = TcpListener::bind(&args.listen).await?;
    let address = format!("http://{}", listener.local_addr()?);
    servers.push(wuye_gateway::build(gateway, listener).await?);

    let (stop, _) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for server in servers {
        let mut stopped = stop.subscribe();
        tasks.spawn(server.run_until(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
    }

    let property = deps
        .properties
        .iter()
        .next()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    if args.demo {
        load_demo(&args, &deps.properties, &address, &clock).await?;
    }
    announce(&address, &args.data, &property, args.demo)?;
    if console {
        println!("console: {address}/");
    } else {
        let index = args.console.join("index.html");
        println!("console: none (no {} to serve)", index.display());
    }
    if let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) {
        println!("company sign-in: {issuer} (client {client_id}), beside the development one");
    }

    tokio::select! {
        _ = wuye_kit::server::shutdown_signal() => {}
        Some(result) = tasks.join_next() => result??,
    }
    let _ = stop.send(true);
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    telemetry.shutdown();
    Ok(())
}

/// Trusts the company's provider at `issuer` for ID tokens of the console's client, and has
/// the console offer it.
fn company_sign_in(gateway: &mut wuye_gateway::GatewaySettings, issuer: &str, client_id: &str) {
    gateway.auth.oidc.push(wuye_gateway::OidcIssuerSettings {
        issuer: issuer.to_owned(),
        audiences: vec![client_id.to_owned()],
        ..Default::default()
    });
    gateway
        .console
        .sign_in
        .push(wuye_gateway::console::SignInSettings {
            name: "公司账号".into(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            ..Default::default()
        });
}

/// The properties served: the file's, or with --demo-properties generated ones.
fn properties(args: &UpArgs) -> anyhow::Result<Properties> {
    Ok(if args.demo && args.demo_properties > 0 {
        let calendars = args
            .properties
            .parent()
            .unwrap_or(Path::new("."))
            .join("calendars");
        Properties::new(
            wuye::demo::property_configs(args.seed, args.demo_properties),
            &Calendars::load_dir(&calendars)?,
        )?
    } else {
        Properties::load(&args.properties)?
    })
}

/// Whether the console's files are in `dir`, built first with npm when they are missing and
/// their project (the directory above, console/) is at hand. A failed build is a warning: wuye
/// comes up without the console.
fn build_console(dir: &Path) -> bool {
    let index = dir.join("index.html");
    if dir.as_os_str().is_empty() || index.is_file() {
        return index.is_file();
    }
    let Some(project) = dir.parent().filter(|p| p.join("package.json").is_file()) else {
        return false;
    };
    let Some(npm) = on_path("npm") else {
        println!("console: not built, and npm is not on PATH to build it");
        return false;
    };
    for args in [&["ci"][..], &["run", "build"]] {
        let command = format!("npm {}", args.join(" "));
        println!("console: {command} in {}", project.display());
        match Command::new(&npm).args(args).current_dir(project).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                println!("warning: `{command}` failed ({status}): serving no console");
                return false;
            }
            Err(e) => {
                println!("warning: `{command}` did not run ({e}): serving no console");
                return false;
            }
        }
    }
    if !index.is_file() {
        println!(
            "warning: the console's build wrote no {}: serving no console",
            index.display()
        );
    }
    index.is_file()
}

/// The program `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Loads the demo data through the gateway at `address`, the history on `clock`'s days.
async fn load_demo(
    args: &UpArgs,
    properties: &Properties,
    address: &str,
    clock: &ShiftedClock,
) -> anyhow::Result<()> {
    let size = DemoSize {
        buildings: args.demo_buildings,
        complaints: args.demo_complaints,
        months: args.demo_months,
        ..DemoSize::default()
    };
    // Generated properties are all loaded; otherwise only the first of the file.
    let count = if args.demo_properties > 0 {
        usize::MAX
    } else {
        1
    };
    let targets: Vec<(String, String)> = properties
        .iter()
        .take(count)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    wuye::demo::load_all(address, args.seed, &targets, size, Some(clock)).await?;
    Ok(())
}

/// Says where wuye is, a development token to call it with, and with the demo's staff, the
/// development sign-in.
fn announce(address: &str, data: &Path, property: &str, demo: bool) -> anyhow::Result<()> {
    let token = wuye_gateway::sign_dev_token(
        "front_desk",
        &[property.to_owned()],
        "front-desk-1",
        "前台 王芳",
        Duration::from_secs(12 * 3600),
    )?;
    println!("wuye is up: gateway {address}, data in {}", data.display());
    println!(
        "development mode: the public keys of deploy/dev-keys sign and seal everything; never \
         use it with real data"
    );
    println!("development token (front_desk of {property}, 12 h; `wuye token` makes others):");
    println!("export WUYE_GATEWAY={address} WUYE_PROPERTY={property} WUYE_TOKEN={token}");
    if demo {
        println!(
            "development sign-in (no identity provider: the gateway's development issuer \
             {address}/dev/oidc signs for anyone of the directory, as a company's provider would \
             after a password): `wuye login --dev <sign-in> --gateway {address}` with a sign-in \
             of the demo staff above, then `wuye whoami`"
        );
    }
    Ok(())
}
