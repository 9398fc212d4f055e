//! `harness scenario from-execution`: a recorded execution of the FileChecks state machine (its
//! history, DescribeExecution's status, and the job item where the table was reachable) → a
//! scenario that replays it. The end is from-item's reproduction of the item the execution left
//! (or, where it succeeded, the file landed); what the history adds is every attempt before it:
//! each retried TransferFile failure as the fault that causes it (a drop, a refused connection,
//! Lambda throttling it, its process dying or timing out), SetRunning's and FinalizeJob's
//! failures as Lambda's, and the attempt count as an expectation. What no fault produces is
//! answered as recorded (TransferFile mocked with its recorded answers), and said.

use std::collections::BTreeMap;

use pipeline::job::{FileRef, JobStatus, TransferStage};
use serde_json::{Value, json};
use sfn::EventKind;
use sfn::mock::MockedResponse;
use sfn::replay::{Answer, Recording, ReplayError};
use sha2::{Digest, Sha256};

use super::content::generated;
use super::from_item::{self, FromItemError, Reproduction, plain};
use super::schema::{
    DEFAULT_PIPELINE, ErrorExpectation, Expect, JobExpectation, JobSpec, Mocks, ObjectExpectation, RemoteFile, Scenario,
};
use crate::emulate::lambda::{LambdaFault, LambdaFaultKind};
use crate::fault::Fault;
use crate::ftps::FtpsFault;
use crate::times::Times;
use crate::world::STATE_MACHINE_NAME;

#[derive(Debug, thiserror::Error)]
pub enum FromExecutionError {
    #[error("execution {0} is still {1}: nothing to replay until it ends")]
    NotEnded(String, String),
    /// Not an execution of the FileChecks machine as the Pipe starts it.
    #[error("the execution's input is not the Pipe's DynamoDB stream record of a job ({0})")]
    NotAJobExecution(String),
    #[error("the history: {0}")]
    History(#[from] ReplayError),
    #[error(transparent)]
    Item(#[from] FromItemError),
}

/// What was recorded of one execution.
#[derive(Debug, Clone)]
pub struct RecordedExecution {
    pub execution_arn: String,
    /// DescribeExecution's status (`SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `RUNNING`).
    pub status: String,
    pub recording: Recording,
    /// The job item as the table holds it now (plain or DynamoDB JSON), where it was reachable.
    pub item: Option<Value>,
}

/// The Lambda function behind a Task state of the FileChecks machine.
fn function_of(state: &str) -> Option<&'static str> {
    match state {
        "SetRunning" => Some("SetRunning"),
        "TransferFile" => Some("TransferFile"),
        "FinalizeJob" | "FinalizeJobOnCatch" => Some("FinalizeJob"),
        _ => None,
    }
}

/// How a failed attempt came about, where a fault produces it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Produced {
    Drop,
    Rejected,
    Lambda(LambdaFaultKind),
}

/// The fault behind a failed attempt (`error`, `cause` as recorded), if one produces it.
fn produced_by(error: &str, cause: &str) -> Option<Produced> {
    let error_type = serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|c| c.get("errorType").and_then(Value::as_str).map(str::to_string));
    match (error, error_type.as_deref()) {
        ("TransientNetwork", _) => Some(Produced::Drop),
        ("TooManyConnections", _) => Some(Produced::Rejected),
        ("Lambda.TooManyRequestsException", _) => Some(Produced::Lambda(LambdaFaultKind::Throttle)),
        ("Lambda.Unknown", Some("Runtime.ExitError")) => Some(Produced::Lambda(LambdaFaultKind::Crash)),
        ("Lambda.Unknown", Some("Sandbox.Timedout")) | ("States.Timeout", _) => {
            Some(Produced::Lambda(LambdaFaultKind::Timeout))
        }
        _ => None,
    }
}

/// A recorded cause's message: a Lambda error's `errorMessage`, else the cause as it is.
fn message_of(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|c| c.get("errorMessage").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| cause.to_string())
}

fn failure(answer: &Answer) -> Option<(&str, &str)> {
    match &answer.response {
        MockedResponse::Throw(thrown) => Some((&thrown.error, &thrown.cause)),
        MockedResponse::Return(_) => None,
    }
}

