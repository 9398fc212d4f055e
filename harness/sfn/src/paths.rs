//! JSONPath as the States Language uses it.
//!
//! A *path* (`InputPath`, `OutputPath`, `ItemsPath`, `Variable`, `.$` fields) selects from the
//! effective input (`$`), the context object (`$$`) or a workflow variable (`$name`, `$name.field`,
//! `$name[0]`); a path with no wildcard, filter, slice,
//! union or descendant segment is *definite* and yields one value (no match is `States.Runtime`),
//! others yield the array of matches. A *reference path* (`ResultPath`) is definite and made of
//! fields and indexes only; it can also write.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::error::StatesError;
use crate::variables::{self, Env, VariableError};

/// What a path selects from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's input (or whatever the field applies to: a result, an error output).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

#[derive(Debug, Clone)]
pub struct Path {
    raw: String,
    root: Root,
    query: JsonPath,
    definite: bool,
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

/// Whether a path can only ever select one node (syntactic check outside quoted names).
fn is_definite(path: &str) -> bool {
    let mut quote = None;
    let mut previous = '\0';
    for c in path.chars() {
        match quote {
            Some(q) if c == q && previous != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '*' | '?' | ':' | ',' => return false,
                '.' if previous == '.' => return false,
                _ => {}
            },
        }
        previous = c;
    }
    true
}

