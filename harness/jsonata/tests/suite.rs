//! The official JSONata test suite (`../shared/jsonata-test-suite`, MIT, from jsonata-js), each case
//! its own test. So far only the front end exists, so a case passes when the parser agrees with the
//! suite about the expression: a syntax-error case (`code` `S01xx`/`S02xx`/`S03xx`/`S04xx`, which
//! jsonata-js raises before evaluating) must fail with that code, every other case must parse.
//! `cargo test -p jsonata --test suite` prints the summary; `-- --list` names every case. Cases
//! listed in `tests/suite-known-failures.txt` (with the reason) run only with `-- --ignored`.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/jsonata-test-suite")
}

/// One case: its expression and the static error code it expects, if any.
struct Case {
    expr: String,
    static_code: Option<String>,
}

fn cases(group: &Path) -> Vec<(String, Result<Case, String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(group)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let parsed: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                out.push((stem, Err(format!("{}: {e}", file.display()))));
                continue;
            }
        };
        let list = match parsed {
            Value::Array(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, c)| (format!("{stem}[{i}]"), c))
                .collect(),
            single => vec![(stem, single)],
        };
        for (name, case) in list {
            let expr = match (case.get("expr"), case.get("expr-file")) {
                (Some(Value::String(e)), _) => Ok(e.clone()),
                (_, Some(Value::String(f))) => std::fs::read_to_string(group.join(f)).map_err(|e| format!("{f}: {e}")),
                _ => Err("no expr".to_string()),
            };
            let static_code = case
                .get("code")
                .and_then(Value::as_str)
                .filter(|c| ["S01", "S02", "S03", "S04"].iter().any(|p| c.starts_with(p)))
                .map(str::to_string);
            out.push((name, expr.map(|expr| Case { expr, static_code })));
        }
    }
    out
}

fn check(case: Case) -> Result<(), Failed> {
    match (jsonata::compile(&case.expr), case.static_code) {
        (Ok(_), None) => Ok(()),
        (Err(e), Some(code)) if e.code == code => Ok(()),
        (Ok(_), Some(code)) => Err(format!("parsed, expected {code}: {}", case.expr).into()),
        (Err(e), expected) => Err(format!("{e} (expected {expected:?}): {}", case.expr).into()),
    }
}

/// `tests/suite-known-failures.txt`: case names the front end does not agree with yet.
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
    let known = known_failures();
    let root = suite_dir().join("groups");
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e} (the suite lives in ../shared)", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    let mut trials = Vec::new();
    for group in groups {
        let name = group.file_name().unwrap_or_default().to_string_lossy().to_string();
        for (case, loaded) in cases(&group) {
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
