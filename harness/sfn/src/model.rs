//! The parsed, validated model of a definition. Parsing collects every problem it finds, with
//! the state and field named, like ValidateStateMachineDefinition.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::choice::Rule;
use crate::diagnostic::Diagnostic;
use crate::error::StatesError;
use crate::intrinsics::Intrinsic;
use crate::paths::{Path, ReferencePath};
use crate::query::{self, Query, Reads};
use crate::variables::{self, Assignment, Env};

/// The language a state's fields are written in: JSONPath (paths, `.$` keys, intrinsic
/// functions) or JSONata (`{% … %}` expressions in Arguments, Output, Assign …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

/// Fields only a JSONPath state has; a JSONata state refuses them (and the reverse for
/// `JSONATA_ONLY`), with AWS's words.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "MaxConcurrencyPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "Iterator",
];
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

fn language_mismatch(at: &str, language: QueryLanguage, field: &str) -> Diagnostic {
    let (is, only) = match language {
        QueryLanguage::Jsonata => ("JSONata", "JSONPath"),
        QueryLanguage::JsonPath => ("JSONPath", "JSONata"),
    };
    Diagnostic::at(
        at,
        format!(
            "The QueryLanguage is set to '{is}', but field '{field}' is only supported for the '{only}' QueryLanguage"
        ),
    )
}

/// A Parameters / ResultSelector / ItemSelector template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Intrinsic),
    /// A `{% … %}` string in a JSONata state.
    Query(Query),
}

impl Template {
    /// A field of a JSONata state: `{% … %}` strings (at any depth) are expressions, everything
    /// else is taken as written (`.$` keys included). `location` names the field as AWS does
    /// (`Output`, `Arguments/Payload`); `reads` says which `$states` fields it may read.
    pub fn parse_jsonata(
        value: &Value,
        at: &str,
        location: &str,
        reads: Reads,
        errors: &mut Vec<Diagnostic>,
    ) -> Template {
        match value {
            Value::String(text) => match query::expression_text(text) {
                Some(expression) => match Query::parse(expression, location, reads) {
                    Ok(q) => Template::Query(q),
                    Err(problems) => {
                        errors.extend(problems.into_iter().map(|p| p.located(at)));
                        Template::Literal(Value::Null)
                    }
                },
                None => Template::Literal(value.clone()),
            },
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(key, v)| {
                        let t = Template::parse_jsonata(
                            v,
                            &format!("{at}.{key}"),
                            &format!("{location}/{key}"),
                            reads,
                            errors,
                        );
                        (key.clone(), t)
                    })
                    .collect(),
            ),
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        Template::parse_jsonata(v, &format!("{at}[{i}]"), &format!("{location}[{i}]"), reads, errors)
                    })
                    .collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    /// A field in `language`: a JSONPath template or a JSONata one.
    pub fn parse_in(
        language: QueryLanguage,
        value: &Value,
        at: &str,
        location: &str,
        reads: Reads,
        errors: &mut Vec<Diagnostic>,
    ) -> Template {
        match language {
            QueryLanguage::JsonPath => Template::parse(value, at, errors),
            QueryLanguage::Jsonata => Template::parse_jsonata(value, at, location, reads, errors),
        }
    }

    /// The expression, when the whole field is one `{% … %}` string.
    pub fn as_query(&self) -> Option<&Query> {
        match self {
            Template::Query(q) => Some(q),
            _ => None,
        }
    }

    fn parse(value: &Value, at: &str, errors: &mut Vec<Diagnostic>) -> Template {
        match value {
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(key, v)| match key.strip_suffix(".$") {
                        Some(name) => {
                            let field = match v.as_str() {
                                Some(text) if Intrinsic::is_intrinsic(text) => {
                                    Intrinsic::parse(text).map(Template::Intrinsic)
                                }
                                Some(text) => Path::parse(text).map(Template::Path),
                                None => Err(format!(
                                    "the value of a '.$' field must be a path or intrinsic string, got {v}"
                                )),
                            };
                            let field = field.unwrap_or_else(|e| {
                                errors.push(Diagnostic::at(format!("{at}.{key}"), e));
                                Template::Literal(Value::Null)
                            });
                            (name.to_string(), field)
                        }
                        None => (key.clone(), Template::parse(v, &format!("{at}.{key}"), errors)),
                    })
                    .collect(),
            ),
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Template::parse(v, &format!("{at}[{i}]"), errors))
                    .collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<Value, StatesError> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Path(p) => p.select(input, env)?,
            Template::Intrinsic(f) => f.eval(input, env)?,
            Template::Query(q) => q.eval(input, env)?,
            Template::Array(items) => Value::Array(items.iter().map(|t| t.eval(input, env)).collect::<Result<_, _>>()?),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (name, t) in fields {
                    out.insert(name.clone(), t.eval(input, env)?);
                }
                Value::Object(out)
            }
        })
    }
}

/// An `Assign` field (of a state, a Choice rule or a Catcher) in a JSONPath state: each variable
/// with the template that gives its value. A `name.$` key takes a path or an intrinsic function
/// (over the value the field applies to, `$$` and the variables); any other value is assigned as
/// written, `.$` keys nested in it evaluated as in Parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign(Vec<(String, Template)>);

impl Assign {
    /// An `Assign` in `language`; in JSONata each value is a JSONata template at
    /// `Assign/<name>` (under `prefix`, a Catcher's or a Choice rule's place).
    fn parse_in(
        language: QueryLanguage,
        value: &Value,
        at: &str,
        prefix: &str,
        reads: Reads,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Assign> {
        match language {
            QueryLanguage::JsonPath => Assign::parse(value, at, errors),
            QueryLanguage::Jsonata => {
                let Some(fields) = value.as_object() else {
                    errors.push(Diagnostic::of(
                        at,
                        format_args!("must be an object of variable names and values, got {value}"),
                    ));
                    return None;
                };
                let mut bindings = Vec::with_capacity(fields.len());
                for (name, v) in fields {
                    if let Err(e) = variables::check_name(name) {
                        errors.push(Diagnostic::at(format!("{at}.{name}"), e.to_string()));
                    }
                    let location = format!("{prefix}Assign/{name}");
                    bindings.push((
                        name.clone(),
                        Template::parse_jsonata(v, &format!("{at}.{name}"), &location, reads, errors),
                    ));
                }
                Some(Assign(bindings))
            }
        }
    }

    fn parse(value: &Value, at: &str, errors: &mut Vec<Diagnostic>) -> Option<Assign> {
        let Some(fields) = value.as_object() else {
            errors.push(Diagnostic::of(
                at,
                format_args!("must be an object of variable names and values, got {value}"),
            ));
            return None;
        };
        let mut seen = BTreeSet::new();
        for key in fields.keys() {
            let name = key.strip_suffix(".$").unwrap_or(key);
            if let Err(e) = variables::check_name(name) {
                errors.push(Diagnostic::at(format!("{at}.{key}"), e.to_string()));
            }
            if !seen.insert(name) {
                errors.push(Diagnostic::at(
                    format!("{at}.{key}"),
                    format!("the variable {name:?} is assigned twice"),
                ));
            }
        }
        match Template::parse(value, at, errors) {
            Template::Object(bindings) => Some(Assign(bindings)),
            _ => None,
        }
    }

    /// Evaluates every value against `input` and the variables as they are now; nothing is
    /// assigned until the caller commits the result.
    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<Assignment, StatesError> {
        let mut bindings = Vec::with_capacity(self.0.len());
        for (name, template) in &self.0 {
            bindings.push((name.clone(), template.eval(input, env)?));
        }
        Ok(Assignment::new(bindings))
    }

    /// The names it assigns.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }
}

/// An optional `Assign` evaluated, or nothing assigned.
pub fn assign(assign: &Option<Assign>, input: &Value, env: &Env<'_>) -> Result<Assignment, StatesError> {
    match assign {
        Some(a) => a.eval(input, env),
        None => Ok(Assignment::default()),
    }
}

/// InputPath / OutputPath: absent (`$`), `null` (an empty object), or a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All,
    Discard,
    Path(Path),
}

