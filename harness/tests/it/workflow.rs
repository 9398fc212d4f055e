//! The project's own state machine (`infra/statemachine.asl.json`) run by the harness's Step
//! Functions emulator with the real handlers in-process, against moto and the FTPS server:
//! the happy path, duplicate and concurrent deliveries, and every way into the Catch.

use crate::common::*;
use harness::emulate::pipe::insert_batch;
use harness::ftps::FtpsFault;
use harness::times::Times;
use pipeline::job::{JobKey, JobStatus, TransferStage};
use pipeline::secret::{FtpsSettings, Password};
use serde_json::json;
use sfn::{EventKind, Execution, MockConfig, RunOptions, Status};

const PROJECT: &str = "FLPIDS-NATS";

/// The world's state machine (the project's ASL bound to its handlers), delivered what the Pipe
/// delivers for the job's INSERT.
async fn execute(world: &TestWorld, key: &JobKey, options: RunOptions) -> Execution {
    let updated_at = world.updated_at(key).await.unwrap();
    world
        .executor
        .run(insert_batch(key, updated_at.as_deref()), options)
        .await
}

fn entered(execution: &Execution) -> Vec<String> {
    execution
        .history
        .iter()
        .filter_map(|e| e.entered_state().map(str::to_string))
        .collect()
}

/// The Lambda invocations that failed in an execution (`LambdaFunctionFailed` events).
fn lambda_failures(execution: &Execution) -> usize {
    execution
        .history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::LambdaFunctionFailed { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_then_a_duplicate_delivery() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    let data = content(6 * 1024 * 1024 + 5, 1);
    server.put_file("/s_dart_cert/plas/in/mo.moyr540.data", &data).unwrap();
    let key = world
        .insert_job(PROJECT, "mo.moyr540.data", "/s_dart_cert/plas/in/mo.moyr540.data")
        .await;

    let execution = execute(&world, &key, RunOptions::default()).await;
    assert_eq!(
        execution.status,
        Status::Succeeded,
        "{:?} {:?}",
        execution.error,
        execution.cause
    );
    assert_eq!(
        entered(&execution),
        [
            "UnwrapRecord",
            "SetRunning",
            "IsDuplicateDelivery",
            "TransferFile",
            "FinalizeJob"
        ]
    );
    let output = execution.output.unwrap();
    assert_eq!(output["transfer"]["transfer"]["sha256"], sha256_hex(&data));
    assert_eq!(output["finalized"]["status"], "COMPLETED");
    let job = world.job(&key).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.transfer_stage, Some(TransferStage::Done));
    assert!(
        job.execution_arn
            .unwrap()
            .starts_with("arn:aws:states:us-east-1:123456789012:execution:")
    );
    assert_eq!(world.object(&format!("{PROJECT}/mo.moyr540.data")).await.unwrap(), data);

    // The same stream record delivered again: a clean success that touches nothing.
    let before = world.raw_item(&key).await;
    let again = execute(&world, &key, RunOptions::default()).await;
    assert_eq!(again.status, Status::Succeeded);
    assert_eq!(
        entered(&again),
        ["UnwrapRecord", "SetRunning", "IsDuplicateDelivery", "DuplicateDelivery"]
    );
    assert_eq!(world.raw_item(&key).await, before);
    assert_eq!(world.object_versions().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_transfer_once() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    server.put_file("/in/once.dat", b"exactly once").unwrap();
    let key = world.insert_job(PROJECT, "once.dat", "/in/once.dat").await;
    let updated_at = world.updated_at(&key).await.unwrap();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let executor = world.executor.clone();
            let event = insert_batch(&key, updated_at.as_deref());
            tokio::spawn(async move { executor.run(event, RunOptions::default()).await })
        })
        .collect();
    let mut transferred = 0;
    for run in runs {
        let execution = run.await.unwrap();
        assert_eq!(
            execution.status,
            Status::Succeeded,
            "{:?} {:?}",
            execution.error,
            execution.cause
        );
        if entered(&execution).contains(&"TransferFile".to_string()) {
            transferred += 1;
        }
    }
    assert_eq!(transferred, 1, "exactly one execution took the job");
    assert_eq!(world.job(&key).await.status, JobStatus::Completed);
    assert_eq!(world.object_versions().await, 1);
}

