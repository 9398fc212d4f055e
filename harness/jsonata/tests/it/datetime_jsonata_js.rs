//! `jsonata::pictures` against jsonata-js itself: `datetime_jsonata_js.json` holds random calls of
//! the four functions and what jsonata-js 2.2.2 answered (made by `datetime_jsonata_js.js`, which
//! says how; `DATETIME_CASES=path` runs another such file, e.g. a larger one). Every case must
//! agree: the same string or number, NaN, undefined, or JSONata error code; where jsonata-js fails
//! with a JavaScript exception (a stack overflow, a TypeError) any error is accepted.

use std::path::Path;

use jsonata::pictures;
use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Outcome {
    Str(String),
    Num(f64),
    NaN,
    Undefined,
    Code(String),
    /// jsonata-js threw a JavaScript exception: matches any error.
    AnyError,
}

fn number(value: Option<f64>) -> Outcome {
    match value {
        None => Outcome::Undefined,
        Some(n) if n.is_nan() => Outcome::NaN,
        Some(n) => Outcome::Num(n),
    }
}

fn call(function: &str, args: &[Value], now: f64) -> Option<Outcome> {
    let text = |i: usize| args.get(i).and_then(Value::as_str);
    // Numbers are written as strings, so that no JSON reader rounds them.
    let num = |i: usize| args.get(i)?.get("n")?.as_str()?.parse::<f64>().ok();
    let result = match function {
        "formatInteger" => pictures::format_integer(num(0)?, text(1)?).map(Outcome::Str),
        "parseInteger" => pictures::parse_integer(text(0)?, text(1)?).map(number),
        "fromMillis" => pictures::from_millis(num(0)?, text(1), text(2)).map(Outcome::Str),
        "toMillis" => pictures::to_millis_at(text(0)?, text(1), now).map(number),
        _ => return None,
    };
    Some(result.unwrap_or_else(|e| Outcome::Code(e.code.to_string())))
}

fn expected(out: &Value) -> Option<Outcome> {
    let value = || out.get("value");
    Some(match out.get("kind")?.as_str()? {
        "string" => Outcome::Str(value()?.as_str()?.to_string()),
        "number" => Outcome::Num(value()?.as_str()?.parse().ok()?),
        "nan" => Outcome::NaN,
        "undefined" => Outcome::Undefined,
        "error" => Outcome::Code(value()?.as_str()?.to_string()),
        "jserror" => Outcome::AnyError,
        _ => return None,
    })
}

#[test]
fn agrees_with_jsonata_js() {
    let path = std::env::var("DATETIME_CASES")
        .unwrap_or_else(|_| format!("{}/tests/datetime_jsonata_js.json", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(Path::new(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let data: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let now = data["now"].as_f64().expect("now");
    let cases = data["cases"].as_array().expect("cases");
    let mut differences = Vec::new();
    for case in cases {
        let function = case["fn"].as_str().unwrap_or_default();
        let args = case["args"].as_array().map(Vec::as_slice).unwrap_or_default();
        let (Some(actual), Some(expected)) = (call(function, args, now), expected(&case["out"])) else {
            panic!("unreadable case {case}");
        };
        let agrees = match (&expected, &actual) {
            (Outcome::AnyError, Outcome::Code(_)) => true,
            (expected, actual) => expected == actual,
        };
        if !agrees {
            differences.push(format!(
                "${function}{args:?}\n    jsonata-js {expected:?}\n    here       {actual:?}"
            ));
        }
    }
    println!(
        "{} calls compared with jsonata-js {}: {} differ",
        cases.len(),
        data["jsonata"],
        differences.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
