//! The AWS CLI, unchanged, against `harness sfn serve --port 0 --mock-config F` with only the
//! variables serve prints: every `aws stepfunctions` command the service offers, a test case
//! chosen with `stateMachineArn#TestCaseName` as Step Functions Local chose it, and AWS's error
//! types as the CLI reports them. The CLI is `$FILECHECKS_AWS_CLI` or `aws` on the PATH
//! (`.ci/run` installs it); without one the test says so and passes, except under CI.

use std::path::Path;
use std::process::Command;

use crate::common::up::Serve;

use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/r";

fn cli() -> Option<String> {
    let cli = std::env::var("FILECHECKS_AWS_CLI").unwrap_or_else(|_| "aws".into());
    let found = Command::new(&cli)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then_some(cli)
}

struct Aws<'a> {
    cli: String,
    serve: &'a Serve,
    dir: &'a Path,
}

impl Aws<'_> {
    /// `aws stepfunctions ARGS` with serve's variables only (no profile, no config file).
    fn run(&self, args: &[&str]) -> Result<Value, String> {
        let out = Command::new(&self.cli)
            .arg("stepfunctions")
            .args(args)
            .args(["--output", "json"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir)
            .envs(self.serve.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(if stdout.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
        })
    }

    fn ok(&self, args: &[&str]) -> Value {
        self.run(args)
            .unwrap_or_else(|e| panic!("aws stepfunctions {args:?}: {e}"))
    }

    /// `create-state-machine`, answering its ARN.
    fn create(&self, name: &str, definition: &str, kind: &str) -> String {
        let created = self.ok(&[
            "create-state-machine",
            "--name",
            name,
            "--type",
            kind,
            "--definition",
            definition,
            "--role-arn",
            ROLE,
        ]);
        created["stateMachineArn"].as_str().unwrap().to_string()
    }

    fn err(&self, args: &[&str]) -> String {
        match self.run(args) {
            Ok(answer) => panic!("aws stepfunctions {args:?} answered {answer}, expected an error"),
            Err(e) => e,
        }
    }
}

