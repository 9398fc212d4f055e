//! The Step Functions API (AWS JSON 1.0 operations, by their `X-Amz-Target` names) over a registry
//! of state machines and their executions. Transport-free: a caller hands in the operation name
//! and the JSON body and gets the JSON answer or an AWS-shaped error (`__type`, `message`); the
//! harness serves it over HTTP on the world's endpoint. Task bindings and mocks are the embedder's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::arn;
use crate::exec::{Bindings, EndHook, Executor, Handle, RunOptions, StateTestOptions, Status, TimeMode};
use crate::mock::{MockConfig, MockedResponse, MockedThrow, TestCase};
use crate::model::StateMachine;
use crate::tokens::{TaskTokens, TokenError};
use crate::variables::Variables;

/// An error as the Step Functions API returns it: HTTP 400, `{"__type": kind, "message": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    pub kind: &'static str,
    pub message: String,
}

fn api_error(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        kind,
        message: message.into(),
    }
}

/// A request's `input` (JSON text; `{}` when absent).
fn execution_input(body: &Value) -> Result<Value, ApiError> {
    match optional(body, "input") {
        // The API's length constraint on `input` (API_StartExecution: at most 262,144 bytes).
        Some(text) if text.len() > crate::exec::MAX_PAYLOAD_BYTES => Err(validation(format!(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {}",
            crate::exec::MAX_PAYLOAD_BYTES
        ))),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            api_error(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        }),
        None => Ok(json!({})),
    }
}

fn no_machine(arn: &str) -> ApiError {
    api_error(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

fn validation(message: impl Into<String>) -> ApiError {
    api_error("ValidationException", message)
}

/// AWS JSON dates are epoch seconds.
fn epoch(at: OffsetDateTime) -> Value {
    json!(at.unix_timestamp_nanos() as f64 / 1e9)
}

struct Machine {
    name: String,
    arn: String,
    definition: String,
    role_arn: String,
    kind: String,
    created: OffsetDateTime,
    executor: Executor,
}

struct ExecutionEntry {
    machine_arn: String,
    handle: Handle,
}

#[derive(Default)]
struct Registry {
    machines: BTreeMap<String, Machine>,
    /// In start order.
    executions: Vec<ExecutionEntry>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
}

/// What the service runs executions with.
pub struct ServiceOptions {
    pub bindings: Bindings,
    /// `SFN_MOCK_CONFIG`: test cases chosen with `stateMachineArn#TestCaseName` on StartExecution.
    pub mocks: Option<MockConfig>,
    pub time: TimeMode,
    /// StartExecution's rate quota (`RateQuota::START_EXECUTION`, AWS's), or none.
    pub start_quota: Option<crate::quota::RateQuota>,
}

pub struct Service {
    registry: Mutex<Registry>,
    options: ServiceOptions,
    tokens: Arc<TaskTokens>,
    events: tokio::sync::broadcast::Sender<Value>,
    /// Executions that ended, counted before their outcome is visible (see `ended`).
    ended: Arc<std::sync::atomic::AtomicUsize>,
    start_bucket: Option<crate::quota::TokenBucket>,
}

/// The most input or output a status-change event carries (248 KiB).
pub const EVENT_PAYLOAD_LIMIT: usize = 248 * 1024;

/// The EventBridge event AWS sends on an execution's status change (`RUNNING` at the start, its
/// final status at the end); `detail` is shaped as DescribeExecution answers.
fn status_change_event(mut detail: Value) -> Value {
    // EventBridge leaves out an input or output past 248 KiB, saying so in its `…Details`
    // ("Step Functions events in EventBridge", AWS Step Functions Developer Guide); who needs
    // it asks DescribeExecution.
    for (field, details) in [("input", "inputDetails"), ("output", "outputDetails")] {
        if detail[field]
            .as_str()
            .is_some_and(|text| text.len() > EVENT_PAYLOAD_LIMIT)
        {
            detail.as_object_mut().map(|d| d.remove(field));
            detail[details] = json!({"included": false});
        }
    }
    let at = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": arn::ACCOUNT,
        "time": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "region": arn::REGION,
        "resources": [detail["executionArn"].clone()],
        "detail": detail,
    })
}

