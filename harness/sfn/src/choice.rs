//! Choice rules: comparisons (and their `…Path` forms), the `Is…` tests, `And`/`Or`/`Not`.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::diagnostic::Diagnostic;
use crate::error::StatesError;
use crate::paths::Path;
use crate::variables::Env;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
    Matches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are ASL's operators: IsNull, IsPresent …"
)]
pub enum TypeTest {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A JSONata rule's `Condition`: `true`/`false`, or an expression that must give a boolean.
    Condition(crate::model::Template),
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        kind: Kind,
        comparison: Comparison,
        operand: Operand,
    },
    Test {
        variable: Path,
        test: TypeTest,
        expected: bool,
    },
}

const COMPARISONS: [(&str, Kind, Comparison); 17] = [
    ("StringEquals", Kind::String, Comparison::Equals),
    ("StringLessThan", Kind::String, Comparison::LessThan),
    ("StringGreaterThan", Kind::String, Comparison::GreaterThan),
    ("StringLessThanEquals", Kind::String, Comparison::LessThanEquals),
    ("StringGreaterThanEquals", Kind::String, Comparison::GreaterThanEquals),
    ("StringMatches", Kind::String, Comparison::Matches),
    ("NumericEquals", Kind::Numeric, Comparison::Equals),
    ("NumericLessThan", Kind::Numeric, Comparison::LessThan),
    ("NumericGreaterThan", Kind::Numeric, Comparison::GreaterThan),
    ("NumericLessThanEquals", Kind::Numeric, Comparison::LessThanEquals),
    ("NumericGreaterThanEquals", Kind::Numeric, Comparison::GreaterThanEquals),
    ("BooleanEquals", Kind::Boolean, Comparison::Equals),
    ("TimestampEquals", Kind::Timestamp, Comparison::Equals),
    ("TimestampLessThan", Kind::Timestamp, Comparison::LessThan),
    ("TimestampGreaterThan", Kind::Timestamp, Comparison::GreaterThan),
    ("TimestampLessThanEquals", Kind::Timestamp, Comparison::LessThanEquals),
    (
        "TimestampGreaterThanEquals",
        Kind::Timestamp,
        Comparison::GreaterThanEquals,
    ),
];

const TESTS: [(&str, TypeTest); 6] = [
    ("IsNull", TypeTest::IsNull),
    ("IsPresent", TypeTest::IsPresent),
    ("IsNumeric", TypeTest::IsNumeric),
    ("IsString", TypeTest::IsString),
    ("IsBoolean", TypeTest::IsBoolean),
    ("IsTimestamp", TypeTest::IsTimestamp),
];

/// Whether `field` is one of the JSONPath comparison or type-test operators.
pub fn is_comparison(field: &str) -> bool {
    let base = field.strip_suffix("Path").unwrap_or(field);
    COMPARISONS.iter().any(|(name, ..)| *name == base) || TESTS.iter().any(|(name, _)| *name == field)
}

