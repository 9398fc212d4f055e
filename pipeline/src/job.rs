//! The job item of table `FSA-FileChecks`, in the seed's shape, plus the audit fields we add.

use serde::{Deserialize, Serialize};

use crate::error::PipelineError;

/// The table's primary key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobKey {
    pub job_id: String,
    pub project: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Triggered,
    Running,
    Completed,
    Error,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "TRIGGERED",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Error => "ERROR",
        }
    }
}

/// Durable progress of a transfer; each stage is written before the work it names starts, so an
/// ERROR item tells how far the run got. `DONE` is written by FinalizeJob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStage {
    /// SetRunning took the job; nothing has touched the server yet.
    Pending,
    /// Connecting, logging in, asking the remote SIZE.
    Connecting,
    /// Streaming the remote file into S3.
    Streaming,
    /// The object is in S3 and its size and checksum equal what was streamed.
    Verified,
    /// The source file was deleted from the server.
    SourceDeleted,
    /// FinalizeJob recorded COMPLETED.
    Done,
}

impl TransferStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Connecting => "CONNECTING",
            Self::Streaming => "STREAMING",
            Self::Verified => "VERIFIED",
            Self::SourceDeleted => "SOURCE_DELETED",
            Self::Done => "DONE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    pub file_name: String,
    pub remote_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

/// What a verified transfer recorded (the job item's `transfer` map and TransferFile's output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    /// Bytes streamed, equal to the remote SIZE.
    pub bytes: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Hex MD5 of the content, taken only when the server's digest is MD5 (`SITE MD5`, `XMD5`)
    /// and the upload was not resumed: what the server's digest of the source is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// The S3 checksum of the object as S3 reports it (CRC32C, base64; `-N` for N parts).
    pub s3_checksum_crc32c: String,
    /// The object version S3 assigned (absent when the bucket is not versioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_version_id: Option<String>,
    pub parts: u32,
    pub duration_ms: u64,
    /// The source's MDTM when it was read (absent where the server has no MDTM): with `bytes`,
    /// what a resumed attempt compares before it deletes the source without reading it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_modified_at: Option<String>,
    /// When the first read of these bytes began, by the Lambda's clock: SIZE and MDTM alone
    /// vouch for an unchanged source only when its MDTM is older than this (see
    /// `transfer::unchanged_since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_read_at: Option<String>,
}

impl TransferRecord {
    /// The landed content's digest in `algorithm`, hex, if it was taken.
    pub fn digest(&self, algorithm: crate::ftps::DigestAlgorithm) -> Option<&str> {
        match algorithm {
            crate::ftps::DigestAlgorithm::Sha256 => Some(&self.sha256),
            crate::ftps::DigestAlgorithm::Md5 => self.md5.as_deref(),
        }
    }
}

/// Error details recorded on an ERROR job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    pub name: String,
    pub message: String,
    pub state: String,
    pub at: String,
}

/// A job item. Unknown attributes are kept by DynamoDB and ignored here; absent attributes are
/// `None` and stay absent when an item is written (DynamoDB items have no null attributes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub project: String,
    pub pipeline: String,
    pub status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_stage: Option<TransferStage>,
    pub file: FileRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
    /// A multipart upload an interrupted TransferFile left for the next attempt to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadCheckpoint>,
}

/// Where an unfinished multipart upload stands (the job's `upload` map): parts `1..=parts` are
/// in S3 and confirmed, and `sha256State` is the SHA-256 state after their bytes, so the next
/// attempt reads on from `bytes` (REST) and still ends with the whole file's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadCheckpoint {
    pub upload_id: String,
    pub part_size: u64,
    pub parts: u32,
    pub bytes: u64,
    /// sha2's serialized SHA-256 state, base64.
    pub sha256_state: String,
    /// The CRC32C of parts `1..=parts`, big-endian, concatenated, base64: S3 needs each part's
    /// checksum to complete the upload, and not every S3 lists them.
    pub part_crcs: String,
    /// The source as the attempt read it: a source with another SIZE or MDTM is never resumed
    /// (and one without MDTM never is).
    pub source_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_modified_at: Option<String>,
    /// When the first read of the upload's bytes began (see `TransferRecord::source_read_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_read_at: Option<String>,
}

