//! JSONata's function library (jsonata-js's `functions.js` and the registrations in `jsonata.js`):
//! each built-in with the signature its arguments are checked against and the number of
//! parameters its JavaScript implementation declares (what higher-order functions pass it).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::LazyLock;

use crate::Error;
use crate::eval::{
    self, Builtin, Evaluator, Focus, Implementation, Native, append, boolean, deep_clone, describe, err, js_string_cmp,
    merge_sort, utf16_to_byte,
};
use crate::number;
use crate::signature::{self, Signature};
use crate::value::{Array, Object, Value};

struct Entry {
    signature: Signature,
    arity: usize,
    implementation: Builtin,
}

const TABLE: &[(&str, &str, usize, Builtin)] = &[
    ("sum", "<a<n>:n>", 1, sum),
    ("count", "<a:n>", 1, count),
    ("max", "<a<n>:n>", 1, max),
    ("min", "<a<n>:n>", 1, min),
    ("average", "<a<n>:n>", 1, average),
    // `string(arg, prettify = false)`: a default parameter does not count in JavaScript's `length`.
    ("string", "<x-b?:s>", 1, string_fn),
    ("substring", "<s-nn?:s>", 3, substring),
    ("substringBefore", "<s-s:s>", 2, substring_before),
    ("substringAfter", "<s-s:s>", 2, substring_after),
    ("lowercase", "<s-:s>", 1, lowercase),
    ("uppercase", "<s-:s>", 1, uppercase),
    ("length", "<s-:n>", 1, length),
    ("trim", "<s-:s>", 1, trim),
    ("pad", "<s-ns?:s>", 3, pad),
    ("match", "<s-f<s:o>n?:a<o>>", 3, match_fn),
    ("contains", "<s-(sf):b>", 2, contains),
    ("replace", "<s-(sf)(sf)n?:s>", 4, replace),
    ("split", "<s-(sf)n?:a<s>>", 3, split),
    ("join", "<a<s>s?:s>", 2, join),
    ("formatNumber", "<n-so?:s>", 3, format_number),
    ("formatBase", "<n-n?:s>", 2, format_base),
    ("formatInteger", "<n-s:s>", 2, format_integer),
    ("parseInteger", "<s-s:n>", 2, parse_integer),
    ("number", "<(nsb)-:n>", 1, number_fn),
    ("floor", "<n-:n>", 1, floor),
    ("ceil", "<n-:n>", 1, ceil),
    ("round", "<n-n?:n>", 2, round_fn),
    ("abs", "<n-:n>", 1, abs),
    ("sqrt", "<n-:n>", 1, sqrt),
    ("power", "<n-n:n>", 2, power),
    ("random", "<:n>", 0, random),
    ("boolean", "<x-:b>", 1, boolean_fn),
    ("not", "<x-:b>", 1, not),
    ("map", "<af>", 2, map),
    ("zip", "<a+>", 0, zip),
    ("filter", "<af>", 2, filter),
    ("single", "<af?>", 2, single),
    ("reduce", "<afj?:j>", 3, reduce),
    ("sift", "<o-f?:o>", 2, sift),
    ("keys", "<x-:a<s>>", 1, keys_fn),
    ("lookup", "<x-s:x>", 2, lookup),
    ("append", "<xx:a>", 2, append_fn),
    ("exists", "<x:b>", 1, exists),
    ("spread", "<x-:a<o>>", 1, spread_fn),
    ("merge", "<a<o>:o>", 1, merge),
    ("reverse", "<a:a>", 1, reverse),
    ("each", "<o-f:a>", 2, each),
    ("error", "<s?:x>", 1, error),
    ("assert", "<bs?:x>", 2, assert),
    ("type", "<x:s>", 1, type_fn),
    ("sort", "<af?:a>", 2, sort),
    ("shuffle", "<a:a>", 1, shuffle),
    ("distinct", "<x:x>", 1, distinct),
    ("base64encode", "<s-:s>", 1, base64_encode),
    ("base64decode", "<s-:s>", 1, base64_decode),
    ("encodeUrlComponent", "<s-:s>", 1, encode_url_component),
    ("encodeUrl", "<s-:s>", 1, encode_url),
    ("decodeUrlComponent", "<s-:s>", 1, decode_url_component),
    ("decodeUrl", "<s-:s>", 1, decode_url),
    ("eval", "<sx?:x>", 2, eval_fn),
    ("toMillis", "<s-s?:n>", 2, to_millis),
    ("fromMillis", "<n-s?s?:s>", 3, from_millis),
    ("clone", "<(oa)-:o>", 1, clone),
    ("now", "<s?s?:s>", 2, now),
    ("millis", "<:n>", 0, millis),
];

static BUILTINS: LazyLock<HashMap<&'static str, Entry>> = LazyLock::new(|| {
    TABLE
        .iter()
        .filter_map(|(name, sig, arity, implementation)| {
            let signature = signature::parse(sig, 0).ok()?;
            Some((
                *name,
                Entry {
                    signature,
                    arity: *arity,
                    implementation: *implementation,
                },
            ))
        })
        .collect()
});

