//! DynamoDB and its stream on a backend of their own (what `FILECHECKS_BACKEND=dynamodb-local`
//! does with DynamoDB Local): here a second moto_server plays DynamoDB Local, so the split is
//! checked on every machine. The table must exist only there, and a job must still run end to end
//! — the handlers' and the Pipe's DynamoDB calls routed there by the edge, S3 and Secrets Manager
//! to the embedded moto_server.

use crate::common::backends::one_job_through;
use harness::world::moto::Moto;
use harness::world::{Backend, World, WorldOptions};
use pipeline::job::JobStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_on_its_own_backend() {
    let dynamodb = Moto::start().expect("a second moto_server");
    let world = World::boot(WorldOptions {
        backend: Backend::DynamoDbLocal {
            endpoint: Some(dynamodb.endpoint().to_string()),
        },
        ..Default::default()
    })
    .await
    .unwrap();
    // The table is on the DynamoDB backend, not on the one that serves S3.
    // (Asked by name: the S3 side is the test binary's shared moto, whose table list has many pages.)
    let s3_side = aws_sdk_dynamodb::Client::new(&world.sdk);
    let described = s3_side.describe_table().table_name(&world.names.table).send().await;
    assert!(
        described.as_ref().is_err_and(|e| e
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())),
        "the job table is not on the S3 backend: {described:?}"
    );
    let jobs = one_job_through(&world, "split-1", b"split\n").await;
    assert_eq!(jobs[0].status, JobStatus::Completed, "{jobs:?}");
    assert_eq!(world.objects().await, vec![("P/a.data".to_string(), 6)]);
}
