//! The job table: every lifecycle transition is one conditional UpdateItem.
//!
//! The conditions carry the pipeline's idempotency (a Pipe cannot name executions): only
//! `TRIGGERED → RUNNING` takes a job, and every later write requires `RUNNING` under the same
//! execution ARN, so a duplicate execution can neither transfer nor overwrite the owner's outcome.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use crate::error::{PipelineError, bounded};
use crate::job::{ErrorRecord, Job, JobKey, JobStatus, S3Location, TransferRecord, TransferStage, UploadCheckpoint};
use crate::timestamp;

#[derive(Clone, Debug)]
pub struct JobStore {
    client: Client,
    table: String,
}

/// What a take clears besides the last run's outcome.
#[derive(Debug, Clone, Copy)]
enum Clear {
    /// Nothing more: a re-drive resumes from the landing and upload it recorded.
    Outcome,
    /// The landing's `sourceReadAt` (and any upload): a COMPLETED job set TRIGGERED again keeps
    /// the record of what it landed, but SIZE and MDTM alone may no longer vouch that the file
    /// at its path is that landing's source (only the server's digest may).
    ReadTime,
    /// `transfer` and `upload`: fields of an item as a producer inserted it.
    Landing,
}

/// How SetRunning came to take a job: from an INSERT record, or from any other (a re-drive, a
/// re-trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taking {
    Inserted,
    Triggered,
}

/// How a conditional write came out.
#[derive(Debug)]
pub enum Outcome {
    /// Written. Nothing is read back: a write conditioned on the execution that owns the job
    /// succeeds on an item its producer broke, and the caller must not fail to parse it.
    Written,
    /// The condition failed; the item as it was.
    Refused(Found),
}

impl Found {
    /// Whether the item is RUNNING under `execution_arn` (a malformed item too).
    pub fn running_under(&self, execution_arn: &str) -> bool {
        match self {
            Found::Missing => false,
            Found::Job(job) => job.status == JobStatus::Running && job.execution_arn.as_deref() == Some(execution_arn),
            Found::Malformed {
                status,
                execution_arn: arn,
                ..
            } => status.as_deref() == Some(JobStatus::Running.as_str()) && arn.as_deref() == Some(execution_arn),
        }
    }

    /// The item's `status` as stored (a malformed item's too); None when there is no item.
    pub fn status(&self) -> Option<&str> {
        match self {
            Found::Missing => None,
            Found::Job(job) => Some(job.status.as_str()),
            Found::Malformed { status, .. } => status.as_deref(),
        }
    }
}

