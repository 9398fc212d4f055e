//! EventBridge event patterns, as EventBridge Pipes apply them in `FilterCriteria`: nested
//! objects select fields, arrays list accepted values, and the content filters `prefix`,
//! `suffix`, `anything-but`, `numeric`, `exists`, `equals-ignore-case`, `wildcard` and `$or`.
//! A field that holds an array matches if any of its elements does.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
#[error("invalid event pattern: {0}")]
pub struct PatternError(String);

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Map<String, Value>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError(e.to_string()))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, PatternError> {
        match value {
            Value::Object(root) => {
                validate_object(&root, "$")?;
                Ok(Self { root })
            }
            other => Err(PatternError(format!("a pattern is a JSON object, got {other}"))),
        }
    }

    pub fn matches(&self, event: &Value) -> bool {
        match_object(&self.root, Some(event))
    }
}

fn validate_object(object: &Map<String, Value>, at: &str) -> Result<(), PatternError> {
    for (key, value) in object {
        let at = format!("{at}.{key}");
        match (key.as_str(), value) {
            ("$or", Value::Array(alternatives)) if alternatives.len() >= 2 => {
                for alt in alternatives {
                    let Value::Object(alt) = alt else {
                        return Err(PatternError(format!("{at}: each $or alternative is an object")));
                    };
                    validate_object(alt, &at)?;
                }
            }
            ("$or", _) => return Err(PatternError(format!("{at} takes an array of at least two patterns"))),
            (_, Value::Object(nested)) => validate_object(nested, &at)?,
            (_, Value::Array(conditions)) => {
                for condition in conditions {
                    if let Value::Object(filter) = condition {
                        validate_filter(filter, &at)?;
                    }
                }
            }
            _ => return Err(PatternError(format!("{at}: match values must be in an array"))),
        }
    }
    Ok(())
}

fn validate_filter(filter: &Map<String, Value>, at: &str) -> Result<(), PatternError> {
    let (name, operand) = filter
        .iter()
        .next()
        .filter(|_| filter.len() == 1)
        .ok_or_else(|| PatternError(format!("{at}: a content filter has exactly one key")))?;
    let ok = match name.as_str() {
        "prefix" | "suffix" => operand.is_string() || operand.get("equals-ignore-case").is_some_and(Value::is_string),
        "equals-ignore-case" | "wildcard" => operand.is_string(),
        "exists" => operand.is_boolean(),
        "anything-but" => true,
        "numeric" => operand.as_array().is_some_and(|a| !a.is_empty() && a.len() % 2 == 0),
        _ => return Err(PatternError(format!("{at}: unknown content filter {name:?}"))),
    };
    if ok {
        Ok(())
    } else {
        Err(PatternError(format!("{at}: bad operand for {name}: {operand}")))
    }
}

fn match_object(pattern: &Map<String, Value>, event: Option<&Value>) -> bool {
    pattern.iter().all(|(key, expected)| {
        if key == "$or" {
            return expected.as_array().is_some_and(|alts| {
                alts.iter()
                    .any(|alt| alt.as_object().is_some_and(|alt| match_object(alt, event)))
            });
        }
        let field = event.and_then(|e| e.get(key));
        match expected {
            Value::Object(nested) => match field {
                Some(Value::Array(items)) => items.iter().any(|item| match_object(nested, Some(item))),
                Some(value) => match_object(nested, Some(value)),
                // A missing parent only matches patterns made of `exists: false`.
                None => match_object(nested, None),
            },
            Value::Array(conditions) => match_field(conditions, field),
            _ => false,
        }
    })
}

fn match_field(conditions: &[Value], field: Option<&Value>) -> bool {
    let values: Vec<&Value> = match field {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(value) => vec![value],
        None => Vec::new(),
    };
    conditions.iter().any(|condition| match condition {
        Value::Object(filter) if filter.contains_key("exists") => {
            let want = filter["exists"].as_bool().unwrap_or(true);
            // `exists` looks at leaves: an object is not a matchable value.
            let present = values.iter().any(|v| !v.is_object());
            present == want
        }
        _ => values.iter().any(|value| matches_value(condition, value)),
    })
}

