//! SDK configuration for an emulated AWS endpoint, and the per-world resources the pipeline
//! needs: the job table (keys and stream as `infra/template.yaml` declares), a versioned
//! landing bucket and the FTPS secret.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
    StreamViewType,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

use pipeline::job::Job;
use pipeline::secret::FtpsSettings;

use super::template::{LeaseTableSpec, TableSpec};

/// The local world's region (every ARN the emulator mints is in it).
pub use sfn::arn::REGION;

/// Static test credentials (key id and secret): emulators accept anything, and nothing here may
/// ever reach a real account.
pub const TEST_CREDENTIALS: &str = "testing";

/// Environment that points the AWS CLI and the SDKs at a local endpoint.
pub fn client_environment(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", TEST_CREDENTIALS.into()),
        ("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIALS.into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        // TestState and StartSyncExecution go to `sync-<host>` on AWS; the local endpoint is an
        // IP. The AWS CLI and the SDKs that read this setting then call the endpoint as it is.
        ("AWS_DISABLE_HOST_PREFIX_INJECTION", "true".into()),
    ]
}

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            TEST_CREDENTIALS,
            TEST_CREDENTIALS,
            None,
            None,
            "harness",
        ))
        .load()
        .await
}

/// S3 client for emulators: path-style addressing.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

pub use crate::resource::ResourceError;

fn failed<E: std::error::Error>(what: &str) -> impl FnOnce(E) -> ResourceError + '_ {
    move |e| ResourceError::new(what, &e)
}

/// Creates the job table with the keys and stream view `infra/template.yaml` declares.
pub async fn create_job_table(sdk: &SdkConfig, table: &str, spec: &TableSpec) -> Result<(), ResourceError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("complete")
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("complete")
    };
    let mut request = aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(table)
        .key_schema(key(&spec.partition_key, KeyType::Hash))
        .attribute_definitions(attr(&spec.partition_key))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(spec.stream_view.as_str()))
                .build()
                .expect("complete"),
        );
    if let Some(sort) = &spec.sort_key {
        request = request
            .key_schema(key(sort, KeyType::Range))
            .attribute_definitions(attr(sort));
    }
    request.send().await.map_err(failed("creating the job table"))?;
    Ok(())
}

/// Creates the schedule group the deadline timers are armed in.
pub async fn create_schedule_group(sdk: &SdkConfig, group: &str) -> Result<(), ResourceError> {
    aws_sdk_scheduler::Client::new(sdk)
        .create_schedule_group()
        .name(group)
        .send()
        .await
        .map_err(|e| ResourceError::new("creating the timers' schedule group", &e))?;
    Ok(())
}

/// Creates the connection lease table with the key and TTL attribute the template declares.
pub async fn create_lease_table(sdk: &SdkConfig, table: &str, spec: &LeaseTableSpec) -> Result<(), ResourceError> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    ddb.create_table()
        .table_name(table)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(&spec.partition_key)
                .key_type(KeyType::Hash)
                .build()
                .expect("complete"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&spec.partition_key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(failed("creating the lease table"))?;
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name(&spec.ttl_attribute)
                .enabled(true)
                .build()
                .expect("complete"),
        )
        .send()
        .await
        .map_err(failed("enabling TTL on the lease table"))?;
    Ok(())
}

/// Creates the landing bucket, versioned if the template's is.
pub async fn create_landing_bucket(sdk: &SdkConfig, bucket: &str, versioned: bool) -> Result<(), ResourceError> {
    let s3 = s3_client(sdk);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(failed("creating the landing bucket"))?;
    if !versioned {
        return Ok(());
    }
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(failed("versioning the landing bucket"))?;
    Ok(())
}

/// Writes a job item as it is (the one place a `Job` becomes a DynamoDB item).
pub async fn put_job(ddb: &aws_sdk_dynamodb::Client, table: &str, job: &Job) -> Result<(), ResourceError> {
    let item = serde_dynamo::to_item(job).expect("a Job is a DynamoDB item");
    ddb.put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(failed("writing a job item"))?;
    Ok(())
}

/// Creates the FTPS secret `name`.
pub async fn put_secret(sdk: &SdkConfig, name: &str, value: &FtpsSettings) -> Result<(), ResourceError> {
    put_secret_text(
        sdk,
        name,
        &serde_json::to_string(value).expect("FtpsSettings serialize"),
    )
    .await
}

/// Stores a secret string as it is (a malformed one too).
pub async fn put_secret_text(sdk: &SdkConfig, name: &str, text: &str) -> Result<(), ResourceError> {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string(text)
        .send()
        .await
        .map_err(failed("creating the FTPS secret"))?;
    Ok(())
}

/// Creates an SQS queue (SQS's JSON protocol) and returns its URL.
pub async fn create_queue(endpoint: &str, name: &str) -> Result<String, ResourceError> {
    let sqs = &super::integrations::SQS;
    let answer = super::integrations::aws_json(
        &super::integrations::json_client(),
        endpoint,
        &format!("{}.CreateQueue", sqs.target),
        sqs.content_type,
        sqs.signing_name,
        &serde_json::json!({"QueueName": name}),
    )
    .await
    .map_err(|e| ResourceError::new("creating the Pipe's dead-letter queue", &e))?;
    answer["QueueUrl"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ResourceError::new("creating the Pipe's dead-letter queue", &NoQueueUrl))
}

#[derive(Debug, thiserror::Error)]
#[error("CreateQueue answered without a QueueUrl")]
struct NoQueueUrl;
