//! Map (inline, and a Distributed Map's iterations) and Parallel: states that run machines
//! inside them, each iteration or branch in its own variable scope.

use super::*;

/// A Map's tolerated failures, resolved.
pub(super) struct Tolerated {
    count: Option<u64>,
    percentage: Option<f64>,
}

impl Tolerated {
    pub(super) fn resolve(
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

    pub(super) fn exceeded(&self, failed: usize, total: usize) -> bool {
        let over_count = self.count.is_some_and(|c| failed as u64 > c);
        let over_percentage = self
            .percentage
            .is_some_and(|p| total > 0 && (failed as f64) * 100.0 / (total as f64) > p);
        over_count || over_percentage
    }
}

/// A tolerance's number; a `…Path` must find one (an integer for counts, a float for percentages).
pub(super) fn tolerance_number(
    tolerance: &Tolerance,
    field: &str,
    input: &Value,
    env: &Env<'_>,
) -> Result<f64, StatesError> {
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

impl Run {
    /// A Parallel state's branches, all at once, each with the state's input; their outputs in
    /// order, or the first failure.
    pub(super) async fn parallel(
        &self,
        branches: &[StateMachine],
        params: Value,
        env: &Env<'_>,
    ) -> Result<Value, StatesError> {
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

    /// A Map state's iterations: its items (ItemsPath, Items or a Distributed Map's ItemReader)
    /// through ItemSelector and ItemBatcher, run at most MaxConcurrency at a time; their outputs in
    /// order (or where a ResultWriter put them), unless more failed than it tolerates.
    pub(super) async fn map(
        &self,
        state: &State,
        params: Value,
        env: &Env<'_>,
        ins: &Inspector,
    ) -> Result<Value, StatesError> {
        let Kind::Map {
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
        } = &state.kind
        else {
            unreachable!("a Map state")
        };
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
                        (Some(Template::Query(q)), _) => q.error(&format!("returned {items}, which is not an array.")),
                        (_, QueryLanguage::Jsonata) => {
                            StatesError::query("Items", format!("The field 'Items' must be a JSON array, got {items}"))
                        }
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
        let tolerated = Tolerated::resolve(tolerated_count.as_ref(), tolerated_percentage.as_ref(), &params, env)?;
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
        let total = inputs.len();
        // Failures so far: once they decide the Map's failure, no iteration starts (as recorded
        // on AWS: with MaxConcurrency 1, the failing iteration is the last one started).
        let failures = std::sync::atomic::AtomicUsize::new(0);
        let decided = |failed: usize| match &tolerated {
            None => failed > 0,
            Some(tolerated) => tolerated.exceeded(failed, total),
        };
        let iterations = inputs.into_iter().enumerate().map(|(index, (input, map_item))| {
            let semaphore = &semaphore;
            let scope = &scope;
            let failures = &failures;
            let decided = &decided;
            async move {
                let _permit = semaphore.acquire().await.expect("never closed");
                if decided(failures.load(std::sync::atomic::Ordering::SeqCst)) {
                    return None;
                }
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
                    failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    EventKind::MapIterationFailed { details: iteration() }
                };
                self.history.push(self.now(), ended);
                Some((input, result))
            }
        });
        let started = futures::future::join_all(iterations).await;
        let stopped = started.iter().any(Option::is_none);
        let results: Vec<_> = started.into_iter().flatten().collect();
        let failed = results.iter().filter(|(_, r)| r.is_err()).count();
        let outcome = match &tolerated {
            // Without a tolerance, the first failure is the Map's.
            None => results
                .iter()
                .find_map(|(_, r)| r.as_ref().err().cloned())
                .map_or(Ok(()), Err),
            Some(tolerated) if stopped || tolerated.exceeded(failed, total) => Err(StatesError::new(
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
}
