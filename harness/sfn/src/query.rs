//! JSONata in a JSONata state. A string that starts with `{%` and ends with `%}` is an expression
//! (anywhere inside a field that takes JSONata: nested objects and arrays too); any other string
//! is a literal. An expression reads `$states` (the state's `input` and `context`; its `result`
//! in a Task, Map or Parallel's `Output`/`Assign`; the `errorOutput` in a Catcher's) and the
//! variables in scope, with no context value: `$`, `$$` and bare field names are refused at the
//! top level when the definition is validated. It runs on the `jsonata` crate with JSONata
//! 2.0.6's functions (`$eval` excepted) and the six Step Functions adds (`$partition`, `$range`,
//! `$hash`, `$random`, `$uuid`, `$parse`). A failure, or an expression that gives nothing, is
//! `States.QueryEvaluationError`, worded as AWS words it.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, DiagnosticCode};
use crate::error::StatesError;
use crate::variables::Env;

/// The error a JSONata expression's failure raises.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// How long one expression may run before it fails (U1001, as a States.QueryEvaluationError).
pub const EVALUATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The text between `{%` and `%}` when `text` is a JSONata expression string.
pub fn expression_text(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

/// What an expression sees as `$states` besides its input and the context object.
#[derive(Debug, Clone, Copy, Default)]
pub struct States<'a> {
    pub result: Option<&'a Value>,
    pub error_output: Option<&'a Value>,
}

/// Which `$states` fields a field's expressions may read besides `input` and `context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reads {
    /// `Arguments`, `Items`, `Condition`, … : `$states.input` and `$states.context`.
    #[default]
    Input,
    /// A Task, Map or Parallel's `Output` and `Assign`: `$states.result` too.
    Result,
    /// A Catcher's `Output` and `Assign`: `$states.errorOutput` too.
    ErrorOutput,
}

/// A compiled `{% … %}` expression and the field it is in.
#[derive(Clone)]
pub struct Query {
    /// The expression between the delimiters, trimmed (as AWS quotes it in causes).
    source: String,
    /// Where it is in its state, as AWS names it: `Output`, `Arguments/Payload/id`, `Items`.
    location: String,
    expression: Arc<jsonata::Expression>,
    /// The variables it reads that may be workflow variables.
    variables: Vec<String>,
}

impl PartialEq for Query {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.location == other.location
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} %}} at {}", self.source, self.location)
    }
}

