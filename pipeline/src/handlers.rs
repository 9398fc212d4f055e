//! The four Lambda handlers as library functions: the Lambda binaries and the harness (its Step
//! Functions emulator, and its emulated healing rule for HealJob) call exactly these, with SDK
//! clients pointed at AWS or at an emulator.

use std::time::Duration;

use aws_config::SdkConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{PipelineError, bounded};
use crate::ftps::Timeouts;
use crate::job::{self, ErrorRecord, JobKey, JobStatus, S3Location, TransferRecord};
use crate::lease::Leases;
use crate::secret::SecretSource;
use crate::store::{Found, JobStore, Outcome, Taking};
use crate::timer::{DeadlineFired, DeadlineTimers, TimerSettings};
use crate::timestamp;
use crate::transfer::Transfer;
use crate::upload::UploadSettings;

/// Lambda's longest timeout: how long a connection lease lasts when no deadline is known.
const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// The pipeline's configuration, from the Lambda environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `JOBS_TABLE`, default `FSA-FileChecks`.
    pub table: String,
    /// `LEASES_TABLE`, default `FSA-FileChecks-Leases`: the connection leases.
    pub leases_table: String,
    /// `AWS_ENDPOINT_URL_S3`: S3 (or S3-compatible storage) at an endpoint of its own, apart from
    /// the other services. The SDK's loader honours it too; here it also serves several
    /// configurations in one process (the local world with its disk-backed S3).
    pub s3_endpoint: Option<String>,
    /// `LANDING_BUCKET`.
    pub landing_bucket: String,
    /// `FTPS_SECRET_ID`: a secret name or ARN; `{pipeline}` is replaced by the job's pipeline.
    pub secret_id: String,
    pub upload: UploadSettings,
    pub timeouts: Timeouts,
    /// The deadline timers (`HEAL_TIMER_*`).
    pub timers: TimerSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, PipelineError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let required = |name: &str| {
            var(name).ok_or_else(|| PipelineError::InvalidJob(format!("environment variable {name} is not set")))
        };
        let number = |name: &str, default: u64| -> Result<u64, PipelineError> {
            match var(name) {
                None => Ok(default),
                Some(text) => text.parse().map_err(|_| {
                    PipelineError::InvalidJob(format!("environment variable {name}={text:?} is not a number"))
                }),
            }
        };
        let defaults = Timeouts::default();
        Ok(Self {
            table: var("JOBS_TABLE").unwrap_or_else(|| "FSA-FileChecks".to_string()),
            leases_table: var("LEASES_TABLE").unwrap_or_else(|| "FSA-FileChecks-Leases".to_string()),
            landing_bucket: required("LANDING_BUCKET")?,
            s3_endpoint: var("AWS_ENDPOINT_URL_S3"),
            secret_id: required("FTPS_SECRET_ID")?,
            upload: UploadSettings {
                part_size: number("PART_SIZE_MIB", 8)? as usize * 1024 * 1024,
                parts_in_flight: number("PARTS_IN_FLIGHT", 3)? as usize,
            },
            timeouts: Timeouts {
                connect: Duration::from_secs(number("FTPS_CONNECT_TIMEOUT_SECS", defaults.connect.as_secs())?),
                command: Duration::from_secs(number("FTPS_COMMAND_TIMEOUT_SECS", defaults.command.as_secs())?),
                read: Duration::from_secs(number("FTPS_READ_TIMEOUT_SECS", defaults.read.as_secs())?),
            },
            timers: TimerSettings {
                group: required("HEAL_TIMER_GROUP")?,
                target_arn: required("HEAL_TIMER_TARGET_ARN")?,
                role_arn: required("HEAL_TIMER_ROLE_ARN")?,
                dead_letter_arn: required("HEAL_TIMER_DLQ_ARN")?,
                after: Duration::from_secs(number("HEAL_TIMER_AFTER_SECS", crate::timer::DEFAULT_AFTER.as_secs())?),
            },
        })
    }
}

/// SetRunning's input: the Pipe's stream record and the execution that received it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetRunningInput {
    pub record: Value,
    pub execution_arn: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetRunningOutput {
    /// False when the job was not TRIGGERED: this delivery is a duplicate and must stop here.
    pub acquired: bool,
    pub job: JobKey,
    /// The job's status as found, when not acquired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_status: Option<String>,
}

