//! One world per test: moto_server (shared by the test binary), unique table/bucket/secret
//! names, and a fresh in-process FTPS server, with the real `Pipeline` pointed at them.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use harness::ftps_server::FtpsServer;
use pipeline::ftps::Timeouts;
use pipeline::handlers::{FinalizeInput, SetRunningInput, TransferInput};
use pipeline::job::{Job, JobKey};
use pipeline::upload::UploadSettings;
use pipeline::{Pipeline, PipelineError, Settings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const USER: &str = "ingest";
pub const PASSWORD: &str = "s3cr3t-pa55";

/// The test binary's moto_server (the harness's embedded one, started on first use).
pub fn moto_endpoint() -> String {
    harness::world::embedded_endpoint().expect("moto_server starts")
}

/// The stack as `infra/template.yaml` declares it (read once).
pub fn stack() -> &'static harness::template::StackSpec {
    static STACK: OnceLock<harness::template::StackSpec> = OnceLock::new();
    STACK.get_or_init(|| harness::template::StackSpec::load(&harness::template::default_path()).expect("the template"))
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub struct World {
    pub sdk: SdkConfig,
    pub table: String,
    pub bucket: String,
    pub pipeline_name: String,
    pub pipeline: std::sync::Arc<Pipeline>,
    pub s3: aws_sdk_s3::Client,
    pub ddb: aws_sdk_dynamodb::Client,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Deterministic pseudo-random content (the scenarios' generator), so digests are reproducible.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    harness::runner::fill_generated(&mut (seed | 1), &mut data);
    data
}

impl World {
    /// A world whose secret is `secret` (see `FtpsServer::secret_json`).
    pub async fn new(secret: &Value) -> World {
        Self::with_timeouts(
            secret,
            Timeouts {
                connect: Duration::from_secs(5),
                command: Duration::from_secs(20),
                read: Duration::from_secs(20),
            },
        )
        .await
    }

    pub async fn with_timeouts(secret: &Value, timeouts: Timeouts) -> World {
        let sdk = harness::aws::sdk_config(&moto_endpoint()).await;
        let table = unique("FSA-FileChecks");
        let bucket = unique("landing");
        let pipeline_name = unique("FLPIDS_ODS");
        harness::aws::create_job_table(&sdk, &table, &stack().table)
            .await
            .unwrap();
        harness::aws::create_landing_bucket(&sdk, &bucket, true).await.unwrap();
        harness::aws::put_secret(&sdk, &format!("filechecks/ftps/{pipeline_name}"), secret)
            .await
            .unwrap();
        let settings = Settings {
            table: table.clone(),
            landing_bucket: bucket.clone(),
            secret_id: "filechecks/ftps/{pipeline}".to_string(),
            upload: UploadSettings {
                part_size: 5 * 1024 * 1024,
                parts_in_flight: 2,
            },
            timeouts,
        };
        World {
            pipeline: std::sync::Arc::new(Pipeline::new(&sdk, settings)),
            s3: harness::aws::s3_client(&sdk),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            sdk,
            table,
            bucket,
            pipeline_name,
        }
    }

    /// Inserts a TRIGGERED job in the seed's shape.
    pub async fn insert_job(&self, project: &str, file_name: &str, remote_path: &str) -> JobKey {
        let job_id = uuid::Uuid::new_v4().to_string();
        let s = |v: &str| AttributeValue::S(v.to_string());
        let file = AttributeValue::M(
            [
                ("fileName".to_string(), s(file_name)),
                ("remotePath".to_string(), s(remote_path)),
            ]
            .into(),
        );
        self.ddb
            .put_item()
            .table_name(&self.table)
            .item("jobId", s(&job_id))
            .item("project", s(project))
            .item("pipeline", s(&self.pipeline_name))
            .item("status", s("TRIGGERED"))
            .item("createdAt", s(&pipeline::timestamp::now()))
            .item("updatedAt", s(&pipeline::timestamp::now()))
            .item("file", file)
            .send()
            .await
            .unwrap();
        JobKey {
            job_id,
            project: project.to_string(),
        }
    }

    pub async fn job(&self, key: &JobKey) -> Job {
        self.pipeline.store().get(key).await.unwrap().expect("the job exists")
    }

    /// The raw item, for comparing "untouched".
    pub async fn raw_item(&self, key: &JobKey) -> std::collections::HashMap<String, AttributeValue> {
        self.ddb
            .get_item()
            .table_name(&self.table)
            .key("jobId", AttributeValue::S(key.job_id.clone()))
            .key("project", AttributeValue::S(key.project.clone()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    }

    pub async fn set_running(&self, key: &JobKey, execution_arn: &str) -> pipeline::handlers::SetRunningOutput {
        let record = json!({"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {
            "Keys": {"jobId": {"S": key.job_id}, "project": {"S": key.project}}}});
        self.pipeline
            .set_running(SetRunningInput {
                record,
                execution_arn: execution_arn.to_string(),
            })
            .await
            .unwrap()
    }

    pub async fn transfer(
        &self,
        key: &JobKey,
        execution_arn: &str,
    ) -> Result<pipeline::handlers::TransferOutput, PipelineError> {
        self.pipeline
            .transfer_file(TransferInput {
                job: key.clone(),
                execution_arn: execution_arn.to_string(),
            })
            .await
    }

    /// What FinalizeJobOnCatch receives after the ASL's Catch.
    pub async fn record_failure(
        &self,
        key: &JobKey,
        execution_arn: &str,
        err: &PipelineError,
    ) -> pipeline::handlers::FinalizeOutput {
        let input = json!({
            "job": key, "executionArn": execution_arn, "failedState": "TransferFile",
            "error": {"Error": err.name(), "Cause": json!({"errorType": err.name(), "errorMessage": err.to_string()}).to_string()}
        });
        let input: FinalizeInput = serde_json::from_value(input).unwrap();
        self.pipeline.finalize_job(input).await.unwrap()
    }

    pub async fn complete(&self, key: &JobKey, execution_arn: &str) -> pipeline::handlers::FinalizeOutput {
        let input = FinalizeInput {
            job: key.clone(),
            execution_arn: execution_arn.to_string(),
            error: None,
            failed_state: None,
        };
        self.pipeline.finalize_job(input).await.unwrap()
    }

    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
            Err(err) => panic!("GetObject {key}: {}", aws_sdk_s3::error::DisplayErrorContext(err)),
        }
    }

    pub async fn open_multipart_uploads(&self) -> usize {
        let out = self
            .s3
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        out.uploads.unwrap_or_default().len()
    }

    pub async fn object_versions(&self) -> usize {
        let out = self
            .s3
            .list_object_versions()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        out.versions.unwrap_or_default().len()
    }
}

/// A world with a fresh in-process FTPS server whose secret trusts its CA.
pub async fn world_with_ftps() -> (World, FtpsServer) {
    let server = FtpsServer::start(USER, PASSWORD).await.unwrap();
    let world = World::new(&server.secret_json()).await;
    (world, server)
}

pub fn execution_arn(name: &str) -> String {
    format!(
        "arn:aws:states:us-east-1:123456789012:execution:FSA-FileChecks:{name}-{}",
        uuid::Uuid::new_v4()
    )
}
