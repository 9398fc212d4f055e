//! JSONata (<https://docs.jsonata.org>) for the Step Functions emulator's `QueryLanguage: JSONata`.
//!
//! An [`Expression`] is compiled once from its source and evaluated any number of times against
//! JSON input, with the [`Options`] of an evaluation: variables bound, [`CustomFunction`]s added,
//! built-ins left out, limits, the clock and the random seed. A failure is an [`Error`] with
//! JSONata's own code (`S0101`, `T2001`, `D3001` …) and position, as jsonata-js reports them.
//! Custom functions take and return [`Value`]s, JSONata's values (JSON plus undefined and
//! functions). What an expression reads can be known before it runs:
//! [`Expression::variable_names`], [`Expression::top_level_references`] (as
//! [`ContextReference`]s) and [`Expression::fields_of`] a variable. [`pictures`] has the
//! picture-string functions for use without an expression.
//!
//! Inside, a lexer turns the source into tokens, a parser into a syntax tree, and `tree`
//! (jsonata-js's processAST) into the tree the evaluator walks, with the function library beside
//! it. `tests/suite.rs` runs the official JSONata test suite (see `tests/suite.rs` for where it is
//! looked up).
//!
//! Why our own engine: `jsonata-rs` 0.3.4, the Rust crate there is, passes only 75.8% of the
//! official suite and panics on 60 of its cases; it keeps objects as hash maps, so their key order
//! changes from run to run; and it cannot override built-in functions, which the Step Functions
//! emulator needs for a seedable `$random`.

mod analysis;
mod ast;
mod datetime;
mod eval;
mod format_number;
mod functions;
mod lexer;
mod number;
mod parser;
mod pattern;
mod signature;
mod tree;
mod value;

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use analysis::ContextReference;
pub use eval::Custom;
pub use value::{Array, Object, Value};

/// The picture-string functions of JSONata's library, for use without an expression:
/// `$formatInteger`, `$parseInteger`, `$fromMillis` and `$toMillis` (XPath F&O 3.1 integer and
/// date/time pictures, as jsonata-js implements them), `$formatNumber` and `$formatBase`. Their
/// errors carry the codes the functions raise in an expression (`D3110`, `D3130` …).
pub mod pictures {
    pub use crate::datetime::{format_integer, from_millis, parse_integer, to_millis, to_millis_at};
    pub use crate::format_number::{format_base, format_number};
}

/// Parses `source` and turns it into the tree the evaluator walks (`tree::process`).
pub(crate) fn compile(source: &str) -> Result<tree::Expr, Error> {
    tree::process(&parser::parse(source)?)
}

/// Runs `f` on a thread of its own with a large stack (`STACK`): the parser and the evaluator
/// recurse as deep as the expression and the data are nested, which the caller's thread (a tokio
/// worker has 2 MiB) may not hold; their limits (`MAX_NESTING`, `Options::max_depth`) keep within it.
fn on_large_stack<T: Send>(f: impl FnOnce() -> Result<T, Error> + Send) -> Result<T, Error> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("jsonata".into())
            .stack_size(STACK)
            .spawn_scoped(scope, f);
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(Error::runtime(
                    "U1000",
                    format!("Internal error in the JSONata evaluator: {message}"),
                ))
            }),
            Err(e) => Err(Error::runtime(
                "U1000",
                format!("Cannot start the JSONata evaluator: {e}"),
            )),
        }
    })
}

/// An error as jsonata-js names it: `code` (`S0201` for syntax, `T…` for types, `D…` for
/// dynamic errors, `U…` for limits), the character `position` of the expression it arose at (0
/// where none applies), and the offending token where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} at {position}: {message}")]
pub struct Error {
    pub code: &'static str,
    pub position: usize,
    pub token: Option<String>,
    pub message: String,
}

impl Error {
    /// An error raised while evaluating, before it is placed in the expression.
    pub fn runtime(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, 0, None, message)
    }

    /// Places the error at `position` and `token`, unless something nearer placed it already; a
    /// message that names its token (`Argument 1 of function "sum" …`) gets it now.
    pub(crate) fn at(mut self, position: usize, token: Option<&str>) -> Self {
        if self.position == 0 {
            self.position = position;
        }
        if self.token.is_none() {
            self.token = token.map(str::to_string);
        }
        if let Some(token) = &self.token {
            let quoted = serde_json::to_string(token).unwrap_or_default();
            self.message = self.message.replace(TOKEN_MARK, &quoted);
        }
        self
    }

    /// The message as jsonata-js words it when no token was ever known (`undefined`).
    fn settled(mut self) -> Self {
        self.message = self.message.replace(TOKEN_MARK, "undefined");
        self
    }

    pub(crate) fn new(code: &'static str, position: usize, token: Option<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            position,
            token,
            message: message.into(),
        }
    }
}

/// Stands for the token in a message until the error is placed.
pub(crate) const TOKEN_MARK: &str = "\u{1}token\u{1}";

/// A function the caller adds to the expression's scope (`$name`), with a JSONata signature
/// (`<s?:s>` …) its arguments are checked against.
#[derive(Clone)]
pub struct CustomFunction {
    pub name: String,
    pub signature: String,
    pub implementation: Custom,
}

