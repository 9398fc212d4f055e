//! JSONata (<https://docs.jsonata.org>) for the Step Functions emulator's `QueryLanguage: JSONata`.
//!
//! So far the front end: `lexer` turns an expression into tokens, `parser` into an `ast::Node` tree
//! and `tree` (jsonata-js's processAST) into the `tree::Expr` an evaluator walks, all with JSONata's
//! own error codes (`S0101` …) and positions, as jsonata-js reports them.
//! `tests/suite.rs` runs the official test suite (`../shared/jsonata-test-suite`) through it.
//!
//! Why our own engine: `jsonata-rs` 0.3.4 passes 75.8% of the official suite, panics on 60 cases,
//! keeps objects as hash maps (key order changes from run to run) and cannot override built-ins (a
//! seedable `$random`), see `../shared/field-notes.md`.

pub mod ast;
pub mod datetime;
pub mod lexer;
pub mod parser;
pub mod signature;
pub mod tree;

pub use ast::Node;
pub use parser::parse;

/// Parses `source` and turns it into the tree the evaluator walks (`tree::process`).
pub fn compile(source: &str) -> Result<tree::Expr, Error> {
    tree::process(&parse(source)?)
}

/// A static (syntax) error, as jsonata-js names it: `code` (`S0201` …), the character `position`
/// it was found at, and the offending token where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} at {position}: {message}")]
pub struct Error {
    pub code: &'static str,
    pub position: usize,
    pub token: Option<String>,
    pub message: String,
}

impl Error {
    pub(crate) fn new(code: &'static str, position: usize, token: Option<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            position,
            token,
            message: message.into(),
        }
    }
}
