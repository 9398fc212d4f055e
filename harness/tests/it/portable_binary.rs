//! The built `harness` binary, copied into an empty directory outside the checkout, works from
//! there: `up` boots on the embedded infra files, `sfn run` takes an absolute definition, and
//! `run --project <checkout>` runs a scenario of that checkout. Nothing is built for this test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
}

/// Runs `f` (a spawn) again while it fails with ETXTBSY: the copy was open for writing in this
/// process when another test thread forked, and the child holds that descriptor until it execs.
/// The window is a fork-to-exec; no other error is retried.
fn exec_retrying<T>(mut f: impl FnMut() -> std::io::Result<T>) -> T {
    for _ in 0..100 {
        match f() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            other => return other.unwrap(),
        }
    }
    panic!("the copied binary stayed busy for a second")
}

/// The binary, copied into a fresh directory; the command runs there with no project in sight.
fn portable() -> (tempfile::TempDir, impl Fn() -> Command) {
    let dir = tempfile::Builder::new()
        .prefix("filechecks-portable-")
        .tempdir()
        .unwrap();
    assert!(
        !dir.path().starts_with(checkout()),
        "the temp dir is outside the checkout"
    );
    let binary = dir.path().join("harness");
    std::fs::copy(env!("CARGO_BIN_EXE_harness"), &binary).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let command = move || {
        let mut command = Command::new(&binary);
        command
            .current_dir(&work)
            .env_remove("FILECHECKS_PROJECT")
            .env_remove("AWS_ENDPOINT_URL");
        command
    };
    (dir, command)
}

#[test]
fn up_boots_from_an_empty_directory_on_the_embedded_infra() {
    let (_dir, harness) = portable();
    let mut up = harness();
    up.arg("up").stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = exec_retrying(|| up.spawn());
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let _up = Killed(child);
    let mut exports = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if line.starts_with("# ready") {
            break;
        }
        if let Some(export) = line.strip_prefix("export ") {
            exports.push(export.split('=').next().unwrap().to_string());
        }
    }
    for wanted in ["AWS_ENDPOINT_URL", "JOBS_TABLE", "LANDING_BUCKET", "FTPS_SECRET_ID"] {
        assert!(exports.iter().any(|e| e == wanted), "{wanted} in {exports:?}");
    }
}

#[test]
fn sfn_run_takes_an_absolute_definition() {
    let (dir, harness) = portable();
    let definition = dir.path().join("hello.asl.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)"}, "End": true}}}"#,
    )
    .unwrap();
    let mut sfn = harness();
    sfn.args(["sfn", "run", "--definition"])
        .arg(&definition)
        .args(["--input", r#"{"who": "anywhere"}"#]);
    let out = exec_retrying(|| sfn.output());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "SUCCEEDED");
    assert_eq!(report["output"]["greeting"], "Hello, anywhere!");
}

#[test]
fn run_takes_a_scenario_of_the_project_it_is_given() {
    let (_dir, harness) = portable();
    let mut run = harness();
    run.args(["run", "--project"])
        .arg(checkout())
        .arg("scenarios/seed_example.yaml");
    let out = exec_retrying(|| run.output());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"), "{stdout}");

    // Without a project, a scenario name means nothing: the error says what was tried.
    let mut run = harness();
    run.args(["run", "seed_example"]);
    let out = exec_retrying(|| run.output());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no scenario seed_example"), "{stderr}");
}
