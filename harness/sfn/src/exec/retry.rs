//! Task, Parallel and Map states: their input and result pipeline (InputPath, Parameters or
//! Arguments, ResultSelector, ResultPath, OutputPath or Output), and Retry and Catch around it.

use super::*;

impl Run {
    /// Task, Parallel, Map: the full I/O pipeline with Retry and Catch around the work.
    /// One pass through a work state's input pipeline and its work: the result after
    /// ResultSelector, or the error.
    pub(super) async fn attempt(
        &self,
        state: &State,
        raw: &Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<Value, StatesError> {
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
    pub(super) fn finish_work(
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
    pub(super) fn caught(
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

    pub(super) async fn work_state(
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
            Kind::Parallel { branches } => self.parallel(branches, params, env).await,
            Kind::Map { .. } => self.map(state, params, env, ins).await,
            _ => unreachable!("only work states get here"),
        }
    }
}

/// Whether `names` (an ErrorEquals) matches `error`.
pub(crate) fn matches(names: &[String], error: &StatesError) -> bool {
    if error.error == "States.Runtime" {
        return false;
    }
    names.iter().any(|n| {
        n == &error.error || n == "States.ALL" || (n == "States.TaskFailed" && error.error != "States.Timeout")
    })
}

/// `IntervalSeconds × BackoffRate^attempt`, capped by `MaxDelaySeconds`, full jitter if asked.
pub(super) fn retry_delay(retrier: &Retrier, attempt: u32) -> f64 {
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
