//! `harness from-execution` as on call runs it: against a running `harness up` (the same API AWS
//! answers), a job that failed after several attempts becomes a scenario that, run in a fresh
//! world, ends as the execution did — and a history past 1,000 events is read whole, written as
//! a MockConfig that `harness sfn run` replays, and replayed with `--replay`.

use std::process::Command;

use crate::common::up::{Serve, Up};
use harness::scenario::Runner;
use harness::scenario::from_execution::{RecordedExecution, reproduce};
use harness::world::Project;
use serde_json::{Value, json};
use sfn::EventKind;

fn harness(args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("JOBS_TABLE")
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_after_several_attempts_replays_from_its_execution() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    std::fs::write(root.path().join("in/flaky.data"), vec![7u8; 200_000]).unwrap();
    // Two downloads dropped after 64 KiB (TransferFile fails TransientNetwork, Step Functions
    // retries), then the landing verified and DELE refused: ERROR RemoteDeleteFailed.
    let faults = root.path().join("faults.yaml");
    std::fs::write(&faults, "drop_after_bytes: 65536\ndrop_times: 2\nrefuse_delete: true\n").unwrap();
    let mut up = Up::start_with(root.path(), &["--faults", faults.to_str().unwrap()]);
    let (code, job_id, err) = up.harness(&["submit", "--project", "P", "--remote-path", "/in/flaky.data"]);
    assert_eq!(code, 0, "{err}");
    let running = up.await_line(&["execution for job", &job_id, " RUNNING "]);
    let arn = running.rsplit(' ').next().unwrap().to_string();
    let ended = up.await_line(&["execution for job", &job_id, "FAILED"]);
    assert!(ended.contains("RemoteDeleteFailed"), "{ended}");

    // What the history recorded: the attempts, as AWS's API answers them.
    let sfn = aws_sdk_sfn::Client::new(&up.sdk().await);
    let history = sfn
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let attempts = history
        .events()
        .iter()
        .filter(|e| {
            e.lambda_function_scheduled_event_details()
                .is_some_and(|d| d.resource().ends_with(":TransferFile"))
        })
        .count();
    assert_eq!(attempts, 3, "two dropped downloads, then the refused DELE");

    // The README's commands, as written, from a directory of their own.
    let dir = tempfile::tempdir().unwrap();
    let [from_execution, run] = readme_commands(&arn);
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(&from_execution)
        .envs(up.env.iter().cloned())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{from_execution:?}: {err}");
    assert!(
        err.contains("not reproduced: the retries' timing"),
        "it says what it cannot reproduce: {err}"
    );
    let scenario_path = dir.path().join(&from_execution[from_execution.len() - 1]);
    let text = std::fs::read_to_string(&scenario_path).unwrap();
    let scenario: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(scenario["faults"]["drop_times"], json!(2), "{text}");
    assert_eq!(scenario["faults"]["refuse_delete"], json!(true), "{text}");
    assert_eq!(scenario["remote"][0]["size"], json!(200_000), "{text}");
    let expected = &scenario["expect"]["jobs"][&job_id];
    assert_eq!(expected["status"], json!("ERROR"), "{text}");
    assert_eq!(expected["error"], json!("RemoteDeleteFailed"), "{text}");
    assert_eq!(scenario["expect"]["transfer_attempts"], json!(attempts), "{text}");

    // Its first run, in a fresh world of its own, passes: same end, error and attempt count.
    // On call, not under CI: the first run writes its snapshot (under CI a missing one fails).
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(&run)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("JOBS_TABLE")
        .env_remove("CI")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}\n{text}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}{stderr}");
    assert!(dir.path().join("scenarios/snapshots/incident-1234.snap").exists());
}

/// The README's "From an execution" commands (`from-execution`, then `run`): `cargo run -p
/// harness --` becomes the built binary, `"$EXECUTION_ARN"` the execution's ARN.
fn readme_commands(arn: &str) -> [Vec<String>; 2] {
    let (block, commands) = crate::common::readme_harness_commands("### From an execution");
    let commands: Vec<Vec<String>> = commands
        .into_iter()
        .map(|command| {
            command
                .iter()
                .map(|word| word.replace("\"$EXECUTION_ARN\"", arn))
                .collect()
        })
        .collect();
    let names: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        names,
        ["from-execution", "run"],
        "the README's commands changed: {block}"
    );
    [commands[0].clone(), commands[1].clone()]
}

