//! JSONata's values: JSON plus `undefined`, functions, and the flags jsonata-js keeps on its arrays
//! (a *sequence* is an array the evaluator made, which collapses to its item when it holds one).
//!
//! Objects are shared and mutable (`Rc<RefCell<…>>`) because the transform operator (`| … |`)
//! updates the objects its pattern selected inside a copy, as jsonata-js does; everything else
//! builds new values. Objects keep JavaScript's property order (integer-like keys first, ascending,
//! then insertion order), so `$keys`, `$each` and `$string` list properties as jsonata-js does.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use indexmap::IndexMap;

use crate::Error;
use crate::eval::Function;
use crate::number;

#[derive(Clone, Default)]
pub enum Value {
    #[default]
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(Rc<str>),
    Array(Rc<Array>),
    Object(Rc<RefCell<Object>>),
    Function(Rc<Function>),
}

/// An array and jsonata-js's flags on it.
#[derive(Clone, Default)]
pub struct Array {
    pub items: Vec<Value>,
    /// Made by the evaluator (a path's results): a singleton collapses to its item.
    pub sequence: bool,
    /// `[]` asked to keep a singleton sequence an array.
    pub keep_singleton: bool,
    /// The input document was an array: `$` and `*` see the array itself, not its items.
    pub outer_wrapper: bool,
    /// A stream of tuples (objects binding `@` and the step's variables).
    pub tuple_stream: bool,
    /// Made by an array constructor: a path step does not flatten it.
    pub cons: bool,
}

impl Array {
    pub fn sequence(items: Vec<Value>) -> Self {
        Self {
            items,
            sequence: true,
            ..Self::default()
        }
    }

    pub fn plain(items: Vec<Value>) -> Self {
        Self {
            items,
            ..Self::default()
        }
    }
}

/// A JSON object with JavaScript's property order.
#[derive(Clone, Default)]
pub struct Object {
    map: IndexMap<String, Value>,
    /// How many of the first keys are integer-like (they sort before every other key).
    indexes: usize,
}

/// An array index as JavaScript orders it: a canonical decimal below 2³² − 1.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u64>()
        .ok()
        .filter(|n| *n < u32::MAX as u64)
        .map(|n| n as u32)
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return;
        }
        match array_index(&key) {
            Some(index) => {
                // The integer keys are the first `indexes` keys, ascending: find the place by halves.
                let (mut low, mut high) = (0, self.indexes);
                while low < high {
                    let mid = (low + high) / 2;
                    let below = self
                        .map
                        .get_index(mid)
                        .and_then(|(k, _)| array_index(k))
                        .is_some_and(|k| k < index);
                    if below {
                        low = mid + 1;
                    } else {
                        high = mid;
                    }
                }
                self.map.shift_insert(low, key, value);
                self.indexes += 1;
            }
            None => {
                self.map.insert(key, value);
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let removed = self.map.shift_remove(key);
        if removed.is_some() && array_index(key).is_some() {
            self.indexes -= 1;
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.map.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }
}

impl FromIterator<(String, Value)> for Object {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut object = Object::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(Rc::new(RefCell::new(o)))
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Self {
        Value::Array(Rc::new(a))
    }
}

impl Value {
    pub fn sequence(items: Vec<Value>) -> Self {
        Array::sequence(items).into()
    }

    pub fn array(items: Vec<Value>) -> Self {
        Array::plain(items).into()
    }

    pub fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined)
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    pub fn is_function(&self) -> bool {
        matches!(self, Value::Function(_))
    }

    /// jsonata-js's `isNumeric`: a number that is not NaN. An infinite one is an error (D1001),
    /// which is how jsonata-js stops an overflow from flowing on.
    pub fn is_numeric(&self) -> Result<bool, Error> {
        match self {
            Value::Number(n) if n.is_infinite() => Err(out_of_range(*n)),
            Value::Number(n) => Ok(!n.is_nan()),
            _ => Ok(false),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The items of an array, or the value as the only item (none for undefined).
    pub fn items(&self) -> Vec<Value> {
        match self {
            Value::Array(a) => a.items.clone(),
            Value::Undefined => Vec::new(),
            other => vec![other.clone()],
        }
    }

    /// The array's items, when this is an array.
    pub fn array_items(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(&a.items),
            _ => None,
        }
    }

    /// The value with one of the array flags changed (a copy when the array is shared).
    pub fn with_flags(self, change: impl FnOnce(&mut Array)) -> Value {
        match self {
            Value::Array(mut a) => {
                change(Rc::make_mut(&mut a));
                Value::Array(a)
            }
            other => other,
        }
    }

    /// The type symbol jsonata-js's signatures match against.
    pub fn type_symbol(&self) -> char {
        match self {
            Value::Undefined => 'm',
            Value::Null => 'l',
            Value::Bool(_) => 'b',
            Value::Number(_) => 'n',
            Value::String(_) => 's',
            Value::Array(_) => 'a',
            Value::Object(_) => 'o',
            Value::Function(_) => 'f',
        }
    }

    /// `$type`'s name for the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Function(_) => "function",
        }
    }

    /// jsonata-js's `isDeepEqual` (`=` and `!=`).
    pub fn deep_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                a.items.len() == b.items.len() && a.items.iter().zip(&b.items).all(|(x, y)| x.deep_equal(y))
            }
            (Value::Object(a), Value::Object(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.deep_equal(w)))
            }
            (Value::Function(a), Value::Function(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// JavaScript's `===` (the `in` operator): values for primitives, identity for the rest.
    pub fn strict_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Array(a), Value::Array(b)) => Rc::ptr_eq(a, b),
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            (Value::Function(a), Value::Function(b)) => Rc::ptr_eq(a, b),
            _ => self.deep_equal(other),
        }
    }

    /// A JSON value from serde_json's.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s.as_str().into()),
            serde_json::Value::Array(items) => Value::array(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), Value::from_json(v)))
                .collect::<Object>()
                .into(),
        }
    }

    /// A value from JSON text, its objects' properties in the text's order (serde_json's own
    /// `Value` sorts them).
    pub fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
        use serde::de::DeserializeSeed;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let value = JsonSeed.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }

    /// The value as JSON, as `JSON.stringify` would write it: `None` for undefined (and for a
    /// function), undefined or function array items as null, properties holding them left out.
    /// A non-finite number is an error (D1001), as in `$string`.
    pub fn to_json(&self) -> Result<Option<serde_json::Value>, Error> {
        self.to_json_at(0)
    }

    fn to_json_at(&self, depth: usize) -> Result<Option<serde_json::Value>, Error> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(Some(match self {
            Value::Undefined | Value::Function(_) => return Ok(None),
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n)?,
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(
                a.items
                    .iter()
                    .map(|v| Ok(v.to_json_at(depth + 1)?.unwrap_or(serde_json::Value::Null)))
                    .collect::<Result<_, Error>>()?,
            ),
            Value::Object(o) => {
                let mut map = serde_json::Map::new();
                for (k, v) in o.borrow().iter() {
                    if let Some(json) = v.to_json_at(depth + 1)? {
                        map.insert(k.clone(), json);
                    }
                }
                serde_json::Value::Object(map)
            }
        }))
    }

    /// `$string`'s JSON text: numbers to 15 significant digits, functions as `""`, `indent`
    /// spaces per level when pretty.
    pub fn stringify(&self, pretty: bool) -> Result<String, Error> {
        let mut out = String::new();
        write_json(&mut out, self, if pretty { 2 } else { 0 }, 0)?;
        Ok(out)
    }
}