impl Filter {
    pub fn apply(&self, value: &Value, env: &Env<'_>) -> Result<Value, StatesError> {
        match self {
            Filter::All => Ok(value.clone()),
            Filter::Discard => Ok(Value::Object(Map::new())),
            Filter::Path(p) => p.select(value, env),
        }
    }
}

/// ResultPath: absent (`$`: the result replaces the input), `null` (keep the input), a path.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPath {
    Discard,
    Path(ReferencePath),
}

impl ResultPath {
    pub fn merge(&self, input: Value, result: Value) -> Result<Value, StatesError> {
        match self {
            ResultPath::Discard => Ok(input),
            ResultPath::Path(p) => p.write(input, result),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: ResultPath,
    /// Evaluated over the error output (`{"Error", "Cause"}`) when this catcher catches; the
    /// state's own Assign is not.
    pub assign: Option<Assign>,
    /// A JSONata catcher's `Output` over the error output (which is the output without it).
    pub output: Option<Template>,
    pub query_language: QueryLanguage,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(f64),
    Timestamp(String),
    SecondsPath(Path),
    TimestampPath(Path),
    /// JSONata `Seconds`: an expression giving an integer from 0 to 99999999.
    SecondsQuery(Query),
    /// JSONata `Timestamp`: an expression giving an RFC 3339 timestamp.
    TimestampQuery(Query),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceBranch {
    pub rule: Rule,
    /// Evaluated over the effective input when this rule is the one taken (the state's own
    /// Assign is then not).
    pub assign: Option<Assign>,
    /// A JSONata rule's `Output` (the input without it).
    pub output: Option<Template>,
    pub next: String,
}

/// An RFC 3339 timestamp as AWS takes it: a `T` between date and time, an offset or `Z`.
pub fn parse_timestamp(text: &str) -> Option<time::OffsetDateTime> {
    if !matches!(text.as_bytes().get(10), Some(b'T')) {
        return None;
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// `ItemReader`: the items of a Distributed Map from S3 (an object, or a listing).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReader {
    /// After `arn:aws:states:::`: `s3:getObject` or `s3:listObjectsV2`.
    pub integration: String,
    pub parameters: Option<Template>,
    pub input_type: InputType,
    pub max_items: Option<Tolerance>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputType {
    /// A JSON array (the default for s3:getObject).
    Json,
    /// One JSON value per line.
    Jsonl,
    /// Rows as objects keyed by the header (the first row, or `CSVHeaders`).
    Csv { headers: Option<Vec<String>> },
    /// s3:listObjectsV2: one item per object.
    Listing,
    /// An S3 Inventory `manifest.json`: its (gzipped) CSV files, rows keyed by its `fileSchema`.
    Manifest,
}

/// `ItemBatcher`: items handed to each child run in batches (`{"Items": […], "BatchInput": …}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch`, its `…Path`, or a JSONata expression.
    pub max_items: Option<Tolerance>,
    /// `MaxInputBytesPerBatch`, its `…Path`, or a JSONata expression.
    pub max_bytes: Option<Tolerance>,
    pub batch_input: Option<Template>,
}

/// `ResultWriter`: child results written to S3 instead of the state's output.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultWriter {
    /// `s3:putObject`; without it (`WriterConfig` alone) the results are the state's output.
    pub integration: Option<String>,
    pub parameters: Option<Template>,
    pub transformation: Transformation,
    /// JSONL instead of a JSON array, in the files written.
    pub jsonl: bool,
}

/// `WriterConfig.Transformation`: what each child's entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    /// The child's output and its run's metadata (the default when writing to S3).
    None,
    /// The child's output (the default without a ResultWriter).
    Compact,
    /// Like COMPACT, an array output flattened into the results.
    Flatten,
}

/// A Map's tolerated failures (a count or a percentage) or `MaxItems`: fixed, or read with a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Tolerance {
    Fixed(f64),
    Path(Path),
    Query(Query),
}

/// A Map's `MaxConcurrency` (0: no limit), or `MaxConcurrencyPath` read from its input.
#[derive(Debug, Clone, PartialEq)]
pub enum Concurrency {
    Fixed(usize),
    Path(Path),
    Query(Query),
}

/// A Task's `TimeoutSeconds` / `HeartbeatSeconds`, or their `…Path` read from the state input.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    Seconds(f64),
    Path(Path),
    Query(Query),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task {
        resource: String,
        timeout: Option<Limit>,
        /// For callback tasks: the longest time between heartbeats (`States.HeartbeatTimeout`).
        heartbeat: Option<Limit>,
        /// `Credentials` (`RoleArn` or `RoleArn.$`): the role the task runs as. The local world has no
        /// IAM, so it is recorded (`taskCredentials` in the scheduled event), not enforced.
        credentials: Option<Template>,
    },
    Choice {
        choices: Vec<ChoiceBranch>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
    },
    Succeed,
    Fail {
        error: Option<String>,
        cause: Option<String>,
        /// A path or an intrinsic function giving a string.
        error_path: Option<Template>,
        cause_path: Option<Template>,
    },
    Parallel {
        branches: Vec<StateMachine>,
    },
    Map {
        processor: Box<StateMachine>,
        /// `ItemsPath` (a path over the state input) or JSONata `Items` (an array or an expression).
        items: Option<Box<Template>>,
        item_selector: Option<Template>,
        max_concurrency: Concurrency,
        /// Distributed mode: where the items come from, how they are batched, where results go.
        reader: Option<Box<ItemReader>>,
        batcher: Option<Box<ItemBatcher>>,
        writer: Option<Box<ResultWriter>>,
        tolerated_count: Option<Tolerance>,
        tolerated_percentage: Option<Tolerance>,
        /// `Label`: names the Map run (its ARN) in place of the state's name.
        label: Option<String>,
        /// `ItemProcessor.ProcessorConfig.Mode` is `DISTRIBUTED`: each child runs as an execution of
        /// its own, which sees none of the parent's variables.
        distributed: bool,
    },
}