fn same(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn matches_value(condition: &Value, value: &Value) -> bool {
    let Value::Object(filter) = condition else {
        return same(condition, value);
    };
    let Some((name, operand)) = filter.iter().next() else {
        return false;
    };
    let text = value.as_str();
    match name.as_str() {
        "prefix" => match (operand, text) {
            (Value::String(p), Some(t)) => t.starts_with(p.as_str()),
            (Value::Object(o), Some(t)) => o["equals-ignore-case"]
                .as_str()
                .is_some_and(|p| t.to_lowercase().starts_with(&p.to_lowercase())),
            _ => false,
        },
        "suffix" => match (operand, text) {
            (Value::String(s), Some(t)) => t.ends_with(s.as_str()),
            (Value::Object(o), Some(t)) => o["equals-ignore-case"]
                .as_str()
                .is_some_and(|s| t.to_lowercase().ends_with(&s.to_lowercase())),
            _ => false,
        },
        "equals-ignore-case" => {
            matches!((operand.as_str(), text), (Some(a), Some(b)) if a.to_lowercase() == b.to_lowercase())
        }
        "wildcard" => matches!((operand.as_str(), text), (Some(p), Some(t)) if wildcard(p, t)),
        "anything-but" => match operand {
            Value::Array(excluded) => !excluded.iter().any(|e| same(e, value)),
            Value::Object(inner) => !matches_value(&Value::Object(inner.clone()), value),
            single => !same(single, value),
        },
        "numeric" => {
            let Some(n) = value.as_f64().filter(|_| value.is_number()) else {
                return false;
            };
            operand.as_array().is_some_and(|ops| {
                ops.chunks(2).all(|pair| {
                    let bound = pair[1].as_f64().unwrap_or(f64::NAN);
                    match pair[0].as_str() {
                        Some("=") => n == bound,
                        Some("<") => n < bound,
                        Some("<=") => n <= bound,
                        Some(">") => n > bound,
                        Some(">=") => n >= bound,
                        _ => false,
                    }
                })
            })
        }
        _ => false,
    }
}

/// `*` matches any run of characters (EventBridge wildcard filter).
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(pattern: Value, event: Value) -> bool {
        Pattern::from_value(pattern).unwrap().matches(&event)
    }

    #[test]
    fn the_pipe_filter() {
        let p = json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["TRIGGERED"]}}}});
        assert!(m(
            p.clone(),
            json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "TRIGGERED"}}}})
        ));
        assert!(!m(
            p.clone(),
            json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "RUNNING"}}}})
        ));
        assert!(!m(p.clone(), json!({"eventName": "REMOVE", "dynamodb": {}})));
    }

    #[test]
    fn content_filters() {
        assert!(m(json!({"a": [{"prefix": "ab"}]}), json!({"a": "abc"})));
        assert!(m(json!({"a": [{"suffix": ".csv"}]}), json!({"a": "x.csv"})));
        assert!(m(json!({"a": [{"anything-but": ["x", "y"]}]}), json!({"a": "z"})));
        assert!(!m(json!({"a": [{"anything-but": "x"}]}), json!({"a": "x"})));
        assert!(m(json!({"a": [{"numeric": [">", 0, "<=", 5]}]}), json!({"a": 5})));
        assert!(m(json!({"a": [{"exists": false}]}), json!({"b": 1})));
        assert!(!m(json!({"a": [{"exists": true}]}), json!({"b": 1})));
        assert!(m(json!({"a": [{"equals-ignore-case": "AbC"}]}), json!({"a": "abc"})));
        assert!(m(json!({"a": [{"wildcard": "a*c*e"}]}), json!({"a": "abcde"})));
        assert!(m(json!({"a": [1]}), json!({"a": [3, 1]})));
        assert!(m(json!({"$or": [{"a": [1]}, {"b": [2]}]}), json!({"b": 2})));
        assert!(Pattern::parse(r#"{"a": "x"}"#).is_err());
    }
}
