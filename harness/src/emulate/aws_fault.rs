//! Faults of AWS itself, injected at the edge endpoint that every client of the world goes
//! through: throttling, 500, 503 and slow answers for chosen operations, named as IAM names them
//! (`dynamodb:UpdateItem`, `s3:PutObject`, `secretsmanager:GetSecretValue`, `states:StartExecution`).
//! The answers are shaped as each service shapes its errors, so the SDKs classify and retry them
//! as they would on AWS.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::times::Times;

/// One AWS-side fault, as scenario files write it under `faults: {aws: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AwsFault {
    /// The operation, as IAM names it: `dynamodb:UpdateItem`, `s3:UploadPart`, ….
    pub action: String,
    /// Only requests whose body contains this text: `SOURCE_DELETED` picks the one stage write
    /// among all UpdateItems. For S3 (a REST protocol) the query string is searched instead:
    /// `partNumber=2` picks one part's uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    pub respond: AwsAnswer,
    /// How long `slow` holds the request before passing it on.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
    /// How many matching requests it answers (default 1, or `always`).
    #[serde(default = "once")]
    pub times: Times,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn once() -> Times {
    Times::Count(1)
}

/// What the endpoint answers instead of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsAnswer {
    /// The service's throttling error (DynamoDB and Secrets Manager `ThrottlingException`, S3
    /// `503 SlowDown`).
    Throttle,
    /// `500` (InternalServerError / InternalError).
    InternalError,
    /// `503` ServiceUnavailable.
    ServiceUnavailable,
    /// The real answer, after `delay_ms`.
    Slow,
}

/// What the edge should do with one request.
pub enum Verdict {
    Pass,
    Delay(Duration),
    Answer(StatusCode, Bytes, Option<&'static str>),
}

/// The AWS faults armed at an edge; they can change while it runs.
#[derive(Debug)]
pub struct AwsFaults {
    armed: Mutex<Vec<AwsFault>>,
    /// Committed job-table writes of a `transferStage` (job id, stage), for Lambda faults that
    /// kill a function once its stage write has committed. Bodies are read only while someone
    /// listens.
    stages: tokio::sync::broadcast::Sender<(String, String)>,
    /// Requests seen, per action.
    seen: Mutex<std::collections::BTreeMap<String, usize>>,
    /// Requests a `slow` fault has begun holding so far (a step may act while one is held).
    held: tokio::sync::watch::Sender<u64>,
}

impl Default for AwsFaults {
    fn default() -> Self {
        Self {
            armed: Mutex::default(),
            seen: Mutex::default(),
            stages: tokio::sync::broadcast::channel(1024).0,
            held: tokio::sync::watch::channel(0).0,
        }
    }
}

impl AwsFaults {
    /// Adds `faults` to the armed ones.
    pub fn arm(&self, faults: &[AwsFault]) {
        self.armed
            .lock()
            .expect("aws faults lock")
            .extend(faults.iter().cloned());
    }

    pub fn is_empty(&self) -> bool {
        self.armed.lock().expect("aws faults lock").is_empty() && self.stages.receiver_count() == 0
    }

    /// Counts a request by its action.
    pub fn saw(&self, action: &str) {
        let mut seen = self.seen.lock().expect("seen lock");
        match seen.get_mut(action) {
            Some(count) => *count += 1,
            None => {
                seen.insert(action.to_string(), 1);
            }
        }
    }

    /// How many requests of `action` were seen.
    pub fn seen(&self, action: &str) -> usize {
        self.seen.lock().expect("seen lock").get(action).copied().unwrap_or(0)
    }

    /// How many requests `slow` faults have begun holding, and a receiver to wait for more.
    pub fn held(&self) -> tokio::sync::watch::Receiver<u64> {
        self.held.subscribe()
    }

    /// Requests so far, by action (`dynamodb:UpdateItem`).
    pub fn seen_by_action(&self) -> std::collections::BTreeMap<String, usize> {
        self.seen.lock().expect("seen lock").clone()
    }

    /// Committed stage writes from now on.
    pub fn stage_commits(&self) -> tokio::sync::broadcast::Receiver<(String, String)> {
        self.stages.subscribe()
    }

    /// Whether the edge must read UpdateItem bodies for `stage_commits`.
    pub fn watching_stages(&self) -> bool {
        self.stages.receiver_count() > 0
    }

