//! A Step Functions emulator: an Amazon States Language (JSONPath) interpreter that runs the
//! project's one ASL file with Task states bound to the pipeline's handlers in-process.

pub mod choice;
pub mod error;
pub mod exec;
pub mod history;
pub mod intrinsics;
pub mod mock;
pub mod model;
pub mod paths;

pub use error::StatesError;
pub use exec::{Bindings, Execution, Executor, RunOptions, Status, TaskFn, TimeMode};
pub use mock::MockConfig;
pub use model::{StateMachine, ValidationErrors};