/// TransferFile's input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferInput {
    pub job: JobKey,
    pub execution_arn: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct TransferOutput {
    pub s3: S3Location,
    pub transfer: TransferRecord,
}

/// A Catch's error output (`{"Error": …, "Cause": …}`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// FinalizeJob's input: without `error` it completes the job, with it (FinalizeJobOnCatch) it
/// records the failure.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeInput {
    pub job: JobKey,
    pub execution_arn: String,
    #[serde(default)]
    pub error: Option<CaughtError>,
    #[serde(default)]
    pub failed_state: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FinalizeOutput {
    pub status: String,
    /// False when FinalizeJobOnCatch found the job no longer RUNNING under this execution and
    /// left it alone (a losing duplicate must not mark a healthy job ERROR).
    pub recorded: bool,
}

/// What HealJob is invoked with: the healing rule's status-change event, or a deadline timer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HealEvent {
    Deadline(DeadlineFired),
    StatusChange(ExecutionStatusChange),
}

/// The "Step Functions Execution Status Change" event EventBridge delivers to HealJob.
#[derive(Debug, Clone, Deserialize)]
pub struct ExecutionStatusChange {
    pub detail: ExecutionDetail,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetail {
    pub execution_arn: String,
    pub status: String,
    /// The execution's input as JSON text: the Pipe's `[stream record]`. EventBridge leaves it
    /// out of an event past 248 KB; HealJob then asks DescribeExecution.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HealOutput {
    /// The error name recorded, or None when the job had moved on (or the status needs no healing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
}

/// The Lambda functions, by the name the state machine and the SAM template give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SetRunning,
    TransferFile,
    FinalizeJob,
    /// Not a state: the target of the rule on the state machine's status-change events.
    HealJob,
}

impl Step {
    /// The state machine's Lambdas (HealJob is the EventBridge rule's).
    pub const ALL: [Step; 3] = [Step::SetRunning, Step::TransferFile, Step::FinalizeJob];

    pub fn name(self) -> &'static str {
        match self {
            Self::SetRunning => "SetRunning",
            Self::TransferFile => "TransferFile",
            Self::FinalizeJob => "FinalizeJob",
            Self::HealJob => "HealJob",
        }
    }
}

/// Clients built once per container (or once per harness world).
pub struct Handlers {
    store: JobStore,
    timers: DeadlineTimers,
    /// Step Functions, for DescribeExecution.
    sfn: aws_sdk_sfn::Client,
    leases: Leases,
    s3: aws_sdk_s3::Client,
    secrets: SecretSource,
    settings: Settings,
    /// Set once GetBucketVersioning found the landing bucket versioned: checked once per cold
    /// start (a bucket found unversioned is asked again by the next invocation, so enabling
    /// versioning needs no redeploy).
    versioned: tokio::sync::OnceCell<()>,
}

fn parse<T: DeserializeOwned>(step: Step, payload: Value) -> Result<T, PipelineError> {
    serde_json::from_value(payload).map_err(|e| PipelineError::InvalidJob(format!("{} input: {e}", step.name())))
}

fn to_value<T: Serialize>(value: T) -> Result<Value, PipelineError> {
    Ok(serde_json::to_value(value).expect("handler outputs always serialize"))
}

impl Handlers {
    pub fn new(sdk: &SdkConfig, settings: Settings) -> Self {
        let mut s3_config = aws_sdk_s3::config::Builder::from(sdk)
            // Custom endpoints (moto, LocalStack) serve buckets by path, not by virtual host.
            .force_path_style(sdk.endpoint_url().is_some() || settings.s3_endpoint.is_some());
        if let Some(endpoint) = &settings.s3_endpoint {
            s3_config = s3_config.endpoint_url(endpoint);
        }
        let s3_config = s3_config.build();
        Self {
            store: JobStore::new(aws_sdk_dynamodb::Client::new(sdk), settings.table.clone()),
            leases: Leases::new(aws_sdk_dynamodb::Client::new(sdk), settings.leases_table.clone()),
            timers: DeadlineTimers::new(aws_sdk_scheduler::Client::new(sdk), settings.timers.clone()),
            sfn: aws_sdk_sfn::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            secrets: SecretSource::new(aws_sdk_secretsmanager::Client::new(sdk), settings.secret_id.clone()),
            settings,
            versioned: tokio::sync::OnceCell::new(),
        }
    }