impl Path {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (root, query_text) = split_root(raw)?;
        let query = JsonPath::parse(&bracket_unusual_names(&query_text))
            .map_err(|e| format!("{raw:?} is not a valid JSONPath: {e}"))?;
        Ok(Self {
            raw: raw.to_string(),
            root,
            query,
            definite: is_definite(&query_text),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The value the path starts from: `input`, the context object, or a variable (which must
    /// be defined).
    fn target<'v>(&self, input: &'v Value, env: &Env<'v>) -> Result<&'v Value, VariableError> {
        match &self.root {
            Root::Input => Ok(input),
            Root::Context => Ok(env.context),
            Root::Variable(name) => env
                .variables
                .get(name)
                .ok_or_else(|| VariableError::Undefined(name.clone())),
        }
    }

    /// Selects from `input`, the context object or a variable, as the path's root says.
    pub fn select(&self, input: &Value, env: &Env<'_>) -> Result<Value, StatesError> {
        let target = self
            .target(input, env)
            .map_err(|e| StatesError::runtime(format!("Invalid path '{}': {e}", self.raw)))?;
        let nodes = self.query.query(target).all();
        if self.definite {
            match nodes.first() {
                Some(value) => Ok((*value).clone()),
                None => Err(StatesError::runtime(format!(
                    "Invalid path '{}' : No results for path: {}",
                    self.raw,
                    normalized(&self.raw)
                ))),
            }
        } else {
            Ok(Value::Array(nodes.into_iter().cloned().collect()))
        }
    }

    /// Like `select`, but a definite path that matches nothing is `None` (Choice `IsPresent`), and
    /// so is a variable that is not defined.
    pub fn find(&self, input: &Value, env: &Env<'_>) -> Option<Value> {
        let target = self.target(input, env).ok()?;
        let nodes = self.query.query(target).all();
        if self.definite {
            nodes.first().map(|v| (*v).clone())
        } else {
            Some(Value::Array(nodes.into_iter().cloned().collect()))
        }
    }
}

/// The root of `raw` and the rest as a JSONPath query from `$`.
fn split_root(raw: &str) -> Result<(Root, String), String> {
    if let Some(rest) = raw.strip_prefix("$$") {
        return Ok((Root::Context, format!("${rest}")));
    }
    let Some(rest) = raw.strip_prefix('$') else {
        return Err(format!("{raw:?} is not a path: it must start with '$'"));
    };
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    if end == 0 {
        return Ok((Root::Input, raw.to_string()));
    }
    let name = &rest[..end];
    variables::check_name(name).map_err(|e| format!("{raw:?} is not a valid variable reference: {e}"))?;
    Ok((Root::Variable(name.to_string()), format!("${}", &rest[end..])))
}

/// Step Functions (Jayway JSONPath) accepts dot-notation names such as `$.delivery-partner` that
/// RFC 9535 only accepts in brackets: rewrite those segments as `['delivery-partner']`.
fn bracket_unusual_names(path: &str) -> String {
    let chars: Vec<char> = path.chars().collect();
    let mut out = String::with_capacity(path.len() + 8);
    let mut quote = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q && chars.get(i.wrapping_sub(1)) != Some(&'\\') {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
                i += 1;
            }
            '.' if chars.get(i + 1).is_some_and(|n| *n != '.' && *n != '[' && *n != '*') => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len()
                    && !matches!(
                        chars[end],
                        '.' | '[' | ']' | ' ' | ')' | '=' | '<' | '>' | '!' | '&' | '|' | ','
                    )
                {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                let plain = name.chars().next().is_some_and(|f| !f.is_ascii_digit())
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || !ch.is_ascii());
                if plain {
                    out.push('.');
                    out.push_str(&name);
                } else {
                    out.push_str(&format!("['{}']", name.replace('\'', "\\'")));
                }
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// AWS's normalized form of a definite path in error causes: `$.a.b[0]` → `$['a']['b'][0]`.
fn normalized(raw: &str) -> String {
    let body = split_root(raw).map_or_else(|_| raw.to_string(), |(_, query)| query);
    match ReferencePath::parse(&body) {
        Ok(path) => {
            let mut out = String::from("$");
            for segment in &path.segments {
                match segment {
                    Segment::Field(name) => out.push_str(&format!("['{name}']")),
                    Segment::Index(i) => out.push_str(&format!("[{i}]")),
                }
            }
            out
        }
        Err(_) => raw.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
}

/// A definite path that can write: `$`, `$.a.b`, `$['a b'][0]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferencePath {
    raw: String,
    segments: Vec<Segment>,
}

impl ReferencePath {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{raw:?} is not a reference path: {why}");
        let rest = raw.strip_prefix('$').ok_or_else(|| bad("it must start with '$'"))?;
        if rest.starts_with('$') {
            return Err(bad("the context object cannot be written"));
        }
        if rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            return Err(bad("a variable cannot be written here (use Assign)"));
        }
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    if name.is_empty() || name == "*" {
                        return Err(bad("empty or wildcard field"));
                    }
                    segments.push(Segment::Field(name));
                    i = end;
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .ok_or_else(|| bad("unclosed '['"))?
                        + i;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if let Some(name) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        segments.push(Segment::Field(name.to_string()));
                    } else {
                        let index = inner
                            .parse()
                            .map_err(|_| bad("only field names and indexes are allowed"))?;
                        segments.push(Segment::Index(index));
                    }
                    i = close + 1;
                }
                _ => return Err(bad("unexpected character")),
            }
        }
        Ok(Self {
            raw: raw.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Places `value` into `target` at this path, creating objects on the way.
    pub fn write(&self, target: Value, value: Value) -> Result<Value, StatesError> {
        if self.segments.is_empty() {
            return Ok(value);
        }
        let mut root = target;
        let mut slot = &mut root;
        for (i, segment) in self.segments.iter().enumerate() {
            let last = i + 1 == self.segments.len();
            match segment {
                Segment::Field(name) => {
                    if !slot.is_object() {
                        if slot.is_null() && i == 0 {
                            *slot = Value::Object(Map::new());
                        } else {
                            return Err(StatesError::runtime(format!(
                                "Unable to apply ResultPath '{}': '{name}' cannot be set on a non-object",
                                self.raw
                            )));
                        }
                    }
                    let object = slot.as_object_mut().expect("checked above");
                    if last {
                        object.insert(name.clone(), value);
                        return Ok(root);
                    }
                    slot = object.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
                }
                Segment::Index(index) => {
                    let array = slot.as_array_mut().filter(|a| *index < a.len()).ok_or_else(|| {
                        StatesError::runtime(format!(
                            "Unable to apply ResultPath '{}': index {index} does not exist",
                            self.raw
                        ))
                    })?;
                    if last {
                        array[*index] = value;
                        return Ok(root);
                    }
                    slot = &mut array[*index];
                }
            }
        }
        unreachable!("the loop returns on the last segment")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_and_indefinite_paths() {
        let input = json!({"a": {"b": [1, 2, 3]}, "c d": 4});
        let context = json!({"Execution": {"Id": "arn"}});
        let vars = crate::variables::Variables::from_json(json!({"v": {"a": [5, 6]}})).unwrap();
        let ctx = Env::new(&context, &vars);
        assert_eq!(Path::parse("$v.a[1]").unwrap().select(&input, &ctx).unwrap(), json!(6));
        assert_eq!(
            Path::parse("$v").unwrap().select(&input, &ctx).unwrap(),
            json!({"a": [5, 6]})
        );
        assert_eq!(
            Path::parse("$nope").unwrap().select(&input, &ctx).unwrap_err().error,
            "States.Runtime"
        );
        assert!(Path::parse("$states.input").is_err());
        assert_eq!(Path::parse("$.a.b[1]").unwrap().select(&input, &ctx).unwrap(), json!(2));
        assert_eq!(
            Path::parse("$.a.b[*]").unwrap().select(&input, &ctx).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(Path::parse("$['c d']").unwrap().select(&input, &ctx).unwrap(), json!(4));
        assert_eq!(
            Path::parse("$$.Execution.Id").unwrap().select(&input, &ctx).unwrap(),
            json!("arn")
        );
        assert_eq!(
            Path::parse("$.missing")
                .unwrap()
                .select(&input, &ctx)
                .unwrap_err()
                .error,
            "States.Runtime"
        );
        assert!(Path::parse("a.b").is_err());
        let dashed = json!({"delivery-partner": "UQS", "items": [{"unit-price": 3}]});
        assert_eq!(
            Path::parse("$.delivery-partner")
                .unwrap()
                .select(&dashed, &ctx)
                .unwrap(),
            json!("UQS")
        );
        assert_eq!(
            Path::parse("$.items[?(@.unit-price > 2)].unit-price")
                .unwrap()
                .select(&dashed, &ctx)
                .unwrap(),
            json!([3])
        );
    }

    #[test]
    fn reference_paths_write() {
        let p = ReferencePath::parse("$.x.y").unwrap();
        assert_eq!(
            p.write(json!({"a": 1}), json!(2)).unwrap(),
            json!({"a": 1, "x": {"y": 2}})
        );
        assert_eq!(
            ReferencePath::parse("$")
                .unwrap()
                .write(json!({"a": 1}), json!(3))
                .unwrap(),
            json!(3)
        );
        assert!(ReferencePath::parse("$.a[*]").is_err());
        assert_eq!(
            ReferencePath::parse("$.a")
                .unwrap()
                .write(json!("str"), json!(1))
                .unwrap_err()
                .error,
            "States.Runtime"
        );
    }
}