/// Runs the workflow for a job whose transfer fails; returns the execution and the job.
async fn failing(world: TestWorld, remote: Option<&[u8]>) -> (TestWorld, Execution, pipeline::job::Job) {
    if let Some(data) = remote {
        world.ftps.put_file("/in/f.dat", data).unwrap();
    }
    let key = world.insert_job(PROJECT, "f.dat", "/in/f.dat").await;
    let execution = execute(&world, &key, RunOptions::default()).await;
    let job = world.job(&key).await;
    (world, execution, job)
}

fn assert_caught(execution: &Execution, job: &pipeline::job::Job, error: &str) {
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(execution.error.as_deref(), Some(error), "{:?}", execution.cause);
    let states = entered(execution);
    assert_eq!(
        states[states.len() - 2..],
        ["FinalizeJobOnCatch", "TransferFailed"],
        "{states:?}"
    );
    assert_eq!(job.status, JobStatus::Error);
    let recorded = job.error.as_ref().unwrap();
    assert_eq!(recorded.name, error);
    assert_eq!(recorded.state, "TransferFile");
    assert!(
        !recorded.message.is_empty() && !recorded.message.starts_with('{'),
        "the Lambda cause is unwrapped: {}",
        recorded.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_file_is_caught_and_recorded() {
    let world = world_with_ftps().await;
    let (_, execution, job) = failing(world, None).await;
    assert_caught(&execution, &job, "RemoteFileNotFound");
    assert_eq!(lambda_failures(&execution), 1, "permanent errors are not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_caught_and_recorded() {
    let world = world_with_secret(|server| FtpsSettings {
        password: Password::new("wrong"),
        ..server.secret()
    })
    .await;
    let (_, execution, job) = failing(world, Some(b"x")).await;
    assert_caught(&execution, &job, "FtpsAuthFailed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_on_every_attempt_is_retried_then_recorded_and_the_remote_kept() {
    let world = world_with_ftps().await;
    let data = content(6 * 1024 * 1024, 2);
    world.ftps.inject(&[
        FtpsFault::DropAfterBytes(1024 * 1024),
        FtpsFault::DropTimes(Times::ALWAYS),
    ]);
    let (world, execution, job) = failing(world, Some(&data)).await;
    assert_caught(&execution, &job, "TransientNetwork");
    assert_eq!(lambda_failures(&execution), 5, "1 attempt + MaxAttempts 4 retries");
    assert_eq!(job.transfer_stage, Some(TransferStage::Streaming));
    assert_eq!(std::fs::read(world.ftps.local_path("/in/f.dat")).unwrap(), data);
    // The multipart upload was recorded before its first part; the ERROR job keeps it (no part
    // made it, so every attempt was a fault's, not progress).
    let recorded = job.upload.as_ref().map(|u| (u.parts, u.bytes));
    assert_eq!(recorded, Some((0, 0)));
    assert_eq!(world.open_multipart_uploads().await, 1);
    assert_eq!(world.object_versions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_once_is_retried_and_succeeds() {
    let world = world_with_ftps().await;
    world.ftps.inject(&[FtpsFault::DropAfterBytes(1024)]);
    let (_, execution, job) = failing(world, Some(&content(300_000, 4))).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
    assert_eq!(lambda_failures(&execution), 1);
    assert_eq!(job.status, JobStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mocked_transfer_failure_reaches_the_real_catch_handler() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    let config = MockConfig::from_json(
        &json!({
            "StateMachines": {"FileChecks": {"TestCases": {"PermissionDenied": {"TransferFile": "Denied"}}}},
            "MockedResponses": {"Denied": {"0": {"Throw": {"Error": "RemoteRejected",
                "Cause": json!({"errorType": "RemoteRejected", "errorMessage": "553 not allowed"}).to_string()}}}}
        })
        .to_string(),
    )
    .unwrap();
    server.put_file("/in/f.dat", b"x").unwrap();
    let key = world.insert_job(PROJECT, "f.dat", "/in/f.dat").await;
    let options = RunOptions {
        state_machine_name: "FileChecks".into(),
        mocks: Some(config.test_case(Some("FileChecks"), "PermissionDenied").unwrap()),
        ..Default::default()
    };
    let execution = execute(&world, &key, options).await;
    let job = world.job(&key).await;
    assert_caught(&execution, &job, "RemoteRejected");
    assert_eq!(job.error.unwrap().message, "553 not allowed");
    assert!(
        server.local_path("/in/f.dat").exists(),
        "the mocked task never touched the server"
    );
}
