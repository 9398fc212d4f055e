//! The evaluator: jsonata-js's `evaluate` and its helpers over the tree `tree::process` builds,
//! with the same sequence semantics (a path's results flatten; a singleton sequence is its item),
//! tuple streams for `@`, `#` and `%`, signatures checked on every call, and tail calls of lambdas
//! run in a loop (a recursive function written tail-recursively does not grow the stack).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Instant;

use crate::Error;
use crate::ast::Literal;
use crate::functions;
use crate::pattern::Pattern;
use crate::signature::Signature;
use crate::tree::{Expr, Kind, Stage};
use crate::value::{Array, Object, Value};

pub type Env = Rc<Frame>;

/// A scope: its own bindings and the scope it is nested in.
pub struct Frame {
    bindings: RefCell<HashMap<String, Value>>,
    parent: Option<Env>,
}

impl Frame {
    pub fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.bindings.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.lookup(name))
    }
}

/// A function value.
pub enum Function {
    Lambda(Lambda),
    Native(Native),
    /// A native function with some arguments supplied (`None` is a `?` placeholder).
    Partial {
        function: Rc<Function>,
        args: Vec<Option<Value>>,
    },
    /// A regular expression: called with a string, it returns its first match.
    Regex(Pattern),
    /// A match's `next`: the regular expression's next match in `text` from `from` (UTF-16 units).
    RegexNext {
        pattern: Pattern,
        text: Rc<str>,
        from: usize,
        position: usize,
    },
    /// `| pattern | update, delete |`
    Transform {
        pattern: Arc<Expr>,
        update: Arc<Expr>,
        delete: Option<Arc<Expr>>,
        env: Env,
    },
    /// `$f ~> $g`: `function($x) { $g($f($x)) }`
    Chain(Value, Value),
}

pub struct Lambda {
    pub params: Vec<String>,
    pub signature: Option<Signature>,
    pub body: Arc<Expr>,
    pub input: Value,
    pub env: Env,
}

pub type Builtin = fn(&Evaluator, &Focus, Vec<Value>) -> Result<Value, Error>;
/// A function supplied by the caller (`Options::functions`).
pub type Custom = Arc<dyn Fn(&[Value]) -> Result<Value, Error> + Send + Sync>;

#[derive(Clone)]
pub enum Implementation {
    Builtin(Builtin),
    Custom(Custom),
}

pub struct Native {
    pub name: String,
    pub signature: Signature,
    /// How many parameters the JavaScript implementation declares: what higher-order functions
    /// pass to a callback (`$map(a, $string)` passes the index as `$string`'s second argument).
    pub arity: usize,
    pub implementation: Implementation,
}

/// What a native function sees besides its arguments: the context value and the scope.
pub struct Focus {
    pub input: Value,
    pub env: Env,
}

impl Function {
    /// jsonata-js's `getFunctionArity`.
    pub fn arity(&self) -> usize {
        match self {
            Function::Lambda(l) => l.params.len(),
            Function::Native(n) => n.arity,
            Function::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
            Function::Regex(_) => 2,
            Function::RegexNext { .. } => 0,
            Function::Transform { .. } | Function::Chain(..) => 1,
        }
    }
}

/// A lambda body's value, or the tail call it ends with (run by `apply`'s loop).
enum Flow {
    Value(Value),
    Tail {
        procedure: Value,
        args: Vec<Value>,
        site: Site,
    },
}

/// Where a function was called, for errors: its name and the call's position.
#[derive(Clone, Default)]
pub struct Site {
    pub name: Option<String>,
    pub position: usize,
}

pub struct Limits {
    pub max_depth: usize,
    pub deadline: Option<Instant>,
}

pub struct Evaluator {
    depth: Cell<usize>,
    steps: Cell<u64>,
    limits: Limits,
    /// `$now()` and `$millis()`: one instant for the whole evaluation, as in jsonata-js.
    pub timestamp_millis: f64,
    random: Cell<u64>,
    /// Every frame that holds bindings: closures in them can refer back to them, so they are
    /// emptied when the evaluation ends (otherwise such cycles would never be freed).
    frames: RefCell<Vec<Weak<Frame>>>,
    builtins: RefCell<HashMap<String, Value>>,
    customs: HashMap<String, Value>,
    excluded: Vec<String>,
}

impl Drop for Evaluator {
    fn drop(&mut self) {
        for frame in self.frames.borrow().iter().filter_map(Weak::upgrade) {
            frame.bindings.borrow_mut().clear();
        }
    }
}

/// Where a message names the function or operator an error arose in (jsonata-js's `{{token}}`);
/// filled in once the error is placed (`Error::at`).
pub const TOKEN: &str = crate::TOKEN_MARK;

pub fn err(code: &'static str, message: impl Into<String>) -> Error {
    Error::runtime(code, message)
}

/// jsonata-js's `fn.boolean`: the effective boolean value (undefined stays undefined).
pub fn boolean(value: &Value) -> Result<Option<bool>, Error> {
    Ok(Some(match value {
        Value::Undefined => return Ok(None),
        Value::Array(a) => match a.items.len() {
            0 => false,
            1 => boolean(&a.items[0])?.unwrap_or(false),
            _ => {
                let mut any = false;
                for item in &a.items {
                    any |= boolean(item)?.unwrap_or(false);
                }
                any
            }
        },
        Value::String(s) => !s.is_empty(),
        Value::Number(_) => value.is_numeric()? && value.as_number() != Some(0.0),
        Value::Object(o) => !o.borrow().is_empty(),
        Value::Bool(b) => *b,
        Value::Null | Value::Function(_) => false,
    }))
}

/// `boolize`: undefined counts as false.
fn truthy(value: &Value) -> Result<bool, Error> {
    Ok(boolean(value)?.unwrap_or(false))
}

