//! The schedule explorer (`harness explore`): scenarios generated from a seed — several jobs on
//! one server (names and keys shared on purpose), Lambda, AWS and FTPS faults at random points,
//! the Pipe's duplicate deliveries, StopExecution and time-outs, producer re-triggers — each
//! played in a fresh world and judged by the invariants alone. A schedule that breaks one is
//! shrunk (fewer steps, faults and jobs while it still breaks it) and written as a scenario file
//! that `harness run` replays.
//!
//! A schedule is a pure function of (seed, index): the same seed explores the same schedules.

use pipeline::job::{FileRef, JobStatus, TransferStage};

use serde_json::Value;

use super::schema::{Action, EditStep, ExecutionStep, Expect, JobSpec, RemoteFile, Scenario, TriggerStep};
use crate::emulate::aws_fault::{AwsAnswer, AwsFault};
use crate::emulate::deliveries::{
    EventFault, EventFaultKind, PipeFault, PipeFaultKind, SchedulerFault, SchedulerFaultKind,
};
use crate::emulate::lambda::{LambdaFault, LambdaFaultKind};
use crate::fault::{Fault, FaultSet};
use crate::ftps::{FtpsFault, SourceChange};
use crate::times::Times;

/// What schedules may contain.
#[derive(Debug, Clone, Copy)]
pub struct Space {
    /// The most jobs in one schedule (at least 1).
    pub jobs: usize,
}

impl Default for Space {
    fn default() -> Self {
        Self { jobs: 3 }
    }
}

/// One generated schedule: its place in the exploration and its scenario.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    pub index: u64,
    pub scenario: Scenario,
}

const PROJECTS: [&str; 2] = ["FLPIDS-NATS", "FLPIDS-ODS"];
const NAMES: [&str; 3] = ["a.data", "b.data", "r.csv"];
const DIRS: [&str; 2] = ["/in/x", "/in/y"];

/// The stages each function writes, where its crash or time-out can be pinned.
fn stages(function: &str) -> &'static [TransferStage] {
    match function {
        "SetRunning" => &[TransferStage::Pending],
        "TransferFile" => &[
            TransferStage::Connecting,
            TransferStage::Streaming,
            TransferStage::Verified,
            TransferStage::SourceDeleted,
        ],
        _ => &[TransferStage::Done],
    }
}

/// The schedule `index` of `seed`.
pub fn generate(seed: u64, index: u64, space: Space) -> Schedule {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    let count = rng.usize(1..=space.jobs.max(1));
    let mut remote: Vec<RemoteFile> = Vec::new();
    let mut jobs = Vec::new();
    let mut steps = Vec::new();
    for i in 0..count {
        let name = NAMES[rng.usize(..NAMES.len())];
        // Mostly a file of its own; sometimes another job's very file.
        let path = match remote.get(rng.usize(..remote.len().max(1))) {
            Some(shared) if rng.u8(..10) == 0 => shared.path.clone(),
            _ => format!("{}/{name}-{i}", DIRS[rng.usize(..DIRS.len())]),
        };
        if !remote.iter().any(|f| f.path == path) {
            let size = match rng.u8(..10) {
                0 => 0,
                1 => 9 * 1024 * 1024,
                2..=4 => 100_000,
                _ => 5_000,
            };
            remote.push(RemoteFile {
                path: path.clone(),
                content: None,
                fixture: None,
                size: Some(size),
                seed: Some(rng.u64(1..1000)),
                copies: None,
            });
        }
        let id = format!("job-{i}");
        // Some jobs start ERROR and are triggered later, by a producer or an operator.
        let later = i > 0 && rng.bool();
        jobs.push(JobSpec {
            job_id: id.clone(),
            project: PROJECTS[rng.usize(..PROJECTS.len())].into(),
            pipeline: super::schema::DEFAULT_PIPELINE.into(),
            status: if later { JobStatus::Error } else { JobStatus::Triggered },
            // Names collide across directories on purpose: two jobs may land at one key.
            file: FileRef {
                file_name: name.into(),
                remote_path: path,
            },
            s3: None,
            copies: None,
        });
        if later {
            steps.push(Action::Trigger(TriggerStep { job: id, after: None }));
        }
    }
    let mut faults = Vec::new();
    perturb(&mut rng, &jobs, &mut steps, &mut faults);
    let scenario = Scenario {
        remote,
        faults: FaultSet(faults),
        jobs,
        steps,
        expect: Expect::invariants_only(),
        ..Scenario::described(format!("explore: seed {seed}, schedule {index}"))
    };
    Schedule { seed, index, scenario }
}

