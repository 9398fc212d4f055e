//! The Step Functions emulator's conformance suite: every row of every file in
//! `tests/sfn-conformance/` is one test. A row holds a definition, an input, optional mocks and
//! the expected outcome taken from the AWS documentation or the States Language specification
//! (its `source` names where). Tasks call a few test functions bound below.

use std::path::Path;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use sfn::TaskTokens;
use sfn::{Bindings, Executor, MockConfig, RunOptions, StateMachine, StatesError, TaskFn};

fn function(f: impl Fn(Value) -> Result<Value, StatesError> + Send + Sync + 'static) -> TaskFn {
    let f = Arc::new(f);
    Arc::new(move |input| {
        let f = f.clone();
        Box::pin(async move { f(input) })
    })
}

/// `Echo` returns its input; `Repeat` returns `char` repeated `times` times; `AddNumbers` adds `val1` and `val2`; `Fail` throws `{error, cause}`;
/// `FailUntilRetry` throws `NotYet` while `retries < until`; `Sleep` waits `ms` milliseconds of
/// real time (for TimeoutSeconds); `AnswerToken` is the worker of a callback task: it answers
/// `token` once it has returned, as SendTaskSuccess (`success`: the output) or SendTaskFailure
/// (`failure`: `{error, cause}`) would, or never (neither given).
fn bindings() -> Bindings {
    bindings_with(Arc::default())
}

fn bindings_with(tokens: Arc<TaskTokens>) -> Bindings {
    let mut b = Bindings::default();
    b.bind(
        "AnswerToken",
        Arc::new(move |v: Value| {
            let tokens = tokens.clone();
            Box::pin(async move {
                let token = v["token"].as_str().unwrap_or_default().to_string();
                tokio::spawn(async move {
                    // After the function has returned and the task waits on its token.
                    tokio::task::yield_now().await;
                    let answered = if let Some(output) = v.get("success") {
                        tokens.succeed(&token, output.clone())
                    } else if let Some(failure) = v.get("failure") {
                        tokens.fail(
                            &token,
                            failure["error"].as_str().unwrap_or_default(),
                            failure["cause"].as_str().unwrap_or_default(),
                        )
                    } else {
                        Ok(())
                    };
                    answered.expect("the token is waited on");
                });
                Ok(json!({"StatusCode": 202}))
            })
        }),
    );
    b.bind("Echo", function(Ok));
    b.bind(
        "AddNumbers",
        function(|v| {
            Ok(json!(
                v["val1"].as_f64().unwrap_or(0.0) as i64 + v["val2"].as_f64().unwrap_or(0.0) as i64
            ))
        }),
    );
    b.bind(
        "Fail",
        function(|v| {
            Err(StatesError::new(
                v["error"].as_str().unwrap_or("Error"),
                v["cause"].as_str().unwrap_or_default(),
            ))
        }),
    );
    b.bind(
        "FailUntilRetry",
        function(|v| {
            if v["retries"].as_u64() < v["until"].as_u64() {
                Err(StatesError::new("NotYet", ""))
            } else {
                Ok(v)
            }
        }),
    );
    b.bind(
        "Repeat",
        function(|v| {
            let unit = v["char"].as_str().unwrap_or("a");
            Ok(json!(unit.repeat(v["times"].as_u64().unwrap_or(0) as usize)))
        }),
    );
    b.bind(
        "Sleep",
        Arc::new(|v: Value| {
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(v["ms"].as_u64().unwrap_or(0))).await;
                Ok(v)
            })
        }),
    );
    b
}

/// A value for a failure message, cut short: rows may carry results of hundreds of KiB.
fn shown(value: &impl std::fmt::Display) -> String {
    let text = value.to_string();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text,
    }
}

