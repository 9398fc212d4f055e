//! The interpreter: runs a parsed `StateMachine` with Task resources bound to Rust functions,
//! recording AWS-shaped history events. Waits and retry delays run on a virtual clock by
//! default (the clock jumps, nothing sleeps); `TimeMode::Accelerated` also sleeps a fraction of
//! each wait; `TimeMode::Real` sleeps for real.

mod distributed;
mod map;
mod retry;
mod run;
mod task;
mod test_state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) use retry::matches as error_matches;

use crate::arn;
use crate::error::StatesError;
use crate::history::{
    DataDetails, EvaluationFailedEventDetails, Event, EventKind, ExecutionStartedEventDetails,
    ExecutionSucceededEventDetails, FailureDetails, History, LambdaFunctionScheduledEventDetails,
    LambdaFunctionSucceededEventDetails, MapIterationEventDetails, MapStateStartedEventDetails,
    StateEnteredEventDetails, StateExitedEventDetails, TaskCredentials, TaskFailureDetails, TaskResource,
    TaskScheduledEventDetails, TaskSucceededEventDetails,
};
use crate::mock::TestCase;
use crate::model::{
    self, Catcher, Concurrency, InputType, ItemBatcher, ItemReader, Kind, Limit, QueryLanguage, ResultWriter, Retrier,
    State, StateMachine, Template, Tolerance, Transformation, WaitFor,
};
use crate::query::{QUERY_EVALUATION_ERROR, States};
use crate::tokens::{TaskTokens, Waiter};
use crate::variables::{Assignment, Env, Variables};

use distributed::batch;
use map::{Tolerated, tolerance_number};
use retry::{matches, retry_delay};
use run::{jsonata_output, query_integer};
use task::{TaskSetup, WAIT_FOR_TASK_TOKEN, limit_seconds};
use test_state::Inspector;
pub use test_state::{ErrorDetails, Inspection, StateTest, StateTestOptions};

/// Step Functions' limit on a state's data: 256 KiB as UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// A bound Task: takes the Task's input (Parameters applied), returns its result or an error.
pub type TaskFn = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, StatesError>> + Send + Sync>;

/// Function name → Rust function. Lambda ARNs and `lambda:invoke`'s FunctionName resolve by name.
#[derive(Clone, Default)]
pub struct Bindings {
    functions: HashMap<String, TaskFn>,
    integrations: HashMap<String, TaskFn>,
}

impl Bindings {
    pub fn bind(&mut self, function_name: impl Into<String>, f: TaskFn) -> &mut Self {
        self.functions.insert(function_name.into(), f);
        self
    }

    /// Binds a service integration by its resource after `arn:aws:states:::`, e.g.
    /// `dynamodb:getItem` (optimized) or `aws-sdk:dynamodb:getItem`. The function gets the Task's
    /// Parameters and returns the API's answer.
    pub fn bind_integration(&mut self, integration: impl Into<String>, f: TaskFn) -> &mut Self {
        self.integrations.insert(integration.into(), f);
        self
    }

    /// Every binding of `other` is added (replacing any of the same name).
    pub fn extend(&mut self, other: Bindings) -> &mut Self {
        self.functions.extend(other.functions);
        self.integrations.extend(other.integrations);
        self
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.functions.keys()
    }