/// This project's recorded executions (`harness/sfn/tests/replay/filechecks-*.json`, each under
/// `harness up` with faults), read without their job items, as where the table is not
/// reachable: each becomes a scenario whose first run ends as the execution did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_executions_replay_without_their_items() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sfn/tests/replay");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("filechecks-"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let scratch = tempfile::tempdir().unwrap();
    for file in files {
        let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let recording = sfn::replay::Recording::from_value(&recorded).unwrap();
        let ended = recording.events.last().unwrap().kind.clone();
        let status = if ended.execution_ended() == Some(true) {
            "SUCCEEDED"
        } else {
            "FAILED"
        };
        let reproduction = reproduce(&RecordedExecution {
            execution_arn: recorded["executionArn"].as_str().unwrap().to_string(),
            status: status.into(),
            recording,
            item: None,
        })
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let text = reproduction.scenario.to_yaml();
        let path = scratch.path().join(file.file_name().unwrap()).with_extension("yaml");
        std::fs::write(&path, &text).unwrap();
        let report = Runner::new(Project::discover(None).unwrap())
            .run(&path)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.display()));
        assert!(
            report.failures.is_empty(),
            "{}: {:?}\n{text}\nnot reproduced: {:?}",
            file.display(),
            report.failures,
            reproduction.not_reproduced
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_over_a_thousand_events_is_paged_and_replays() {
    let serve = Serve::start(&["--virtual-time"]);
    let endpoint = &serve.env.iter().find(|(k, _)| k == "AWS_ENDPOINT_URL").unwrap().1;
    let sdk = harness::world::aws::sdk_config(endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    // A Task no function answers (caught), then a loop of 300 rounds: over 1,200 events.
    let definition = json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Elsewhere",
                 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Init"}], "End": true},
        "Init": {"Type": "Pass", "Result": {"n": 0}, "Next": "Inc"},
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 300, "Next": "Inc"}],
                 "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    let machine = sfn
        .create_state_machine()
        .name("Counter")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/R")
        .send()
        .await
        .unwrap();
    let arn = sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .input("{}")
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_string();
    // Step Functions tells an execution's end by its status (on a virtual clock, at once).
    while sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap()
        .status()
        .as_str()
        == "RUNNING"
    {
        tokio::task::yield_now().await;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::write(path("counter.asl.json"), definition.to_string()).unwrap();
    let (code, _, err) = harness(
        &[
            "from-execution",
            &arn,
            "--mock-config",
            &path("mocks.json"),
            "--history",
            &path("history.json"),
        ],
        &serve.env,
    );
    assert_eq!(code, 0, "{err}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(path("history.json")).unwrap()).unwrap();
    let events = saved["events"].as_array().unwrap();
    assert!(events.len() > 1200, "every page: {} events", events.len());
    assert!(
        err.contains(&format!("{} events in the history", events.len())),
        "{err}"
    );
    let last: sfn::Event = serde_json::from_value(events.last().unwrap().clone()).unwrap();
    assert!(matches!(last.kind, EventKind::ExecutionSucceeded { .. }), "{last:?}");

    // The MockConfig answers Call as recorded (the failure no function was bound for).
    let mocks: Value = serde_json::from_str(&std::fs::read_to_string(path("mocks.json")).unwrap()).unwrap();
    assert!(
        mocks["MockedResponses"]["CallRecorded"]["0"]["Throw"]["Error"].is_string(),
        "{mocks}"
    );
    let (code, out, err) = harness(
        &[
            "sfn",
            "run",
            "--definition",
            &path("counter.asl.json"),
            "--name",
            "Counter",
            "--mock-config",
            &path("mocks.json"),
            "--test-case",
            "Replay",
            "--input",
            &format!("@{}", path("mocks.input.json")),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], json!("SUCCEEDED"), "{out}");
    assert_eq!(run["history"].as_array().unwrap().len(), events.len());

    // And the saved history replays event by event without divergence.
    let (code, out, err) = harness(
        &[
            "sfn",
            "run",
            "--definition",
            &path("counter.asl.json"),
            "--replay",
            &path("history.json"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let replay: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(replay["replay"]["divergence"], Value::Null, "{err}");
    assert!(err.contains("as recorded"), "{err}");
}