/// A state's `Type`, without its fields: what history events are named after
/// (`PassStateEntered`, `MapStateExited` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    Choice,
    Fail,
    Map,
    Parallel,
    Pass,
    Succeed,
    Task,
    Wait,
}

impl StateType {
    /// The `Type` as ASL spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Choice => "Choice",
            StateType::Fail => "Fail",
            StateType::Map => "Map",
            StateType::Parallel => "Parallel",
            StateType::Pass => "Pass",
            StateType::Succeed => "Succeed",
            StateType::Task => "Task",
            StateType::Wait => "Wait",
        }
    }
}

impl Kind {
    pub fn state_type(&self) -> StateType {
        match self {
            Kind::Pass { .. } => StateType::Pass,
            Kind::Task { .. } => StateType::Task,
            Kind::Choice { .. } => StateType::Choice,
            Kind::Wait { .. } => StateType::Wait,
            Kind::Succeed => StateType::Succeed,
            Kind::Fail { .. } => StateType::Fail,
            Kind::Parallel { .. } => StateType::Parallel,
            Kind::Map { .. } => StateType::Map,
        }
    }

    /// The `Type` as ASL spells it.
    pub fn type_name(&self) -> &'static str {
        self.state_type().as_str()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub name: String,
    pub kind: Kind,
    pub query_language: QueryLanguage,
    /// JSONata `Arguments` (Task, Parallel): what the work gets; the state input without it.
    pub arguments: Option<Template>,
    /// JSONata `Output`: the state's output; without it the result (Task, Map, Parallel) or the
    /// input (the other states).
    pub output: Option<Template>,
    pub input_path: Filter,
    pub output_path: Filter,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// Evaluated when the state succeeds (for a Choice, when its Default is taken).
    pub assign: Option<Assign>,
    /// `None` for terminal states (End, Succeed, Fail) and Choice.
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    /// The machine's `QueryLanguage`, which every state inside it (branches and item processors
    /// included) defaults to.
    pub query_language: QueryLanguage,
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    pub timeout_seconds: Option<f64>,
}

/// Every problem in a definition, each naming where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<Diagnostic>);

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid state machine definition:")?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl ValidationErrors {
    /// Every problem's text, `; ` between them (as CreateStateMachine's InvalidDefinition says them).
    pub fn joined(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    }
}

const COMMON: &[&str] = &[
    "Type",
    "Comment",
    "InputPath",
    "OutputPath",
    "Next",
    "End",
    "QueryLanguage",
];

fn allowed_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pass" => &["Parameters", "Result", "ResultPath", "Assign", "Output"],
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
            "Arguments",
            "Output",
        ],
        "Choice" => &["Choices", "Default", "Assign", "Output"],
        "Wait" => &[
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "TimestampPath",
            "Assign",
            "Output",
        ],
        "Succeed" => &["Output"],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Assign",
            "Arguments",
            "Output",
        ],
        "Map" => &[
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
            "Assign",
            "Items",
            "Output",
        ],
        _ => return None,
    })
}

struct Ctx<'a> {
    errors: &'a mut Vec<Diagnostic>,
    /// The language of the state being read.
    language: QueryLanguage,
}

