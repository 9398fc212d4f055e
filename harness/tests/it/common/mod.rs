//! A world for driving the handlers step by step: the harness's one world builder with the Pipe
//! stopped (nothing runs unless a test calls it), small parts, and helpers named after what the
//! state machine would do.
#![allow(dead_code)]

pub mod backends;
pub mod up;

/// The README's commands under `heading`: the first `sh` block after it, and its `cargo run -p
/// harness -- …` lines, each as the built binary's arguments.
pub fn readme_harness_commands(heading: &str) -> (String, Vec<Vec<String>>) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("the README has a section {heading:?}"));
    let block = section.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    let commands = block
        .lines()
        .filter_map(|line| line.strip_prefix("cargo run -p harness -- "))
        .map(|rest| rest.split_whitespace().map(str::to_owned).collect())
        .collect();
    (block.to_string(), commands)
}

use std::collections::HashMap;
use std::ops::Deref;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use harness::ftps::FtpsServer;
use harness::world::{PipeState, World, WorldOptions};
use pipeline::PipelineError;
use pipeline::ftps::Timeouts;
use pipeline::handlers::{CaughtError, FinalizeInput, SetRunningInput, TransferInput};
use pipeline::job::{ErrorRecord, FileRef, Job, JobKey, JobStatus, TransferStage};
use pipeline::secret::FtpsSettings;
use pipeline::upload::UploadSettings;
use sha2::{Digest, Sha256};

/// The pipeline every test job belongs to (its secret is the world's).
pub const PIPELINE: &str = "FLPIDS_ODS";

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic pseudo-random content (the scenarios' generator), so digests are reproducible.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    harness::scenario::content::generated(len, seed)
}

/// A production ERROR job as FinalizeJobOnCatch leaves it: the seed's shape, the recorded error
/// and stage, and, from VERIFIED on, the landing (`s3`, `transfer`) of `landed_bytes`.
pub fn error_job(job_id: &str, error: &str, message: &str, file_name: &str, stage: TransferStage) -> Job {
    let mut job = Job::triggered(
        JobKey {
            job_id: job_id.into(),
            project: "FLPIDS-NATS".into(),
        },
        PIPELINE,
        FileRef {
            file_name: file_name.into(),
            remote_path: format!("/s_dart_cert/plas/in/{file_name}"),
        },
    );
    job.status = JobStatus::Error;
    job.transfer_stage = Some(stage);
    job.error = Some(ErrorRecord {
        name: error.into(),
        message: message.into(),
        state: "TransferFile".into(),
        at: "2026-01-23T14:59:08.357292+00:00".into(),
    });
    job
}

/// An item as `aws dynamodb get-item` prints it (`{"Item": {"jobId": {"S": …}, …}}`).
pub fn get_item_output(job: &Job) -> serde_json::Value {
    let item: serde_dynamo::Item = serde_dynamo::to_item(job).expect("a job is an item");
    serde_json::json!({ "Item": item })
}

pub fn execution_arn(name: &str) -> String {
    sfn::arn::execution("FSA-FileChecks", &format!("{name}-{}", uuid::Uuid::new_v4()))
}

fn test_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        command: Duration::from_secs(20),
        read: Duration::from_secs(20),
    }
}

pub struct TestWorld {
    pub world: World,
}

impl Deref for TestWorld {
    type Target = World;

    fn deref(&self) -> &World {
        &self.world
    }
}

/// A world whose secret is its own in-process FTPS server's.
pub async fn world_with_ftps() -> TestWorld {
    TestWorld::boot(test_timeouts(), FtpsServer::secret).await
}

/// A world whose secret is `secret(its FTPS server)`: a wrong password, another CA, another server.
pub async fn world_with_secret(secret: impl FnOnce(&FtpsServer) -> FtpsSettings) -> TestWorld {
    TestWorld::boot(test_timeouts(), secret).await
}

