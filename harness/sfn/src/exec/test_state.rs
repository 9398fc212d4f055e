//! TestState: one state run once (`Executor::test_state`), and what a state did with its data
//! step by step (`Inspection`, also recorded per state by `sfn run --inspect`).

use super::*;

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
pub(super) struct Inspector(Option<Mutex<Inspection>>);

impl Inspector {
    pub(super) fn on() -> Self {
        Self(Some(Mutex::new(Inspection::default())))
    }

    pub(super) fn record(&self, field: impl FnOnce(&mut Inspection) -> &mut Option<Value>, value: &Value) {
        if let Some(inspection) = &self.0 {
            *field(&mut inspection.lock().expect("inspection")) = Some(value.clone());
        }
    }

    pub(super) fn take(self) -> Option<Inspection> {
        self.0.map(|m| m.into_inner().expect("inspection"))
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
                Kind::Map { processor, .. } => processor.find_state(inner).is_some(),
                Kind::Parallel { branches } => branches.iter().any(|b| b.find_state(inner).is_some()),
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