/// The scenario replaying a recorded execution, and what of it it does not reproduce.
pub fn reproduce(execution: &RecordedExecution) -> Result<Reproduction, FromExecutionError> {
    let recording = &execution.recording;
    if execution.status == "RUNNING" {
        return Err(FromExecutionError::NotEnded(
            execution.execution_arn.clone(),
            execution.status.clone(),
        ));
    }
    let input = recording.input()?;
    let record = input.get(0).unwrap_or(&input);
    let image = record
        .pointer("/dynamodb/NewImage")
        .map(plain)
        .ok_or_else(|| FromExecutionError::NotAJobExecution("no dynamodb.NewImage".into()))?;
    let text = |value: &Value, path: &str| value.pointer(path).and_then(Value::as_str).map(str::to_string);
    let job_id = text(&image, "/jobId").ok_or_else(|| FromExecutionError::NotAJobExecution("no jobId".into()))?;
    let item = execution.item.as_ref().map(|i| plain(i.get("Item").unwrap_or(i)));
    let ended = recording.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::ExecutionSucceeded { .. } => Some(None),
        kind if kind.execution_ended() == Some(false) => Some(
            kind.error()
                .map(|(error, cause)| (error.to_string(), cause.to_string())),
        ),
        _ => None,
    });
    let Some(ended) = ended else {
        return Err(FromExecutionError::NotEnded(
            execution.execution_arn.clone(),
            format!("{} (its history has no end)", execution.status),
        ));
    };

    let answers = recording.answers();
    let transfers: Vec<&Answer> = answers.iter().filter(|a| a.state == "TransferFile").collect();
    let mut notes = Vec::new();

    // The end: from-item's reproduction of the item the execution left, or the landing.
    let mut reproduction = match &ended {
        Some((error, cause)) => {
            let recorded_error = item
                .as_ref()
                .filter(|i| text(i, "/status").as_deref() == Some(JobStatus::Error.as_str()));
            let end_item = match recorded_error {
                Some(item) => item.clone(),
                None => {
                    if let Some(item) = &item {
                        notes.push(format!(
                            "the job item as it is now ({}): the end item is the history's",
                            text(item, "/status").unwrap_or_default()
                        ));
                    }
                    let mut end = image.clone();
                    end["status"] = json!(JobStatus::Error.as_str());
                    end["error"] = json!({"name": error, "message": message_of(cause)});
                    end
                }
            };
            from_item::reproduce(&end_item)?
        }
        None => succeeded(&job_id, &image, item.as_ref()),
    };
    reproduction.scenario.description = format!(
        "Replays execution {} (job {job_id}): {} TransferFile attempt(s), ended {}",
        execution.execution_arn.rsplit(':').next().unwrap_or_default(),
        transfers.len(),
        match &ended {
            Some((error, _)) => format!("{} {error}", execution.status),
            None => execution.status.clone(),
        }
    );

    // The attempts before the end: each failure TransferFile retried, as its fault.
    let retried = match (&ended, transfers.split_last()) {
        (Some(_), Some((last, before))) if failure(last).is_some() => before.to_vec(),
        _ => transfers.clone(),
    };
    let mut counts: BTreeMap<Produced, u32> = BTreeMap::new();
    let mut unproduced = Vec::new();
    let mut drop_offset = None;
    // The end's own fault lasts (a size that never matches, a file that is not there): the
    // attempts that failed as the last one did are its too.
    let lasting = match &ended {
        Some((error, _)) if reproduction.scenario.mocks.is_none() => Some(error.as_str()),
        _ => None,
    };
    for attempt in &retried {
        let Some((error, cause)) = failure(attempt) else {
            continue;
        };
        match produced_by(error, cause) {
            Some(produced) => {
                *counts.entry(produced).or_default() += 1;
                if produced == Produced::Drop {
                    drop_offset = drop_offset.or(from_item::bytes_read(&message_of(cause)));
                }
            }
            None if Some(error) == lasting => {}
            None => unproduced.push(error.to_string()),
        }
    }
    let mut lambda = other_functions(&answers, &mut notes);
    let scenario = &mut reproduction.scenario;
    if unproduced.is_empty() {
        // Where the end's fault already drops or refuses every time, it makes these attempts too.
        let armed = |wanted: fn(&FtpsFault) -> bool| scenario.faults.ftps().any(wanted);
        let dropping = armed(|f| matches!(f, FtpsFault::DropAfterBytes(_)));
        let rejecting = armed(|f| matches!(f, FtpsFault::RejectConnections(_)));
        for (produced, times) in counts {
            match produced {
                Produced::Drop if !dropping => {
                    scenario
                        .faults
                        .0
                        .push(FtpsFault::DropAfterBytes(drop_offset.unwrap_or(1)).into());
                    scenario.faults.0.push(FtpsFault::DropTimes(Times::Count(times)).into());
                }
                Produced::Rejected if !rejecting => {
                    scenario.faults.0.push(FtpsFault::RejectConnections(times).into());
                }
                Produced::Lambda(fault) => lambda.push(lambda_fault("TransferFile", fault, times)),
                _ => {}
            }
        }
    } else {
        // TransferFile answers as recorded; the other functions run for real.
        let mocked: Vec<Answer> = transfers.iter().map(|a| (*a).clone()).collect();
        scenario.mocks = Some(Mocks {
            test_case: "Replay".into(),
            config: sfn::replay::mock_config(mocked, STATE_MACHINE_NAME, "Replay"),
        });
        scenario.faults = Default::default();
        scenario.secret = Default::default();
        scenario.expect.objects.clear();
        for job in scenario.expect.jobs.values_mut() {
            job.transfer_stage = None;
        }
        scenario.expect.remote = scenario.remote.iter().map(|r| r.path.clone()).collect();
        notes.push(format!(
            "how TransferFile failed ({}): no fault produces it here, so TransferFile answers its {} recorded \
             attempts as recorded (mocked), and nothing lands",
            unproduced.join(", "),
            transfers.len()
        ));
    }
    if !lambda.is_empty() {
        scenario.faults.0.push(Fault::Lambda(lambda));
    }
    scenario.expect.transfer_attempts = Some(transfers.len());

    let waits: Vec<String> = recording
        .retry_waits()
        .iter()
        .map(|seconds| format!("{seconds:.1} s"))
        .collect();
    if !waits.is_empty() {
        notes.push(format!(
            "the retries' timing (recorded waits {}): the scenario runs on a virtual clock, and a JitterStrategy FULL \
             retrier draws its own",
            waits.join(", ")
        ));
    }
    reproduction.not_reproduced.extend(notes);
    Ok(reproduction)
}

