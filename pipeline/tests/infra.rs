//! The state machine definition and the stack agree with the code: the seed's states exist,
//! every error the ASL matches is one the handlers raise, transient errors are retried and
//! permanent ones are not, and every substitution the ASL uses is provided by the template.

use std::collections::BTreeSet;

use pipeline::PipelineError;
use serde_json::Value;

fn infra(file: &str) -> String {
    std::fs::read_to_string(format!("{}/../infra/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn asl() -> Value {
    serde_json::from_str(&infra("statemachine.asl.json")).unwrap()
}

fn error_names(retriers: &Value) -> BTreeSet<String> {
    retriers
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn names_the_seed_states_in_order() {
    let asl = asl();
    assert_eq!(asl["StartAt"], "UnwrapRecord");
    assert_eq!(asl["States"]["UnwrapRecord"]["Type"], "Pass");
    assert_eq!(asl["States"]["UnwrapRecord"]["InputPath"], "$[0]");
    for state in ["SetRunning", "TransferFile", "FinalizeJob", "FinalizeJobOnCatch"] {
        assert_eq!(asl["States"][state]["Type"], "Task", "{state}");
    }
    assert_eq!(asl["States"]["TransferFile"]["Next"], "FinalizeJob");
    assert_eq!(asl["States"]["TransferFile"]["Catch"][0]["Next"], "FinalizeJobOnCatch");
    for state in ["SetRunning", "TransferFile", "FinalizeJob", "FinalizeJobOnCatch"] {
        assert_eq!(
            asl["States"][state]["Parameters"]["executionArn.$"], "$$.Execution.Id",
            "{state}"
        );
    }
}

#[test]
fn retries_exactly_the_transient_errors() {
    let asl = asl();
    let known: BTreeSet<&str> = PipelineError::NAMES.into_iter().collect();
    for (name, state) in asl["States"].as_object().unwrap() {
        for name_matched in error_names(&state["Retry"]).iter().chain(&error_names(&state["Catch"])) {
            let platform = name_matched.starts_with("States.") || name_matched.starts_with("Lambda.");
            assert!(
                platform || known.contains(name_matched.as_str()),
                "{name} matches unknown error {name_matched}"
            );
        }
    }
    let retried = error_names(&asl["States"]["TransferFile"]["Retry"]);
    for name in PipelineError::NAMES {
        let transient = [
            PipelineError::TooManyConnections(String::new()),
            PipelineError::ConnectionLimitReached(String::new()),
            PipelineError::LandingKeyBusy(String::new()),
            PipelineError::TransientNetwork(String::new()),
            PipelineError::IntegrityMismatch(String::new()),
            PipelineError::SourceChanged(String::new()),
            PipelineError::DeadlineExceeded(String::new()),
            PipelineError::AwsServiceUnavailable(String::new()),
        ]
        .iter()
        .any(|e| e.name() == name && e.is_transient());
        assert_eq!(
            retried.contains(name),
            transient,
            "TransferFile retries {name}: expected {transient}"
        );
    }
}

#[test]
fn template_provides_every_substitution() {
    let definition = infra("statemachine.asl.json");
    let template = infra("template.yaml");
    let mut rest = definition.as_str();
    let mut used = BTreeSet::new();
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').unwrap();
        used.insert(rest[start + 2..start + end].to_string());
        rest = &rest[start + end..];
    }
    assert_eq!(used.len(), 3, "{used:?}");
    for name in used {
        assert!(
            template.contains(&format!("        {name}: !GetAtt")),
            "DefinitionSubstitutions lacks {name}"
        );
    }
    assert!(template.contains("DefinitionUri: statemachine.asl.json"));
    assert!(template.contains("InvocationType: FIRE_AND_FORGET"));
    assert!(template.contains("BatchSize: 1"));
}

/// The longest a Task can take over all its attempts: every retrier exhausted (they count
/// separately), each attempt running to the function's timeout, every backoff at its longest.
/// A TransferFile attempt that finds every connection lease held ends after its few lease writes
/// (with the SDK's own retries), long before the function's timeout.
const BUSY_ATTEMPT_SECONDS: f64 = 30.0;

fn worst_case_seconds(state: &Value, attempt_seconds: f64) -> f64 {
    let mut attempts = 1.0;
    let mut waits = 0.0;
    for retrier in state["Retry"].as_array().into_iter().flatten() {
        // Admission waits for a Lambda slot up to the execution's timeout by design (see
        // `admission_waits_as_long_as_the_execution_may_run`): no fault budget to cover.
        if retrier["ErrorEquals"] == serde_json::json!(["Lambda.TooManyRequestsException"]) {
            continue;
        }
        if retrier["ErrorEquals"] == serde_json::json!(["ConnectionLimitReached", "LandingKeyBusy"]) {
            let (max, interval, rate, cap) = (
                retrier["MaxAttempts"].as_f64().unwrap(),
                retrier["IntervalSeconds"].as_f64().unwrap(),
                retrier["BackoffRate"].as_f64().unwrap(),
                retrier["MaxDelaySeconds"].as_f64().unwrap(),
            );
            waits += (0..max as i32).map(|k| (interval * rate.powi(k)).min(cap)).sum::<f64>();
            waits += max * BUSY_ATTEMPT_SECONDS;
            continue;
        }
        let max = retrier["MaxAttempts"].as_f64().unwrap_or(3.0);
        let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
        let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX);
        attempts += max;
        waits += (0..max as i32).map(|k| (interval * rate.powi(k)).min(cap)).sum::<f64>();
    }
    attempts * attempt_seconds + waits
}

/// Admission control (template.yaml, next to TransferFileConcurrency): every Task's first
/// retrier takes `Lambda.TooManyRequestsException` alone and, on average with its full jitter,
/// waits at least as long as the execution may run, so a throttled job ends by the execution's
/// timeout, never because its throttle retries ran out while others held the slots.
#[test]
fn admission_waits_as_long_as_the_execution_may_run() {
    let asl = asl();
    let timeout = asl["TimeoutSeconds"].as_f64().unwrap();
    let template = infra("template.yaml");
    assert!(
        template.contains("# Admission control for bursts."),
        "the template explains the choice"
    );
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let first = &state["Retry"][0];
        assert_eq!(
            first["ErrorEquals"],
            serde_json::json!(["Lambda.TooManyRequestsException"]),
            "{name}: the admission retrier comes first"
        );
        assert_eq!(first["JitterStrategy"], "FULL", "{name}");
        let (max, interval, rate, cap) = (
            first["MaxAttempts"].as_f64().unwrap(),
            first["IntervalSeconds"].as_f64().unwrap(),
            first["BackoffRate"].as_f64().unwrap(),
            first["MaxDelaySeconds"].as_f64().unwrap(),
        );
        let mean: f64 = (0..max as i32).map(|k| (interval * rate.powi(k)).min(cap) / 2.0).sum();
        assert!(
            mean >= timeout,
            "{name}: admission waits {mean} s on average, less than TimeoutSeconds {timeout}"
        );
        let others = state["Retry"].as_array().unwrap()[1..].iter();
        for retrier in others {
            let names = retrier["ErrorEquals"].as_array().unwrap();
            assert!(
                !names.iter().any(|n| n == "Lambda.TooManyRequestsException"),
                "{name}: only the admission retrier takes throttles"
            );
        }
    }
}