impl Ctx<'_> {
    fn err(&mut self, problem: Diagnostic) {
        self.errors.push(problem);
    }

    /// A JSONata field's `{% … %}` expression (`Some(Err(()))` when it was refused), or `None`
    /// when the field is not one.
    fn query(&mut self, obj: &Map<String, Value>, field: &str, at: &str, location: &str) -> Option<Result<Query, ()>> {
        if self.language != QueryLanguage::Jsonata {
            return None;
        }
        let text = query::expression_text(obj.get(field)?.as_str()?)?;
        Some(Query::parse(text, location, Reads::Input).map_err(|problems| {
            for p in problems {
                self.err(p.located(format!("{at}.{field}")));
            }
        }))
    }

    fn string(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<String> {
        match obj.get(field) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.err(Diagnostic::of(
                    format!("{at}.{field}"),
                    format_args!("must be a string, got {other}"),
                ));
                None
            }
        }
    }

    fn number(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<f64> {
        match obj.get(field) {
            None => None,
            Some(v) if v.is_number() => v.as_f64(),
            Some(other) => {
                self.err(Diagnostic::of(
                    format!("{at}.{field}"),
                    format_args!("must be a number, got {other}"),
                ));
                None
            }
        }
    }

    /// `Field` (a positive number) or `FieldPath` (a path), not both.
    fn limit(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Limit> {
        let path_field = format!("{field}Path");
        match (obj.contains_key(field), obj.contains_key(&path_field)) {
            (true, true) => {
                self.err(Diagnostic::at(
                    at,
                    format!("{field} and {path_field} cannot both be given"),
                ));
                None
            }
            (true, false) => {
                if let Some(q) = self.query(obj, field, at, field) {
                    return q.ok().map(Limit::Query);
                }
                let seconds = self.number(obj, field, at)?;
                if seconds <= 0.0 {
                    self.err(Diagnostic::of(format!("{at}.{field}"), "must be a positive integer"));
                }
                Some(Limit::Seconds(seconds))
            }
            (false, true) => self.path(obj, &path_field, at).map(Limit::Path),
            (false, false) => None,
        }
    }

    /// `Field` (a number) or `FieldPath`, not both.
    fn tolerance(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Tolerance> {
        let path_field = format!("{field}Path");
        // A state's own `…Path` fields are checked with its other fields; these are inside objects.
        if self.language == QueryLanguage::Jsonata
            && obj.contains_key(&path_field)
            && !JSONPATH_ONLY.contains(&path_field.as_str())
        {
            self.err(language_mismatch(at, self.language, &path_field));
            return None;
        }
        match (obj.contains_key(field), obj.contains_key(&path_field)) {
            (true, true) => {
                self.err(Diagnostic::at(
                    at,
                    format!("{field} and {path_field} cannot both be given"),
                ));
                None
            }
            (true, false) => match self.query(obj, field, at, field) {
                Some(q) => q.ok().map(Tolerance::Query),
                None => self.number(obj, field, at).map(Tolerance::Fixed),
            },
            (false, true) => self.path(obj, &path_field, at).map(Tolerance::Path),
            (false, false) => None,
        }
    }

    fn integration(&mut self, obj: &Map<String, Value>, at: &str, allowed: &[&str]) -> Option<String> {
        let resource = self.string(obj, "Resource", at)?;
        match resource.strip_prefix("arn:aws:states:::") {
            Some(integration) if allowed.contains(&integration) => Some(integration.to_string()),
            _ => {
                self.err(Diagnostic::of(
                    format!("{at}.Resource"),
                    format_args!(
                        "{resource:?} is not one of arn:aws:states:::{}",
                        allowed.join(", arn:aws:states:::")
                    ),
                ));
                None
            }
        }
    }

    fn item_reader(&mut self, value: &Value, at: &str) -> Option<ItemReader> {
        let Some(obj) = value.as_object() else {
            self.err(Diagnostic::of(at, "must be an object"));
            return None;
        };
        let integration = self.integration(obj, at, &["s3:getObject", "s3:listObjectsV2"])?;
        let config = obj
            .get("ReaderConfig")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let at_config = format!("{at}.ReaderConfig");
        let input_type = match (
            integration.as_str(),
            self.string(&config, "InputType", &at_config).as_deref(),
        ) {
            ("s3:listObjectsV2", _) => InputType::Listing,
            (_, None | Some("JSON")) => InputType::Json,
            (_, Some("JSONL")) => InputType::Jsonl,
            (_, Some("CSV")) => {
                let location = self.string(&config, "CSVHeaderLocation", &at_config);
                let headers = match location.as_deref() {
                    None | Some("FIRST_ROW") => None,
                    Some("GIVEN") => {
                        let given = config.get("CSVHeaders").and_then(Value::as_array).map(|h| {
                            h.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect::<Vec<_>>()
                        });
                        if given.is_none() {
                            self.err(Diagnostic::at(&at_config, "CSVHeaderLocation GIVEN needs CSVHeaders"));
                        }
                        given
                    }
                    Some(other) => {
                        self.err(Diagnostic::of(
                            format!("{at_config}.CSVHeaderLocation"),
                            format_args!("{other:?} is not FIRST_ROW or GIVEN"),
                        ));
                        None
                    }
                };
                InputType::Csv { headers }
            }
            (_, Some("MANIFEST")) => InputType::Manifest,
            (_, Some(other)) => {
                self.err(Diagnostic::of(
                    format!("{at_config}.InputType"),
                    format_args!("{other:?} is not one of JSON, JSONL, CSV, MANIFEST"),
                ));
                InputType::Json
            }
        };
        Some(ItemReader {
            integration,
            parameters: obj
                .get(self.arguments_field())
                .map(|p| self.template(p, &format!("{at}.{}", self.arguments_field()), "ItemReader/Arguments")),
            input_type,
            max_items: self.tolerance(&config, "MaxItems", &at_config),
        })
    }

    fn item_batcher(&mut self, value: &Value, at: &str) -> ItemBatcher {
        let obj = value.as_object().cloned().unwrap_or_default();
        let batcher = ItemBatcher {
            max_items: self.tolerance(&obj, "MaxItemsPerBatch", at),
            max_bytes: self.tolerance(&obj, "MaxInputBytesPerBatch", at),
            batch_input: obj
                .get("BatchInput")
                .map(|b| self.template(b, &format!("{at}.BatchInput"), "ItemBatcher/BatchInput")),
        };
        if batcher.max_items.is_none() && batcher.max_bytes.is_none() {
            self.err(Diagnostic::of(at, "needs MaxItemsPerBatch or MaxInputBytesPerBatch"));
        }
        batcher
    }

    fn result_writer(&mut self, value: &Value, at: &str) -> Option<ResultWriter> {
        let Some(obj) = value.as_object() else {
            self.err(Diagnostic::of(at, "must be an object"));
            return None;
        };
        let config = obj
            .get("WriterConfig")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let at_config = format!("{at}.WriterConfig");
        let integration = if obj.contains_key("Resource") {
            Some(self.integration(obj, at, &["s3:putObject"])?)
        } else {
            if config.is_empty() {
                self.err(Diagnostic::of(at, "needs a Resource and Parameters, or a WriterConfig"));
            }
            None
        };
        let transformation = match self.string(&config, "Transformation", &at_config).as_deref() {
            None if integration.is_some() => Transformation::None,
            None | Some("COMPACT") => Transformation::Compact,
            Some("NONE") => Transformation::None,
            Some("FLATTEN") => Transformation::Flatten,
            Some(other) => {
                self.err(Diagnostic::of(
                    format!("{at_config}.Transformation"),
                    format_args!("{other:?} is not NONE, COMPACT or FLATTEN"),
                ));
                Transformation::Compact
            }
        };
        let jsonl = match self.string(&config, "OutputType", &at_config).as_deref() {
            None | Some("JSON") => false,
            Some("JSONL") => true,
            Some(other) => {
                self.err(Diagnostic::of(
                    format!("{at_config}.OutputType"),
                    format_args!("{other:?} is not JSON or JSONL"),
                ));
                false
            }
        };
        let field = self.arguments_field();
        Some(ResultWriter {
            integration,
            parameters: obj
                .get(field)
                .map(|p| self.template(p, &format!("{at}.{field}"), "ResultWriter/Arguments")),
            transformation,
            jsonl,
        })
    }

    /// `Parameters` in JSONPath, `Arguments` in JSONata (ItemReader, ResultWriter).
    fn arguments_field(&self) -> &'static str {
        match self.language {
            QueryLanguage::JsonPath => "Parameters",
            QueryLanguage::Jsonata => "Arguments",
        }
    }

    /// A template in the state's language, at `location` (for JSONata causes).
    fn template(&mut self, value: &Value, at: &str, location: &str) -> Template {
        Template::parse_in(self.language, value, at, location, Reads::Input, self.errors)
    }

    /// A reference path, or an intrinsic function (Fail's ErrorPath and CausePath take either).
    fn path_or_intrinsic(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Template> {
        let text = self.string(obj, field, at)?;
        if Intrinsic::is_intrinsic(&text) {
            return Intrinsic::parse(&text)
                .map(Template::Intrinsic)
                .map_err(|e| self.err(Diagnostic::at(format!("{at}.{field}"), e)))
                .ok();
        }
        Path::parse(&text)
            .map(Template::Path)
            .map_err(|e| self.err(Diagnostic::at(format!("{at}.{field}"), e)))
            .ok()
    }

    fn path(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Path> {
        let text = self.string(obj, field, at)?;
        Path::parse(&text)
            .map_err(|e| self.err(Diagnostic::at(format!("{at}.{field}"), e)))
            .ok()
    }

    fn filter(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Filter {
        match obj.get(field) {
            None => Filter::All,
            Some(Value::Null) => Filter::Discard,
            Some(_) => self.path(obj, field, at).map(Filter::Path).unwrap_or(Filter::All),
        }
    }

    fn result_path(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> ResultPath {
        match obj.get(field) {
            None => ResultPath::Path(ReferencePath::parse("$").expect("'$' parses")),
            Some(Value::Null) => ResultPath::Discard,
            Some(Value::String(s)) => ReferencePath::parse(s).map(ResultPath::Path).unwrap_or_else(|e| {
                self.err(Diagnostic::at(format!("{at}.{field}"), e));
                ResultPath::Discard
            }),
            Some(other) => {
                self.err(Diagnostic::of(
                    format!("{at}.{field}"),
                    format_args!("must be a reference path or null, got {other}"),
                ));
                ResultPath::Discard
            }
        }
    }

    fn error_equals(&mut self, obj: &Map<String, Value>, at: &str) -> Vec<String> {
        let names: Vec<String> = match obj.get("ErrorEquals") {
            Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
                items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
            }
            _ => {
                self.err(Diagnostic::of(
                    format!("{at}.ErrorEquals"),
                    "must be a non-empty array of error names",
                ));
                return Vec::new();
            }
        };
        if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
            self.err(Diagnostic::at(
                format!("{at}.ErrorEquals"),
                "States.ALL must appear alone",
            ));
        }
        names
    }

    /// The objects of an optional array field (`Retry`, `Catch`), each with its location.
    fn objects<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        field: &str,
        at: &str,
    ) -> Vec<(String, &'v Map<String, Value>)> {
        let Some(items) = obj.get(field) else { return Vec::new() };
        let Some(items) = items.as_array() else {
            self.err(Diagnostic::of(format!("{at}.{field}"), "must be an array"));
            return Vec::new();
        };
        let count = items.len();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}.{field}[{i}]");
            let Some(object) = item.as_object() else {
                self.err(Diagnostic::of(at, "must be an object"));
                continue;
            };
            if i + 1 != count
                && object
                    .get("ErrorEquals")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.iter().any(|n| n == "States.ALL"))
            {
                self.err(Diagnostic::at(&at, "States.ALL must be in the last one"));
            }
            out.push((at, object));
        }
        out
    }

    fn retriers(&mut self, obj: &Map<String, Value>, at: &str) -> Vec<Retrier> {
        self.objects(obj, "Retry", at)
            .into_iter()
            .map(|(at, r)| {
                let error_equals = self.error_equals(r, &at);
                let max_attempts = self.number(r, "MaxAttempts", &at).unwrap_or(3.0);
                let backoff_rate = self.number(r, "BackoffRate", &at).unwrap_or(2.0);
                if backoff_rate < 1.0 {
                    self.err(Diagnostic::of(format!("{at}.BackoffRate"), "must be at least 1.0"));
                }
                let jitter = self.string(r, "JitterStrategy", &at);
                if jitter.as_deref().is_some_and(|j| j != "FULL" && j != "NONE") {
                    self.err(Diagnostic::of(format!("{at}.JitterStrategy"), "must be FULL or NONE"));
                }
                Retrier {
                    error_equals,
                    interval_seconds: self.number(r, "IntervalSeconds", &at).unwrap_or(1.0),
                    max_attempts: max_attempts.max(0.0) as u32,
                    backoff_rate,
                    max_delay_seconds: self.number(r, "MaxDelaySeconds", &at),
                    full_jitter: jitter.as_deref() == Some("FULL"),
                }
            })
            .collect()
    }

    fn catchers(&mut self, obj: &Map<String, Value>, at: &str) -> Vec<Catcher> {
        self.objects(obj, "Catch", at)
            .into_iter()
            .enumerate()
            .filter_map(|(i, (at, c))| {
                let error_equals = self.error_equals(c, &at);
                let language = self.language;
                let prefix = format!("Catch[{i}]/");
                for field in c.keys() {
                    let allowed = match language {
                        QueryLanguage::JsonPath => {
                            ["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"].contains(&field.as_str())
                        }
                        QueryLanguage::Jsonata => {
                            ["ErrorEquals", "Next", "Output", "Assign", "Comment"].contains(&field.as_str())
                        }
                    };
                    if !allowed {
                        if field == "ResultPath" || field == "Output" {
                            self.err(language_mismatch(&at, language, field));
                        } else {
                            self.err(Diagnostic::at(&at, format!("Field '{field}' is not supported")));
                        }
                    }
                }
                let Some(next) = self.string(c, "Next", &at) else {
                    self.err(Diagnostic::of(at, "has no Next"));
                    return None;
                };
                Some(Catcher {
                    error_equals,
                    result_path: self.result_path(c, "ResultPath", &at),
                    assign: c.get("Assign").and_then(|a| {
                        Assign::parse_in(
                            language,
                            a,
                            &format!("{at}.Assign"),
                            &prefix,
                            Reads::ErrorOutput,
                            self.errors,
                        )
                    }),
                    output: c.get("Output").filter(|_| language == QueryLanguage::Jsonata).map(|o| {
                        Template::parse_jsonata(
                            o,
                            &format!("{at}.Output"),
                            &format!("{prefix}Output"),
                            Reads::ErrorOutput,
                            self.errors,
                        )
                    }),
                    query_language: language,
                    next,
                })
            })
            .collect()
    }
}