/// jsonata-js's `isArrayOfNumbers` (an empty array is one).
fn is_array_of_numbers(value: &Value) -> Result<bool, Error> {
    match value {
        Value::Array(a) => {
            for item in &a.items {
                if !item.is_numeric()? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// jsonata-js's `fn.append`: undefined is nothing; the result of joining two is a plain array.
pub fn append(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Undefined, b) => b,
        (a, Value::Undefined) => a,
        (a, b) => {
            let mut items = a.items();
            match b {
                Value::Array(b) => items.extend(b.items.iter().cloned()),
                b => items.push(b),
            }
            Value::array(items)
        }
    }
}

/// jsonata-js's `fn.lookup`: a field of an object, or of each object in an array (flattened one level).
pub fn lookup(input: &Value, key: &str) -> Value {
    match input {
        Value::Array(a) => {
            let mut out = Vec::new();
            for item in &a.items {
                match lookup(item, key) {
                    Value::Undefined => {}
                    Value::Array(inner) => out.extend(inner.items.iter().cloned()),
                    v => out.push(v),
                }
            }
            Value::sequence(out)
        }
        Value::Object(o) => o.borrow().get(key).cloned().unwrap_or_default(),
        _ => Value::Undefined,
    }
}

fn flatten_into(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(a) => a.items.iter().for_each(|v| flatten_into(v, out)),
        v => out.push(v.clone()),
    }
}

fn wildcard(input: &Value) -> Value {
    let mut input = input;
    if let Value::Array(a) = input
        && a.outer_wrapper
        && !a.items.is_empty()
    {
        input = &a.items[0];
    }
    let values: Vec<Value> = match input {
        Value::Object(o) => o.borrow().iter().map(|(_, v)| v.clone()).collect(),
        // `Object.keys` of an array are its indexes.
        Value::Array(a) => a.items.clone(),
        _ => Vec::new(),
    };
    let mut results = Value::sequence(Vec::new());
    for value in values {
        if value.is_array() {
            let mut flat = Vec::new();
            flatten_into(&value, &mut flat);
            results = append(results, Value::array(flat));
        } else {
            results = push(results, value);
        }
    }
    results
}

/// `array.push(value)` on a value known to be an array.
fn push(array: Value, value: Value) -> Value {
    match array {
        Value::Array(mut a) => {
            Rc::make_mut(&mut a).items.push(value);
            Value::Array(a)
        }
        other => other,
    }
}

fn descendants(input: &Value) -> Value {
    if input.is_undefined() {
        return Value::Undefined;
    }
    let mut out = Vec::new();
    recurse_descendants(input, &mut out);
    if out.len() == 1 {
        out.pop().unwrap_or_default()
    } else {
        Value::sequence(out)
    }
}

fn recurse_descendants(input: &Value, out: &mut Vec<Value>) {
    match input {
        Value::Array(a) => a.items.iter().for_each(|v| recurse_descendants(v, out)),
        Value::Object(o) => {
            out.push(input.clone());
            for (_, v) in o.borrow().iter() {
                recurse_descendants(v, out);
            }
        }
        v => out.push(v.clone()),
    }
}

/// JavaScript's `<` on two strings: UTF-16 code units, not code points.
pub fn js_string_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::String(s) => Value::String(s.as_str().into()),
        Literal::Number(n) => Value::Number(*n),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
        // Regular expressions are compiled into `Kind::Regex` by the tree pass.
        Literal::Regex { .. } => Value::Undefined,
    }
}

/// The name a call's procedure is known by (for errors and for T1005).
fn procedure_name(procedure: &Expr) -> Option<String> {
    match &procedure.kind {
        Kind::Path(steps) => match steps.first().map(|s| &s.kind) {
            Some(Kind::Name(n) | Kind::Variable(n)) => Some(n.clone()),
            _ => None,
        },
        Kind::Variable(n) => Some(n.clone()),
        _ => None,
    }
}

fn object_of(tuple: &Value) -> Object {
    match tuple {
        Value::Object(o) => o.borrow().clone(),
        _ => Object::new(),
    }
}

/// A field of an object (a tuple, a match object); undefined for anything else.
pub fn tuple_get(tuple: &Value, key: &str) -> Value {
    match tuple {
        Value::Object(o) => o.borrow().get(key).cloned().unwrap_or_default(),
        _ => Value::Undefined,
    }
}

fn tuple_stream(items: Vec<Value>) -> Value {
    Array {
        items,
        sequence: true,
        tuple_stream: true,
        ..Array::default()
    }
    .into()
}

impl Evaluator {
    pub fn new(
        limits: Limits,
        timestamp_millis: f64,
        seed: u64,
        customs: HashMap<String, Value>,
        excluded: Vec<String>,
    ) -> Self {
        Self {
            depth: Cell::new(0),
            steps: Cell::new(0),
            limits,
            timestamp_millis,
            random: Cell::new(seed),
            frames: RefCell::new(Vec::new()),
            builtins: RefCell::new(HashMap::new()),
            customs,
            excluded,
        }
    }

