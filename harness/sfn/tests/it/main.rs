//! The sfn crate's integration tests, one binary: each former `tests/*.rs` is a module here
//! (`cargo test -p sfn --test it service::` runs one). The conformance rows, a libtest-mimic
//! runner of their own, stay `tests/conformance.rs`.

mod callback;
mod executions;
mod replay;
mod service;
mod test_state;
mod validate;