/// The built-in function `$name`.
pub fn builtin(name: &str) -> Option<Native> {
    let entry = BUILTINS.get(name)?;
    Some(Native {
        name: name.to_string(),
        signature: entry.signature.clone(),
        arity: entry.arity,
        implementation: Implementation::Builtin(entry.implementation),
    })
}

/// A caller's function, with its signature checked like a built-in's.
pub fn custom(name: &str, signature: &str, implementation: eval::Custom) -> Result<Native, Error> {
    let signature = signature::parse(signature, 0)?;
    Ok(Native {
        name: name.to_string(),
        arity: signature.params.len(),
        signature,
        implementation: Implementation::Custom(implementation),
    })
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Undefined)
}

fn str_arg(args: &[Value], i: usize) -> Option<&str> {
    arg(args, i).as_str()
}

fn num_arg(args: &[Value], i: usize) -> Option<f64> {
    arg(args, i).as_number()
}

fn numbers(value: &Value) -> Vec<f64> {
    value.items().iter().filter_map(Value::as_number).collect()
}

/// The longest string a function builds (characters): past it an expression is running away with
/// memory, as AWS's evaluator reports it.
const MAX_STRING: f64 = (64 * 1024 * 1024) as f64;

pub fn check_length(chars: f64) -> Result<(), Error> {
    if chars > MAX_STRING {
        return Err(err("U1002", "Expression evaluation memory limit exceeded"));
    }
    Ok(())
}

