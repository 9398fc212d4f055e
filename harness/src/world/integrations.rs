//! Step Functions' service integrations against the world's AWS: the optimized DynamoDB tasks
//! (`arn:aws:states:::dynamodb:getItem` …) and `aws-sdk:dynamodb:*` / `aws-sdk:secretsmanager:*`.
//! Both pass the Task's Parameters as the API request (they are the API's JSON shapes), so each is
//! one AWS JSON call to the backend; an API error becomes `DynamoDB.<Code>` (optimized) or
//! `DynamoDb.<Code>` / `SecretsManager.<Code>` (AWS SDK integrations), as Step Functions names them.
//! S3 goes through the SDK instead (`s3_bindings`): a Distributed Map's ItemReader and ResultWriter
//! (`s3:*`) and `aws-sdk:s3:*` tasks, with errors `S3.<Code>`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sfn::{Bindings, StatesError, TaskFn};

use super::aws::{REGION, TEST_CREDENTIALS};

/// An AWS JSON protocol service.
pub struct Api {
    /// `X-Amz-Target` prefix (`DynamoDB_20120810`).
    pub target: &'static str,
    pub content_type: &'static str,
    /// The SigV4 signing name, by which emulators route the request.
    pub signing_name: &'static str,
}

/// SQS, whose JSON protocol moto speaks (the Pipe's dead-letter queue).
pub const SQS: Api = Api {
    target: "AmazonSQS",
    content_type: "application/x-amz-json-1.0",
    signing_name: "sqs",
};

const DYNAMODB: Api = Api {
    target: "DynamoDB_20120810",
    content_type: "application/x-amz-json-1.0",
    signing_name: "dynamodb",
};

const SECRETS_MANAGER: Api = Api {
    target: "secretsmanager",
    content_type: "application/x-amz-json-1.1",
    signing_name: "secretsmanager",
};

