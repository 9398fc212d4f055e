//! A Step Functions emulator: an Amazon States Language interpreter (JSONPath and JSONata), and the
//! Step Functions API over it. It knows nothing of FileChecks: Task states call whatever `Bindings`
//! the embedder gives it (the harness binds the pipeline's handlers), and `mock` applies AWS's
//! MockConfigFile test cases.

pub mod arn;
pub mod choice;
pub mod diagnostic;
pub mod error;
pub mod exec;
pub mod graph;
pub mod history;
pub mod intrinsics;
pub mod markup;
pub mod mock;
pub mod model;
pub mod paths;
pub mod query;
pub mod service;
pub mod tokens;
pub mod variables;

pub use diagnostic::Diagnostic;
pub use error::StatesError;
pub use exec::{Bindings, Execution, Executor, Handle, RunOptions, StateTestOptions, Status, TaskFn, TimeMode};
pub use history::{Event, EventKind};
pub use markup::escape_markup;
pub use mock::{MockConfig, MockError};
pub use model::{StateMachine, ValidationErrors};
pub use service::{ApiError, Service, ServiceOptions};
pub use variables::{Assignment, Env, VariableError, Variables};
