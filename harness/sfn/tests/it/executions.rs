//! Executions while they run: a started execution is visible (its history grows), StopExecution
//! ends it ABORTED with an `ExecutionAborted` event, and the task it was waiting for runs on, as
//! a Lambda does on AWS.

use std::sync::Arc;

use serde_json::{Value, json};
use sfn::{Bindings, EventKind, Executor, RunOptions, StateMachine, Status};
use tokio::sync::{Mutex, mpsc, oneshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_execution_is_aborted_and_its_task_runs_on() {
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let (release_tx, release) = oneshot::channel::<()>();
    let (finished_tx, finished) = oneshot::channel::<Value>();
    let release = Arc::new(Mutex::new(Some(release)));
    let finished_tx = Arc::new(Mutex::new(Some(finished_tx)));
    let mut bindings = Bindings::default();
    bindings.bind(
        "Slow",
        Arc::new(move |input: Value| {
            let (started_tx, release, finished_tx) = (started_tx.clone(), release.clone(), finished_tx.clone());
            Box::pin(async move {
                let _ = started_tx.send(());
                if let Some(release) = release.lock().await.take() {
                    let _ = release.await;
                }
                if let Some(done) = finished_tx.lock().await.take() {
                    let _ = done.send(input.clone());
                }
                Ok(input)
            })
        }),
    );
    let machine = StateMachine::from_value(&json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Slow", "End": true}}}))
    .unwrap();
    let handle = Executor::new(machine, bindings).start(json!({"n": 1}), RunOptions::default());
    started.recv().await.expect("the task started");
    assert!(handle.outcome().is_none(), "still running");
    let types: Vec<&str> = handle.history().iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(types.last(), Some(&"LambdaFunctionStarted"), "{types:?}");

    assert!(handle.stop(Some("Operator".into()), Some("stopped by hand".into())));
    let execution = handle.wait().await;
    assert_eq!(execution.status, Status::Aborted);
    assert_eq!(execution.error.as_deref(), Some("Operator"));
    let last = &execution.history.last().unwrap().kind;
    assert!(
        matches!(last, EventKind::ExecutionAborted { details } if details.cause == "stopped by hand"),
        "{last:?}"
    );
    assert!(!handle.stop(None, None), "an ended execution cannot be stopped again");

    // The function was not cancelled: released, it finishes.
    release_tx.send(()).unwrap();
    assert_eq!(finished.await.unwrap(), json!({"n": 1}));
    assert_eq!(
        handle.wait().await.history.len(),
        execution.history.len(),
        "nothing recorded after the stop"
    );
}

/// A Task's `Credentials` is recorded where AWS records it (`taskCredentials` of the scheduled
/// event); the local world has no IAM to enforce it with. A Distributed Map's `Label` names its run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_recorded_and_a_label_names_the_map_run() {
    let mut bindings = Bindings::default();
    bindings.bind("Echo", Arc::new(|v: Value| Box::pin(async move { Ok(v) })));
    let machine = StateMachine::from_value(&json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Echo",
              "Credentials": {"RoleArn.$": "$.role"}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "Label": "Files",
              "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
              "ResultWriter": {"WriterConfig": {"Transformation": "NONE"}}, "End": true}}}))
    .unwrap();
    let input = json!({"role": "arn:aws:iam::111122223333:role/Other", "items": [1]});
    let execution = Executor::new(machine, bindings).run(input, RunOptions::default()).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
    let scheduled = execution
        .history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::LambdaFunctionScheduled { details } => Some(details),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        scheduled.task_credentials.as_ref().unwrap().role_arn,
        "arn:aws:iam::111122223333:role/Other"
    );
    let entry = &execution.output.unwrap()[0];
    assert_eq!(entry["Status"], "SUCCEEDED");
    assert!(
        entry["MapRunArn"]
            .as_str()
            .unwrap()
            .contains(":mapRun:StateMachine/Files:"),
        "{entry}"
    );
}