    /// A uniformly distributed number in [0, 1) (splitmix64, seeded per evaluation).
    pub fn random(&self) -> f64 {
        let mut z = self.random.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.random.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn frame(&self, parent: Option<&Env>) -> Env {
        Rc::new(Frame {
            bindings: RefCell::new(HashMap::new()),
            parent: parent.cloned(),
        })
    }

    pub fn bind(&self, env: &Env, name: &str, value: Value) {
        let mut bindings = env.bindings.borrow_mut();
        if bindings.is_empty() {
            let mut frames = self.frames.borrow_mut();
            // Most frames die with their call; forget those whenever the list has doubled, so a
            // long loop keeps only the frames still alive (amortised constant time per frame).
            if frames.len() >= 1024 && frames.len().is_power_of_two() {
                frames.retain(|f| f.strong_count() > 0);
            }
            frames.push(Rc::downgrade(env));
        }
        bindings.insert(name.to_string(), value);
    }

    /// A variable: the scope's binding, else a caller's function, else a built-in.
    pub fn lookup(&self, env: &Env, name: &str) -> Option<Value> {
        if let Some(v) = env.lookup(name) {
            return Some(v);
        }
        if let Some(custom) = self.customs.get(name) {
            return Some(custom.clone());
        }
        if self.excluded.iter().any(|e| e == name) {
            return None;
        }
        if let Some(v) = self.builtins.borrow().get(name) {
            return Some(v.clone());
        }
        let native = functions::builtin(name)?;
        let value = Value::Function(Rc::new(Function::Native(native)));
        self.builtins.borrow_mut().insert(name.to_string(), value.clone());
        Some(value)
    }

    fn enter(&self) -> Result<(), Error> {
        let depth = self.depth.get() + 1;
        self.depth.set(depth);
        if depth > self.limits.max_depth {
            return Err(err(
                "U1001",
                "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.",
            ));
        }
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        if steps.is_multiple_of(1024)
            && let Some(deadline) = self.limits.deadline
            && Instant::now() > deadline
        {
            // The suite's reference runner reports a timeout with the depth limit's code.
            return Err(err("U1001", "Expression evaluation timeout: Check for infinite loop"));
        }
        Ok(())
    }

    pub fn eval(&self, expr: &Expr, input: &Value, env: &Env) -> Result<Value, Error> {
        let entered = self.enter();
        let result = entered.and_then(|()| self.eval_expr(expr, input, env));
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn eval_expr(&self, expr: &Expr, input: &Value, env: &Env) -> Result<Value, Error> {
        let mut result = match &expr.kind {
            Kind::Path(steps) => self.eval_path(expr, steps, input, env)?,
            Kind::Binary { op, lhs, rhs } => self.eval_binary(expr, op, lhs, rhs, input, env)?,
            Kind::Negate(inner) => {
                let value = self.eval(inner, input, env)?;
                match value {
                    Value::Undefined => Value::Undefined,
                    Value::Number(n) if value.is_numeric()? => Value::Number(-n),
                    other => {
                        return Err(err(
                            "D1002",
                            format!("Cannot negate a non-numeric value: {}", describe(&other)),
                        )
                        .at(expr.position, Some("-")));
                    }
                }
            }
            Kind::Array(items) => {
                let mut result = Value::array(Vec::new());
                for item in items {
                    let value = self.eval(item, input, env)?;
                    if value.is_undefined() {
                        continue;
                    }
                    if matches!(item.kind, Kind::Array(_)) {
                        result = push(result, value);
                    } else {
                        result = append(result, value);
                    }
                }
                if expr.cons_array {
                    result = result.with_flags(|a| a.cons = true);
                }
                result
            }
            Kind::Object(pairs) => self.eval_group(pairs, input.clone(), env, expr.position)?,
            Kind::Name(name) => lookup(input, name),
            Kind::Literal(l) => literal(l),
            Kind::Regex(pattern) => Value::Function(Rc::new(Function::Regex(pattern.clone()))),
            Kind::Wildcard => wildcard(input),
            Kind::Descendants => descendants(input),
            Kind::Parent { label, .. } => env.lookup(label).unwrap_or_default(),
            Kind::Condition {
                condition,
                then,
                otherwise,
            } => {
                let condition = self.eval(condition, input, env)?;
                if truthy(&condition)? {
                    self.eval(then, input, env)?
                } else if let Some(otherwise) = otherwise {
                    self.eval(otherwise, input, env)?
                } else {
                    Value::Undefined
                }
            }
            Kind::Block(items) => {
                let frame = self.frame(Some(env));
                let mut result = Value::Undefined;
                for item in items {
                    result = self.eval(item, input, &frame)?;
                }
                result
            }
            Kind::Bind { name, value } => {
                let value = self.eval(value, input, env)?;
                self.bind(env, name, value.clone());
                value
            }
            Kind::Call {
                procedure,
                arguments,
                partial: false,
            } => self.eval_call(expr, procedure, arguments, input, env, None)?,
            Kind::Call {
                procedure,
                arguments,
                partial: true,
            } => self.eval_partial(expr, procedure, arguments, input, env)?,
            Kind::Variable(name) if name.is_empty() => match input {
                Value::Array(a) if a.outer_wrapper => a.items.first().cloned().unwrap_or_default(),
                other => other.clone(),
            },
            Kind::Variable(name) => self.lookup(env, name).unwrap_or_default(),
            Kind::Lambda {
                parameters,
                signature,
                body,
            } => Value::Function(Rc::new(Function::Lambda(Lambda {
                params: parameters.clone(),
                signature: signature.clone(),
                body: body.clone(),
                input: input.clone(),
                env: env.clone(),
            }))),
            Kind::Apply { lhs, rhs } => self.eval_apply(expr, lhs, rhs, input, env)?,
            Kind::Sort(terms) => self.eval_sort(expr, terms, input, env)?,
            Kind::Transform {
                pattern,
                update,
                delete,
            } => Value::Function(Rc::new(Function::Transform {
                pattern: pattern.clone(),
                update: update.clone(),
                delete: delete.clone(),
                env: env.clone(),
            })),
            Kind::Placeholder => Value::Undefined,
        };
        for predicate in &expr.predicate {
            result = self.filter(predicate, result, env)?;
        }
        if !matches!(expr.kind, Kind::Path(_))
            && let Some(group) = &expr.group
        {
            result = self.eval_group(group, result, env, expr.position)?;
        }
        if let Value::Array(a) = &result
            && a.sequence
            && !a.tuple_stream
        {
            if expr.keep_array {
                result = result.with_flags(|a| a.keep_singleton = true);
            }
            if let Value::Array(a) = &result {
                if a.items.is_empty() {
                    result = Value::Undefined;
                } else if a.items.len() == 1 && !a.keep_singleton {
                    result = a.items[0].clone();
                }
            }
        }
        Ok(result)
    }

    fn eval_path(&self, expr: &Expr, steps: &[Expr], input: &Value, env: &Env) -> Result<Value, Error> {
        let absolute = matches!(steps.first().map(|s| &s.kind), Some(Kind::Variable(_)));
        let mut input_sequence = match input {
            Value::Array(_) if !absolute => input.clone(),
            other => Value::sequence(vec![other.clone()]),
        };
        let mut result = Value::Undefined;
        let mut is_tuple = false;
        let mut tuples: Option<Value> = None;
        for (ii, step) in steps.iter().enumerate() {
            is_tuple |= step.tuple;
            if ii == 0 && step.cons_array {
                result = self.eval(step, &input_sequence, env)?;
                if !result.is_array() {
                    result = Value::sequence(result.items());
                }
            } else if is_tuple {
                tuples = Some(self.eval_tuple_step(step, &input_sequence, tuples.take(), env)?);
            } else {
                result = self.eval_step(step, &input_sequence, env, ii == steps.len() - 1)?;
            }
            if !is_tuple && result.array_items().is_none_or(|items| items.is_empty()) {
                break;
            }
            if step.focus.is_none() {
                input_sequence = result.clone();
            }
        }
        let mut stream = None;
        if is_tuple {
            let tuples = tuples.unwrap_or_else(|| tuple_stream(Vec::new()));
            if expr.tuple {
                result = tuples.clone();
            } else {
                result = Value::sequence(tuples.items().iter().map(|t| tuple_get(t, "@")).collect());
            }
            stream = Some(tuples);
        }
        if expr.keep_array
            && let Value::Array(a) = &result
        {
            if a.cons && !a.sequence {
                result = Value::sequence(vec![result.clone()]);
            }
            result = result.with_flags(|a| a.keep_singleton = true);
        }
        if let Some(group) = &expr.group {
            // Over a tuple stream, the grouping sees each tuple's bindings.
            return self.eval_group(group, stream.unwrap_or(result), env, expr.position);
        }
        Ok(result)
    }

    fn eval_step(&self, step: &Expr, input: &Value, env: &Env, last: bool) -> Result<Value, Error> {
        if let Kind::Sort(terms) = &step.kind {
            let sorted = self.eval_sort(step, terms, input, env)?;
            return self.eval_stages(&step.stages, sorted, env);
        }
        let mut results = Vec::new();
        for item in input.items() {
            let mut res = self.eval(step, &item, env)?;
            for stage in &step.stages {
                if let Stage::Filter(predicate) = stage {
                    res = self.filter(predicate, res, env)?;
                }
            }
            if !res.is_undefined() {
                results.push(res);
            }
        }
        if last && results.len() == 1 && matches!(&results[0], Value::Array(a) if !a.sequence) {
            return Ok(results.pop().unwrap_or_default());
        }
        let mut flat = Vec::new();
        for res in results {
            match res {
                Value::Array(a) if !a.cons => flat.extend(a.items.iter().cloned()),
                other => flat.push(other),
            }
        }
        Ok(Value::sequence(flat))
    }

    fn eval_stages(&self, stages: &[Stage], input: Value, env: &Env) -> Result<Value, Error> {
        let mut result = input;
        for stage in stages {
            match stage {
                Stage::Filter(predicate) => result = self.filter(predicate, result, env)?,
                Stage::Index(name) => {
                    for (i, tuple) in result.items().iter().enumerate() {
                        if let Value::Object(o) = tuple {
                            o.borrow_mut().insert(name.clone(), Value::Number(i as f64));
                        }
                    }
                }
            }
        }
        Ok(result)
    }

    fn frame_from_tuple(&self, env: &Env, tuple: &Value) -> Env {
        let frame = self.frame(Some(env));
        if let Value::Object(o) = tuple {
            for (k, v) in o.borrow().iter() {
                self.bind(&frame, k, v.clone());
            }
        }
        frame
    }

    fn eval_tuple_step(&self, step: &Expr, input: &Value, tuples: Option<Value>, env: &Env) -> Result<Value, Error> {
        if let Kind::Sort(terms) = &step.kind {
            let result = match tuples {
                Some(tuples) => self.eval_sort(step, terms, &tuples, env)?,
                None => {
                    let sorted = self.eval_sort(step, terms, input, env)?;
                    let items = sorted
                        .items()
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let mut tuple = Object::new();
                            tuple.insert("@", item);
                            if let Some(index) = &step.index {
                                tuple.insert(index.clone(), Value::Number(i as f64));
                            }
                            tuple.into()
                        })
                        .collect();
                    tuple_stream(items)
                }
            };
            return self.eval_stages(&step.stages, result, env);
        }
        let tuples: Vec<Value> = match tuples {
            Some(t) => t.items(),
            None => input
                .items()
                .into_iter()
                .map(|item| {
                    let mut tuple = Object::new();
                    tuple.insert("@", item);
                    tuple.into()
                })
                .collect(),
        };
        let mut result = Vec::new();
        for tuple in &tuples {
            let step_env = self.frame_from_tuple(env, tuple);
            let context = tuple_get(tuple, "@");
            let res = self.eval(step, &context, &step_env)?;
            if res.is_undefined() {
                continue;
            }
            let (items, from_stream) = match &res {
                Value::Array(a) => (a.items.clone(), a.tuple_stream),
                other => (vec![other.clone()], false),
            };
            for (bb, item) in items.into_iter().enumerate() {
                let mut next = object_of(tuple);
                if from_stream {
                    if let Value::Object(o) = &item {
                        for (k, v) in o.borrow().iter() {
                            next.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    if let Some(focus) = &step.focus {
                        next.insert(focus.clone(), item);
                        next.insert("@", context.clone());
                    } else {
                        next.insert("@", item);
                    }
                    if let Some(index) = &step.index {
                        next.insert(index.clone(), Value::Number(bb as f64));
                    }
                    if let Some(ancestor) = &step.ancestor {
                        next.insert(ancestor.clone(), context.clone());
                    }
                }
                result.push(next.into());
            }
        }
        self.eval_stages(&step.stages, tuple_stream(result), env)
    }

    /// A predicate (`[…]`) over a value: an index when it is a number, else a filter.
    pub fn filter(&self, predicate: &Expr, input: Value, env: &Env) -> Result<Value, Error> {
        let is_tuple = matches!(&input, Value::Array(a) if a.tuple_stream);
        let items = match &input {
            Value::Array(a) => a.items.clone(),
            other => vec![other.clone()],
        };
        let len = items.len() as f64;
        let mut results = Vec::new();
        if let Kind::Literal(Literal::Number(n)) = predicate.kind
            && predicate.predicate.is_empty()
            && predicate.group.is_none()
        {
            let mut index = n.floor();
            if index < 0.0 {
                index += len;
            }
            if index >= 0.0
                && let Some(item) = items.get(index as usize).filter(|v| !v.is_undefined())
            {
                if item.is_array() {
                    return Ok(item.clone());
                }
                results.push(item.clone());
            }
        } else {
            for (index, item) in items.iter().enumerate() {
                let res = if is_tuple {
                    let env = self.frame_from_tuple(env, item);
                    self.eval(predicate, &tuple_get(item, "@"), &env)?
                } else {
                    self.eval(predicate, item, env)?
                };
                let res = if res.is_numeric()? {
                    Value::array(vec![res])
                } else {
                    res
                };
                if is_array_of_numbers(&res)? {
                    for n in res.items() {
                        let mut i = n.as_number().unwrap_or(f64::NAN).floor();
                        if i < 0.0 {
                            i += len;
                        }
                        if i == index as f64 {
                            results.push(item.clone());
                        }
                    }
                } else if truthy(&res)? {
                    results.push(item.clone());
                }
            }
        }
        Ok(if is_tuple {
            tuple_stream(results)
        } else {
            Value::sequence(results)
        })
    }

    fn eval_binary(
        &self,
        expr: &Expr,
        op: &'static str,
        lhs: &Expr,
        rhs: &Expr,
        input: &Value,
        env: &Env,
    ) -> Result<Value, Error> {
        let left = self.eval(lhs, input, env)?;
        let at = |e: Error| e.at(expr.position, Some(op));
        if op == "and" || op == "or" {
            let l = truthy(&left).map_err(at)?;
            if (op == "and") != l {
                return Ok(Value::Bool(l));
            }
            let right = self.eval(rhs, input, env)?;
            return Ok(Value::Bool(truthy(&right).map_err(at)?));
        }
        let right = self.eval(rhs, input, env)?;
        binary(op, left, right).map_err(at)
    }

    fn eval_group(&self, pairs: &[(Expr, Expr)], input: Value, env: &Env, position: usize) -> Result<Value, Error> {
        let reduce = matches!(&input, Value::Array(a) if a.tuple_stream);
        let mut items = match &input {
            Value::Array(a) => a.items.clone(),
            other => vec![other.clone()],
        };
        if items.is_empty() {
            items.push(Value::Undefined);
        }
        // Key → (the items grouped under it, which pair made it); in JavaScript's key order.
        let mut groups: Object = Object::new();
        let mut group_data: HashMap<String, (Value, usize)> = HashMap::new();
        for item in &items {
            let item_env = if reduce {
                self.frame_from_tuple(env, item)
            } else {
                env.clone()
            };
            let context = if reduce { tuple_get(item, "@") } else { item.clone() };
            for (pair_index, (key_expr, _)) in pairs.iter().enumerate() {
                let key = self.eval(key_expr, &context, &item_env)?;
                let key = match key {
                    Value::Undefined => continue,
                    Value::String(s) => s,
                    other => {
                        return Err(err(
                            "T1003",
                            format!(
                                "Key in object structure must evaluate to a string; got: {}",
                                describe(&other)
                            ),
                        )
                        .at(position, None));
                    }
                };
                match group_data.get_mut(&*key) {
                    Some((data, index)) => {
                        if *index != pair_index {
                            return Err(err(
                                "D1009",
                                format!("Multiple key definitions evaluate to same key: {key:?}"),
                            )
                            .at(position, None));
                        }
                        *data = append(std::mem::take(data), item.clone());
                    }
                    None => {
                        groups.insert(key.to_string(), Value::Undefined);
                        group_data.insert(key.to_string(), (item.clone(), pair_index));
                    }
                }
            }
        }
        let mut result = Object::new();
        for key in groups.keys() {
            let Some((data, pair_index)) = group_data.get(key) else {
                continue;
            };
            let (context, group_env) = if reduce {
                let mut tuple = reduce_tuple_stream(data);
                let context = tuple.remove("@").unwrap_or_default();
                (context, self.frame_from_tuple(env, &tuple.into()))
            } else {
                (data.clone(), env.clone())
            };
            let value = self.eval(&pairs[*pair_index].1, &context, &group_env)?;
            if !value.is_undefined() {
                result.insert(key.clone(), value);
            }
        }
        Ok(result.into())
    }

    fn eval_call(
        &self,
        expr: &Expr,
        procedure: &Expr,
        arguments: &[Expr],
        input: &Value,
        env: &Env,
        apply_to: Option<Value>,
    ) -> Result<Value, Error> {
        let proc = self.eval(procedure, input, env)?;
        let name = procedure_name(procedure);
        self.check_forgotten_dollar(&proc, procedure, env, "T1005", expr.position)?;
        let mut args = Vec::with_capacity(arguments.len() + 1);
        args.extend(apply_to);
        for argument in arguments {
            args.push(self.eval(argument, input, env)?);
        }
        let site = Site {
            name,
            position: expr.position,
        };
        self.apply_at(&proc, args, input, env, &site)
    }

    /// `sum(…)` where `$sum` exists: the user forgot the `$` (T1005, or T1007 in a partial application).
    fn check_forgotten_dollar(
        &self,
        proc: &Value,
        procedure: &Expr,
        env: &Env,
        code: &'static str,
        position: usize,
    ) -> Result<(), Error> {
        if !proc.is_undefined() {
            return Ok(());
        }
        if let Kind::Path(steps) = &procedure.kind
            && let Some(Kind::Name(name)) = steps.first().map(|s| &s.kind)
            && self
                .lookup(env, name)
                .is_some_and(|v| truthy(&v).unwrap_or(false) || v.is_function())
        {
            return Err(err(
                code,
                if code == "T1005" {
                    format!("Attempted to invoke a non-function. Did you mean ${name}?")
                } else {
                    format!("Attempted to partially apply a non-function. Did you mean ${name}?")
                },
            )
            .at(position, Some(name)));
        }
        Ok(())
    }

    fn eval_partial(
        &self,
        expr: &Expr,
        procedure: &Expr,
        arguments: &[Expr],
        input: &Value,
        env: &Env,
    ) -> Result<Value, Error> {
        let mut args = Vec::with_capacity(arguments.len());
        for argument in arguments {
            if matches!(argument.kind, Kind::Placeholder) {
                args.push(None);
            } else {
                args.push(Some(self.eval(argument, input, env)?));
            }
        }
        let proc = self.eval(procedure, input, env)?;
        self.check_forgotten_dollar(&proc, procedure, env, "T1007", expr.position)?;
        match &proc {
            Value::Function(f) => match &**f {
                Function::Lambda(lambda) => {
                    let frame = self.frame(Some(&lambda.env));
                    let mut unbound = Vec::new();
                    for (i, param) in lambda.params.iter().enumerate() {
                        match args.get(i) {
                            Some(None) => unbound.push(param.clone()),
                            Some(Some(v)) => self.bind(&frame, param, v.clone()),
                            None => self.bind(&frame, param, Value::Undefined),
                        }
                    }
                    Ok(Value::Function(Rc::new(Function::Lambda(Lambda {
                        params: unbound,
                        signature: None,
                        body: lambda.body.clone(),
                        input: lambda.input.clone(),
                        env: frame,
                    }))))
                }
                _ => {
                    // A native function takes its declared parameters: the `?`s stay open, the
                    // rest are bound (undefined where not given).
                    let bound = (0..f.arity())
                        .map(|i| match args.get(i) {
                            Some(None) => None,
                            Some(Some(v)) => Some(v.clone()),
                            None => Some(Value::Undefined),
                        })
                        .collect();
                    Ok(Value::Function(Rc::new(Function::Partial {
                        function: f.clone(),
                        args: bound,
                    })))
                }
            },
            _ => Err(err("T1008", "Attempted to partially apply a non-function")
                .at(expr.position, procedure_name(procedure).as_deref())),
        }
    }

    fn eval_apply(&self, expr: &Expr, lhs: &Expr, rhs: &Expr, input: &Value, env: &Env) -> Result<Value, Error> {
        let left = self.eval(lhs, input, env)?;
        if let Kind::Call {
            procedure,
            arguments,
            partial: false,
        } = &rhs.kind
            && rhs.predicate.is_empty()
            && rhs.group.is_none()
        {
            return self.eval_call(rhs, procedure, arguments, input, env, Some(left));
        }
        let func = self.eval(rhs, input, env)?;
        if !func.is_function() {
            return Err(err(
                "T2006",
                "The right side of the function application operator ~> must be a function",
            )
            .at(expr.position, None));
        }
        if left.is_function() {
            return Ok(Value::Function(Rc::new(Function::Chain(left, func))));
        }
        self.apply(&func, vec![left], input, env)
    }

    /// Sorts `input` by the order-by terms (`^(…)`), stably, as jsonata-js's merge sort does.
    fn eval_sort(&self, expr: &Expr, terms: &[(Expr, bool)], input: &Value, env: &Env) -> Result<Value, Error> {
        let is_tuple = matches!(input, Value::Array(a) if a.tuple_stream);
        let items = input.items();
        // Each item's sort keys, evaluated once.
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            let (context, item_env) = if is_tuple {
                (tuple_get(&item, "@"), self.frame_from_tuple(env, &item))
            } else {
                (item.clone(), env.clone())
            };
            let mut keys = Vec::with_capacity(terms.len());
            for (term, _) in terms {
                keys.push(self.eval(term, &context, &item_env)?);
            }
            keyed.push((item, keys));
        }
        let position = expr.position;
        let sorted = merge_sort(keyed, &mut |a: &(Value, Vec<Value>), b: &(Value, Vec<Value>)| {
            for (index, (_, descending)) in terms.iter().enumerate() {
                let (x, y) = (&a.1[index], &b.1[index]);
                let comp = match (x, y) {
                    (Value::Undefined, Value::Undefined) => 0,
                    (Value::Undefined, _) => 1,
                    (_, Value::Undefined) => -1,
                    _ => {
                        let comparable = |v: &Value| matches!(v, Value::String(_) | Value::Number(_));
                        if !comparable(x) || !comparable(y) {
                            return Err(err(
                                "T2008",
                                "The expressions within an order-by clause must evaluate to numeric or string values",
                            )
                            .at(position, None));
                        }
                        let ordering = match (x, y) {
                            (Value::Number(p), Value::Number(q)) => {
                                p.partial_cmp(q).unwrap_or(std::cmp::Ordering::Equal)
                            }
                            (Value::String(p), Value::String(q)) => js_string_cmp(p, q),
                            _ => {
                                return Err(err(
                                    "T2007",
                                    format!(
                                        "Type mismatch when comparing values {} and {} in order-by clause",
                                        describe(x),
                                        describe(y)
                                    ),
                                )
                                .at(position, None));
                            }
                        };
                        let c = match ordering {
                            std::cmp::Ordering::Equal => continue,
                            std::cmp::Ordering::Less => -1,
                            std::cmp::Ordering::Greater => 1,
                        };
                        if *descending { -c } else { c }
                    }
                };
                if comp != 0 {
                    return Ok(comp == 1);
                }
            }
            Ok(false)
        })?;
        let items: Vec<Value> = sorted.into_iter().map(|(item, _)| item).collect();
        Ok(if is_tuple {
            tuple_stream(items)
        } else {
            Value::sequence(items)
        })
    }

    /// Calls `proc` with `args`: validates them against its signature, runs it, and follows the
    /// tail calls it returns.
    pub fn apply(&self, proc: &Value, args: Vec<Value>, input: &Value, env: &Env) -> Result<Value, Error> {
        self.apply_at(proc, args, input, env, &Site::default())
    }

    fn apply_at(&self, proc: &Value, args: Vec<Value>, input: &Value, env: &Env, site: &Site) -> Result<Value, Error> {
        let mut flow = self.apply_inner(proc, args, input, env, site)?;
        loop {
            match flow {
                Flow::Value(v) => return Ok(v),
                Flow::Tail { procedure, args, site } => {
                    self.enter()?;
                    let next = self.apply_inner(&procedure, args, input, env, &site);
                    self.depth.set(self.depth.get() - 1);
                    flow = next?;
                }
            }
        }
    }

    fn apply_inner(
        &self,
        proc: &Value,
        args: Vec<Value>,
        input: &Value,
        env: &Env,
        site: &Site,
    ) -> Result<Flow, Error> {
        let at = |e: Error| e.at(site.position, site.name.as_deref());
        let Value::Function(function) = proc else {
            return Err(at(err("T1006", "Attempted to invoke a non-function")));
        };
        match &**function {
            Function::Lambda(lambda) => {
                let args = match &lambda.signature {
                    Some(signature) => validate(signature, args, input).map_err(at)?,
                    None => args,
                };
                let frame = self.frame(Some(&lambda.env));
                for (i, param) in lambda.params.iter().enumerate() {
                    self.bind(&frame, param, args.get(i).cloned().unwrap_or_default());
                }
                self.eval_tail(&lambda.body, &lambda.input, &frame)
            }
            Function::Native(native) => {
                let args = validate(&native.signature, args, input).map_err(at)?;
                let focus = Focus {
                    input: input.clone(),
                    env: env.clone(),
                };
                self.call_native(native, &focus, args).map(Flow::Value).map_err(at)
            }
            Function::Partial { function, args: bound } => {
                let mut supplied = args.into_iter();
                let full: Vec<Value> = bound
                    .iter()
                    .map(|b| match b {
                        Some(v) => v.clone(),
                        None => supplied.next().unwrap_or_default(),
                    })
                    .collect();
                let proc = Value::Function(function.clone());
                let result = match &**function {
                    Function::Native(native) => {
                        let args = validate(&native.signature, full, &Value::Undefined).map_err(at)?;
                        let focus = Focus {
                            input: Value::Undefined,
                            env: env.clone(),
                        };
                        self.call_native(native, &focus, args).map_err(at)?
                    }
                    _ => self.apply_at(&proc, full, input, env, site)?,
                };
                Ok(Flow::Value(result))
            }
            Function::Regex(pattern) => {
                let text = args.first().and_then(Value::as_str).unwrap_or("");
                let from = args.get(1).and_then(Value::as_number).unwrap_or(0.0).max(0.0) as usize;
                Ok(Flow::Value(regex_match(pattern, text.into(), from, site.position)))
            }
            Function::RegexNext {
                pattern,
                text,
                from,
                position,
            } => {
                if *from >= text.encode_utf16().count() {
                    return Ok(Flow::Value(Value::Undefined));
                }
                let next = regex_match(pattern, text.clone(), *from, *position);
                if let Value::Object(o) = &next
                    && o.borrow().get("match").and_then(Value::as_str) == Some("")
                {
                    return Err(err("D1004", "Regular expression matches zero length string").at(*position, None));
                }
                Ok(Flow::Value(next))
            }
            Function::Transform {
                pattern,
                update,
                delete,
                env: transform_env,
            } => {
                let args = validate(&TRANSFORM_SIGNATURE, args, input).map_err(at)?;
                let target = args.into_iter().next().unwrap_or_default();
                self.transform(target, pattern, update, delete.as_deref(), transform_env)
                    .map(Flow::Value)
            }
            Function::Chain(f, g) => {
                let x = args.into_iter().next().unwrap_or_default();
                let y = self.apply(f, vec![x], input, env)?;
                Ok(Flow::Tail {
                    procedure: g.clone(),
                    args: vec![y],
                    site: site.clone(),
                })
            }
        }
    }

    fn call_native(&self, native: &Native, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
        match &native.implementation {
            Implementation::Builtin(f) => f(self, focus, args),
            Implementation::Custom(f) => f(&args),
        }
    }

    /// A lambda's body: a call in tail position comes back as `Flow::Tail` instead of nesting.
    /// Counts as one level of depth, as the evaluation jsonata-js makes of it does.
    fn eval_tail(&self, expr: &Expr, input: &Value, env: &Env) -> Result<Flow, Error> {
        let entered = self.enter();
        let result = entered.and_then(|()| self.eval_tail_expr(expr, input, env));
        self.depth.set(self.depth.get() - 1);
        result
    }

    fn eval_tail_expr(&self, expr: &Expr, input: &Value, env: &Env) -> Result<Flow, Error> {
        let plain = expr.predicate.is_empty() && expr.group.is_none() && !expr.keep_array && expr.stages.is_empty();
        if plain {
            match &expr.kind {
                Kind::Call {
                    procedure,
                    arguments,
                    partial: false,
                } => {
                    let procedure_value = self.eval(procedure, input, env)?;
                    let mut args = Vec::with_capacity(arguments.len());
                    for argument in arguments {
                        args.push(self.eval(argument, input, env)?);
                    }
                    return Ok(Flow::Tail {
                        procedure: procedure_value,
                        args,
                        site: Site {
                            name: procedure_name(procedure),
                            position: expr.position,
                        },
                    });
                }
                Kind::Condition {
                    condition,
                    then,
                    otherwise,
                } => {
                    let condition = self.eval(condition, input, env)?;
                    return if truthy(&condition)? {
                        self.eval_tail(then, input, env)
                    } else if let Some(otherwise) = otherwise {
                        self.eval_tail(otherwise, input, env)
                    } else {
                        Ok(Flow::Value(Value::Undefined))
                    };
                }
                Kind::Block(items) if !items.is_empty() => {
                    let frame = self.frame(Some(env));
                    for item in &items[..items.len() - 1] {
                        self.eval(item, input, &frame)?;
                    }
                    return self.eval_tail(&items[items.len() - 1], input, &frame);
                }
                _ => {}
            }
        }
        Ok(Flow::Value(self.eval_expr(expr, input, env)?))
    }

    fn transform(
        &self,
        target: Value,
        pattern: &Expr,
        update: &Expr,
        delete: Option<&Expr>,
        env: &Env,
    ) -> Result<Value, Error> {
        if target.is_undefined() {
            return Ok(Value::Undefined);
        }
        let result = deep_clone(&target);
        let matches = self.eval(pattern, &result, env)?;
        for matched in matches.items() {
            let changes = self.eval(update, &matched, env)?;
            match &changes {
                Value::Undefined => {}
                Value::Object(changes) => {
                    if let Value::Object(target) = &matched {
                        let changes = changes.borrow().clone();
                        let mut target = target.borrow_mut();
                        for (k, v) in changes.iter() {
                            target.insert(k.clone(), v.clone());
                        }
                    }
                }
                other => {
                    return Err(err(
                        "T2011",
                        format!(
                            "The insert/update clause of the transform expression must evaluate to an object: {}",
                            describe(other)
                        ),
                    )
                    .at(update.position, None));
                }
            }
            if let Some(delete) = delete {
                let deletions = self.eval(delete, &matched, env)?;
                if deletions.is_undefined() {
                    continue;
                }
                let names = deletions.items();
                if !names.iter().all(|n| matches!(n, Value::String(_))) {
                    return Err(err(
                        "T2012",
                        format!(
                            "The delete clause of the transform expression must evaluate to a string or array of strings: {}",
                            describe(&deletions)
                        ),
                    )
                    .at(delete.position, None));
                }
                if let Value::Object(target) = &matched {
                    let mut target = target.borrow_mut();
                    for name in names {
                        if let Some(name) = name.as_str() {
                            target.remove(name);
                        }
                    }
                }
            }
        }
        Ok(result)
    }
}

/// A transformer's signature, `<(oa):o>`: an object or an array.
static TRANSFORM_SIGNATURE: std::sync::LazyLock<Signature> = std::sync::LazyLock::new(|| Signature {
    text: "<(oa):o>".into(),
    params: vec![crate::signature::Param {
        kind: "(oa)".into(),
        accepts: "oam".into(),
        context: false,
        optional: false,
        one_or_more: false,
        subtype: None,
    }],
});

/// `$clone`'s copy: fresh objects and arrays all the way down (the transform updates its copy in place).
pub fn deep_clone(value: &Value) -> Value {
    match value {
        Value::Array(a) => Value::Array(Rc::new(Array {
            items: a.items.iter().map(deep_clone).collect(),
            ..(**a).clone()
        })),
        Value::Object(o) => o
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), deep_clone(v)))
            .collect::<Object>()
            .into(),
        other => other.clone(),
    }
}

