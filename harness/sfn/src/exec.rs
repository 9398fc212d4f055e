//! The interpreter: runs a parsed `StateMachine` with Task resources bound to Rust functions,
//! recording AWS-shaped history events. Waits and retry delays run on a virtual clock by
//! default (the clock jumps, nothing sleeps); `TimeMode::Accelerated` also sleeps a fraction of
//! each wait; `TimeMode::Real` sleeps for real.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
use crate::query::{QUERY_EVALUATION_ERROR, States};
use crate::tokens::{TaskTokens, Waiter};
use crate::variables::{Assignment, Env, Variables};

/// Step Functions' limit on a state's data: 256 KiB as UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// The suffix of a callback task's resource.
const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";
use crate::model::{
    self, Catcher, Concurrency, InputType, ItemBatcher, ItemReader, Kind, Limit, QueryLanguage, ResultWriter, Retrier,
    State, StateMachine, Template, Tolerance, Transformation, WaitFor,
};

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

/// What one state did with its data, step by step (TestState's `inspectionData`; `sfn run
/// --inspect` records one per state entered).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_input_path: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_parameters: Option<Value>,
    /// A JSONata state's `Arguments`, evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_arguments: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_result_selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_result_path: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<ErrorDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_items_path: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_item_selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_item_batcher: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<Value>,
    /// The variables in scope once the state is done (its assignments committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Value>,
}

impl Inspection {
    /// The fields of a JSONata state: AWS fills none of the JSONPath stages' (InputPath,
    /// Parameters, ResultSelector, ResultPath, ItemsPath) there.
    pub fn for_language(mut self, language: QueryLanguage) -> Self {
        if language == QueryLanguage::Jsonata {
            self.after_input_path = None;
            self.after_parameters = None;
            self.after_result_selector = None;
            self.after_result_path = None;
            self.after_items_path = None;
        }
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_backoff_interval_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_index: Option<usize>,
}

/// Where a state's intermediate values go: nowhere, or an `Inspection`.
#[derive(Default)]
struct Inspector(Option<Mutex<Inspection>>);

impl Inspector {
    fn on() -> Self {
        Self(Some(Mutex::new(Inspection::default())))
    }

    fn record(&self, field: impl FnOnce(&mut Inspection) -> &mut Option<Value>, value: &Value) {
        if let Some(inspection) = &self.0 {
            *field(&mut inspection.lock().expect("inspection")) = Some(value.clone());
        }
    }

    fn take(self) -> Option<Inspection> {
        self.0.map(|m| m.into_inner().expect("inspection"))
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
        let start = OffsetDateTime::now_utc();
        let machine_arn = arn::state_machine(&options.state_machine_name);
        let execution_arn = arn::execution(&options.state_machine_name, &options.execution_name);
        let context = json!({
            "Execution": {"Id": execution_arn, "Input": input, "Name": options.execution_name,
                          "RoleArn": arn::role("StatesExecutionRole"),
                          "StartTime": start.format(&Rfc3339).unwrap_or_default(), "RedriveCount": 0},
            "StateMachine": {"Id": machine_arn, "Name": options.state_machine_name},
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
                    role_arn: arn::role("StatesExecutionRole"),
                },
            },
        );
        let (outcome_tx, outcome) = tokio::sync::watch::channel(None);
        let (stop, mut stopped) = tokio::sync::watch::channel(None::<StatesError>);
        let handle = Handle {
            arn: execution_arn,
            name: options.execution_name.clone(),
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

/// What TestState sets for the one state it runs (its `mock` and `stateConfiguration`).
#[derive(Debug, Clone, Default)]
pub struct StateTestOptions {
    pub mocks: Option<TestCase>,
    pub retrier_retry_count: u32,
    pub item_reader_data: Option<String>,
    pub map_iteration_failure_count: Option<u64>,
    pub error_caused_by_state: Option<String>,
    /// TestState's `variables`: the scope the state runs in.
    pub variables: Option<Variables>,
}

/// Whether `name` is a state of `machine` or of a machine nested in it.
fn contains_state(machine: &StateMachine, name: &str) -> bool {
    machine.states.values().any(|state| {
        state.name == name
            || match &state.kind {
                Kind::Map { processor, .. } => contains_state(processor, name),
                Kind::Parallel { branches } => branches.iter().any(|b| contains_state(b, name)),
                _ => false,
            }
    })
}

/// TestState's outcome for one state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateTest {
    /// `SUCCEEDED`, `FAILED`, `RETRIABLE` or `CAUGHT_ERROR`.
    pub status: &'static str,
    pub next_state: Option<String>,
    pub output: Option<Value>,
    pub error: Option<StatesError>,
    pub inspection: Inspection,
}

impl Executor {
    /// Runs one state once, as the TestState API does: no retry waits (a matching retrier makes
    /// it RETRIABLE), a matching catcher makes it CAUGHT_ERROR with the catcher's next state.
    /// `retrier_retry_count` is how many retries the state has already had.
    pub async fn test_state(
        &self,
        state_name: &str,
        input: Value,
        test: StateTestOptions,
    ) -> Result<StateTest, StatesError> {
        let StateTestOptions {
            mocks,
            retrier_retry_count,
            item_reader_data,
            map_iteration_failure_count,
            error_caused_by_state,
            variables,
        } = test;
        let state =
            self.machine.states.get(state_name).ok_or_else(|| {
                StatesError::new("States.Runtime", format!("no state {state_name:?} in the definition"))
            })?;
        if let Some(inner) = &error_caused_by_state {
            let inside = match &state.kind {
                Kind::Map { processor, .. } => contains_state(processor, inner),
                Kind::Parallel { branches } => branches.iter().any(|b| contains_state(b, inner)),
                _ => false,
            };
            if !inside {
                return Err(StatesError::new(
                    "States.Runtime",
                    format!(
                        "errorCausedByState {inner:?} is not a state inside the Map or Parallel state {state_name:?}"
                    ),
                ));
            }
        }
        let options = RunOptions {
            execution_name: "TestState".into(),
            state_machine_name: "TestState".into(),
            mocks,
            ..Default::default()
        };
        let start = OffsetDateTime::now_utc();
        let run = Run {
            history: Arc::new(History::default()),
            clock: Mutex::new(start),
            time: options.time,
            mocks: options.mocks,
            invocations: Mutex::new(HashMap::new()),
            bindings: self.bindings.clone(),
            context: json!({
                "Execution": {"Id": arn::execution("TestState", "TestState"), "Input": input, "Name": "TestState",
                              "RoleArn": arn::role("StatesExecutionRole"), "StartTime": start.format(&Rfc3339).unwrap_or_default()},
                "StateMachine": {"Id": arn::state_machine("TestState"), "Name": "TestState"},
            }),
            inspections: None,
            tokens: options.tokens,
            item_reader_data,
            composite_mocks: true,
            map_iteration_failure_count,
        };
        let mut context = run.context.clone();
        context["State"] = json!({"Name": state.name, "EnteredTime": start.format(&Rfc3339).unwrap_or_default(), "RetryCount": retrier_retry_count});
        let mut variables = variables.unwrap_or_default();
        let env = Env::new(&context, &variables);
        let ins = Inspector::on();
        // What the state did, and what it assigned (committed below, as an execution would).
        let (mut test, assigned) = match &state.kind {
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map { .. } => {
                ins.record(|i| &mut i.input, &input);
                let attempt = match run.attempt(state, &input, &env, &ins).await {
                    Ok(result) => run.finish_work(state, input.clone(), result, &env, &ins),
                    Err(error) => Err(error),
                };
                match attempt {
                    Ok((flow, assigned)) => (StateTest::ended(flow), assigned),
                    Err(error) => {
                        if let Some(i) = state.retry.iter().position(|r| matches(&r.error_equals, &error))
                            && retrier_retry_count < state.retry[i].max_attempts
                        {
                            let mut inspection = ins.take().unwrap_or_default().for_language(state.query_language);
                            inspection.error_details = Some(ErrorDetails {
                                retry_index: Some(i),
                                retry_backoff_interval_seconds: Some(retry_delay(&state.retry[i], retrier_retry_count)),
                                catch_index: None,
                            });
                            return Ok(StateTest {
                                status: "RETRIABLE",
                                next_state: None,
                                output: None,
                                error: Some(error),
                                inspection,
                            });
                        }
                        match state.catch.iter().position(|c| matches(&c.error_equals, &error)) {
                            Some(i) => {
                                let catcher = &state.catch[i];
                                let (output, assigned) = match Run::caught(catcher, input, &error, &env) {
                                    Ok(caught) => caught,
                                    Err(failure) => return Ok(StateTest::failed(failure)),
                                };
                                let test = StateTest {
                                    status: "CAUGHT_ERROR",
                                    next_state: Some(catcher.next.clone()),
                                    output: Some(output),
                                    error: Some(error),
                                    inspection: Inspection {
                                        error_details: Some(ErrorDetails {
                                            retry_index: None,
                                            retry_backoff_interval_seconds: None,
                                            catch_index: Some(i),
                                        }),
                                        ..Inspection::default()
                                    },
                                };
                                (test, assigned)
                            }
                            None => (StateTest::failed(error), Assignment::default()),
                        }
                    }
                }
            }
            _ => match run.state(state, input, &env, &ins).await {
                Ok((flow, assigned)) => (StateTest::ended(flow), assigned),
                Err(error) => (StateTest::failed(error), Assignment::default()),
            },
        };
        if let Err(error) = variables.commit(&assigned) {
            test = StateTest::failed(error.into());
        }
        let error_details = test.inspection.error_details.take();
        test.inspection = ins.take().unwrap_or_default().for_language(state.query_language);
        test.inspection.error_details = error_details;
        // "The set of workflow variables after execution of the state": those TestState was
        // given and those the state assigned.
        if !variables.is_empty() {
            test.inspection.variables = Some(Value::Object(variables.visible()));
        }
        Ok(test)
    }
}

impl StateTest {
    fn ended(flow: Flow) -> Self {
        let (next_state, output) = match flow {
            Flow::Next(next, output) => (Some(next), output),
            Flow::End(output) => (None, output),
        };
        Self {
            status: "SUCCEEDED",
            next_state,
            output: Some(output),
            error: None,
            inspection: Inspection::default(),
        }
    }

