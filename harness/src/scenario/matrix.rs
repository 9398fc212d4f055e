//! The fault matrix: one generated scenario per (stage, fault) — every stage a job passes
//! through × {crash, timeout, throttle, 5xx, drop, duplicate invocation, stop} where the fault can
//! happen there. Each is judged by the invariants alone (every job terminal with a named error,
//! no source deleted without its verified object, no open multipart upload, at most one landing
//! per drive): what the job ends as may differ per cell, what must never happen may not.

use pipeline::job::{FileRef, JobStatus, TransferStage};

use super::schema::{Action, ExecutionStep, Expect, JobSpec, RemoteFile, Scenario};
use crate::emulate::aws_fault::{AwsAnswer, AwsFault};
use crate::emulate::lambda::{LambdaFault, LambdaFaultKind};
use crate::fault::{Fault, FaultSet};
use crate::ftps::FtpsFault;
use crate::times::Times;

/// The stages, with the function that writes each.
const STAGES: [(TransferStage, &str); 6] = [
    (TransferStage::Pending, "SetRunning"),
    (TransferStage::Connecting, "TransferFile"),
    (TransferStage::Streaming, "TransferFile"),
    (TransferStage::Verified, "TransferFile"),
    (TransferStage::SourceDeleted, "TransferFile"),
    (TransferStage::Done, "FinalizeJob"),
];

/// The faults, by the name a cell carries.
pub const FAULTS: [&str; 7] = ["crash", "timeout", "throttle", "5xx", "drop", "duplicate", "stop"];

/// One generated scenario and its name (`streaming-crash`).
pub struct Cell {
    pub name: String,
    pub scenario: Scenario,
}

/// Two 8 MiB parts' worth: streaming faults find a multipart upload open.
const FILE_SIZE: u64 = 9 * 1024 * 1024;

const JOB: &str = "job-matrix";
const REMOTE: &str = "/in/matrix.data";

/// A cell's scenario: one job over one generated file, judged by the invariants alone.
fn scenario(name: &str, description: &str, faults: Vec<Fault>, steps: Vec<Action>) -> Cell {
    let scenario = Scenario {
        remote: vec![RemoteFile {
            path: REMOTE.into(),
            content: None,
            fixture: None,
            size: Some(FILE_SIZE),
            seed: Some(7),
            copies: None,
        }],
        faults: FaultSet(faults),
        jobs: vec![JobSpec {
            job_id: JOB.into(),
            project: "FLPIDS-NATS".into(),
            pipeline: super::schema::DEFAULT_PIPELINE.into(),
            status: JobStatus::Triggered,
            file: FileRef {
                file_name: "matrix.data".into(),
                remote_path: REMOTE.into(),
            },
            s3: None,
            copies: None,
        }],
        steps,
        expect: Expect::invariants_only(),
        ..Scenario::described(format!("fault matrix: {description}"))
    };
    Cell {
        name: name.to_string(),
        scenario,
    }
}

fn lambda(function: &str, fault: LambdaFaultKind, at_stage: Option<TransferStage>) -> Fault {
    Fault::Lambda(vec![LambdaFault {
        function: function.into(),
        fault,
        at_stage,
        after_bytes: None,
        timeout_seconds: None,
        job: None,
        times: Times::Count(1),
    }])
}

fn stop_after(state: &str) -> Action {
    Action::Stop(ExecutionStep {
        job: JOB.into(),
        after: state.into(),
    })
}

/// The faults and steps for one cell, or None where the fault cannot happen at that stage.
fn cell(stage: TransferStage, function: &str, fault: &str) -> Option<(Vec<Fault>, Vec<Action>)> {
    Some(match fault {
        "crash" => (vec![lambda(function, LambdaFaultKind::Crash, Some(stage))], vec![]),
        "timeout" => (vec![lambda(function, LambdaFaultKind::Timeout, Some(stage))], vec![]),
        // Past the SDK's own three attempts: the state's Retry must take over.
        "throttle" | "5xx" => {
            let respond = if fault == "throttle" {
                AwsAnswer::Throttle
            } else {
                AwsAnswer::InternalError
            };
            let write = AwsFault {
                action: "dynamodb:UpdateItem".into(),
                // The one UpdateItem that writes this stage.
                body_contains: Some(format!("\"S\":\"{}\"", stage.as_str())),
                respond,
                delay_ms: 0,
                times: Times::Count(3),
            };
            (vec![Fault::Aws(vec![write])], vec![])
        }
        "drop" => match stage {
            TransferStage::Connecting => (vec![FtpsFault::RejectConnections(1).into()], vec![]),
            TransferStage::Streaming => (vec![FtpsFault::DropAfterBytes(1024 * 1024).into()], vec![]),
            _ => return None,
        },
        "duplicate" => match stage {
            // One cell per function: a duplicate does not depend on the stage.
            TransferStage::Pending | TransferStage::Connecting | TransferStage::Done => {
                (vec![lambda(function, LambdaFaultKind::Duplicate, None)], vec![])
            }
            _ => return None,
        },
        "stop" => {
            let after = match stage {
                TransferStage::Pending => "SetRunning",
                TransferStage::Connecting => "TransferFile",
                TransferStage::Streaming => super::schema::DOWNLOAD,
                TransferStage::Done => "FinalizeJob",
                _ => return None,
            };
            (vec![], vec![stop_after(after)])
        }
        _ => return None,
    })
}

