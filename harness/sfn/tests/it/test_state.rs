//! TestState, as the API answers it: one state run once with its inspection data; a matching
//! retrier makes it RETRIABLE (with the backoff), a catcher CAUGHT_ERROR (with the next state).
//! Shapes follow the TestState API reference (docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html).

use serde_json::{Value, json};
use sfn::Bindings;
use sfn::test_state;

async fn call(request: Value) -> Value {
    test_state(&request, &Bindings::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn data(answer: &Value, field: &str) -> Value {
    serde_json::from_str(
        answer["inspectionData"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {answer}")),
    )
    .unwrap()
}

#[tokio::test]
async fn a_pass_state_shows_each_step_of_its_data() {
    let state = json!({"Type": "Pass", "InputPath": "$.order", "Parameters": {"id.$": "$.id", "kind": "pass"},
                       "ResultPath": "$.checked", "Next": "Ship"});
    let answer = call(
        json!({"definition": state.to_string(), "input": r#"{"order": {"id": 7}}"#,
                             "inspectionLevel": "DEBUG"}),
    )
    .await;
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["nextState"], "Ship");
    assert_eq!(data(&answer, "input"), json!({"order": {"id": 7}}));
    assert_eq!(data(&answer, "afterInputPath"), json!({"id": 7}));
    assert_eq!(data(&answer, "afterParameters"), json!({"id": 7, "kind": "pass"}));
    assert_eq!(
        data(&answer, "afterResultPath"),
        json!({"order": {"id": 7}, "checked": {"id": 7, "kind": "pass"}})
    );
    let output: Value = serde_json::from_str(answer["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, data(&answer, "afterResultPath"));

    // INFO (the default) answers without inspection data.
    let answer = call(json!({"definition": state.to_string(), "input": r#"{"order": {"id": 7}}"#})).await;
    assert!(answer.get("inspectionData").is_none(), "{answer}");
}

#[tokio::test]
async fn a_mocked_task_error_is_retriable_then_caught() {
    let state = json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Fetch",
        "Retry": [{"ErrorEquals": ["Other"]}, {"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recover"}],
        "Next": "Done"});
    let request = |retries: u32| {
        json!({"definition": state.to_string(), "input": r#"{"a": 1}"#, "inspectionLevel": "DEBUG",
               "mock": {"errorOutput": {"error": "Flaky", "cause": "try again"}},
               "stateConfiguration": {"retrierRetryCount": retries}})
    };
    let answer = call(request(0)).await;
    assert_eq!(answer["status"], "RETRIABLE", "{answer}");
    assert_eq!(answer["error"], "Flaky");
    assert_eq!(answer["inspectionData"]["errorDetails"]["retryIndex"], 1);
    assert_eq!(
        answer["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"],
        2.0
    );
    let answer = call(request(1)).await;
    assert_eq!(
        answer["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"],
        6.0
    );

    // Its retries spent, the error goes to the catcher.
    let answer = call(request(2)).await;
    assert_eq!(answer["status"], "CAUGHT_ERROR", "{answer}");
    assert_eq!(answer["nextState"], "Recover");
    assert_eq!(answer["inspectionData"]["errorDetails"]["catchIndex"], 0);
    let output: Value = serde_json::from_str(answer["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"a": 1, "failure": {"Error": "Flaky", "Cause": "try again"}})
    );

    // A mocked result passes through ResultSelector and ResultPath.
    let mut selected = state.clone();
    selected["ResultSelector"] = json!({"value.$": "$.Payload.v"});
    let answer = call(
        json!({"definition": selected.to_string(), "input": "{}", "inspectionLevel": "DEBUG",
                             "mock": {"result": r#"{"Payload": {"v": 42}}"#}}),
    )
    .await;
    assert_eq!(answer["status"], "SUCCEEDED");
    assert_eq!(answer["nextState"], "Done");
    assert_eq!(data(&answer, "result"), json!({"Payload": {"v": 42}}));
    assert_eq!(data(&answer, "afterResultSelector"), json!({"value": 42}));
}

#[tokio::test]
async fn choice_fail_and_a_state_of_a_whole_machine() {
    let choice = json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}], "Default": "Small"});
    let answer = call(json!({"definition": choice.to_string(), "input": r#"{"n": 9}"#})).await;
    assert_eq!(
        (answer["status"].as_str(), answer["nextState"].as_str()),
        (Some("SUCCEEDED"), Some("Big"))
    );

    let fail = json!({"Type": "Fail", "Error": "Nope", "Cause": "because"});
    let answer = call(json!({"definition": fail.to_string()})).await;
    assert_eq!(answer["status"], "FAILED");
    assert_eq!(
        (answer["error"].as_str(), answer["cause"].as_str()),
        (Some("Nope"), Some("because"))
    );

    let machine = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Result": {"from": "B"}, "End": true}}});
    let answer = call(json!({"definition": machine.to_string(), "stateName": "B"})).await;
    assert_eq!(answer["status"], "SUCCEEDED");
    assert!(answer.get("nextState").is_none(), "B ends the machine: {answer}");
    assert_eq!(answer["output"], r#"{"from":"B"}"#);

    let err = test_state(
        &json!({"definition": r#"{"Type": "Pass", "Next": 5}"#}),
        &Bindings::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, "InvalidDefinition", "{err}");
}