    /// The edge saw an UpdateItem with this body succeed.
    pub fn committed(&self, body: &[u8]) {
        let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let job = request["Key"]["jobId"]["S"].as_str();
        // `SET … transferStage = :placeholder …`: whichever value the write names.
        let placeholder = request["UpdateExpression"].as_str().and_then(|update| {
            let after = &update[update.find("transferStage = ")? + "transferStage = ".len()..];
            Some(after.split([',', ' ']).next().unwrap_or_default().to_string())
        });
        let stage = placeholder.and_then(|p| request["ExpressionAttributeValues"][p.as_str()]["S"].as_str());
        if let (Some(job), Some(stage)) = (job, stage) {
            let _ = self.stages.send((job.to_string(), stage.to_string()));
        }
    }

    /// Whether some armed fault needs the body of a request for `action`.
    pub fn needs_body(&self, action: &str) -> bool {
        self.armed
            .lock()
            .expect("aws faults lock")
            .iter()
            .any(|f| f.action == action && f.body_contains.is_some())
    }

    /// Takes one firing of the first fault that matches, if any.
    pub fn verdict(&self, action: &str, body: Option<&[u8]>) -> Verdict {
        let mut armed = self.armed.lock().expect("aws faults lock");
        let hit = armed.iter_mut().find(|f| {
            f.action == action
                && f.body_contains
                    .as_deref()
                    .is_none_or(|needle| body.is_some_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())))
                && f.times != Times::Count(0)
        });
        let Some(fault) = hit else {
            return Verdict::Pass;
        };
        fault.times.take();
        tracing::info!(action, answer = ?fault.respond, "injected AWS fault");
        let service = action.split(':').next().unwrap_or_default();
        match fault.respond {
            AwsAnswer::Slow => {
                self.held.send_modify(|n| *n += 1);
                Verdict::Delay(Duration::from_millis(fault.delay_ms))
            }
            answer => error_answer(service, answer),
        }
    }
}

/// The error as the service would send it.
fn error_answer(service: &str, answer: AwsAnswer) -> Verdict {
    if service == "s3" {
        let (status, code, message) = match answer {
            AwsAnswer::Throttle => (
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            ),
            AwsAnswer::InternalError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            _ => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Service is unable to handle request.",
            ),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>injected</RequestId></Error>"
        );
        return Verdict::Answer(status, Bytes::from(body), None);
    }
    let (status, kind) = match answer {
        AwsAnswer::Throttle => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        AwsAnswer::InternalError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            if service == "dynamodb" {
                "InternalServerError"
            } else {
                "InternalServiceError"
            },
        ),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
    };
    let body = serde_json::json!({"__type": kind, "message": "injected fault"}).to_string();
    Verdict::Answer(status, Bytes::from(body), Some(kind))
}