#[test]
fn the_aws_cli_works_against_sfn_serve() {
    let Some(cli) = cli() else {
        assert!(
            !harness::under_ci(),
            "no AWS CLI (set FILECHECKS_AWS_CLI or put aws on the PATH); CI must have one"
        );
        eprintln!("skipped: no AWS CLI (aws on the PATH or FILECHECKS_AWS_CLI)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        format!("file://{}", path.display())
    };
    let mock = dir.path().join("mock.json");
    std::fs::write(
        &mock,
        json!({"StateMachines": {"Hello": {"TestCases": {"Happy": {"Call": "Ok"}}}},
               "MockedResponses": {"Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"answer": 42}}}}}})
        .to_string(),
    )
    .unwrap();
    let hello = write(
        "hello.json",
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
               "Parameters": {"FunctionName": "Greeter", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}}),
    );
    let slow = write(
        "slow.json",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let fast = write(
        "fast.json",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"fast": true}, "End": true}}}),
    );
    let serve = Serve::start(&["--mock-config", mock.to_str().unwrap()]);
    let aws = Aws {
        cli,
        serve: &serve,
        dir: dir.path(),
    };

    // Machines: create (with tags), list, describe.
    let created = aws.ok(&[
        "create-state-machine",
        "--name",
        "Hello",
        "--definition",
        &hello,
        "--role-arn",
        ROLE,
        "--tags",
        "key=team,value=data",
    ]);
    let machine = created["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(machine, "arn:aws:states:us-east-1:123456789012:stateMachine:Hello");
    let listed = aws.ok(&["list-state-machines"]);
    assert_eq!(listed["stateMachines"][0]["name"], "Hello");
    let described = aws.ok(&["describe-state-machine", "--state-machine-arn", &machine]);
    assert_eq!(
        (described["status"].as_str(), described["type"].as_str()),
        (Some("ACTIVE"), Some("STANDARD"))
    );

    // A test case chosen by the ARN's suffix; the execution is the machine's.
    let started = aws.ok(&[
        "start-execution",
        "--state-machine-arn",
        &format!("{machine}#Happy"),
        "--name",
        "e1",
        "--input",
        r#"{"x": 1}"#,
    ]);
    let e1 = started["executionArn"].as_str().unwrap().to_string();
    assert_eq!(e1, "arn:aws:states:us-east-1:123456789012:execution:Hello:e1");
    let history = ended_history(&aws, &e1);
    let types: Vec<&str> = history.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    let e1_described = aws.ok(&["describe-execution", "--execution-arn", &e1]);
    assert_eq!(e1_described["status"], "SUCCEEDED");
    assert_eq!(e1_described["output"], r#"{"answer":42}"#);
    let executions = aws.ok(&["list-executions", "--state-machine-arn", &machine]);
    assert_eq!(executions["executions"][0]["executionArn"], e1.as_str());

    // Without a test case the Lambda is unbound, and the failure names the function.
    let e2 = aws.ok(&["start-execution", "--state-machine-arn", &machine])["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    ended_history(&aws, &e2);
    let failed = aws.ok(&["describe-execution", "--execution-arn", &e2]);
    assert_eq!(failed["status"], "FAILED");
    assert!(failed["cause"].as_str().unwrap().contains("Greeter"), "{failed}");

    // Stopping a running execution: ABORTED, with its history event.
    let slow_machine = aws.create("Slow", &slow, "STANDARD");
    let s1 = aws.ok(&["start-execution", "--state-machine-arn", &slow_machine, "--name", "s1"])["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let stopped = aws.ok(&[
        "stop-execution",
        "--execution-arn",
        &s1,
        "--error",
        "Manual",
        "--cause",
        "by hand",
    ]);
    assert!(stopped["stopDate"].is_number(), "{stopped}");
    let aborted = aws.ok(&["describe-execution", "--execution-arn", &s1]);
    assert_eq!(aborted["status"], "ABORTED");
    let last = aws.ok(&[
        "get-execution-history",
        "--execution-arn",
        &s1,
        "--reverse-order",
        "--max-items",
        "1",
    ]);
    assert_eq!(last["events"][0]["type"], "ExecutionAborted");
    assert_eq!(
        last["events"][0]["executionAbortedEventDetails"],
        json!({"error": "Manual", "cause": "by hand"})
    );

    // Express: start-sync-execution, then update and delete.
    let quick = aws.create("Quick", &fast, "EXPRESS");
    let sync = aws.ok(&["start-sync-execution", "--state-machine-arn", &quick, "--input", "{}"]);
    assert_eq!(sync["status"], "SUCCEEDED", "{sync}");
    assert_eq!(sync["output"], r#"{"fast":true}"#);
    let updated = aws.ok(&[
        "update-state-machine",
        "--state-machine-arn",
        &quick,
        "--definition",
        &slow,
    ]);
    assert!(updated["updateDate"].is_number(), "{updated}");
    let definition = aws.ok(&["describe-state-machine", "--state-machine-arn", &quick])["definition"].clone();
    assert!(definition.as_str().unwrap().contains("3600"), "{definition}");
    aws.ok(&["delete-state-machine", "--state-machine-arn", &quick]);
    let gone = aws.err(&["describe-state-machine", "--state-machine-arn", &quick]);
    assert!(gone.contains("(StateMachineDoesNotExist)"), "{gone}");

    // Definitions checked without creating anything; one state tested.
    let invalid = aws.ok(&[
        "validate-state-machine-definition",
        "--definition",
        r#"{"StartAt": "X", "States": {}}"#,
    ]);
    assert_eq!(invalid["result"], "FAIL");
    assert_eq!(invalid["diagnostics"][0]["location"], "/StartAt");
    let valid = aws.ok(&["validate-state-machine-definition", "--definition", &fast]);
    assert_eq!(valid["result"], "OK");
    let tested = aws.ok(&[
        "test-state",
        "--definition",
        r#"{"Type": "Pass", "Parameters": {"a.$": "$.b"}, "Next": "N"}"#,
        "--role-arn",
        ROLE,
        "--input",
        r#"{"b": 5}"#,
        "--inspection-level",
        "DEBUG",
    ]);
    assert_eq!(
        (
            tested["status"].as_str(),
            tested["nextState"].as_str(),
            tested["output"].as_str()
        ),
        (Some("SUCCEEDED"), Some("N"), Some(r#"{"a":5}"#))
    );
    assert_eq!(tested["inspectionData"]["afterParameters"], r#"{"a":5}"#);

    // Tags.
    aws.ok(&[
        "tag-resource",
        "--resource-arn",
        &machine,
        "--tags",
        "key=env,value=dev",
    ]);
    aws.ok(&["untag-resource", "--resource-arn", &machine, "--tag-keys", "team"]);
    let tags = aws.ok(&["list-tags-for-resource", "--resource-arn", &machine]);
    assert_eq!(tags["tags"], json!([{"key": "env", "value": "dev"}]));

    // Task tokens nobody waits on, and other errors, as the CLI names them.
    for args in [
        &["send-task-success", "--task-token", "nope", "--task-output", "{}"][..],
        &["send-task-failure", "--task-token", "nope", "--error", "E"],
        &["send-task-heartbeat", "--task-token", "nope"],
    ] {
        let refused = aws.err(args);
        assert!(refused.contains("(TaskDoesNotExist)"), "{args:?}: {refused}");
    }
    let missing = aws.err(&["describe-execution", "--execution-arn", &format!("{e1}-none")]);
    assert!(missing.contains("(ExecutionDoesNotExist)"), "{missing}");
    let again = aws.err(&["start-execution", "--state-machine-arn", &machine, "--name", "e1"]);
    assert!(again.contains("(ExecutionAlreadyExists)"), "{again}");
    let broken = aws.err(&[
        "create-state-machine",
        "--name",
        "Broken",
        "--definition",
        r#"{"StartAt": "X", "States": {}}"#,
        "--role-arn",
        ROLE,
    ]);
    assert!(broken.contains("(InvalidDefinition)"), "{broken}");
}

/// The history of an execution once it has ended. The CLI has no wait for executions, so this
/// asks again until the last event ends it, as a user's script would.
fn ended_history(aws: &Aws<'_>, execution: &str) -> Vec<Value> {
    loop {
        let history = aws.ok(&["get-execution-history", "--execution-arn", execution]);
        let events = history["events"].as_array().unwrap().clone();
        let last = events.last().and_then(|e| e["type"].as_str()).unwrap_or_default();
        if last.starts_with("Execution") && last != "ExecutionStarted" {
            return events;
        }
    }
}