impl StateMachine {
    /// Every state of the machine and of the machines nested in it (branches, item processors),
    /// each before those nested in it.
    pub fn all_states(&self) -> Vec<&State> {
        let mut out = Vec::new();
        for state in self.states.values() {
            out.push(state);
            match &state.kind {
                Kind::Parallel { branches } => branches.iter().for_each(|b| out.extend(b.all_states())),
                Kind::Map { processor, .. } => out.extend(processor.all_states()),
                _ => {}
            }
        }
        out
    }

    /// The state named `name`, in branches and item processors too.
    pub fn find_state(&self, name: &str) -> Option<&State> {
        self.all_states().into_iter().find(|state| state.name == name)
    }

    /// Each state inside a Parallel state's branches, with its branch's index (a state of a
    /// nested machine under the outermost branch it is in).
    pub fn branch_states(&self) -> BTreeMap<String, usize> {
        let mut found = BTreeMap::new();
        for state in self.all_states() {
            if let Kind::Parallel { branches } = &state.kind {
                for (index, branch) in branches.iter().enumerate() {
                    for inner in branch.all_states() {
                        found.entry(inner.name.clone()).or_insert(index);
                    }
                }
            }
        }
        found
    }

    /// Parses and validates a definition (the ASL JSON text).
    pub fn from_json(text: &str) -> Result<StateMachine, ValidationErrors> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ValidationErrors(vec![Diagnostic::whole(format!("the definition is not JSON: {e}"))]))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<StateMachine, ValidationErrors> {
        let mut errors = Vec::new();
        let machine = parse_machine(value, "$", &mut errors, None);
        if errors.is_empty() {
            Ok(machine.expect("no errors means a machine"))
        } else {
            Err(ValidationErrors(errors))
        }
    }
}