impl Job {
    /// A new job in the seed's shape, as a producer inserts it: `TRIGGERED`, `createdAt` and
    /// `updatedAt` now, nothing else.
    pub fn triggered(key: JobKey, pipeline: impl Into<String>, file: FileRef) -> Job {
        let now = crate::timestamp::now();
        Job {
            job_id: key.job_id,
            project: key.project,
            pipeline: pipeline.into(),
            status: JobStatus::Triggered,
            created_at: Some(now.clone()),
            started_at: None,
            completed_at: None,
            updated_at: Some(now),
            transfer_stage: None,
            file,
            s3: None,
            execution_arn: None,
            transfer: None,
            error: None,
            upload: None,
        }
    }

    pub fn key(&self) -> JobKey {
        JobKey {
            job_id: self.job_id.clone(),
            project: self.project.clone(),
        }
    }
}

/// Reads the key of the job a DynamoDB stream record (as a Pipe delivers it) is about.
/// The version of the item a stream record carries: its new image's `updatedAt` (None when the
/// image has none). A record without a new image cannot say which version it triggered, and
/// SetRunning takes only that one: the Pipe's stream carries new images (`NEW_IMAGE`).
pub fn record_version(record: &serde_json::Value) -> Result<Option<String>, PipelineError> {
    let image = record.pointer("/dynamodb/NewImage").ok_or_else(|| {
        PipelineError::InvalidJob(
            "the stream record has no dynamodb.NewImage: the table's stream must carry new images \
             (StreamViewType NEW_IMAGE or NEW_AND_OLD_IMAGES), so that a job is taken only in the \
             version it was triggered in"
                .to_string(),
        )
    })?;
    Ok(image
        .pointer("/updatedAt/S")
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// The job an execution's input names (JSON text, as DescribeExecution and status-change events
/// carry it): the Pipe's one-record batch, or a record alone.
pub fn key_from_execution_input(input: &str) -> Option<JobKey> {
    let batch: serde_json::Value = serde_json::from_str(input).ok()?;
    key_from_stream_record(batch.get(0).unwrap_or(&batch)).ok()
}

pub fn key_from_stream_record(record: &serde_json::Value) -> Result<JobKey, PipelineError> {
    let keys = record
        .pointer("/dynamodb/Keys")
        .ok_or_else(|| PipelineError::InvalidJob("the stream record has no dynamodb.Keys".to_string()))?;
    let string_key = |name: &str| {
        keys.pointer(&format!("/{name}/S"))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                PipelineError::InvalidJob(format!(
                    "the stream record's dynamodb.Keys.{name} is not a non-empty string (S)"
                ))
            })
    };
    Ok(JobKey {
        job_id: string_key("jobId")?,
        project: string_key("project")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_keys_from_a_stream_record() {
        let record = json!({"eventName": "INSERT", "dynamodb": {"Keys": {
            "jobId": {"S": "5fa16210"}, "project": {"S": "FLPIDS-NATS"}}}});
        let key = key_from_stream_record(&record).unwrap();
        assert_eq!(
            key,
            JobKey {
                job_id: "5fa16210".into(),
                project: "FLPIDS-NATS".into()
            }
        );
    }

    #[test]
    fn names_the_missing_key() {
        let record = json!({"dynamodb": {"Keys": {"jobId": {"N": "5"}, "project": {"S": "p"}}}});
        let err = key_from_stream_record(&record).unwrap_err();
        assert_eq!(err.name(), "InvalidJob");
        assert!(err.to_string().contains("Keys.jobId"), "{err}");
        let err = key_from_stream_record(&json!({})).unwrap_err();
        assert!(err.to_string().contains("dynamodb.Keys"), "{err}");
    }
}
