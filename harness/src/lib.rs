//! The FileChecks harness: a local world in which the pipeline's real handlers run with SDK
//! clients pointed at emulators, and the scenarios that drive it.
//!
//! - `world` — the emulated AWS, the stack's resources, the handlers bound into the Step Functions
//!   emulator (the `sfn` crate), the project's files.
//! - `ftps` — FTPS servers: in-process with faults, vsftpd, external ones.
//! - `emulate` — what the world emulates beside moto: the EventBridge Pipe and its event patterns,
//!   the one edge endpoint (Step Functions to the emulator, the rest to the backend) with AWS's own
//!   faults, Lambda for the pipeline's functions (deadlines, Lambda's faults), and a disk-backed S3
//!   for files moto cannot hold.
//! - `scenario` — scenario files: schema, run, checks, snapshots, content, from-item.
//! - `report` — HTML pages of runs: the graph and path of each execution, items' versions.
//! - `progress` — live bars for the in-process FTPS server's downloads.
//! - `fault` — the faults a scenario names, each handed to its owner (`ftps`, `emulate`).
//! - Leaves the others share: `times` (how often a fault fires), `pki` (the throw-away CA),
//!   `resource` (`ResourceError`, a failed call to AWS).

pub mod emulate;
pub mod fault;
pub mod ftps;
pub mod pki;
pub mod progress;
pub mod report;
pub mod resource;
pub mod scenario;
pub mod times;
pub mod world;

/// Whether this runs under CI, where a missing tool fails a test instead of skipping it and a
/// missing snapshot is an error: `CI` set to anything but empty, `0` or `false` (CI systems set
/// `CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false"))
}
