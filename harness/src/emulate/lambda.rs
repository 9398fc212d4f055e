//! Lambda as the world runs the pipeline's functions: each invocation gets its function's
//! deadline (the template's `Timeout`) and is killed at it, as Lambda kills it; invocations an
//! ended execution abandoned are counted so settling waits for them; and Lambda's own faults are
//! injected here: throttling, at-least-once (the same request run twice), and a function killed
//! — by a crash or its timeout — once its job's write of a chosen stage has committed (its
//! process state is gone, what it wrote stays).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline::job::TransferStage;
use pipeline::{Handlers, PipelineError, Step};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sfn::StatesError;

use super::aws_fault::AwsFaults;
use crate::times::Times;

/// One Lambda fault, as scenario files write it under `faults: {lambda: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct LambdaFault {
    /// `SetRunning`, `TransferFile` or `FinalizeJob`.
    pub function: String,
    pub fault: LambdaFaultKind,
    /// `crash`/`timeout`: once the job's write of this `transferStage` has committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_stage: Option<TransferStage>,
    /// `crash`/`timeout`: once the FTPS server has sent this many bytes during the invocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_bytes: Option<u64>,
    /// The function's timeout for these invocations (a `timeout` without `at_stage` or
    /// `after_bytes` is killed at it; a `crash` also holds its connection lease until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Only invocations for this job (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// How many invocations it hits (default 1, or `always`).
    #[serde(default = "once")]
    pub times: Times,
}