    /// The function bound to `name`, or to its last `-`-separated part: a deployed name such as
    /// `FSA-steam-dev-FpacFLPIDS-SetRunning` resolves to the binding `SetRunning`.
    pub fn resolve(&self, name: &str) -> Option<&TaskFn> {
        self.functions
            .get(name)
            .or_else(|| name.rsplit_once('-').and_then(|(_, last)| self.functions.get(last)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    /// The clock jumps over waits and retry delays; nothing sleeps.
    #[default]
    Virtual,
    /// The clock jumps as in `Virtual`, and each wait also takes 1/N of its length in real time:
    /// executions that wait on each other through the world (retrying until another frees a
    /// resource) keep their order and pace, N times faster than on AWS.
    Accelerated(u32),
    Real,
}

impl TimeMode {
    /// The real time a wait of `wait` takes on this clock: none in `Virtual`, 1/N of it in
    /// `Accelerated(N)`, all of it in `Real`.
    pub fn real_wait(self, wait: Duration) -> Duration {
        match self {
            TimeMode::Virtual => Duration::ZERO,
            TimeMode::Accelerated(factor) => wait / factor.max(1),
            TimeMode::Real => wait,
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    /// The status as the API names it: `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The outcome of one execution, shaped like DescribeExecution + GetExecutionHistory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Execution {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<Event>,
    /// `{"state", "inspectionData"}` per state entered, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspections: Option<Vec<Value>>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub execution_name: String,
    pub state_machine_name: String,
    pub mocks: Option<TestCase>,
    pub time: TimeMode,
    /// Record every state's `Inspection` (`Execution::inspections`).
    pub inspect: bool,
    /// Where callback tasks (`.waitForTaskToken`) wait for SendTask* (a service's, or the run's own).
    pub tokens: Arc<TaskTokens>,
    /// Called once the execution ended, before its outcome is visible through the `Handle`.
    pub on_end: Option<EndHook>,
    /// Who the execution is where that is not minted here: a replayed execution's ARN, start and
    /// role, as its recording says (what `$$.Execution` and the history then show).
    pub identity: Option<Identity>,
}

/// A recorded execution's identity.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`.
    pub execution_arn: String,
    pub start: Option<OffsetDateTime>,
    pub role_arn: Option<String>,
}

impl Identity {
    /// The state machine's ARN and name, and the execution's name, from the execution's ARN.
    fn parts(&self) -> Option<(String, String, String)> {
        let (prefix, rest) = self.execution_arn.split_once(":execution:")?;
        let (machine, name) = rest.split_once(':')?;
        Some((
            format!("{prefix}:stateMachine:{machine}"),
            machine.to_string(),
            name.to_string(),
        ))
    }
}

/// What runs when an execution ends (a service publishes its status-change event here), before
/// any waiter of the `Handle` sees the outcome: whoever waits for the execution can count on it.
#[derive(Clone)]
pub struct EndHook(pub Arc<EndFn>);

/// The hook's function: the execution's handle, its outcome and its stop date.
pub type EndFn = dyn Fn(&Handle, &Execution, OffsetDateTime) + Send + Sync;

impl std::fmt::Debug for EndHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndHook")
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            execution_name: uuid::Uuid::new_v4().to_string(),
            state_machine_name: "StateMachine".into(),
            mocks: None,
            time: TimeMode::Virtual,
            inspect: false,
            tokens: Arc::new(TaskTokens::default()),
            on_end: None,
            identity: None,
        }
    }
}

#[derive(Clone)]
pub struct Executor {
    machine: Arc<StateMachine>,
    bindings: Bindings,
}

/// The stop that `Handle::time_out` sends: the execution ends TIMED_OUT, not ABORTED.
const TIMED_OUT: &str = "States.Timeout";

/// A started execution: its identity, its history as it grows, its outcome once it ends, and a
/// way to stop it. Clones share the one execution.
#[derive(Clone)]
pub struct Handle {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub input: Value,
    pub start_date: OffsetDateTime,
    history: Arc<History>,
    outcome: tokio::sync::watch::Receiver<Option<(Execution, OffsetDateTime)>>,
    stop: Arc<tokio::sync::watch::Sender<Option<StatesError>>>,
}

impl Handle {
    /// The events so far.
    pub fn history(&self) -> Vec<Event> {
        self.history.events()
    }

    /// The outcome and the stop date, once the execution ended.
    pub fn outcome(&self) -> Option<(Execution, OffsetDateTime)> {
        self.outcome.borrow().clone()
    }

    pub async fn wait(&self) -> Execution {
        let mut outcome = self.outcome.clone();
        let ended = outcome.wait_for(Option::is_some).await;
        match ended {
            Ok(ended) => ended.as_ref().expect("waited for it").0.clone(),
            // The driver is gone only if its runtime shut down.
            Err(_) => Execution {
                status: Status::Aborted,
                output: None,
                error: Some("States.Runtime".into()),
                cause: Some("the emulator stopped".into()),
                history: self.history(),
                inspections: None,
            },
        }
    }

    /// Waits until the history holds an event satisfying `wanted` (a `TaskStateEntered` of a
    /// state, say), and returns it (none if the execution's driver is gone).
    pub async fn wait_for_event(&self, wanted: impl Fn(&Event) -> bool) -> Option<Event> {
        self.history.wait_for(wanted).await
    }

    /// Ends a running execution TIMED_OUT, as reaching the machine's `TimeoutSeconds` does. False
    /// if it had already ended.
    pub fn time_out(&self) -> bool {
        if self.outcome.borrow().is_some() {
            return false;
        }
        self.stop.send_replace(Some(StatesError::new(
            TIMED_OUT,
            "The execution exceeded its TimeoutSeconds",
        )));
        true
    }

    /// Stops a running execution (`StopExecution`): it ends ABORTED with this error and cause.
    /// A task already running is not interrupted (as on AWS, a Lambda runs on; its result is
    /// dropped). False if the execution had already ended.
    pub fn stop(&self, error: Option<String>, cause: Option<String>) -> bool {
        if self.outcome.borrow().is_some() {
            return false;
        }
        self.stop.send_replace(Some(StatesError::new(
            error.unwrap_or_default(),
            cause.unwrap_or_default(),
        )));
        true
    }
}

/// How a state hands control on.
enum Flow {
    Next(String, Value),
    End(Value),
}

struct Run {
    history: Arc<History>,
    clock: Mutex<OffsetDateTime>,
    time: TimeMode,
    mocks: Option<TestCase>,
    invocations: Mutex<HashMap<String, u32>>,
    bindings: Bindings,
    context: Value,
    /// `Some` when every state's inspection is recorded (`sfn run --inspect`).
    inspections: Option<Mutex<Vec<Value>>>,
    tokens: Arc<TaskTokens>,
    /// TestState's `mapItemReaderData`: what a Distributed Map's reader reads instead of S3.
    item_reader_data: Option<String>,
    /// TestState mocks a Map or Parallel state's whole result, not only Tasks'.
    composite_mocks: bool,
    /// TestState's `mapIterationFailureCount`: failed iterations behind a mocked Map result.
    map_iteration_failure_count: Option<u64>,
}

impl Executor {
    pub fn new(machine: StateMachine, bindings: Bindings) -> Self {
        Self {
            machine: Arc::new(machine),
            bindings,
        }
    }