fn parse_machine(
    value: &Value,
    at: &str,
    errors: &mut Vec<Diagnostic>,
    inherited: Option<QueryLanguage>,
) -> Option<StateMachine> {
    let Some(obj) = value.as_object() else {
        errors.push(Diagnostic::of(at, "must be an object"));
        return None;
    };
    // Only the whole machine names its language; branches and item processors take it from
    // there (not from their Parallel or Map state).
    let query_language = match (inherited, obj.get("QueryLanguage")) {
        (Some(_), Some(_)) => {
            errors.push(Diagnostic::at(at, "Field 'QueryLanguage' is not supported"));
            inherited.unwrap_or_default()
        }
        (Some(language), None) => language,
        (None, field) => parse_language(field, &format!("{at}.QueryLanguage"), errors).unwrap_or_default(),
    };
    let mut ctx = Ctx {
        errors,
        language: query_language,
    };
    let start_at = ctx.string(obj, "StartAt", at);
    let timeout_seconds = ctx.number(obj, "TimeoutSeconds", at);
    let Some(states_obj) = obj.get("States").and_then(Value::as_object) else {
        ctx.err(Diagnostic::of(format!("{at}.States"), "must be an object of states"));
        return None;
    };
    let mut states = BTreeMap::new();
    for (name, state) in states_obj {
        if name.len() > 80 {
            ctx.err(Diagnostic::at(
                format!("{at}.States.{name}"),
                "state names are at most 80 characters",
            ));
        }
        if let Some(state) = parse_state(name, state, &format!("{at}.States.{name}"), ctx.errors, query_language) {
            states.insert(name.clone(), state);
        }
    }
    let Some(start_at) = start_at else {
        ctx.err(Diagnostic::of(format!("{at}.StartAt"), "is missing"));
        return None;
    };
    if !states_obj.contains_key(&start_at) {
        ctx.err(Diagnostic::of(
            format!("{at}.StartAt"),
            format_args!("names {start_at:?}, which is not a state"),
        ));
    }
    // Every transition must name a state; every state must be reachable.
    let mut reachable = BTreeSet::new();
    let mut queue = vec![start_at.clone()];
    while let Some(name) = queue.pop() {
        if !reachable.insert(name.clone()) {
            continue;
        }
        let Some(state) = states.get(&name) else { continue };
        let mut targets: Vec<(&str, &String)> = state.next.iter().map(|n| ("Next", n)).collect();
        targets.extend(state.catch.iter().map(|c| ("Catch.Next", &c.next)));
        if let Kind::Choice { choices, default } = &state.kind {
            targets.extend(choices.iter().map(|c| ("Choices.Next", &c.next)));
            targets.extend(default.iter().map(|d| ("Default", d)));
        }
        for (field, target) in targets {
            if states_obj.contains_key(target) {
                queue.push(target.clone());
            } else {
                ctx.err(Diagnostic::of(
                    format!("{at}.States.{name}.{field}"),
                    format_args!("names {target:?}, which is not a state"),
                ));
            }
        }
    }
    for name in states_obj.keys().filter(|n| !reachable.contains(*n)) {
        ctx.err(Diagnostic::of(
            format!("{at}.States.{name}"),
            "is unreachable from StartAt",
        ));
    }
    Some(StateMachine {
        query_language,
        start_at,
        states,
        timeout_seconds,
    })
}

/// A JSONata Choice rule: its `Condition` (a boolean, or an expression that gives one); the
/// JSONPath comparison fields are refused.
fn jsonata_rule(item: &Value, at: &str, prefix: &str, errors: &mut Vec<Diagnostic>) -> Result<Rule, Diagnostic> {
    let object = item
        .as_object()
        .ok_or_else(|| Diagnostic::at(at, "a choice rule must be an object"))?;
    for field in object.keys() {
        if !["Condition", "Next", "Assign", "Output", "Comment"].contains(&field.as_str()) {
            errors.push(
                if ["Variable", "And", "Or", "Not"].contains(&field.as_str()) || crate::choice::is_comparison(field) {
                    language_mismatch(at, QueryLanguage::Jsonata, field)
                } else {
                    Diagnostic::at(at, format!("Field '{field}' is not supported"))
                },
            );
        }
    }
    let condition = object
        .get("Condition")
        .ok_or_else(|| Diagnostic::at(at, "a JSONata choice rule needs a Condition"))?;
    match condition {
        Value::Bool(_) | Value::String(_) => {}
        other => {
            return Err(Diagnostic::of(
                format!("{at}.Condition"),
                format_args!("must be a boolean or a JSONata expression, got {other}"),
            ));
        }
    }
    if condition.as_str().is_some_and(|t| query::expression_text(t).is_none()) {
        return Err(Diagnostic::of(
            format!("{at}.Condition"),
            format_args!("must be a boolean or a JSONata expression, got {condition}"),
        ));
    }
    Ok(Rule::Condition(Template::parse_jsonata(
        condition,
        &format!("{at}.Condition"),
        &format!("{prefix}Condition"),
        Reads::Input,
        errors,
    )))
}

/// A `QueryLanguage` field's value (`None` when absent or not one of the two).
fn parse_language(field: Option<&Value>, at: &str, errors: &mut Vec<Diagnostic>) -> Option<QueryLanguage> {
    match field? {
        Value::String(s) if s == "JSONPath" => Some(QueryLanguage::JsonPath),
        Value::String(s) if s == "JSONata" => Some(QueryLanguage::Jsonata),
        Value::String(_) => {
            errors.push(Diagnostic::at(
                at,
                "Value should be one of the following: [JSONPath, JSONata]",
            ));
            None
        }
        _ => {
            errors.push(Diagnostic::at(at, "Expected value of type [STRING]"));
            None
        }
    }
}