/// JavaScript's truthiness (what `$sort`'s comparator result is tested with).
fn js_truthy(value: &Value) -> bool {
    match value {
        Value::Undefined | Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => *n != 0.0 && !n.is_nan(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// `fn.string`: a string as is, a function as `""`, anything else as JSON (numbers to 15 digits).
pub fn string(value: &Value, pretty: bool) -> Result<String, Error> {
    match value {
        Value::String(s) => Ok(s.to_string()),
        Value::Function(_) => Ok(String::new()),
        Value::Number(n) if !n.is_finite() => {
            Err(err("D3001", "Attempting to invoke string function on Infinity or NaN"))
        }
        Value::Array(a) if a.outer_wrapper => a.items.first().cloned().unwrap_or_default().stringify(pretty),
        other => other.stringify(pretty),
    }
}

fn sum(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    match arg(&args, 0) {
        Value::Undefined => Ok(Value::Undefined),
        v => Ok(Value::Number(numbers(v).iter().sum())),
    }
}

fn count(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(Value::Number(arg(&args, 0).items().len() as f64))
}

fn max(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let n = numbers(arg(&args, 0));
    Ok(if n.is_empty() {
        Value::Undefined
    } else {
        Value::Number(n.into_iter().fold(f64::NEG_INFINITY, f64::max))
    })
}

fn min(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let n = numbers(arg(&args, 0));
    Ok(if n.is_empty() {
        Value::Undefined
    } else {
        Value::Number(n.into_iter().fold(f64::INFINITY, f64::min))
    })
}

fn average(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let n = numbers(arg(&args, 0));
    Ok(if n.is_empty() {
        Value::Undefined
    } else {
        Value::Number(n.iter().sum::<f64>() / n.len() as f64)
    })
}

fn string_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    if value.is_undefined() {
        return Ok(Value::Undefined);
    }
    let pretty = matches!(arg(&args, 1), Value::Bool(true));
    Ok(Value::from(string(value, pretty)?))
}

/// JavaScript's `Array.prototype.slice` index: truncated, negative from the end, clamped.
fn slice_index(i: f64, len: usize) -> usize {
    let i = if i.is_nan() { 0.0 } else { i.trunc() };
    if i < 0.0 {
        (len as f64 + i).max(0.0) as usize
    } else {
        i.min(len as f64) as usize
    }
}

fn substring(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let mut start = num_arg(&args, 1).unwrap_or(0.0);
    if len as f64 + start < 0.0 {
        start = 0.0;
    }
    let result: String = match num_arg(&args, 2) {
        Some(length) => {
            if length <= 0.0 {
                return Ok(Value::from(""));
            }
            let end = if start >= 0.0 {
                start + length
            } else {
                len as f64 + start + length
            };
            let (from, to) = (slice_index(start, len), slice_index(end, len));
            if from >= to {
                String::new()
            } else {
                chars[from..to].iter().collect()
            }
        }
        None => chars[slice_index(start, len)..].iter().collect(),
    };
    Ok(Value::from(result))
}

fn substring_before(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let chars = str_arg(&args, 1).unwrap_or("undefined");
    Ok(Value::from(s.find(chars).map_or(s, |i| &s[..i])))
}

fn substring_after(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let chars = str_arg(&args, 1).unwrap_or("undefined");
    Ok(Value::from(s.find(chars).map_or(s, |i| &s[i + chars.len()..])))
}

fn lowercase(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(str_arg(&args, 0).map_or(Value::Undefined, |s| Value::from(s.to_lowercase())))
}

fn uppercase(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(str_arg(&args, 0).map_or(Value::Undefined, |s| Value::from(s.to_uppercase())))
}

fn length(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(str_arg(&args, 0).map_or(Value::Undefined, |s| Value::Number(s.chars().count() as f64)))
}

fn trim(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    let out = out.strip_prefix(' ').unwrap_or(&out);
    let out = out.strip_suffix(' ').unwrap_or(out);
    Ok(Value::from(out))
}

fn pad(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let width = num_arg(&args, 1).unwrap_or(0.0).trunc();
    let fill = match str_arg(&args, 2) {
        Some(c) if !c.is_empty() => c,
        _ => " ",
    };
    let pad_length = width.abs() - s.chars().count() as f64;
    if pad_length <= 0.0 {
        return Ok(Value::from(s));
    }
    check_length(pad_length)?;
    let padding: String = fill.chars().cycle().take(pad_length as usize).collect();
    Ok(Value::from(if width > 0.0 {
        format!("{s}{padding}")
    } else {
        format!("{padding}{s}")
    }))
}

/// jsonata-js's `evaluateMatcher`: calls a matcher (a regular expression or a function that acts
/// as one) and checks it returned a match structure.
fn evaluate_matcher(ev: &Evaluator, focus: &Focus, matcher: &Value, text: Option<&str>) -> Result<Value, Error> {
    let args = text.map(|t| vec![Value::from(t)]).unwrap_or_default();
    let result = ev.apply(matcher, args, &focus.input, &focus.env)?;
    if let Value::Object(o) = &result {
        let o = o.borrow();
        let ok = matches!(o.get("start"), Some(Value::Number(_)))
            || matches!(o.get("groups"), Some(Value::Array(_)))
            || matches!(o.get("next"), Some(Value::Function(_)));
        if !ok {
            return Err(err(
                "T1010",
                format!(
                    "The matcher function argument passed to function {} does not return the correct object structure",
                    eval::TOKEN
                ),
            ));
        }
    } else if !result.is_undefined() && js_truthy(&result) {
        return Err(err(
            "T1010",
            format!(
                "The matcher function argument passed to function {} does not return the correct object structure",
                eval::TOKEN
            ),
        ));
    }
    Ok(result)
}

fn next_match(ev: &Evaluator, focus: &Focus, current: &Value) -> Result<Value, Error> {
    let next = eval::tuple_get(current, "next");
    if !next.is_function() {
        return Ok(Value::Undefined);
    }
    evaluate_matcher(ev, focus, &next, None)
}

fn match_fn(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let limit = num_arg(&args, 2);
    if limit.is_some_and(|l| l < 0.0) {
        return Err(err(
            "D3040",
            "Third argument of match function must evaluate to a positive number",
        ));
    }
    let mut result = Vec::new();
    if limit.is_none_or(|l| l > 0.0) {
        let mut matches = evaluate_matcher(ev, focus, arg(&args, 1), Some(s))?;
        while !matches.is_undefined() && limit.is_none_or(|l| (result.len() as f64) < l) {
            let mut object = Object::new();
            object.insert("match", eval::tuple_get(&matches, "match"));
            object.insert("index", eval::tuple_get(&matches, "start"));
            object.insert("groups", eval::tuple_get(&matches, "groups"));
            result.push(object.into());
            matches = next_match(ev, focus, &matches)?;
        }
    }
    Ok(Value::sequence(result))
}

fn contains(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    Ok(Value::Bool(match arg(&args, 1) {
        Value::Undefined => return Ok(Value::Undefined),
        Value::String(token) => s.contains(&**token),
        matcher => !evaluate_matcher(ev, focus, matcher, Some(s))?.is_undefined(),
    }))
}

/// `$replace`'s replacement text: `$0` the match, `$n` a group, `$$` a dollar.
fn substitute(replacement: &str, matched: &str, groups: &[Value]) -> String {
    let chars: Vec<char> = replacement.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        match chars.get(i) {
            Some('$') => {
                out.push('$');
                i += 1;
            }
            Some('0') => {
                out.push_str(matched);
                i += 1;
            }
            _ => {
                let max_digits = if groups.is_empty() {
                    1
                } else {
                    (groups.len() as f64).log10().floor() as usize + 1
                };
                let digits: String = chars[i..]
                    .iter()
                    .take(max_digits)
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let mut index: Option<usize> = digits.parse().ok();
                if max_digits > 1 && index.is_some_and(|n| n > groups.len()) && digits.len() > 1 {
                    index = digits[..digits.len() - 1].parse().ok();
                }
                match index {
                    Some(n) => {
                        if n >= 1
                            && let Some(Value::String(g)) = groups.get(n - 1)
                        {
                            out.push_str(g);
                        }
                        i += n.to_string().len();
                    }
                    None => out.push('$'),
                }
            }
        }
    }
    out
}

fn replace(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let pattern = arg(&args, 1);
    if pattern.as_str() == Some("") {
        return Err(err(
            "D3010",
            "Second argument of replace function cannot be an empty string",
        ));
    }
    let limit = num_arg(&args, 3);
    if limit.is_some_and(|l| l < 0.0) {
        return Err(err(
            "D3011",
            "Fourth argument of replace function must evaluate to a positive number",
        ));
    }
    if limit.is_some_and(|l| l <= 0.0) {
        return Ok(Value::from(s));
    }
    let replacement = arg(&args, 2);
    let under = |count: usize| limit.is_none_or(|l| (count as f64) < l);
    let mut result = String::new();
    if let Value::String(pattern) = pattern {
        let replacement = replacement.as_str().unwrap_or("undefined");
        let mut position = 0;
        let mut count = 0;
        while under(count) {
            let Some(found) = s[position..].find(&**pattern) else {
                break;
            };
            result.push_str(&s[position..position + found]);
            result.push_str(replacement);
            position += found + pattern.len();
            count += 1;
        }
        result.push_str(&s[position..]);
        return Ok(Value::from(result));
    }
    let mut matches = evaluate_matcher(ev, focus, pattern, Some(s))?;
    if matches.is_undefined() {
        return Ok(Value::from(s));
    }
    let mut position = 0; // UTF-16 units, as the matches report them
    let mut count = 0;
    while !matches.is_undefined() && under(count) {
        let start = eval::tuple_get(&matches, "start").as_number().unwrap_or(0.0) as usize;
        let matched = eval::tuple_get(&matches, "match");
        let matched = matched.as_str().unwrap_or("");
        result.push_str(utf16_slice(s, position, start));
        let with = match replacement {
            Value::String(r) => {
                let groups = eval::tuple_get(&matches, "groups").items();
                Value::from(substitute(r, matched, &groups))
            }
            function => ev.apply(function, vec![matches.clone()], &focus.input, &focus.env)?,
        };
        match with {
            Value::String(w) => result.push_str(&w),
            other => {
                return Err(err(
                    "D3012",
                    format!(
                        "Attempted to replace a matched string with a non-string value: {}",
                        describe(&other)
                    ),
                ));
            }
        }
        position = start + matched.encode_utf16().count();
        count += 1;
        matches = next_match(ev, focus, &matches)?;
    }
    result.push_str(utf16_slice(s, position, usize::MAX));
    Ok(Value::from(result))
}

/// `s.substring(from, to)` in UTF-16 units.
fn utf16_slice(s: &str, from: usize, to: usize) -> &str {
    let (a, b) = (utf16_to_byte(s, from), utf16_to_byte(s, to));
    if a >= b { "" } else { &s[a..b] }
}

fn split(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let limit = num_arg(&args, 2);
    if limit.is_some_and(|l| l < 0.0) {
        return Err(err(
            "D3020",
            "Third argument of split function must evaluate to a positive number",
        ));
    }
    let under = |count: usize| limit.is_none_or(|l| (count as f64) < l);
    let mut result: Vec<Value> = Vec::new();
    if limit.is_some_and(|l| l <= 0.0) {
        return Ok(Value::array(result));
    }
    match arg(&args, 1) {
        Value::String(separator) => {
            // `String.prototype.split`'s limit is an integer (ToUint32).
            let limit = limit.map(f64::trunc);
            let under = |count: usize| limit.is_none_or(|l| (count as f64) < l);
            let parts: Vec<String> = if separator.is_empty() {
                s.chars().map(String::from).collect()
            } else {
                s.split(&**separator).map(String::from).collect()
            };
            for part in parts {
                if !under(result.len()) {
                    break;
                }
                result.push(Value::from(part));
            }
        }
        matcher => {
            let mut matches = evaluate_matcher(ev, focus, matcher, Some(s))?;
            if matches.is_undefined() {
                result.push(Value::from(s));
            } else {
                let mut start = 0;
                let mut count = 0;
                while !matches.is_undefined() && under(count) {
                    let begin = eval::tuple_get(&matches, "start").as_number().unwrap_or(0.0) as usize;
                    result.push(Value::from(utf16_slice(s, start, begin)));
                    start = eval::tuple_get(&matches, "end").as_number().unwrap_or(0.0) as usize;
                    matches = next_match(ev, focus, &matches)?;
                    count += 1;
                }
                if under(count) {
                    result.push(Value::from(utf16_slice(s, start, usize::MAX)));
                }
            }
        }
    }
    Ok(Value::array(result))
}

fn join(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let items = match arg(&args, 0) {
        Value::Undefined => return Ok(Value::Undefined),
        v => v.items(),
    };
    let separator = str_arg(&args, 1).unwrap_or("");
    let parts: Vec<&str> = items.iter().map(|v| v.as_str().unwrap_or("")).collect();
    Ok(Value::from(parts.join(separator)))
}

fn format_number(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(value) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let picture = str_arg(&args, 1).unwrap_or("");
    let options: Vec<(String, String)> = match arg(&args, 2) {
        Value::Object(o) => o
            .borrow()
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    crate::format_number::format_number(value, picture, &options).map(Value::from)
}

fn format_base(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(value) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    crate::format_number::format_base(value, num_arg(&args, 1)).map(Value::from)
}

fn format_integer(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(value) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    crate::datetime::format_integer(value, str_arg(&args, 1).unwrap_or("")).map(Value::from)
}

fn parse_integer(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(value) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    Ok(crate::datetime::parse_integer(value, str_arg(&args, 1).unwrap_or(""))?.map_or(Value::Undefined, Value::Number))
}

fn to_millis(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(value) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    Ok(crate::datetime::to_millis(value, str_arg(&args, 1))?.map_or(Value::Undefined, Value::Number))
}

fn from_millis(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(value) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    crate::datetime::from_millis(value, str_arg(&args, 1), str_arg(&args, 2)).map(Value::from)
}

fn now(ev: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    crate::datetime::from_millis(ev.timestamp_millis, str_arg(&args, 0), str_arg(&args, 1)).map(Value::from)
}

fn millis(ev: &Evaluator, _: &Focus, _: Vec<Value>) -> Result<Value, Error> {
    Ok(Value::Number(ev.timestamp_millis))
}

/// `$number`'s accepted strings: JSON-like decimals, and `0x`/`0o`/`0b` integers.
fn parse_number(s: &str) -> Option<f64> {
    let decimal = {
        let body = s.strip_prefix('-').unwrap_or(s);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        digits(int)
            && frac.is_none_or(digits)
            && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
    };
    if decimal {
        return s.parse::<f64>().ok().filter(|n| n.is_finite());
    }
    let radix = |prefix: [&str; 2], radix: u32| {
        prefix
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .filter(|d| !d.is_empty())
            .and_then(|d| u128::from_str_radix(d, radix).ok())
            .map(|n| n as f64)
    };
    radix(["0x", "0X"], 16)
        .or_else(|| radix(["0o", "0O"], 8))
        .or_else(|| radix(["0b", "0B"], 2))
}

fn number_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    Ok(match value {
        Value::Undefined => Value::Undefined,
        Value::Number(n) => Value::Number(*n),
        Value::Bool(b) => Value::Number(if *b { 1.0 } else { 0.0 }),
        Value::String(s) if parse_number(s).is_some() => Value::Number(parse_number(s).unwrap_or(f64::NAN)),
        other => {
            return Err(err(
                "D3030",
                format!("Unable to cast value to a number: {}", describe(other)),
            ));
        }
    })
}

fn unary_math(args: &[Value], f: impl Fn(f64) -> f64) -> Result<Value, Error> {
    Ok(num_arg(args, 0).map_or(Value::Undefined, |n| Value::Number(f(n))))
}

fn floor(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    unary_math(&args, f64::floor)
}

fn ceil(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    unary_math(&args, f64::ceil)
}

fn abs(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    unary_math(&args, f64::abs)
}

fn round_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let precision = num_arg(&args, 1).map_or(0, |p| p.trunc() as i64);
    Ok(num_arg(&args, 0).map_or(Value::Undefined, |n| Value::Number(number::round(n, precision))))
}