    /// Configuration and clients from the Lambda environment.
    pub async fn from_env() -> Result<Self, PipelineError> {
        let settings = Settings::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(&sdk, settings))
    }

    pub fn store(&self) -> &JobStore {
        &self.store
    }

    /// Runs one step on a raw JSON payload, as Lambda (or the emulator) delivers it.
    pub async fn handle(&self, step: Step, payload: Value) -> Result<Value, PipelineError> {
        self.handle_until(step, payload, None).await
    }

    /// `handle` within the invocation's deadline (Lambda's `Context::deadline`): TransferFile
    /// stops cleanly before it rather than being killed mid-upload.
    pub async fn handle_until(
        &self,
        step: Step,
        payload: Value,
        deadline: Option<std::time::Instant>,
    ) -> Result<Value, PipelineError> {
        match step {
            Step::SetRunning => to_value(self.set_running(parse(step, payload)?).await?),
            Step::TransferFile => to_value(self.transfer_file(parse(step, payload)?, deadline).await?),
            Step::FinalizeJob => to_value(self.finalize_job(parse(step, payload)?).await?),
            Step::HealJob => to_value(self.heal_job(parse(step, payload)?).await?),
        }
    }

    /// SetRunning: `TRIGGERED → RUNNING` under this execution, or `acquired: false` untouched.
    pub async fn set_running(&self, input: SetRunningInput) -> Result<SetRunningOutput, PipelineError> {
        let key = job::key_from_stream_record(&input.record)?;
        // Validated before it is taken: a malformed TRIGGERED item ends ERROR InvalidJob naming
        // what is wrong, instead of being taken and abandoned RUNNING.
        match self.store.find(&key).await? {
            Found::Malformed { status, problem, .. } if status.as_deref() == Some(JobStatus::Triggered.as_str()) => {
                self.store.reject(&key, &problem).await?;
                tracing::warn!(job_id = %key.job_id, %problem, "malformed TRIGGERED item: ERROR InvalidJob");
                return Err(PipelineError::InvalidJob(problem));
            }
            // Broken while this execution held it (its first answer lost, the producer's edit
            // since): it is still this execution's to end. TransferFile then fails InvalidJob and
            // FinalizeJobOnCatch records it by the execution ARN; "duplicate" would end the
            // execution SUCCEEDED with the job RUNNING.
            found @ Found::Malformed { .. } if found.running_under(&input.execution_arn) => {
                return Ok(SetRunningOutput {
                    acquired: true,
                    job: key,
                    found_status: None,
                });
            }
            Found::Malformed { status, .. } => {
                return Ok(SetRunningOutput {
                    acquired: false,
                    job: key,
                    found_status: Some(status.unwrap_or_else(|| "NO STATUS".into())),
                });
            }
            Found::Missing | Found::Job(_) => {}
        }
        // An inserted item's pipeline fields are a producer's, not the pipeline's: never resumed.
        let taking = match input.record.get("eventName").and_then(Value::as_str) {
            Some("INSERT") => Taking::Inserted,
            _ => Taking::Triggered,
        };
        let seen = job::record_version(&input.record)?;
        // Armed before the take, so no job is ever RUNNING without its timer; a refused take
        // disarms it again.
        self.timers.arm(&key, &input.execution_arn).await?;
        match self
            .store
            .take(&key, &input.execution_arn, taking, seen.as_deref())
            .await?
        {
            Outcome::Written => {
                tracing::info!(job_id = %key.job_id, project = %key.project, "job RUNNING");
                Ok(SetRunningOutput {
                    acquired: true,
                    job: key,
                    found_status: None,
                })
            }
            // A retry of this execution's own SetRunning (its first answer was lost): it holds the
            // job already. Answering "duplicate" would end the execution with the job RUNNING.
            // (Broken since or not.)
            Outcome::Refused(found) if found.running_under(&input.execution_arn) => {
                tracing::info!(job_id = %key.job_id, "SetRunning retried by the execution that holds the job");
                Ok(SetRunningOutput {
                    acquired: true,
                    job: key,
                    found_status: None,
                })
            }
            Outcome::Refused(found) => {
                // Not TRIGGERED, or no longer the version this execution was started for (a newer
                // trigger has an execution of its own).
                self.timers.disarm(&key, &input.execution_arn).await;
                let found_status = found.status().unwrap_or("MISSING").to_string();
                tracing::info!(job_id = %key.job_id, %found_status, "duplicate delivery: job taken, moved on or triggered again");
                Ok(SetRunningOutput {
                    acquired: false,
                    job: key,
                    found_status: Some(found_status),
                })
            }
        }
    }

    /// TransferFile: only for a job RUNNING under this execution.
    pub async fn transfer_file(
        &self,
        input: TransferInput,
        deadline: Option<std::time::Instant>,
    ) -> Result<TransferOutput, PipelineError> {
        let job = self.store.get(&input.job).await?.ok_or_else(|| {
            PipelineError::JobNotRunning(format!("job {}/{} does not exist", input.job.job_id, input.job.project))
        })?;
        if job.status != JobStatus::Running || job.execution_arn.as_deref() != Some(input.execution_arn.as_str()) {
            return Err(PipelineError::JobNotRunning(format!(
                "job {}/{} is {} under {}, not RUNNING under {}",
                job.job_id,
                job.project,
                job.status.as_str(),
                job.execution_arn.as_deref().unwrap_or("no execution"),
                input.execution_arn
            )));
        }
        self.versioned
            .get_or_try_init(|| crate::upload::require_versioning(&self.s3, &self.settings.landing_bucket))
            .await?;
        let transfer = Transfer {
            store: &self.store,
            s3: &self.s3,
            secrets: &self.secrets,
            landing_bucket: &self.settings.landing_bucket,
            upload: self.settings.upload,
            timeouts: self.settings.timeouts,
            deadline: deadline.map(stop_before),
            leases: &self.leases,
            lease_until: wall_clock(deadline.unwrap_or_else(|| std::time::Instant::now() + LAMBDA_MAX_TIMEOUT)),
        };
        let (s3, transfer) = transfer.run(&job, &input.execution_arn).await?;
        Ok(TransferOutput { s3, transfer })
    }

    /// FinalizeJob (COMPLETED) and FinalizeJobOnCatch (ERROR, only for the owning execution).
    pub async fn finalize_job(&self, input: FinalizeInput) -> Result<FinalizeOutput, PipelineError> {
        let output = self.record_outcome(&input).await?;
        // Recorded (or not this execution's to record): its timer has nothing left to watch.
        self.timers.disarm(&input.job, &input.execution_arn).await;
        Ok(output)
    }

    async fn record_outcome(&self, input: &FinalizeInput) -> Result<FinalizeOutput, PipelineError> {
        let Some(caught) = &input.error else {
            self.store.complete(&input.job, &input.execution_arn).await?;
            return Ok(FinalizeOutput {
                status: JobStatus::Completed.as_str().into(),
                recorded: true,
            });
        };
        let record = ErrorRecord {
            name: caught.error.clone(),
            message: error_message(caught),
            state: input.failed_state.clone().unwrap_or_else(|| "TransferFile".to_string()),
            at: timestamp::now(),
        };
        match self.store.fail(&input.job, &input.execution_arn, &record).await? {
            Outcome::Written => {
                // A kept upload stays with its job (`upload`): a re-drive continues it while the
                // source is unchanged; the bucket's lifecycle rule takes it if none comes.
                Ok(FinalizeOutput {
                    status: JobStatus::Error.as_str().into(),
                    recorded: true,
                })
            }
            Outcome::Refused(found) => {
                let status = found.status().unwrap_or("MISSING").to_string();
                tracing::warn!(job_id = %input.job.job_id, %status, error = %record.name,
                    "not recording the error: the job is not RUNNING under this execution");
                Ok(FinalizeOutput {
                    status,
                    recorded: false,
                })
            }
        }
    }
}

