//! `harness scenario from-item`: turns an ERROR item exported from DynamoDB (plain JSON, DynamoDB
//! JSON, or a GetItem/export `{"Item": …}` wrapper) into a scenario that reproduces it — same
//! project, pipeline and paths, with the fault that produces the recorded error.

use std::collections::BTreeMap;

use pipeline::job::{FileRef, JobStatus, TransferStage};
use serde_json::{Map, Value};
use sfn::mock::{MockConfig, MockedMachine, MockedResponse, MockedThrow};
use sha2::{Digest, Sha256};

use super::content::generated;
use super::schema::{
    DEFAULT_PIPELINE, ErrorExpectation, Expect, JobExpectation, JobSpec, Mocks, ObjectExpectation, RemoteFile, S3Spec,
    Scenario, SecretOverrides, UNTRUSTED_CA,
};
use crate::ftps::{Fault, FaultSet, Times};
use crate::world::STATE_MACHINE_NAME;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromItemError {
    #[error("the item has no {0}")]
    Missing(&'static str),
    #[error("job {job_id} is {status}, not ERROR: nothing to reproduce")]
    NotAnError { job_id: String, status: String },
}

/// DynamoDB JSON (`{"S": "x"}`, `{"M": {…}}` …) to plain JSON; plain JSON passes unchanged.
pub fn plain(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    if map.len() == 1 {
        let (tag, inner) = map.iter().next().expect("one entry");
        match (tag.as_str(), inner) {
            ("S", Value::String(s)) => return Value::String(s.clone()),
            ("N", Value::String(n)) => return serde_json::from_str(n).unwrap_or(Value::String(n.clone())),
            ("BOOL", Value::Bool(b)) => return Value::Bool(*b),
            ("NULL", Value::Bool(true)) => return Value::Null,
            ("M", Value::Object(m)) => return Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
            ("L", Value::Array(items)) => return Value::Array(items.iter().map(plain).collect()),
            ("SS" | "NS", Value::Array(items)) => return Value::Array(items.iter().map(plain).collect()),
            _ => {}
        }
    }
    Value::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect::<Map<_, _>>())
}

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
fn bytes_read(message: &str) -> Option<u64> {
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
            Fault::DropAfterBytes(bytes_read(message).unwrap_or(1)),
            Fault::DropTimes(Times::ALWAYS),
        ]),
        "TooManyConnections" => Cause::Faults(vec![Fault::RejectConnections(1000)]),
        "IntegrityMismatch" => Cause::Faults(vec![Fault::SizeDelta(1)]),
        "RemoteDeleteFailed" => Cause::Faults(vec![Fault::RefuseDelete(true)]),
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
        config: serde_json::to_value(config).expect("a mock config serializes"),
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

/// The scenario reproducing an ERROR item: the fault that produces its error, at the byte offset
/// its message names (with a remote file large enough, generated, of the size the item recorded
/// where it did), its recorded stage as an expectation, and its landing (key, size) where the error
/// came after the object was verified.
pub fn reproduce(exported: &Value) -> Result<Reproduction, FromItemError> {
    let item = plain(exported.get("Item").unwrap_or(exported));
    let text = |path: &str| item.pointer(path).and_then(Value::as_str).map(str::to_string);
    let job_id = text("/jobId").ok_or(FromItemError::Missing("jobId"))?;
    let project = text("/project").ok_or(FromItemError::Missing("project"))?;
    let pipeline = text("/pipeline").unwrap_or_else(|| DEFAULT_PIPELINE.into());
    let file_name = text("/file/fileName").ok_or(FromItemError::Missing("file.fileName"))?;
    let remote_path = text("/file/remotePath").ok_or(FromItemError::Missing("file.remotePath"))?;
    let status = text("/status").unwrap_or_default();
    if status != JobStatus::Error.as_str() {
        return Err(FromItemError::NotAnError { job_id, status });
    }
    let error = text("/error/name").ok_or(FromItemError::Missing("error.name (on an ERROR item)"))?;
    let message = text("/error/message").unwrap_or_default();

    let mut not_reproduced = vec![format!(
        "the file's content: the server holds a stand-in (generated bytes where the item gives a size)"
    )];
    let cause = cause_of(&error, &message);
    // The size the transfer recorded, else one large enough for the offset the message names.
    let recorded_size = item.pointer("/transfer/bytes").and_then(Value::as_u64);
    let offset = bytes_read(&message);
    let size = recorded_size.or(offset.map(|n| n + n.max(64 * 1024)));
    let content: Vec<u8> = match size {
        Some(len) => generated(len as usize, 1),
        None => format!("reproduction of {file_name}\n").into_bytes(),
    };
    let recorded_stage = item
        .get("transferStage")
        .and_then(|s| serde_json::from_value::<TransferStage>(s.clone()).ok());
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
    // A path the pipeline would refuse is not put on the server either: it could escape the root.
    let remote_kept = pipeline::names::remote_path(&remote_path).is_ok() && !matches!(cause, Cause::MissingFile);
    let mut scenario = Scenario {
        description: format!("Reproduces job {job_id} ({project}), recorded ERROR {error}: {message}"),
        remote: Vec::new(),
        faults: FaultSet::default(),
        secret: SecretOverrides::default(),
        state_machine: None,
        jobs: vec![JobSpec {
            job_id: job_id.clone(),
            project: project.clone(),
            pipeline,
            status: JobStatus::Triggered,
            file: FileRef {
                file_name: file_name.clone(),
                remote_path: remote_path.clone(),
            },
            s3: None,
            copies: None,
        }],
        items: Vec::new(),
        steps: Vec::new(),
        mocks: None,
        ftps: None,
        speedup: None,
        s3: Default::default(),
        slow: false,
        expect: Expect {
            jobs: BTreeMap::from([(
                job_id,
                JobExpectation {
                    status: JobStatus::Error,
                    transfer_stage: stage,
                    error: Some(ErrorExpectation::Named(error.clone())),
                },
            )]),
            ..Default::default()
        },
    };
    match cause {
        Cause::MissingFile | Cause::Item => {}
        Cause::Secret(overrides) => scenario.secret = *overrides,
        Cause::Faults(faults) => scenario.faults = faults.into(),
        Cause::Mocked => scenario.mocks = Some(throwing_transfer(&error, &message)),
    }
    if remote_kept {
        scenario.remote.push(RemoteFile {
            path: remote_path.clone(),
            content: size.is_none().then(|| String::from_utf8_lossy(&content).into_owned()),
            fixture: None,
            size,
            seed: size.map(|_| 1),
            copies: None,
        });
        scenario.expect.remote.push(remote_path);
    }
    // The landing the item recorded (`s3`, `transfer`) where the error came after it was verified.
    let key = text("/s3/key").unwrap_or_else(|| format!("{project}/{file_name}"));
    if key != format!("{project}/{file_name}")
        && let Some(job) = scenario.jobs.first_mut()
    {
        job.s3 = Some(S3Spec {
            bucket: None,
            key: key.clone(),
        });
    }
    if error == "RemoteDeleteFailed" {
        scenario.expect.objects.push(ObjectExpectation {
            key,
            size: content.len() as u64,
            sha256: hex::encode(Sha256::digest(&content)),
        });
        if item.pointer("/transfer/sha256").is_some() {
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
