//! Task states: a Lambda function (by ARN or `lambda:invoke`), a service integration, or a
//! callback task that waits for SendTask* on its token (with its heartbeat); their events.

use super::*;

/// The suffix of a callback task's resource.
pub(super) const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// A `TimeoutSeconds`/`HeartbeatSeconds` value; a `…Path` reads the state input and must find a
/// positive integer.
pub(super) fn limit_seconds(limit: Option<&Limit>, input: &Value, env: &Env<'_>) -> Result<Option<f64>, StatesError> {
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

/// The work a Task state's fields resolve to before it runs.
#[derive(Debug, Default)]
pub(super) struct TaskSetup {
    pub(super) timeout: Option<f64>,
    pub(super) heartbeat: Option<f64>,
    /// The evaluated `Credentials` (`{"RoleArn": …}`).
    pub(super) credentials: Option<Value>,
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

/// The function name in a Lambda ARN, partial ARN or plain name.
fn function_name(reference: &str) -> &str {
    match reference.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => reference.strip_prefix("function:").unwrap_or(reference),
    }
}

impl Run {
    pub(super) async fn task(
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
