//! Healing and the malformed-item races of issue 22, driven through the handlers themselves.

use crate::common::world_with_ftps;
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::handlers::SetRunningInput;
use pipeline::job::JobKey;
use serde_json::json;

/// A producer's TRIGGERED item whose `transferStage` is 250 KB of text ends ERROR InvalidJob with
/// a message of at most 4 KB. Before, the message echoed the whole value: the write went past
/// DynamoDB's 400 KB item limit and failed, and the job stayed without its error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_bad_field_ends_invalid_job_with_a_bounded_message() {
    let world = world_with_ftps().await;
    let key = JobKey {
        job_id: format!("huge-{}", uuid::Uuid::new_v4().simple()),
        project: "FLPIDS-NATS".into(),
    };
    let huge = "X".repeat(250_000);
    world
        .put_raw_item(&json!({
            "jobId": key.job_id, "project": key.project, "pipeline": "FLPIDS_ODS",
            "status": "TRIGGERED", "createdAt": "2026-01-23T14:58:59.051433+00:00",
            "file": {"fileName": "a.data", "remotePath": "/in/a.data"}, "transferStage": huge,
        }))
        .await
        .unwrap();
    let updated_at = world.updated_at(&key).await.unwrap();
    let record = harness::emulate::pipe::insert_batch(&key, updated_at.as_deref())[0].clone();
    let err = world
        .handlers
        .set_running(SetRunningInput {
            record,
            execution_arn: sfn::arn::execution("FileChecks", "huge"),
        })
        .await
        .expect_err("a malformed TRIGGERED item is rejected");
    assert_eq!(err.name(), "InvalidJob", "{err}");
    assert!(err.to_string().len() <= 4200, "the raised message is bounded too");
    let item = world.raw_item(&key).await;
    assert_eq!(item["status"], AttributeValue::S("ERROR".into()));
    let error = item["error"].as_m().expect("an error map");
    assert_eq!(error["name"], AttributeValue::S("InvalidJob".into()));
    let message = error["message"].as_s().unwrap();
    assert!(
        message.len() <= pipeline::error::MAX_MESSAGE + '…'.len_utf8(),
        "{} bytes",
        message.len()
    );
    assert!(
        message.starts_with("invalid job: the job item is malformed: transferStage"),
        "{message}"
    );
}

/// A job whose execution input is over 248 KB (a 258,000-character `description` in its item,
/// under StartExecution's 256 KiB) heals when its execution is stopped: the status-change event
/// leaves the input out, and HealJob asks DescribeExecution for it. A scenario, written here
/// because its item would make a 250 KB file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_input_over_248_kb_heals_when_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let description = "d".repeat(258_000);
    let scenario = format!(
        r#"description: An execution whose input is past 248 KB is stopped while its file streams.
remote:
  - {{path: /in/large-input.data, content: "never finished\n"}}
faults:
  stall_after_bytes: 4
items:
  - {{jobId: job-large-input, project: FLPIDS-NATS, pipeline: FLPIDS_ODS, status: TRIGGERED,
     createdAt: "2026-01-23T14:58:59.051433+00:00", updatedAt: "2026-01-23T14:58:59.051433+00:00",
     file: {{fileName: large-input.data, remotePath: /in/large-input.data}}, description: "{description}"}}
steps:
  - stop: {{job: job-large-input, after: download}}
expect:
  jobs:
    job-large-input: {{status: ERROR, transferStage: STREAMING, error: ExecutionAborted}}
  objects: []
  remote: [/in/large-input.data]
  transfers: 1
"#
    );
    let path = dir.path().join("large_input_stopped.yaml");
    std::fs::write(&path, scenario).unwrap();
    let project = harness::world::Project::discover(None).unwrap();
    let report = harness::scenario::Runner::new(project).run(&path).await.unwrap();
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    // The execution's input was past what the event carries.
    let execution = &report.evidence.executions[0];
    let sfn::EventKind::ExecutionStarted { details } = &execution.history[0].kind else {
        panic!("an execution starts with ExecutionStarted");
    };
    assert!(
        details.input.len() > sfn::EVENT_PAYLOAD_LIMIT && details.input.len() <= 262_144,
        "{} bytes",
        details.input.len()
    );
    // Healed from its event (through DescribeExecution), not by its deadline timer.
    let message = report.items[0].text("/error/message").unwrap().to_string();
    assert!(
        message.contains("ended ABORTED at transferStage STREAMING"),
        "{message}"
    );
    assert!(!message.contains("deadline timer"), "{message}");
}
