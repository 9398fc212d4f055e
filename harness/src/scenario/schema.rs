//! Scenario files (`scenarios/*.yaml`): what the world holds, what happens, what must come out.
//! Parsing is strict: an unknown field or a wrong type fails with the file, line and field named.
//! The same types serialize, so `from-item` writes a scenario by building one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipeline::job::{FileRef, JobKey, JobStatus, TransferStage};
use pipeline::secret::{FtpsSettings, Password, TlsMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fault::FaultSet;
use crate::world::placeholders;

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ScenarioError {
    pub file: PathBuf,
    pub message: String,
}

fn invalid(file: &Path, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Parameter values as YAML writes them: text, numbers or booleans, each as the template reads it.
fn parameter_values<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<crate::world::template::ParameterOverrides, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Number(serde_yaml::Number),
        Bool(bool),
    }
    let values = std::collections::BTreeMap::<String, Scalar>::deserialize(deserializer)?;
    Ok(values
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Scalar::Text(s) => s,
                Scalar::Number(n) => n.to_string(),
                Scalar::Bool(b) => b.to_string(),
            };
            (name, text)
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, in a sentence.
    pub description: String,
    /// Files on the FTPS server before anything runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote: Vec<RemoteFile>,
    /// Server faults in force from the start.
    #[serde(default, skip_serializing_if = "FaultSet::is_empty")]
    pub faults: FaultSet,
    /// Fields of the FTPS secret to override (e.g. a wrong password, an untrusted CA).
    #[serde(default, skip_serializing_if = "SecretOverrides::is_empty")]
    pub secret: SecretOverrides,
    /// Jobs written to the table, in the seed's item shape.
    #[serde(default)]
    pub jobs: Vec<JobSpec>,
    /// Items written as they are, malformed ones included (a producer's bug); plain JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Value>,
    /// What happens after the jobs are written, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Action>,
    /// A state machine definition to run instead of the project's `infra/statemachine.asl.json`
    /// (a path relative to the scenario file): a rewrite of it, such as the JSONata one, shown to
    /// end jobs as the deployed one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_machine: Option<PathBuf>,
    /// Task mocks in AWS's MockConfigFile form (state machine `FileChecks`) and the test case to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mocks: Option<Mocks>,
    /// Replay against an external FTPS server instead of the in-process one (`${ENV}` works here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftps: Option<ExternalServer>,
    /// Run waits and retry delays at 1/N of their length in real time instead of skipping them:
    /// for executions that wait on each other (jobs queueing for connection leases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup: Option<u32>,
    /// `disk`: S3 on the disk-backed store instead of the AWS backend (files of GiBs).
    #[serde(default, skip_serializing_if = "is_backend")]
    pub s3: crate::world::S3Store,
    /// The template's parameters in place of their defaults, as `sam deploy
    /// --parameter-overrides` sets them (`TransferFileConcurrency: 2`).
    #[serde(
        default,
        skip_serializing_if = "std::collections::BTreeMap::is_empty",
        deserialize_with = "parameter_values"
    )]
    pub parameters: crate::world::template::ParameterOverrides,
    /// Runs only when `FILECHECKS_SLOW_TESTS` is set (minutes and GiBs of disk).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub slow: bool,
    pub expect: Expect,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalServer {
    /// `ftps://USER:PASS@HOST:PORT`
    pub url: String,
    #[serde(default)]
    pub implicit: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mocks {
    pub test_case: String,
    /// The MockConfigFile document, as AWS writes it (checked when the scenario is read).
    #[serde(with = "mock_config_as_json")]
    pub config: sfn::MockConfig,
}

/// A MockConfigFile in a scenario is AWS's JSON document written as YAML: its responses are
/// `{Return: …}` / `{Throw: …}` maps, which serde_yaml would read as tagged enums (`!Return`), so
/// it goes through JSON's data model.
mod mock_config_as_json {
    use serde::{Deserialize, Serialize};

    pub fn serialize<S: serde::Serializer>(config: &sfn::MockConfig, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::to_value(config)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<sfn::MockConfig, D::Error> {
        sfn::MockConfig::from_value(serde_json::Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteFile {
    /// Absolute path on the server.
    pub path: String,
    /// Inline text content…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// …or a file under the project's `fixtures/`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixture: Option<String>,
    /// …or this many bytes of deterministic pseudo-random content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// This many files: `{n}` in the path becomes 001, 002, …; generated ones differ by seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<u32>,
}

/// Where a remote file's bytes come from (a validated `RemoteFile`).
#[derive(Debug, Clone, PartialEq)]
pub enum Content<'a> {
    Text(&'a str),
    Fixture(&'a str),
    Generated { size: u64, seed: u64 },
}

impl RemoteFile {
    pub fn content(&self) -> Content<'_> {
        match (&self.content, &self.fixture) {
            (Some(text), _) => Content::Text(text),
            (None, Some(name)) => Content::Fixture(name),
            (None, None) => Content::Generated {
                size: self.size.unwrap_or(0),
                seed: self.seed.unwrap_or(42),
            },
        }
    }
}

/// Overrides of the FTPS secret's fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_mode: Option<TlsMode>,
    /// PEM text, or `untrusted`: a CA the server's certificate was not issued by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_projects: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Fields stored as written, wrong types included (`{password: 12345}`): a secret a person
    /// typed by hand. They replace the typed fields in the stored JSON.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub raw_fields: serde_json::Map<String, serde_json::Value>,
}

fn is_backend(store: &crate::world::S3Store) -> bool {
    *store == crate::world::S3Store::Backend
}

/// The switch that lets `slow: true` scenarios run.
pub const SLOW_TESTS: &str = "FILECHECKS_SLOW_TESTS";

/// Whether `slow: true` scenarios run here.
pub fn slow_tests_enabled() -> bool {
    std::env::var_os(SLOW_TESTS).is_some_and(|v| !v.is_empty() && v != "0")
}

/// `caBundle: untrusted` in a scenario.
pub const UNTRUSTED_CA: &str = "untrusted";

impl SecretOverrides {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `base` with the overrides; `untrusted_ca` supplies the PEM for `caBundle: untrusted`.
    pub fn apply<E>(
        &self,
        mut base: FtpsSettings,
        untrusted_ca: impl FnOnce() -> Result<String, E>,
    ) -> Result<FtpsSettings, E> {
        let o = self.clone();
        base.host = o.host.unwrap_or(base.host);
        base.port = o.port.or(base.port);
        base.username = o.username.unwrap_or(base.username);
        base.password = o.password.map(Password::new).unwrap_or(base.password);
        base.tls_mode = o.tls_mode.unwrap_or(base.tls_mode);
        base.ca_bundle = match o.ca_bundle {
            Some(keyword) if keyword == UNTRUSTED_CA => Some(untrusted_ca()?),
            Some(pem) => Some(pem),
            None => base.ca_bundle,
        };
        base.cert_sha256 = o.cert_sha256.or(base.cert_sha256);
        base.server_name = o.server_name.or(base.server_name);
        base.allowed_paths = o.allowed_paths.or(base.allowed_paths);
        base.allowed_projects = o.allowed_projects.or(base.allowed_projects);
        base.max_connections = o.max_connections.or(base.max_connections);
        Ok(base)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSpec {
    pub job_id: String,
    pub project: String,
    #[serde(default = "default_pipeline")]
    pub pipeline: String,
    #[serde(default = "default_status")]
    pub status: JobStatus,
    pub file: FileRef,
    /// Where to land it; a missing bucket is the world's landing bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,
    /// This many jobs (a backfill): `{n}` in the jobId, file and key becomes 001, 002, …; an
    /// expectation keyed by the jobId with `{n}` applies to each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    pub key: String,
}

/// The pipeline the seed's example names; jobs without one get it.
pub const DEFAULT_PIPELINE: &str = "FLPIDS_ODS";

fn default_pipeline() -> String {
    DEFAULT_PIPELINE.into()
}

fn default_status() -> JobStatus {
    JobStatus::Triggered
}

impl JobSpec {
    pub fn key(&self) -> JobKey {
        JobKey {
            job_id: self.job_id.clone(),
            project: self.project.clone(),
        }
    }
}

/// One step of a scenario; written in YAML as a one-key map (`- redrive: job-1`, `- settle: true`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ActionSpec", into = "ActionSpec")]
pub enum Action {
    /// Wait until every record so far is delivered and its execution finished.
    Settle,
    /// Touch the job while it is still TRIGGERED (a conditional update of `updatedAt`): the
    /// stream carries a second matching record, so a second execution starts.
    Duplicate(String),
    /// Deliver the job's INSERT record (as the Pipe read it) straight to the state machine this
    /// many times at once, as concurrent or late Pipe deliveries of that record would.
    Deliver { job: String, times: u32 },
    /// After settling, set an ERROR job back to TRIGGERED (an operator's re-drive).
    Redrive(String),
    /// Change the server's faults.
    Faults(FaultSet),
    /// Once the job's execution has entered a state (TransferFile unless named), StopExecution
    /// it, as a person or a script with the AWS SDK would: it ends ABORTED.
    Stop(ExecutionStep),
    /// Once the job's execution has entered a state, it reaches its TimeoutSeconds: TIMED_OUT.
    TimeOut(ExecutionStep),
    /// Set a job TRIGGERED (a producer's or an operator's write), at once or once the server
    /// has begun sending a file.
    Trigger(TriggerStep),
    /// A producer's (or an operator's) edit of a job's item: these attributes set as given
    /// (plain JSON, wrong types included: a malformed edit; `updatedAt` only if given); at once,
    /// once the job's execution has entered a state, or once the server has begun sending a file.
    Edit(EditStep),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditStep {
    pub job: String,
    pub set: serde_json::Map<String, Value>,
    /// As a trigger's `after`: `download`, `held`, a state's name, or absent (at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerStep {
    pub job: String,
    /// `download`: once the FTPS server has begun sending a file; `held`: once a `slow` AWS
    /// fault holds a request; a state's name: once the job's (first) execution has entered it;
    /// absent: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Which execution a `stop` or `time_out` step ends, and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionStep {
    pub job: String,
    /// `download`: once the FTPS server has begun sending a file (the job is STREAMING); else
    /// the name of a state the execution must have entered.
    #[serde(default = "download")]
    pub after: String,
}

fn download() -> String {
    DOWNLOAD.to_string()
}

/// `after: download`.
pub const DOWNLOAD: &str = "download";

/// `after: held` (a trigger's or an edit's): once a `slow` AWS fault holds a request (from the
/// step on), so the step lands while that request waits, as between a read and its write.
pub const HELD: &str = "held";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverSpec {
    job: String,
    times: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settle: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duplicate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deliver: Option<DeliverSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redrive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    faults: Option<FaultSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop: Option<ExecutionStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_out: Option<ExecutionStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trigger: Option<TriggerStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    edit: Option<EditStep>,
}

impl TryFrom<ActionSpec> for Action {
    type Error = &'static str;

    fn try_from(spec: ActionSpec) -> Result<Self, Self::Error> {
        let mut actions = Vec::new();
        if spec.settle == Some(true) {
            actions.push(Action::Settle);
        }
        if let Some(id) = spec.duplicate {
            actions.push(Action::Duplicate(id));
        }
        if let Some(d) = spec.deliver {
            actions.push(Action::Deliver {
                job: d.job,
                times: d.times,
            });
        }
        if let Some(id) = spec.redrive {
            actions.push(Action::Redrive(id));
        }
        if let Some(f) = spec.faults {
            actions.push(Action::Faults(f));
        }
        if let Some(step) = spec.stop {
            actions.push(Action::Stop(step));
        }
        if let Some(step) = spec.time_out {
            actions.push(Action::TimeOut(step));
        }
        if let Some(step) = spec.trigger {
            actions.push(Action::Trigger(step));
        }
        if let Some(step) = spec.edit {
            actions.push(Action::Edit(step));
        }
        match actions.len() {
            1 => Ok(actions.remove(0)),
            _ => Err(
                "a step is exactly one of settle: true, duplicate, deliver, redrive, faults, stop, time_out, trigger, edit",
            ),
        }
    }
}

impl From<Action> for ActionSpec {
    fn from(action: Action) -> Self {
        let mut spec = ActionSpec::default();
        match action {
            Action::Settle => spec.settle = Some(true),
            Action::Duplicate(id) => spec.duplicate = Some(id),
            Action::Deliver { job, times } => spec.deliver = Some(DeliverSpec { job, times }),
            Action::Redrive(id) => spec.redrive = Some(id),
            Action::Faults(f) => spec.faults = Some(f),
            Action::Stop(step) => spec.stop = Some(step),
            Action::TimeOut(step) => spec.time_out = Some(step),
            Action::Trigger(step) => spec.trigger = Some(step),
            Action::Edit(step) => spec.edit = Some(step),
        }
        spec
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Judged by the invariants alone (every job terminal with a name, no source deleted without
    /// its recorded landing, no upload no job records, …): no other expectation may be given,
    /// and no snapshot is kept. What the kit generates (the fault matrix's cells) says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invariants_only: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jobs: BTreeMap<String, JobExpectation>,
    /// Objects in the landing bucket (all of them; none when not given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectExpectation>,
    /// Files left on the server (all of them; none when not given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote: Vec<String>,
    /// How many versions the landing bucket holds, over all keys (every landing stays one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<usize>,
    /// How many executions transferred (entered TransferFile), over all jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfers: Option<usize>,
    /// How many executions ran, over all jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executions: Option<usize>,
    /// How many executions Lambda throttled at least once: their histories record a
    /// `LambdaFunctionFailed` with `Lambda.TooManyRequestsException`, as AWS's do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_executions: Option<usize>,
    /// The offsets the server restarted downloads at (REST), in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_offsets: Option<Vec<u64>>,
    /// The most bytes of files the in-process server may send over all downloads: how much a
    /// transfer resumed many times may read twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded_at_most: Option<u64>,
    /// The fewest TransferFile runs the executions may have scheduled (a file that needs many).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_attempts_at_least: Option<usize>,
    /// Exactly how many TransferFile runs the executions scheduled (a replayed execution's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_attempts: Option<usize>,
    /// UploadPart requests the pipeline made, over all attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_parts: Option<usize>,
    /// The most sessions the in-process server served at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_sessions: Option<usize>,
    /// Connections the in-process server greeted with 421 (its `max_sessions` or
    /// `reject_connections`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_sessions: Option<usize>,
    /// Text that must appear in no item (a secret's value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<String>,
}

impl Expect {
    /// `{invariants_only: true}`: judged by the invariants alone.
    pub fn invariants_only() -> Expect {
        Expect {
            invariants_only: true,
            ..Expect::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobExpectation {
    pub status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_stage: Option<TransferStage>,
    /// The recorded error: `none`, or its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorExpectation>,
}

/// `error:` of a job expectation, as files write it: `none` or the error's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorExpectation {
    None,
    Named(String),
}

impl ErrorExpectation {
    const NONE: &'static str = "none";

    /// The expectation in the words of a failure message.
    pub fn as_str(&self) -> &str {
        match self {
            Self::None => Self::NONE,
            Self::Named(name) => name,
        }
    }

    pub fn matches(&self, recorded: Option<&str>) -> bool {
        match self {
            Self::None => recorded.is_none(),
            Self::Named(name) => recorded == Some(name.as_str()),
        }
    }
}

impl From<String> for ErrorExpectation {
    fn from(text: String) -> Self {
        if text == Self::NONE {
            Self::None
        } else {
            Self::Named(text)
        }
    }
}

impl From<ErrorExpectation> for String {
    fn from(expectation: ErrorExpectation) -> String {
        expectation.as_str().to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectExpectation {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(path, e.to_string()))?;
        Self::parse(&text, path)
    }

    /// Parses a scenario; `path` names it in errors. `${NAME}` is replaced by the environment's
    /// value (an unset variable is an error).
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let text = placeholders::from_env(text).map_err(|e| invalid(path, e.to_string()))?;
        let mut scenario: Scenario = serde_yaml::from_str(&text).map_err(|e| invalid(path, e.to_string()))?;
        scenario.expand_copies().map_err(|e| invalid(path, e))?;
        scenario.validate().map_err(|e| invalid(path, e))?;
        Ok(scenario)
    }

    /// A scenario with this description and nothing else (no files, jobs, faults, steps or
    /// expectations): what generated scenarios start from.
    pub fn described(description: String) -> Scenario {
        Scenario {
            description,
            remote: Vec::new(),
            faults: FaultSet::default(),
            secret: SecretOverrides::default(),
            jobs: Vec::new(),
            items: Vec::new(),
            steps: Vec::new(),
            state_machine: None,
            mocks: None,
            ftps: None,
            speedup: None,
            parameters: Default::default(),
            s3: Default::default(),
            slow: false,
            expect: Expect::default(),
        }
    }

    /// The scenario as a file holds it.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a scenario serializes")
    }

    pub fn job(&self, id: &str) -> Option<&JobSpec> {
        self.jobs.iter().find(|j| j.job_id == id)
    }

    /// The key of a job the scenario writes (typed, or a raw item).
    pub fn key(&self, id: &str) -> Option<JobKey> {
        self.job(id).map(JobSpec::key).or_else(|| {
            self.items.iter().find(|i| i["jobId"] == id).map(|i| JobKey {
                job_id: id.to_string(),
                project: i["project"].as_str().unwrap_or_default().to_string(),
            })
        })
    }

    /// Every jobId the scenario writes, typed jobs and raw items.
    fn job_ids(&self) -> impl Iterator<Item = &str> {
        self.jobs
            .iter()
            .map(|j| j.job_id.as_str())
            .chain(self.items.iter().filter_map(|i| i["jobId"].as_str()))
    }

    /// Replaces every remote file and job with `copies: N` by its N copies, and an expectation
    /// keyed by such a job's `{n}` id by one per copy.
    fn expand_copies(&mut self) -> Result<(), String> {
        const N: &str = "{n}";
        let count = |copies: Option<u32>, what: String| match copies {
            Some(0) => Err(format!("{what}: copies is 0")),
            Some(n) if !what.contains(N) => {
                Err(format!("{what}: copies: {n} needs {N} in it to tell the copies apart"))
            }
            Some(n) => Ok(Some(n)),
            None => Ok(None),
        };
        let mut remote = Vec::new();
        for file in std::mem::take(&mut self.remote) {
            match count(file.copies, format!("remote path {}", file.path))? {
                None => remote.push(file),
                Some(copies) => remote.extend((1..=copies).map(|n| RemoteFile {
                    path: file.path.replace(N, &format!("{n:03}")),
                    // Even steps: the generator starts from `seed | 1`.
                    seed: file.size.map(|_| file.seed.unwrap_or(42) + 2 * u64::from(n)),
                    copies: None,
                    ..file.clone()
                })),
            }
        }
        self.remote = remote;
        let mut jobs = Vec::new();
        for job in std::mem::take(&mut self.jobs) {
            match count(job.copies, format!("jobId {}", job.job_id))? {
                None => jobs.push(job),
                Some(copies) => {
                    if let Some(expected) = self.expect.jobs.remove(&job.job_id) {
                        for n in 1..=copies {
                            self.expect
                                .jobs
                                .insert(job.job_id.replace(N, &format!("{n:03}")), expected.clone());
                        }
                    }
                    jobs.extend((1..=copies).map(|n| {
                        let n = format!("{n:03}");
                        JobSpec {
                            job_id: job.job_id.replace(N, &n),
                            file: FileRef {
                                file_name: job.file.file_name.replace(N, &n),
                                remote_path: job.file.remote_path.replace(N, &n),
                            },
                            s3: job.s3.as_ref().map(|s3| S3Spec {
                                bucket: s3.bucket.clone(),
                                key: s3.key.replace(N, &n),
                            }),
                            copies: None,
                            ..job.clone()
                        }
                    }));
                }
            }
        }
        self.jobs = jobs;
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        if self.expect.invariants_only
            && serde_json::to_value(&self.expect).ok() != serde_json::to_value(Expect::invariants_only()).ok()
        {
            return Err("expect: invariants_only: true takes no other expectation".into());
        }
        for (i, file) in self.remote.iter().enumerate() {
            let given = [file.content.is_some(), file.fixture.is_some(), file.size.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            if given != 1 {
                return Err(format!(
                    "remote[{i}] ({}): give exactly one of content, fixture, size",
                    file.path
                ));
            }
            if let Err(e) = pipeline::names::remote_path(&file.path) {
                return Err(format!(
                    "remote[{i}].path: {e} (the server's files stay inside its root)"
                ));
            }
            if let Some(fixture) = &file.fixture
                && (fixture.is_empty()
                    || Path::new(fixture)
                        .components()
                        .any(|c| !matches!(c, std::path::Component::Normal(_))))
            {
                return Err(format!(
                    "remote[{i}].fixture: {fixture:?} is not a path inside fixtures/"
                ));
            }
        }
        let known = |id: &str, at: &str| match self.job_ids().any(|j| j == id) {
            true => Ok(()),
            false => Err(format!("{at} names job {id:?}, which is not in jobs or items")),
        };
        for (i, item) in self.items.iter().enumerate() {
            if item["jobId"].as_str().is_none() || item["project"].as_str().is_none() {
                return Err(format!("items[{i}] needs string jobId and project (the table's keys)"));
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Action::Duplicate(id)
                | Action::Redrive(id)
                | Action::Deliver { job: id, .. }
                | Action::Stop(ExecutionStep { job: id, .. })
                | Action::TimeOut(ExecutionStep { job: id, .. }) => known(id, &format!("steps[{i}]"))?,
                Action::Trigger(TriggerStep { job, .. }) | Action::Edit(EditStep { job, .. }) => {
                    known(job, &format!("steps[{i}]"))?;
                }
                Action::Settle | Action::Faults(_) => {}
            }
        }
        for id in self.expect.jobs.keys() {
            known(id, "expect.jobs")?;
        }
        if let Some(mocks) = &self.mocks {
            mocks
                .config
                .test_case(Some(crate::world::STATE_MACHINE_NAME), &mocks.test_case)
                .map_err(|e| format!("mocks: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invariants_only_takes_no_other_expectation() {
        let base = "description: d\njobs: []\nexpect:\n  invariants_only: true\n";
        assert!(Scenario::parse(base, std::path::Path::new("ok.yaml")).is_ok());
        let err = Scenario::parse(&format!("{base}  transfers: 1\n"), std::path::Path::new("x.yaml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("invariants_only: true takes no other expectation"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_name_the_file_line_and_field() {
        let text = "description: x\njobs:\n  - jobId: a\n    project: P\n    file: {fileName: f, remotePath: /f}\n    colour: blue\nexpect: {}\n";
        let err = Scenario::parse(text, Path::new("scenarios/bad.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("scenarios/bad.yaml: "), "{err}");
        assert!(err.contains("unknown field `colour`"), "{err}");
        assert!(err.contains("jobs[0]") && err.contains("line 6"), "{err}");
    }

    #[test]
    fn wrong_types_and_dangling_names_are_errors() {
        let text = "description: x\njobs: []\nfaults: {drop_after_bytes: lots}\nexpect: {}\n";
        let err = Scenario::parse(text, Path::new("s.yaml")).unwrap_err().to_string();
        assert!(err.contains("drop_after_bytes") && err.contains("line 3"), "{err}");
        let text = "description: x\njobs: []\nsteps: [{redrive: ghost}]\nexpect: {}\n";
        let err = Scenario::parse(text, Path::new("s.yaml")).unwrap_err().to_string();
        assert!(err.contains("steps[0] names job \"ghost\""), "{err}");
        let text = "description: x\njobs: []\nfaults: {colour: 1}\nexpect: {}\n";
        let err = Scenario::parse(text, Path::new("s.yaml")).unwrap_err().to_string();
        assert!(err.contains("unknown variant `colour`"), "{err}");
    }
}
