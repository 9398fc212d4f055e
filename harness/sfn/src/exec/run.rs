//! The run loop: a machine's states one after the other from its StartAt, each entered and
//! exited in the history, and the states that do no work (Pass, Wait, Choice, Succeed, Fail).

use super::*;

impl Run {
    /// Records how the execution ended: `result` is the machine's, or the stop that cut it short.
    pub(super) fn finish(
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
                // A Fail state without Error (or Cause) leaves it out, as DescribeExecution does.
                let some = |s: String| (!s.is_empty()).then_some(s);
                (Status::Failed, None, some(e.error), some(e.cause))
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
pub(super) fn jsonata_output(
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

/// A JSONata field's value that must be a non-negative integer (at most `max`).
pub(super) fn query_integer(
    query: &crate::query::Query,
    input: &Value,
    env: &Env<'_>,
    max: f64,
) -> Result<f64, StatesError> {
    let value = query.eval(input, env)?;
    match value.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= max) {
        Some(n) => Ok(n),
        None => Err(query.error(&format!("returned {value}, which is not an integer from 0 to {max}."))),
    }
}

impl Run {
    pub(super) fn now(&self) -> OffsetDateTime {
        match self.time {
            TimeMode::Virtual | TimeMode::Accelerated(_) => *self.clock.lock().expect("clock"),
            TimeMode::Real => OffsetDateTime::now_utc(),
        }
    }

    pub(super) async fn sleep(&self, seconds: f64) {
        if seconds <= 0.0 {
            return;
        }
        if self.time != TimeMode::Real {
            *self.clock.lock().expect("clock") += time::Duration::seconds_f64(seconds);
        }
        let real = self.time.real_wait(Duration::from_secs_f64(seconds));
        if !real.is_zero() {
            tokio::time::sleep(real).await;
        }
    }

    pub(super) fn machine<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        self.machine_with(machine, input, self.context.clone(), Variables::default())
    }

    /// Runs `machine`'s states from its StartAt in the variable scope `variables` (the
    /// execution's, a Parallel branch's or a Map iteration's).
    pub(super) fn machine_with<'a>(
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

    pub(super) fn flow(state: &State, output: Value) -> Flow {
        match &state.next {
            Some(next) => Flow::Next(next.clone(), output),
            None => Flow::End(output),
        }
    }

    /// Runs one state: how it hands on, and what its `Assign` (or its Choice rule's, or its
    /// Catcher's) evaluated to, still to be committed.
    pub(super) async fn state(
        &self,
        state: &State,
        raw: Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<(Flow, Assignment), StatesError> {
        ins.record(|i| &mut i.input, &raw);
        match &state.kind {
            Kind::Succeed => Self::succeed(state, &raw, env),
            Kind::Fail { .. } => Self::fail(state, &raw, env),
            Kind::Choice { choices, default } => Self::choice(state, choices, default, &raw, env, ins),
            Kind::Wait { wait } => self.wait(state, wait, &raw, env).await,
            Kind::Pass { result } => Self::pass(state, result, &raw, env, ins),
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map { .. } => self.work_state(state, raw, env, ins).await,
        }
    }

    /// A Succeed state: its input through InputPath and OutputPath (or its `Output`).
    fn succeed(state: &State, raw: &Value, env: &Env<'_>) -> Result<(Flow, Assignment), StatesError> {
        let output = state.output_path.apply(&state.input_path.apply(raw, env)?, env)?;
        let output = jsonata_output(&state.output, output, raw, States::default(), env)?;
        Ok((Flow::End(output), Assignment::default()))
    }

    /// A Fail state's error: its Error and Cause, fixed or from their `…Path` (or JSONata).
    fn fail(state: &State, raw: &Value, env: &Env<'_>) -> Result<(Flow, Assignment), StatesError> {
        let Kind::Fail {
            error,
            cause,
            error_path,
            cause_path,
        } = &state.kind
        else {
            unreachable!("a Fail state")
        };
        let pick = |fixed: &Option<String>, selector: &Option<Template>| -> Result<Option<String>, StatesError> {
            match selector {
                Some(t) => match t.eval(raw, env)? {
                    Value::String(s) => Ok(Some(s)),
                    // A JSONata Error or Cause "MUST be a string": its expression failed.
                    other => Err(match t.as_query() {
                        Some(q) => q.error(&format!("returned {other}, which is not a string.")),
                        None => {
                            StatesError::runtime(format!("The ErrorPath or CausePath must give a string, got {other}"))
                        }
                    }),
                },
                None => Ok(fixed.clone()),
            }
        };
        let error = pick(error, error_path)?.unwrap_or_default();
        let cause = pick(cause, cause_path)?.unwrap_or_default();
        Err(StatesError::new(error, cause))
    }

    /// A Choice state: the first rule that matches, or its Default.
    fn choice(
        state: &State,
        choices: &[model::ChoiceBranch],
        default: &Option<String>,
        raw: &Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<(Flow, Assignment), StatesError> {
        let effective = state.input_path.apply(raw, env)?;
        ins.record(|i| &mut i.after_input_path, &effective);
        // A rule taken assigns its own Assign; the state's is for its Default.
        for branch in choices {
            if branch.rule.eval(&effective, env)? {
                let assigned = model::assign(&branch.assign, &effective, env)?;
                let output = state.output_path.apply(&effective, env)?;
                let output = jsonata_output(&branch.output, output, raw, States::default(), env)?;
                return Ok((Flow::Next(branch.next.clone(), output), assigned));
            }
        }
        match default {
            Some(next) => {
                let assigned = model::assign(&state.assign, &effective, env)?;
                let output = state.output_path.apply(&effective, env)?;
                let output = jsonata_output(&state.output, output, raw, States::default(), env)?;
                Ok((Flow::Next(next.clone(), output), assigned))
            }
            None => Err(StatesError::new(
                "States.NoChoiceMatched",
                format!("No Matches! (state {})", state.name),
            )),
        }
    }

    /// A Wait state: its seconds or timestamp, fixed or from its input, waited on the run's clock.
    async fn wait(
        &self,
        state: &State,
        wait: &WaitFor,
        raw: &Value,
        env: &Env<'_>,
    ) -> Result<(Flow, Assignment), StatesError> {
        let effective = state.input_path.apply(raw, env)?;
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
            WaitFor::Timestamp(t) => self
                .seconds_until(t)
                .map_err(|_| StatesError::runtime(format!("The Timestamp {t:?} is not a valid RFC 3339 timestamp")))?,
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
        let output = jsonata_output(&state.output, output, raw, States::default(), env)?;
        Ok((Self::flow(state, output), assigned))
    }

    /// A Pass state: its Result (or its input, through Parameters) placed by ResultPath.
    fn pass(
        state: &State,
        result: &Option<Value>,
        raw: &Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<(Flow, Assignment), StatesError> {
        let effective = state.input_path.apply(raw, env)?;
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
            QueryLanguage::Jsonata => model::assign(&state.assign, raw, env)?,
        };
        let output = state.result_path.merge(raw.clone(), result)?;
        ins.record(|i| &mut i.after_result_path, &output);
        let output = state.output_path.apply(&output, env)?;
        let output = jsonata_output(&state.output, output, raw, States::default(), env)?;
        Ok((Self::flow(state, output), assigned))
    }

    fn seconds_until(&self, timestamp: &str) -> Result<f64, ()> {
        let at = crate::model::parse_timestamp(timestamp).ok_or(())?;
        Ok((at - self.now()).as_seconds_f64().max(0.0))
    }
}