impl Handlers {
    /// HealJob: an execution that ended FAILED, TIMED_OUT or ABORTED without FinalizeJob
    /// recording the outcome leaves its job RUNNING under it; this records `ERROR` with the
    /// execution's status as the name. Conditional like every write: a job that moved on (the
    /// execution's own FinalizeJobOnCatch recorded it, a person re-drove it) is left alone, so a
    /// duplicate or late event changes nothing.
    pub async fn heal_job(&self, event: HealEvent) -> Result<HealOutput, PipelineError> {
        let (detail, timer) = match event {
            HealEvent::StatusChange(change) => {
                let mut detail = change.detail;
                // EventBridge leaves the input out of an event past 248 KB: ask for it.
                if detail.input.is_none() && detail.status != "RUNNING" && detail.status != "SUCCEEDED" {
                    match self.describe(&detail.execution_arn).await? {
                        Some(described) => detail.input = described.input,
                        None => return Ok(HealOutput { recorded: None }),
                    }
                }
                (detail, None)
            }
            HealEvent::Deadline(fired) => {
                let deadline = fired.deadline;
                let Some(described) = self.describe(&deadline.execution_arn).await? else {
                    tracing::warn!(execution = %deadline.execution_arn, "deadline of an execution Step Functions does not know");
                    return Ok(HealOutput { recorded: None });
                };
                if described.status == "RUNNING" {
                    return Err(PipelineError::ExecutionStillRunning(format!(
                        "execution {} of job {}/{}",
                        deadline.execution_arn, deadline.job.project, deadline.job.job_id
                    )));
                }
                tracing::warn!(execution = %deadline.execution_arn, status = %described.status,
                    "deadline timer fired: the execution ended and its job may not be recorded");
                (described, Some(deadline.job))
            }
        };
        let healed = self.heal_ended(&detail, timer.is_some()).await?;
        // The execution has ended and its job is recorded (or not its to record): its timer
        // has nothing left to watch. A job still RUNNING under it keeps it.
        let key = timer.or_else(|| detail.input.as_deref().and_then(job::key_from_execution_input));
        if let Some(key) = key
            && healed.settled
        {
            self.timers.disarm(&key, &detail.execution_arn).await;
        }
        Ok(healed.output)
    }

