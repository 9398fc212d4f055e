//! The project's state machine, bound to the pipeline's real handlers: the same
//! `infra/statemachine.asl.json` deployment uses, with its `${…FunctionArn}` substitutions
//! filled in the way `DefinitionSubstitutions` does, and each Lambda name bound to
//! `Pipeline::handle` in-process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pipeline::{Pipeline, PipelineError, Step};
use serde_json::{Value, json};

use crate::sfn::{Bindings, StateMachine, StatesError, TaskFn, ValidationErrors};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// `infra/statemachine.asl.json` of this checkout.
pub fn definition_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("infra")
        .join("statemachine.asl.json")
}

/// Replaces every `${NameFunctionArn}` with the ARN of function `Name`, as the SAM template's
/// DefinitionSubstitutions do with the deployed functions.
pub fn substitute_function_arns(definition: &str) -> String {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let variable = &rest[start + 2..start + end];
        match variable.strip_suffix("FunctionArn") {
            Some(function) => out.push_str(&format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")),
            None => out.push_str(&rest[start..start + end + 1]),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
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

/// Binds the three Lambda names to `pipeline`.
pub fn bindings(pipeline: Arc<Pipeline>) -> Bindings {
    let mut bindings = Bindings::default();
    for step in Step::ALL {
        let pipeline = pipeline.clone();
        let f: TaskFn = Arc::new(move |payload: Value| {
            let pipeline = pipeline.clone();
            Box::pin(async move { pipeline.handle(step, payload).await.map_err(|e| lambda_error(&e)) })
        });
        bindings.bind(step.name(), f);
    }
    bindings
}

/// Binds the three Lambda names to a pipeline configured from the environment on first use (the
/// standalone CLI): a task fails with the configuration problem named if the environment lacks it.
pub fn bindings_from_env() -> Bindings {
    let cell: Arc<tokio::sync::OnceCell<Result<Arc<Pipeline>, String>>> = Arc::new(tokio::sync::OnceCell::new());
    let mut bindings = Bindings::default();
    for step in Step::ALL {
        let cell = cell.clone();
        let f: TaskFn = Arc::new(move |payload: Value| {
            let cell = cell.clone();
            Box::pin(async move {
                let pipeline = cell
                    .get_or_init(|| async { Pipeline::from_env().await.map(Arc::new).map_err(|e| e.to_string()) })
                    .await
                    .clone()
                    .map_err(|e| {
                        StatesError::new("States.TaskFailed", format!("the pipeline is not configured: {e}"))
                    })?;
                pipeline.handle(step, payload).await.map_err(|e| lambda_error(&e))
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
        let text = std::fs::read_to_string(definition_path()).unwrap();
        load(&text).unwrap_or_else(|e| panic!("{e}"));
    }
}