fn sqrt(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(n) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    if n < 0.0 {
        return Err(err(
            "D3060",
            format!("The sqrt function cannot be applied to a negative number: {n}"),
        ));
    }
    Ok(Value::Number(n.sqrt()))
}

fn power(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(base) = num_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let exponent = num_arg(&args, 1).unwrap_or(f64::NAN);
    let result = base.powf(exponent);
    if !result.is_finite() {
        return Err(err(
            "D3061",
            format!(
                "The power function has resulted in a value that cannot be represented as a JSON number: base={base}, exponent={exponent}"
            ),
        ));
    }
    Ok(Value::Number(result))
}

fn random(ev: &Evaluator, _: &Focus, _: Vec<Value>) -> Result<Value, Error> {
    Ok(Value::Number(ev.random()))
}

fn boolean_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(boolean(arg(&args, 0))?.map_or(Value::Undefined, Value::Bool))
}

fn not(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(boolean(arg(&args, 0))?.map_or(Value::Undefined, |b| Value::Bool(!b)))
}

/// A higher-order function's callback arguments: the value, then the index/key and the whole, as
/// many as the callback takes.
fn callback_args(function: &Value, value: Value, position: Value, whole: &Value) -> Vec<Value> {
    let arity = match function {
        Value::Function(f) => f.arity(),
        _ => 1,
    };
    let mut args = vec![value];
    if arity >= 2 {
        args.push(position);
    }
    if arity >= 3 {
        args.push(whole.clone());
    }
    args
}

