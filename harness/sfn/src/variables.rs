//! Workflow variables (`Assign`, `$name`), the store both query languages share.
//!
//! A state machine's top-level states share one scope. Each Parallel branch and each inline Map
//! iteration runs in a scope of its own that reads the enclosing scopes' variables but cannot
//! assign them; what it assigns ends with it. A Distributed Map's children start from an empty
//! scope ("Distributed Map states cannot reference variables in outer scopes").
//!
//! A state's `Assign` is evaluated in full against the variables as they were when the state was
//! entered, and only then committed: the state's own fields (OutputPath included) and every
//! expression in the `Assign` see the old values. How an `Assign` is written (JSONPath templates,
//! JSONata `{% … %}` templates) is the model's business; this module only stores what an
//! evaluated `Assign` produced ([`Assignment`]) and checks the limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::StatesError;
use crate::query::States;

/// "Step Functions defines a single reserved variable called `$states`".
pub const RESERVED: &str = "states";

/// The largest value one variable may hold, and the most one `Assign` may assign in total: 256 KiB
/// of UTF-8 JSON (the workflow-variables page's limits).
pub const MAX_ASSIGN_BYTES: usize = 256 * 1024;

/// The most all of an execution's variables may hold together: 10 MiB.
pub const MAX_TOTAL_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableError {
    #[error("the variable '{0}' is not defined")]
    Undefined(String),
    #[error("{0:?} is not a valid variable name: {1}")]
    InvalidName(String, &'static str),
    #[error("the variable '{0}' belongs to an outer scope: a Map iteration or Parallel branch cannot assign it")]
    OuterScope(String),
    #[error("the variable '{name}' would hold {bytes} bytes, more than the {MAX_ASSIGN_BYTES} a variable may hold")]
    VariableTooLarge { name: String, bytes: usize },
    #[error("the Assign would assign {0} bytes, more than the {MAX_ASSIGN_BYTES} one Assign may assign")]
    AssignTooLarge(usize),
    #[error("the variables would hold {0} bytes, more than the {MAX_TOTAL_BYTES} an execution's variables may hold")]
    TotalTooLarge(usize),
    #[error("variables must be a JSON object of names and values, got {0}")]
    NotAnObject(String),
}

impl From<VariableError> for StatesError {
    fn from(error: VariableError) -> Self {
        match &error {
            VariableError::VariableTooLarge { .. }
            | VariableError::AssignTooLarge(_)
            | VariableError::TotalTooLarge(_) => StatesError::new("States.DataLimitExceeded", error.to_string()),
            _ => StatesError::runtime(error.to_string()),
        }
    }
}

/// Checks a name as an `Assign` key (after any `.$`) or a `$name` reference spells it: an
/// identifier in the ECMAScript sense (a letter or `_` first, then letters, digits or `_`), and
/// not the reserved `states`.
pub fn check_name(name: &str) -> Result<(), VariableError> {
    let bad = |why| Err(VariableError::InvalidName(name.to_string(), why));
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("it is empty"),
        Some(first) if !(first.is_alphabetic() || first == '_') => {
            return bad("it must begin with a letter or '_'");
        }
        Some(_) => {}
    }
    if !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return bad("only letters, digits and '_' may follow the first character");
    }
    if name == RESERVED {
        return bad("$states is reserved");
    }
    Ok(())
}

/// What one state's `Assign` evaluated to, in the order written; empty when it assigns nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignment(Vec<(String, Value)>);

impl Assignment {
    pub fn new(bindings: Vec<(String, Value)>) -> Self {
        Self(bindings)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn bindings(&self) -> &[(String, Value)] {
        &self.0
    }

    /// `stateExitedEventDetails.assignedVariables`: each name with its value as JSON text.
    pub fn as_event_variables(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string()))
            .collect()
    }
}

type Frame = BTreeMap<String, Value>;

/// One scope's variables and the read-only scopes around it. Cloning is cheap (frames are shared
/// until written), which is how a Map hands each iteration the scope it reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    /// Enclosing scopes, outermost first; read here, never written.
    outer: Vec<Arc<Frame>>,
    own: Arc<Frame>,
}

impl Variables {
    /// TestState's `variables`: a JSON object of names and values, as the state's scope.
    pub fn from_json(value: Value) -> Result<Self, VariableError> {
        let Value::Object(map) = value else {
            return Err(VariableError::NotAnObject(value.to_string()));
        };
        let mut own = Frame::new();
        for (name, value) in map {
            check_name(&name)?;
            own.insert(name, value);
        }
        let variables = Self {
            outer: Vec::new(),
            own: Arc::new(own),
        };
        variables.check_total()?;
        Ok(variables)
    }

    /// The scope of a Parallel branch or an inline Map iteration: this scope and its enclosing
    /// ones become read-only, and it starts with nothing of its own.
    pub fn inner(&self) -> Self {
        let mut outer = self.outer.clone();
        outer.push(self.own.clone());
        Self {
            outer,
            own: Arc::default(),
        }
    }

