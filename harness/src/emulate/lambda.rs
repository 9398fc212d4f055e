//! Lambda as the world runs the pipeline's functions: each invocation gets its function's
//! deadline (the template's `Timeout`) and is killed at it, as Lambda kills it; invocations an
//! ended execution abandoned are counted so settling waits for them; and Lambda's own faults are
//! injected here: throttling, at-least-once (the same request run twice), and a function killed
//! — by a crash or its timeout — once its job's write of a chosen stage has committed (its
//! process state is gone, what it wrote stays).
//!
//! Concurrency is Lambda's: a function with `ReservedConcurrentExecutions` runs at most that
//! many invocations at once, the others share what the account has left unreserved
//! (`ACCOUNT_CONCURRENCY` less every reservation). A synchronous invocation (a Step Functions
//! Task) beyond it is refused with `TooManyRequestsException`, which the state sees as
//! `Lambda.TooManyRequestsException`; an asynchronous one (EventBridge's HealJob) waits in
//! Lambda's event queue until a slot frees, as Lambda retries throttled events itself. The
//! `throttle` fault refuses an invocation on top of that.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

/// Lambda's default concurrency quota for an account in a region.
pub const ACCOUNT_CONCURRENCY: u32 = 1000;

/// What Lambda keeps unreserved whatever the reservations (it refuses a reservation below it).
pub const MIN_UNRESERVED: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum ConcurrencyError {
    #[error(
        "the functions reserve {reserved} concurrent executions, which leaves the account's {account} fewer \
         than the {MIN_UNRESERVED} Lambda keeps unreserved (Lambda refuses such a reservation)"
    )]
    OverReserved { reserved: u64, account: u32 },
}

/// Concurrent executions: one pool per function with a reservation, one shared by the rest.
struct Pools {
    reserved: BTreeMap<String, Arc<tokio::sync::Semaphore>>,
    unreserved: Arc<tokio::sync::Semaphore>,
}

impl Pools {
    fn new(reserved: &BTreeMap<String, u32>, account: u32) -> Result<Self, ConcurrencyError> {
        let total: u64 = reserved.values().map(|&n| u64::from(n)).sum();
        if total + u64::from(MIN_UNRESERVED) > u64::from(account) {
            return Err(ConcurrencyError::OverReserved {
                reserved: total,
                account,
            });
        }
        Ok(Self {
            reserved: reserved
                .iter()
                .map(|(name, n)| (name.clone(), Arc::new(tokio::sync::Semaphore::new(*n as usize))))
                .collect(),
            unreserved: Arc::new(tokio::sync::Semaphore::new((u64::from(account) - total) as usize)),
        })
    }

    fn of(&self, function: &str) -> &Arc<tokio::sync::Semaphore> {
        self.reserved.get(function).unwrap_or(&self.unreserved)
    }
}

/// The error Step Functions records when Lambda refuses an invocation for want of concurrency
/// (the SDK's exception message, as the `cause` of a `LambdaFunctionFailed` event).
pub fn throttled() -> StatesError {
    StatesError::new(
        "Lambda.TooManyRequestsException",
        format!(
            "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: {}; Proxy: null)",
            uuid::Uuid::new_v4()
        ),
    )
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
    pools: Pools,
    /// Invocations refused for want of concurrency (Lambda's `Throttles` metric), injected ones
    /// included.
    throttles: AtomicU64,
    /// Executions an invocation of which was killed (a crash, a time-out): what it held, a
    /// connection lease say, stays held until it expires.
    killed: Mutex<std::collections::BTreeSet<String>>,
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
    /// `reserved`: each function's reserved concurrency (the template's), by function name.
    pub fn new(
        handlers: Arc<Handlers>,
        timeouts: BTreeMap<String, u64>,
        reserved: &BTreeMap<String, u32>,
        aws: Arc<AwsFaults>,
        bytes_sent: tokio::sync::watch::Receiver<u64>,
    ) -> Result<Self, ConcurrencyError> {
        Ok(Self {
            handlers,
            bytes_sent,
            timeouts,
            aws,
            faults: Mutex::new(Vec::new()),
            in_flight: tokio::sync::watch::channel(0).0,
            pools: Pools::new(reserved, ACCOUNT_CONCURRENCY)?,
            throttles: AtomicU64::new(0),
            killed: Mutex::default(),
        })
    }

    /// Executions an invocation of which was killed so far.
    pub fn killed(&self) -> std::collections::BTreeSet<String> {
        self.killed.lock().expect("killed invocations").clone()
    }

    /// Invocations refused so far for want of concurrency.
    pub fn throttles(&self) -> u64 {
        self.throttles.load(Ordering::Relaxed)
    }

    /// An asynchronous invocation of `function` (EventBridge's): it waits in Lambda's event
    /// queue while the function has no free slot, then runs `work` holding one.
    pub async fn invoke_async<T>(&self, function: &str, work: impl Future<Output = T>) -> T {
        let pool = self.pools.of(function).clone();
        let permit = match pool.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.throttles.fetch_add(1, Ordering::Relaxed);
                pool.acquire_owned().await.expect("the pool is never closed")
            }
        };
        self.in_flight.send_modify(|n| *n += 1);
        let out = work.await;
        self.in_flight.send_modify(|n| *n -= 1);
        drop(permit);
        out
    }

    /// An event delivered to `function` (EventBridge's rule, Scheduler's timer): asynchronous
    /// invocations of `work()`, which Lambda retries twice after a failure, as its default
    /// asynchronous invocation config (and the template's `EventInvokeConfig`) says. The last
    /// answer, each failure logged.
    pub async fn invoke_event<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
        &self,
        function: &str,
        work: impl Fn() -> F,
    ) -> Result<T, E> {
        let mut attempt = 1;
        loop {
            match self.invoke_async(function, work()).await {
                Err(e) if attempt < 3 => {
                    tracing::warn!(function, attempt, error = %e, "asynchronous invocation failed; Lambda retries it");
                    attempt += 1;
                }
                other => return other,
            }
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
        // Lambda counts the invocation against the function's concurrency as it is made.
        let permit = self.pools.of(step.name()).clone().try_acquire_owned();
        if permit.is_err() {
            self.throttles.fetch_add(1, Ordering::Relaxed);
        }
        self.in_flight.send_modify(|n| *n += 1);
        async move {
            let result = match permit {
                Ok(_permit) => lambdas.run(step, payload).await,
                Err(_) => Err(throttled()),
            };
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
                self.throttles.fetch_add(1, Ordering::Relaxed);
                return Err(throttled());
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
        let payload_execution = payload["executionArn"].as_str().map(str::to_string);
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
        let execution = payload_execution.clone();
        let was_killed = || {
            if let Some(execution) = execution {
                self.killed.lock().expect("killed invocations").insert(execution);
            }
        };
        tokio::select! {
            result = tokio::time::timeout(timeout, handler) => match result {
                Ok(result) => result.map_err(|e| lambda_error(&e)),
                Err(_) => {
                    was_killed();
                    Err(Kill::Timeout(format!("after {:.2} seconds", timeout.as_secs_f64())).error())
                }
            },
            kill = killed => {
                was_killed();
                Err(kill.error())
            }
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