impl TestWorld {
    pub async fn boot(timeouts: Timeouts, secret: impl FnOnce(&FtpsServer) -> FtpsSettings) -> TestWorld {
        let world = World::boot(WorldOptions {
            pipe: PipeState::Stopped,
            timeouts,
            // Small parts, so a few MiB exercise the multipart path.
            upload: UploadSettings {
                part_size: 5 * 1024 * 1024,
                parts_in_flight: 2,
            },
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        world.put_secret(PIPELINE, &secret(&world.ftps)).await.unwrap();
        TestWorld { world }
    }

    /// Inserts a TRIGGERED job in the seed's shape.
    pub async fn insert_job(&self, project: &str, file_name: &str, remote_path: &str) -> JobKey {
        let key = JobKey {
            job_id: uuid::Uuid::new_v4().to_string(),
            project: project.to_string(),
        };
        let file = FileRef {
            file_name: file_name.to_string(),
            remote_path: remote_path.to_string(),
        };
        self.put_job(&Job::triggered(key.clone(), PIPELINE, file))
            .await
            .unwrap();
        key
    }

    pub async fn job(&self, key: &JobKey) -> Job {
        self.world.job(key).await.unwrap()
    }

    /// The raw item, for comparing "untouched".
    pub async fn raw_item(&self, key: &JobKey) -> HashMap<String, AttributeValue> {
        self.world.raw_item(key).await.unwrap().expect("the job's item")
    }

    /// SetRunning for the item's INSERT record (its image's `updatedAt` as the item has it now).
    pub async fn set_running(&self, key: &JobKey, execution_arn: &str) -> pipeline::handlers::SetRunningOutput {
        let updated_at = self.updated_at(key).await.unwrap();
        let record = harness::emulate::pipe::insert_batch(key, updated_at.as_deref())[0].clone();
        self.set_running_for(record, execution_arn).await
    }

    /// SetRunning for a MODIFY record: the job was set TRIGGERED again (a re-drive, a re-trigger).
    pub async fn set_running_again(&self, key: &JobKey, execution_arn: &str) -> pipeline::handlers::SetRunningOutput {
        let updated_at = self.updated_at(key).await.unwrap();
        let mut record = harness::emulate::pipe::insert_batch(key, updated_at.as_deref())[0].clone();
        record["eventName"] = "MODIFY".into();
        self.set_running_for(record, execution_arn).await
    }

    async fn set_running_for(
        &self,
        record: serde_json::Value,
        execution_arn: &str,
    ) -> pipeline::handlers::SetRunningOutput {
        self.handlers
            .set_running(SetRunningInput {
                record,
                execution_arn: execution_arn.to_string(),
            })
            .await
            .unwrap()
    }

    /// Sets a job TRIGGERED again, as an operator or a producer would.
    pub async fn retrigger(&self, key: &JobKey) {
        self.ddb()
            .update_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(key.job_id.clone()))
            .key("project", AttributeValue::S(key.project.clone()))
            .update_expression("SET #s = :t")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":t", AttributeValue::S("TRIGGERED".into()))
            .send()
            .await
            .unwrap();
    }

    /// TransferFile without a deadline.
    pub async fn transfer(
        &self,
        key: &JobKey,
        execution_arn: &str,
    ) -> Result<pipeline::handlers::TransferOutput, PipelineError> {
        self.transfer_by(key, execution_arn, None).await
    }

    /// TransferFile with the invocation's deadline at `deadline` (Lambda's timeout).
    pub async fn transfer_until(
        &self,
        key: &JobKey,
        execution_arn: &str,
        deadline: std::time::Instant,
    ) -> Result<pipeline::handlers::TransferOutput, PipelineError> {
        self.transfer_by(key, execution_arn, Some(deadline)).await
    }

    async fn transfer_by(
        &self,
        key: &JobKey,
        execution_arn: &str,
        deadline: Option<std::time::Instant>,
    ) -> Result<pipeline::handlers::TransferOutput, PipelineError> {
        let input = TransferInput {
            job: key.clone(),
            execution_arn: execution_arn.to_string(),
        };
        self.handlers.transfer_file(input, deadline).await
    }

    /// What FinalizeJobOnCatch receives after the ASL's Catch.
    pub async fn record_failure(
        &self,
        key: &JobKey,
        execution_arn: &str,
        err: &PipelineError,
    ) -> pipeline::handlers::FinalizeOutput {
        let caught = harness::emulate::lambda::lambda_error(err);
        let input = FinalizeInput {
            job: key.clone(),
            execution_arn: execution_arn.to_string(),
            error: Some(CaughtError {
                error: caught.error,
                cause: Some(caught.cause),
            }),
            failed_state: Some("TransferFile".into()),
        };
        self.handlers.finalize_job(input).await.unwrap()
    }

    pub async fn complete(&self, key: &JobKey, execution_arn: &str) -> pipeline::handlers::FinalizeOutput {
        let input = FinalizeInput {
            job: key.clone(),
            execution_arn: execution_arn.to_string(),
            error: None,
            failed_state: None,
        };
        self.handlers.finalize_job(input).await.unwrap()
    }

    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.s3().get_object().bucket(&self.names.bucket).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(err) => panic!("GetObject {key}: {}", aws_sdk_s3::error::DisplayErrorContext(err)),
        }
    }

    pub async fn open_multipart_uploads(&self) -> usize {
        let out = self
            .s3()
            .list_multipart_uploads()
            .bucket(&self.names.bucket)
            .send()
            .await
            .unwrap();
        out.uploads.unwrap_or_default().len()
    }

    pub async fn object_versions(&self) -> usize {
        let out = self
            .s3()
            .list_object_versions()
            .bucket(&self.names.bucket)
            .send()
            .await
            .unwrap();
        out.versions.unwrap_or_default().len()
    }
}