/// jsonata-js's `reduceTupleStream`: the tuples of a group as one, each binding's values appended.
fn reduce_tuple_stream(data: &Value) -> Object {
    match data {
        Value::Array(a) if !a.items.is_empty() => {
            let mut result = object_of(&a.items[0]);
            for tuple in &a.items[1..] {
                if let Value::Object(o) = tuple {
                    for (k, v) in o.borrow().iter() {
                        let existing = result.get(k).cloned().unwrap_or_default();
                        result.insert(k.clone(), append(existing, v.clone()));
                    }
                }
            }
            result
        }
        other => object_of(other),
    }
}

/// jsonata-js's merge sort: `swap(a, b)` says whether `b` goes before `a`; equal items keep their order.
pub fn merge_sort<T: Clone>(
    items: Vec<T>,
    swap: &mut impl FnMut(&T, &T) -> Result<bool, Error>,
) -> Result<Vec<T>, Error> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut right = items;
    let left: Vec<T> = right.drain(..right.len() / 2).collect();
    let left = merge_sort(left, swap)?;
    let right = merge_sort(right, swap)?;
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                if swap(a, b)? {
                    merged.extend(r.next());
                } else {
                    merged.extend(l.next());
                }
            }
            (Some(_), None) => merged.extend(l.by_ref()),
            (None, Some(_)) => merged.extend(r.by_ref()),
            (None, None) => break,
        }
    }
    Ok(merged)
}

