//! The jsonata crate's integration tests, one binary: each former `tests/*.rs` is a module here
//! (`cargo test -p jsonata --test it limits::` runs one). The official suite's runner, a
//! libtest-mimic harness of its own, stays `tests/suite.rs`; both find the suite through
//! `common` (`FILECHECKS_JSONATA_SUITE`, else `../shared/jsonata-test-suite`).

#[path = "../common/mod.rs"]
mod common;

mod datetime_jsonata_js;
mod datetime_suite;
mod format_number_suite;
mod limits;
