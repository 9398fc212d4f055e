//! A failure inside an execution: an error name and a cause, as Step Functions reports them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct StatesError {
    pub error: String,
    pub cause: String,
    /// Where in its state a JSONata expression failed (`Arguments/FunctionName`, `Output`):
    /// the `location` of AWS's `EvaluationFailed` event.
    pub location: Option<String>,
}

impl StatesError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
            location: None,
        }
    }

    /// `States.QueryEvaluationError`: a JSONata expression at `location` failed, or gave nothing or
    /// a value of the wrong type for its field. Retriable and catchable (`States.ALL` matches it).
    pub fn query(location: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: crate::query::QUERY_EVALUATION_ERROR.into(),
            cause: cause.into(),
            location: Some(location.into()),
        }
    }

    /// `States.Runtime`: a path or a value the interpreter cannot process; never retried or caught
    /// by `States.ALL`.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }

    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new("States.IntrinsicFailure", cause)
    }

    /// The `{"Error", "Cause"}` object a Catch writes at its ResultPath.
    pub fn to_catch_output(&self) -> Value {
        serde_json::json!({"Error": self.error, "Cause": self.cause})
    }
}

impl std::fmt::Display for StatesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StatesError {}
