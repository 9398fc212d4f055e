//! The parsed, validated model of a definition. Parsing collects every problem it finds, with
//! the state and field named, like ValidateStateMachineDefinition.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::choice::Rule;
use crate::error::StatesError;
use crate::intrinsics::Intrinsic;
use crate::paths::{Path, ReferencePath};
use crate::variables::{self, Assignment, Env};

/// A Parameters / ResultSelector / ItemSelector template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Intrinsic(Intrinsic),
}

impl Template {
    fn parse(value: &Value, at: &str, errors: &mut Vec<String>) -> Template {
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
                                errors.push(format!("{at}.{key}: {e}"));
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
    fn parse(value: &Value, at: &str, errors: &mut Vec<String>) -> Option<Assign> {
        let Some(fields) = value.as_object() else {
            errors.push(format!(
                "{at} must be an object of variable names and values, got {value}"
            ));
            return None;
        };
        let mut seen = BTreeSet::new();
        for key in fields.keys() {
            let name = key.strip_suffix(".$").unwrap_or(key);
            if let Err(e) = variables::check_name(name) {
                errors.push(format!("{at}.{key}: {e}"));
            }
            if !seen.insert(name) {
                errors.push(format!("{at}.{key}: the variable {name:?} is assigned twice"));
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
    pub next: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(f64),
    Timestamp(String),
    SecondsPath(Path),
    TimestampPath(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceBranch {
    pub rule: Rule,
    /// Evaluated over the effective input when this rule is the one taken (the state's own
    /// Assign is then not).
    pub assign: Option<Assign>,
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
    pub max_items: Option<u64>,
    pub max_bytes: Option<u64>,
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
}

/// A Map's `MaxConcurrency` (0: no limit), or `MaxConcurrencyPath` read from its input.
#[derive(Debug, Clone, PartialEq)]
pub enum Concurrency {
    Fixed(usize),
    Path(Path),
}

/// A Task's `TimeoutSeconds` / `HeartbeatSeconds`, or their `…Path` read from the state input.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    Seconds(f64),
    Path(Path),
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
        items_path: Option<Box<Path>>,
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

impl Kind {
    /// The type name as history events spell it (`PassStateEntered`, `MapStateExited` …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task { .. } => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait { .. } => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map { .. } => "Map",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub name: String,
    pub kind: Kind,
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
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    pub timeout_seconds: Option<f64>,
}

/// Every problem in a definition, each naming where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<String>);

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

const COMMON: &[&str] = &["Type", "Comment", "InputPath", "OutputPath", "Next", "End"];

fn allowed_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pass" => &["Parameters", "Result", "ResultPath", "Assign"],
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
        ],
        "Choice" => &["Choices", "Default", "Assign"],
        "Wait" => &["Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign"],
        "Succeed" => &[],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Assign",
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
        ],
        _ => return None,
    })
}

struct Ctx<'a> {
    errors: &'a mut Vec<String>,
}