fn map(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let array = arg(&args, 0);
    if array.is_undefined() {
        return Ok(Value::Undefined);
    }
    let function = arg(&args, 1);
    let mut result = Vec::new();
    for (i, item) in array.items().into_iter().enumerate() {
        let call_args = callback_args(function, item, Value::Number(i as f64), array);
        let res = ev.apply(function, call_args, &focus.input, &focus.env)?;
        if !res.is_undefined() {
            result.push(res);
        }
    }
    Ok(Value::sequence(result))
}

fn filter(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let array = arg(&args, 0);
    if array.is_undefined() {
        return Ok(Value::Undefined);
    }
    let function = arg(&args, 1);
    let mut result = Vec::new();
    for (i, item) in array.items().into_iter().enumerate() {
        let call_args = callback_args(function, item.clone(), Value::Number(i as f64), array);
        let res = ev.apply(function, call_args, &focus.input, &focus.env)?;
        if boolean(&res)?.unwrap_or(false) {
            result.push(item);
        }
    }
    Ok(Value::sequence(result))
}

fn single(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let array = arg(&args, 0);
    if array.is_undefined() {
        return Ok(Value::Undefined);
    }
    let function = arg(&args, 1);
    let mut found: Option<Value> = None;
    for (i, item) in array.items().into_iter().enumerate() {
        let matched = if function.is_undefined() {
            true
        } else {
            let call_args = callback_args(function, item.clone(), Value::Number(i as f64), array);
            boolean(&ev.apply(function, call_args, &focus.input, &focus.env)?)?.unwrap_or(false)
        };
        if matched {
            if found.is_some() {
                return Err(err(
                    "D3138",
                    "The $single() function expected exactly 1 matching result.  Instead it matched more.",
                ));
            }
            found = Some(item);
        }
    }
    found.ok_or_else(|| {
        err(
            "D3139",
            "The $single() function expected exactly 1 matching result.  Instead it matched 0.",
        )
    })
}