/// The IAM name of a request's operation, from its `X-Amz-Target` (JSON protocols) or, for S3's
/// REST protocol, its method, path and query.
pub fn action(target: Option<&str>, signing: Option<&str>, method: &Method, path: &str, query: Option<&str>) -> String {
    if let Some(target) = target {
        let (prefix, operation) = target.split_once('.').unwrap_or((target, ""));
        let service = match prefix {
            p if p.starts_with("DynamoDB") => "dynamodb",
            "secretsmanager" => "secretsmanager",
            "AWSStepFunctions" => "states",
            other => other,
        };
        return format!("{service}:{operation}");
    }
    if signing == Some("scheduler") {
        // EventBridge Scheduler's REST API: `/schedules/{Name}`, `/schedule-groups/{Name}`.
        let schedule = path.starts_with("/schedules/");
        let operation = match *method {
            Method::POST if schedule => "CreateSchedule",
            Method::PUT if schedule => "UpdateSchedule",
            Method::DELETE if schedule => "DeleteSchedule",
            Method::GET if schedule => "GetSchedule",
            Method::GET if path == "/schedules" => "ListSchedules",
            Method::POST => "CreateScheduleGroup",
            Method::DELETE => "DeleteScheduleGroup",
            _ => "Unknown",
        };
        return format!("scheduler:{operation}");
    }
    let query = query.unwrap_or_default();
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    // `/bucket/key`; `/bucket` and `/bucket/` (path style, as some SDKs write it) are the bucket.
    let has_key = path
        .trim_start_matches('/')
        .split_once('/')
        .is_some_and(|(_, key)| !key.is_empty());
    let operation = match *method {
        Method::HEAD if has_key => "HeadObject",
        Method::HEAD => "HeadBucket",
        Method::GET if has("uploadId") => "ListParts",
        Method::GET if has("uploads") => "ListMultipartUploads",
        Method::GET if !has_key && has("versioning") => "GetBucketVersioning",
        Method::GET if !has_key && has("versions") => "ListObjectVersions",
        Method::GET if has_key => "GetObject",
        Method::GET => "ListObjects",
        Method::PUT if has("partNumber") => "UploadPart",
        Method::PUT if has_key => "PutObject",
        Method::PUT if has("versioning") => "PutBucketVersioning",
        Method::PUT => "CreateBucket",
        Method::POST if has("uploads") => "CreateMultipartUpload",
        Method::POST if has("uploadId") => "CompleteMultipartUpload",
        Method::POST => "DeleteObjects",
        Method::DELETE if has("uploadId") => "AbortMultipartUpload",
        Method::DELETE if has_key => "DeleteObject",
        Method::DELETE => "DeleteBucket",
        _ => "Unknown",
    };
    format!("s3:{operation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_named_as_iam_names_them() {
        let cases = [
            (
                Some("DynamoDB_20120810.UpdateItem"),
                Method::POST,
                "/",
                None,
                "dynamodb:UpdateItem",
            ),
            (
                Some("DynamoDBStreams_20120810.GetRecords"),
                Method::POST,
                "/",
                None,
                "dynamodb:GetRecords",
            ),
            (
                Some("secretsmanager.GetSecretValue"),
                Method::POST,
                "/",
                None,
                "secretsmanager:GetSecretValue",
            ),
            (
                None,
                Method::PUT,
                "/b/k",
                Some("partNumber=1&uploadId=x"),
                "s3:UploadPart",
            ),
            (None, Method::PUT, "/b/p/k", None, "s3:PutObject"),
            (None, Method::POST, "/b/k", Some("uploads"), "s3:CreateMultipartUpload"),
            (
                None,
                Method::POST,
                "/b/k",
                Some("uploadId=x"),
                "s3:CompleteMultipartUpload",
            ),
            (
                None,
                Method::DELETE,
                "/b/k",
                Some("uploadId=x"),
                "s3:AbortMultipartUpload",
            ),
            (None, Method::HEAD, "/b/k", None, "s3:HeadObject"),
            (None, Method::GET, "/b", Some("uploads"), "s3:ListMultipartUploads"),
            (None, Method::GET, "/b", Some("versioning"), "s3:GetBucketVersioning"),
            (None, Method::GET, "/b/", Some("versioning"), "s3:GetBucketVersioning"),
            (None, Method::GET, "/b", Some("versions"), "s3:ListObjectVersions"),
        ];
        for (target, method, path, query, want) in cases {
            assert_eq!(action(target, Some("s3"), &method, path, query), want);
        }
        let scheduler = [
            (Method::POST, "/schedules/t1", "scheduler:CreateSchedule"),
            (Method::DELETE, "/schedules/t1", "scheduler:DeleteSchedule"),
            (Method::GET, "/schedules/t1", "scheduler:GetSchedule"),
            (Method::GET, "/schedules", "scheduler:ListSchedules"),
            (Method::POST, "/schedule-groups/g", "scheduler:CreateScheduleGroup"),
        ];
        for (method, path, want) in scheduler {
            assert_eq!(action(None, Some("scheduler"), &method, path, None), want);
        }
    }

    #[test]
    fn a_fault_fires_its_times_on_matching_bodies_only() {
        let faults = AwsFaults::default();
        faults.arm(&[AwsFault {
            action: "dynamodb:UpdateItem".into(),
            body_contains: Some("SOURCE_DELETED".into()),
            respond: AwsAnswer::Throttle,
            delay_ms: 0,
            times: Times::Count(2),
        }]);
        let fired = |body: &[u8]| matches!(faults.verdict("dynamodb:UpdateItem", Some(body)), Verdict::Answer(..));
        assert!(!fired(b"STREAMING"));
        assert!(fired(b"..SOURCE_DELETED.."));
        assert!(fired(b"..SOURCE_DELETED.."));
        assert!(!fired(b"..SOURCE_DELETED.."), "two times only");
        assert!(matches!(faults.verdict("dynamodb:GetItem", None), Verdict::Pass));
        let parsed: Vec<AwsFault> =
            serde_yaml::from_str("- {action: 's3:UploadPart', respond: service_unavailable, times: always}\n").unwrap();
        assert_eq!(parsed[0].times, Times::ALWAYS);
    }
}