    /// Runs an execution to its end.
    pub async fn run(&self, input: Value, options: RunOptions) -> Execution {
        self.start(input, options).wait().await
    }

    /// Starts an execution on the runtime and returns at once.
    pub fn start(&self, input: Value, options: RunOptions) -> Handle {
        let identity = options.identity.clone().unwrap_or_default();
        let start = identity.start.unwrap_or_else(OffsetDateTime::now_utc);
        let role_arn = identity
            .role_arn
            .clone()
            .unwrap_or_else(|| arn::role("StatesExecutionRole"));
        let (machine_arn, machine_name, execution_name, execution_arn) = match identity.parts() {
            Some((machine_arn, machine, name)) => (machine_arn, machine, name, identity.execution_arn.clone()),
            None => (
                arn::state_machine(&options.state_machine_name),
                options.state_machine_name.clone(),
                options.execution_name.clone(),
                arn::execution(&options.state_machine_name, &options.execution_name),
            ),
        };
        let context = json!({
            "Execution": {"Id": execution_arn, "Input": input, "Name": execution_name,
                          "RoleArn": role_arn,
                          "StartTime": start.format(&Rfc3339).unwrap_or_default(), "RedriveCount": 0},
            "StateMachine": {"Id": machine_arn, "Name": machine_name},
        });
        let history = Arc::new(History::default());
        let run = Run {
            history: history.clone(),
            clock: Mutex::new(start),
            time: options.time,
            mocks: options.mocks,
            invocations: Mutex::new(HashMap::new()),
            bindings: self.bindings.clone(),
            context,
            inspections: options.inspect.then(|| Mutex::new(Vec::new())),
            tokens: options.tokens,
            item_reader_data: None,
            composite_mocks: false,
            map_iteration_failure_count: None,
        };
        run.history.push(
            run.now(),
            EventKind::ExecutionStarted {
                details: ExecutionStartedEventDetails {
                    input: input.to_string(),
                    input_details: DataDetails { truncated: false },
                    role_arn,
                },
            },
        );
        let (outcome_tx, outcome) = tokio::sync::watch::channel(None);
        let (stop, mut stopped) = tokio::sync::watch::channel(None::<StatesError>);
        let handle = Handle {
            arn: execution_arn,
            name: execution_name,
            state_machine_arn: machine_arn,
            input: input.clone(),
            start_date: start,
            history,
            outcome,
            stop: Arc::new(stop),
        };
        let machine = self.machine.clone();
        let (ended, on_end) = (handle.clone(), options.on_end);
        // In real time the execution is cut at its TimeoutSeconds, as on AWS (in virtual time
        // the clock only moves with the run, which checks it when it ends).
        if let (TimeMode::Real, Some(limit)) = (options.time, machine.timeout_seconds) {
            let expiring = handle.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs_f64(limit)) => {
                        expiring.time_out();
                    }
                    _ = expiring.wait() => {}
                }
            });
        }
        tokio::spawn(async move {
            let result = tokio::select! {
                result = run.machine(&machine, input) => Ok(result),
                Ok(stop) = stopped.wait_for(Option::is_some) => Err(stop.clone().expect("waited for it")),
            };
            let execution = run.finish(&machine, start, result);
            let stop_date = run.now();
            if let Some(EndHook(hook)) = on_end {
                hook(&ended, &execution, stop_date);
            }
            let _ = outcome_tx.send(Some((execution, stop_date)));
        });
        handle
    }
}

/// The service quota on data between states: 256 KiB of UTF-8 JSON. A task's result over it fails
/// the task (it can be caught); any state's output over it fails the execution, naming the state
/// (recorded on AWS for a Pass state: `…StateEntered`, then `ExecutionFailed`).
fn check_payload(value: &Value, by: &str) -> Result<(), StatesError> {
    if payload_bytes(value) > MAX_PAYLOAD_BYTES {
        return Err(StatesError::new(
            DATA_LIMIT_EXCEEDED,
            format!(
                "The state/task '{by}' returned a result with a size exceeding the maximum number of bytes service limit."
            ),
        ));
    }
    Ok(())
}

/// The UTF-8 length of a value's JSON text, counted without writing it out.
pub fn payload_bytes(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}
