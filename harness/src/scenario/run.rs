//! Runs one scenario in a fresh world: stages the server and the table, plays the steps, waits
//! for the world to settle, then checks expectations and invariants and renders the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pipeline::job::{Job, S3Location};
use sha2::{Digest, Sha256};

use super::checks::{self, Observed};
use super::content::{self, ContentError, Remote};
use super::schema::{Action, DOWNLOAD, HELD, JobSpec, Scenario, ScenarioError};
use super::snapshot;
use crate::ftps::{ExternalFtps, ExternalFtpsError, FtpsFault};
use crate::pki::{Pki, PkiError};
use crate::world::{
    AbortOnDrop, Ending, Project, ProjectFile, STATE_MACHINE_NAME, StoredJob, World, WorldError, WorldOptions,
};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    World(#[from] WorldError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error("{file}: ftps: {source}")]
    ExternalServer { file: String, source: ExternalFtpsError },
    #[error("{file}: mocks: {source}")]
    Mocks { file: String, source: sfn::MockError },
    #[error("{0}: faults need the in-process FTPS server")]
    FaultsNeedInProcessServer(String),
    #[error("a CA for caBundle: untrusted: {0}")]
    UntrustedCa(#[from] PkiError),
    #[error("duplicate: job {0} was no longer TRIGGERED")]
    NotTriggered(String),
    #[error("reading the staged remote file {path}: {source}")]
    RemoteFile { path: String, source: std::io::Error },
    #[error("{file}: state_machine {path}: {source}")]
    StateMachine {
        file: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The outcome of one scenario.
#[derive(Debug)]
pub struct Report {
    pub name: String,
    /// Broken expectations and invariants; empty when the scenario passed.
    pub failures: Vec<String>,
    /// The broken invariants alone (what the fault matrix judges).
    pub broken_invariants: Vec<String>,
    /// The table's items as they are.
    pub items: Vec<StoredJob>,
    /// The items, redacted, keys sorted (pretty JSON): what the snapshot holds.
    pub snapshot: String,
    pub elapsed: Duration,
    /// What a report shows of the run.
    pub evidence: crate::report::Evidence,
}

/// Runs scenarios of a project: its `fixtures/` and `infra/` are the ones used.
#[derive(Debug, Clone, Default)]
pub struct Runner {
    pub project: Project,
    /// Replaces the in-process FTPS server (the CLI's `--ftps-url`).
    pub external: Option<ExternalFtps>,
    /// Live bars for the in-process server's transfers (the CLI on a terminal).
    pub progress: Option<crate::progress::Bars>,
}

/// Shorter than the Lambda defaults: a scenario's server is local, and a hung one should fail fast.
fn timeouts() -> pipeline::ftps::Timeouts {
    pipeline::ftps::Timeouts {
        connect: Duration::from_secs(5),
        command: Duration::from_secs(15),
        read: Duration::from_secs(10),
    }
}

/// The job's item in the seed's shape; an `s3` without a bucket gets the world's landing bucket.
fn job_item(spec: &JobSpec, bucket: &str) -> Job {
    let mut job = Job::triggered(spec.key(), spec.pipeline.clone(), spec.file.clone());
    job.status = spec.status;
    job.s3 = spec.s3.as_ref().map(|s3| S3Location {
        bucket: s3.bucket.clone().unwrap_or_else(|| bucket.to_string()),
        key: s3.key.clone(),
    });
    job
}

/// A trigger's or an edit's `after`: at once, once a download began, once a `slow` fault holds
/// a request, or once the job's execution entered a state.
async fn wait_for(world: &World, job: &pipeline::job::JobKey, after: Option<&str>) -> Result<(), WorldError> {
    match after {
        None => {}
        Some(DOWNLOAD) => world.ftps.download_started().await,
        Some(HELD) => world.request_held().await,
        Some(state) => drop(world.reached(job, Some(state)).await?),
    }
    Ok(())
}

impl Runner {
    pub fn new(project: Project) -> Self {
        Self {
            project,
            external: None,
            progress: None,
        }
    }

    pub async fn run(&self, path: &Path) -> Result<Report, RunError> {
        let started = Instant::now();
        let file = path.display().to_string();
        let scenario = Scenario::load(path)?;
        let external = match (&self.external, &scenario.ftps) {
            (Some(given), _) => Some(given.clone()),
            (None, Some(server)) => Some(
                ExternalFtps::from_url(
                    &server.url,
                    server.implicit,
                    server.ca_file.as_deref(),
                    server.server_name.as_deref(),
                )
                .map_err(|source| RunError::ExternalServer {
                    file: file.clone(),
                    source,
                })?,
            ),
            (None, None) => None,
        };
        let has_faults = !scenario.faults.is_empty() || scenario.steps.iter().any(|s| matches!(s, Action::Faults(_)));
        if external.is_some() && has_faults {
            return Err(RunError::FaultsNeedInProcessServer(file));
        }
        let mocks = match &scenario.mocks {
            Some(m) => Some(
                m.config
                    .test_case(Some(STATE_MACHINE_NAME), &m.test_case)
                    .map_err(|source| RunError::Mocks {
                        file: file.clone(),
                        source,
                    })?,
            ),
            None => None,
        };
        let state_machine = match &scenario.state_machine {
            Some(relative) => {
                let path = path.parent().unwrap_or(Path::new(".")).join(relative);
                let text = std::fs::read_to_string(&path).map_err(|source| RunError::StateMachine {
                    file: file.clone(),
                    path: path.clone(),
                    source,
                })?;
                Some(ProjectFile {
                    name: path.display().to_string(),
                    text: text.into(),
                })
            }
            None => None,
        };
        let world = World::boot(WorldOptions {
            project: self.project.clone(),
            state_machine,
            mocks,
            timeouts: timeouts(),
            s3: scenario.s3,
            parameters: scenario.parameters.clone(),
            time: match scenario.speedup {
                Some(factor) => sfn::TimeMode::Accelerated(factor),
                None => sfn::TimeMode::Virtual,
            },
            ..Default::default()
        })
        .await?;
        let _bars = self.progress.as_ref().map(|bars| AbortOnDrop(bars.follow(&world.ftps)));
        let remote = match external {
            Some(server) => Remote::External(server),
            None => Remote::InProcess(&world.ftps),
        };
        let base_secret = match &remote {
            Remote::InProcess(server) => server.secret(),
            Remote::External(server) => server.secret().clone(),
        };
        let secret = scenario.secret.apply(base_secret, || {
            let dir = tempfile::tempdir().map_err(PkiError::TempDir)?;
            Ok::<_, PkiError>(Pki::generate("untrusted", dir.path())?.ca_pem)
        })?;
        // Raw items name their pipelines too (a malformed one may name none).
        let pipelines: BTreeSet<&str> = scenario
            .jobs
            .iter()
            .map(|j| j.pipeline.as_str())
            .chain(scenario.items.iter().filter_map(|i| i["pipeline"].as_str()))
            .collect();
        for pipeline in pipelines {
            world
                .put_secret_with(pipeline, &secret, &scenario.secret.raw_fields)
                .await?;
        }
        let fixtures = self.project.fixtures_dir();
        let mut originals = BTreeMap::new();
        for file in &scenario.remote {
            originals.insert(
                file.path.clone(),
                content::stage(&remote, file, fixtures.as_deref()).await?,
            );
        }
        // A source the producer changes under us must land as it ends, not as it started: what
        // each file becomes if the fault changes it (it changes one, under the first download
        // to reach its end), used for the files it did change.
        let mut changed_originals = BTreeMap::new();
        for fault in scenario.faults.ftps() {
            if let FtpsFault::ChangeSourceAfterDownload(change) = fault {
                for path in originals.keys() {
                    let content =
                        std::fs::read(world.ftps.local_path(path)).map_err(|source| RunError::RemoteFile {
                            path: path.clone(),
                            source,
                        })?;
                    changed_originals.insert(path.clone(), hex::encode(Sha256::digest(change.changed(content))));
                }
            }
        }
        world.inject(&scenario.faults.0);
        for job in &scenario.jobs {
            world.put_job(&job_item(job, &world.names.bucket)).await?;
        }
        for item in &scenario.items {
            world.put_raw_item(item).await?;
        }
        // How many times each job was set TRIGGERED after it was written: each may start one
        // more transfer.
        let mut triggers: BTreeMap<String, usize> = BTreeMap::new();
        for action in &scenario.steps {
            let job = |id: &str| scenario.key(id).expect("validated: steps name known jobs");
            match action {
                Action::Settle => world.settle().await,
                Action::Duplicate(id) => {
                    if !world.touch_triggered(&job(id)).await? {
                        return Err(RunError::NotTriggered(id.clone()));
                    }
                }
                Action::Deliver { job: id, times } => {
                    let batch = world.insert_record(&job(id)).await?;
                    let deliveries = (0..*times).map(|_| world.deliver(batch.clone()));
                    for delivered in futures::future::join_all(deliveries).await {
                        delivered?;
                    }
                }
                Action::Redrive(id) => {
                    world.settle().await;
                    world.trigger(&job(id)).await?;
                    *triggers.entry(id.clone()).or_default() += 1;
                }
                Action::Faults(faults) => world.inject(&faults.0),
                Action::Stop(step) | Action::TimeOut(step) => {
                    let how = match action {
                        Action::Stop(_) => Ending::Stop,
                        _ => Ending::TimeOut,
                    };
                    let state = (step.after != DOWNLOAD).then_some(step.after.as_str());
                    world.end_execution(&job(&step.job), state, how).await?;
                }
                Action::Trigger(step) => {
                    wait_for(&world, &job(&step.job), step.after.as_deref()).await?;
                    world.trigger(&job(&step.job)).await?;
                    *triggers.entry(step.job.clone()).or_default() += 1;
                }
                Action::Edit(step) => {
                    wait_for(&world, &job(&step.job), step.after.as_deref()).await?;
                    world.edit(&job(&step.job), &step.set).await?;
                }
            }
        }
        world.settle().await;

        let deleted_by_producer = scenario
            .faults
            .ftps()
            .any(|f| *f == FtpsFault::ChangeSourceAfterDownload(crate::ftps::SourceChange::Delete));
        for path in world.ftps.changed_sources() {
            if deleted_by_producer {
                // Its producer took it back: its absence is not the pipeline's doing.
                originals.remove(&path);
            } else if let Some(sha) = changed_originals.remove(&path) {
                originals.insert(path, sha);
            }
        }
        let items = world.items().await?;
        let observed = Observed::gather(
            &world,
            &remote,
            &scenario,
            items,
            &[secret.password.expose().to_string()],
        )
        .await;
        let mut failures = checks::expectations(&scenario.expect, &observed);
        let broken_invariants = checks::invariants(&observed, &originals, &triggers);
        failures.extend(broken_invariants.iter().cloned());
        let snapshot = snapshot::render(&observed.items);
        let evidence = crate::report::Evidence {
            description: scenario.description.clone(),
            definition: world.definition.clone(),
            executions: world.executions(),
            reads: world.pipe_log(),
            objects: world.objects().await,
            uploads: world.unfinished_uploads().await,
            ftps: world.ftps.session_log(),
            time: match scenario.speedup {
                Some(factor) => sfn::TimeMode::Accelerated(factor),
                None => sfn::TimeMode::Virtual,
            },
        };
        Ok(Report {
            name: path.file_stem().unwrap_or_default().to_string_lossy().to_string(),
            failures,
            broken_invariants,
            items: observed.items,
            snapshot,
            elapsed: started.elapsed(),
            evidence,
        })
    }
}
