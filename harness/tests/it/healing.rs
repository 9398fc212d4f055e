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