impl Ctx<'_> {
    fn err(&mut self, message: String) {
        self.errors.push(message);
    }

    fn string(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<String> {
        match obj.get(field) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.err(format!("{at}.{field} must be a string, got {other}"));
                None
            }
        }
    }

    fn number(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<f64> {
        match obj.get(field) {
            None => None,
            Some(v) if v.is_number() => v.as_f64(),
            Some(other) => {
                self.err(format!("{at}.{field} must be a number, got {other}"));
                None
            }
        }
    }

    /// `Field` (a positive number) or `FieldPath` (a path), not both.
    fn limit(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Limit> {
        let path_field = format!("{field}Path");
        match (obj.contains_key(field), obj.contains_key(&path_field)) {
            (true, true) => {
                self.err(format!("{at}: {field} and {path_field} cannot both be given"));
                None
            }
            (true, false) => {
                let seconds = self.number(obj, field, at)?;
                if seconds <= 0.0 {
                    self.err(format!("{at}.{field} must be a positive integer"));
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
        match (obj.contains_key(field), obj.contains_key(&path_field)) {
            (true, true) => {
                self.err(format!("{at}: {field} and {path_field} cannot both be given"));
                None
            }
            (true, false) => self.number(obj, field, at).map(Tolerance::Fixed),
            (false, true) => self.path(obj, &path_field, at).map(Tolerance::Path),
            (false, false) => None,
        }
    }

    fn integration(&mut self, obj: &Map<String, Value>, at: &str, allowed: &[&str]) -> Option<String> {
        let resource = self.string(obj, "Resource", at)?;
        match resource.strip_prefix("arn:aws:states:::") {
            Some(integration) if allowed.contains(&integration) => Some(integration.to_string()),
            _ => {
                self.err(format!(
                    "{at}.Resource {resource:?} is not one of arn:aws:states:::{}",
                    allowed.join(", arn:aws:states:::")
                ));
                None
            }
        }
    }

    fn item_reader(&mut self, value: &Value, at: &str) -> Option<ItemReader> {
        let Some(obj) = value.as_object() else {
            self.err(format!("{at} must be an object"));
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
                            self.err(format!("{at_config}: CSVHeaderLocation GIVEN needs CSVHeaders"));
                        }
                        given
                    }
                    Some(other) => {
                        self.err(format!(
                            "{at_config}.CSVHeaderLocation {other:?} is not FIRST_ROW or GIVEN"
                        ));
                        None
                    }
                };
                InputType::Csv { headers }
            }
            (_, Some("MANIFEST")) => InputType::Manifest,
            (_, Some(other)) => {
                self.err(format!(
                    "{at_config}.InputType {other:?} is not one of JSON, JSONL, CSV, MANIFEST"
                ));
                InputType::Json
            }
        };
        Some(ItemReader {
            integration,
            parameters: obj
                .get("Parameters")
                .map(|p| Template::parse(p, &format!("{at}.Parameters"), self.errors)),
            input_type,
            max_items: self.tolerance(&config, "MaxItems", &at_config),
        })
    }

    fn item_batcher(&mut self, value: &Value, at: &str) -> ItemBatcher {
        let obj = value.as_object().cloned().unwrap_or_default();
        let batcher = ItemBatcher {
            max_items: self.number(&obj, "MaxItemsPerBatch", at).map(|n| n as u64),
            max_bytes: self.number(&obj, "MaxInputBytesPerBatch", at).map(|n| n as u64),
            batch_input: obj
                .get("BatchInput")
                .map(|b| Template::parse(b, &format!("{at}.BatchInput"), self.errors)),
        };
        if batcher.max_items.is_none() && batcher.max_bytes.is_none() {
            self.err(format!("{at} needs MaxItemsPerBatch or MaxInputBytesPerBatch"));
        }
        batcher
    }

    fn result_writer(&mut self, value: &Value, at: &str) -> Option<ResultWriter> {
        let Some(obj) = value.as_object() else {
            self.err(format!("{at} must be an object"));
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
                self.err(format!("{at} needs a Resource and Parameters, or a WriterConfig"));
            }
            None
        };
        let transformation = match self.string(&config, "Transformation", &at_config).as_deref() {
            None if integration.is_some() => Transformation::None,
            None | Some("COMPACT") => Transformation::Compact,
            Some("NONE") => Transformation::None,
            Some("FLATTEN") => Transformation::Flatten,
            Some(other) => {
                self.err(format!(
                    "{at_config}.Transformation {other:?} is not NONE, COMPACT or FLATTEN"
                ));
                Transformation::Compact
            }
        };
        let jsonl = match self.string(&config, "OutputType", &at_config).as_deref() {
            None | Some("JSON") => false,
            Some("JSONL") => true,
            Some(other) => {
                self.err(format!("{at_config}.OutputType {other:?} is not JSON or JSONL"));
                false
            }
        };
        Some(ResultWriter {
            integration,
            parameters: obj
                .get("Parameters")
                .map(|p| Template::parse(p, &format!("{at}.Parameters"), self.errors)),
            transformation,
            jsonl,
        })
    }

    /// A reference path, or an intrinsic function (Fail's ErrorPath and CausePath take either).
    fn path_or_intrinsic(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Template> {
        let text = self.string(obj, field, at)?;
        if Intrinsic::is_intrinsic(&text) {
            return Intrinsic::parse(&text)
                .map(Template::Intrinsic)
                .map_err(|e| self.err(format!("{at}.{field}: {e}")))
                .ok();
        }
        Path::parse(&text)
            .map(Template::Path)
            .map_err(|e| self.err(format!("{at}.{field}: {e}")))
            .ok()
    }

    fn path(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Path> {
        let text = self.string(obj, field, at)?;
        Path::parse(&text)
            .map_err(|e| self.err(format!("{at}.{field}: {e}")))
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
                self.err(format!("{at}.{field}: {e}"));
                ResultPath::Discard
            }),
            Some(other) => {
                self.err(format!("{at}.{field} must be a reference path or null, got {other}"));
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
                self.err(format!("{at}.ErrorEquals must be a non-empty array of error names"));
                return Vec::new();
            }
        };
        if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
            self.err(format!("{at}.ErrorEquals: States.ALL must appear alone"));
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
            self.err(format!("{at}.{field} must be an array"));
            return Vec::new();
        };
        let count = items.len();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}.{field}[{i}]");
            let Some(object) = item.as_object() else {
                self.err(format!("{at} must be an object"));
                continue;
            };
            if i + 1 != count
                && object
                    .get("ErrorEquals")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.iter().any(|n| n == "States.ALL"))
            {
                self.err(format!("{at}: States.ALL must be in the last one"));
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
                    self.err(format!("{at}.BackoffRate must be at least 1.0"));
                }
                let jitter = self.string(r, "JitterStrategy", &at);
                if jitter.as_deref().is_some_and(|j| j != "FULL" && j != "NONE") {
                    self.err(format!("{at}.JitterStrategy must be FULL or NONE"));
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
            .filter_map(|(at, c)| {
                let error_equals = self.error_equals(c, &at);
                let Some(next) = self.string(c, "Next", &at) else {
                    self.err(format!("{at} has no Next"));
                    return None;
                };
                Some(Catcher {
                    error_equals,
                    result_path: self.result_path(c, "ResultPath", &at),
                    assign: c
                        .get("Assign")
                        .and_then(|a| Assign::parse(a, &format!("{at}.Assign"), self.errors)),
                    next,
                })
            })
            .collect()
    }
}

