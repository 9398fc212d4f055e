//! The project's state machine bound to the pipeline's real handlers: the ASL deployment uses,
//! with its `${…FunctionArn}` substitutions filled in the way `DefinitionSubstitutions` does, and
//! each Lambda name bound to `Handlers::handle` in-process.

use std::sync::Arc;

use pipeline::{Handlers, PipelineError, Step};
use serde_json::{Value, json};
use sfn::{Bindings, StateMachine, StatesError, TaskFn, ValidationErrors};

use super::placeholders::{Resolution, substitute};

/// Replaces every `${NameFunctionArn}` with the ARN of function `Name`, as the SAM template's
/// DefinitionSubstitutions do with the deployed functions; other placeholders stay.
pub fn substitute_function_arns(definition: &str) -> String {
    let resolved = substitute(definition, |name| match name.strip_suffix("FunctionArn") {
        Some(function) => Resolution::Value(sfn::arn::lambda_function(function)),
        None => Resolution::Keep,
    });
    // An unclosed `${` is left for the JSON parser to report where it is.
    resolved.unwrap_or_else(|_| definition.to_string())
}

/// Parses a definition after substituting function ARNs.
pub fn load(definition: &str) -> Result<StateMachine, ValidationErrors> {
    StateMachine::from_json(&substitute_function_arns(definition))
}

/// A pipeline error as Step Functions sees a Lambda error: the name is the `errorType`, the cause
/// is the Lambda error JSON.
pub fn lambda_error(err: &PipelineError) -> StatesError {
    StatesError::new(
        err.name(),
        json!({"errorType": err.name(), "errorMessage": err.to_string()}).to_string(),
    )
}

/// Lambda invocations in flight. An execution that ends (stopped, timed out) abandons its task
/// without cancelling it, as on AWS; settling waits for those too, so what they leave is judged.
#[derive(Debug)]
pub struct InFlight(tokio::sync::watch::Sender<usize>);

impl Default for InFlight {
    fn default() -> Self {
        Self(tokio::sync::watch::channel(0).0)
    }
}

impl InFlight {
    /// Counts one invocation until the guard drops.
    fn enter(self: &Arc<Self>) -> impl Drop + Send + use<> {
        struct Guard(Arc<InFlight>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.0.send_modify(|n| *n -= 1);
            }
        }
        self.0.send_modify(|n| *n += 1);
        Guard(self.clone())
    }

    /// Waits until no invocation is in flight.
    pub async fn idle(&self) {
        let _ = self.0.subscribe().wait_for(|n| *n == 0).await;
    }
}

/// Binds the three Lambda names to `handlers`, counting invocations in `in_flight`.
pub fn bindings(handlers: Arc<Handlers>, in_flight: Arc<InFlight>) -> Bindings {
    let mut bindings = Bindings::default();
    for step in Step::ALL {
        let (handlers, in_flight) = (handlers.clone(), in_flight.clone());
        let f: TaskFn = Arc::new(move |payload: Value| {
            let handlers = handlers.clone();
            let invocation = in_flight.enter();
            Box::pin(async move {
                let _invocation = invocation;
                handlers.handle(step, payload).await.map_err(|e| lambda_error(&e))
            })
        });
        bindings.bind(step.name(), f);
    }
    bindings
}

/// Binds the three Lambda names to handlers configured from the environment on first use (the
/// standalone CLI): a task fails with the configuration problem named if the environment lacks it.
pub fn bindings_from_env() -> Bindings {
    let cell: Arc<tokio::sync::OnceCell<Result<Arc<Handlers>, String>>> = Arc::new(tokio::sync::OnceCell::new());
    let mut bindings = Bindings::default();
    for step in Step::ALL {
        let cell = cell.clone();
        let f: TaskFn = Arc::new(move |payload: Value| {
            let cell = cell.clone();
            Box::pin(async move {
                let handlers = cell
                    .get_or_init(|| async { Handlers::from_env().await.map(Arc::new).map_err(|e| e.to_string()) })
                    .await
                    .clone()
                    .map_err(|e| {
                        StatesError::new("States.TaskFailed", format!("the pipeline is not configured: {e}"))
                    })?;
                handlers.handle(step, payload).await.map_err(|e| lambda_error(&e))
            })
        });
        bindings.bind(step.name(), f);
    }
    bindings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_function_arns_only() {
        let text = r#"{"a": "${SetRunningFunctionArn}", "b": "${Other}"}"#;
        assert_eq!(
            substitute_function_arns(text),
            r#"{"a": "arn:aws:lambda:us-east-1:123456789012:function:SetRunning", "b": "${Other}"}"#
        );
    }

    #[test]
    fn the_project_definition_is_valid() {
        let definition = crate::world::Project::default().state_machine().unwrap();
        load(&definition.text).unwrap_or_else(|e| panic!("{e}"));
    }
}
