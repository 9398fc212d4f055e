//! The world on LocalStack (testcontainers), for machines with a Docker daemon: a job runs there
//! end to end too. Without a daemon the test says so and passes.

use crate::common::backends::one_job_through;
use harness::world::{Backend, BackendError, World, WorldError, WorldOptions};
use pipeline::job::JobStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_world_boots_on_localstack() {
    let world = match World::boot(WorldOptions {
        backend: Backend::LocalStack,
        ..Default::default()
    })
    .await
    {
        Ok(world) => world,
        Err(WorldError::Backend(BackendError::Container(_, e))) => {
            eprintln!("skipping: LocalStack needs a Docker daemon, and none answered ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let jobs = one_job_through(&world, "ls-1", b"on localstack\n").await;
    assert_eq!(jobs[0].status, JobStatus::Completed, "{jobs:?}");
}