fn zip(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let arrays: Vec<Vec<Value>> = args
        .iter()
        .map(|a| a.array_items().map(<[Value]>::to_vec).unwrap_or_default())
        .collect();
    let length = arrays.iter().map(Vec::len).min().unwrap_or(0);
    let result = (0..length)
        .map(|i| Value::array(arrays.iter().map(|a| a[i].clone()).collect()))
        .collect();
    Ok(Value::array(result))
}

fn reduce(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let sequence = arg(&args, 0);
    if sequence.is_undefined() {
        return Ok(Value::Undefined);
    }
    let function = arg(&args, 1);
    let arity = match function {
        Value::Function(f) => f.arity(),
        _ => 0,
    };
    if arity < 2 {
        return Err(err(
            "D3050",
            "The second argument of reduce function must be a function with at least two arguments",
        ));
    }
    let items = sequence.items();
    let init = arg(&args, 2);
    let (mut result, mut index) = if init.is_undefined() && !items.is_empty() {
        (items[0].clone(), 1)
    } else {
        (init.clone(), 0)
    };
    while index < items.len() {
        let mut call_args = vec![result, items[index].clone()];
        if arity >= 3 {
            call_args.push(Value::Number(index as f64));
        }
        if arity >= 4 {
            call_args.push(sequence.clone());
        }
        result = ev.apply(function, call_args, &focus.input, &focus.env)?;
        index += 1;
    }
    Ok(result)
}

fn entries(value: &Value) -> Vec<(String, Value)> {
    match value {
        Value::Object(o) => o.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    }
}

fn sift(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let object = arg(&args, 0);
    let function = arg(&args, 1);
    let mut result = Object::new();
    for (key, value) in entries(object) {
        let call_args = callback_args(function, value.clone(), Value::from(key.as_str()), object);
        if boolean(&ev.apply(function, call_args, &focus.input, &focus.env)?)?.unwrap_or(false) {
            result.insert(key, value);
        }
    }
    Ok(if result.is_empty() {
        Value::Undefined
    } else {
        result.into()
    })
}

fn keys(value: &Value) -> Vec<String> {
    match value {
        Value::Array(a) => {
            let mut merged = Object::new();
            for item in &a.items {
                for key in keys(item) {
                    merged.insert(key, Value::Bool(true));
                }
            }
            merged.keys().cloned().collect()
        }
        Value::Object(o) => o.borrow().keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn keys_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(Value::sequence(
        keys(arg(&args, 0)).into_iter().map(Value::from).collect(),
    ))
}

fn lookup(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(eval::lookup(arg(&args, 0), str_arg(&args, 1).unwrap_or("undefined")))
}

fn append_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(append(arg(&args, 0).clone(), arg(&args, 1).clone()))
}

fn exists(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(Value::Bool(!arg(&args, 0).is_undefined()))
}