impl StateMachine {
    /// Parses and validates a definition (the ASL JSON text).
    pub fn from_json(text: &str) -> Result<StateMachine, ValidationErrors> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ValidationErrors(vec![format!("the definition is not JSON: {e}")]))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<StateMachine, ValidationErrors> {
        let mut errors = Vec::new();
        let machine = parse_machine(value, "$", &mut errors);
        if errors.is_empty() {
            Ok(machine.expect("no errors means a machine"))
        } else {
            Err(ValidationErrors(errors))
        }
    }
}

fn parse_machine(value: &Value, at: &str, errors: &mut Vec<String>) -> Option<StateMachine> {
    let Some(obj) = value.as_object() else {
        errors.push(format!("{at} must be an object"));
        return None;
    };
    if let Some(lang) = obj.get("QueryLanguage")
        && lang != "JSONPath"
    {
        errors.push(format!("{at}.QueryLanguage {lang} is not supported (JSONPath only)"));
    }
    let mut ctx = Ctx { errors };
    let start_at = ctx.string(obj, "StartAt", at);
    let timeout_seconds = ctx.number(obj, "TimeoutSeconds", at);
    let Some(states_obj) = obj.get("States").and_then(Value::as_object) else {
        ctx.err(format!("{at}.States must be an object of states"));
        return None;
    };
    let mut states = BTreeMap::new();
    for (name, state) in states_obj {
        if name.len() > 80 {
            ctx.err(format!("{at}.States.{name}: state names are at most 80 characters"));
        }
        if let Some(state) = parse_state(name, state, &format!("{at}.States.{name}"), ctx.errors) {
            states.insert(name.clone(), state);
        }
    }
    let Some(start_at) = start_at else {
        ctx.err(format!("{at}.StartAt is missing"));
        return None;
    };
    if !states_obj.contains_key(&start_at) {
        ctx.err(format!("{at}.StartAt names {start_at:?}, which is not a state"));
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
                ctx.err(format!(
                    "{at}.States.{name}.{field} names {target:?}, which is not a state"
                ));
            }
        }
    }
    for name in states_obj.keys().filter(|n| !reachable.contains(*n)) {
        ctx.err(format!("{at}.States.{name} is unreachable from StartAt"));
    }
    Some(StateMachine {
        start_at,
        states,
        timeout_seconds,
    })
}