/// The byte offset of the `units`-th UTF-16 unit of `text`.
pub fn utf16_to_byte(text: &str, units: usize) -> usize {
    let mut count = 0;
    for (i, c) in text.char_indices() {
        if count >= units {
            return i;
        }
        count += c.len_utf16();
    }
    text.len()
}

fn byte_to_utf16(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].encode_utf16().count()
}

/// A regular expression's first match in `text` from UTF-16 offset `from`: jsonata-js's match
/// object (`match`, `start`, `end`, `groups`, `next`), or undefined.
fn regex_match(pattern: &Pattern, text: Rc<str>, from: usize, position: usize) -> Value {
    let start = utf16_to_byte(&text, from);
    let Some(captures) = pattern.regex.captures_at(&text, start) else {
        return Value::Undefined;
    };
    let Some(whole) = captures.get(0) else {
        return Value::Undefined;
    };
    let begin = byte_to_utf16(&text, whole.start());
    let end = byte_to_utf16(&text, whole.end());
    let groups: Vec<Value> = (1..captures.len())
        .map(|i| captures.get(i).map(|m| Value::from(m.as_str())).unwrap_or_default())
        .collect();
    let mut object = Object::new();
    object.insert("match", Value::from(whole.as_str()));
    object.insert("start", Value::Number(begin as f64));
    object.insert("end", Value::Number(end as f64));
    object.insert("groups", Value::array(groups));
    object.insert(
        "next",
        Value::Function(Rc::new(Function::RegexNext {
            pattern: pattern.clone(),
            text: text.clone(),
            from: end,
            position,
        })),
    );
    object.into()
}