impl Query {
    /// Compiles the expression of a `{% … %}` string (`text` without the delimiters) found at
    /// `location`, and checks what AWS checks when it validates a definition: the syntax
    /// (INVALID_JSONATA_EXPRESSION), references to the absent context value and `$states` fields
    /// the field cannot read (UNSUPPORTED_JSONATA_EXPRESSION). Each problem is one diagnostic,
    /// which the caller places in the definition (`Diagnostic::located`).
    pub fn parse(text: &str, location: &str, reads: Reads) -> Result<Query, Vec<Diagnostic>> {
        let source = text.trim().to_string();
        let expression = jsonata::Expression::new(text)
            .map_err(|e| vec![Diagnostic::coded(DiagnosticCode::InvalidJsonataExpression, e.message)])?;
        let mut problems = Vec::new();
        let references = expression.top_level_references().into_iter().map(|r| r.to_string());
        for name in references {
            problems.push(Diagnostic::coded(
                DiagnosticCode::UnsupportedJsonataExpression,
                if name == "$$" {
                    "Reference to '$$' is not supported.".to_string()
                } else {
                    format!("Reference to '{name}' at the top level is not supported.")
                },
            ));
        }
        let fields = expression.fields_of("states");
        for field in fields {
            let allowed = match field.as_str() {
                "input" | "context" => true,
                "result" => reads == Reads::Result,
                "errorOutput" => reads == Reads::ErrorOutput,
                _ => false,
            };
            if !allowed {
                problems.push(Diagnostic::coded(
                    DiagnosticCode::UnsupportedJsonataExpression,
                    format!("Field '$states.{field}' does not exist."),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let variables = expression
            .variable_names()
            .into_iter()
            .filter(|name| name != "states" && !functions::is_aws_function(name))
            .collect();
        Ok(Query {
            source,
            location: location.to_string(),
            expression: Arc::new(expression),
            variables,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates with `$states` made of `input`, `states` and `env`'s context, and the variables
    /// it reads. Nothing (undefined) is an error, as JSON cannot hold it.
    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<Value, StatesError> {
        let mut object = Map::new();
        object.insert("input".into(), input.clone());
        object.insert("context".into(), env.context.clone());
        if let Some(result) = env.states.result {
            object.insert("result".into(), result.clone());
        }
        if let Some(error_output) = env.states.error_output {
            object.insert("errorOutput".into(), error_output.clone());
        }
        let mut bindings = vec![("states".to_string(), Value::Object(object))];
        for name in &self.variables {
            if let Some(value) = env.variables.get(name) {
                bindings.push((name.clone(), value.clone()));
            }
        }
        // `$now()` and `$millis()` read the execution's clock (virtual in scenarios): the time the
        // state was entered.
        let now_millis = env.context["State"]["EnteredTime"]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as f64);
        let options = jsonata::Options {
            bindings,
            functions: functions::all(),
            excluded: vec!["eval".into()],
            now_millis,
            // The evaluation is synchronous: a runaway expression must end by itself, as the
            // execution's timeout and StopExecution cannot interrupt it.
            timeout: Some(EVALUATION_TIMEOUT),
            ..jsonata::Options::default()
        };
        match self.expression.evaluate(None, &options) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(self.error("returned nothing (undefined).")),
            Err(e) => Err(self.error(&format!("threw an error during evaluation. {}: {}", e.code, e.message))),
        }
    }

    /// `States.QueryEvaluationError` about this expression: `what` it did.
    pub fn error(&self, what: &str) -> StatesError {
        StatesError::query(
            &self.location,
            format!(
                "The JSONata expression '{}' specified for the field '{}' {what}",
                self.source, self.location
            ),
        )
    }
}

/// The functions Step Functions adds to JSONata, as AWS's evaluator behaves (its `$random(seed)`
/// is Java's `java.util.Random`; errors carry jsonata-java's codes).
pub mod functions {
    use std::sync::Arc;

    use jsonata::{CustomFunction, Error, Value};

    const NAMES: [&str; 6] = ["partition", "range", "hash", "random", "uuid", "parse"];

    pub fn is_aws_function(name: &str) -> bool {
        NAMES.contains(&name)
    }

    fn function(name: &str, signature: &str, f: fn(&[Value]) -> Result<Value, Error>) -> CustomFunction {
        CustomFunction {
            name: name.to_string(),
            signature: signature.to_string(),
            implementation: Arc::new(f),
        }
    }

    pub fn all() -> Vec<CustomFunction> {
        vec![
            function("partition", "<an?:a>", partition),
            function("range", "<nnn?:a>", range),
            function("hash", "<ss?:s>", hash),
            function("random", "<n?:n>", random),
            function("uuid", "<:s>", uuid),
            function("parse", "<s:j>", parse),
        ]
    }

    fn number(args: &[Value], i: usize) -> Option<f64> {
        args.get(i).and_then(Value::as_number)
    }

    /// `$partition(array, size)`: chunks of `size`, the remainder last; the whole array as one
    /// chunk without a size; nothing for an empty array or a size of 0.
    fn partition(args: &[Value]) -> Result<Value, Error> {
        let Some(first) = args.first().filter(|v| !v.is_undefined()) else {
            return Ok(Value::Undefined);
        };
        let items = first.items();
        // An array of chunks, never collapsed: `$partition([0], 1)` is `[[0]]` on AWS.
        let size = match number(args, 1) {
            None => return Ok(Value::array(vec![Value::array(items)])),
            Some(s) if s.is_nan() => return Ok(Value::Undefined),
            Some(s) => s.trunc(),
        };
        if size < 0.0 {
            return Err(Error::runtime("D3137", "Second argument must be zero or greater"));
        }
        if items.is_empty() || size == 0.0 {
            return Ok(Value::Undefined);
        }
        let size = size.min(items.len() as f64) as usize;
        Ok(Value::array(
            items.chunks(size).map(|c| Value::array(c.to_vec())).collect(),
        ))
    }

    /// The most items `$range` makes: AWS's evaluator ran out of its memory past 360,145
    /// (measured by the Floci emulator's authors); the same bound here.
    const MAX_RANGE: f64 = 360_145.0;

    /// `$range(start, end, step)`: from `start` by `step` while not past `end` (inclusive);
    /// nothing for a missing or zero step, or one that leads away from `end`.
    fn range(args: &[Value]) -> Result<Value, Error> {
        let (start, end) = (number(args, 0).unwrap_or(0.0), number(args, 1).unwrap_or(0.0));
        let Some(step) = number(args, 2).filter(|s| *s != 0.0 && s.is_finite()) else {
            return Ok(Value::Undefined);
        };
        if (end - start) * step < 0.0 || !(end - start).is_finite() {
            return Ok(Value::Undefined);
        }
        let count = ((end - start) / step).floor() + 1.0;
        if count > MAX_RANGE {
            return Err(Error::runtime("D3137", "Expression evaluation memory limit exceeded"));
        }
        let count = count as usize;
        Ok(Value::sequence(
            (0..count).map(|i| Value::Number(start + step * i as f64)).collect(),
        ))
    }

    /// `$hash(data, algorithm)`: the digest in lowercase hex; nothing without an algorithm.
    fn hash(args: &[Value]) -> Result<Value, Error> {
        use sha2::Digest;
        // Undefined in, undefined out, as JSONata's functions do.
        let (Some(data), Some(algorithm)) = (
            args.first().and_then(Value::as_str),
            args.get(1).and_then(Value::as_str),
        ) else {
            return Ok(Value::Undefined);
        };
        let digest = match algorithm {
            "MD5" => hex::encode(md5::Md5::digest(data.as_bytes())),
            "SHA-1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
            "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
            "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
            "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
            other => {
                return Err(Error::runtime(
                    "D3137",
                    format!("Hash algorithm '{other}' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"),
                ));
            }
        };
        Ok(Value::from(digest))
    }

    /// `$random(seed?)`: `java.util.Random(seed).nextDouble()` with a seed (so `$random(42)` is
    /// 0.7275636800328681, as on AWS), otherwise a fresh random number in [0, 1).
    fn random(args: &[Value]) -> Result<Value, Error> {
        Ok(Value::Number(match number(args, 0) {
            Some(seed) => java_next_double(seed as i64),
            None => fastrand::f64(),
        }))
    }

    fn java_next_double(seed: i64) -> f64 {
        const MULTIPLIER: i64 = 0x5DEECE66D;
        const MASK: i64 = (1 << 48) - 1;
        let mut state = (seed ^ MULTIPLIER) & MASK;
        let mut next = |bits: u32| -> i64 {
            state = (state.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
            state >> (48 - bits)
        };
        let high = next(26);
        let low = next(27);
        ((high << 27) + low) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn uuid(_: &[Value]) -> Result<Value, Error> {
        Ok(Value::from(uuid::Uuid::new_v4().to_string()))
    }

    /// `$parse(text)`: strict JSON (a duplicated key included), else D3137.
    fn parse(args: &[Value]) -> Result<Value, Error> {
        let Some(text) = args.first().and_then(Value::as_str) else {
            return Ok(Value::Undefined);
        };
        let invalid = || Error::runtime("D3137", "Invalid JSON");
        // A JSON reader keeps the last of duplicated keys; AWS refuses them.
        if has_duplicate_keys(text) {
            return Err(invalid());
        }
        Value::parse_json(text).map_err(|_| invalid())
    }

    /// Whether an object in the JSON text repeats a key.
    fn has_duplicate_keys(text: &str) -> bool {
        use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
        struct Check;
        impl<'de> Visitor<'de> for Check {
            type Value = bool;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
                let mut seen = std::collections::HashSet::new();
                let mut duplicate = false;
                while let Some(key) = map.next_key::<String>()? {
                    duplicate |= !seen.insert(key);
                    duplicate |= map.next_value_seed(CheckSeed)?;
                }
                Ok(duplicate)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
                let mut duplicate = false;
                while let Some(d) = seq.next_element_seed(CheckSeed)? {
                    duplicate |= d;
                }
                Ok(duplicate)
            }
            fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_str<E>(self, _: &str) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_unit<E>(self) -> Result<bool, E> {
                Ok(false)
            }
        }
        struct CheckSeed;
        impl<'de> serde::de::DeserializeSeed<'de> for CheckSeed {
            type Value = bool;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
                d.deserialize_any(Check)
            }
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde::de::DeserializeSeed::deserialize(CheckSeed, &mut deserializer).unwrap_or(false)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn random_with_a_seed_is_javas() {
            assert_eq!(java_next_double(42), 0.7275636800328681);
        }

        #[test]
        fn bad_sizes_give_nothing_or_an_error_never_a_panic() {
            let n = |x: f64| Value::Number(x);
            let items = Value::array(vec![n(1.0), n(2.0)]);
            assert!(partition(&[items.clone(), n(f64::NAN)]).unwrap().is_undefined());
            assert!(partition(&[items.clone(), n(1e300)]).is_ok());
            assert_eq!(range(&[n(0.0), n(1e20), n(1.0)]).unwrap_err().code, "D3137");
            assert!(range(&[n(0.0), n(f64::INFINITY), n(1.0)]).unwrap().is_undefined());
            assert!(range(&[n(0.0), n(10.0), n(f64::NAN)]).unwrap().is_undefined());
        }

        #[test]
        fn parse_refuses_duplicated_keys() {
            assert!(has_duplicate_keys(r#"{"a": 1, "b": {"c": 1, "c": 2}}"#));
            assert!(!has_duplicate_keys(r#"{"a": 1, "b": [{"a": 2}]}"#));
        }
    }
}