#[test]
fn the_execution_timeout_covers_the_worst_case_retry_budget() {
    let asl = asl();
    let template = infra("template.yaml");
    // The Lambda timeouts: a function's own, else the Globals'.
    let template: serde_yaml::Value = serde_yaml::from_str(&template).unwrap();
    let global = template["Globals"]["Function"]["Timeout"].as_f64().unwrap();
    let timeout_of = |resource: &str| -> f64 {
        template["Resources"][resource]["Properties"]["Timeout"]
            .as_f64()
            .unwrap_or(global)
    };
    let transfer = timeout_of("TransferFileFunction");
    assert_eq!(transfer, 900.0);
    assert_eq!(asl["States"]["TransferFile"]["TimeoutSeconds"], 900);
    let states = &asl["States"];
    let worst = worst_case_seconds(&states["SetRunning"], timeout_of("SetRunningFunction"))
        + worst_case_seconds(&states["TransferFile"], transfer)
        + worst_case_seconds(&states["FinalizeJobOnCatch"], timeout_of("FinalizeJobFunction"));
    let timeout = asl["TimeoutSeconds"].as_f64().unwrap();
    assert!(
        timeout >= worst,
        "TimeoutSeconds {timeout} is shorter than the worst case {worst} s: an execution could time out while its own retries would still succeed"
    );
}

/// The Pipe starts at the stream's oldest record: a Pipe created or replaced after jobs were
/// triggered still delivers them (LATEST would drop every trigger written while it was being
/// replaced). Records it reads again are harmless: SetRunning takes only a TRIGGERED job, so a
/// re-read of a job already taken ends DuplicateDelivery.
#[test]
fn the_pipe_reads_the_stream_from_its_oldest_record() {
    let template: serde_yaml::Value = serde_yaml::from_str(&infra("template.yaml")).unwrap();
    let pipes: Vec<&serde_yaml::Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Pipes::Pipe")
        .collect();
    assert_eq!(pipes.len(), 1);
    let stream = &pipes[0]["Properties"]["SourceParameters"]["DynamoDBStreamParameters"];
    assert_eq!(stream["StartingPosition"], "TRIM_HORIZON");
}