/// An execution as DescribeExecution (and the status-change event's `detail`) shows it.
fn execution_detail(handle: &Handle, ended: Option<(&crate::exec::Execution, OffsetDateTime)>) -> Value {
    let mut out = json!({"executionArn": handle.arn, "stateMachineArn": handle.state_machine_arn, "name": handle.name,
        "status": "RUNNING", "startDate": epoch(handle.start_date), "input": handle.input.to_string(),
        "inputDetails": {"included": true}, "redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE"});
    if let Some((execution, stopped)) = ended {
        out["status"] = json!(execution.status.as_str());
        out["stopDate"] = epoch(stopped);
        if let Some(output) = &execution.output {
            out["output"] = json!(output.to_string());
            out["outputDetails"] = json!({"included": true});
        }
        if let Some(error) = &execution.error {
            out["error"] = json!(error);
        }
        if let Some(cause) = &execution.cause {
            out["cause"] = json!(cause);
        }
        if execution.status != Status::Succeeded {
            out["redriveStatus"] = json!("REDRIVABLE");
        }
    }
    out
}

fn string<'a>(body: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn optional<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// Names of state machines and executions: 1–80 characters, none of AWS's forbidden ones.
fn check_name(name: &str) -> Result<(), ApiError> {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(forbidden) {
        return Err(api_error("InvalidName", format!("Invalid Name: '{name}'")));
    }
    Ok(())
}

/// `maxResults` / `nextToken` paging over a list.
fn page(items: Vec<Value>, body: &Value, field: &str) -> Result<Value, ApiError> {
    let start = match optional(body, "nextToken") {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| api_error("InvalidToken", format!("Invalid Token: '{token}'")))?,
        None => 0,
    };
    // AWS: 0..=1000, 0 (or none) meaning its default page of 100.
    let max = match body.get("maxResults").and_then(Value::as_u64) {
        None | Some(0) => 100,
        Some(max @ 1..=1000) => max as usize,
        Some(max) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
            )));
        }
    };
    let end = (start + max).min(items.len());
    let mut out = Map::new();
    out.insert(
        field.into(),
        Value::Array(items.get(start..end).unwrap_or_default().to_vec()),
    );
    if end < items.len() {
        out.insert("nextToken".into(), json!(end.to_string()));
    }
    Ok(Value::Object(out))
}

impl Service {
    pub fn new(options: ServiceOptions) -> Self {
        Self {
            registry: Mutex::new(Registry::default()),
            tokens: Arc::new(TaskTokens::default()),
            events: tokio::sync::broadcast::channel(4096).0,
            ended: Arc::default(),
            start_bucket: options
                .start_quota
                .map(|quota| crate::quota::TokenBucket::new(quota, options.time)),
            options,
        }
    }