/// A value for an error message.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => format!("{other:?}"),
    }
}

fn binary(op: &str, left: Value, right: Value) -> Result<Value, Error> {
    match op {
        "+" | "-" | "*" | "/" | "%" => {
            if !left.is_undefined() && !left.is_numeric()? {
                return Err(err(
                    "T2001",
                    format!("The left side of the {op:?} operator must evaluate to a number"),
                ));
            }
            if !right.is_undefined() && !right.is_numeric()? {
                return Err(err(
                    "T2002",
                    format!("The right side of the {op:?} operator must evaluate to a number"),
                ));
            }
            let (Value::Number(l), Value::Number(r)) = (&left, &right) else {
                return Ok(Value::Undefined);
            };
            Ok(Value::Number(match op {
                "+" => l + r,
                "-" => l - r,
                "*" => l * r,
                "/" => l / r,
                _ => l % r,
            }))
        }
        "=" | "!=" => {
            if left.is_undefined() || right.is_undefined() {
                return Ok(Value::Bool(false));
            }
            Ok(Value::Bool(left.deep_equal(&right) == (op == "=")))
        }
        "<" | "<=" | ">" | ">=" => {
            let comparable = |v: &Value| matches!(v, Value::Undefined | Value::String(_) | Value::Number(_));
            if !comparable(&left) || !comparable(&right) {
                return Err(err(
                    "T2010",
                    format!("The expressions either side of operator {op:?} must evaluate to numeric or string values"),
                ));
            }
            if left.is_undefined() || right.is_undefined() {
                return Ok(Value::Undefined);
            }
            let ordering = match (&left, &right) {
                (Value::Number(l), Value::Number(r)) => l.partial_cmp(r),
                (Value::String(l), Value::String(r)) => Some(js_string_cmp(l, r)),
                _ => {
                    return Err(err(
                        "T2009",
                        format!(
                            "The values {} and {} either side of operator {op:?} must be of the same data type",
                            describe(&left),
                            describe(&right)
                        ),
                    ));
                }
            };
            use std::cmp::Ordering::*;
            Ok(Value::Bool(match (op, ordering) {
                (_, None) => false,
                ("<", Some(o)) => o == Less,
                ("<=", Some(o)) => o != Greater,
                (">", Some(o)) => o == Greater,
                (_, Some(o)) => o != Less,
            }))
        }
        "&" => {
            let mut out = String::new();
            for side in [&left, &right] {
                if !side.is_undefined() {
                    out.push_str(&functions::string(side, false)?);
                }
            }
            functions::check_length(out.len() as f64)?;
            Ok(Value::from(out))
        }
        ".." => {
            let integer = |v: &Value| matches!(v, Value::Number(n) if n.is_finite() && n.fract() == 0.0);
            if !left.is_undefined() && !integer(&left) {
                return Err(err(
                    "T2003",
                    "The left side of the range operator (..) must evaluate to an integer",
                ));
            }
            if !right.is_undefined() && !integer(&right) {
                return Err(err(
                    "T2004",
                    "The right side of the range operator (..) must evaluate to an integer",
                ));
            }
            let (Value::Number(l), Value::Number(r)) = (&left, &right) else {
                return Ok(Value::Undefined);
            };
            if l > r {
                return Ok(Value::Undefined);
            }
            let size = r - l + 1.0;
            if size > 1e7 {
                return Err(err(
                    "D2014",
                    format!(
                        "The size of the sequence allocated by the range operator (..) must not exceed 1e7.  Attempted to allocate {size}."
                    ),
                ));
            }
            let (l, r) = (*l as i64, *r as i64);
            Ok(Value::sequence((l..=r).map(|n| Value::Number(n as f64)).collect()))
        }
        "in" => {
            if left.is_undefined() || right.is_undefined() {
                return Ok(Value::Bool(false));
            }
            Ok(Value::Bool(right.items().iter().any(|v| v.strict_equal(&left))))
        }
        _ => Ok(Value::Undefined),
    }
}