    fn failed(error: StatesError) -> Self {
        Self {
            status: "FAILED",
            next_state: None,
            output: None,
            error: Some(error),
            inspection: Inspection::default(),
        }
    }
}

impl Run {
    /// Records how the execution ended: `result` is the machine's, or the stop that cut it short.
    fn finish(
        &self,
        machine: &StateMachine,
        start: OffsetDateTime,
        result: Result<Result<Value, StatesError>, StatesError>,
    ) -> Execution {
        let run = self;
        let timed_out = machine
            .timeout_seconds
            .is_some_and(|limit| (run.now() - start).as_seconds_f64() > limit);
        let (status, output, error, cause) = match result {
            Err(stop) if stop.error == TIMED_OUT => {
                run.history.push(
                    run.now(),
                    EventKind::ExecutionTimedOut {
                        details: FailureDetails::of(&stop),
                    },
                );
                (Status::TimedOut, None, Some(stop.error), Some(stop.cause))
            }
            Err(stop) => {
                run.history.push(
                    run.now(),
                    EventKind::ExecutionAborted {
                        details: FailureDetails::of(&stop),
                    },
                );
                let some = |s: String| (!s.is_empty()).then_some(s);
                (Status::Aborted, None, some(stop.error), some(stop.cause))
            }
            _ if timed_out => {
                let cause = "The execution exceeded its TimeoutSeconds".to_string();
                run.history.push(
                    run.now(),
                    EventKind::ExecutionTimedOut {
                        details: FailureDetails {
                            error: "States.Timeout".into(),
                            cause: cause.clone(),
                        },
                    },
                );
                (Status::TimedOut, None, Some("States.Timeout".to_string()), Some(cause))
            }
            Ok(Ok(output)) => {
                run.history.push(
                    run.now(),
                    EventKind::ExecutionSucceeded {
                        details: ExecutionSucceededEventDetails {
                            output: output.to_string(),
                            output_details: DataDetails { truncated: false },
                        },
                    },
                );
                (Status::Succeeded, Some(output), None, None)
            }
            Ok(Err(e)) => {
                run.history.push(
                    run.now(),
                    EventKind::ExecutionFailed {
                        details: FailureDetails::of(&e),
                    },
                );
                (Status::Failed, None, Some(e.error), Some(e.cause))
            }
        };
        Execution {
            status,
            output,
            error,
            cause,
            history: run.history.events(),
            inspections: run.inspections.as_ref().map(|i| i.lock().expect("inspections").clone()),
        }
    }
}

/// A JSONata state's `Output` over its input (and result or error output), or `default`.
fn jsonata_output(
    output: &Option<Template>,
    default: Value,
    raw: &Value,
    states: States<'_>,
    env: &Env<'_>,
) -> Result<Value, StatesError> {
    match output {
        Some(t) => t.eval(raw, &env.with_states(states)),
        None => Ok(default),
    }
}

/// A `TimeoutSeconds`/`HeartbeatSeconds` value; a `…Path` reads the state input and must find a
/// positive integer.
fn limit_seconds(limit: Option<&Limit>, input: &Value, env: &Env<'_>) -> Result<Option<f64>, StatesError> {
    match limit {
        None => Ok(None),
        Some(Limit::Seconds(seconds)) => Ok(Some(*seconds)),
        Some(Limit::Path(path)) => {
            let value = path.select(input, env)?;
            match value.as_u64().filter(|n| *n > 0) {
                Some(n) => Ok(Some(n as f64)),
                None => Err(StatesError::runtime(format!(
                    "The value at {} must be a positive integer, got {value}",
                    path.as_str()
                ))),
            }
        }
        Some(Limit::Query(query)) => {
            let value = query.eval(input, env)?;
            match value.as_u64().filter(|n| *n > 0) {
                Some(n) => Ok(Some(n as f64)),
                None => Err(query.error(&format!("returned {value}, which is not a positive integer."))),
            }
        }
    }
}

/// A JSONata field's value that must be a non-negative integer (at most `max`).
fn query_integer(query: &crate::query::Query, input: &Value, env: &Env<'_>, max: f64) -> Result<f64, StatesError> {
    let value = query.eval(input, env)?;
    match value.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= max) {
        Some(n) => Ok(n),
        None => Err(query.error(&format!("returned {value}, which is not an integer from 0 to {max}."))),
    }
}

/// A Map's tolerated failures, resolved.
struct Tolerated {
    count: Option<u64>,
    percentage: Option<f64>,
}

impl Tolerated {
    fn resolve(
        count: Option<&Tolerance>,
        percentage: Option<&Tolerance>,
        input: &Value,
        env: &Env<'_>,
    ) -> Result<Option<Tolerated>, StatesError> {
        if count.is_none() && percentage.is_none() {
            return Ok(None);
        }
        let count = match count {
            None => None,
            Some(t) => {
                let n = tolerance_number(t, "ToleratedFailureCount", input, env)?;
                if n < 0.0 {
                    return Err(StatesError::runtime("ToleratedFailureCount cannot be negative."));
                }
                Some(n as u64)
            }
        };
        let percentage = match percentage {
            None => None,
            Some(t) => {
                let p = tolerance_number(t, "ToleratedFailurePercentage", input, env)?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(StatesError::runtime(
                        "ToleratedFailurePercentage must be between 0 and 100.",
                    ));
                }
                Some(p)
            }
        };
        Ok(Some(Tolerated { count, percentage }))
    }

    fn exceeded(&self, failed: usize, total: usize) -> bool {
        let over_count = self.count.is_some_and(|c| failed as u64 > c);
        let over_percentage = self
            .percentage
            .is_some_and(|p| total > 0 && (failed as f64) * 100.0 / (total as f64) > p);
        over_count || over_percentage
    }
}