    /// "Step Functions Execution Status Change" events, as EventBridge receives them from AWS.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<Value> {
        self.events.subscribe()
    }

    /// How many executions have ended. It counts an execution before its outcome becomes
    /// visible, and its end event is sent by then: a waiter that saw an outcome and then
    /// handled this many end events has handled that execution's.
    pub fn ended(&self) -> usize {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().expect("registry")
    }

    /// Calls an operation (`ListStateMachines`, …) with its JSON body.
    pub async fn call(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        match operation {
            "CreateStateMachine" => self.create_state_machine(body),
            "DescribeStateMachine" => self.describe_state_machine(body),
            "ListStateMachines" => self.list_state_machines(body),
            "UpdateStateMachine" => self.update_state_machine(body),
            "DeleteStateMachine" => self.delete_state_machine(body),
            "ValidateStateMachineDefinition" => Ok(validate_definition(body)),
            "TestState" => test_state(body, &self.options.bindings).await,
            "StartExecution" => self.start_execution(body),
            "StartSyncExecution" => self.start_sync_execution(body).await,
            "DescribeExecution" => self.describe_execution(body),
            "ListExecutions" => self.list_executions(body),
            "GetExecutionHistory" => self.get_execution_history(body),
            "StopExecution" => self.stop_execution(body),
            "SendTaskSuccess" => self.send_task(body, |tokens, token| {
                let output = string(body, "output")?;
                let output = serde_json::from_str(output)
                    .map_err(|e| api_error("InvalidOutput", format!("Invalid Output: '{e}'")))?;
                Ok(tokens.succeed(token, output))
            }),
            "SendTaskFailure" => self.send_task(body, |tokens, token| {
                let error = optional(body, "error").unwrap_or_default();
                Ok(tokens.fail(token, error, optional(body, "cause").unwrap_or_default()))
            }),
            "SendTaskHeartbeat" => self.send_task(body, |tokens, token| Ok(tokens.heartbeat(token))),
            "TagResource" => self.tag_resource(body),
            "UntagResource" => self.untag_resource(body),
            "ListTagsForResource" => self.list_tags(body),
            other => Err(api_error(
                "UnknownOperationException",
                format!("{other} is not an operation this Step Functions emulator serves"),
            )),
        }
    }

    /// Registers a state machine (as CreateStateMachine does); an existing one of the same name
    /// and definition is returned as it is.
    pub fn register(&self, name: &str, definition: &str, role_arn: &str) -> Result<String, ApiError> {
        let body = json!({"name": name, "definition": definition, "roleArn": role_arn});
        let created = self.create_state_machine(&body)?;
        Ok(created["stateMachineArn"].as_str().unwrap_or_default().to_string())
    }

    /// Starts an execution of a registered machine with the given mocks (the world's Pipe does).
    pub fn start(&self, machine_arn: &str, input: Value, mocks: Option<TestCase>) -> Result<Handle, ApiError> {
        self.start_named(machine_arn, uuid::Uuid::new_v4().to_string(), input, mocks)
    }

    fn start_named(
        &self,
        machine_arn: &str,
        name: String,
        input: Value,
        mocks: Option<TestCase>,
    ) -> Result<Handle, ApiError> {
        check_name(&name)?;
        if self.start_bucket.as_ref().is_some_and(|bucket| !bucket.take()) {
            return Err(api_error("ThrottlingException", "Rate exceeded"));
        }
        let mut registry = self.registry();
        let machine = registry
            .machines
            .get(machine_arn)
            .ok_or_else(|| no_machine(machine_arn))?;
        let execution_arn = arn::execution(&machine.name, &name);
        if registry.executions.iter().any(|e| e.handle.arn == execution_arn) {
            return Err(api_error(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{execution_arn}'"),
            ));
        }
        let (events, ended) = (self.events.clone(), self.ended.clone());
        let on_end = EndHook(Arc::new(
            move |handle: &Handle, execution: &crate::exec::Execution, stopped| {
                ended.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // The hook runs just before the outcome is published; the event goes out after
                // it, as AWS sends it once the execution is closed, so a consumer that calls
                // DescribeExecution on the event sees the end status.
                let event = status_change_event(execution_detail(handle, Some((execution, stopped))));
                let (events, handle) = (events.clone(), handle.clone());
                tokio::spawn(async move {
                    handle.wait().await;
                    let _ = events.send(event);
                });
            },
        ));
        let options = RunOptions {
            execution_name: name,
            state_machine_name: machine.name.clone(),
            mocks,
            time: self.options.time,
            inspect: false,
            tokens: self.tokens.clone(),
            on_end: Some(on_end),
            identity: None,
        };
        let handle = machine.executor.start(input, options);
        let _ = self.events.send(status_change_event(execution_detail(&handle, None)));
        registry.executions.push(ExecutionEntry {
            machine_arn: machine_arn.to_string(),
            handle: handle.clone(),
        });
        Ok(handle)
    }

    fn machine_arn<'a>(&self, body: &'a Value) -> Result<&'a str, ApiError> {
        string(body, "stateMachineArn")
    }

    fn create_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let name = string(body, "name")?;
        check_name(name)?;
        let definition = string(body, "definition")?;
        let role_arn = optional(body, "roleArn").unwrap_or_default().to_string();
        let kind = optional(body, "type").unwrap_or("STANDARD").to_string();
        if kind != "STANDARD" && kind != "EXPRESS" {
            return Err(validation(format!("type {kind:?} is not STANDARD or EXPRESS")));
        }
        let machine = StateMachine::from_json(definition).map_err(|errors| {
            api_error(
                "InvalidDefinition",
                format!("Invalid State Machine Definition: '{}'", errors.joined()),
            )
        })?;
        let machine_arn = arn::state_machine(name);
        let mut registry = self.registry();
        if let Some(existing) = registry.machines.get(&machine_arn) {
            if existing.definition == definition && existing.role_arn == role_arn && existing.kind == kind {
                return Ok(json!({"stateMachineArn": machine_arn, "creationDate": epoch(existing.created)}));
            }
            return Err(api_error(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{machine_arn}'"),
            ));
        }
        let created = OffsetDateTime::now_utc();
        registry.machines.insert(
            machine_arn.clone(),
            Machine {
                name: name.to_string(),
                arn: machine_arn.clone(),
                definition: definition.to_string(),
                role_arn,
                kind,
                created,
                executor: Executor::new(machine, self.options.bindings.clone()),
            },
        );
        if let Some(tags) = body.get("tags").and_then(Value::as_array) {
            let entry = registry.tags.entry(machine_arn.clone()).or_default();
            for tag in tags {
                if let (Some(k), Some(v)) = (tag["key"].as_str(), tag["value"].as_str()) {
                    entry.insert(k.into(), v.into());
                }
            }
        }
        Ok(json!({"stateMachineArn": machine_arn, "creationDate": epoch(created)}))
    }

    fn with_machine<T>(&self, arn: &str, f: impl FnOnce(&Machine) -> T) -> Result<T, ApiError> {
        let registry = self.registry();
        registry.machines.get(arn).map(f).ok_or_else(|| no_machine(arn))
    }

    fn describe_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        self.with_machine(self.machine_arn(body)?, |m| {
            json!({"stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "definition": m.definition,
                   "roleArn": m.role_arn, "type": m.kind, "creationDate": epoch(m.created),
                   "loggingConfiguration": {"level": "OFF", "includeExecutionData": false}})
        })
    }

    fn list_state_machines(&self, body: &Value) -> Result<Value, ApiError> {
        let items = self
            .registry()
            .machines
            .values()
            .map(
                |m| json!({"stateMachineArn": m.arn, "name": m.name, "type": m.kind, "creationDate": epoch(m.created)}),
            )
            .collect();
        page(items, body, "stateMachines")
    }

    fn update_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.machine_arn(body)?;
        if body.get("definition").is_none() && body.get("roleArn").is_none() {
            return Err(api_error(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        let parsed = match optional(body, "definition") {
            Some(text) => Some((
                text.to_string(),
                StateMachine::from_json(text).map_err(|errors| {
                    api_error(
                        "InvalidDefinition",
                        format!("Invalid State Machine Definition: '{}'", errors.joined()),
                    )
                })?,
            )),
            None => None,
        };
        let mut registry = self.registry();
        let machine = registry.machines.get_mut(arn).ok_or_else(|| no_machine(arn))?;
        if let Some((text, parsed)) = parsed {
            machine.definition = text;
            machine.executor = Executor::new(parsed, self.options.bindings.clone());
        }
        if let Some(role) = optional(body, "roleArn") {
            machine.role_arn = role.to_string();
        }
        Ok(json!({"updateDate": epoch(OffsetDateTime::now_utc())}))
    }

    fn delete_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.machine_arn(body)?;
        // AWS answers a delete of an unknown machine with success too.
        let mut registry = self.registry();
        registry.machines.remove(arn);
        registry.tags.remove(arn);
        Ok(json!({}))
    }

    fn start_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let handle = self.start_from_request(body)?;
        Ok(json!({"executionArn": handle.arn, "startDate": epoch(handle.start_date)}))
    }

    /// StartExecution's request: `stateMachineArn[#TestCase]`, `name`, `input`.
    fn start_from_request(&self, body: &Value) -> Result<Handle, ApiError> {
        let target = self.machine_arn(body)?;
        let (machine_arn, test_case) = match target.split_once('#') {
            Some((arn, case)) => (arn, Some(case)),
            None => (target, None),
        };
        let input = execution_input(body)?;
        let mocks = match test_case {
            None => None,
            Some(case) => {
                let config = self.options.mocks.as_ref().ok_or_else(|| {
                    validation(format!(
                        "test case {case:?} asked for, but the service has no mock config (SFN_MOCK_CONFIG)"
                    ))
                })?;
                let name = self.with_machine(machine_arn, |m| m.name.clone())?;
                Some(
                    config
                        .test_case(Some(&name), case)
                        .map_err(|e| validation(e.to_string()))?,
                )
            }
        };
        let name = optional(body, "name").map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
        self.start_named(machine_arn, name, input, mocks)
    }

    async fn start_sync_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let kind = self.with_machine(self.machine_arn(body)?.split('#').next().unwrap_or_default(), |m| {
            m.kind.clone()
        })?;
        if kind != "EXPRESS" {
            return Err(api_error(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let handle = self.start_from_request(body)?;
        handle.wait().await;
        let mut described = self.describe(&handle, None);
        if let Value::Object(map) = &mut described {
            map.insert(
                "billingDetails".into(),
                json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}),
            );
        }
        Ok(described)
    }

    fn execution(&self, body: &Value) -> Result<(Handle, String), ApiError> {
        let arn = string(body, "executionArn")?;
        self.registry()
            .executions
            .iter()
            .find(|e| e.handle.arn == arn)
            .map(|e| (e.handle.clone(), e.machine_arn.clone()))
            .ok_or_else(|| api_error("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")))
    }

    fn describe(&self, handle: &Handle, _machine_arn: Option<&str>) -> Value {
        let ended = handle.outcome();
        execution_detail(handle, ended.as_ref().map(|(execution, stopped)| (execution, *stopped)))
    }

    fn describe_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let (handle, machine_arn) = self.execution(body)?;
        Ok(self.describe(&handle, Some(&machine_arn)))
    }

    fn list_executions(&self, body: &Value) -> Result<Value, ApiError> {
        let machine_arn = self.machine_arn(body)?;
        self.with_machine(machine_arn, |_| ())?;
        let filter = optional(body, "statusFilter");
        let items = self
            .registry()
            .executions
            .iter()
            .rev()
            .filter(|e| e.machine_arn == machine_arn)
            .map(|e| self.describe(&e.handle, None))
            .filter(|d| filter.is_none_or(|f| d["status"] == f))
            .map(|d| {
                let keep = [
                    "executionArn",
                    "stateMachineArn",
                    "name",
                    "status",
                    "startDate",
                    "stopDate",
                ];
                Value::Object(
                    d.as_object()
                        .map(|m| {
                            m.iter()
                                .filter(|(k, _)| keep.contains(&k.as_str()))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            })
            .collect();
        page(items, body, "executions")
    }

    fn get_execution_history(&self, body: &Value) -> Result<Value, ApiError> {
        let (handle, _) = self.execution(body)?;
        let mut events: Vec<Value> = handle
            .history()
            .into_iter()
            .map(|event| {
                let mut answer = serde_json::to_value(&event).unwrap_or_default();
                // AWS JSON dates are epoch seconds; the recorded history has RFC 3339 text.
                if let Some(answer) = answer.as_object_mut() {
                    answer.insert("timestamp".into(), epoch(event.timestamp));
                }
                answer
            })
            .collect();
        if body.get("reverseOrder").and_then(Value::as_bool) == Some(true) {
            events.reverse();
        }
        page(events, body, "events")
    }

    fn stop_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let (handle, _) = self.execution(body)?;
        handle.stop(
            optional(body, "error").map(str::to_string),
            optional(body, "cause").map(str::to_string),
        );
        let stopped = handle.outcome().map_or_else(OffsetDateTime::now_utc, |(_, at)| at);
        Ok(json!({"stopDate": epoch(stopped)}))
    }

    /// SendTask*: the token must be one a callback task is waiting on.
    fn send_task(
        &self,
        body: &Value,
        answer: impl FnOnce(&TaskTokens, &str) -> Result<Result<(), TokenError>, ApiError>,
    ) -> Result<Value, ApiError> {
        let token = string(body, "taskToken")?;
        if token.is_empty() || token.len() > 2048 {
            return Err(api_error("InvalidToken", "Invalid Token"));
        }
        match answer(&self.tokens, token)? {
            Ok(()) => Ok(json!({})),
            Err(TokenError::TaskDoesNotExist) => Err(api_error("TaskDoesNotExist", "Task Does Not Exist")),
        }
    }

    fn resource_arn<'a>(&self, body: &'a Value) -> Result<&'a str, ApiError> {
        let arn = string(body, "resourceArn")?;
        // Tags belong to state machines and activities (TagResource's page); this service has
        // no activities, and an execution is not taggable.
        let known = self.registry().machines.contains_key(arn);
        if !known {
            return Err(api_error("ResourceNotFound", format!("Resource not found: '{arn}'")));
        }
        Ok(arn)
    }

    fn tag_resource(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.resource_arn(body)?;
        let mut registry = self.registry();
        let entry = registry.tags.entry(arn.to_string()).or_default();
        for tag in body.get("tags").and_then(Value::as_array).into_iter().flatten() {
            let (Some(key), Some(value)) = (tag["key"].as_str(), tag["value"].as_str()) else {
                return Err(validation("each tag needs a key and a value"));
            };
            entry.insert(key.into(), value.into());
        }
        Ok(json!({}))
    }

    fn untag_resource(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.resource_arn(body)?;
        let mut registry = self.registry();
        if let Some(entry) = registry.tags.get_mut(arn) {
            for key in body.get("tagKeys").and_then(Value::as_array).into_iter().flatten() {
                entry.remove(key.as_str().unwrap_or_default());
            }
        }
        Ok(json!({}))
    }

    fn list_tags(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = self.resource_arn(body)?;
        let registry = self.registry();
        let tags: Vec<Value> = registry
            .tags
            .get(arn)
            .into_iter()
            .flatten()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        Ok(json!({"tags": tags}))
    }
}

