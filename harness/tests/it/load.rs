//! The world under load behaves as AWS's quotas make it: Step Functions throttles StartExecution
//! beyond its token bucket, and the Pipe retries the refused batch, then describes it on its
//! dead-letter queue (an SQS queue in moto) and moves on; Lambda refuses a reservation that
//! leaves the account less than its unreserved minimum.

use harness::world::integrations::{SQS, aws_json, json_client};
use harness::world::{World, WorldOptions};
use pipeline::job::{FileRef, Job, JobKey, JobStatus};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_start_is_retried_then_dead_lettered() {
    // One token and no refill: the first StartExecution of the world is its last.
    let world = World::boot(WorldOptions {
        start_quota: sfn::RateQuota {
            bucket: 1,
            refill_per_second: 0.0,
        },
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    world.put_secret("p", &world.ftps.secret()).await.unwrap();
    let mut keys = Vec::new();
    for n in 0..2 {
        world.ftps.put_file(&format!("/in/{n}.csv"), b"data\n").unwrap();
        let key = JobKey {
            job_id: format!("load-{n}-{}", uuid::Uuid::new_v4().simple()),
            project: "P".into(),
        };
        let file = FileRef {
            file_name: format!("{n}.csv"),
            remote_path: format!("/in/{n}.csv"),
        };
        world.put_job(&Job::triggered(key.clone(), "p", file)).await.unwrap();
        keys.push(key);
    }
    world.settle().await;

    let mut statuses: Vec<JobStatus> = Vec::new();
    for key in &keys {
        statuses.push(world.job(key).await.unwrap().status);
    }
    statuses.sort_by_key(|s| s.as_str());
    assert_eq!(
        statuses,
        [JobStatus::Completed, JobStatus::Triggered],
        "one job started; the other's record went to the dead-letter queue, its item untouched"
    );
    let board = world.board();
    assert_eq!(board.refused, 11, "the first try and MaximumRetryAttempts (10) retries");
    assert_eq!(board.dead_lettered, 1);

    let queue = world
        .pipe_dead_letter_queue()
        .expect("the template gives the Pipe a DLQ");
    let received = aws_json(
        &json_client(),
        world.sdk.endpoint_url().unwrap(),
        &format!("{}.ReceiveMessage", SQS.target),
        SQS.content_type,
        SQS.signing_name,
        &json!({"QueueUrl": queue, "MaxNumberOfMessages": 10}),
    )
    .await
    .unwrap();
    let messages = received["Messages"].as_array().expect("a message");
    assert_eq!(messages.len(), 1, "{received}");
    let body: serde_json::Value = serde_json::from_str(messages[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(body["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(body["requestContext"]["approximateInvokeCount"], 11);
    assert_eq!(body["responseContext"]["errorCode"], "ThrottlingException");
    let batch = &body["DDBStreamBatchInfo"];
    assert_eq!(batch["batchSize"], 1);
    assert!(batch["startSequenceNumber"].is_string(), "{body}");
    assert!(
        batch["streamArn"].as_str().unwrap().contains(&world.names.table),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_beyond_the_account_is_refused() {
    // 3 functions x 300 + TransferFile's 50 leave 50 of the account's 1,000 unreserved.
    let refused = World::boot(WorldOptions {
        parameters: [("JobStepConcurrency".to_string(), "300".to_string())].into(),
        ..Default::default()
    })
    .await;
    let err = refused.err().expect("Lambda refuses the reservation").to_string();
    assert!(
        err.contains("reserve 950") && err.contains("the 100 Lambda keeps unreserved"),
        "{err}"
    );
}
