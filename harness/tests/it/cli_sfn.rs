//! `harness sfn run` as a user runs it: one JSON object on stdout, exit 0 whenever the
//! execution ran, non-zero with a clear message for an invalid definition.

use std::process::Command;

use serde_json::Value;

fn harness(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness")).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let value = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).expect("stdout is one JSON object")
    };
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().to_string()
}

#[test]
fn runs_a_definition_and_prints_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        &dir,
        "def.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)"}, "End": true}}}"#,
    );
    let input = write(&dir, "input.json", r#"{"who": "FileChecks"}"#);
    let (code, report, _) = harness(&["sfn", "run", "--definition", &def, "--input", &format!("@{input}")]);
    assert_eq!(code, 0);
    assert_eq!(report["status"], "SUCCEEDED");
    assert_eq!(report["output"], serde_json::json!({"greeting": "Hello, FileChecks!"}));
    assert_eq!(report["history"][0]["type"], "ExecutionStarted");
}

#[test]
fn a_failed_execution_still_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        &dir,
        "def.json",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}}"#,
    );
    let (code, report, _) = harness(&["sfn", "run", "--definition", &def]);
    assert_eq!(code, 0);
    assert_eq!(
        (
            report["status"].as_str(),
            report["error"].as_str(),
            report["cause"].as_str()
        ),
        (Some("FAILED"), Some("Nope"), Some("because"))
    );
}

#[test]
fn an_invalid_definition_exits_non_zero_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let def = write(
        &dir,
        "def.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#,
    );
    let (code, report, stderr) = harness(&["sfn", "run", "--definition", &def]);
    assert_ne!(code, 0);
    assert_eq!(report, Value::Null, "nothing on stdout");
    assert!(stderr.contains("$.States.A.Next names \"Missing\""), "{stderr}");
}

#[test]
fn the_project_state_machine_runs_with_mocks_and_fails_clearly_without_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let asl = format!("{}/../infra/statemachine.asl.json", env!("CARGO_MANIFEST_DIR"));
    let mocks = write(
        &dir,
        "mocks.json",
        r#"{"StateMachines": {"FileChecks": {"TestCases": {"Duplicate": {"SetRunning": "NotTriggered"}}}},
        "MockedResponses": {"NotTriggered": {"0": {"Return": {"acquired": false, "job": {"jobId": "j", "project": "p"}, "foundStatus": "RUNNING"}}}}}"#,
    );
    let event = r#"[{"dynamodb": {"Keys": {"jobId": {"S": "j"}, "project": {"S": "p"}}}}]"#;
    let (code, report, stderr) = harness(&[
        "sfn",
        "run",
        "--definition",
        &asl,
        "--input",
        event,
        "--name",
        "FileChecks",
        "--mock-config",
        &mocks,
        "--test-case",
        "Duplicate",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["status"], "SUCCEEDED");

    // Unmocked, the real SetRunning needs the pipeline's environment: the task says so.
    let (code, report, _) = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["sfn", "run", "--definition", &asl, "--input", event])
        .env_remove("LANDING_BUCKET")
        .env_remove("FTPS_SECRET_ID")
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                serde_json::from_slice::<Value>(&o.stdout).unwrap(),
                (),
            )
        })
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(report["status"], "FAILED");
    assert!(
        report["cause"].as_str().unwrap().contains("LANDING_BUCKET is not set"),
        "{report}"
    );
}

#[test]
fn test_state_prints_the_apis_answer_and_run_inspect_shows_every_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = write(
        &dir,
        "state.json",
        r#"{"Type": "Pass", "InputPath": "$.a", "Parameters": {"b.$": "$.b"}, "Next": "After"}"#,
    );
    let (code, answer, stderr) = harness(&[
        "sfn",
        "test-state",
        "--definition",
        &state,
        "--input",
        r#"{"a": {"b": 1}}"#,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["nextState"], "After");
    assert_eq!(answer["inspectionData"]["afterInputPath"], r#"{"b":1}"#);
    assert_eq!(answer["output"], r#"{"b":1}"#);

    let def = write(
        &dir,
        "def.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": "$.one", "End": true}}}"#,
    );
    let (code, report, stderr) = harness(&["sfn", "run", "--definition", &def, "--inspect"]);
    assert_eq!(code, 0, "{stderr}");
    let inspections = report["inspections"].as_array().unwrap();
    assert_eq!(inspections.len(), 2);
    assert_eq!(inspections[0]["state"], "A");
    assert_eq!(
        inspections[0]["inspectionData"]["afterResultPath"],
        serde_json::json!({"one": 1})
    );
    assert_eq!(inspections[1]["inspectionData"]["afterInputPath"], serde_json::json!(1));
}
