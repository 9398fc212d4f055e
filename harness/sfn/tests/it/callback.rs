//! Callback tasks (`.waitForTaskToken`): the task hands `$$.Task.Token` to a function and waits
//! until SendTaskSuccess or SendTaskFailure answers it; SendTaskHeartbeat keeps it alive within
//! HeartbeatSeconds, else `States.HeartbeatTimeout`. An answered token is gone (TaskDoesNotExist).
//! (docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token)

use std::sync::Arc;

use serde_json::{Value, json};
use sfn::{Bindings, EventKind, Service, ServiceOptions, Status, TimeMode};
use tokio::sync::mpsc;

fn service() -> (Service, mpsc::UnboundedReceiver<String>) {
    let (tokens_tx, tokens) = mpsc::unbounded_channel();
    let mut bindings = Bindings::default();
    bindings.bind(
        "Notify",
        Arc::new(move |payload: Value| {
            let tokens_tx = tokens_tx.clone();
            Box::pin(async move {
                tokens_tx
                    .send(payload["token"].as_str().unwrap_or_default().to_string())
                    .unwrap();
                Ok(json!({"notified": true}))
            })
        }),
    );
    let service = Service::new(ServiceOptions {
        bindings,
        mocks: None,
        time: TimeMode::Virtual,
        start_quota: Some(sfn::RateQuota::START_EXECUTION),
    });
    (service, tokens)
}

fn machine(heartbeat: Option<u32>) -> String {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "Notify", "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"}}, "End": true});
    if let Some(seconds) = heartbeat {
        task["HeartbeatSeconds"] = json!(seconds);
    }
    json!({"StartAt": "Wait", "States": {"Wait": task}}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_task_waits_for_its_token() {
    let (service, mut tokens) = service();
    let arn = service
        .register("Callback", &machine(None), "arn:aws:iam::123456789012:role/r")
        .unwrap();
    let handle = service.start(&arn, json!({"n": 1}), None).unwrap();
    let token = tokens.recv().await.unwrap();
    let described = service
        .call("DescribeExecution", &json!({"executionArn": handle.arn}))
        .await
        .unwrap();
    assert_eq!(described["status"], "RUNNING", "waiting for the token");
    service
        .call("SendTaskHeartbeat", &json!({"taskToken": token}))
        .await
        .unwrap();
    service
        .call(
            "SendTaskSuccess",
            &json!({"taskToken": token, "output": r#"{"approved": true}"#}),
        )
        .await
        .unwrap();
    let execution = handle.wait().await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
    assert_eq!(execution.output, Some(json!({"approved": true})));
    let types: Vec<&str> = execution.history.iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let again = service
        .call("SendTaskSuccess", &json!({"taskToken": token, "output": "{}"}))
        .await
        .unwrap_err();
    assert_eq!(again.kind, "TaskDoesNotExist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_task_failure_fails_the_task_and_a_silent_one_times_out() {
    let (service, mut tokens) = service();
    let arn = service
        .register("Callback", &machine(None), "arn:aws:iam::123456789012:role/r")
        .unwrap();
    let handle = service.start(&arn, json!({"n": 2}), None).unwrap();
    let token = tokens.recv().await.unwrap();
    service
        .call(
            "SendTaskFailure",
            &json!({"taskToken": token, "error": "Rejected", "cause": "by a person"}),
        )
        .await
        .unwrap();
    let execution = handle.wait().await;
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(
        (execution.error.as_deref(), execution.cause.as_deref()),
        (Some("Rejected"), Some("by a person"))
    );

    let arn = service
        .register("Heartbeat", &machine(Some(1)), "arn:aws:iam::123456789012:role/r")
        .unwrap();
    let handle = service.start(&arn, json!({"n": 3}), None).unwrap();
    let token = tokens.recv().await.unwrap();
    let execution = handle.wait().await;
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(execution.error.as_deref(), Some("States.HeartbeatTimeout"));
    let last_task_event = execution
        .history
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::TaskTimedOut { .. }));
    assert!(last_task_event.is_some(), "{:?}", execution.history);
    let late = service
        .call("SendTaskHeartbeat", &json!({"taskToken": token}))
        .await
        .unwrap_err();
    assert_eq!(late.kind, "TaskDoesNotExist");
}
