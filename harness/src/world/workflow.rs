//! The project's state machine bound to the pipeline's real handlers: the ASL deployment uses,
//! with its `${…FunctionArn}` substitutions filled in the way `DefinitionSubstitutions` does, and
//! each Lambda name bound to `Handlers::handle` in-process.

use crate::emulate::lambda::{Lambdas, lambda_error};
use std::sync::Arc;

use pipeline::{Handlers, Step};
use serde_json::Value;
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

/// Binds the three Lambda names to the world's Lambda service.
pub fn bindings(lambdas: Arc<Lambdas>) -> Bindings {
    let mut bindings = Bindings::default();
    for step in Step::ALL {
        let lambdas = lambdas.clone();
        let f: TaskFn = Arc::new(move |payload: Value| Box::pin(lambdas.invoke(step, payload)));
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
