//! `harness scenario from-item`: ERROR items as an on-call engineer exports them become
//! scenarios that, run in a fresh world, end in the same recorded error.

use harness::scenario::from_item::scenario_from_item;
use harness::scenario::{Runner, Scenario};
use harness::world::Project;
use pipeline::job::TransferStage;
use serde_json::Value;

fn error_item(job: &str, name: &str, message: &str, file_name: &str) -> Value {
    serde_json::to_value(crate::common::error_job(
        job,
        name,
        message,
        file_name,
        TransferStage::Connecting,
    ))
    .unwrap()
}

async fn reproduce(item: Value, expected_error: &str) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_from_item(&item).unwrap().to_yaml();
    let path = dir.path().join("reproduction.yaml");
    std::fs::write(&path, &scenario).unwrap();
    let report = Runner::new(Project::discover(None).unwrap())
        .run(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{scenario}"));
    assert!(report.failures.is_empty(), "{:?}\n{scenario}", report.failures);
    assert!(
        report.snapshot.contains(&format!("\"name\": \"{expected_error}\"")),
        "{}",
        report.snapshot
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_file_from_dynamodb_json_export() {
    let job = crate::common::error_job(
        "job-a",
        "RemoteFileNotFound",
        "remote file not found: /x: 550 File not found",
        "mo.moyr540.data",
        TransferStage::Connecting,
    );
    reproduce(crate::common::get_item_output(&job), "RemoteFileNotFound").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_faults() {
    for (name, message) in [
        ("FtpsAuthFailed", "530 Login incorrect."),
        ("TransientNetwork", "data connection for /x failed after 1048576 bytes"),
        ("RemoteDeleteFailed", "550 Permission denied"),
        ("IntegrityMismatch", "read 10 bytes of /x, the server's SIZE is 11"),
        ("TlsVerificationFailed", "invalid peer certificate: UnknownIssuer"),
    ] {
        reproduce(error_item(&format!("job-{name}"), name, message, "a.data"), name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_faults_and_injected_errors() {
    reproduce(
        error_item("job-u", "UnsafeFileName", "unsafe file name", "../../x"),
        "UnsafeFileName",
    )
    .await;
    reproduce(
        error_item(
            "job-aws",
            "AwsServiceUnavailable",
            "SlowDown: Please reduce your request rate",
            "a.data",
        ),
        "AwsServiceUnavailable",
    )
    .await;
}

#[test]
fn the_cli_prints_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("item.json");
    std::fs::write(
        &path,
        error_item("job-cli", "RemoteFileNotFound", "550", "f.data").to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["scenario", "from-item"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let yaml = String::from_utf8(out.stdout).unwrap();
    Scenario::parse(&yaml, &path).unwrap();
    assert!(
        yaml.contains("job-cli") && yaml.contains("RemoteFileNotFound"),
        "{yaml}"
    );
}