    /// The innermost value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        std::iter::once(&self.own)
            .chain(self.outer.iter().rev())
            .find_map(|frame| frame.get(name))
    }

    /// Every variable this scope sees, inner values over outer ones (TestState's
    /// `inspectionData.variables`).
    pub fn visible(&self) -> Map<String, Value> {
        let mut all = Map::new();
        for frame in self.outer.iter().chain(std::iter::once(&self.own)) {
            for (name, value) in frame.iter() {
                all.insert(name.clone(), value.clone());
            }
        }
        all
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_empty() && self.outer.iter().all(|f| f.is_empty())
    }

    /// Makes an evaluated `Assign` take effect, all of it or none: a name of an enclosing scope,
    /// or a value over the limits, refuses the whole assignment.
    pub fn commit(&mut self, assignment: &Assignment) -> Result<(), VariableError> {
        if assignment.is_empty() {
            return Ok(());
        }
        let mut total = 0;
        for (name, value) in assignment.bindings() {
            if self.outer.iter().any(|frame| frame.contains_key(name)) {
                return Err(VariableError::OuterScope(name.clone()));
            }
            let bytes = value.to_string().len();
            if bytes > MAX_ASSIGN_BYTES {
                return Err(VariableError::VariableTooLarge {
                    name: name.clone(),
                    bytes,
                });
            }
            total += bytes;
        }
        if total > MAX_ASSIGN_BYTES {
            return Err(VariableError::AssignTooLarge(total));
        }
        let mut next = self.clone();
        let own = Arc::make_mut(&mut next.own);
        for (name, value) in assignment.bindings() {
            own.insert(name.clone(), value.clone());
        }
        next.check_total()?;
        *self = next;
        Ok(())
    }

    fn check_total(&self) -> Result<(), VariableError> {
        let total: usize = self
            .outer
            .iter()
            .chain(std::iter::once(&self.own))
            .flat_map(|frame| frame.iter())
            .map(|(name, value)| name.len() + value.to_string().len())
            .sum();
        if total > MAX_TOTAL_BYTES {
            return Err(VariableError::TotalTooLarge(total));
        }
        Ok(())
    }
}

/// What a path or an expression can read besides its input: the context object (`$$`,
/// `$states.context`), the variables in scope (`$name`) and, for a JSONata expression, the
/// state's result or error output (`$states.result`, `$states.errorOutput`) where it has one.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub context: &'a Value,
    pub variables: &'a Variables,
    pub states: States<'a>,
}

impl<'a> Env<'a> {
    pub fn new(context: &'a Value, variables: &'a Variables) -> Self {
        Self {
            context,
            variables,
            states: States::default(),
        }
    }

    /// The same scope for a JSONata field that reads `$states.result` or `$states.errorOutput`.
    pub fn with_states<'b>(&self, states: States<'b>) -> Env<'b>
    where
        'a: 'b,
    {
        Env {
            context: self.context,
            variables: self.variables,
            states,
        }
    }

    /// The same variables with another context object (a retry's count, a task token, a Map item).
    pub fn with_context<'b>(&self, context: &'b Value) -> Env<'b>
    where
        'a: 'b,
    {
        Env {
            context,
            variables: self.variables,
            states: self.states,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(check_name("productName").is_ok());
        assert!(check_name("_x1").is_ok());
        assert!(check_name("größe").is_ok());
        assert!(check_name("1x").is_err());
        assert!(check_name("a-b").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("states").is_err());
    }

    #[test]
    fn inner_scopes_read_but_do_not_write_outer_variables() {
        let mut outer = Variables::default();
        outer.commit(&Assignment::new(vec![("x".into(), json!(1))])).unwrap();
        let mut inner = outer.inner();
        assert_eq!(inner.get("x"), Some(&json!(1)));
        assert_eq!(
            inner.commit(&Assignment::new(vec![("x".into(), json!(2))])),
            Err(VariableError::OuterScope("x".into()))
        );
        inner.commit(&Assignment::new(vec![("y".into(), json!(2))])).unwrap();
        assert_eq!(outer.get("y"), None);
    }

    #[test]
    fn an_execution_holds_at_most_10_mib_of_variables() {
        let mut vars = Variables::default();
        let value = json!("a".repeat(250 * 1024));
        let mut refused = None;
        for i in 0..42 {
            if let Err(e) = vars.commit(&Assignment::new(vec![(format!("v{i}"), value.clone())])) {
                refused = Some((i, e));
                break;
            }
        }
        // 40 values of 250 KiB fit in 10 MiB; the 41st does not, and is not kept.
        let (at, error) = refused.expect("the limit is reached");
        assert_eq!(at, 40);
        assert!(matches!(error, VariableError::TotalTooLarge(_)));
        assert_eq!(vars.get("v40"), None);
        // Inner scopes count their enclosing scopes' variables too.
        let mut inner = vars.inner();
        assert!(inner.commit(&Assignment::new(vec![("w".into(), value)])).is_err());
    }

    #[test]
    fn an_assignment_over_the_limit_changes_nothing() {
        let mut vars = Variables::default();
        let big = json!("a".repeat(MAX_ASSIGN_BYTES));
        let err = vars
            .commit(&Assignment::new(vec![("a".into(), json!(1)), ("b".into(), big)]))
            .unwrap_err();
        assert!(matches!(err, VariableError::VariableTooLarge { .. }));
        assert!(vars.is_empty());
    }
}