fn parse_state(
    name: &str,
    value: &Value,
    at: &str,
    errors: &mut Vec<Diagnostic>,
    machine_language: QueryLanguage,
) -> Option<State> {
    let Some(obj) = value.as_object() else {
        errors.push(Diagnostic::of(at, "must be an object"));
        return None;
    };
    let language = match parse_language(obj.get("QueryLanguage"), &format!("{at}.QueryLanguage"), errors) {
        Some(QueryLanguage::JsonPath) if machine_language == QueryLanguage::Jsonata => {
            errors.push(Diagnostic::at(
                at,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            ));
            QueryLanguage::Jsonata
        }
        Some(language) => language,
        None => machine_language,
    };
    let mut ctx = Ctx { errors, language };
    let type_name = ctx.string(obj, "Type", at).unwrap_or_default();
    let Some(allowed) = allowed_fields(&type_name) else {
        ctx.err(Diagnostic::of(
            format!("{at}.Type"),
            format_args!("{type_name:?} is not a state type"),
        ));
        return None;
    };
    for field in obj.keys() {
        let other_language = match language {
            QueryLanguage::Jsonata => JSONPATH_ONLY,
            QueryLanguage::JsonPath => JSONATA_ONLY,
        };
        if other_language.contains(&field.as_str())
            && (COMMON.contains(&field.as_str()) || allowed.contains(&field.as_str()))
        {
            ctx.err(language_mismatch(at, language, field));
        } else if !COMMON.contains(&field.as_str()) && !allowed.contains(&field.as_str()) {
            ctx.err(Diagnostic::at(
                at,
                format!("field {field:?} is not allowed in a {type_name} state"),
            ));
        }
    }
    let jsonata = language == QueryLanguage::Jsonata;
    // `$states.result` is there for the Output and Assign of the states that have a result.
    let result_reads = if matches!(type_name.as_str(), "Task" | "Map" | "Parallel") {
        Reads::Result
    } else {
        Reads::Input
    };
    let next = ctx.string(obj, "Next", at);
    let end = obj.get("End").and_then(Value::as_bool).unwrap_or(false);
    let terminal = matches!(type_name.as_str(), "Succeed" | "Fail" | "Choice");
    if terminal {
        if next.is_some() || obj.contains_key("End") {
            ctx.err(Diagnostic::at(
                at,
                format!("a {type_name} state has neither Next nor End"),
            ));
        }
    } else {
        match (&next, end) {
            (Some(_), true) => ctx.err(Diagnostic::of(at, "has both Next and End")),
            (None, false) => ctx.err(Diagnostic::of(at, "has neither Next nor End: true")),
            _ => {}
        }
    }
    let template =
        |field: &str, ctx: &mut Ctx<'_>| obj.get(field).map(|v| ctx.template(v, &format!("{at}.{field}"), field));
    let kind = match type_name.as_str() {
        "Pass" => Kind::Pass {
            result: obj.get("Result").cloned(),
        },
        "Task" => ctx.task_kind(obj, at),
        "Choice" => ctx.choice_kind(obj, at),
        "Wait" => ctx.wait_kind(obj, at),
        "Succeed" => Kind::Succeed,
        "Fail" => ctx.fail_kind(obj, at),
        "Parallel" => ctx.parallel_kind(obj, at, machine_language),
        "Map" => ctx.map_kind(obj, at, machine_language),
        _ => unreachable!("allowed_fields checked the type"),
    };
    let is_map = matches!(kind, Kind::Map { .. });
    let jsonata_field = |field: &str, reads: Reads, ctx: &mut Ctx<'_>| {
        obj.get(field)
            .filter(|_| jsonata)
            .map(|v| Template::parse_jsonata(v, &format!("{at}.{field}"), field, reads, ctx.errors))
    };
    let arguments = jsonata_field("Arguments", Reads::Input, &mut ctx);
    let output = jsonata_field("Output", result_reads, &mut ctx);
    Some(State {
        name: name.to_string(),
        query_language: language,
        arguments,
        output,
        input_path: ctx.filter(obj, "InputPath", at),
        output_path: ctx.filter(obj, "OutputPath", at),
        // A Map's Parameters/ItemSelector apply per item (held in its Kind), not to the state input.
        parameters: if is_map { None } else { template("Parameters", &mut ctx) },
        result_selector: template("ResultSelector", &mut ctx),
        result_path: ctx.result_path(obj, "ResultPath", at),
        retry: ctx.retriers(obj, at),
        catch: ctx.catchers(obj, at),
        assign: obj
            .get("Assign")
            .and_then(|a| Assign::parse_in(language, a, &format!("{at}.Assign"), "", result_reads, ctx.errors)),
        next: if end { None } else { next },
        kind,
    })
}