/// (integration after `arn:aws:states:::`, API, error-name prefix)
const INTEGRATIONS: &[(&str, &Api, &str)] = &[
    ("dynamodb:getItem", &DYNAMODB, "DynamoDB"),
    ("dynamodb:putItem", &DYNAMODB, "DynamoDB"),
    ("dynamodb:updateItem", &DYNAMODB, "DynamoDB"),
    ("dynamodb:deleteItem", &DYNAMODB, "DynamoDB"),
    ("aws-sdk:dynamodb:getItem", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:putItem", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:updateItem", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:deleteItem", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:query", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:scan", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:batchGetItem", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:batchWriteItem", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:transactWriteItems", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:transactGetItems", &DYNAMODB, "DynamoDb"),
    ("aws-sdk:dynamodb:describeTable", &DYNAMODB, "DynamoDb"),
    (
        "aws-sdk:secretsmanager:getSecretValue",
        &SECRETS_MANAGER,
        "SecretsManager",
    ),
    (
        "aws-sdk:secretsmanager:describeSecret",
        &SECRETS_MANAGER,
        "SecretsManager",
    ),
    (
        "aws-sdk:secretsmanager:createSecret",
        &SECRETS_MANAGER,
        "SecretsManager",
    ),
    (
        "aws-sdk:secretsmanager:putSecretValue",
        &SECRETS_MANAGER,
        "SecretsManager",
    ),
];

/// `getItem` → `GetItem`.
fn operation(action: &str) -> String {
    let mut chars = action.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The integrations, calling the AWS endpoint `endpoint` (the world's backend).
pub fn bindings(sdk: &aws_config::SdkConfig, endpoint: &str) -> Bindings {
    let client = json_client();
    let mut bindings = Bindings::default();
    for (integration, api, prefix) in INTEGRATIONS {
        let action = integration.rsplit(':').next().unwrap_or_default();
        let target = format!("{}.{}", api.target, operation(action));
        let (client, endpoint) = (client.clone(), endpoint.to_string());
        let (content_type, signing_name, prefix) = (api.content_type, api.signing_name, *prefix);
        let f: TaskFn = Arc::new(move |params: Value| {
            let (client, endpoint, target) = (client.clone(), endpoint.clone(), target.clone());
            Box::pin(async move { call(&client, &endpoint, &target, content_type, signing_name, prefix, params).await })
        });
        bindings.bind_integration(*integration, f);
    }
    s3_bindings(&super::aws::s3_client(sdk), &mut bindings);
    bindings
}

/// An S3 error as the AWS SDK integration names it (`S3.NoSuchKey`, `S3.S3Exception` …).
fn s3_failed<E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error>(what: &str, e: E) -> StatesError {
    let code = e.code().unwrap_or("S3Exception").to_string();
    StatesError::new(
        format!("S3.{code}"),
        format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(e)),
    )
}

/// `s3:getObject`, `s3:listObjectsV2` and `s3:putObject`, as a Distributed Map's ItemReader and
/// ResultWriter use them (bodies as text), and as `aws-sdk:s3:*` tasks with headObject and
/// deleteObject; errors are `S3.<Code>` (`S3.NoSuchKey` …).
fn s3_bindings(s3: &aws_sdk_s3::Client, bindings: &mut Bindings) {
    let client = s3.clone();
    let get: TaskFn = Arc::new(move |params: Value| {
        let client = client.clone();
        Box::pin(async move {
            let (bucket, key) = (
                params["Bucket"].as_str().unwrap_or_default(),
                params["Key"].as_str().unwrap_or_default(),
            );
            let out = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| s3_failed("GetObject", e))?;
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| StatesError::new("S3.S3Exception", format!("GetObject body: {e}")))?
                .into_bytes();
            // Text comes back as `Body`; anything else (a gzipped inventory file) base64-encoded.
            Ok(match std::str::from_utf8(&bytes) {
                Ok(text) => serde_json::json!({"Body": text, "ContentLength": bytes.len()}),
                Err(_) => serde_json::json!({"BodyBase64": BASE64.encode(&bytes), "ContentLength": bytes.len()}),
            })
        })
    });
    bindings.bind_integration("s3:getObject", get.clone());
    bindings.bind_integration("aws-sdk:s3:getObject", get);
    let client = s3.clone();
    let list: TaskFn = Arc::new(move |params: Value| {
        let client = client.clone();
        Box::pin(async move {
            let mut contents = Vec::new();
            let mut token = None;
            loop {
                let out = client
                    .list_objects_v2()
                    .bucket(params["Bucket"].as_str().unwrap_or_default())
                    .set_prefix(params["Prefix"].as_str().map(str::to_string))
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| s3_failed("ListObjectsV2", e))?;
                for object in out.contents() {
                    contents.push(serde_json::json!({
                        "Key": object.key(), "Size": object.size(), "Etag": object.e_tag(),
                        "LastModified": object.last_modified().map(|t| t.to_string()),
                        "StorageClass": object.storage_class().map(|c| c.as_str())}));
                }
                match out.next_continuation_token() {
                    Some(next) => token = Some(next.to_string()),
                    None => break,
                }
            }
            Ok(serde_json::json!({"Contents": contents}))
        })
    });
    bindings.bind_integration("s3:listObjectsV2", list.clone());
    bindings.bind_integration("aws-sdk:s3:listObjectsV2", list);
    let client = s3.clone();
    let put: TaskFn = Arc::new(move |params: Value| {
        let client = client.clone();
        Box::pin(async move {
            let body = params["Body"]
                .as_str()
                .map_or_else(|| params["Body"].to_string(), str::to_string);
            let out = client
                .put_object()
                .bucket(params["Bucket"].as_str().unwrap_or_default())
                .key(params["Key"].as_str().unwrap_or_default())
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(|e| s3_failed("PutObject", e))?;
            Ok(serde_json::json!({"ETag": out.e_tag()}))
        })
    });
    bindings.bind_integration("s3:putObject", put.clone());
    bindings.bind_integration("aws-sdk:s3:putObject", put);
    let client = s3.clone();
    let head: TaskFn = Arc::new(move |params: Value| {
        let client = client.clone();
        Box::pin(async move {
            let out = client
                .head_object()
                .bucket(params["Bucket"].as_str().unwrap_or_default())
                .key(params["Key"].as_str().unwrap_or_default())
                .send()
                .await
                .map_err(|e| s3_failed("HeadObject", e))?;
            Ok(
                serde_json::json!({"ContentLength": out.content_length(), "ETag": out.e_tag(),
                "VersionId": out.version_id(), "LastModified": out.last_modified().map(|t| t.to_string())}),
            )
        })
    });
    bindings.bind_integration("aws-sdk:s3:headObject", head);
    let client = s3.clone();
    let delete: TaskFn = Arc::new(move |params: Value| {
        let client = client.clone();
        Box::pin(async move {
            let out = client
                .delete_object()
                .bucket(params["Bucket"].as_str().unwrap_or_default())
                .key(params["Key"].as_str().unwrap_or_default())
                .send()
                .await
                .map_err(|e| s3_failed("DeleteObject", e))?;
            Ok(serde_json::json!({"DeleteMarker": out.delete_marker(), "VersionId": out.version_id()}))
        })
    });
    bindings.bind_integration("aws-sdk:s3:deleteObject", delete);
}