fn parse_state(name: &str, value: &Value, at: &str, errors: &mut Vec<String>) -> Option<State> {
    let Some(obj) = value.as_object() else {
        errors.push(format!("{at} must be an object"));
        return None;
    };
    let mut ctx = Ctx { errors };
    let type_name = ctx.string(obj, "Type", at).unwrap_or_default();
    let Some(allowed) = allowed_fields(&type_name) else {
        ctx.err(format!("{at}.Type {type_name:?} is not a state type"));
        return None;
    };
    for field in obj.keys() {
        if !COMMON.contains(&field.as_str()) && !allowed.contains(&field.as_str()) {
            ctx.err(format!("{at}: field {field:?} is not allowed in a {type_name} state"));
        }
    }
    let next = ctx.string(obj, "Next", at);
    let end = obj.get("End").and_then(Value::as_bool).unwrap_or(false);
    let terminal = matches!(type_name.as_str(), "Succeed" | "Fail" | "Choice");
    if terminal {
        if next.is_some() || obj.contains_key("End") {
            ctx.err(format!("{at}: a {type_name} state has neither Next nor End"));
        }
    } else {
        match (&next, end) {
            (Some(_), true) => ctx.err(format!("{at} has both Next and End")),
            (None, false) => ctx.err(format!("{at} has neither Next nor End: true")),
            _ => {}
        }
    }
    let parameters_field = if type_name == "Map" && obj.contains_key("ItemSelector") {
        "ItemSelector"
    } else {
        "Parameters"
    };
    let template = |field: &str, ctx: &mut Ctx| {
        obj.get(field)
            .map(|v| Template::parse(v, &format!("{at}.{field}"), ctx.errors))
    };
    let kind = match type_name.as_str() {
        "Pass" => Kind::Pass {
            result: obj.get("Result").cloned(),
        },
        "Task" => {
            let resource = ctx.string(obj, "Resource", at).unwrap_or_else(|| {
                ctx.err(format!("{at}.Resource is missing"));
                String::new()
            });
            Kind::Task {
                resource,
                timeout: ctx.limit(obj, "TimeoutSeconds", at),
                heartbeat: ctx.limit(obj, "HeartbeatSeconds", at),
                credentials: template("Credentials", &mut ctx),
            }
        }
        "Choice" => {
            let mut choices = Vec::new();
            match obj.get("Choices").and_then(Value::as_array) {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        let at = format!("{at}.Choices[{i}]");
                        let next = item.get("Next").and_then(Value::as_str);
                        let assign = item
                            .get("Assign")
                            .and_then(|a| Assign::parse(a, &format!("{at}.Assign"), ctx.errors));
                        match (Rule::parse(item, &at), next) {
                            (Ok(rule), Some(next)) => choices.push(ChoiceBranch {
                                rule,
                                assign,
                                next: next.to_string(),
                            }),
                            (Err(e), _) => ctx.err(e),
                            (_, None) => ctx.err(format!("{at} has no Next")),
                        }
                    }
                }
                _ => ctx.err(format!("{at}.Choices must be a non-empty array")),
            }
            Kind::Choice {
                choices,
                default: ctx.string(obj, "Default", at),
            }
        }
        "Wait" => {
            let wait = if let Some(s) = ctx.number(obj, "Seconds", at) {
                Some(WaitFor::Seconds(s))
            } else if let Some(t) = ctx.string(obj, "Timestamp", at) {
                if parse_timestamp(&t).is_none() {
                    ctx.err(format!("{at}.Timestamp: String does not match RFC3339 timestamp"));
                }
                Some(WaitFor::Timestamp(t))
            } else if let Some(p) = ctx.path(obj, "SecondsPath", at) {
                Some(WaitFor::SecondsPath(p))
            } else {
                ctx.path(obj, "TimestampPath", at).map(WaitFor::TimestampPath)
            };
            let count = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                .iter()
                .filter(|f| obj.contains_key(**f))
                .count();
            if count != 1 {
                ctx.err(format!(
                    "{at} needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath"
                ));
            }
            Kind::Wait {
                wait: wait.unwrap_or(WaitFor::Seconds(0.0)),
            }
        }
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: ctx.string(obj, "Error", at),
            cause: ctx.string(obj, "Cause", at),
            error_path: ctx.path_or_intrinsic(obj, "ErrorPath", at),
            cause_path: ctx.path_or_intrinsic(obj, "CausePath", at),
        },
        "Parallel" => {
            let branches = match obj.get("Branches").and_then(Value::as_array) {
                Some(items) if !items.is_empty() => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| parse_machine(b, &format!("{at}.Branches[{i}]"), ctx.errors))
                    .collect(),
                _ => {
                    ctx.err(format!("{at}.Branches must be a non-empty array"));
                    Vec::new()
                }
            };
            Kind::Parallel { branches }
        }
        "Map" => {
            let field = if obj.contains_key("ItemProcessor") {
                "ItemProcessor"
            } else {
                "Iterator"
            };
            let processor = match obj.get(field) {
                Some(p) => parse_machine(p, &format!("{at}.{field}"), ctx.errors),
                None => {
                    ctx.err(format!("{at} needs an ItemProcessor (or Iterator)"));
                    None
                }
            };
            let max_concurrency = if obj.contains_key("MaxConcurrencyPath") {
                if obj.contains_key("MaxConcurrency") {
                    ctx.err(format!(
                        "{at}: MaxConcurrency and MaxConcurrencyPath cannot both be given"
                    ));
                }
                ctx.path(obj, "MaxConcurrencyPath", at)
                    .map(Concurrency::Path)
                    .unwrap_or(Concurrency::Fixed(0))
            } else {
                Concurrency::Fixed(ctx.number(obj, "MaxConcurrency", at).unwrap_or(0.0).max(0.0) as usize)
            };
            let label = ctx.string(obj, "Label", at);
            if let Some(label) = &label {
                let bad = |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
                if label.is_empty() || label.chars().count() > 40 || label.chars().any(bad) {
                    ctx.err(format!(
                        "{at}.Label {label:?}: at most 40 characters, none of whitespace or <>{{}}[]?*\"#%\\^|~`$&,;:/"
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
                    start_at: String::new(),
                    states: BTreeMap::new(),
                    timeout_seconds: None,
                })),
                items_path: ctx.path(obj, "ItemsPath", at).map(Box::new),
                item_selector: template(parameters_field, &mut ctx),
                max_concurrency,
                reader: obj
                    .get("ItemReader")
                    .and_then(|r| ctx.item_reader(r, &format!("{at}.ItemReader")))
                    .map(Box::new),
                batcher: obj
                    .get("ItemBatcher")
                    .map(|b| Box::new(ctx.item_batcher(b, &format!("{at}.ItemBatcher")))),
                writer: obj
                    .get("ResultWriter")
                    .and_then(|w| ctx.result_writer(w, &format!("{at}.ResultWriter")))
                    .map(Box::new),
                label,
                tolerated_count: ctx.tolerance(obj, "ToleratedFailureCount", at),
                tolerated_percentage: ctx.tolerance(obj, "ToleratedFailurePercentage", at),
            }
        }
        _ => unreachable!("allowed_fields checked the type"),
    };
    let is_map = matches!(kind, Kind::Map { .. });
    Some(State {
        name: name.to_string(),
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
            .and_then(|a| Assign::parse(a, &format!("{at}.Assign"), ctx.errors)),
        next: if end { None } else { next },
        kind,
    })
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