/// Each state type's own fields, read into its `Kind`.
impl Ctx<'_> {
    /// A field's template (JSONPath or JSONata, as the state's language is), if it is there.
    fn template_field(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Template> {
        obj.get(field)
            .map(|v| self.template(v, &format!("{at}.{field}"), field))
    }

    /// A Task state's fields: its Resource, its timeouts and its Credentials.
    fn task_kind(&mut self, obj: &Map<String, Value>, at: &str) -> Kind {
        let resource = self.string(obj, "Resource", at).unwrap_or_else(|| {
            self.err(Diagnostic::of(format!("{at}.Resource"), "is missing"));
            String::new()
        });
        Kind::Task {
            resource,
            timeout: self.limit(obj, "TimeoutSeconds", at),
            heartbeat: self.limit(obj, "HeartbeatSeconds", at),
            credentials: self.template_field(obj, "Credentials", at),
        }
    }

    /// A Choice state's rules (JSONPath comparisons or JSONata Conditions) and its Default.
    fn choice_kind(&mut self, obj: &Map<String, Value>, at: &str) -> Kind {
        let jsonata = self.language == QueryLanguage::Jsonata;
        let mut choices = Vec::new();
        match obj.get("Choices").and_then(Value::as_array) {
            Some(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{at}.Choices[{i}]");
                    let next = item.get("Next").and_then(Value::as_str);
                    let prefix = format!("Choices[{i}]/");
                    let assign = item.get("Assign").and_then(|a| {
                        Assign::parse_in(
                            self.language,
                            a,
                            &format!("{at}.Assign"),
                            &prefix,
                            Reads::Input,
                            self.errors,
                        )
                    });
                    let output = item.get("Output").map(|o| {
                        Template::parse_jsonata(
                            o,
                            &format!("{at}.Output"),
                            &format!("{prefix}Output"),
                            Reads::Input,
                            self.errors,
                        )
                    });
                    let rule = if jsonata {
                        jsonata_rule(item, &at, &prefix, self.errors)
                    } else {
                        if item.get("Output").is_some() {
                            self.err(language_mismatch(&at, self.language, "Output"));
                        }
                        Rule::parse(item, &at)
                    };
                    match (rule, next) {
                        (Ok(rule), Some(next)) => choices.push(ChoiceBranch {
                            rule,
                            assign,
                            output,
                            next: next.to_string(),
                        }),
                        (Err(e), _) => self.err(e),
                        (_, None) => self.err(Diagnostic::of(at, "has no Next")),
                    }
                }
            }
            _ => self.err(Diagnostic::of(format!("{at}.Choices"), "must be a non-empty array")),
        }
        Kind::Choice {
            choices,
            default: self.string(obj, "Default", at),
        }
    }

    /// A Wait state's one field of Seconds, Timestamp, SecondsPath or TimestampPath (or JSONata).
    fn wait_kind(&mut self, obj: &Map<String, Value>, at: &str) -> Kind {
        let seconds_query = self.query(obj, "Seconds", at, "Seconds");
        let timestamp_query = self.query(obj, "Timestamp", at, "Timestamp");
        let wait = if let Some(q) = seconds_query {
            q.ok().map(WaitFor::SecondsQuery)
        } else if let Some(q) = timestamp_query {
            q.ok().map(WaitFor::TimestampQuery)
        } else if let Some(s) = self.number(obj, "Seconds", at) {
            Some(WaitFor::Seconds(s))
        } else if let Some(t) = self.string(obj, "Timestamp", at) {
            if parse_timestamp(&t).is_none() {
                self.err(Diagnostic::at(
                    format!("{at}.Timestamp"),
                    "String does not match RFC3339 timestamp",
                ));
            }
            Some(WaitFor::Timestamp(t))
        } else if let Some(p) = self.path(obj, "SecondsPath", at) {
            Some(WaitFor::SecondsPath(p))
        } else {
            self.path(obj, "TimestampPath", at).map(WaitFor::TimestampPath)
        };
        let count = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .iter()
            .filter(|f| obj.contains_key(**f))
            .count();
        if count != 1 {
            self.err(Diagnostic::of(
                at,
                "needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
            ));
        }
        Kind::Wait {
            wait: wait.unwrap_or(WaitFor::Seconds(0.0)),
        }
    }

    /// A Fail state's Error and Cause, fixed, by path or by JSONata.
    fn fail_kind(&mut self, obj: &Map<String, Value>, at: &str) -> Kind {
        // JSONata writes the expressions in Error and Cause themselves.
        let error_query = self.query(obj, "Error", at, "Error");
        let cause_query = self.query(obj, "Cause", at, "Cause");
        Kind::Fail {
            error: if error_query.is_some() {
                None
            } else {
                self.string(obj, "Error", at)
            },
            cause: if cause_query.is_some() {
                None
            } else {
                self.string(obj, "Cause", at)
            },
            error_path: match error_query {
                Some(q) => q.ok().map(Template::Query),
                None => self.path_or_intrinsic(obj, "ErrorPath", at),
            },
            cause_path: match cause_query {
                Some(q) => q.ok().map(Template::Query),
                None => self.path_or_intrinsic(obj, "CausePath", at),
            },
        }
    }

    /// A Parallel state's branches, each a machine in the machine's language.
    fn parallel_kind(&mut self, obj: &Map<String, Value>, at: &str, machine_language: QueryLanguage) -> Kind {
        let branches = match obj.get("Branches").and_then(Value::as_array) {
            Some(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    parse_machine(b, &format!("{at}.Branches[{i}]"), self.errors, Some(machine_language))
                })
                .collect(),
            _ => {
                self.err(Diagnostic::of(format!("{at}.Branches"), "must be a non-empty array"));
                Vec::new()
            }
        };
        Kind::Parallel { branches }
    }

    /// A Map state's item processor, items, ItemSelector, concurrency, tolerances, and a
    /// Distributed Map's reader, batcher, writer and label.
    fn map_kind(&mut self, obj: &Map<String, Value>, at: &str, machine_language: QueryLanguage) -> Kind {
        let jsonata = self.language == QueryLanguage::Jsonata;
        let parameters_field = if obj.contains_key("ItemSelector") {
            "ItemSelector"
        } else {
            "Parameters"
        };
        let field = if obj.contains_key("ItemProcessor") {
            "ItemProcessor"
        } else {
            "Iterator"
        };
        let processor = match obj.get(field) {
            Some(p) => parse_machine(p, &format!("{at}.{field}"), self.errors, Some(machine_language)),
            None => {
                self.err(Diagnostic::of(at, "needs an ItemProcessor (or Iterator)"));
                None
            }
        };
        let max_concurrency = if let Some(q) = self.query(obj, "MaxConcurrency", at, "MaxConcurrency") {
            q.map(Concurrency::Query).unwrap_or(Concurrency::Fixed(0))
        } else if obj.contains_key("MaxConcurrencyPath") {
            if obj.contains_key("MaxConcurrency") {
                self.err(Diagnostic::at(
                    at,
                    "MaxConcurrency and MaxConcurrencyPath cannot both be given",
                ));
            }
            self.path(obj, "MaxConcurrencyPath", at)
                .map(Concurrency::Path)
                .unwrap_or(Concurrency::Fixed(0))
        } else {
            Concurrency::Fixed(self.number(obj, "MaxConcurrency", at).unwrap_or(0.0).max(0.0) as usize)
        };
        let label = self.string(obj, "Label", at);
        if let Some(label) = &label {
            let bad = |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
            if label.is_empty() || label.chars().count() > 40 || label.chars().any(bad) {
                self.err(Diagnostic::of(
                    format!("{at}.Label"),
                    format_args!("{label:?}: at most 40 characters, none of whitespace or <>{{}}[]?*\"#%\\^|~`$&,;:/"),
                ));
            }
        }
        let distributed = obj
            .get(field)
            .and_then(|p| p.pointer("/ProcessorConfig/Mode"))
            .is_some_and(|mode| mode == "DISTRIBUTED");
        Kind::Map {
            distributed,
            processor: Box::new(processor.unwrap_or(StateMachine {
                query_language: machine_language,
                start_at: String::new(),
                states: BTreeMap::new(),
                timeout_seconds: None,
            })),
            items: if jsonata {
                obj.get("Items").map(|v| {
                    Box::new(Template::parse_jsonata(
                        v,
                        &format!("{at}.Items"),
                        "Items",
                        Reads::Input,
                        self.errors,
                    ))
                })
            } else {
                self.path(obj, "ItemsPath", at).map(|p| Box::new(Template::Path(p)))
            },
            item_selector: self.template_field(obj, parameters_field, at),
            max_concurrency,
            reader: obj
                .get("ItemReader")
                .and_then(|r| self.item_reader(r, &format!("{at}.ItemReader")))
                .map(Box::new),
            batcher: obj
                .get("ItemBatcher")
                .map(|b| Box::new(self.item_batcher(b, &format!("{at}.ItemBatcher")))),
            writer: obj
                .get("ResultWriter")
                .and_then(|w| self.result_writer(w, &format!("{at}.ResultWriter")))
                .map(Box::new),
            label,
            tolerated_count: self.tolerance(obj, "ToleratedFailureCount", at),
            tolerated_percentage: self.tolerance(obj, "ToleratedFailurePercentage", at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_and_its_path_together_are_refused() {
        let definition = r#"{"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
            "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t", "End": true}}}"#;
        let errors = StateMachine::from_json(definition).unwrap_err().to_string();
        assert!(
            errors.contains("TimeoutSeconds and TimeoutSecondsPath cannot both be given"),
            "{errors}"
        );
    }
}