/// How an expression is evaluated.
#[derive(Clone)]
pub struct Options {
    /// Variables in scope (`$name`), as JSON.
    pub bindings: Vec<(String, serde_json::Value)>,
    pub functions: Vec<CustomFunction>,
    /// Built-in functions left out (`$eval` in Step Functions): calling one is T1006.
    pub excluded: Vec<String>,
    /// Nested evaluations (recursion) beyond this fail with U1001.
    pub max_depth: usize,
    /// An evaluation running longer fails with U1001 (as the suite's reference runner reports it).
    pub timeout: Option<Duration>,
    /// `$now()`/`$millis()`, in milliseconds since the epoch; the clock when not set.
    pub now_millis: Option<f64>,
    /// The seed of `$random()` and `$shuffle()`; from the clock when not set.
    pub seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bindings: Vec::new(),
            functions: Vec::new(),
            excluded: Vec::new(),
            max_depth: DEFAULT_MAX_DEPTH,
            timeout: None,
            now_millis: None,
            seed: None,
        }
    }
}

/// Deep enough for any expression a person writes (a non-tail-recursive function can recurse a
/// thousand times); `STACK` is sized so that this depth cannot overflow it, debug builds included
/// (about 10 KiB of stack per level there).
pub const DEFAULT_MAX_DEPTH: usize = 5_000;
const STACK: usize = 128 * 1024 * 1024;

/// A compiled expression, evaluated any number of times.
#[derive(Debug, Clone)]
pub struct Expression {
    tree: tree::Expr,
}

impl Expression {
    pub fn new(source: &str) -> Result<Self, Error> {
        Ok(Self {
            tree: on_large_stack(|| compile(source))?,
        })
    }

    /// The names of the variables the expression reads (`$name`; `$` and `$$` excluded), in
    /// order of first appearance: what a caller has to bind for it.
    pub fn variable_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        self.tree.walk(&mut |e| {
            if let tree::Kind::Variable(name) = &e.kind
                && !name.is_empty()
                && name != "$"
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        });
        names
    }

    /// What the expression reads from its context value (the input it is evaluated against) at
    /// its top level, each once: a bare field name, `$`, `$$`, `*`, `**`, `%`. Inside a path after
    /// its first step, a predicate or a function body, the context is something the expression
    /// made, so what is read there does not count. A host that evaluates without input (a Step
    /// Functions JSONata state) refuses these.
    pub fn top_level_references(&self) -> Vec<ContextReference> {
        let mut references = Vec::new();
        analysis::top_level_references(&self.tree, &mut references);
        references
    }

    /// The fields the expression reads from the variable `variable` (named without its `$`), each
    /// once: `["input", "context"]` for `$states.input.a & $states.context.b` and `"states"`.
    pub fn fields_of(&self, variable: &str) -> Vec<String> {
        analysis::fields_of(&self.tree, variable)
    }

    /// Evaluates against `input` (None: no input, JSONata's undefined). `Ok(None)` is an
    /// undefined result.
    pub fn evaluate(
        &self,
        input: Option<&serde_json::Value>,
        options: &Options,
    ) -> Result<Option<serde_json::Value>, Error> {
        self.run(options, || Ok(input.map(Value::from_json).unwrap_or_default()))
    }

    /// Evaluates against the JSON text `input`, whose objects keep their properties' order
    /// (`$keys`, `$each` and `$string` see it; serde_json's `Value` would sort them).
    pub fn evaluate_text(&self, input: Option<&str>, options: &Options) -> Result<Option<serde_json::Value>, Error> {
        self.run(options, || match input {
            Some(text) => {
                Value::parse_json(text).map_err(|e| Error::runtime("D1000", format!("The input is not JSON: {e}")))
            }
            None => Ok(Value::Undefined),
        })
    }

    /// Runs the evaluation on a thread of its own with a large stack, so that deep recursion ends
    /// in U1001 rather than in a stack overflow of the caller's thread.
    fn run(
        &self,
        options: &Options,
        input: impl FnOnce() -> Result<Value, Error> + Send,
    ) -> Result<Option<serde_json::Value>, Error> {
        let outcome = on_large_stack(|| self.evaluate_here(input()?, options));
        outcome.map_err(Error::settled)
    }

    fn evaluate_here(&self, input: Value, options: &Options) -> Result<Option<serde_json::Value>, Error> {
        let now = options.now_millis.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as f64)
                .unwrap_or(0.0)
        });
        let seed = options.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        let mut customs = HashMap::new();
        for f in &options.functions {
            let native = functions::custom(&f.name, &f.signature, f.implementation.clone())?;
            customs.insert(f.name.clone(), Value::Function(Rc::new(eval::Function::Native(native))));
        }
        let limits = eval::Limits {
            max_depth: options.max_depth,
            deadline: options.timeout.map(|t| Instant::now() + t),
        };
        let evaluator = eval::Evaluator::new(limits, now, seed, customs, options.excluded.clone());
        let env = evaluator.frame(None);
        for (name, value) in &options.bindings {
            evaluator.bind(&env, name, Value::from_json(value));
        }
        evaluator.bind(&env, "$", input.clone());
        let input = match input {
            Value::Array(_) => Value::from(Array {
                items: vec![input],
                sequence: true,
                outer_wrapper: true,
                ..Array::default()
            }),
            other => other,
        };
        let result = evaluator.eval(&self.tree, &input, &env)?;
        result.to_json()
    }
}