/// The schedule `index` of `seed` around `base`, a user's scenario: its files, jobs, items,
/// secret, parameters, faults and steps, with faults and steps added as `generate` adds them,
/// judged by the invariants alone.
pub fn generate_from(base: &Scenario, seed: u64, index: u64) -> Schedule {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    let mut scenario = base.clone();
    perturb(&mut rng, &base.jobs, &mut scenario.steps, &mut scenario.faults.0);
    scenario.expect = Expect::invariants_only();
    scenario.description = format!("explore: seed {seed}, schedule {index}, around: {}", base.description);
    Schedule { seed, index, scenario }
}

/// Adds to a schedule of `jobs` (with `steps` and `faults` so far) up to three faults, up to
/// three steps on its TRIGGERED jobs, now and then a re-drive, and now and then a Pipe delivery
/// given up on.
fn perturb(rng: &mut fastrand::Rng, jobs: &[JobSpec], steps: &mut Vec<Action>, faults: &mut Vec<Fault>) {
    if jobs.is_empty() {
        return;
    }
    for _ in 0..rng.usize(0..=3) {
        faults.push(fault(rng, jobs));
    }
    let triggered: Vec<String> = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Triggered)
        .map(|j| j.job_id.clone())
        .collect();
    for _ in 0..rng.usize(0..=3) {
        if triggered.is_empty() {
            break;
        }
        let job = triggered[rng.usize(..triggered.len())].clone();
        // Ended in SetRunning, edited (malformed, or a newer version its take refuses) or triggered
        // again, it may never enter TransferFile: later steps wait for SetRunning only.
        let ended_early = steps.iter().any(|s| match s {
            Action::Stop(e) | Action::TimeOut(e) => e.job == job && e.after == "SetRunning",
            Action::Edit(e) => e.job == job,
            Action::Trigger(t) => t.job == job,
            _ => false,
        });
        steps.push(step(rng, job, ended_early));
    }
    if rng.u8(..4) == 0 {
        let job = jobs[rng.usize(..jobs.len())].job_id.clone();
        steps.push(Action::Redrive(job));
    }
    // The Pipe gives up on a delivery (its dead-letter queue) only of a job no step waits for:
    // a step that waits for its execution would wait forever.
    if rng.u8(..8) == 0 {
        let quiet: Vec<&JobSpec> = jobs
            .iter()
            .filter(|j| !steps.iter().any(|s| step_job(s) == Some(j.job_id.as_str())))
            .collect();
        if !quiet.is_empty() {
            let job = quiet[rng.usize(..quiet.len())].job_id.clone();
            faults.push(Fault::Pipe(vec![PipeFault {
                fault: PipeFaultKind::Drop,
                delay_ms: 0,
                job: Some(job),
                times: Times::Count(1),
            }]));
        }
    }
}

/// The `updatedAt` a producer's edit writes, when it writes one: later than any run's writes.
const EDITED_AT: &str = "2099-01-01T00:00:00.000000+00:00";