    /// The execution as DescribeExecution shows it (None if Step Functions does not know it).
    async fn describe(&self, execution_arn: &str) -> Result<Option<ExecutionDetail>, PipelineError> {
        let described = self.sfn.describe_execution().execution_arn(execution_arn).send().await;
        match described {
            Ok(out) => Ok(Some(ExecutionDetail {
                execution_arn: out.execution_arn,
                status: out.status.as_str().to_string(),
                input: out.input,
                error: out.error,
                cause: out.cause,
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_execution_does_not_exist()) => Ok(None),
            Err(e) => Err(PipelineError::from_sdk("DescribeExecution", e)),
        }
    }

    /// Records `ERROR` on the job of an execution that ended without recording it.
    /// `by_timer`: its deadline timer found it (its status-change event never healed it).
    async fn heal_ended(&self, detail: &ExecutionDetail, by_timer: bool) -> Result<Healed, PipelineError> {
        let left_alone = Healed {
            output: HealOutput { recorded: None },
            settled: true,
        };
        let name = match detail.status.as_str() {
            "FAILED" => "ExecutionFailed",
            "TIMED_OUT" => "ExecutionTimedOut",
            "ABORTED" => "ExecutionAborted",
            _ => return Ok(left_alone),
        };
        let input: Value = detail
            .input
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| PipelineError::InvalidJob(format!("the execution's input is not JSON: {e}")))?
            .ok_or_else(|| {
                PipelineError::InvalidJob("no input for the execution, from the event or DescribeExecution".into())
            })?;
        // The Pipe starts the execution with a one-element array (UnwrapRecord takes `$[0]`).
        let record = match input {
            Value::Array(mut records) if !records.is_empty() => records.swap_remove(0),
            other => other,
        };
        let key = job::key_from_stream_record(&record)?;
        let seen_updated_at = job::record_version(&record)?;
        // The writes below are conditioned on the execution alone: an item its producer or an
        // operator broke while the execution held it is ended all the same.
        let stage = match self.store.find(&key).await? {
            Found::Missing => return Ok(left_alone),
            Found::Job(job) if job.status == JobStatus::Triggered => "before it took the job".to_string(),
            Found::Job(job) => format!("at transferStage {}", job.transfer_stage.map_or("-", |s| s.as_str())),
            Found::Malformed { problem, .. } => format!("holding an item that is no job item ({problem})"),
        };
        let mut message = format!("execution {} ended {} {stage}", detail.execution_arn, detail.status);
        if by_timer {
            message.push_str(" (found by its deadline timer)");
        }
        if let Some(error) = detail.error.clone().filter(|e| !e.is_empty()) {
            message.push_str(&format!(": {error}"));
            if let Some(cause) = detail.cause.clone().filter(|c| !c.is_empty()) {
                message.push_str(&format!(
                    " ({})",
                    error_message(&CaughtError {
                        error,
                        cause: Some(cause)
                    })
                ));
            }
        }
        let record = ErrorRecord {
            name: name.to_string(),
            message: bounded(message),
            state: "Execution".to_string(),
            at: timestamp::now(),
        };
        // The execution either holds the job (RUNNING under it) or ended before taking it (the
        // job still TRIGGERED as it was started for, while its SetRunning may yet run). Two
        // rounds cover a SetRunning that takes the job between the two conditional writes.
        let mut record = record;
        for _ in 0..2 {
            // Stamped per write: a SetRunning that took the job meanwhile set a later startedAt.
            record.at = timestamp::now();
            let outcome = match self.store.fail(&key, &detail.execution_arn, &record).await? {
                Outcome::Refused(found) if found.status() == Some(JobStatus::Triggered.as_str()) => {
                    self.store
                        .fail_untaken(&key, seen_updated_at.as_deref(), &record)
                        .await?
                }
                other => other,
            };
            match outcome {
                Outcome::Written => {
                    tracing::warn!(job_id = %key.job_id, error = name, execution = %detail.execution_arn,
                        "healed: the execution ended without recording the job");
                    return Ok(Healed {
                        output: HealOutput {
                            recorded: Some(name.to_string()),
                        },
                        settled: true,
                    });
                }
                // A SetRunning of this execution took it meanwhile: again.
                Outcome::Refused(found) if found.running_under(&detail.execution_arn) => {}
                Outcome::Refused(_) => return Ok(left_alone),
            }
        }
        // Still RUNNING under the execution: its timer stays armed for it.
        Ok(Healed {
            output: HealOutput { recorded: None },
            settled: false,
        })
    }
}

/// What healing an ended execution came to: what was recorded, and whether the job is settled
/// for that execution (recorded, or not its to record) — else its timer stays armed.
struct Healed {
    output: HealOutput,
    settled: bool,
}

/// An `Instant` as wall-clock time, which every Lambda host shares.
fn wall_clock(at: std::time::Instant) -> std::time::SystemTime {
    let now = std::time::Instant::now();
    match at.checked_duration_since(now) {
        Some(ahead) => std::time::SystemTime::now() + ahead,
        None => std::time::SystemTime::now() - now.duration_since(at),
    }
}

/// When a transfer must stop to leave time for a clean exit (keep or abort the upload, record
/// the stage, release the leases): 20 s before the deadline, or a fifth of the time left for a
/// short one.
fn stop_before(deadline: std::time::Instant) -> std::time::Instant {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    deadline - (left / 5).min(Duration::from_secs(20))
}

/// The human part of a Catch's Cause: Lambda wraps it as `{"errorType", "errorMessage", …}`.
fn error_message(caught: &CaughtError) -> String {
    let cause = caught.cause.clone().unwrap_or_default();
    let message = serde_json::from_str::<Value>(&cause)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(Value::as_str).map(str::to_string))
        .unwrap_or(cause);
    bounded(if message.is_empty() {
        caught.error.clone()
    } else {
        message
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_unwraps_lambda_causes() {
        let caught = CaughtError {
            error: "RemoteFileNotFound".into(),
            cause: Some(r#"{"errorType":"RemoteFileNotFound","errorMessage":"remote file not found: /a: 550"}"#.into()),
        };
        assert_eq!(error_message(&caught), "remote file not found: /a: 550");
        let caught = CaughtError {
            error: "States.Timeout".into(),
            cause: None,
        };
        assert_eq!(error_message(&caught), "States.Timeout");
        let caught = CaughtError {
            error: "X".into(),
            cause: Some("é".repeat(5000)),
        };
        assert!(error_message(&caught).len() <= crate::error::MAX_MESSAGE + '…'.len_utf8());
    }
}
