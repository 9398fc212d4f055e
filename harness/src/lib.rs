//! The FileChecks harness: a local world in which the pipeline's real handlers run with SDK
//! clients pointed at emulators, and the scenarios that drive it.
//!
//! - `world` — the emulated AWS, the stack's resources, the handlers bound into the Step Functions
//!   emulator (the `sfn` crate), the project's files.
//! - `ftps` — FTPS servers: in-process with faults, vsftpd, external ones.
//! - `emulate` — the EventBridge Pipe and event patterns.
//! - `scenario` — scenario files: schema, run, checks, snapshots, content, from-item.
//! - `report` — HTML pages of runs: the graph and path of each execution, items' versions.

pub mod emulate;
pub mod ftps;
pub mod progress;
pub mod report;
pub mod scenario;
pub mod world;