/// One step that happens to `job` (a job written TRIGGERED) while it runs.
fn step(rng: &mut fastrand::Rng, job: String, ended_early: bool) -> Action {
    // Every execution enters SetRunning; one that took its job enters TransferFile (a step that
    // waits for a state never entered is cut off by the schedule's limit and reported unplayed,
    // not as a violation).
    let at = |rng: &mut fastrand::Rng| {
        if !ended_early && rng.u8(..4) == 0 {
            "TransferFile"
        } else {
            "SetRunning"
        }
        .to_string()
    };
    match rng.u8(..8) {
        0 => Action::Deliver { job, times: 2 },
        1 => Action::Stop(ExecutionStep { job, after: at(rng) }),
        2 => Action::TimeOut(ExecutionStep { job, after: at(rng) }),
        // A producer sets it TRIGGERED again while it runs (mid-flight, or as it is taken).
        3 => Action::Trigger(TriggerStep {
            job,
            after: Some(at(rng)),
        }),
        // A producer's edit: a harmless field, or one that breaks the item.
        4 | 5 => {
            let (field, value) = match rng.u8(..4) {
                0 => ("note", Value::String("edited by its producer".into())),
                1 => ("transferStage", Value::from(12)),
                2 => ("file", Value::String("not a file".into())),
                _ => ("createdAt", Value::Bool(true)),
            };
            let mut set = serde_json::Map::new();
            set.insert(field.into(), value);
            // Some producers keep `updatedAt`, some do not.
            if rng.bool() {
                set.insert("updatedAt".into(), Value::String(EDITED_AT.into()));
            }
            Action::Edit(EditStep {
                job,
                set,
                after: rng.bool().then(|| at(rng)),
            })
        }
        // An operator stops it, then sets it TRIGGERED again.
        6 => Action::Stop(ExecutionStep { job, after: at(rng) }),
        _ => Action::Trigger(TriggerStep {
            job,
            after: Some(at(rng)),
        }),
    }
}

/// One fault somewhere: a function's, AWS's, the server's, or in AWS's deliveries.
fn fault(rng: &mut fastrand::Rng, jobs: &[JobSpec]) -> Fault {
    let job = Some(jobs[rng.usize(..jobs.len())].job_id.clone());
    match rng.u8(..7) {
        0 => {
            let function = ["SetRunning", "TransferFile", "FinalizeJob"][rng.usize(..3)];
            let kind = [
                LambdaFaultKind::Crash,
                LambdaFaultKind::Timeout,
                LambdaFaultKind::Duplicate,
                LambdaFaultKind::Throttle,
            ][rng.usize(..4)];
            let at = stages(function);
            let at_stage =
                matches!(kind, LambdaFaultKind::Crash | LambdaFaultKind::Timeout).then(|| at[rng.usize(..at.len())]);
            Fault::Lambda(vec![LambdaFault {
                function: function.into(),
                fault: kind,
                at_stage,
                after_bytes: None,
                // A crash's leases stay held until they expire, a few seconds on.
                timeout_seconds: (kind == LambdaFaultKind::Crash && rng.bool()).then(|| rng.u64(1..=3)),
                job: if rng.bool() { job } else { None },
                times: Times::Count(1),
            }])
        }
        1 => {
            let (action, body, respond, delay_ms) = match rng.u8(..6) {
                0 => ("s3:UploadPart", "partNumber=2".to_string(), error(rng), 0),
                // A timer that cannot be armed (SetRunning retries) or disarmed (it fires later).
                5 => (
                    ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"][rng.usize(..2)],
                    String::new(),
                    error(rng),
                    0,
                ),
                // A take held up: its execution may be stopped, or its job edited, meanwhile.
                1 => (
                    "dynamodb:UpdateItem",
                    format!("\"S\":\"{}\"", TransferStage::Pending.as_str()),
                    AwsAnswer::Slow,
                    rng.u64(100..=600),
                ),
                _ => {
                    let all = [
                        TransferStage::Connecting,
                        TransferStage::Streaming,
                        TransferStage::Verified,
                        TransferStage::SourceDeleted,
                        TransferStage::Done,
                    ];
                    let stage = all[rng.usize(..all.len())];
                    (
                        "dynamodb:UpdateItem",
                        format!("\"S\":\"{}\"", stage.as_str()),
                        error(rng),
                        0,
                    )
                }
            };
            Fault::Aws(vec![AwsFault {
                action: action.into(),
                body_contains: (!body.is_empty()).then_some(body),
                respond,
                delay_ms,
                // Past the SDK's own three attempts: the state machine's Retry takes over.
                times: Times::Count(if respond == AwsAnswer::Slow { 1 } else { 3 }),
            }])
        }
        2 => Fault::Ftps(match rng.u8(..6) {
            0 => FtpsFault::DropAfterBytes(1024),
            1 => FtpsFault::RefuseDelete(true),
            2 => FtpsFault::FailRetrieves(1),
            3 => FtpsFault::RejectConnections(1),
            _ => FtpsFault::ChangeSourceAfterDownload(
                [
                    SourceChange::Append,
                    SourceChange::Replace,
                    SourceChange::Rewrite,
                    SourceChange::Delete,
                ][rng.usize(..4)],
            ),
        }),
        3 => {
            let kind = [EventFaultKind::Drop, EventFaultKind::Duplicate, EventFaultKind::Delay][rng.usize(..3)];
            Fault::Events(vec![EventFault {
                fault: kind,
                delay_ms: if kind == EventFaultKind::Delay {
                    rng.u64(50..=500)
                } else {
                    0
                },
                job: if rng.bool() { job } else { None },
                times: Times::Count(1),
            }])
        }
        5 => Fault::Scheduler(vec![SchedulerFault {
            fault: if rng.bool() {
                SchedulerFaultKind::Late
            } else {
                SchedulerFaultKind::Twice
            },
            delay_ms: rng.u64(1000..=60_000),
            job: None,
            times: Times::Count(1),
        }]),
        _ => Fault::Pipe(vec![PipeFault {
            fault: PipeFaultKind::Late,
            delay_ms: rng.u64(50..=500),
            job,
            times: Times::Count(1),
        }]),
    }
}