/// Every cell of the matrix, plus the Pipe's own faults: one record twice at once, again after
/// the job completed, and an old record beside a re-drive's.
pub fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for (stage, function) in STAGES {
        for fault in FAULTS {
            if let Some((faults, steps)) = cell(stage, function, fault) {
                let name = format!("{}-{fault}", stage.as_str().to_lowercase().replace('_', "-"));
                let description = format!("{fault} at {} ({function})", stage.as_str());
                cells.push(scenario(&name, &description, faults, steps));
            }
        }
    }
    let deliver = |times| Action::Deliver { job: JOB.into(), times };
    cells.push(scenario(
        "pipe-duplicate-delivery",
        "the Pipe delivers the record twice at once",
        vec![],
        vec![deliver(2)],
    ));
    cells.push(scenario(
        "pipe-late-delivery",
        "the Pipe delivers the record again after the job completed",
        vec![],
        vec![Action::Settle, deliver(1)],
    ));
    cells.push(scenario(
        "pipe-old-record-after-redrive",
        "a drop on every read ends the job ERROR; after a re-drive the old record arrives beside the new one",
        vec![
            FtpsFault::DropAfterBytes(1024).into(),
            FtpsFault::DropTimes(Times::Count(5)).into(),
        ],
        vec![Action::Settle, Action::Redrive(JOB.into()), deliver(1)],
    ));
    cells.extend(across_jobs_and_attempts());
    cells
}

/// The faults that need two actors or many attempts (issue 21): two jobs at one key, an
/// abandoned invocation that reaches its Complete late, a same-size rewrite that keeps the
/// mtime, S3 SlowDown mid-stream, and a Lambda timeout shorter than the file needs, every run.
fn across_jobs_and_attempts() -> Vec<Cell> {
    let aws = |action: &str, body: Option<&str>, respond, delay_ms, times| {
        Fault::Aws(vec![AwsFault {
            action: action.into(),
            body_contains: body.map(str::to_string),
            respond,
            delay_ms,
            times: Times::Count(times),
        }])
    };
    let mut cells = Vec::new();
    // A second job whose file has the same name in another directory, triggered while the first
    // streams (held 2 s past its first part); retry waits at 1/20 so it waits for the key.
    let mut shared = scenario(
        "key-shared-overlapping",
        "two jobs land at one key, the second triggered while the first streams",
        vec![
            FtpsFault::PauseAfterBytes(8 * 1024 * 1024 + 1).into(),
            FtpsFault::PauseMs(2000).into(),
        ],
        vec![Action::Trigger(super::schema::TriggerStep {
            job: "job-matrix-2".into(),
            after: Some(super::schema::DOWNLOAD.into()),
        })],
    );
    shared.scenario.speedup = Some(20);
    shared.scenario.remote.push(RemoteFile {
        path: "/in/other/matrix.data".into(),
        content: None,
        fixture: None,
        size: Some(FILE_SIZE),
        seed: Some(8),
        copies: None,
    });
    let mut second = shared.scenario.jobs[0].clone();
    second.job_id = "job-matrix-2".into();
    second.status = JobStatus::Error;
    second.file.remote_path = "/in/other/matrix.data".into();
    shared.scenario.jobs.push(second);
    cells.push(shared);
    cells.push(scenario(
        "late-complete-abandoned",
        "the execution is stopped mid-stream, its TransferFile runs on to a Complete S3 holds 3 s; then a re-drive",
        vec![aws("s3:CompleteMultipartUpload", None, AwsAnswer::Slow, 3000, 1)],
        vec![
            stop_after(super::schema::DOWNLOAD),
            Action::Settle,
            Action::Redrive(JOB.into()),
        ],
    ));
    cells.push(scenario(
        "source-rewrite-same-size-same-mtime",
        "the producer rewrites the source after the read, same size, mtime kept",
        vec![FtpsFault::ChangeSourceAfterDownload(crate::ftps::SourceChange::Rewrite).into()],
        vec![],
    ));
    cells.push(scenario(
        "s3-slowdown-mid-stream",
        "S3 answers SlowDown to the second part past the SDK's retries",
        vec![aws("s3:UploadPart", Some("partNumber=2"), AwsAnswer::Throttle, 0, 3)],
        vec![],
    ));
    let slow = scenario(
        "lambda-timeout-every-run",
        "every TransferFile run has 4 s and the server sends 3 MiB/s: the file needs two runs or more",
        vec![
            FtpsFault::BytesPerSecond(3 * 1024 * 1024).into(),
            Fault::Lambda(vec![LambdaFault {
                function: "TransferFile".into(),
                fault: LambdaFaultKind::Timeout,
                at_stage: None,
                after_bytes: None,
                timeout_seconds: Some(4),
                job: None,
                times: Times::ALWAYS,
            }]),
        ],
        vec![],
    );
    cells.push(slow);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_a_valid_scenario() {
        let cells = cells();
        assert!(cells.len() >= 30, "{}", cells.len());
        for cell in &cells {
            // What `harness scenario matrix` writes reads back as the same scenario.
            let yaml = cell.scenario.to_yaml();
            let read = Scenario::parse(&yaml, std::path::Path::new(&cell.name))
                .unwrap_or_else(|e| panic!("{}: {e}\n{yaml}", cell.name));
            assert_eq!(read.to_yaml(), yaml, "{}", cell.name);
        }
    }
}