/// Found from an item as stored.
fn found(item: Option<HashMap<String, AttributeValue>>) -> Found {
    let Some(item) = item else {
        return Found::Missing;
    };
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let (status, execution_arn) = (text("status"), text("executionArn"));
    match job_from_item(item) {
        Ok(job) => Found::Job(Box::new(job)),
        Err(e) => Found::Malformed {
            status,
            execution_arn,
            problem: e.to_string(),
        },
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn map(entries: impl IntoIterator<Item = (&'static str, AttributeValue)>) -> AttributeValue {
    AttributeValue::M(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// An `error` attribute.
fn error_map(error: &ErrorRecord) -> AttributeValue {
    map([
        ("name", s(bounded(error.name.clone()))),
        ("message", s(bounded(error.message.clone()))),
        ("state", s(&error.state)),
        ("at", s(&error.at)),
    ])
}

/// The item as a `Job`; a malformed one names the field (`createdAt: invalid type …`).
fn job_from_item(item: HashMap<String, AttributeValue>) -> Result<Job, PipelineError> {
    let item: serde_dynamo::Item = item.into();
    let deserializer = serde_dynamo::Deserializer::from_attribute_value(serde_dynamo::AttributeValue::M(item.into()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!("{path}: ")
        };
        // Bounded: serde's message may echo the whole bad value (200 KB of it).
        PipelineError::InvalidJob(bounded(format!("the job item is malformed: {at}{}", e.into_inner())))
    })
}

/// What a read of a job item found.
#[derive(Debug)]
pub enum Found {
    Missing,
    Job(Box<Job>),
    /// An item that is not a job item: its status (if it has one) and what is wrong with it.
    Malformed {
        status: Option<String>,
        /// The execution it names, if it names one as text.
        execution_arn: Option<String>,
        problem: String,
    },
}

impl JobStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of the item, typed when it is a job item.
    pub async fn find(&self, key: &JobKey) -> Result<Found, PipelineError> {
        Ok(found(self.read(key).await?))
    }

    /// Ends a malformed TRIGGERED item `ERROR InvalidJob` without taking it (the item stays as
    /// its producer wrote it but for `status`, `updatedAt` and `error`). False if it had moved on.
    pub async fn reject(&self, key: &JobKey, problem: &str) -> Result<bool, PipelineError> {
        let now = timestamp::now();
        let error = error_map(&ErrorRecord {
            name: "InvalidJob".into(),
            message: problem.into(),
            state: "SetRunning".into(),
            at: now.clone(),
        });
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("jobId", s(&key.job_id))
            .key("project", s(&key.project))
            .update_expression("SET #status = :error_status, updatedAt = :now, #error = :error")
            .condition_expression("#status = :triggered")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":error_status", s(JobStatus::Error.as_str()))
            .expression_attribute_values(":triggered", s(JobStatus::Triggered.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":error", error)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(PipelineError::from_sdk("UpdateItem", e)),
        }
    }

    /// A strongly consistent read of the job.
    pub async fn get(&self, key: &JobKey) -> Result<Option<Job>, PipelineError> {
        self.read(key).await?.map(job_from_item).transpose()
    }

    /// A strongly consistent GetItem of the job's item, as stored.
    async fn read(&self, key: &JobKey) -> Result<Option<HashMap<String, AttributeValue>>, PipelineError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("jobId", s(&key.job_id))
            .key("project", s(&key.project))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| PipelineError::from_sdk("GetItem on the job table", e))?;
        Ok(out.item)
    }

    /// `TRIGGERED → RUNNING`, recording the owning execution, only while the item is still the
    /// version the execution was started for (`seen`: the `updatedAt` its stream record showed,
    /// None when it had none), as `fail_untaken` is. A later trigger (a producer's, an
    /// operator's) is a newer version with an execution of its own: an abandoned SetRunning that
    /// wakes up late can never take it from that one.
    ///
    /// Clears the outcome of an earlier run of a re-driven job (error, completedAt) but keeps what
    /// it landed (`s3`, `transfer`, `upload`): the object may be the only copy left, and
    /// TransferFile resumes from that record. Two cases differ:
    /// - an INSERT record (`Taking::Inserted`): `transfer` and `upload` are dropped. Fields only
    ///   the pipeline writes, copied from another item say, are a producer's, and nothing may
    ///   resume from them;
    /// - a job that was COMPLETED (it still has `completedAt`): its source was deleted, so a
    ///   file at its path now is a new one, whatever its size and modification time. The landing
    ///   record stays (the job still names its version, and with the source gone the job
    ///   completes again), but its `sourceReadAt` goes, so that only the server's digest can
    ///   vouch that a file there is that landing's source.
    ///
    /// Each case is one conditional write.
    pub async fn take(
        &self,
        key: &JobKey,
        execution_arn: &str,
        taking: Taking,
        seen: Option<&str>,
    ) -> Result<Outcome, PipelineError> {
        let version = match seen {
            Some(_) => "#status = :triggered AND updatedAt = :seen",
            None => "#status = :triggered AND attribute_not_exists(updatedAt)",
        };
        if let Taking::Inserted = taking {
            return self.take_as(key, execution_arn, Clear::Landing, version, seen).await;
        }
        match self
            .take_as(
                key,
                execution_arn,
                Clear::Outcome,
                &format!("{version} AND attribute_not_exists(completedAt)"),
                seen,
            )
            .await?
        {
            Outcome::Refused(Found::Job(job)) if job.status == JobStatus::Triggered && job.completed_at.is_some() => {
                // `#transfer.sourceReadAt` can only be removed from a `transfer` that exists.
                let (clear, landing) = if job.transfer.is_some() {
                    (Clear::ReadTime, "attribute_exists(#transfer)")
                } else {
                    (Clear::Outcome, "attribute_not_exists(#transfer)")
                };
                self.take_as(key, execution_arn, clear, &format!("{version} AND {landing}"), seen)
                    .await
            }
            other => Ok(other),
        }
    }

    async fn take_as(
        &self,
        key: &JobKey,
        execution_arn: &str,
        clear: Clear,
        condition: &str,
        seen: Option<&str>,
    ) -> Result<Outcome, PipelineError> {
        let now = timestamp::now();
        let set = "SET #status = :running, startedAt = :now, updatedAt = :now, executionArn = :arn, \
                   transferStage = :stage";
        let update = match clear {
            Clear::Outcome => format!("{set} REMOVE completedAt, #error"),
            Clear::ReadTime => format!("{set} REMOVE completedAt, #error, #upload, #transfer.sourceReadAt"),
            Clear::Landing => format!("{set} REMOVE completedAt, #error, #transfer, #upload"),
        };
        let update = update.as_str();
        let mut values = vec![
            (":running", s(JobStatus::Running.as_str())),
            (":triggered", s(JobStatus::Triggered.as_str())),
            (":now", s(now)),
            (":arn", s(execution_arn)),
            (":stage", s(TransferStage::Pending.as_str())),
        ];
        if let Some(seen) = seen {
            values.push((":seen", s(seen)));
        }
        self.update(key, update, condition, values).await
    }

    /// Records transfer progress; fails with `JobNotRunning` if this execution lost the job.
    pub async fn stage(&self, key: &JobKey, execution_arn: &str, stage: TransferStage) -> Result<(), PipelineError> {
        self.owned_update(
            key,
            execution_arn,
            "SET transferStage = :stage, updatedAt = :now",
            [(":stage", s(stage.as_str())), (":now", s(timestamp::now()))],
        )
        .await
    }

    /// Fails with `JobNotRunning` unless this execution still owns the job (an owned write of
    /// `updatedAt`): asked right before an object becomes visible.
    pub async fn confirm_owner(&self, key: &JobKey, execution_arn: &str) -> Result<(), PipelineError> {
        self.owned_update(
            key,
            execution_arn,
            "SET updatedAt = :now",
            [(":now", s(timestamp::now()))],
        )
        .await
    }

    /// Records how far an unfinished multipart upload got (the job's `upload`).
    pub async fn checkpoint(
        &self,
        key: &JobKey,
        execution_arn: &str,
        checkpoint: &UploadCheckpoint,
    ) -> Result<(), PipelineError> {
        let mut fields = vec![
            ("uploadId", s(&checkpoint.upload_id)),
            ("partSize", n(checkpoint.part_size)),
            ("parts", n(u64::from(checkpoint.parts))),
            ("bytes", n(checkpoint.bytes)),
            ("sha256State", s(&checkpoint.sha256_state)),
            ("partCrcs", s(&checkpoint.part_crcs)),
            ("sourceSize", n(checkpoint.source_size)),
        ];
        if let Some(modified) = &checkpoint.source_modified_at {
            fields.push(("sourceModifiedAt", s(modified)));
        }
        if let Some(read_at) = &checkpoint.source_read_at {
            fields.push(("sourceReadAt", s(read_at)));
        }
        self.owned_update(
            key,
            execution_arn,
            "SET #upload = :upload, updatedAt = :now",
            [(":upload", map(fields)), (":now", s(timestamp::now()))],
        )
        .await
    }

    /// Records a verified landing: stage VERIFIED, the `s3` location and the transfer metadata.
    pub async fn verified(
        &self,
        key: &JobKey,
        execution_arn: &str,
        location: &S3Location,
        record: &TransferRecord,
    ) -> Result<(), PipelineError> {
        let mut transfer = vec![
            ("bytes", n(record.bytes)),
            ("sha256", s(&record.sha256)),
            ("s3ChecksumCrc32c", s(&record.s3_checksum_crc32c)),
            ("parts", n(u64::from(record.parts))),
            ("durationMs", n(record.duration_ms)),
        ];
        if let Some(version) = &record.s3_version_id {
            transfer.push(("s3VersionId", s(version)));
        }
        if let Some(modified) = &record.source_modified_at {
            transfer.push(("sourceModifiedAt", s(modified)));
        }
        if let Some(read_at) = &record.source_read_at {
            transfer.push(("sourceReadAt", s(read_at)));
        }
        if let Some(md5) = &record.md5 {
            transfer.push(("md5", s(md5)));
        }
        self.owned_update(
            key,
            execution_arn,
            "SET transferStage = :stage, updatedAt = :now, s3 = :s3, #transfer = :transfer REMOVE #upload",
            [
                (":stage", s(TransferStage::Verified.as_str())),
                (":now", s(timestamp::now())),
                (":s3", map([("bucket", s(&location.bucket)), ("key", s(&location.key))])),
                (":transfer", map(transfer)),
            ],
        )
        .await
    }

    /// `RUNNING → COMPLETED` for the owning execution. A retry after a write that succeeded but
    /// whose answer was lost finds the job COMPLETED by this execution and succeeds too.
    pub async fn complete(&self, key: &JobKey, execution_arn: &str) -> Result<(), PipelineError> {
        let now = timestamp::now();
        let outcome = self
            .update(
                key,
                "SET #status = :completed, completedAt = :now, updatedAt = :now, transferStage = :done",
                "#status = :running AND executionArn = :arn",
                [
                    (":completed", s(JobStatus::Completed.as_str())),
                    (":running", s(JobStatus::Running.as_str())),
                    (":now", s(now)),
                    (":arn", s(execution_arn)),
                    (":done", s(TransferStage::Done.as_str())),
                ],
            )
            .await?;
        match outcome {
            Outcome::Written => Ok(()),
            Outcome::Refused(Found::Job(job))
                if job.status == JobStatus::Completed && job.execution_arn.as_deref() == Some(execution_arn) =>
            {
                Ok(())
            }
            Outcome::Refused(found) => Err(not_running(key, execution_arn, &found)),
        }
    }

    /// `RUNNING → ERROR` with the details, only for the owning execution. Returns the outcome so
    /// the caller can tell a recorded failure from a duplicate that must leave the job alone.
    pub async fn fail(&self, key: &JobKey, execution_arn: &str, error: &ErrorRecord) -> Result<Outcome, PipelineError> {
        let mut error = stamped(error);
        let owned = "#status = :running AND executionArn = :arn";
        // Never recorded before the take: a heal stamped as the take committed (or a host whose
        // clock is behind SetRunning's) writes the item's own `startedAt` instead.
        let not_before_take = format!("{owned} AND (attribute_not_exists(startedAt) OR startedAt <= :now)");
        for _ in 0..2 {
            match self.record_error(key, execution_arn, &error, &not_before_take).await? {
                Outcome::Refused(Found::Job(job))
                    if job.status == JobStatus::Running
                        && job.execution_arn.as_deref() == Some(execution_arn)
                        && job
                            .started_at
                            .as_deref()
                            .is_some_and(|started| started > error.at.as_str()) =>
                {
                    error.at = job.started_at.clone().unwrap_or_default();
                }
                // A broken item's `startedAt` may be no time at all: its execution ends it still.
                Outcome::Refused(Found::Malformed {
                    status: Some(status), ..
                }) if status == JobStatus::Running.as_str() => {
                    break;
                }
                other => return Ok(other),
            }
        }
        self.record_error(key, execution_arn, &error, owned).await
    }

    /// `SET status = ERROR, error, updatedAt` under `condition` (of `:running`, `:arn`, `:now`).
    async fn record_error(
        &self,
        key: &JobKey,
        execution_arn: &str,
        error: &ErrorRecord,
        condition: &str,
    ) -> Result<Outcome, PipelineError> {
        let values = [
            (":error_status", s(JobStatus::Error.as_str())),
            (":running", s(JobStatus::Running.as_str())),
            (":now", s(&error.at)),
            (":arn", s(execution_arn)),
            (":error", error_map(error)),
        ];
        self.update(
            key,
            "SET #status = :error_status, updatedAt = :now, #error = :error",
            condition,
            values,
        )
        .await
    }

    /// `TRIGGERED → ERROR` for a job its execution ended before taking (stopped, timed out or
    /// failed in SetRunning): only while the item is still the version that execution was
    /// started for (`updated_at` as the stream record showed it), so a newer trigger — a
    /// re-drive, a later record — is never touched. A SetRunning still running for that
    /// execution then finds the job taken care of.
    pub async fn fail_untaken(
        &self,
        key: &JobKey,
        updated_at: Option<&str>,
        error: &ErrorRecord,
    ) -> Result<Outcome, PipelineError> {
        let error = &stamped(error);
        let (same_version, seen) = match updated_at {
            Some(seen) => ("updatedAt = :seen", Some(seen)),
            None => ("attribute_not_exists(updatedAt)", None),
        };
        let mut values = vec![
            (":error_status", s(JobStatus::Error.as_str())),
            (":triggered", s(JobStatus::Triggered.as_str())),
            (":now", s(&error.at)),
            (":error", error_map(error)),
        ];
        if let Some(seen) = seen {
            values.push((":seen", s(seen)));
        }
        self.update(
            key,
            "SET #status = :error_status, updatedAt = :now, #error = :error",
            &format!("#status = :triggered AND {same_version}"),
            values,
        )
        .await
    }

    async fn owned_update<const N: usize>(
        &self,
        key: &JobKey,
        execution_arn: &str,
        update: &str,
        values: [(&'static str, AttributeValue); N],
    ) -> Result<(), PipelineError> {
        let values = values
            .into_iter()
            .chain([(":running", s(JobStatus::Running.as_str())), (":arn", s(execution_arn))]);
        match self
            .update(key, update, "#status = :running AND executionArn = :arn", values)
            .await?
        {
            Outcome::Written => Ok(()),
            Outcome::Refused(found) => Err(not_running(key, execution_arn, &found)),
        }
    }

    /// A conditional UpdateItem: written, or refused with the item as it was. Nothing is read
    /// back from a write that succeeded (no parse to fail, and no whole item to serialize).
    async fn update(
        &self,
        key: &JobKey,
        update: &str,
        condition: &str,
        values: impl IntoIterator<Item = (&'static str, AttributeValue)>,
    ) -> Result<Outcome, PipelineError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("jobId", s(&key.job_id))
            .key("project", s(&key.project))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .return_values(ReturnValue::None)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        // Only declare the names the expression uses: DynamoDB rejects unused ones.
        for (alias, name) in [("#error", "error"), ("#transfer", "transfer"), ("#upload", "upload")] {
            if update.contains(alias) || condition.contains(alias) {
                request = request.expression_attribute_names(alias, name);
            }
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(Outcome::Written),
            Err(err) => {
                if let Some(service) = err.as_service_error()
                    && service.is_conditional_check_failed_exception()
                {
                    let old = match service {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                            e,
                        ) => e.item.clone(),
                        _ => None,
                    };
                    return Ok(Outcome::Refused(found(old)));
                }
                Err(PipelineError::from_sdk("UpdateItem on the job table", err))
            }
        }
    }
}

/// The error as recorded now: its `at` (and the item's `updatedAt`) is the time of the write
/// that records it, never earlier than what the item already says (a heal that waited while
/// SetRunning took the job must not record a time before `startedAt`).
fn stamped(error: &ErrorRecord) -> ErrorRecord {
    ErrorRecord {
        at: timestamp::now(),
        ..error.clone()
    }
}

fn not_running(key: &JobKey, execution_arn: &str, found: &Found) -> PipelineError {
    let found = match found {
        Found::Missing => "the job does not exist".to_string(),
        Found::Job(job) => format!(
            "it is {} under {}",
            job.status.as_str(),
            job.execution_arn.as_deref().unwrap_or("no execution")
        ),
        Found::Malformed { status, problem, .. } => format!(
            "it is {} and no longer a job item ({problem})",
            status.as_deref().unwrap_or("without a status")
        ),
    };
    PipelineError::JobNotRunning(format!(
        "job {}/{} is not RUNNING under {execution_arn}: {found}",
        key.job_id, key.project
    ))
}
