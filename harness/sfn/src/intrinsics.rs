//! Intrinsic functions (`States.Format('…', $.x)` …), parsed once when the definition loads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::error::StatesError;
use crate::paths::Path;
use crate::variables::Env;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Box<Intrinsic>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    pub name: String,
    pub args: Vec<Arg>,
}

/// "You can nest up to 10 intrinsic functions within a field" (the intrinsic functions page).
const MAX_NESTING: usize = 10;
/// The longest input States.Base64Encode, Base64Decode and Hash take, in characters.
const MAX_INPUT_CHARS: usize = 10_000;

impl Intrinsic {
    fn depth(&self) -> usize {
        1 + self
            .args
            .iter()
            .map(|a| match a {
                Arg::Call(inner) => inner.depth(),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

/// `text`, refused when longer than States.Base64*/Hash take.
fn limited<'a>(name: &str, text: &'a str) -> Result<&'a str, StatesError> {
    if text.chars().count() > MAX_INPUT_CHARS {
        return Err(fail(
            name,
            format!("the input is longer than {MAX_INPUT_CHARS} characters"),
        ));
    }
    Ok(text)
}

const FUNCTIONS: [&str; 18] = [
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, why: &str) -> String {
        format!(
            "invalid intrinsic function {:?} at character {}: {why}",
            self.text, self.at
        )
    }

    fn skip_space(&mut self) {
        while self.at < self.chars.len() && self.chars[self.at].is_whitespace() {
            self.at += 1;
        }
    }

    fn call(&mut self) -> Result<Intrinsic, String> {
        self.skip_space();
        let start = self.at;
        while self.at < self.chars.len() && (self.chars[self.at].is_alphanumeric() || self.chars[self.at] == '.') {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        if !FUNCTIONS.contains(&name.as_str()) {
            return Err(self.error(&format!("unknown function {name:?}")));
        }
        self.skip_space();
        if self.chars.get(self.at) != Some(&'(') {
            return Err(self.error("expected '('"));
        }
        self.at += 1;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if self.chars.get(self.at) == Some(&')') {
                self.at += 1;
                break;
            }
            if !args.is_empty() {
                if self.chars.get(self.at) != Some(&',') {
                    return Err(self.error("expected ',' or ')'"));
                }
                self.at += 1;
                self.skip_space();
            }
            args.push(self.arg()?);
        }
        Ok(Intrinsic { name, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.chars.get(self.at) {
            Some('\'') => {
                self.at += 1;
                let mut text = String::new();
                loop {
                    match self.chars.get(self.at) {
                        None => return Err(self.error("unterminated string")),
                        Some('\\') => {
                            // `\'`, `\{`, `\}` and `\\` are escapes; the backslash is kept for
                            // braces so States.Format can tell a literal brace from a placeholder.
                            let next = *self
                                .chars
                                .get(self.at + 1)
                                .ok_or_else(|| self.error("dangling escape"))?;
                            if matches!(next, '{' | '}') {
                                text.push('\\');
                            }
                            text.push(next);
                            self.at += 2;
                        }
                        Some('\'') => {
                            self.at += 1;
                            break;
                        }
                        Some(c) => {
                            text.push(*c);
                            self.at += 1;
                        }
                    }
                }
                Ok(Arg::Literal(Value::String(text)))
            }
            Some('$') => {
                let start = self.at;
                let mut depth = 0i32;
                let mut quote = None;
                while let Some(&c) = self.chars.get(self.at) {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None => match c {
                            '\'' | '"' => quote = Some(c),
                            '[' | '(' => depth += 1,
                            ']' => depth -= 1,
                            ')' if depth == 0 => break,
                            ')' => depth -= 1,
                            ',' if depth == 0 => break,
                            c if c.is_whitespace() && depth == 0 => break,
                            _ => {}
                        },
                    }
                    self.at += 1;
                }
                let raw: String = self.chars[start..self.at].iter().collect();
                Path::parse(&raw).map(Arg::Path).map_err(|e| self.error(&e))
            }
            Some(c) if c.is_alphabetic() && self.text[self.byte_at()..].starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            Some(_) => {
                let start = self.at;
                while let Some(&c) = self.chars.get(self.at) {
                    if c == ',' || c == ')' || c.is_whitespace() {
                        break;
                    }
                    self.at += 1;
                }
                let raw: String = self.chars[start..self.at].iter().collect();
                serde_json::from_str::<Value>(&raw)
                    .ok()
                    .filter(|v| v.is_number() || v.is_boolean() || v.is_null())
                    .map(Arg::Literal)
                    .ok_or_else(|| {
                        self.error(&format!(
                            "{raw:?} is not a string, number, boolean, null, path or function"
                        ))
                    })
            }
            None => Err(self.error("expected an argument")),
        }
    }

    fn byte_at(&self) -> usize {
        self.chars[..self.at].iter().map(|c| c.len_utf8()).sum()
    }
}

impl Intrinsic {
    pub fn is_intrinsic(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            text,
            chars: text.chars().collect(),
            at: 0,
        };
        let call = parser.call()?;
        parser.skip_space();
        if parser.at != parser.chars.len() {
            return Err(parser.error("unexpected text after the call"));
        }
        if call.depth() > MAX_NESTING {
            return Err(format!(
                "{text}: at most {MAX_NESTING} intrinsic functions can be nested"
            ));
        }
        Ok(call)
    }

    pub fn eval(&self, input: &Value, env: &Env<'_>) -> Result<Value, StatesError> {
        let mut args = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            args.push(match arg {
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => p.select(input, env)?,
                Arg::Call(call) => call.eval(input, env)?,
            });
        }
        call(&self.name, args)
    }
}

