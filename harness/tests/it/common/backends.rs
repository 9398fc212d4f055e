//! One job through a world on another backend (LocalStack, DynamoDB Local, a split one): the
//! file served, the secret stored, the job written TRIGGERED, the world settled.

use harness::world::World;
use pipeline::job::{FileRef, Job, JobKey};

/// Runs job `job_id` of project `P` on `/in/a.data` holding `content`; returns the table's jobs.
pub async fn one_job_through(world: &World, job_id: &str, content: &[u8]) -> Vec<Job> {
    world.ftps.put_file("/in/a.data", content).unwrap();
    world.put_secret(super::PIPELINE, &world.ftps.secret()).await.unwrap();
    let key = JobKey {
        job_id: job_id.into(),
        project: "P".into(),
    };
    let file = FileRef {
        file_name: "a.data".into(),
        remote_path: "/in/a.data".into(),
    };
    world
        .put_job(&Job::triggered(key, super::PIPELINE, file))
        .await
        .unwrap();
    world.settle().await;
    world.jobs().await.unwrap()
}
