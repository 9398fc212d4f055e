//! The Step Functions API operations beyond one execution's life (that is `executions.rs`):
//! state machine updates and deletes, synchronous Express executions, tags, paging, and the error
//! types AWS's SDKs match on. Each expectation follows the API reference's page for the operation
//! (docs.aws.amazon.com/step-functions/latest/apireference/API_<Operation>.html).

use serde_json::{Value, json};
use sfn::{ApiError, Bindings, MockConfig, Service, ServiceOptions, TimeMode};

const ROLE: &str = "arn:aws:iam::123456789012:role/r";

fn service() -> Service {
    service_with(None)
}

fn service_with(mocks: Option<MockConfig>) -> Service {
    Service::new(ServiceOptions {
        bindings: Bindings::default(),
        mocks,
        time: TimeMode::Virtual,
        start_quota: Some(sfn::RateQuota::START_EXECUTION),
    })
}

fn pass(result: Value) -> String {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}}).to_string()
}

async fn call(service: &Service, operation: &str, body: Value) -> Value {
    service
        .call(operation, &body)
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"))
}

async fn error(service: &Service, operation: &str, body: Value) -> ApiError {
    match service.call(operation, &body).await {
        Ok(answer) => panic!("{operation} answered {answer}, expected an error"),
        Err(e) => e,
    }
}

async fn create(service: &Service, name: &str, definition: &str, kind: &str) -> String {
    let created = call(
        service,
        "CreateStateMachine",
        json!({"name": name, "definition": definition, "roleArn": ROLE, "type": kind}),
    )
    .await;
    created["stateMachineArn"].as_str().unwrap().to_string()
}

