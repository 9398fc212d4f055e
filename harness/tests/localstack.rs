//! The world on LocalStack (testcontainers), for machines with a Docker daemon: a job runs there
//! end to end too. Without a daemon the test says so and passes.
#![cfg(feature = "localstack")]

use harness::world::{Backend, BackendError, World, WorldError, WorldOptions};
use pipeline::job::{FileRef, Job, JobKey, JobStatus};

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
    world.ftps.put_file("/in/a.data", b"on localstack\n").unwrap();
    world.put_secret("FLPIDS_ODS", &world.ftps.secret()).await.unwrap();
    let key = JobKey {
        job_id: "ls-1".into(),
        project: "P".into(),
    };
    let file = FileRef {
        file_name: "a.data".into(),
        remote_path: "/in/a.data".into(),
    };
    world.put_job(&Job::triggered(key, "FLPIDS_ODS", file)).await.unwrap();
    world.settle().await;
    let jobs = world.jobs().await.unwrap();
    assert_eq!(jobs[0].status, JobStatus::Completed, "{jobs:?}");
}