/// A tolerance's number; a `…Path` must find one (an integer for counts, a float for percentages).
fn tolerance_number(tolerance: &Tolerance, field: &str, input: &Value, env: &Env<'_>) -> Result<f64, StatesError> {
    match tolerance {
        Tolerance::Fixed(n) => Ok(*n),
        Tolerance::Query(query) => {
            let max = if field == "ToleratedFailurePercentage" {
                100.0
            } else {
                f64::MAX
            };
            query_integer(query, input, env, max)
        }
        Tolerance::Path(path) => {
            let value = path.select(input, env)?;
            let integer = field != "ToleratedFailurePercentage";
            let number = if integer {
                value.as_i64().map(|n| n as f64)
            } else {
                value.as_f64()
            };
            number.ok_or_else(|| {
                StatesError::runtime(format!(
                    "The {field}Path field refers to value {value} which is not a valid {}: {}",
                    if integer { "integer" } else { "float" },
                    path.as_str()
                ))
            })
        }
    }
}

/// Groups a Map's inputs as its ItemBatcher says: `{"Items": […], "BatchInput": …}` per batch.
fn batch(
    batcher: &ItemBatcher,
    inputs: Vec<(Value, Option<Value>)>,
    params: &Value,
    env: &Env<'_>,
) -> Result<Vec<(Value, Option<Value>)>, StatesError> {
    let batch_input = match &batcher.batch_input {
        Some(t) => Some(t.eval(params, env)?),
        None => None,
    };
    let limit = |t: &Option<Tolerance>, field: &str| -> Result<usize, StatesError> {
        match t {
            // A JSONata expression "MUST evaluate to a positive integer".
            Some(Tolerance::Query(q)) => match tolerance_number(&Tolerance::Query(q.clone()), field, params, env)? {
                n if n >= 1.0 => Ok(n as usize),
                n => Err(q.error(&format!("returned {n}, which is not a positive integer."))),
            },
            Some(t) => Ok(tolerance_number(t, field, params, env)?.max(0.0) as usize),
            None => Ok(usize::MAX),
        }
    };
    let max_items = limit(&batcher.max_items, "MaxItemsPerBatch")?.max(1);
    let max_bytes = limit(&batcher.max_bytes, "MaxInputBytesPerBatch")?;
    let mut batches: Vec<(Value, Option<Value>)> = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    let flush = |current: &mut Vec<Value>, batches: &mut Vec<(Value, Option<Value>)>| {
        if current.is_empty() {
            return;
        }
        let mut input = json!({"Items": std::mem::take(current)});
        if let Some(b) = &batch_input {
            input["BatchInput"] = b.clone();
        }
        batches.push((input, None));
    };
    for (item, _) in inputs {
        let size = item.to_string().len();
        if !current.is_empty() && (current.len() >= max_items || bytes + size > max_bytes) {
            flush(&mut current, &mut batches);
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    flush(&mut current, &mut batches);
    Ok(batches)
}

/// CSV rows as objects keyed by the header (the first row, or `headers`); values are strings.
fn csv_items(text: &str, headers: Option<&[String]>) -> Result<Vec<Value>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted CSV field is not closed".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    let mut rows = rows.into_iter();
    let header: Vec<String> = match headers {
        Some(given) => given.to_vec(),
        None => rows.next().ok_or("the CSV object is empty")?,
    };
    Ok(rows
        .map(|row| {
            Value::Object(
                header
                    .iter()
                    .zip(row.into_iter().chain(std::iter::repeat(String::new())))
                    .map(|(k, v)| (k.clone(), Value::String(v)))
                    .collect(),
            )
        })
        .collect())
}

impl Concurrency {
    /// The limit (0: none); a `MaxConcurrencyPath` must find a non-negative integer.
    fn resolve(&self, input: &Value, env: &Env<'_>) -> Result<usize, StatesError> {
        match self {
            Concurrency::Fixed(n) => Ok(*n),
            Concurrency::Query(query) => query_integer(query, input, env, f64::MAX).map(|n| n as usize),
            Concurrency::Path(path) => {
                let value = path.select(input, env)?;
                value.as_u64().map(|n| n as usize).ok_or_else(|| {
                    StatesError::runtime(format!(
                        "The MaxConcurrencyPath field refers to value {value} which is not a valid integer: {}",
                        path.as_str()
                    ))
                })
            }
        }
    }
}

/// The work a Task state's fields resolve to before it runs.
#[derive(Debug, Default)]
struct TaskSetup {
    timeout: Option<f64>,
    heartbeat: Option<f64>,
    /// The evaluated `Credentials` (`{"RoleArn": …}`).
    credentials: Option<Value>,
}

/// A scheduled event's `taskCredentials`, when the Task names a role.
fn task_credentials(credentials: &Option<Value>) -> Option<TaskCredentials> {
    let role = credentials.as_ref().and_then(|c| c.get("RoleArn"))?;
    Some(TaskCredentials { role_arn: role.clone() })
}

/// A callback task's resource in its events.
fn callback_resource() -> TaskResource {
    TaskResource {
        resource_type: "lambda".into(),
        resource: "invoke.waitForTaskToken".into(),
    }
}

/// How a task ended, as its last event says it: `TaskSucceeded`, `TaskTimedOut` (its error is
/// one of `timeouts`) or `TaskFailed`, naming its service and action if given.
fn task_outcome(result: &Result<Value, StatesError>, resource: Option<TaskResource>, timeouts: &[&str]) -> EventKind {
    let (resource_type, resource) = match resource {
        Some(r) => (Some(r.resource_type), Some(r.resource)),
        None => (None, None),
    };
    match result {
        Ok(out) => EventKind::TaskSucceeded {
            details: TaskSucceededEventDetails {
                resource_type,
                resource,
                output: out.to_string(),
            },
        },
        Err(e) => {
            let details = TaskFailureDetails {
                resource_type,
                resource,
                error: e.error.clone(),
                cause: e.cause.clone(),
            };
            if timeouts.contains(&e.error.as_str()) {
                EventKind::TaskTimedOut { details }
            } else {
                EventKind::TaskFailed { details }
            }
        }
    }
}

/// How a Lambda function called through its ARN ended, as its last event says it.
fn lambda_outcome(result: &Result<Value, StatesError>) -> EventKind {
    match result {
        Ok(out) => EventKind::LambdaFunctionSucceeded {
            details: LambdaFunctionSucceededEventDetails {
                output: out.to_string(),
            },
        },
        Err(e) if e.error == "States.Timeout" => EventKind::LambdaFunctionTimedOut {
            details: FailureDetails::of(e),
        },
        Err(e) => EventKind::LambdaFunctionFailed {
            details: FailureDetails::of(e),
        },
    }
}

/// Whether `names` (an ErrorEquals) matches `error`.
fn matches(names: &[String], error: &StatesError) -> bool {
    if error.error == "States.Runtime" {
        return false;
    }
    names.iter().any(|n| {
        n == &error.error || n == "States.ALL" || (n == "States.TaskFailed" && error.error != "States.Timeout")
    })
}

/// The function name in a Lambda ARN, partial ARN or plain name.
fn function_name(reference: &str) -> &str {
    match reference.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => reference.strip_prefix("function:").unwrap_or(reference),
    }
}

impl Run {
    fn now(&self) -> OffsetDateTime {
        match self.time {
            TimeMode::Virtual | TimeMode::Accelerated(_) => *self.clock.lock().expect("clock"),
            TimeMode::Real => OffsetDateTime::now_utc(),
        }
    }

    async fn sleep(&self, seconds: f64) {
        if seconds <= 0.0 {
            return;
        }
        match self.time {
            TimeMode::Virtual => {
                let mut clock = self.clock.lock().expect("clock");
                *clock += time::Duration::seconds_f64(seconds);
            }
            TimeMode::Accelerated(factor) => {
                *self.clock.lock().expect("clock") += time::Duration::seconds_f64(seconds);
                tokio::time::sleep(Duration::from_secs_f64(seconds / f64::from(factor.max(1)))).await;
            }
            TimeMode::Real => tokio::time::sleep(Duration::from_secs_f64(seconds)).await,
        }
    }

    fn machine<'a>(&'a self, machine: &'a StateMachine, input: Value) -> BoxFuture<'a, Result<Value, StatesError>> {
        self.machine_with(machine, input, self.context.clone(), Variables::default())
    }