/// How deeply a value written out (as JSON, or as `$string`'s text) may be nested: serde_json and
/// the callers that walk it recurse per level.
pub const MAX_DEPTH: usize = 1000;

fn too_deep() -> Error {
    Error::runtime(
        "U1001",
        format!("The value is nested more than {MAX_DEPTH} levels deep"),
    )
}

fn out_of_range(n: f64) -> Error {
    Error::runtime("D1001", format!("Number out of range: {}", number::to_string(n)))
}

fn number_to_json(n: f64) -> Result<serde_json::Value, Error> {
    if !n.is_finite() {
        return Err(out_of_range(n));
    }
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Ok(serde_json::Value::from(n as i64));
    }
    Ok(serde_json::Number::from_f64(n)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null))
}

/// JSON.stringify's string escaping.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, indent: usize, level: usize) {
    if indent > 0 {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent * level));
    }
}

fn write_json(out: &mut String, value: &Value, indent: usize, level: usize) -> Result<(), Error> {
    if level > MAX_DEPTH {
        return Err(too_deep());
    }
    match value {
        Value::Undefined | Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err(out_of_range(*n));
            }
            // Integers are written in full; other numbers to 15 significant digits, which hides
            // binary noise such as 0.1 + 0.2.
            let n = if n.fract() == 0.0 {
                *n
            } else {
                number::to_precision_15(*n)
            };
            out.push_str(&number::to_string(n));
        }
        Value::String(s) => write_json_string(out, s),
        Value::Function(_) => out.push_str("\"\""),
        Value::Array(a) => {
            if a.items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in a.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_json(out, item, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Object(o) => {
            let o = o.borrow();
            let present: Vec<_> = o.iter().filter(|(_, v)| !v.is_undefined()).collect();
            if present.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, v)) in present.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_json_string(out, k);
                out.push(':');
                if indent > 0 {
                    out.push(' ');
                }
                write_json(out, v, indent, level + 1)?;
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
    Ok(())
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Undefined => f.write_str("undefined"),
            Value::Function(_) => f.write_str("<function>"),
            other => f.write_str(
                &other
                    .stringify(false)
                    .unwrap_or_else(|_| "<number out of range>".into()),
            ),
        }
    }
}

/// Reads JSON into a `Value` keeping property order.
struct JsonSeed;

impl<'de> serde::de::DeserializeSeed<'de> for JsonSeed {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::from(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonSeed)? {
            items.push(item);
        }
        Ok(Value::array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Object::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(JsonSeed)?;
            object.insert(key, value);
        }
        Ok(object.into())
    }
}