/// A TestState row: `testState` is the API request (its `definition` a JSON value here), and
/// `expected` the fields of the answer (`output` and `inspectionData` values parsed from their text).
fn run_test_state(case: &Value, request: &Value) -> Result<(), Failed> {
    let mut request = request.clone();
    for field in ["definition", "input", "variables"] {
        if let Some(value) = request.get(field).filter(|v| !v.is_string()) {
            request[field] = json!(value.to_string());
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let answer = match runtime.block_on(sfn::test_state(&request, &bindings())) {
        Ok(answer) => answer,
        // A row may expect the API to refuse the request (`{"apiError": "ValidationException"}`).
        Err(e) if case["expected"]["apiError"] == e.kind => return Ok(()),
        Err(e) => return Err(e.to_string().into()),
    };
    let parsed = |v: &Value| {
        v.as_str()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null)
    };
    let mut problems = Vec::new();
    for (field, want) in case["expected"].as_object().ok_or("expected is an object")? {
        let got = match field.as_str() {
            "output" => parsed(&answer["output"]),
            "inspectionData" if want.is_null() => answer.get("inspectionData").cloned().unwrap_or(Value::Null),
            "inspectionData" => {
                let mut data = serde_json::Map::new();
                for (k, v) in answer["inspectionData"].as_object().into_iter().flatten() {
                    data.insert(k.clone(), if v.is_string() { parsed(v) } else { v.clone() });
                }
                // Only the fields the row names are compared.
                let wanted = want.as_object().cloned().unwrap_or_default();
                Value::Object(data.into_iter().filter(|(k, _)| wanted.contains_key(k)).collect())
            }
            // The names of the inspection data's fields, all of them, sorted.
            "inspectionFields" => Value::Array(
                answer["inspectionData"]
                    .as_object()
                    .into_iter()
                    .flat_map(|data| data.keys().cloned())
                    .map(Value::String)
                    .collect(),
            ),
            other => answer.get(other).cloned().unwrap_or(Value::Null),
        };
        if &got != want {
            problems.push(format!("{field}: expected {}, got {}", shown(want), shown(&got)));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n(answer {})", problems.join("\n"), shown(&answer)).into())
    }
}

/// Every `…StateExited` event that assigned variables, in history order, as
/// `{"state": name, "variables": {name: value}}`: AWS records each value as JSON text, which is
/// parsed here (a value that is not text, or details without `truncated: false`, shows as such).
fn assigned_variables(history: &[Value]) -> Value {
    let mut out = Vec::new();
    for event in history {
        let details = &event["stateExitedEventDetails"];
        let Some(assigned) = details.get("assignedVariables").and_then(Value::as_object) else {
            continue;
        };
        let variables: serde_json::Map<String, Value> = assigned
            .iter()
            .map(|(name, text)| {
                let value = text
                    .as_str()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or_else(|| json!({"notJsonText": text}));
                (name.clone(), value)
            })
            .collect();
        let mut entry = json!({"state": details["name"], "variables": variables});
        if details["assignedVariablesDetails"] != json!({"truncated": false}) {
            entry["assignedVariablesDetails"] = details["assignedVariablesDetails"].clone();
        }
        out.push(entry);
    }
    Value::Array(out)
}

fn run_case(case: &Value) -> Result<(), Failed> {
    if let Some(request) = case.get("testState") {
        return run_test_state(case, request);
    }
    let definition = case.get("definition").ok_or("the case has no definition")?;
    if let Some(expected) = case.get("invalid").and_then(Value::as_str) {
        return match StateMachine::from_value(definition) {
            Ok(_) => {
                Err(format!("the definition was accepted; expected a validation error containing {expected:?}").into())
            }
            Err(errors) if errors.to_string().contains(expected) => Ok(()),
            Err(errors) => Err(format!("expected a validation error containing {expected:?}, got:\n{errors}").into()),
        };
    }
    let machine = StateMachine::from_value(definition).map_err(|e| e.to_string())?;
    let mut options = RunOptions {
        execution_name: "conformance".into(),
        state_machine_name: "Conformance".into(),
        ..Default::default()
    };
    if let Some(mocks) = case.get("mockConfig") {
        let config = MockConfig::from_json(&mocks.to_string())?;
        let test_case = case["testCase"].as_str().ok_or("mockConfig needs testCase")?;
        options.mocks = Some(config.test_case(None, test_case)?);
    }
    let input = case.get("input").cloned().unwrap_or(json!({}));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let execution = runtime.block_on(Executor::new(machine, bindings_with(options.tokens.clone())).run(input, options));
    let expected = &case["expected"];
    if let Ok(dir) = std::env::var("DUMP_HISTORY") {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        case.to_string().hash(&mut h);
        let _ = std::fs::write(
            format!("{dir}/{:x}", h.finish()),
            serde_json::to_string(&execution.history).unwrap() + "\n" + &serde_json::to_string(&execution).unwrap(),
        );
    }
    // The events as the API answers them: the recorded cases are AWS's JSON.
    let history: Vec<Value> = execution
        .history
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    let mut problems = Vec::new();
    let status = json!(execution.status.as_str());
    if expected.get("status").is_some_and(|s| *s != status) {
        problems.push(format!("status: expected {}, got {status}", expected["status"]));
    }
    if let Some(output) = expected.get("output")
        && execution.output.as_ref() != Some(output)
    {
        problems.push(format!(
            "output: expected {}, got {}",
            shown(output),
            execution.output.as_ref().map_or("none".into(), shown)
        ));
    }
    if let Some(error) = expected.get("error")
        && execution.error.as_deref() != error.as_str()
    {
        problems.push(format!("error: expected {error}, got {:?}", execution.error));
    }
    if let Some(cause) = expected.get("cause")
        && execution.cause.as_deref() != cause.as_str()
    {
        problems.push(format!("cause: expected {cause}, got {:?}", execution.cause));
    }
    if let Some(part) = expected.get("causeContains").and_then(Value::as_str)
        && !execution.cause.as_deref().unwrap_or_default().contains(part)
    {
        problems.push(format!(
            "cause: expected it to contain {part:?}, got {:?}",
            execution.cause
        ));
    }
    if let Some(wanted) = expected.get("assigned") {
        let got = assigned_variables(&history);
        if &got != wanted {
            problems.push(format!("assigned: expected {}, got {}", shown(wanted), shown(&got)));
        }
    }
    if let Some(types) = expected.get("events") {
        let got: Vec<Value> = history.iter().map(|e| e["type"].clone()).collect();
        if types.as_array() != Some(&got) {
            problems.push(format!("events: expected {types}, got {}", Value::Array(got)));
        }
    }
    // `eventDetails`: for each event type named, the first such event's fields (besides its id,
    // previous id, timestamp and type).
    for (kind, want) in expected
        .get("eventDetails")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let got = history
            .iter()
            .find(|e| e["type"] == *kind)
            .and_then(Value::as_object)
            .map(|e| {
                let fields = e
                    .iter()
                    .filter(|(k, _)| !["id", "previousEventId", "timestamp", "type"].contains(&k.as_str()));
                Value::Object(fields.map(|(k, v)| (k.clone(), v.clone())).collect())
            })
            .unwrap_or(Value::Null);
        if &got != want {
            problems.push(format!("{kind}: expected {}, got {}", shown(want), shown(&got)));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(error {:?}, cause {:?})",
            problems.join("\n"),
            execution.error,
            execution.cause
        )
        .into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the conformance directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut trials = Vec::new();
    for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).expect("readable");
        let table: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in table["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no \"cases\" array", file.display()))
        {
            let name = format!("{stem}::{}", case["name"].as_str().expect("every case has a name"));
            assert!(case["source"].is_string(), "{name}: every case quotes its source");
            let case = case.clone();
            trials.push(Trial::test(name, move || run_case(&case)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