fn error(rng: &mut fastrand::Rng) -> AwsAnswer {
    if rng.bool() {
        AwsAnswer::Throttle
    } else {
        AwsAnswer::InternalError
    }
}

/// How a played schedule came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every invariant held.
    Held,
    /// These invariants broke.
    Broken(Vec<String>),
    /// The world could not play it (a step whose moment never came within the limit, a world
    /// that did not boot): not a finding, reported apart.
    Unplayed(String),
}

/// Plays `scenario` in a fresh world (through a file, as `harness run` would), within `limit`.
pub async fn play(runner: &super::Runner, scenario: &Scenario, limit: std::time::Duration) -> Verdict {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return Verdict::Unplayed(format!("a temp dir: {e}")),
    };
    let path = dir.path().join("schedule.yaml");
    if let Err(e) = std::fs::write(&path, scenario.to_yaml()) {
        return Verdict::Unplayed(format!("writing the schedule: {e}"));
    }
    match tokio::time::timeout(limit, runner.run(&path)).await {
        Err(_) => Verdict::Unplayed(format!("not settled within {} s", limit.as_secs())),
        Ok(Err(e)) => Verdict::Unplayed(e.to_string()),
        Ok(Ok(report)) if report.broken_invariants.is_empty() => Verdict::Held,
        Ok(Ok(report)) => Verdict::Broken(report.broken_invariants),
    }
}

/// The smallest version of a breaking `scenario` that still breaks an invariant (greedy: the
/// first smaller one that still breaks one is kept, until none does), and what it breaks.
pub async fn shrink(
    runner: &super::Runner,
    scenario: Scenario,
    broken: Vec<String>,
    limit: std::time::Duration,
) -> (Scenario, Vec<String>) {
    let (mut scenario, mut broken) = (scenario, broken);
    'smaller: loop {
        for candidate in smaller(&scenario) {
            if let Verdict::Broken(still) = play(runner, &candidate, limit).await {
                (scenario, broken) = (candidate, still);
                continue 'smaller;
            }
        }
        return (scenario, broken);
    }
}