/// The states a lone state hands over to (`Next`, `Default`, `Choices[].Next`, `Catch[].Next`).
fn targets(state: &Value) -> Vec<String> {
    let mut out: Vec<String> = [state.get("Next"), state.get("Default")]
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for list in ["Choices", "Catch"] {
        for item in state.get(list).and_then(Value::as_array).into_iter().flatten() {
            if let Some(next) = item.get("Next").and_then(Value::as_str) {
                out.push(next.to_string());
            }
        }
    }
    out
}

/// TestState: one state run once, with AWS's request and response shapes. The definition is a
/// lone state, or a whole state machine with `stateName` choosing the state (default: StartAt).
pub async fn test_state(body: &Value, bindings: &Bindings) -> Result<Value, ApiError> {
    let text = string(body, "definition")?;
    let definition: Value = serde_json::from_str(text).map_err(|e| {
        api_error(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: 'the definition is not JSON: {e}'"),
        )
    })?;
    let (machine, state_name) = if definition.get("States").is_some() {
        let name = optional(body, "stateName")
            .or_else(|| definition.get("StartAt").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        (definition, name)
    } else {
        // A lone state may name states that are not there: stand-ins make it a valid machine.
        let name = optional(body, "stateName").unwrap_or("TestState").to_string();
        let mut states = Map::new();
        for target in targets(&definition) {
            states.insert(target, json!({"Type": "Succeed"}));
        }
        states.insert(name.clone(), definition);
        (json!({"StartAt": name, "States": states}), name)
    };
    let parsed = StateMachine::from_value(&machine).map_err(|errors| {
        api_error(
            "InvalidDefinition",
            format!("Invalid State Machine Definition: '{}'", errors.joined()),
        )
    })?;
    if !parsed.states.contains_key(&state_name) {
        return Err(validation(format!(
            "stateName {state_name:?} is not a state of the definition"
        )));
    }
    let input = execution_input(body)?;
    // `variables`: JSON text of an object, the variables in scope when the state runs.
    let variables = match body.get("variables") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            let value: Value =
                serde_json::from_str(text).map_err(|e| validation(format!("variables is not valid JSON: {e}")))?;
            Some(Variables::from_json(value).map_err(|e| validation(format!("variables: {e}")))?)
        }
        Some(other) => return Err(validation(format!("variables must be a string of JSON, got {other}"))),
    };
    let mocks = match body.get("mock") {
        None => None,
        Some(mock) => {
            let response = if let Some(result) = mock.get("result").and_then(Value::as_str) {
                MockedResponse::Return(
                    serde_json::from_str(result).map_err(|e| validation(format!("mock.result is not JSON: {e}")))?,
                )
            } else if let Some(error) = mock.get("errorOutput") {
                MockedResponse::Throw(MockedThrow {
                    error: error["error"].as_str().unwrap_or_default().to_string(),
                    cause: error["cause"].as_str().unwrap_or_default().to_string(),
                })
            } else {
                return Err(validation("mock needs result or errorOutput"));
            };
            Some(TestCase::always(&state_name, response))
        }
    };
    let configuration = &body["stateConfiguration"];
    let options = StateTestOptions {
        mocks,
        retrier_retry_count: configuration["retrierRetryCount"].as_u64().unwrap_or(0) as u32,
        item_reader_data: configuration["mapItemReaderData"].as_str().map(str::to_string),
        map_iteration_failure_count: configuration["mapIterationFailureCount"].as_u64(),
        error_caused_by_state: configuration["errorCausedByState"].as_str().map(str::to_string),
        variables,
    };
    let executor = Executor::new(parsed, bindings.clone());
    let test = executor
        .test_state(&state_name, input, options)
        .await
        .map_err(|e| validation(e.to_string()))?;
    let mut out = json!({"status": test.status});
    if let Some(next) = &test.next_state {
        out["nextState"] = json!(next);
    }
    if let Some(output) = &test.output {
        out["output"] = json!(output.to_string());
    }
    if let Some(error) = &test.error {
        out["error"] = json!(error.error);
        out["cause"] = json!(error.cause);
    }
    let level = optional(body, "inspectionLevel").unwrap_or("INFO");
    if level == "DEBUG" || level == "TRACE" {
        let mut data = Map::new();
        if let Value::Object(fields) = serde_json::to_value(&test.inspection).unwrap_or_default() {
            for (field, value) in fields {
                // AWS gives the data as JSON text; errorDetails and the Map's numbers stay as they are.
                let as_is = matches!(
                    field.as_str(),
                    "errorDetails" | "toleratedFailureCount" | "toleratedFailurePercentage" | "maxConcurrency"
                );
                let value = if as_is { value } else { json!(value.to_string()) };
                data.insert(field, value);
            }
        }
        out["inspectionData"] = Value::Object(data);
    }
    Ok(out)
}

/// ValidateStateMachineDefinition: `OK`, or `FAIL` with one diagnostic per problem.
fn validate_definition(body: &Value) -> Value {
    let Some(definition) = optional(body, "definition") else {
        return json!({"result": "FAIL", "diagnostics": [{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "definition is required"}]});
    };
    match StateMachine::from_json(definition) {
        Ok(_) => json!({"result": "OK", "diagnostics": []}),
        Err(errors) => {
            let diagnostics: Vec<Value> = errors
                .0
                .iter()
                .map(|d| {
                    json!({"severity": "ERROR", "code": d.code.as_str(), "message": d.message,
                           "location": d.api_location()})
                })
                .collect();
            json!({"result": "FAIL", "diagnostics": diagnostics})
        }
    }
}
