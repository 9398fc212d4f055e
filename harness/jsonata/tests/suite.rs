//! The official JSONata test suite (MIT, from jsonata-js), each case its own test. It is looked up
//! in `$FILECHECKS_JSONATA_SUITE`, else `../shared/jsonata-test-suite` beside the workspace
//! (`tests/common/mod.rs`); without it the tests skip, or fail under `CI`.
//!
//! Each case runs as jsonata-js's `test/run-test-suite.js` runs it: the expression is evaluated
//! against the case's data or dataset with its bindings (and its time and depth limits where it
//! gives both), and must produce the expected result, an undefined result, or the expected error
//! code (and token, where the case names one).
//!
//! `cargo test -p jsonata --test suite` prints the summary; `-- --list` names every case. Cases
//! listed in `tests/suite-known-failures.txt` (with the reason) run only with `-- --ignored`.
//! Without the suite there is one ignored test, named for the reason.

mod common;

use std::path::Path;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

enum Expected {
    Result(Value),
    Undefined,
    Error { code: String, token: Option<String> },
}

struct Case {
    expr: String,
    /// The input as JSON text (its property order matters to `$keys`, `$each` …).
    input: Option<String>,
    options: jsonata::Options,
    expected: Expected,
}

fn load(root: &Path, group: &Path, case: &Value, data: Option<String>) -> Result<Case, String> {
    let expr = match (case.get("expr"), case.get("expr-file")) {
        (Some(Value::String(e)), _) => e.clone(),
        (_, Some(Value::String(f))) => std::fs::read_to_string(group.join(f)).map_err(|e| format!("{f}: {e}"))?,
        _ => return Err("no expr".into()),
    };
    let input = match (case.get("data"), case.get("dataset")) {
        // `data: null` is a null input (serde reads a null `RawValue` as none).
        (Some(_), _) => Some(data.unwrap_or_else(|| "null".into())),
        (None, Some(Value::String(name))) => {
            let path = root.join("datasets").join(format!("{name}.json"));
            Some(std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        _ => None,
    };
    let mut options = jsonata::Options {
        // A safety net against a runaway case; the suite's own limits replace it below.
        timeout: Some(Duration::from_secs(30)),
        ..jsonata::Options::default()
    };
    if let Some(Value::Object(bindings)) = case.get("bindings") {
        options.bindings = bindings.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    if let (Some(limit), Some(depth)) = (
        case.get("timelimit").and_then(Value::as_u64),
        case.get("depth").and_then(Value::as_u64),
    ) {
        options.timeout = Some(Duration::from_millis(limit));
        options.max_depth = depth as usize;
    }
    let error = case.get("error").cloned().unwrap_or_else(|| case.clone());
    let expected = if let Some(Value::String(code)) = case.get("code").or_else(|| error.get("code")) {
        Expected::Error {
            code: code.clone(),
            token: error.get("token").and_then(Value::as_str).map(str::to_string),
        }
    } else if case.get("undefinedResult").and_then(Value::as_bool) == Some(true) {
        Expected::Undefined
    } else if let Some(result) = case.get("result") {
        Expected::Result(result.clone())
    } else {
        return Err("the case names no expected outcome".into());
    };
    Ok(Case {
        expr,
        input,
        options,
        expected,
    })
}

fn cases(root: &Path, group: &Path) -> Vec<(String, Result<Case, String>)> {
    let mut out = Vec::new();
    for file in common::case_files(group) {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let parsed = serde_json::from_str::<Value>(&text).and_then(|v| {
            let raw = match v {
                Value::Array(_) => OneOrMany::Many(serde_json::from_str(&text)?),
                _ => OneOrMany::One(serde_json::from_str(&text)?),
            };
            Ok((v, raw))
        });
        let (parsed, raw) = match parsed {
            Ok(v) => v,
            Err(e) => {
                out.push((stem, Err(format!("{}: {e}", file.display()))));
                continue;
            }
        };
        let list: Vec<(String, Value, RawCase)> = match (parsed, raw) {
            (Value::Array(list), OneOrMany::Many(raw)) => list
                .into_iter()
                .zip(raw)
                .enumerate()
                .map(|(i, (c, r))| (format!("{stem}[{i}]"), c, r))
                .collect(),
            (single, OneOrMany::One(raw)) => vec![(stem, single, raw)],
            _ => continue,
        };
        for (name, case, raw) in list {
            out.push((name, load(root, group, &case, raw.data.map(|d| d.get().to_string()))));
        }
    }
    out
}

/// A case's `data` as written.
#[derive(serde::Deserialize)]
struct RawCase {
    data: Option<Box<serde_json::value::RawValue>>,
}

enum OneOrMany {
    Many(Vec<RawCase>),
    One(RawCase),
}

/// JSON equality with numbers compared as numbers (`3` and `3.0` are one value, as in JavaScript).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn check(case: Case) -> Result<(), Failed> {
    let outcome =
        jsonata::Expression::new(&case.expr).and_then(|e| e.evaluate_text(case.input.as_deref(), &case.options));
    let expr = &case.expr;
    match (outcome, case.expected) {
        (Ok(Some(actual)), Expected::Result(expected)) if same(&actual, &expected) => Ok(()),
        (Ok(None), Expected::Undefined) => Ok(()),
        (Err(e), Expected::Error { code, token }) if e.code == code => match token {
            Some(token) if e.token.as_deref() != Some(token.as_str()) => {
                Err(format!("{e}: token {:?}, expected {token:?}: {expr}", e.token).into())
            }
            _ => Ok(()),
        },
        (Ok(actual), Expected::Result(expected)) => Err(format!(
            "got {}, expected {expected}: {expr}",
            actual.map_or("undefined".to_string(), |a| a.to_string())
        )
        .into()),
        (Ok(actual), Expected::Undefined) => Err(format!("got {actual:?}, expected undefined: {expr}").into()),
        (Ok(actual), Expected::Error { code, .. }) => Err(format!(
            "got {}, expected error {code}: {expr}",
            actual.map_or("undefined".to_string(), |a| a.to_string())
        )
        .into()),
        (Err(e), Expected::Error { code, .. }) => Err(format!("{e}, expected {code}: {expr}").into()),
        (Err(e), _) => Err(format!("{e}: {expr}").into()),
    }
}

/// `tests/suite-known-failures.txt`: the cases the engine does not pass, each with its reason.
fn known_failures() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite-known-failures.txt"))
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = common::suite_root() else {
        let skipped = Trial::test("skipped: the official JSONata test suite is missing", || Ok(()));
        libtest_mimic::run(&args, vec![skipped.with_ignored_flag(true)]).exit();
    };
    let known = known_failures();
    let groups = common::groups(&root);
    let mut trials = Vec::new();
    for group in groups {
        let name = group.file_name().unwrap_or_default().to_string_lossy().to_string();
        for (case, loaded) in cases(&root, &group) {
            let full = format!("{name}/{case}");
            let ignored = known.contains(&full);
            let trial = Trial::test(full, move || match loaded {
                Ok(case) => check(case),
                Err(e) => Err(e.into()),
            });
            trials.push(trial.with_ignored_flag(ignored));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