/// Smaller versions of `scenario`, each one step, fault or job fewer (a job with its file when
/// no other job reads it, and the steps that name it).
pub fn smaller(scenario: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    for i in 0..scenario.steps.len() {
        // A job written ERROR waits for its trigger: without it, it would only show that.
        if matches!(&scenario.steps[i], Action::Trigger(TriggerStep { after: None, .. })) {
            continue;
        }
        let mut s = scenario.clone();
        s.steps.remove(i);
        out.push(s);
    }
    for i in 0..scenario.faults.0.len() {
        let mut s = scenario.clone();
        s.faults.0.remove(i);
        out.push(s);
    }
    if scenario.jobs.len() > 1 {
        for i in 0..scenario.jobs.len() {
            let mut s = scenario.clone();
            let gone = s.jobs.remove(i);
            let id = gone.job_id.as_str();
            s.steps.retain(|step| step_job(step) != Some(id));
            for fault in &mut s.faults.0 {
                match fault {
                    Fault::Lambda(faults) => faults.retain(|f| f.job.as_deref() != Some(id)),
                    Fault::Events(faults) => faults.retain(|f| f.job.as_deref() != Some(id)),
                    Fault::Pipe(faults) => faults.retain(|f| f.job.as_deref() != Some(id)),
                    _ => {}
                }
            }
            s.faults.0.retain(|f| match f {
                Fault::Lambda(faults) => !faults.is_empty(),
                Fault::Events(faults) => !faults.is_empty(),
                Fault::Pipe(faults) => !faults.is_empty(),
                _ => true,
            });
            if !s.jobs.iter().any(|j| j.file.remote_path == gone.file.remote_path) {
                s.remote.retain(|f| f.path != gone.file.remote_path);
            }
            out.push(s);
        }
    }
    out
}

/// The job a step names.
fn step_job(step: &Action) -> Option<&str> {
    match step {
        Action::Settle | Action::Faults(_) => None,
        Action::Duplicate(id) | Action::Redrive(id) => Some(id),
        Action::Deliver { job, .. } => Some(job),
        Action::Stop(step) | Action::TimeOut(step) => Some(&step.job),
        Action::Trigger(step) => Some(&step.job),
        Action::Edit(step) => Some(&step.job),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_explores_the_same_schedules() {
        for index in 0..50 {
            let (a, b) = (
                generate(7, index, Space::default()),
                generate(7, index, Space::default()),
            );
            assert_eq!(a.scenario.to_yaml(), b.scenario.to_yaml());
        }
        assert_ne!(
            generate(7, 0, Space::default()).scenario.to_yaml(),
            generate(8, 0, Space::default()).scenario.to_yaml()
        );
    }

    #[test]
    fn schedules_around_a_users_scenario_keep_it_and_add_to_it() {
        let text = "description: mine\nremote: [{path: /in/m.data, content: x}]\njobs:\n  - {jobId: mine, project: P, file: {fileName: m.data, remotePath: /in/m.data}}\nsteps: [{settle: true}]\nexpect: {}\n";
        let base = Scenario::parse(text, std::path::Path::new("mine.yaml")).unwrap();
        let mut added = 0;
        for index in 0..40 {
            let schedule = generate_from(&base, 9, index);
            let s = &schedule.scenario;
            assert_eq!(s.jobs.len(), 1);
            assert_eq!(s.remote[0].path, "/in/m.data");
            assert!(matches!(s.steps[0], Action::Settle), "the user's own steps first");
            assert!(s.expect.invariants_only);
            added += s.steps.len() - 1 + s.faults.0.len();
            let yaml = s.to_yaml();
            Scenario::parse(&yaml, std::path::Path::new("x.yaml")).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        }
        assert!(added > 40, "faults and steps are added ({added})");
    }

    #[test]
    fn every_schedule_and_every_smaller_one_is_a_valid_scenario() {
        for index in 0..200 {
            let schedule = generate(3, index, Space { jobs: 4 });
            for scenario in std::iter::once(schedule.scenario.clone()).chain(smaller(&schedule.scenario)) {
                let yaml = scenario.to_yaml();
                let read = Scenario::parse(&yaml, std::path::Path::new("explore.yaml"))
                    .unwrap_or_else(|e| panic!("schedule {index}: {e}\n{yaml}"));
                assert_eq!(read.to_yaml(), yaml, "schedule {index}");
            }
        }
    }
}