fn once() -> Times {
    Times::Count(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaFaultKind {
    /// Lambda refuses the invocation: `Lambda.TooManyRequestsException`.
    Throttle,
    /// The request runs twice (Lambda is at-least-once); the state gets the second answer.
    Duplicate,
    /// The process dies (`Runtime.ExitError`, seen by the state as `Lambda.Unknown`).
    Crash,
    /// The function times out (`Sandbox.Timedout`, seen as `Lambda.Unknown`).
    Timeout,
}

/// The world's Lambda service for the pipeline's functions.
pub struct Lambdas {
    handlers: Arc<Handlers>,
    /// The FTPS server's bytes sent, for kills after N bytes.
    bytes_sent: tokio::sync::watch::Receiver<u64>,
    timeouts: BTreeMap<String, u64>,
    aws: Arc<AwsFaults>,
    faults: Mutex<Vec<LambdaFault>>,
    in_flight: tokio::sync::watch::Sender<usize>,
}

/// When a `crash` or `timeout` fault kills an invocation.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// At once, before the function does anything.
    Start,
    /// Once the job's write of this stage has committed.
    Stage(TransferStage),
    /// Once the FTPS server has sent this many bytes since the invocation began.
    Bytes(u64),
}

/// How an invocation was cut short.
enum Kill {
    Crash(String),
    Timeout(String),
}

impl Kill {
    fn error(self) -> StatesError {
        let (kind, message) = match self {
            Kill::Crash(why) => (
                "Runtime.ExitError",
                format!("RequestId: local Error: Runtime exited ({why})"),
            ),
            Kill::Timeout(why) => ("Sandbox.Timedout", format!("Task timed out ({why})")),
        };
        StatesError::new(
            "Lambda.Unknown",
            json!({"errorType": kind, "errorMessage": message}).to_string(),
        )
    }
}

impl Lambdas {
    pub fn new(
        handlers: Arc<Handlers>,
        timeouts: BTreeMap<String, u64>,
        aws: Arc<AwsFaults>,
        bytes_sent: tokio::sync::watch::Receiver<u64>,
    ) -> Self {
        Self {
            handlers,
            bytes_sent,
            timeouts,
            aws,
            faults: Mutex::new(Vec::new()),
            in_flight: tokio::sync::watch::channel(0).0,
        }
    }

    /// Adds `faults` to the armed ones.
    pub fn arm(&self, faults: &[LambdaFault]) {
        self.faults
            .lock()
            .expect("lambda faults")
            .extend(faults.iter().cloned());
    }

    /// Waits until no invocation is in flight.
    pub async fn idle(&self) {
        let _ = self.in_flight.subscribe().wait_for(|n| *n == 0).await;
    }

    fn take_fault(&self, step: Step, job_id: Option<&str>) -> Option<LambdaFault> {
        let mut faults = self.faults.lock().expect("lambda faults");
        let fault = faults.iter_mut().find(|f| {
            f.function == step.name()
                && f.times != Times::Count(0)
                && f.job.as_deref().is_none_or(|job| Some(job) == job_id)
        })?;
        fault.times.take();
        Some(fault.clone())
    }

    /// One invocation, as Step Functions' Task makes it. Counted from the call (not the first
    /// poll), so a settle that starts later still waits for it.
    pub fn invoke(
        self: &Arc<Self>,
        step: Step,
        payload: Value,
    ) -> impl Future<Output = Result<Value, StatesError>> + Send + use<> {
        let lambdas = self.clone();
        self.in_flight.send_modify(|n| *n += 1);
        async move {
            let result = lambdas.run(step, payload).await;
            lambdas.in_flight.send_modify(|n| *n -= 1);
            result
        }
    }

    async fn run(&self, step: Step, payload: Value) -> Result<Value, StatesError> {
        let fault = self.take_fault(step, payload["job"]["jobId"].as_str());
        let mut timeout = Duration::from_secs(self.timeouts.get(step.name()).copied().unwrap_or(3));
        let mut kill_at_stage = None;
        match fault.as_ref().map(|f| (f.fault, f)) {
            Some((LambdaFaultKind::Throttle, _)) => {
                return Err(StatesError::new(
                    "Lambda.TooManyRequestsException",
                    json!({"errorType": "TooManyRequestsException", "errorMessage": "Rate Exceeded."}).to_string(),
                ));
            }
            Some((LambdaFaultKind::Duplicate, _)) => {
                // The first run's answer is lost, as when Lambda runs a request twice.
                let first = self.once(step, payload.clone(), timeout, None).await;
                tracing::info!(function = step.name(), ?first, "the first of two runs of one request");
            }
            Some((kind, fault)) => {
                if let Some(seconds) = fault.timeout_seconds {
                    timeout = Duration::from_secs(seconds);
                }
                kill_at_stage = match (fault.at_stage, fault.after_bytes, fault.timeout_seconds) {
                    (Some(stage), _, _) => Some((kind, KillAt::Stage(stage))),
                    (None, Some(bytes), _) => Some((kind, KillAt::Bytes(bytes))),
                    (None, None, Some(_)) => None,
                    (None, None, None) => Some((kind, KillAt::Start)),
                };
            }
            None => {}
        }
        self.once(step, payload, timeout, kill_at_stage).await
    }

    /// Runs the handler within `timeout` (killed at it), or until `kill` says.
    async fn once(
        &self,
        step: Step,
        payload: Value,
        timeout: Duration,
        kill: Option<(LambdaFaultKind, KillAt)>,
    ) -> Result<Value, StatesError> {
        let job_id = payload["job"]["jobId"].as_str().map(str::to_string);
        // Only a kill at a stage listens (the edge then reads UpdateItem bodies).
        let mut commits = matches!(kill, Some((_, KillAt::Stage(_)))).then(|| self.aws.stage_commits());
        let mut sent = self.bytes_sent.clone();
        let sent_before = *sent.borrow_and_update();
        let deadline = Instant::now() + timeout;
        let handler = self.handlers.handle_until(step, payload, Some(deadline));
        let killed = async {
            let Some((kind, at)) = kill else {
                return std::future::pending::<Kill>().await;
            };
            let why = match at {
                KillAt::Start => "injected at the start".to_string(),
                KillAt::Stage(stage) => {
                    let commits = commits.as_mut().expect("subscribed for a stage");
                    loop {
                        match commits.recv().await {
                            Ok((job, written)) if Some(&job) == job_id.as_ref() && written == stage.as_str() => break,
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                    format!("injected once transferStage {} was written", stage.as_str())
                }
                KillAt::Bytes(bytes) => {
                    if sent.wait_for(|total| *total >= sent_before + bytes).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    format!("injected after {bytes} bytes were sent")
                }
            };
            match kind {
                LambdaFaultKind::Timeout => Kill::Timeout(why),
                _ => Kill::Crash(why),
            }
        };
        tokio::select! {
            result = tokio::time::timeout(timeout, handler) => match result {
                Ok(result) => result.map_err(|e| lambda_error(&e)),
                Err(_) => Err(Kill::Timeout(format!("after {:.2} seconds", timeout.as_secs_f64())).error()),
            },
            kill = killed => Err(kill.error()),
        }
    }
}

/// A handler's error as Step Functions sees a Lambda function error: the name is the
/// `errorType`, the cause is the Lambda error JSON.
pub fn lambda_error(err: &PipelineError) -> StatesError {
    StatesError::new(
        err.name(),
        json!({"errorType": err.name(), "errorMessage": err.to_string()}).to_string(),
    )
}