fn lambda_fault(function: &str, fault: LambdaFaultKind, times: u32) -> LambdaFault {
    LambdaFault {
        function: function.to_string(),
        fault,
        at_stage: None,
        after_bytes: None,
        timeout_seconds: None,
        job: None,
        times: Times::Count(times),
    }
}

/// SetRunning's and FinalizeJob's failed attempts, as Lambda's faults; what no fault produces
/// is said.
fn other_functions(answers: &[Answer], notes: &mut Vec<String>) -> Vec<LambdaFault> {
    let mut counts: BTreeMap<(&str, LambdaFaultKind), u32> = BTreeMap::new();
    for answer in answers.iter().filter(|a| a.state != "TransferFile") {
        let Some(function) = function_of(&answer.state) else {
            continue;
        };
        let Some((error, cause)) = failure(answer) else {
            continue;
        };
        match produced_by(error, cause) {
            Some(Produced::Lambda(kind)) => *counts.entry((function, kind)).or_default() += 1,
            _ => notes.push(format!(
                "{}'s {error} (event {}): no fault produces it here; the function runs for real",
                answer.state, answer.event
            )),
        }
    }
    counts
        .into_iter()
        .map(|((function, kind), times)| lambda_fault(function, kind, times))
        .collect()
}

/// A succeeded execution's scenario: the job lands the file (of the size the item recorded).
fn succeeded(job_id: &str, image: &Value, item: Option<&Value>) -> Reproduction {
    let text = |path: &str| {
        item.and_then(|i| i.pointer(path))
            .or(image.pointer(path))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let project = text("/project").unwrap_or_default();
    let file = FileRef {
        file_name: text("/file/fileName").unwrap_or_default(),
        remote_path: text("/file/remotePath").unwrap_or_default(),
    };
    let size = item.and_then(|i| i.pointer("/transfer/bytes")).and_then(Value::as_u64);
    let mut not_reproduced =
        vec!["the file's content: the server holds a stand-in (generated bytes of the recorded size)".to_string()];
    if size.is_none() {
        not_reproduced.push("the file's size: no job item to read it from; the stand-in is 64 KiB".into());
    }
    let len = size.unwrap_or(64 * 1024);
    let content = generated(len as usize, 1);
    let key = text("/s3/key").unwrap_or_else(|| format!("{project}/{}", file.file_name));
    let scenario = Scenario {
        remote: vec![RemoteFile {
            path: file.remote_path.clone(),
            content: None,
            fixture: None,
            size: Some(len),
            seed: Some(1),
            copies: None,
        }],
        jobs: vec![JobSpec {
            job_id: job_id.to_string(),
            project: project.clone(),
            pipeline: text("/pipeline").unwrap_or_else(|| DEFAULT_PIPELINE.into()),
            status: JobStatus::Triggered,
            file,
            s3: None,
            copies: None,
        }],
        expect: Expect {
            jobs: BTreeMap::from([(
                job_id.to_string(),
                JobExpectation {
                    status: JobStatus::Completed,
                    transfer_stage: Some(TransferStage::Done),
                    error: Some(ErrorExpectation::None),
                },
            )]),
            objects: vec![ObjectExpectation {
                key,
                size: len,
                sha256: hex::encode(Sha256::digest(&content)),
            }],
            ..Default::default()
        },
        ..Scenario::described(String::new())
    };
    Reproduction {
        scenario,
        not_reproduced,
    }
}