    /// Runs `machine`'s states from its StartAt in the variable scope `variables` (the
    /// execution's, a Parallel branch's or a Map iteration's).
    fn machine_with<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
        base: Value,
        variables: Variables,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut current = machine.start_at.clone();
            let mut input = input;
            let mut variables = variables;
            // One context for the whole run of states, its `State` replaced at each one: cloning it
            // per state would copy `Execution.Input` every time.
            let mut context = base;
            loop {
                let state = machine
                    .states
                    .get(&current)
                    .ok_or_else(|| StatesError::runtime(format!("no state {current:?}")))?;
                context["State"] = json!({"Name": state.name, "EnteredTime": self.now().format(&Rfc3339).unwrap_or_default(), "RetryCount": 0});
                let state_type = state.kind.state_type();
                let entered = self.history.push(
                    self.now(),
                    EventKind::state_entered(
                        state_type,
                        StateEnteredEventDetails {
                            name: state.name.clone(),
                            input: input.to_string(),
                        },
                    ),
                );
                let inspector = if self.inspections.is_some() {
                    Inspector::on()
                } else {
                    Inspector::default()
                };
                let outcome = self
                    .state(state, input, &Env::new(&context, &variables), &inspector)
                    .await
                    // The state's assignments take effect only once it is done with the old values.
                    .and_then(|(flow, assigned)| {
                        let (Flow::Next(_, output) | Flow::End(output)) = &flow;
                        if !matches!(state.kind, Kind::Fail { .. }) {
                            check_payload(output, &state.name)?;
                        }
                        variables.commit(&assigned)?;
                        Ok((flow, assigned))
                    });
                if !variables.is_empty() {
                    inspector.record(|i| &mut i.variables, &Value::Object(variables.visible()));
                }
                if let (Some(all), Some(inspection)) = (
                    &self.inspections,
                    inspector.take().map(|i| i.for_language(state.query_language)),
                ) {
                    all.lock()
                        .expect("inspections")
                        .push(json!({"state": state.name, "inspectionData": inspection}));
                }
                let (flow, assigned) = outcome.map_err(|mut e| {
                    // AWS names the state and its entry event in the cause of a runtime error.
                    if (e.error == "States.Runtime" || e.error == QUERY_EVALUATION_ERROR)
                        && !e.cause.starts_with("An error occurred while executing the state")
                    {
                        e.cause = format!(
                            "An error occurred while executing the state '{}' (entered at the event id #{entered}). {}",
                            state.name, e.cause
                        );
                    }
                    // A JSONata expression that failed the state is recorded where it failed (once:
                    // the Map or Parallel around it fails with the same error).
                    if e.error == QUERY_EVALUATION_ERROR
                        && let Some(location) = e.location.take()
                    {
                        self.history.push(
                            self.now(),
                            EventKind::EvaluationFailed {
                                details: EvaluationFailedEventDetails {
                                    cause: e.cause.clone(),
                                    error: e.error.clone(),
                                    location,
                                    state: state.name.clone(),
                                },
                            },
                        );
                    }
                    e
                })?;
                // A Fail state never exits.
                let exited = |output: &Value| {
                    let details = StateExitedEventDetails {
                        name: state.name.clone(),
                        output: output.to_string(),
                        assigned_variables: (!assigned.is_empty()).then(|| assigned.as_event_variables()),
                        assigned_variables_details: (!assigned.is_empty()).then_some(DataDetails { truncated: false }),
                    };
                    if let Some(kind) = EventKind::state_exited(state_type, details) {
                        self.history.push(self.now(), kind);
                    }
                };
                match flow {
                    Flow::Next(next, output) => {
                        exited(&output);
                        current = next;
                        input = output;
                    }
                    Flow::End(output) => {
                        exited(&output);
                        return Ok(output);
                    }
                }
            }
        })
    }

    fn flow(state: &State, output: Value) -> Flow {
        match &state.next {
            Some(next) => Flow::Next(next.clone(), output),
            None => Flow::End(output),
        }
    }

    /// Runs one state: how it hands on, and what its `Assign` (or its Choice rule's, or its
    /// Catcher's) evaluated to, still to be committed.
    async fn state(
        &self,
        state: &State,
        raw: Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<(Flow, Assignment), StatesError> {
        ins.record(|i| &mut i.input, &raw);
        match &state.kind {
            Kind::Succeed => {
                let output = state.output_path.apply(&state.input_path.apply(&raw, env)?, env)?;
                let output = jsonata_output(&state.output, output, &raw, States::default(), env)?;
                Ok((Flow::End(output), Assignment::default()))
            }
            Kind::Fail {
                error,
                cause,
                error_path,
                cause_path,
            } => {
                let pick =
                    |fixed: &Option<String>, selector: &Option<Template>| -> Result<Option<String>, StatesError> {
                        match selector {
                            Some(t) => match t.eval(&raw, env)? {
                                Value::String(s) => Ok(Some(s)),
                                // A JSONata Error or Cause "MUST be a string": its expression failed.
                                other => Err(match t.as_query() {
                                    Some(q) => q.error(&format!("returned {other}, which is not a string.")),
                                    None => StatesError::runtime(format!(
                                        "The ErrorPath or CausePath must give a string, got {other}"
                                    )),
                                }),
                            },
                            None => Ok(fixed.clone()),
                        }
                    };
                let error = pick(error, error_path)?.unwrap_or_default();
                let cause = pick(cause, cause_path)?.unwrap_or_default();
                Err(StatesError::new(error, cause))
            }
            Kind::Choice { choices, default } => {
                let effective = state.input_path.apply(&raw, env)?;
                ins.record(|i| &mut i.after_input_path, &effective);
                // A rule taken assigns its own Assign; the state's is for its Default.
                for branch in choices {
                    if branch.rule.eval(&effective, env)? {
                        let assigned = model::assign(&branch.assign, &effective, env)?;
                        let output = state.output_path.apply(&effective, env)?;
                        let output = jsonata_output(&branch.output, output, &raw, States::default(), env)?;
                        return Ok((Flow::Next(branch.next.clone(), output), assigned));
                    }
                }
                match default {
                    Some(next) => {
                        let assigned = model::assign(&state.assign, &effective, env)?;
                        let output = state.output_path.apply(&effective, env)?;
                        let output = jsonata_output(&state.output, output, &raw, States::default(), env)?;
                        Ok((Flow::Next(next.clone(), output), assigned))
                    }
                    None => Err(StatesError::new(
                        "States.NoChoiceMatched",
                        format!("No Matches! (state {})", state.name),
                    )),
                }
            }
            Kind::Wait { wait } => {
                let effective = state.input_path.apply(&raw, env)?;
                let seconds = match wait {
                    WaitFor::Seconds(s) => *s,
                    WaitFor::SecondsPath(p) => {
                        // AWS reads a long: a fraction is refused, not rounded.
                        let value = p.select(&effective, env)?;
                        let shown = match &value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        match (value.as_i64(), value.as_f64()) {
                            (Some(n), _) if n >= 0 => n as f64,
                            (_, Some(n)) if n < 0.0 => {
                                return Err(StatesError::runtime(format!(
                                    "The SecondsPath parameter references a negative value: {} == {shown}",
                                    p.as_str()
                                )));
                            }
                            _ => {
                                return Err(StatesError::runtime(format!(
                                    "The SecondsPath parameter cannot be parsed as a long value: {} == {shown}",
                                    p.as_str()
                                )));
                            }
                        }
                    }
                    WaitFor::SecondsQuery(query) => query_integer(query, &effective, env, 99_999_999.0)?,
                    WaitFor::TimestampQuery(query) => {
                        let value = query.eval(&effective, env)?;
                        let refused = || query.error(&format!("returned {value}, which is not an RFC 3339 timestamp."));
                        let text = value.as_str().ok_or_else(refused)?;
                        self.seconds_until(text).map_err(|_| refused())?
                    }
                    WaitFor::Timestamp(t) => self.seconds_until(t).map_err(|_| {
                        StatesError::runtime(format!("The Timestamp {t:?} is not a valid RFC 3339 timestamp"))
                    })?,
                    WaitFor::TimestampPath(p) => {
                        let value = p.select(&effective, env)?;
                        let refused = || {
                            let shown = value.as_str().map_or_else(|| value.to_string(), str::to_string);
                            StatesError::runtime(format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {shown}",
                                p.as_str()
                            ))
                        };
                        let text = value.as_str().ok_or_else(refused)?;
                        self.seconds_until(text).map_err(|_| refused())?
                    }
                };
                self.sleep(seconds).await;
                let assigned = model::assign(&state.assign, &effective, env)?;
                let output = state.output_path.apply(&effective, env)?;
                let output = jsonata_output(&state.output, output, &raw, States::default(), env)?;
                Ok((Self::flow(state, output), assigned))
            }
            Kind::Pass { result } => {
                let effective = state.input_path.apply(&raw, env)?;
                ins.record(|i| &mut i.after_input_path, &effective);
                let params = match &state.parameters {
                    Some(t) => t.eval(&effective, env)?,
                    None => effective,
                };
                ins.record(|i| &mut i.after_parameters, &params);
                let result = result.clone().unwrap_or(params);
                ins.record(|i| &mut i.result, &result);
                // `$` in a JSONPath Pass state's Assign is its result (Result, or what Parameters
                // made); a JSONata one reads `$states.input`.
                let assigned = match state.query_language {
                    QueryLanguage::JsonPath => model::assign(&state.assign, &result, env)?,
                    QueryLanguage::Jsonata => model::assign(&state.assign, &raw, env)?,
                };
                let output = state.result_path.merge(raw.clone(), result)?;
                ins.record(|i| &mut i.after_result_path, &output);
                let output = state.output_path.apply(&output, env)?;
                let output = jsonata_output(&state.output, output, &raw, States::default(), env)?;
                Ok((Self::flow(state, output), assigned))
            }
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map { .. } => self.work_state(state, raw, env, ins).await,
        }
    }

    fn seconds_until(&self, timestamp: &str) -> Result<f64, ()> {
        let at = crate::model::parse_timestamp(timestamp).ok_or(())?;
        Ok((at - self.now()).as_seconds_f64().max(0.0))
    }

    /// Task, Parallel, Map: the full I/O pipeline with Retry and Catch around the work.
    /// One pass through a work state's input pipeline and its work: the result after
    /// ResultSelector, or the error.
    async fn attempt(&self, state: &State, raw: &Value, env: &Env<'_>, ins: &Inspector) -> Result<Value, StatesError> {
        // A callback task's token is in `$$.Task.Token` for its Parameters to pass on.
        let waiter = match &state.kind {
            Kind::Task { resource, .. } if resource.ends_with(WAIT_FOR_TASK_TOKEN) => Some(self.tokens.issue()),
            _ => None,
        };
        let with_token;
        let env = match &waiter {
            Some((token, _)) => {
                let mut context = env.context.clone();
                context["Task"] = json!({"Token": token});
                with_token = context;
                env.with_context(&with_token)
            }
            None => *env,
        };
        let result = self.attempt_with(state, raw, &env, ins, waiter.map(|(_, w)| w)).await;
        if let Some(token) = env.context["Task"]["Token"].as_str() {
            self.tokens.withdraw(token);
        }
        result
    }

    async fn attempt_with(
        &self,
        state: &State,
        raw: &Value,
        env: &Env<'_>,
        ins: &Inspector,
        waiter: Option<Waiter>,
    ) -> Result<Value, StatesError> {
        let effective = state.input_path.apply(raw, env)?;
        ins.record(|i| &mut i.after_input_path, &effective);
        let setup = match &state.kind {
            Kind::Task {
                timeout,
                heartbeat,
                credentials,
                ..
            } => TaskSetup {
                timeout: limit_seconds(timeout.as_ref(), raw, env)?,
                heartbeat: limit_seconds(heartbeat.as_ref(), raw, env)?,
                credentials: match credentials {
                    Some(t) => Some(t.eval(&effective, env)?),
                    None => None,
                },
            },
            _ => TaskSetup::default(),
        };
        let params = match (&state.parameters, &state.arguments) {
            (Some(t), _) => {
                let params = t.eval(&effective, env)?;
                ins.record(|i| &mut i.after_parameters, &params);
                params
            }
            (None, Some(t)) => {
                let arguments = t.eval(&effective, env)?;
                // AWS leaves afterArguments out for a JSONata Parallel state.
                if !matches!(state.kind, Kind::Parallel { .. }) {
                    ins.record(|i| &mut i.after_arguments, &arguments);
                }
                arguments
            }
            (None, None) => {
                if state.query_language == QueryLanguage::JsonPath {
                    ins.record(|i| &mut i.after_parameters, &effective);
                }
                effective
            }
        };
        let result = self.work(state, params, env, waiter, setup, ins).await?;
        ins.record(|i| &mut i.result, &result);
        let selected = match &state.result_selector {
            Some(t) => t.eval(&result, env)?,
            None => result,
        };
        ins.record(|i| &mut i.after_result_selector, &selected);
        Ok(selected)
    }

    /// The state's output once its result is in (after ResultSelector): its Assign over the
    /// result, then ResultPath and OutputPath.
    fn finish_work(
        &self,
        state: &State,
        raw: Value,
        result: Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<(Flow, Assignment), StatesError> {
        let states = States {
            result: Some(&result),
            error_output: None,
        };
        let assigned = match state.query_language {
            QueryLanguage::JsonPath => model::assign(&state.assign, &result, env)?,
            QueryLanguage::Jsonata => model::assign(&state.assign, &raw, &env.with_states(states))?,
        };
        let output = match state.query_language {
            QueryLanguage::Jsonata => jsonata_output(&state.output, result.clone(), &raw, states, env)?,
            QueryLanguage::JsonPath => {
                let output = state.result_path.merge(raw, result.clone())?;
                if state.query_language == QueryLanguage::JsonPath {
                    ins.record(|i| &mut i.after_result_path, &output);
                }
                state.output_path.apply(&output, env)?
            }
        };
        Ok((Self::flow(state, output), assigned))
    }

    /// A catcher's output and Assign, both over the error output.
    fn caught(
        catcher: &Catcher,
        raw: Value,
        error: &StatesError,
        env: &Env<'_>,
    ) -> Result<(Value, Assignment), StatesError> {
        let error_output = error.to_catch_output();
        let states = States {
            result: None,
            error_output: Some(&error_output),
        };
        // A JSONata catcher's Output and Assign read `$states.errorOutput`; a JSONPath one's
        // Assign reads the error output as `$`.
        let assigned = if catcher.query_language == QueryLanguage::Jsonata {
            model::assign(&catcher.assign, &raw, &env.with_states(states))?
        } else {
            model::assign(&catcher.assign, &error_output, env)?
        };
        let output = match &catcher.output {
            Some(t) => t.eval(&raw, &env.with_states(states))?,
            None => catcher.result_path.merge(raw, error_output.clone())?,
        };
        Ok((output, assigned))
    }

    async fn work_state(
        &self,
        state: &State,
        raw: Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<(Flow, Assignment), StatesError> {
        let mut attempts = vec![0u32; state.retry.len()];
        loop {
            let retries: u32 = attempts.iter().sum();
            let retried;
            let env = if retries == 0 {
                *env
            } else {
                let mut with_count = env.context.clone();
                with_count["State"]["RetryCount"] = json!(retries);
                retried = with_count;
                env.with_context(&retried)
            };
            // A JSONata state's Output and Assign failing is the state's error like any other:
            // its Retry and Catch apply (a JSONPath state's ResultPath and OutputPath fail with
            // States.Runtime, which they never match).
            let attempt = match self.attempt(state, &raw, &env, ins).await {
                Ok(result) => self.finish_work(state, raw.clone(), result, &env, ins),
                Err(error) => Err(error),
            };
            match attempt {
                Ok(done) => return Ok(done),
                Err(error) => {
                    if let Some(i) = state.retry.iter().position(|r| matches(&r.error_equals, &error))
                        && attempts[i] < state.retry[i].max_attempts
                    {
                        let delay = retry_delay(&state.retry[i], attempts[i]);
                        attempts[i] += 1;
                        self.sleep(delay).await;
                        continue;
                    }
                    if let Some(catcher) = state.catch.iter().find(|c: &&Catcher| matches(&c.error_equals, &error)) {
                        let (output, assigned) = Self::caught(catcher, raw, &error, &env)?;
                        return Ok((Flow::Next(catcher.next.clone(), output), assigned));
                    }
                    return Err(error);
                }
            }
        }
    }

    async fn work(
        &self,
        state: &State,
        params: Value,
        env: &Env<'_>,
        waiter: Option<Waiter>,
        setup: TaskSetup,
        ins: &Inspector,
    ) -> Result<Value, StatesError> {
        if self.composite_mocks
            && matches!(state.kind, Kind::Map { .. } | Kind::Parallel { .. })
            && let Some(response) = self.mocks.as_ref().and_then(|m| m.respond(&state.name, 0))
        {
            let result = response?;
            if let (
                Kind::Map {
                    tolerated_count,
                    tolerated_percentage,
                    ..
                },
                Some(failed),
            ) = (&state.kind, self.map_iteration_failure_count)
            {
                let tolerated =
                    Tolerated::resolve(tolerated_count.as_ref(), tolerated_percentage.as_ref(), &params, env)?;
                // The mocked result holds the iterations that succeeded; the failed ones add to them.
                let total = result.as_array().map_or(0, Vec::len) + failed as usize;
                if tolerated.is_some_and(|t| t.exceeded(failed as usize, total)) {
                    return Err(StatesError::new(
                        "States.ExceedToleratedFailureThreshold",
                        "The specified tolerated failure threshold was exceeded",
                    ));
                }
            }
            return Ok(result);
        }
        match &state.kind {
            Kind::Task { resource, .. } => self.task(state, resource, setup, waiter, params).await,
            Kind::Parallel { branches } => {
                self.history.push(self.now(), EventKind::ParallelStateStarted);
                let runs = branches
                    .iter()
                    .map(|b| self.machine_with(b, params.clone(), env.context.clone(), env.variables.inner()));
                let results = futures::future::join_all(runs).await;
                let mut outputs = Vec::with_capacity(results.len());
                for result in results {
                    match result {
                        Ok(v) => outputs.push(v),
                        Err(e) => {
                            self.history.push(self.now(), EventKind::ParallelStateFailed);
                            return Err(e);
                        }
                    }
                }
                self.history.push(self.now(), EventKind::ParallelStateSucceeded);
                Ok(Value::Array(outputs))
            }
            Kind::Map {
                processor,
                items: items_field,
                item_selector,
                max_concurrency,
                reader,
                batcher,
                writer,
                tolerated_count,
                tolerated_percentage,
                label,
                distributed,
            } => {
                let limit = max_concurrency.resolve(&params, env)?;
                let items = match reader {
                    Some(reader) => self.read_items(reader, &params, env).await?,
                    None => {
                        let items = match items_field.as_deref() {
                            Some(t) => t.eval(&params, env)?,
                            None => params.clone(),
                        };
                        let Value::Array(items) = items else {
                            return Err(match (items_field.as_deref(), state.query_language) {
                                (Some(Template::Query(q)), _) => {
                                    q.error(&format!("returned {items}, which is not an array."))
                                }
                                (_, QueryLanguage::Jsonata) => StatesError::query(
                                    "Items",
                                    format!("The field 'Items' must be a JSON array, got {items}"),
                                ),
                                _ => StatesError::runtime(format!(
                                    "Map state {:?}: ItemsPath did not select an array",
                                    state.name
                                )),
                            });
                        };
                        items
                    }
                };
                self.history.push(
                    self.now(),
                    EventKind::MapStateStarted {
                        details: MapStateStartedEventDetails { length: items.len() },
                    },
                );
                ins.record(|i| &mut i.after_items_path, &Value::Array(items.clone()));
                ins.record(|i| &mut i.max_concurrency, &json!(limit));
                let tolerated =
                    Tolerated::resolve(tolerated_count.as_ref(), tolerated_percentage.as_ref(), &params, env)?;
                if let Some(t) = &tolerated {
                    if let Some(count) = t.count {
                        ins.record(|i| &mut i.tolerated_failure_count, &json!(count));
                    }
                    if let Some(percentage) = t.percentage {
                        ins.record(|i| &mut i.tolerated_failure_percentage, &json!(percentage));
                    }
                }
                // ItemSelector shapes each item (with $$.Map.Item); a batcher then groups them.
                // Each iteration gets its own context (with $$.Map.Item) only when it runs: a copy
                // per item made up front would hold n copies of the execution's input at once.
                let mut inputs: Vec<(Value, Option<Value>)> = Vec::with_capacity(items.len());
                let mut scratch = item_selector.as_ref().map(|_| env.context.clone());
                for (index, item) in items.into_iter().enumerate() {
                    let map_item = json!({"Item": {"Index": index, "Value": item}});
                    let input = match (item_selector, scratch.as_mut()) {
                        (Some(t), Some(scratch)) => {
                            scratch["Map"] = map_item.clone();
                            t.eval(&params, &env.with_context(scratch))?
                        }
                        _ => map_item["Item"]["Value"].clone(),
                    };
                    inputs.push((input, Some(map_item)));
                }
                if item_selector.is_some() {
                    let selected = inputs.iter().map(|(input, _)| input.clone()).collect();
                    ins.record(|i| &mut i.after_item_selector, &Value::Array(selected));
                }
                if let Some(batcher) = batcher {
                    inputs = batch(batcher, inputs, &params, env)?;
                    let batched = inputs.iter().map(|(input, _)| input.clone()).collect();
                    ins.record(|i| &mut i.after_item_batcher, &Value::Array(batched));
                }
                let limit = if limit == 0 { inputs.len().max(1) } else { limit };
                // Each iteration reads the Map's variables (a Distributed Map's child executions
                // see none) and assigns its own, which end with it.
                let scope = if *distributed {
                    Variables::default()
                } else {
                    env.variables.inner()
                };
                let semaphore = tokio::sync::Semaphore::new(limit);
                let iterations = inputs.into_iter().enumerate().map(|(index, (input, map_item))| {
                    let semaphore = &semaphore;
                    let scope = &scope;
                    async move {
                        let _permit = semaphore.acquire().await.expect("never closed");
                        let mut item_context = env.context.clone();
                        if let Some(map_item) = map_item {
                            item_context["Map"] = map_item;
                        }
                        let iteration = || MapIterationEventDetails {
                            name: state.name.clone(),
                            index,
                        };
                        self.history
                            .push(self.now(), EventKind::MapIterationStarted { details: iteration() });
                        let result = self
                            .machine_with(processor, input.clone(), item_context, scope.clone())
                            .await;
                        let ended = if result.is_ok() {
                            EventKind::MapIterationSucceeded { details: iteration() }
                        } else {
                            EventKind::MapIterationFailed { details: iteration() }
                        };
                        self.history.push(self.now(), ended);
                        (input, result)
                    }
                });
                let results = futures::future::join_all(iterations).await;
                let failed = results.iter().filter(|(_, r)| r.is_err()).count();
                let outcome = match tolerated {
                    // Without a tolerance, the first failure is the Map's.
                    None => results
                        .iter()
                        .find_map(|(_, r)| r.as_ref().err().cloned())
                        .map_or(Ok(()), Err),
                    Some(tolerated) if tolerated.exceeded(failed, results.len()) => Err(StatesError::new(
                        "States.ExceedToleratedFailureThreshold",
                        "The specified tolerated failure threshold was exceeded",
                    )),
                    Some(_) => Ok(()),
                };
                if let Err(e) = outcome {
                    self.history.push(self.now(), EventKind::MapStateFailed);
                    return Err(e);
                }
                let output = match writer {
                    Some(writer) => {
                        let run_name = label.as_deref().unwrap_or(&state.name);
                        self.write_results(run_name, writer, &results, &params, env).await?
                    }
                    None => Value::Array(
                        results
                            .into_iter()
                            .map(|(_, r)| r.unwrap_or_else(|e| e.to_catch_output()))
                            .collect(),
                    ),
                };
                self.history.push(self.now(), EventKind::MapStateSucceeded);
                Ok(output)
            }
            _ => unreachable!("only work states get here"),
        }
    }

    async fn task(
        &self,
        state: &State,
        resource: &str,
        setup: TaskSetup,
        waiter: Option<Waiter>,
        params: Value,
    ) -> Result<Value, StatesError> {
        let TaskSetup {
            timeout,
            heartbeat,
            credentials,
        } = setup;
        let call = self.call(state, resource, timeout, waiter.is_some(), credentials, params);
        let Some(waiter) = waiter else { return call.await };
        // A callback task: the call only hands the token over; the answer comes by SendTask*.
        let wait = async move {
            call.await?;
            self.history.push(
                self.now(),
                EventKind::TaskSubmitted {
                    details: callback_resource(),
                },
            );
            waiter.wait(heartbeat.map(Duration::from_secs_f64)).await
        };
        let result = match timeout {
            Some(limit) => match tokio::time::timeout(Duration::from_secs_f64(limit), wait).await {
                Ok(result) => result,
                Err(_) => Err(StatesError::new(
                    "States.Timeout",
                    format!("Task timed out after {limit} seconds"),
                )),
            },
            None => wait.await,
        };
        self.history.push(
            self.now(),
            task_outcome(
                &result,
                Some(callback_resource()),
                &["States.Timeout", "States.HeartbeatTimeout"],
            ),
        );
        result
    }

    /// Calls a bound integration that a Map's reader or writer needs.
    async fn call_integration(&self, integration: &str, params: Value) -> Result<Value, StatesError> {
        let f = self.bindings.integrations.get(integration).ok_or_else(|| {
            StatesError::new(
                "States.TaskFailed",
                format!("the service integration {integration:?} is not available here"),
            )
        })?;
        f(params).await
    }

    /// A Distributed Map's items, read from S3 as its ItemReader says.
    async fn read_items(&self, reader: &ItemReader, input: &Value, env: &Env<'_>) -> Result<Vec<Value>, StatesError> {
        let failed = |cause: String| StatesError::new("States.ItemReaderFailed", cause);
        let params = match &reader.parameters {
            Some(t) => t.eval(input, env)?,
            None => json!({}),
        };
        // TestState's mapItemReaderData stands in for what S3 holds.
        let answer = match (&self.item_reader_data, &reader.input_type) {
            (Some(data), InputType::Listing) => json!({"Contents": serde_json::from_str::<Value>(data)
                .map_err(|e| failed(format!("mapItemReaderData is not JSON: {e}")))?}),
            (Some(data), _) => json!({"Body": data}),
            (None, _) => self
                .call_integration(&reader.integration, params)
                .await
                .map_err(|e| failed(format!("{}: {}", e.error, e.cause)))?,
        };
        let mut items = match &reader.input_type {
            InputType::Listing => answer["Contents"].as_array().cloned().unwrap_or_default(),
            other => {
                let body = answer["Body"].as_str().unwrap_or_default();
                match other {
                    InputType::Json => match serde_json::from_str(body) {
                        Ok(Value::Array(items)) => items,
                        Ok(_) => return Err(failed("the object is not a JSON array".into())),
                        Err(e) => return Err(failed(format!("the object is not JSON: {e}"))),
                    },
                    InputType::Jsonl => body
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| serde_json::from_str(l).map_err(|e| failed(format!("a JSON line: {e}"))))
                        .collect::<Result<_, _>>()?,
                    InputType::Csv { headers } => csv_items(body, headers.as_deref()).map_err(failed)?,
                    InputType::Manifest => self.inventory_items(body).await.map_err(failed)?,
                    InputType::Listing => unreachable!("handled above"),
                }
            }
        };
        if let Some(max) = &reader.max_items {
            let max = tolerance_number(max, "MaxItems", input, env)?;
            items.truncate(max as usize);
        }
        Ok(items)
    }

    /// The rows of an S3 Inventory: the manifest names CSV files (gzipped, no header) in its
    /// destination bucket, and `fileSchema` names their columns.
    async fn inventory_items(&self, manifest: &str) -> Result<Vec<Value>, String> {
        let manifest: Value = serde_json::from_str(manifest).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        if manifest["fileFormat"].as_str().is_some_and(|f| f != "CSV") {
            return Err(format!(
                "inventory files in {} are not read here (CSV only)",
                manifest["fileFormat"]
            ));
        }
        let headers: Vec<String> = manifest["fileSchema"]
            .as_str()
            .ok_or("the manifest has no fileSchema")?
            .split(',')
            .map(|h| h.trim().to_string())
            .collect();
        let bucket = manifest["destinationBucket"]
            .as_str()
            .ok_or("the manifest has no destinationBucket")?;
        let bucket = bucket.rsplit(':').next().unwrap_or(bucket);
        let mut items = Vec::new();
        for file in manifest["files"].as_array().ok_or("the manifest has no files")? {
            let key = file["key"].as_str().ok_or("a manifest file has no key")?;
            let object = self
                .call_integration("s3:getObject", json!({"Bucket": bucket, "Key": key}))
                .await
                .map_err(|e| format!("{key}: {}: {}", e.error, e.cause))?;
            let bytes = match (object["Body"].as_str(), object["BodyBase64"].as_str()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(encoded)) => base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
                    .map_err(|e| format!("{key}: {e}"))?,
                _ => return Err(format!("{key}: no body")),
            };
            let text = if key.ends_with(".gz") {
                let mut out = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
                    .map_err(|e| format!("{key}: not gzip CSV: {e}"))?;
                out
            } else {
                String::from_utf8(bytes).map_err(|e| format!("{key}: {e}"))?
            };
            items.extend(csv_items(&text, Some(&headers))?);
        }
        Ok(items)
    }

    /// A Distributed Map's ResultWriter: each child's entry as `WriterConfig.Transformation` says;
    /// without a Resource they are the state's output, else `manifest.json` and the entries by
    /// status go under `Prefix/<map run id>/` and the output says where.
    async fn write_results(
        &self,
        run_name: &str,
        writer: &ResultWriter,
        results: &[(Value, Result<Value, StatesError>)],
        input: &Value,
        env: &Env<'_>,
    ) -> Result<Value, StatesError> {
        let run = uuid::Uuid::new_v4().to_string();
        let machine = env.context["StateMachine"]["Name"].as_str().unwrap_or_default();
        let map_run_arn = arn::map_run(machine, run_name, &run);
        // A failed child's entry is always the full one, whatever the transformation.
        let full = |child_input: &Value, r: &Result<Value, StatesError>| {
            let mut entry = json!({"Input": child_input.to_string(), "MapRunArn": map_run_arn});
            match r {
                Ok(out) => {
                    entry["Status"] = json!("SUCCEEDED");
                    entry["Output"] = json!(out.to_string());
                }
                Err(e) => {
                    entry["Status"] = json!("FAILED");
                    entry["Error"] = json!(e.error);
                    entry["Cause"] = json!(e.cause);
                }
            }
            entry
        };
        let entries = |wanted: Option<bool>| -> Vec<Value> {
            let mut out = Vec::new();
            for (child_input, r) in results.iter().filter(|(_, r)| wanted.is_none_or(|w| r.is_ok() == w)) {
                match (writer.transformation, r) {
                    (Transformation::None, _) | (_, Err(_)) => out.push(full(child_input, r)),
                    (Transformation::Compact, Ok(v)) => out.push(v.clone()),
                    (Transformation::Flatten, Ok(Value::Array(items))) => out.extend(items.iter().cloned()),
                    (Transformation::Flatten, Ok(v)) => out.push(v.clone()),
                }
            }
            out
        };
        let Some(integration) = &writer.integration else {
            return Ok(Value::Array(entries(None)));
        };
        let failed =
            |e: StatesError| StatesError::new("States.ResultWriterFailed", format!("{}: {}", e.error, e.cause));
        let params = match &writer.parameters {
            Some(t) => t.eval(input, env)?,
            None => json!({}),
        };
        let bucket = params["Bucket"].as_str().unwrap_or_default().to_string();
        let prefix = params["Prefix"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let folder = if prefix.is_empty() {
            run.clone()
        } else {
            format!("{prefix}/{run}")
        };
        let extension = if writer.jsonl { "jsonl" } else { "json" };
        let mut files = serde_json::Map::new();
        for (status, wanted) in [("SUCCEEDED", true), ("FAILED", false)] {
            let entries = entries(Some(wanted));
            let mut listed = Vec::new();
            if !entries.is_empty() {
                let key = format!("{folder}/{status}_0.{extension}");
                let body = if writer.jsonl {
                    entries.iter().map(|e| e.to_string() + "\n").collect::<String>()
                } else {
                    Value::Array(entries).to_string()
                };
                listed.push(json!({"Key": key, "Size": body.len()}));
                self.call_integration(integration, json!({"Bucket": bucket, "Key": key, "Body": body}))
                    .await
                    .map_err(failed)?;
            }
            files.insert(status.to_string(), Value::Array(listed));
        }
        files.insert("PENDING".into(), json!([]));
        let manifest_key = format!("{folder}/manifest.json");
        let manifest = json!({"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files});
        self.call_integration(
            integration,
            json!({"Bucket": bucket, "Key": manifest_key, "Body": manifest.to_string()}),
        )
        .await
        .map_err(failed)?;
        Ok(json!({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}))
    }

    /// A service integration (`dynamodb:getItem`, `aws-sdk:dynamodb:query` …): its binding gets
    /// the Parameters; events are Task* with the service as resourceType, the action as resource.
    async fn integration(
        &self,
        state: &State,
        integration: &str,
        timeout: Option<f64>,
        credentials: Option<Value>,
        params: Value,
    ) -> Result<Value, StatesError> {
        let (resource_type, action) = integration.rsplit_once(':').unwrap_or(("", integration));
        let resource = TaskResource {
            resource_type: resource_type.to_string(),
            resource: action.to_string(),
        };
        self.history.push(
            self.now(),
            EventKind::TaskScheduled {
                details: TaskScheduledEventDetails {
                    resource_type: resource.resource_type.clone(),
                    resource: resource.resource.clone(),
                    region: arn::REGION.to_string(),
                    parameters: params.to_string(),
                    task_credentials: task_credentials(&credentials),
                },
            },
        );
        self.history.push(
            self.now(),
            EventKind::TaskStarted {
                details: Some(resource.clone()),
            },
        );
        let invocation = {
            let mut counts = self.invocations.lock().expect("invocations");
            let n = counts.entry(state.name.clone()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let result = match self.mocks.as_ref().and_then(|m| m.respond(&state.name, invocation)) {
            Some(response) => response,
            None => match self.bindings.integrations.get(integration) {
                None => Err(StatesError::new(
                    "States.TaskFailed",
                    format!(
                        "the service integration {integration:?} is not available here; bound: {:?}",
                        self.bindings.integrations.keys().collect::<Vec<_>>()
                    ),
                )),
                Some(f) => {
                    let call = f(params);
                    match timeout {
                        Some(limit) => tokio::time::timeout(Duration::from_secs_f64(limit), call)
                            .await
                            .unwrap_or_else(|_| {
                                Err(StatesError::new(
                                    "States.Timeout",
                                    format!("Task timed out after {limit} seconds"),
                                ))
                            }),
                        None => call.await,
                    }
                }
            },
        };
        self.history
            .push(self.now(), task_outcome(&result, Some(resource), &["States.Timeout"]));
        result
    }

    /// Calls a Task's function and records its events; a callback task's call records only its
    /// scheduling (its end is the answer to its token).
    async fn call(
        &self,
        state: &State,
        resource: &str,
        timeout: Option<f64>,
        callback: bool,
        credentials: Option<Value>,
        params: Value,
    ) -> Result<Value, StatesError> {
        let resource = resource.strip_suffix(WAIT_FOR_TASK_TOKEN).unwrap_or(resource);
        let invoke = resource.starts_with("arn:aws:states:::lambda:invoke");
        if !invoke && let Some(integration) = resource.strip_prefix("arn:aws:states:::") {
            return self.integration(state, integration, timeout, credentials, params).await;
        }
        let (name, payload) = if invoke {
            let function = params.get("FunctionName").and_then(Value::as_str).ok_or_else(|| {
                StatesError::runtime(format!(
                    "state {:?}: lambda:invoke needs Parameters.FunctionName",
                    state.name
                ))
            })?;
            (
                function_name(function).to_string(),
                params.get("Payload").cloned().unwrap_or(json!({})),
            )
        } else if resource.starts_with("arn:aws:lambda:") {
            (function_name(resource).to_string(), params.clone())
        } else {
            (String::new(), params.clone())
        };
        if invoke {
            self.history.push(
                self.now(),
                EventKind::TaskScheduled {
                    details: TaskScheduledEventDetails {
                        resource_type: "lambda".into(),
                        resource: "invoke".into(),
                        region: arn::REGION.to_string(),
                        parameters: params.to_string(),
                        task_credentials: task_credentials(&credentials),
                    },
                },
            );
            self.history.push(self.now(), EventKind::TaskStarted { details: None });
        } else {
            self.history.push(
                self.now(),
                EventKind::LambdaFunctionScheduled {
                    details: LambdaFunctionScheduledEventDetails {
                        resource: resource.to_string(),
                        input: params.to_string(),
                        task_credentials: task_credentials(&credentials),
                    },
                },
            );
            self.history.push(self.now(), EventKind::LambdaFunctionStarted);
        }

        let invocation = {
            let mut counts = self.invocations.lock().expect("invocations");
            let n = counts.entry(state.name.clone()).or_insert(0);
            *n += 1;
            *n - 1
        };
        let mocked = self.mocks.as_ref().and_then(|m| m.respond(&state.name, invocation));
        let result = match mocked {
            Some(response) => response,
            None => match self.bindings.resolve(&name) {
                None => Err(StatesError::new(
                    "States.TaskFailed",
                    format!(
                        "no handler is bound for resource {resource:?} (function {name:?}); bound: {:?}",
                        self.bindings.names().collect::<Vec<_>>()
                    ),
                )),
                Some(f) => {
                    // A task runs on its own, as a Lambda does: a Task timeout or a stopped
                    // execution stops waiting for it, not the function.
                    let task = tokio::spawn(f(payload));
                    let call = async move {
                        task.await.unwrap_or_else(|e| {
                            Err(StatesError::new(
                                "States.TaskFailed",
                                format!("the task's function panicked: {e}"),
                            ))
                        })
                    };
                    match timeout {
                        Some(limit) => match tokio::time::timeout(Duration::from_secs_f64(limit), call).await {
                            Ok(r) => r,
                            Err(_) => Err(StatesError::new("States.Timeout", format!("Task timed out after {limit} seconds"))),
                        },
                        None => call.await,
                    }
                    .map(|out| {
                        if invoke {
                            json!({"ExecutedVersion": "$LATEST", "Payload": out, "StatusCode": 200,
                                   "SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()}})
                        } else {
                            out
                        }
                    })
                }
            },
        };
        // The service quota: a result over 256 KiB of UTF-8 is refused (and, as recorded on AWS,
        // can be caught).
        let result = result.and_then(|out| {
            check_payload(&out, if invoke { "lambda" } else { resource })?;
            Ok(out)
        });
        if callback && result.is_ok() {
            return result;
        }
        let ended = if invoke {
            task_outcome(&result, None, &["States.Timeout"])
        } else {
            lambda_outcome(&result)
        };
        self.history.push(self.now(), ended);
        result
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

/// `IntervalSeconds × BackoffRate^attempt`, capped by `MaxDelaySeconds`, full jitter if asked.
fn retry_delay(retrier: &Retrier, attempt: u32) -> f64 {
    let mut delay = retrier.interval_seconds * retrier.backoff_rate.powi(attempt as i32);
    if let Some(max) = retrier.max_delay_seconds {
        delay = delay.min(max);
    }
    if retrier.full_jitter {
        fastrand::f64() * delay
    } else {
        delay
    }
}