fn spread(value: &Value) -> Value {
    match value {
        Value::Array(a) => {
            let mut result = Value::sequence(Vec::new());
            for item in &a.items {
                result = append(result, spread(item));
            }
            result
        }
        Value::Object(o) => Value::sequence(
            o.borrow()
                .iter()
                .map(|(k, v)| {
                    let mut single = Object::new();
                    single.insert(k.clone(), v.clone());
                    single.into()
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn spread_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    Ok(spread(arg(&args, 0)))
}

fn merge(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    if value.is_undefined() {
        return Ok(Value::Undefined);
    }
    let mut result = Object::new();
    for item in value.items() {
        for (k, v) in entries(&item) {
            result.insert(k, v);
        }
    }
    Ok(result.into())
}

fn reverse(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    match value {
        Value::Undefined => Ok(Value::Undefined),
        Value::Array(a) if a.items.len() <= 1 => Ok(value.clone()),
        other => {
            let mut items = other.items();
            items.reverse();
            Ok(Value::array(items))
        }
    }
}

fn each(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let object = arg(&args, 0);
    let function = arg(&args, 1);
    let mut result = Vec::new();
    for (key, value) in entries(object) {
        let call_args = callback_args(function, value, Value::from(key.as_str()), object);
        let res = ev.apply(function, call_args, &focus.input, &focus.env)?;
        if !res.is_undefined() {
            result.push(res);
        }
    }
    Ok(Value::sequence(result))
}

fn error(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let message = str_arg(&args, 0)
        .filter(|m| !m.is_empty())
        .unwrap_or("$error() function evaluated");
    Err(err("D3137", message))
}

fn assert(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    if !matches!(arg(&args, 0), Value::Bool(true)) {
        let message = str_arg(&args, 1)
            .filter(|m| !m.is_empty())
            .unwrap_or("$assert() statement failed");
        return Err(err("D3141", message));
    }
    Ok(Value::Undefined)
}

fn type_fn(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    if value.is_undefined() {
        return Ok(Value::Undefined);
    }
    Ok(Value::from(value.type_name()))
}

fn sort(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let array = arg(&args, 0);
    let items = match array {
        Value::Undefined => return Ok(Value::Undefined),
        Value::Array(a) if a.items.len() <= 1 => return Ok(array.clone()),
        other => other.items(),
    };
    let comparator = arg(&args, 1);
    let sorted = if comparator.is_undefined() {
        let all_numbers = items.iter().all(|v| matches!(v, Value::Number(_)));
        let all_strings = items.iter().all(|v| matches!(v, Value::String(_)));
        if !all_numbers && !all_strings {
            return Err(err(
                "D3070",
                "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function",
            ));
        }
        merge_sort(items, &mut |a: &Value, b: &Value| {
            Ok(match (a, b) {
                (Value::Number(x), Value::Number(y)) => x > y,
                (Value::String(x), Value::String(y)) => js_string_cmp(x, y) == std::cmp::Ordering::Greater,
                _ => false,
            })
        })?
    } else {
        merge_sort(items, &mut |a: &Value, b: &Value| {
            let result = ev.apply(comparator, vec![a.clone(), b.clone()], &focus.input, &focus.env)?;
            Ok(js_truthy(&result))
        })?
    };
    Ok(Value::array(sorted))
}

fn shuffle(ev: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let array = arg(&args, 0);
    let items = match array {
        Value::Undefined => return Ok(Value::Undefined),
        Value::Array(a) if a.items.len() <= 1 => return Ok(array.clone()),
        other => other.items(),
    };
    // Fisher–Yates, "inside-out".
    let mut result: Vec<Value> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let j = (ev.random() * (i + 1) as f64).floor() as usize;
        if j == i {
            result.push(item);
        } else {
            let moved = result[j].clone();
            result.push(moved);
            result[j] = item;
        }
    }
    Ok(Value::array(result))
}

fn distinct(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    let Value::Array(a) = value else {
        return Ok(value.clone());
    };
    if a.items.len() <= 1 {
        return Ok(value.clone());
    }
    // Deep-equal values have the same canonical text (keys sorted), so only values sharing a text
    // are compared: linear, where comparing each with every other is quadratic.
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut results: Vec<Value> = Vec::new();
    for item in &a.items {
        let key = canonical(item);
        let bucket = seen.entry(key).or_default();
        if !bucket.iter().any(|&i| results[i].deep_equal(item)) {
            bucket.push(results.len());
            results.push(item.clone());
        }
    }
    Ok(if a.sequence {
        Value::sequence(results)
    } else {
        Value::array(results)
    })
}

/// A text equal for deep-equal values (objects' keys sorted); functions all alike.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(o) => {
            let o = o.borrow();
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries.iter().map(|(k, v)| format!("{k:?}:{}", canonical(v))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!("[{}]", a.items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        Value::Number(n) => format!("n{n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Function(_) => "f".into(),
        other => other.type_name().to_string(),
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `$base64encode`: the string's characters as bytes (Node's `binary`, i.e. Latin-1), in base 64.
fn base64_encode(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let bytes: Vec<u8> = s.encode_utf16().map(|u| u as u8).collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    Ok(Value::from(out))
}

/// `$base64decode`: the bytes as Latin-1 characters; characters outside the alphabet are skipped
/// and decoding stops at padding, as Node's decoder does.
fn base64_decode(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = String::new();
    for c in s.chars() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            '=' => break,
            _ => continue,
        };
        bits = bits << 6 | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(char::from(((bits >> count) & 0xFF) as u8));
        }
    }
    Ok(Value::from(out))
}

fn percent_encode(s: &str, keep: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// JavaScript's `decodeURI`/`decodeURIComponent`: `%XX` sequences that form UTF-8, except the
/// characters in `reserved` (kept escaped); a malformed sequence is an error.
fn percent_decode(s: &str, reserved: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let hex = |i: usize| -> Option<u8> {
        let h = bytes.get(i + 1..i + 3)?;
        u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    while i < bytes.len() {
        if bytes[i] != b'%' {
            let c = s[i..].chars().next()?;
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let first = hex(i)?;
        let len = match first {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return None,
        };
        let mut seq = vec![first];
        for k in 1..len {
            if bytes.get(i + 3 * k) != Some(&b'%') {
                return None;
            }
            seq.push(hex(i + 3 * k)?);
        }
        let decoded = std::str::from_utf8(&seq).ok()?;
        if len == 1 && reserved.contains(decoded) {
            out.push_str(&s[i..i + 3]);
        } else {
            out.push_str(decoded);
        }
        i += 3 * len;
    }
    Some(out)
}

fn url(args: &[Value], name: &str, f: impl Fn(&str) -> Option<String>) -> Result<Value, Error> {
    let Some(s) = str_arg(args, 0) else {
        return Ok(Value::Undefined);
    };
    f(s).map(Value::from)
        .ok_or_else(|| err("D3140", format!("Malformed URL passed to ${name}(): {s:?}")))
}

fn encode_url_component(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    url(&args, "encodeUrlComponent", |s| Some(percent_encode(s, "-_.!~*'()")))
}

fn encode_url(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    url(&args, "encodeUrl", |s| Some(percent_encode(s, "-_.!~*'();/?:@&=+$,#")))
}

fn decode_url_component(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    url(&args, "decodeUrlComponent", |s| percent_decode(s, ""))
}

fn decode_url(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    url(&args, "decodeUrl", |s| percent_decode(s, ";/?:@&=+$,#"))
}

fn eval_fn(ev: &Evaluator, focus: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let Some(source) = str_arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let input = match arg(&args, 1) {
        Value::Undefined => focus.input.clone(),
        Value::Array(a) if !a.sequence => Value::Array(Rc::new(Array {
            items: vec![arg(&args, 1).clone()],
            sequence: true,
            outer_wrapper: true,
            ..Array::default()
        })),
        other => other.clone(),
    };
    let expr = crate::compile(source).map_err(|e| {
        err(
            "D3120",
            format!("Syntax error in expression passed to function eval: {}", e.message),
        )
    })?;
    ev.eval(&expr, &input, &focus.env).map_err(|e| {
        err(
            "D3121",
            format!(
                "Dynamic error evaluating the expression passed to function eval: {}",
                e.message
            ),
        )
    })
}

/// `$clone`: a copy through JSON text, as jsonata-js makes it (numbers to 15 significant digits,
/// functions as empty strings).
fn json_clone(value: &Value) -> Result<Value, Error> {
    Ok(match value {
        Value::Number(n) => {
            if !n.is_finite() {
                return Err(err("D1001", format!("Number out of range: {}", number::to_string(*n))));
            }
            Value::Number(number::to_precision_15(*n))
        }
        Value::Function(_) => Value::from(""),
        Value::Array(a) => Value::array(
            a.items
                .iter()
                .map(|v| {
                    if v.is_undefined() {
                        Ok(Value::Null)
                    } else {
                        json_clone(v)
                    }
                })
                .collect::<Result<_, Error>>()?,
        ),
        Value::Object(o) => {
            let mut copy = Object::new();
            for (k, v) in o.borrow().iter() {
                if !v.is_undefined() {
                    copy.insert(k.clone(), json_clone(v)?);
                }
            }
            copy.into()
        }
        other => deep_clone(other),
    })
}

fn clone(_: &Evaluator, _: &Focus, args: Vec<Value>) -> Result<Value, Error> {
    let value = arg(&args, 0);
    if value.is_undefined() {
        return Ok(Value::Undefined);
    }
    json_clone(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_accepts_json_decimals_and_prefixed_integers() {
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_number("0x1F"), Some(31.0));
        assert_eq!(parse_number("1."), None);
        assert_eq!(parse_number(" 1"), None);
    }

    #[test]
    fn replacement_text_substitutes_groups() {
        let groups = vec![Value::from("a"), Value::from("b")];
        assert_eq!(substitute("$2$1$0$$x$9", "ab", &groups), "baab$x");
    }
}
