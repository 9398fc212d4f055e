//! `harness scenario from-item`: turns an ERROR item exported from DynamoDB (plain JSON, DynamoDB
//! JSON, or a GetItem/export `{"Item": …}` wrapper) into a scenario that reproduces it — same
//! project, pipeline and paths, with the fault that produces the recorded error.

use std::collections::BTreeMap;

use pipeline::job::{FileRef, Job, JobStatus, TransferStage};
use serde_json::Value;
use sfn::mock::{MockConfig, MockedMachine, MockedResponse, MockedThrow};
use sha2::{Digest, Sha256};

use super::content::generated;
use super::schema::{
    DEFAULT_PIPELINE, ErrorExpectation, Expect, JobExpectation, JobSpec, Mocks, ObjectExpectation, RemoteFile, S3Spec,
    Scenario, SecretOverrides, UNTRUSTED_CA,
};
use crate::fault::Fault;
use crate::ftps::FtpsFault;
use crate::times::Times;
use crate::world::STATE_MACHINE_NAME;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromItemError {
    #[error("the item has no {0}")]
    Missing(&'static str),
    #[error("job {job_id} is {status}, not ERROR: nothing to reproduce")]
    NotAnError { job_id: String, status: String },
    /// Neither a job item nor one with the file it names: nothing to put on a server.
    #[error("the item is not a job item ({0}) and names no file")]
    Malformed(String),
}

pub use crate::emulate::pipe::plain_json as plain;

/// What produces a recorded error again in a fresh world.
enum Cause {
    /// The file is not on the server.
    MissingFile,
    Secret(Box<SecretOverrides>),
    Faults(Vec<Fault>),
    /// The item itself (an unsafe name, a malformed field): written again, it fails again.
    Item,
    /// Anything else is thrown by a mocked TransferFile.
    Mocked,
}

/// `… after 1048576 bytes …` in a pipeline message: how far the download got.
pub(crate) fn bytes_read(message: &str) -> Option<u64> {
    let (_, rest) = message.split_once("after ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[digits.len()..]
        .starts_with(" bytes")
        .then(|| digits.parse().ok())
        .flatten()
}

/// The stage a fault's reproduction ends the job at (the pipeline records it with the error).
fn stage_reached(cause: &Cause, error: &str) -> Option<TransferStage> {
    match (cause, error) {
        (Cause::Mocked, _) => None,
        (Cause::Item, _) => Some(TransferStage::Pending),
        (_, "TransientNetwork" | "IntegrityMismatch") => Some(TransferStage::Streaming),
        (_, "RemoteDeleteFailed") => Some(TransferStage::Verified),
        _ => Some(TransferStage::Connecting),
    }
}

fn cause_of(error: &str, message: &str) -> Cause {
    match error {
        "RemoteFileNotFound" => Cause::MissingFile,
        "FtpsAuthFailed" => Cause::Secret(Box::new(SecretOverrides {
            password: Some("not-the-recorded-password".into()),
            ..Default::default()
        })),
        "TlsVerificationFailed" => Cause::Secret(Box::new(SecretOverrides {
            ca_bundle: Some(UNTRUSTED_CA.into()),
            ..Default::default()
        })),
        "CertificatePinMismatch" => Cause::Secret(Box::new(SecretOverrides {
            cert_sha256: Some("00".repeat(32)),
            ..Default::default()
        })),
        // The drop happens where the message says (`after 1048576 bytes`), else after a byte.
        "TransientNetwork" => Cause::Faults(vec![
            FtpsFault::DropAfterBytes(bytes_read(message).unwrap_or(1)).into(),
            FtpsFault::DropTimes(Times::ALWAYS).into(),
        ]),
        "TooManyConnections" => Cause::Faults(vec![FtpsFault::RejectConnections(1000).into()]),
        "IntegrityMismatch" => Cause::Faults(vec![FtpsFault::SizeDelta(1).into()]),
        "RemoteDeleteFailed" => Cause::Faults(vec![FtpsFault::RefuseDelete(true).into()]),
        "UnsafeFileName" | "InvalidJob" => Cause::Item,
        _ => Cause::Mocked,
    }
}

/// A MockConfigFile whose TransferFile throws `error` on every invocation.
fn throwing_transfer(error: &str, message: &str) -> Mocks {
    let cause = serde_json::json!({"errorType": error, "errorMessage": message}).to_string();
    let config = MockConfig {
        state_machines: BTreeMap::from([(
            STATE_MACHINE_NAME.to_string(),
            MockedMachine {
                test_cases: BTreeMap::from([(
                    "Reproduce".to_string(),
                    BTreeMap::from([("TransferFile".to_string(), "Recorded".to_string())]),
                )]),
            },
        )]),
        mocked_responses: BTreeMap::from([(
            "Recorded".to_string(),
            BTreeMap::from([(
                "0-99".to_string(),
                MockedResponse::Throw(MockedThrow {
                    error: error.to_string(),
                    cause,
                }),
            )]),
        )]),
    };
    Mocks {
        test_case: "Reproduce".into(),
        config,
    }
}

/// The scenario reproducing an ERROR item.
pub fn scenario_from_item(exported: &Value) -> Result<Scenario, FromItemError> {
    reproduce(exported).map(|r| r.scenario)
}

/// A reproduction, and what of the item it could not reproduce (said to the person on call).
#[derive(Debug, Clone)]
pub struct Reproduction {
    pub scenario: Scenario,
    pub not_reproduced: Vec<String>,
}

/// What an ERROR item recorded: read as the pipeline reads a job where the item is one, and
/// field by field, as far as it goes, where it is not (what an InvalidJob item records).
struct Recorded {
    job_id: String,
    project: String,
    pipeline: String,
    file: Option<FileRef>,
    error: String,
    message: String,
    stage: Option<TransferStage>,
    transfer_bytes: Option<u64>,
    transfer_sha256: bool,
    s3_key: Option<String>,
    /// Not a job item: why not, and the item as it was.
    malformed: Option<(String, Value)>,
}

impl Recorded {
    fn read(item: &Value) -> Result<Self, FromItemError> {
        let not_an_error = |job_id: String, status: String| FromItemError::NotAnError { job_id, status };
        let missing_error = FromItemError::Missing("error.name (on an ERROR item)");
        match serde_json::from_value::<Job>(item.clone()) {
            Ok(job) => {
                if job.status != JobStatus::Error {
                    return Err(not_an_error(job.job_id, job.status.as_str().to_string()));
                }
                let error = job.error.ok_or(missing_error)?;
                Ok(Self {
                    job_id: job.job_id,
                    project: job.project,
                    pipeline: job.pipeline,
                    file: Some(job.file),
                    error: error.name,
                    message: error.message,
                    stage: job.transfer_stage,
                    transfer_bytes: job.transfer.as_ref().map(|t| t.bytes),
                    transfer_sha256: job.transfer.is_some(),
                    s3_key: job.s3.map(|s3| s3.key),
                    malformed: None,
                })
            }
            Err(problem) => {
                let text = |path: &str| item.pointer(path).and_then(Value::as_str).map(str::to_string);
                let job_id = text("/jobId").ok_or(FromItemError::Missing("jobId"))?;
                let project = text("/project").ok_or(FromItemError::Missing("project"))?;
                let status = text("/status").unwrap_or_default();
                if status != JobStatus::Error.as_str() {
                    return Err(not_an_error(job_id, status));
                }
                let file = match (text("/file/fileName"), text("/file/remotePath")) {
                    (Some(file_name), Some(remote_path)) => Some(FileRef { file_name, remote_path }),
                    _ => None,
                };
                Ok(Self {
                    job_id,
                    project,
                    pipeline: text("/pipeline").unwrap_or_else(|| DEFAULT_PIPELINE.into()),
                    file,
                    error: text("/error/name").ok_or(missing_error)?,
                    message: text("/error/message").unwrap_or_default(),
                    stage: item
                        .get("transferStage")
                        .and_then(|s| serde_json::from_value::<TransferStage>(s.clone()).ok()),
                    transfer_bytes: item.pointer("/transfer/bytes").and_then(Value::as_u64),
                    transfer_sha256: item.pointer("/transfer/sha256").is_some(),
                    s3_key: text("/s3/key"),
                    malformed: Some((problem.to_string(), item.clone())),
                })
            }
        }
    }
}

/// The item as a producer would write it again: TRIGGERED, without what a run recorded on it.
fn retriggered(mut item: Value) -> Value {
    if let Value::Object(fields) = &mut item {
        for recorded in [
            "error",
            "transfer",
            "upload",
            "executionArn",
            "startedAt",
            "completedAt",
        ] {
            fields.remove(recorded);
        }
        fields.insert("status".into(), Value::String(JobStatus::Triggered.as_str().into()));
    }
    item
}

/// The scenario reproducing an ERROR item: the fault that produces its error, at the byte offset
/// its message names (with a remote file large enough, generated, of the size the item recorded
/// where it did), its recorded stage as an expectation, and its landing (key, size) where the error
/// came after the object was verified. A malformed item that ended InvalidJob is written again
/// as it was.
pub fn reproduce(exported: &Value) -> Result<Reproduction, FromItemError> {
    let item = plain(exported.get("Item").unwrap_or(exported));
    let Recorded {
        job_id,
        project,
        pipeline,
        file,
        error,
        message,
        stage: recorded_stage,
        transfer_bytes,
        transfer_sha256,
        s3_key,
        malformed,
    } = Recorded::read(&item)?;
    let mut not_reproduced = vec![format!(
        "the file's content: the server holds a stand-in (generated bytes where the item gives a size)"
    )];
    // A malformed item that ended InvalidJob is written again as it was; one that ended otherwise
    // is written well-formed (its error came later), and that is said.
    let (raw_item, file) = match (malformed, file) {
        (Some((_, item)), file) if error == "InvalidJob" => (Some(retriggered(item)), file),
        (Some((problem, _)), Some(file)) => {
            not_reproduced.push(format!(
                "the item's shape: it is not a well-formed job ({problem}); the scenario writes one"
            ));
            (None, Some(file))
        }
        (Some((problem, _)), None) => return Err(FromItemError::Malformed(problem)),
        (None, file) => (None, file),
    };
    let cause = cause_of(&error, &message);
    // The size the transfer recorded, else one large enough for the offset the message names.
    let offset = bytes_read(&message);
    let size = transfer_bytes.or(offset.map(|n| n + n.max(64 * 1024)));
    let file_name = file.as_ref().map_or("", |f| f.file_name.as_str()).to_string();
    let content: Vec<u8> = match size {
        Some(len) => generated(len as usize, 1),
        None => format!("reproduction of {file_name}\n").into_bytes(),
    };
    let reached = stage_reached(&cause, &error);
    let stage = match (recorded_stage, reached) {
        (Some(recorded), Some(reached)) if recorded == reached => Some(recorded),
        (Some(recorded), Some(reached)) => {
            not_reproduced.push(format!(
                "the stage {}: the reproduction ends at {}",
                recorded.as_str(),
                reached.as_str()
            ));
            None
        }
        (Some(recorded), None) => {
            not_reproduced.push(format!(
                "the stage {}: a mocked TransferFile throws before any stage",
                recorded.as_str()
            ));
            None
        }
        (None, _) => None,
    };
    if matches!(cause, Cause::Mocked) {
        not_reproduced.push(format!(
            "how {error} arose: TransferFile is mocked to throw it with the recorded message"
        ));
    }
    let file_missing = matches!(cause, Cause::MissingFile);
    let mut scenario = Scenario {
        items: raw_item.into_iter().collect(),
        expect: Expect {
            jobs: BTreeMap::from([(
                job_id.clone(),
                JobExpectation {
                    status: JobStatus::Error,
                    transfer_stage: stage,
                    error: Some(ErrorExpectation::Named(error.clone())),
                },
            )]),
            ..Default::default()
        },
        ..Scenario::described(format!(
            "Reproduces job {job_id} ({project}), recorded ERROR {error}: {message}"
        ))
    };
    match cause {
        Cause::MissingFile | Cause::Item => {}
        Cause::Secret(overrides) => scenario.secret = *overrides,
        Cause::Faults(faults) => scenario.faults = faults.into(),
        Cause::Mocked => scenario.mocks = Some(throwing_transfer(&error, &message)),
    }
    let Some(file) = file else {
        return Ok(Reproduction {
            scenario,
            not_reproduced,
        });
    };
    // A path the pipeline would refuse is not put on the server either: it could escape the root.
    if pipeline::names::remote_path(&file.remote_path).is_ok() && !file_missing {
        scenario.remote.push(RemoteFile {
            path: file.remote_path.clone(),
            content: size.is_none().then(|| String::from_utf8_lossy(&content).into_owned()),
            fixture: None,
            size,
            seed: size.map(|_| 1),
            copies: None,
        });
        scenario.expect.remote.push(file.remote_path.clone());
    }
    // The landing the item recorded (`s3`, `transfer`) where the error came after it was verified.
    let default_key = format!("{project}/{}", file.file_name);
    let key = s3_key.unwrap_or_else(|| default_key.clone());
    if scenario.items.is_empty() {
        scenario.jobs.push(JobSpec {
            job_id,
            project,
            pipeline,
            status: JobStatus::Triggered,
            file,
            s3: (key != default_key).then(|| S3Spec {
                bucket: None,
                key: key.clone(),
            }),
            copies: None,
        });
    }
    if error == "RemoteDeleteFailed" {
        scenario.expect.objects.push(ObjectExpectation {
            key,
            size: content.len() as u64,
            sha256: hex::encode(Sha256::digest(&content)),
        });
        if transfer_sha256 {
            not_reproduced.push("the recorded SHA-256: the stand-in file has the recorded size, not its bytes".into());
        }
    }
    Ok(Reproduction {
        scenario,
        not_reproduced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_dynamodb_json() {
        let item = json!({"Item": {"jobId": {"S": "j"}, "n": {"N": "5"}, "file": {"M": {"fileName": {"S": "f"}}}, "ok": {"BOOL": true}}});
        assert_eq!(
            plain(&item["Item"]),
            json!({"jobId": "j", "n": 5, "file": {"fileName": "f"}, "ok": true})
        );
    }

    #[test]
    fn every_error_name_it_reproduces_is_one_the_pipeline_raises() {
        for name in [
            "RemoteFileNotFound",
            "FtpsAuthFailed",
            "TlsVerificationFailed",
            "CertificatePinMismatch",
            "TransientNetwork",
            "TooManyConnections",
            "IntegrityMismatch",
            "RemoteDeleteFailed",
            "UnsafeFileName",
            "InvalidJob",
        ] {
            assert!(pipeline::PipelineError::NAMES.contains(&name), "{name}");
            assert!(!matches!(cause_of(name, ""), Cause::Mocked), "{name}");
        }
    }

    #[test]
    fn refuses_items_that_are_not_errors() {
        let item =
            json!({"jobId": "j", "project": "p", "status": "COMPLETED", "file": {"fileName": "f", "remotePath": "/f"}});
        assert!(scenario_from_item(&item).unwrap_err().to_string().contains("not ERROR"));
    }
}
