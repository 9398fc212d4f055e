//! Scenario files (`scenarios/*.yaml`): what the world holds, what happens, what must come out.
//! Parsing is strict: an unknown field or a wrong type fails with the file, line and field named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
}

fn invalid(file: &Path, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, in a sentence.
    pub description: String,
    /// Files on the FTPS server before anything runs.
    #[serde(default)]
    pub remote: Vec<RemoteFile>,
    /// Server faults in force from the start.
    #[serde(default)]
    pub faults: Faults,
    /// Fields of the FTPS secret to override (e.g. a wrong password, an untrusted CA).
    #[serde(default)]
    pub secret: BTreeMap<String, Value>,
    /// Jobs written to the table, in the seed's item shape.
    pub jobs: Vec<JobSpec>,
    /// What happens after the jobs are written, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Task mocks in AWS's MockConfigFile form (state machine `FileChecks`) and the test case to use.
    #[serde(default)]
    pub mocks: Option<Mocks>,
    /// Replay against an external FTPS server instead of the in-process one (`${ENV}` works here).
    #[serde(default)]
    pub ftps: Option<ExternalServer>,
    pub expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalServer {
    /// `ftps://USER:PASS@HOST:PORT`
    pub url: String,
    #[serde(default)]
    pub implicit: bool,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mocks {
    pub test_case: String,
    pub config: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteFile {
    /// Absolute path on the server.
    pub path: String,
    /// Inline text content…
    #[serde(default)]
    pub content: Option<String>,
    /// …or a file under `fixtures/`…
    #[serde(default)]
    pub fixture: Option<String>,
    /// …or this many bytes of deterministic pseudo-random content.
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Close the data connection after this many bytes…
    #[serde(default)]
    pub drop_after_bytes: Option<u64>,
    /// …for this many downloads (default 1; `always`).
    #[serde(default)]
    pub drop_times: Option<Times>,
    /// Added to every file's reported SIZE.
    #[serde(default)]
    pub size_delta: Option<i64>,
    /// Answer DELE with 550.
    #[serde(default)]
    pub refuse_delete: Option<bool>,
    /// Greet this many connections with 421.
    #[serde(default)]
    pub reject_connections: Option<u32>,
    /// Fail this many downloads with 451.
    #[serde(default)]
    pub fail_retrieves: Option<u32>,
    /// Wait before the first byte of every download.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Times {
    Count(u32),
    Keyword(Always),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Always {
    Always,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSpec {
    pub job_id: String,
    pub project: String,
    #[serde(default = "default_pipeline")]
    pub pipeline: String,
    #[serde(default = "default_status")]
    pub status: String,
    pub file: FileSpec,
    #[serde(default)]
    pub s3: Option<Value>,
}

fn default_pipeline() -> String {
    "FLPIDS_ODS".into()
}

fn default_status() -> String {
    "TRIGGERED".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileSpec {
    pub file_name: String,
    pub remote_path: String,
}

/// One step; written in YAML as a one-key map (`- redrive: job-1`, `- settle: true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "StepSpec")]
pub enum Step {
    /// Wait until every record so far is delivered and its execution finished.
    Settle,
    /// Touch the job while it is still TRIGGERED (a conditional update of `updatedAt`): the
    /// stream carries a second matching record, so a second execution starts.
    Duplicate(String),
    /// Deliver the job's record straight to the state machine this many times at once, as
    /// concurrent Pipe deliveries of one record would.
    Deliver { job: String, times: u32 },
    /// After settling, set an ERROR job back to TRIGGERED (an operator's re-drive).
    Redrive(String),
    /// Change the server's faults.
    Faults(Faults),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverSpec {
    job: String,
    times: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSpec {
    #[serde(default)]
    settle: Option<bool>,
    #[serde(default)]
    duplicate: Option<String>,
    #[serde(default)]
    deliver: Option<DeliverSpec>,
    #[serde(default)]
    redrive: Option<String>,
    #[serde(default)]
    faults: Option<Faults>,
}

impl TryFrom<StepSpec> for Step {
    type Error = String;

    fn try_from(spec: StepSpec) -> Result<Self, String> {
        let mut steps = Vec::new();
        if spec.settle == Some(true) {
            steps.push(Step::Settle);
        }
        if let Some(id) = spec.duplicate {
            steps.push(Step::Duplicate(id));
        }
        if let Some(d) = spec.deliver {
            steps.push(Step::Deliver {
                job: d.job,
                times: d.times,
            });
        }
        if let Some(id) = spec.redrive {
            steps.push(Step::Redrive(id));
        }
        if let Some(f) = spec.faults {
            steps.push(Step::Faults(f));
        }
        match steps.len() {
            1 => Ok(steps.remove(0)),
            _ => Err("a step is exactly one of settle: true, duplicate, deliver, redrive, faults".into()),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub jobs: BTreeMap<String, JobExpectation>,
    /// Objects in the landing bucket (all of them).
    #[serde(default)]
    pub objects: Vec<ObjectExpectation>,
    /// Files left on the server (all of them).
    #[serde(default)]
    pub remote: Vec<String>,
    /// How many executions transferred (entered TransferFile), over all jobs.
    #[serde(default)]
    pub transfers: Option<usize>,
    /// How many executions ran, over all jobs.
    #[serde(default)]
    pub executions: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobExpectation {
    pub status: String,
    #[serde(default)]
    pub transfer_stage: Option<String>,
    /// The recorded error name (`none` for no error).
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
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
        let text = substitute_env(text).map_err(|e| invalid(path, e))?;
        let scenario: Scenario = serde_yaml::from_str(&text).map_err(|e| invalid(path, e.to_string()))?;
        scenario.validate().map_err(|e| invalid(path, e))?;
        Ok(scenario)
    }

    fn validate(&self) -> Result<(), String> {
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
        }
        let ids: Vec<&str> = self.jobs.iter().map(|j| j.job_id.as_str()).collect();
        let known = |id: &str, at: &str| {
            if ids.contains(&id) {
                Ok(())
            } else {
                Err(format!("{at} names job {id:?}, which is not in jobs"))
            }
        };
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Duplicate(id) | Step::Redrive(id) | Step::Deliver { job: id, .. } => {
                    known(id, &format!("steps[{i}]"))?
                }
                Step::Settle | Step::Faults(_) => {}
            }
        }
        for id in self.expect.jobs.keys() {
            known(id, "expect.jobs")?;
        }
        Ok(())
    }
}

fn substitute_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("unclosed ${")?;
        let name = &rest[start + 2..start + end];
        let value =
            std::env::var(name).map_err(|_| format!("environment variable {name} (used as ${{{name}}}) is not set"))?;
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
