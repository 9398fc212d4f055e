//! The harness's integration tests, one binary (as rust-analyzer's `slow-tests` and cargo's
//! `testsuite`): each former `tests/*.rs` is a module here, so the AWS SDK, hyper, s3s and libunftp
//! are linked once. `cargo test -p harness --test it MODULE::` runs one module's tests
//! (`--test it aws_cli::`). The libtest-mimic runner of the scenario files and the fault
//! matrix stays a binary of its own (`--test scenarios`).
//!
//! All modules share one process: one moto_server (the harness starts it once per process), one
//! `log` logger; every test names its own tables, buckets, ports and temp dirs.

mod common;

mod aws_cli;
mod cli_run;
mod cli_sfn;
mod cli_up;
mod disk_s3;
mod external_ftps;
mod from_execution;
mod from_item;
mod graph;
mod healing;
mod integrations;
mod load;
mod on_call;
mod pattern_oracle;
mod portable_binary;
mod project_files;
mod report_browser;
mod secret_logging;
mod seed_item;
mod sfn_service;
mod split_backend;
mod steps;
mod up_healing;
mod up_landing;
mod vsftpd;
mod workflow;

// The optional backends, compiled with their features (`.ci/run` builds both).
#[cfg(feature = "dynamodb-local")]
mod dynamodb_local;
#[cfg(feature = "localstack")]
mod localstack;