fn fail(name: &str, why: impl std::fmt::Display) -> StatesError {
    StatesError::intrinsic(format!("Invalid arguments in {name}: {why}"))
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), StatesError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(fail(name, format!("expected {expected} arguments, got {}", args.len())));
    }
    Ok(())
}

fn string<'a>(name: &str, v: &'a Value) -> Result<&'a str, StatesError> {
    v.as_str().ok_or_else(|| fail(name, format!("{v} is not a string")))
}

fn array<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, StatesError> {
    v.as_array().ok_or_else(|| fail(name, format!("{v} is not an array")))
}

fn integer(name: &str, v: &Value) -> Result<i64, StatesError> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| fail(name, format!("{v} is not an integer")))
}

/// A value as States.Format writes it: strings as they are, objects and arrays as Java's
/// `toString` would (`{Arg1=1, Arg2=[]}`), everything else as JSON.
fn render_java_style(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_java_style(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render_java_style(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, StatesError> {
    match name {
        "States.Format" => {
            if args.is_empty() {
                return Err(fail(name, "a template string is required"));
            }
            let template = string(name, &args[0])?;
            let mut values = args[1..].iter();
            let mut out = String::new();
            let mut chars = template.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if matches!(chars.peek(), Some('{') | Some('}')) => out.push(chars.next().expect("peeked")),
                    '{' if chars.peek() == Some(&'}') => {
                        chars.next();
                        let value = values
                            .next()
                            .ok_or_else(|| fail(name, "more placeholders than arguments"))?;
                        render_java_style(value, &mut out);
                    }
                    c => out.push(c),
                }
            }
            if values.next().is_some() {
                return Err(fail(name, "more arguments than placeholders"));
            }
            Ok(Value::String(out))
        }
        "States.StringToJson" => {
            arity(name, &args, 1, 1)?;
            let text = string(name, &args[0])?.trim();
            // AWS gives null for an empty or blank string, and 0 for "-0".
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let value: Value = serde_json::from_str(text).map_err(|e| fail(name, e))?;
            Ok(match value.as_f64() {
                Some(n) if n == 0.0 && !value.is_i64() && !value.is_u64() => Value::from(0),
                _ => value,
            })
        }
        "States.JsonToString" => {
            arity(name, &args, 1, 1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => {
            arity(name, &args, 2, 2)?;
            let items = array(name, &args[0])?;
            let size = integer(name, &args[1])?;
            if size <= 0 {
                return Err(fail(name, "the chunk size must be positive"));
            }
            Ok(Value::Array(
                items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect(),
            ))
        }
        "States.ArrayContains" => {
            arity(name, &args, 2, 2)?;
            Ok(Value::Bool(array(name, &args[0])?.contains(&args[1])))
        }
        "States.ArrayRange" => {
            arity(name, &args, 3, 3)?;
            let (start, end, step) = (
                integer(name, &args[0])?,
                integer(name, &args[1])?,
                integer(name, &args[2])?,
            );
            if step == 0 {
                return Err(fail(name, "the step must not be 0"));
            }
            let mut out = Vec::new();
            let mut n = start;
            while (step > 0 && n <= end) || (step < 0 && n >= end) {
                out.push(Value::from(n));
                if out.len() > 1000 {
                    return Err(fail(name, "a range may hold at most 1000 items"));
                }
                n += step;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            arity(name, &args, 2, 2)?;
            let items = array(name, &args[0])?;
            let index = integer(name, &args[1])?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| fail(name, format!("index {index} is out of bounds")))
        }
        "States.ArrayLength" => {
            arity(name, &args, 1, 1)?;
            Ok(Value::from(array(name, &args[0])?.len()))
        }
        "States.ArrayUnique" => {
            arity(name, &args, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for item in array(name, &args[0])? {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            arity(name, &args, 1, 1)?;
            Ok(Value::String(BASE64.encode(limited(name, string(name, &args[0])?)?)))
        }
        "States.Base64Decode" => {
            arity(name, &args, 1, 1)?;
            let bytes = BASE64
                .decode(limited(name, string(name, &args[0])?)?)
                .map_err(|e| fail(name, e))?;
            String::from_utf8(bytes).map(Value::String).map_err(|e| fail(name, e))
        }
        "States.Hash" => {
            arity(name, &args, 2, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            limited(name, &data)?;
            use sha2::Digest;
            let digest = match string(name, &args[1])? {
                "MD5" => hex::encode(md5::Md5::digest(data.as_bytes())),
                "SHA-1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
                "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
                "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
                "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
                other => return Err(fail(name, format!("unsupported algorithm {other:?}"))),
            };
            Ok(Value::String(digest))
        }
        "States.JsonMerge" => {
            arity(name, &args, 3, 3)?;
            if args[2] != Value::Bool(false) {
                return Err(fail(name, "only shallow merges (false) are supported"));
            }
            let mut merged: Map<String, Value> = args[0]
                .as_object()
                .cloned()
                .ok_or_else(|| fail(name, "the first argument is not an object"))?;
            let second = args[1]
                .as_object()
                .ok_or_else(|| fail(name, "the second argument is not an object"))?;
            merged.extend(second.clone());
            Ok(Value::Object(merged))
        }
        "States.MathRandom" => {
            arity(name, &args, 2, 3)?;
            let (start, end) = (integer(name, &args[0])?, integer(name, &args[1])?);
            if end <= start {
                return Err(fail(name, "the end must be greater than the start"));
            }
            let mut rng = match args.get(2) {
                Some(seed) => fastrand::Rng::with_seed(integer(name, seed)? as u64),
                None => fastrand::Rng::new(),
            };
            Ok(Value::from(rng.i64(start..end)))
        }
        "States.MathAdd" => {
            arity(name, &args, 2, 2)?;
            // AWS rounds each argument to the nearest integer, halves up (Java's Math.round).
            let round = |v: &Value| -> Result<i64, StatesError> {
                let n = v.as_f64().ok_or_else(|| fail(name, format!("{v} is not a number")))?;
                let rounded = (n + 0.5).floor();
                if rounded < i32::MIN as f64 || rounded > i32::MAX as f64 {
                    return Err(fail(name, format!("{v} is outside -2147483648..2147483647")));
                }
                Ok(rounded as i64)
            };
            Ok(Value::from(round(&args[0])? + round(&args[1])?))
        }
        "States.StringSplit" => {
            arity(name, &args, 2, 2)?;
            let text = string(name, &args[0])?;
            let delimiters: Vec<char> = string(name, &args[1])?.chars().collect();
            Ok(Value::Array(
                text.split(|c| delimiters.contains(&c))
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            arity(name, &args, 0, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        other => Err(fail(other, "unknown function")),
    }
}
