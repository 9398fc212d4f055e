//! Step Functions' service integrations against the world's AWS: the optimized DynamoDB tasks
//! (`arn:aws:states:::dynamodb:getItem` …) and `aws-sdk:dynamodb:*` / `aws-sdk:secretsmanager:*`.
//! Both pass the Task's Parameters as the API request (they are the API's JSON shapes), so each is
//! one AWS JSON call to the backend; an API error becomes `DynamoDB.<Code>` (optimized) or
//! `DynamoDb.<Code>` / `SecretsManager.<Code>` (AWS SDK integrations), as Step Functions names them.

use std::sync::Arc;

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
struct Api {
    /// `X-Amz-Target` prefix (`DynamoDB_20120810`).
    target: &'static str,
    content_type: &'static str,
    /// The SigV4 signing name, by which emulators route the request.
    signing_name: &'static str,
}

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
pub fn bindings(endpoint: &str) -> Bindings {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
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
    bindings
}

async fn call(
    client: &Client<HttpConnector, Full<Bytes>>,
    endpoint: &str,
    target: &str,
    content_type: &str,
    signing_name: &str,
    prefix: &str,
    params: Value,
) -> Result<Value, StatesError> {
    let failed = |cause: String| StatesError::new("States.TaskFailed", cause);
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
        .map_err(|e| failed(format!("{target}: {e}")))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| failed(format!("{target}: the AWS endpoint: {e}")))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(format!("{target}: reading the answer: {e}")))?
        .to_bytes();
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(answer);
    }
    let kind = answer["__type"].as_str().unwrap_or("ServiceException");
    let code = kind.rsplit('#').next().unwrap_or(kind);
    let message = answer["message"]
        .as_str()
        .or_else(|| answer["Message"].as_str())
        .unwrap_or_default();
    Err(StatesError::new(
        format!("{prefix}.{code}"),
        format!(
            "{message} (Service: {signing_name}, Status Code: {}, Error Code: {code})",
            status.as_u16()
        ),
    ))
}