/// Checks `args` against `signature` as jsonata-js's `signature.validate` does: the arguments'
/// type symbols must match the parameters (`?` optional, `+` one or more, `-` the context when
/// missing); an `a` parameter gets a lone value as a one-item array.
pub fn validate(signature: &Signature, args: Vec<Value>, context: &Value) -> Result<Vec<Value>, Error> {
    let symbols: Vec<char> = args.iter().map(Value::type_symbol).collect();
    let Some(counts) = match_params(&signature.params, &symbols, 0, true) else {
        // Find the first argument no prefix of the parameters can take.
        let mut good_to = 0;
        for k in 1..=signature.params.len() {
            match match_params(&signature.params[..k], &symbols, 0, false) {
                Some(counts) => good_to = counts.iter().sum(),
                None => break,
            }
        }
        return Err(err(
            "T0410",
            format!(
                "Argument {} of function {TOKEN} does not match function signature",
                good_to + 1
            ),
        ));
    };
    let mut validated = Vec::with_capacity(signature.params.len());
    let mut arg_index = 0;
    // Where each parameter's match starts among the symbols: an argument skipped by an optional
    // parameter still moves `arg_index` on (as in jsonata-js), not the match.
    let mut symbol_index = 0;
    for (param, count) in signature.params.iter().zip(counts) {
        if count == 0 {
            if param.context {
                if param.accepts.contains(context.type_symbol()) {
                    validated.push(context.clone());
                } else {
                    return Err(err(
                        "T0411",
                        format!(
                            "Context value is not a compatible type with argument {} of function {TOKEN}",
                            arg_index + 1
                        ),
                    ));
                }
            } else {
                validated.push(args.get(arg_index).cloned().unwrap_or_default());
                arg_index += 1;
            }
            continue;
        }
        let matched: String = symbols[symbol_index..symbol_index + count].iter().collect();
        symbol_index += count;
        for single in matched.chars() {
            let arg = args.get(arg_index).cloned().unwrap_or_default();
            if param.kind == "a" {
                if single == 'm' {
                    validated.push(Value::Undefined);
                } else {
                    let mut ok = true;
                    if let Some(subtype) = &param.subtype {
                        if single != 'a' && matched != *subtype {
                            ok = false;
                        } else if single == 'a'
                            && let Some(items) = arg.array_items()
                            && let Some(first) = items.first()
                        {
                            let item_type = first.type_symbol();
                            ok = subtype.starts_with(item_type) && items.iter().all(|v| v.type_symbol() == item_type);
                        }
                    }
                    if !ok {
                        return Err(err(
                            "T0412",
                            format!(
                                "Argument {} of function {TOKEN} must be an array of \"{}\"",
                                arg_index + 1,
                                type_word(param.subtype.as_deref().unwrap_or(""))
                            ),
                        ));
                    }
                    validated.push(if single == 'a' { arg } else { Value::array(vec![arg]) });
                }
            } else {
                validated.push(arg);
            }
            arg_index += 1;
        }
    }
    Ok(validated)
}

