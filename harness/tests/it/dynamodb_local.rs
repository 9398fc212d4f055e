//! The world on DynamoDB Local (AWS's own DynamoDB engine, in a container through testcontainers)
//! for the job table and its stream, moto for S3 and Secrets Manager: a job runs there end to end
//! — its conditional writes judged by DynamoDB Local, the Pipe reading DynamoDB Local's stream.
//! Without a Docker daemon the test says so and passes.

use crate::common::backends::one_job_through;
use harness::world::{Backend, BackendError, World, WorldError, WorldOptions};
use pipeline::job::{JobStatus, TransferStage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_on_dynamodb_local() {
    let world = match World::boot(WorldOptions {
        backend: Backend::DynamoDbLocal { endpoint: None },
        ..Default::default()
    })
    .await
    {
        Ok(world) => world,
        Err(WorldError::Backend(BackendError::Container(_, e))) => {
            eprintln!("skipping: DynamoDB Local needs a Docker daemon, and none answered ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let jobs = one_job_through(&world, "ddb-local-1", b"on dynamodb local\n").await;
    assert_eq!(jobs[0].status, JobStatus::Completed, "{jobs:?}");
    assert_eq!(jobs[0].transfer_stage, Some(TransferStage::Done));
    assert_eq!(world.objects().await, vec![("P/a.data".to_string(), 18)]);
}