impl Rule {
    /// The rule in a few words, for a graph's edge label: `$.n > 3`, `{% $x %}`, `not (…)`.
    pub fn summary(&self) -> String {
        let join = |rules: &[Rule], word: &str| {
            rules
                .iter()
                .map(|r| format!("({})", r.summary()))
                .collect::<Vec<_>>()
                .join(&format!(" {word} "))
        };
        match self {
            Rule::Condition(crate::model::Template::Query(q)) => format!("{{% {} %}}", q.source()),
            Rule::Condition(crate::model::Template::Literal(v)) => v.to_string(),
            Rule::Condition(_) => "Condition".into(),
            Rule::And(rules) => join(rules, "and"),
            Rule::Or(rules) => join(rules, "or"),
            Rule::Not(rule) => format!("not ({})", rule.summary()),
            Rule::Compare {
                variable,
                comparison,
                operand,
                ..
            } => {
                let op = match comparison {
                    Comparison::Equals => "==",
                    Comparison::LessThan => "<",
                    Comparison::GreaterThan => ">",
                    Comparison::LessThanEquals => "<=",
                    Comparison::GreaterThanEquals => ">=",
                    Comparison::Matches => "matches",
                };
                let operand = match operand {
                    Operand::Literal(v) => v.to_string(),
                    Operand::Path(p) => p.as_str().to_string(),
                };
                format!("{} {op} {operand}", variable.as_str())
            }
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                let name = TESTS.iter().find(|(_, t)| t == test).map_or("Is?", |(n, _)| *n);
                format!("{} {name} {expected}", variable.as_str())
            }
        }
    }

    /// Parses one rule (a top-level Choice carries `Next` beside it, which the caller reads).
    pub fn parse(value: &Value, at: &str) -> Result<Rule, Diagnostic> {
        let object = value
            .as_object()
            .ok_or_else(|| Diagnostic::at(at, "a choice rule must be an object"))?;
        let nested = |key: &str| -> Result<Option<Vec<Rule>>, Diagnostic> {
            match object.get(key) {
                None => Ok(None),
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Rule::parse(v, &format!("{at}.{key}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(Diagnostic::of(
                    format!("{at}.{key}"),
                    "must be a non-empty array of rules",
                )),
            }
        };
        if let Some(rules) = nested("And")? {
            return Ok(Rule::And(rules));
        }
        if let Some(rules) = nested("Or")? {
            return Ok(Rule::Or(rules));
        }
        if let Some(rule) = object.get("Not") {
            return Ok(Rule::Not(Box::new(Rule::parse(rule, &format!("{at}.Not"))?)));
        }
        let variable = object
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or_else(|| Diagnostic::at(at, "a comparison needs a Variable path"))
            .and_then(|v| Path::parse(v).map_err(|e| Diagnostic::at(format!("{at}.Variable"), e)))?;
        for (name, test) in TESTS {
            if let Some(expected) = object.get(name) {
                let expected = expected
                    .as_bool()
                    .ok_or_else(|| Diagnostic::of(format!("{at}.{name}"), "must be true or false"))?;
                return Ok(Rule::Test {
                    variable,
                    test,
                    expected,
                });
            }
        }
        for (name, kind, comparison) in &COMPARISONS {
            if let Some(literal) = object.get(*name) {
                let valid = match kind {
                    Kind::String | Kind::Timestamp => literal.is_string(),
                    Kind::Numeric => literal.is_number(),
                    Kind::Boolean => literal.is_boolean(),
                };
                if !valid {
                    return Err(Diagnostic::of(
                        format!("{at}.{name}"),
                        format_args!("has a value of the wrong type: {literal}"),
                    ));
                }
                if *kind == Kind::Timestamp && timestamp(literal).is_none() {
                    return Err(Diagnostic::at(
                        format!("{at}.{name}"),
                        format!("{literal} is not an RFC 3339 timestamp"),
                    ));
                }
                return Ok(Rule::Compare {
                    variable,
                    kind: *kind,
                    comparison: *comparison,
                    operand: Operand::Literal(literal.clone()),
                });
            }
            let path_name = format!("{name}Path");
            if let Some(path) = object.get(&path_name) {
                if *comparison == Comparison::Matches {
                    return Err(Diagnostic::at(at, "StringMatches has no Path form"));
                }
                let path = path
                    .as_str()
                    .ok_or_else(|| Diagnostic::of(format!("{at}.{path_name}"), "must be a path string"))
                    .and_then(|p| Path::parse(p).map_err(|e| Diagnostic::at(format!("{at}.{path_name}"), e)))?;
                return Ok(Rule::Compare {
                    variable,
                    kind: *kind,
                    comparison: *comparison,
                    operand: Operand::Path(path),
                });
            }
        }
        Err(Diagnostic::at(
            at,
            "no comparison operator (e.g. StringEquals, NumericLessThanPath, IsPresent)",
        ))
    }

    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<bool, StatesError> {
        match self {
            Rule::Condition(condition) => match condition.eval(input, env)? {
                Value::Bool(b) => Ok(b),
                other => Err(match condition.as_query() {
                    Some(q) => q.error(&format!("returned a non-boolean value: {other}")),
                    None => StatesError::runtime(format!("The Condition is not a boolean: {other}")),
                }),
            },
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.eval(input, env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.eval(input, env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.eval(input, env)?),
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                let value = variable.find(input, env);
                let result = match (test, &value) {
                    (TypeTest::IsPresent, v) => v.is_some(),
                    (_, None) => false,
                    (TypeTest::IsNull, Some(v)) => v.is_null(),
                    (TypeTest::IsNumeric, Some(v)) => v.is_number(),
                    (TypeTest::IsString, Some(v)) => v.is_string(),
                    (TypeTest::IsBoolean, Some(v)) => v.is_boolean(),
                    (TypeTest::IsTimestamp, Some(v)) => timestamp(v).is_some(),
                };
                Ok(result == *expected)
            }
            Rule::Compare {
                variable,
                kind,
                comparison,
                operand,
            } => {
                let value = variable.select(input, env).map_err(|_| {
                    StatesError::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        variable.as_str()
                    ))
                })?;
                let operand = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => p.select(input, env)?,
                };
                Ok(compare(&value, *kind, *comparison, &operand))
            }
        }
    }
}

fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    value.as_str().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
}

fn ordered<T: PartialOrd>(a: T, b: T, comparison: Comparison) -> bool {
    match comparison {
        Comparison::Equals => a == b,
        Comparison::LessThan => a < b,
        Comparison::GreaterThan => a > b,
        Comparison::LessThanEquals => a <= b,
        Comparison::GreaterThanEquals => a >= b,
        Comparison::Matches => false,
    }
}

/// A value of the wrong type compares false (the States Language's rule), never an error.
fn compare(value: &Value, kind: Kind, comparison: Comparison, operand: &Value) -> bool {
    match kind {
        Kind::String => match (value.as_str(), operand.as_str()) {
            (Some(v), Some(pattern)) if comparison == Comparison::Matches => matches_pattern(v, pattern),
            (Some(v), Some(o)) => ordered(v, o, comparison),
            _ => false,
        },
        Kind::Numeric => match (value.as_f64(), operand.as_f64()) {
            (Some(v), Some(o)) if value.is_number() && operand.is_number() => ordered(v, o, comparison),
            _ => false,
        },
        Kind::Boolean => matches!((value.as_bool(), operand.as_bool()), (Some(v), Some(o)) if v == o),
        Kind::Timestamp => match (timestamp(value), timestamp(operand)) {
            (Some(v), Some(o)) => ordered(v, o, comparison),
            _ => false,
        },
    }
}

/// `*` matches any run of characters; `\*` and `\\` are literals.
fn matches_pattern(value: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Star,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = value.chars().collect();
    // Classic wildcard matching with backtracking on the last star.
    let (mut t, mut p, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while t < text.len() {
        if p < tokens.len() && tokens[p] == Token::Char(text[t]) {
            t += 1;
            p += 1;
        } else if p < tokens.len() && tokens[p] == Token::Star {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    while p < tokens.len() && tokens[p] == Token::Star {
        p += 1;
    }
    p == tokens.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches_pattern("log-2026.txt", "log-*.txt"));
        assert!(matches_pattern("a*b", "a\\*b"));
        assert!(!matches_pattern("axb", "a\\*b"));
        assert!(matches_pattern("", "*"));
        assert!(!matches_pattern("abc", "*d"));
    }
}