/// Runs an execution to its end and gives DescribeExecution's answer; the end is the execution's
/// status-change event (what EventBridge would get), not a poll.
async fn run(service: &Service, body: Value) -> Value {
    let mut events = service.events();
    let started = call(service, "StartExecution", body).await;
    let arn = started["executionArn"].as_str().unwrap();
    loop {
        let event = events.recv().await.expect("status-change events");
        if event["detail"]["executionArn"] == arn && event["detail"]["status"] != "RUNNING" {
            return call(service, "DescribeExecution", json!({"executionArn": arn})).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_replaces_the_definition_for_new_executions() {
    let service = service();
    let arn = create(&service, "M", &pass(json!({"v": 1})), "STANDARD").await;
    let before = run(&service, json!({"stateMachineArn": arn})).await;
    assert_eq!(before["output"], r#"{"v":1}"#);

    let updated = call(
        &service,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": pass(json!({"v": 2}))}),
    )
    .await;
    assert!(updated["updateDate"].is_number(), "{updated}");
    let described = call(&service, "DescribeStateMachine", json!({"stateMachineArn": arn})).await;
    assert_eq!(described["definition"], pass(json!({"v": 2})));
    let after = run(&service, json!({"stateMachineArn": arn})).await;
    assert_eq!(after["output"], r#"{"v":2}"#);

    // An invalid definition is refused and the machine keeps its own.
    let refused = error(
        &service,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": r#"{"StartAt": "Nowhere", "States": {}}"#}),
    )
    .await;
    assert_eq!(refused.kind, "InvalidDefinition");
    // Nothing to update: AWS's MissingRequiredParameter.
    let nothing = error(&service, "UpdateStateMachine", json!({"stateMachineArn": arn})).await;
    assert_eq!(nothing.kind, "MissingRequiredParameter");
    let described = call(&service, "DescribeStateMachine", json!({"stateMachineArn": arn})).await;
    assert_eq!(described["definition"], pass(json!({"v": 2})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_machine_is_gone_with_its_tags() {
    let service = service();
    let arn = create(&service, "Gone", &pass(json!(1)), "STANDARD").await;
    call(
        &service,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "team", "value": "data"}]}),
    )
    .await;
    call(&service, "DeleteStateMachine", json!({"stateMachineArn": arn})).await;
    let missing = error(&service, "DescribeStateMachine", json!({"stateMachineArn": arn})).await;
    assert_eq!(missing.kind, "StateMachineDoesNotExist");
    let listed = call(&service, "ListStateMachines", json!({})).await;
    assert_eq!(listed["stateMachines"], json!([]));
    // Deleting again succeeds, as on AWS; a new machine of the same name starts without tags.
    call(&service, "DeleteStateMachine", json!({"stateMachineArn": arn})).await;
    let again = create(&service, "Gone", &pass(json!(1)), "STANDARD").await;
    let tags = call(&service, "ListTagsForResource", json!({"resourceArn": again})).await;
    assert_eq!(tags["tags"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_sync_execution_runs_express_machines_only() {
    let service = service();
    let express = create(&service, "Quick", &pass(json!({"done": true})), "EXPRESS").await;
    let answer = call(
        &service,
        "StartSyncExecution",
        json!({"stateMachineArn": express, "input": "{}"}),
    )
    .await;
    assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
    assert_eq!(answer["output"], r#"{"done":true}"#);
    assert!(answer["billingDetails"].is_object(), "{answer}");
    assert!(answer["stopDate"].is_number(), "{answer}");

    let standard = create(&service, "Slow", &pass(json!(1)), "STANDARD").await;
    let refused = error(&service, "StartSyncExecution", json!({"stateMachineArn": standard})).await;
    assert_eq!(refused.kind, "StateMachineTypeNotSupported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_added_listed_and_removed() {
    let service = service();
    let arn = create(&service, "Tagged", &pass(json!(1)), "STANDARD").await;
    call(
        &service,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]}),
    )
    .await;
    // A key tagged again takes the new value.
    call(
        &service,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "a", "value": "3"}]}),
    )
    .await;
    let tags = call(&service, "ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(
        tags["tags"],
        json!([{"key": "a", "value": "3"}, {"key": "b", "value": "2"}])
    );
    call(&service, "UntagResource", json!({"resourceArn": arn, "tagKeys": ["a"]})).await;
    let tags = call(&service, "ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(tags["tags"], json!([{"key": "b", "value": "2"}]));

    // Tags belong to state machines (and activities), not executions.
    let execution = run(&service, json!({"stateMachineArn": arn})).await;
    let refused = error(
        &service,
        "TagResource",
        json!({"resourceArn": execution["executionArn"], "tags": [{"key": "a", "value": "1"}]}),
    )
    .await;
    assert_eq!(refused.kind, "ResourceNotFound");
    let unknown = error(
        &service,
        "ListTagsForResource",
        json!({"resourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nobody"}),
    )
    .await;
    assert_eq!(unknown.kind, "ResourceNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_max_results_and_next_token() {
    let service = service();
    let arn = create(&service, "Paged", &pass(json!(1)), "STANDARD").await;
    for n in 0..5 {
        run(&service, json!({"stateMachineArn": arn, "name": format!("run-{n}")})).await;
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"stateMachineArn": arn, "maxResults": 2});
        if let Some(token) = &token {
            body["nextToken"] = json!(token);
        }
        let page = call(&service, "ListExecutions", body).await;
        pages += 1;
        for execution in page["executions"].as_array().unwrap() {
            names.push(execution["name"].as_str().unwrap().to_string());
        }
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // Newest first, as AWS lists them.
    assert_eq!(names, ["run-4", "run-3", "run-2", "run-1", "run-0"]);

    let succeeded = call(
        &service,
        "ListExecutions",
        json!({"stateMachineArn": arn, "statusFilter": "SUCCEEDED"}),
    )
    .await;
    assert_eq!(succeeded["executions"].as_array().unwrap().len(), 5);
    let failed = call(
        &service,
        "ListExecutions",
        json!({"stateMachineArn": arn, "statusFilter": "FAILED"}),
    )
    .await;
    assert_eq!(failed["executions"], json!([]));

    // The history pages too, and a page of events continues where the last one ended.
    let first = call(
        &service,
        "GetExecutionHistory",
        json!({"executionArn": names_arn(&arn, "run-0"), "maxResults": 2}),
    )
    .await;
    let rest = call(
        &service,
        "GetExecutionHistory",
        json!({"executionArn": names_arn(&arn, "run-0"), "nextToken": first["nextToken"]}),
    )
    .await;
    let ids: Vec<u64> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["events"].as_array().unwrap())
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());

    // maxResults is 0..=1000 on AWS; a token that was never given out is refused.
    let too_many = error(&service, "ListStateMachines", json!({"maxResults": 1001})).await;
    assert_eq!(too_many.kind, "ValidationException");
    let bad_token = error(&service, "ListStateMachines", json!({"nextToken": "nope"})).await;
    assert_eq!(bad_token.kind, "InvalidToken");
}

fn names_arn(machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", machine_arn.replace(":stateMachine:", ":execution:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_types_sdks_match() {
    let service = service();
    let arn = create(&service, "Errors", &pass(json!(1)), "STANDARD").await;
    let missing = error(
        &service,
        "DescribeExecution",
        json!({"executionArn": names_arn(&arn, "never")}),
    )
    .await;
    assert_eq!(missing.kind, "ExecutionDoesNotExist");
    assert!(missing.message.contains(&names_arn(&arn, "never")), "{missing}");

    run(&service, json!({"stateMachineArn": arn, "name": "once"})).await;
    let twice = error(
        &service,
        "StartExecution",
        json!({"stateMachineArn": arn, "name": "once"}),
    )
    .await;
    assert_eq!(twice.kind, "ExecutionAlreadyExists");

    for name in ["", "has space", "a/b", &"x".repeat(81)] {
        let refused = error(
            &service,
            "StartExecution",
            json!({"stateMachineArn": arn, "name": name}),
        )
        .await;
        assert_eq!(refused.kind, "InvalidName", "{name:?}");
        let refused = error(
            &service,
            "CreateStateMachine",
            json!({"name": name, "definition": pass(json!(1)), "roleArn": ROLE}),
        )
        .await;
        assert_eq!(refused.kind, "InvalidName", "{name:?}");
    }

    let bad_input = error(
        &service,
        "StartExecution",
        json!({"stateMachineArn": arn, "input": "{not json"}),
    )
    .await;
    assert_eq!(bad_input.kind, "InvalidExecutionInput");
    // The input's length constraint: 262,144 bytes of UTF-8 (API_StartExecution).
    let big = json!({"s": "é".repeat(131_072)}).to_string();
    let too_big = error(
        &service,
        "StartExecution",
        json!({"stateMachineArn": arn, "input": big}),
    )
    .await;
    assert_eq!(too_big.kind, "ValidationException", "{too_big}");
    let fits = json!({"s": "a".repeat(262_000)}).to_string();
    let ran = run(&service, json!({"stateMachineArn": arn, "input": fits})).await;
    assert_eq!(ran["status"], "SUCCEEDED");
    let no_machine = error(
        &service,
        "StartExecution",
        json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nobody"}),
    )
    .await;
    assert_eq!(no_machine.kind, "StateMachineDoesNotExist");
    let no_arn = error(&service, "DescribeStateMachine", json!({})).await;
    assert_eq!(no_arn.kind, "ValidationException");
    assert!(no_arn.message.contains("stateMachineArn"), "{no_arn}");
    let other = create(&service, "Errors2", &pass(json!(1)), "STANDARD").await;
    let exists = error(
        &service,
        "CreateStateMachine",
        json!({"name": "Errors2", "definition": pass(json!(2)), "roleArn": ROLE}),
    )
    .await;
    assert_eq!(exists.kind, "StateMachineAlreadyExists", "{other}");
}

/// `SFN_MOCK_CONFIG`'s test cases, chosen as Step Functions Local chooses them: StartExecution on
/// `stateMachineArn#TestCaseName` (docs.aws.amazon.com/step-functions/latest/dg/sfn-local-test-sm-exec.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_case_is_chosen_by_the_arn_suffix() {
    let config = MockConfig::from_value(json!({
        "StateMachines": {"Mocked": {"TestCases": {
            "HappyPath": {"Call": "Ok"},
            "Broken": {"Call": "Boom"}
        }}},
        "MockedResponses": {
            "Ok": {"0": {"Return": {"answer": 42}}},
            "Boom": {"0-1": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "down"}}}
        }
    }))
    .unwrap();
    let service = service_with(Some(config));
    let definition = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "Unbound"},
        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        "End": true}}})
    .to_string();
    let arn = create(&service, "Mocked", &definition, "STANDARD").await;

    let happy = run(&service, json!({"stateMachineArn": format!("{arn}#HappyPath")})).await;
    assert_eq!(happy["status"], "SUCCEEDED", "{happy}");
    assert_eq!(happy["output"], r#"{"answer":42}"#);
    // The execution belongs to the machine, not to the suffixed ARN.
    assert_eq!(happy["stateMachineArn"], arn);

    let broken = run(&service, json!({"stateMachineArn": format!("{arn}#Broken")})).await;
    assert_eq!(broken["status"], "FAILED", "{broken}");
    assert_eq!(broken["error"], "Lambda.ServiceException");

    // Without a test case the Lambda is the embedder's to bind; none is, and the failure names it.
    let unbound = run(&service, json!({"stateMachineArn": arn})).await;
    assert_eq!(unbound["status"], "FAILED", "{unbound}");
    assert!(
        unbound["cause"].as_str().unwrap_or_default().contains("Unbound"),
        "{unbound}"
    );

    let unknown = error(
        &service,
        "StartExecution",
        json!({"stateMachineArn": format!("{arn}#NoSuchCase")}),
    )
    .await;
    assert_eq!(unknown.kind, "ValidationException");
    assert!(unknown.message.contains("NoSuchCase"), "{unknown}");
}