/// An AWS JSON protocol API's error answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} (Service: {service}, Status Code: {status}, Error Code: {code})")]
pub struct AwsJsonError {
    pub service: &'static str,
    pub status: u16,
    /// The error's code (`ConditionalCheckFailedException`), or how the call failed.
    pub code: String,
    pub message: String,
}

/// One call of an AWS JSON protocol API (`X-Amz-Target: <target>`) at `endpoint`.
pub async fn aws_json(
    client: &Client<HttpConnector, Full<Bytes>>,
    endpoint: &str,
    target: &str,
    content_type: &str,
    signing_name: &'static str,
    params: &Value,
) -> Result<Value, AwsJsonError> {
    let failed = |message: String| AwsJsonError {
        service: signing_name,
        status: 0,
        code: "ClientError".into(),
        message: format!("{target}: {message}"),
    };
    // Emulators route by the credential scope and do not check the signature.
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={TEST_CREDENTIALS}/20260101/{REGION}/{signing_name}/aws4_request, SignedHeaders=content-type;host;x-amz-target, Signature=0"
    );
    let request = Request::post(format!("{}/", endpoint.trim_end_matches('/')))
        .header("content-type", content_type)
        .header("x-amz-target", target)
        .header("x-amz-date", "20260101T000000Z")
        .header("authorization", authorization)
        .body(Full::new(Bytes::from(params.to_string())))
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| failed(format!("the AWS endpoint: {e}")))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(format!("reading the answer: {e}")))?
        .to_bytes();
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(answer);
    }
    let kind = answer["__type"].as_str().unwrap_or("ServiceException");
    Err(AwsJsonError {
        service: signing_name,
        status: status.as_u16(),
        code: kind.rsplit('#').next().unwrap_or(kind).to_string(),
        message: answer["message"]
            .as_str()
            .or_else(|| answer["Message"].as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

/// A plain HTTP/1 client for `aws_json`.
pub fn json_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn call(
    client: &Client<HttpConnector, Full<Bytes>>,
    endpoint: &str,
    target: &str,
    content_type: &str,
    signing_name: &'static str,
    prefix: &str,
    params: Value,
) -> Result<Value, StatesError> {
    aws_json(client, endpoint, target, content_type, signing_name, &params)
        .await
        .map_err(|e| {
            let name = if e.status == 0 {
                "States.TaskFailed".to_string()
            } else {
                format!("{prefix}.{}", e.code)
            };
            let cause = if e.status == 0 {
                e.message.clone()
            } else {
                e.to_string()
            };
            StatesError::new(name, cause)
        })
}