fn type_word(symbol: &str) -> &'static str {
    match symbol.chars().next() {
        Some('a') => "arrays",
        Some('b') => "booleans",
        Some('f') => "functions",
        Some('n') => "numbers",
        Some('o') => "objects",
        Some('s') => "strings",
        _ => "values",
    }
}

/// Matches the type symbols against the parameters, greedily with backtracking (as the regular
/// expression jsonata-js builds would): how many symbols each parameter takes. `anchored`: the
/// parameters must take every symbol. Positions already known to fail are remembered, so the
/// search is polynomial however many `+` parameters a signature has.
fn match_params(params: &[crate::signature::Param], symbols: &[char], at: usize, anchored: bool) -> Option<Vec<usize>> {
    let mut failed = std::collections::HashSet::new();
    match_from(params, 0, symbols, at, anchored, &mut failed)
}

fn match_from(
    params: &[crate::signature::Param],
    index: usize,
    symbols: &[char],
    at: usize,
    anchored: bool,
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> Option<Vec<usize>> {
    let Some(param) = params.get(index) else {
        return (!anchored || at == symbols.len()).then(Vec::new);
    };
    if failed.contains(&(index, at)) {
        return None;
    }
    let optional = param.optional || param.context;
    let min = if optional { 0 } else { 1 };
    let mut max = 0;
    while at + max < symbols.len() && param.accepts.contains(symbols[at + max]) && (param.one_or_more || max < 1) {
        max += 1;
    }
    let mut count = max;
    while count >= min {
        if let Some(mut tail) = match_from(params, index + 1, symbols, at + count, anchored, failed) {
            tail.insert(0, count);
            return Some(tail);
        }
        if count == 0 {
            break;
        }
        count -= 1;
    }
    failed.insert((index, at));
    None
}
