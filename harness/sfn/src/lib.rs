//! A Step Functions emulator: an Amazon States Language interpreter (JSONPath and JSONata), and the
//! Step Functions API over it. It knows nothing of FileChecks: Task states call whatever `Bindings`
//! the embedder gives it (the harness binds the pipeline's handlers), and `mock` applies AWS's
//! MockConfigFile test cases.
//!
//! The modules are private; what an embedder uses is re-exported here, and five namespaces stay
//! public where their names read better qualified: `arn` (`arn::execution(…)`), `graph`
//! (`graph::svg`, `graph::Path`), `history` (the event types, one per AWS event and details
//! object), `mock` (the MockConfigFile's types) and `replay` (a recorded history as mocks, and
//! a replay compared with it).

mod choice;
mod diagnostic;
mod error;
mod exec;
mod intrinsics;
mod markup;
mod model;
mod paths;
mod query;
mod quota;
mod service;
mod tokens;
mod variables;

pub mod arn;
pub mod graph;
pub mod history;
pub mod mock;
pub mod replay;

pub use diagnostic::{Diagnostic, DiagnosticCode};
pub use error::StatesError;
pub use exec::{
    Bindings, EndFn, EndHook, ErrorDetails, Execution, Executor, Handle, Identity, Inspection, RunOptions, StateTest,
    StateTestOptions, Status, TaskFn, TimeMode,
};
pub use history::{Event, EventKind};
pub use markup::escape_markup;
pub use mock::{MockConfig, MockError};
pub use model::{StateMachine, StateType, ValidationErrors};
pub use quota::RateQuota;
pub use service::{ApiError, EVENT_PAYLOAD_LIMIT, Service, ServiceOptions, test_state};
pub use tokens::{TaskTokens, TokenError};
pub use variables::{VariableError, Variables};
