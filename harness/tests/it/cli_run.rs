//! `harness run` as CI runs it, in a project of its own (scenarios/ only: the embedded infra is
//! used): a changed item fails with insta's stored snapshot and a unified diff, in the output and
//! in the JUnit report; a missing fixture is named with where fixtures are looked for.

use std::path::Path;
use std::process::Command;

const SCENARIO: &str = r#"description: One small file lands.
remote:
  - {path: /in/a.data, content: "abc"}
jobs:
  - {jobId: job-1, project: P, file: {fileName: a.data, remotePath: /in/a.data}}
expect:
  jobs: {job-1: {status: COMPLETED, transferStage: DONE}}
  objects: [{key: P/a.data, size: 3, sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}]
  remote: []
"#;

/// `harness run --project project args…` as CI runs it (`CI` set: no snapshot is written).
fn harness(project: &Path, args: &[&str]) -> (i32, String, String) {
    harness_with(project, args, true)
}

fn harness_with(project: &Path, args: &[&str], ci: bool) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(["run", "--project"])
        .arg(project)
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("INSTA_UPDATE");
    if ci {
        command.env("CI", "1");
    } else {
        command.env_remove("CI");
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_changed_item_fails_with_a_unified_diff_of_the_snapshot() {
    let project = tempfile::tempdir().unwrap();
    let scenarios = project.path().join("scenarios");
    std::fs::create_dir_all(scenarios.join("snapshots")).unwrap();
    std::fs::write(scenarios.join("lands.yaml"), SCENARIO).unwrap();

    // No snapshot yet: under CI the run fails and says how to make one.
    let (code, stdout, _) = harness(project.path(), &["lands"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("no snapshot at") && stdout.contains("--accept"),
        "{stdout}"
    );

    // A snapshot that holds another size: the diff names the line.
    let snapshot = include_str!("../../../scenarios/snapshots/seed_example.snap")
        .split("\n---\n")
        .next()
        .unwrap()
        .to_string();
    let body = r#"[
  {
    "jobId": "job-1",
    "transfer": {
      "bytes": 4
    }
  }
]"#;
    std::fs::write(
        scenarios.join("snapshots/lands.snap"),
        format!("{snapshot}\n---\n{body}\n"),
    )
    .unwrap();
    let junit = project.path().join("junit.xml");
    let (code, stdout, stderr) = harness(project.path(), &["--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("FAILED lands"), "{stdout}");
    assert!(stdout.contains("snapshot ") && stdout.contains("differs"), "{stdout}");
    assert!(
        stdout.contains("--- stored") && stdout.contains("+++ this run"),
        "{stdout}"
    );
    assert!(stdout.contains("-      \"bytes\": 4"), "{stdout}");
    assert!(stdout.contains("+      \"bytes\": 3,"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
    let report = std::fs::read_to_string(&junit).unwrap();
    assert!(
        report.contains("tests=\"1\" failures=\"1\"") && report.contains("differs"),
        "{report}"
    );
    assert!(
        !scenarios.join("snapshots/lands.snap.new").exists(),
        "CI writes no snapshot"
    );

    // Outside CI the new snapshot waits beside the old one for review, as insta leaves it, and
    // `--accept` takes it.
    let (code, stdout, _) = harness_with(project.path(), &["lands"], false);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("lands.snap.new"), "{stdout}");
    let pending = std::fs::read_to_string(scenarios.join("snapshots/lands.snap.new")).unwrap();
    assert!(pending.contains("\"bytes\": 3,"), "{pending}");
    let (code, stdout, _) = harness_with(project.path(), &["--accept", "lands"], false);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("updated snapshot"), "{stdout}");
    assert!(!scenarios.join("snapshots/lands.snap.new").exists(), "taken");
    let (code, stdout, _) = harness(project.path(), &["lands"]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn a_missing_fixture_is_named() {
    let project = tempfile::tempdir().unwrap();
    let scenarios = project.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("fixture.yaml"),
        SCENARIO.replace(r#"content: "abc""#, "fixture: nope.data"),
    )
    .unwrap();
    let (code, stdout, _) = harness(project.path(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("remote file /in/a.data: fixture \"nope.data\"") && stdout.contains("fixtures live in"),
        "{stdout}"
    );
}

/// What `harness scenario matrix --output DIR` writes runs as written with `harness run`, under
/// `CI` (no snapshot may be written) as without: each cell says in its file that it is judged by
/// the invariants alone, so it needs no expectations and no snapshot. (Two cells, one quick and
/// one with a fault; the scenario tests play every cell.)
#[test]
fn the_matrix_s_files_run_as_written() {
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().join("scenarios");
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["scenario", "matrix", "--output"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cell = std::fs::read_to_string(dir.join("pipe-duplicate-delivery.yaml")).unwrap();
    assert!(cell.contains("invariants_only: true"), "{cell}");
    for ci in [true, false] {
        let (code, stdout, stderr) = harness_with(project.path(), &["pipe-duplicate-delivery", "streaming-drop"], ci);
        assert_eq!(code, 0, "CI {ci}: {stdout}{stderr}");
        assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
        assert!(!dir.join("snapshots").exists(), "no snapshot is written: {stdout}");
    }
}

/// `harness explore` pointed at a user's project whose state machine has a bug (its FinalizeJob
/// is a Pass state that records nothing: every transferred job stays RUNNING): it
/// finds the violation, shrinks it, writes it as a scenario file, ends `explore: 1 schedules, 1
/// violations (seed 5)` and exits 1; `harness run` on that project replays the file as written,
/// with and without `CI`, and fails for the same reason.
#[test]
fn explore_finds_shrinks_and_writes_what_run_replays() {
    let project = tempfile::tempdir().unwrap();
    let infra = project.path().join("infra");
    std::fs::create_dir_all(&infra).unwrap();
    let asl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/statemachine.asl.json")).unwrap();
    let mut machine: serde_json::Value = serde_json::from_str(&asl).unwrap();
    assert_eq!(machine["States"]["TransferFile"]["Next"], "FinalizeJob");
    machine["States"]["FinalizeJob"] = serde_json::json!({"Type": "Pass", "End": true});
    std::fs::write(infra.join("statemachine.asl.json"), machine.to_string()).unwrap();
    let found = project.path().join("explored");
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["explore", "--seed", "5", "--schedules", "1", "--jobs", "1", "--project"])
        .arg(project.path())
        .arg("--output")
        .arg(&found)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().last(),
        Some("explore: 1 schedules, 1 violations (seed 5)"),
        "{stdout}"
    );
    assert!(stdout.contains("is not terminal (RUNNING)"), "{stdout}");
    let file = found.join("explore-5-0.yaml");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("invariants_only: true"), "{written}");
    assert!(
        written.contains("Found by harness explore (seed 5, schedule 0), shrunk"),
        "{written}"
    );
    assert!(
        !written.contains("objects: []"),
        "judged by the invariants alone: {written}"
    );
    for ci in [true, false] {
        let (code, stdout, stderr) = harness_with(project.path(), &[file.to_str().unwrap()], ci);
        assert_eq!(code, 1, "CI {ci}: {stdout}{stderr}");
        assert!(stdout.contains("is not terminal (RUNNING)"), "CI {ci}: {stdout}");
        assert!(stdout.contains("0 passed, 1 failed"), "CI {ci}: {stdout}");
    }
}
