//! The official suite's cases that are a single call of `$formatInteger`, `$parseInteger`,
//! `$fromMillis` or `$toMillis` with literal arguments only, run straight against `jsonata::pictures`
//! (before the evaluator can run them). Every group is scanned; the count of such cases and of
//! those that pass is printed (`cargo test -p jsonata --test it datetime_suite:: -- --nocapture`), and
//! every one must pass but those in `KNOWN_FAILURES`.
//!
//! Cases with "now" in them are not single calls (they compare with `$now()`), so the system clock
//! `to_millis` uses does not matter here.

use std::path::Path;

use jsonata::pictures;
use serde_json::Value;

/// `group/file[index]` of cases allowed to fail, with the reason. None today.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Str(String),
    Num(f64),
}

/// `$name(arg, …)` where every argument is a string literal (single or double quotes, JSON-style
/// escapes) or a number literal; None for anything else.
fn parse_call(expr: &str) -> Option<(String, Vec<Arg>)> {
    let expr = expr.trim();
    let rest = expr.strip_prefix('$')?;
    let open = rest.find('(')?;
    let name = &rest[..open];
    if !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let chars: Vec<char> = rest[open + 1..].chars().collect();
    let mut at = 0;
    let skip_space = |at: &mut usize| {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
    };
    let mut args = Vec::new();
    skip_space(&mut at);
    if chars.get(at) == Some(&')') {
        at += 1;
    } else {
        loop {
            skip_space(&mut at);
            let arg = match chars.get(at)? {
                &quote @ ('\'' | '"') => {
                    at += 1;
                    let mut text = String::new();
                    loop {
                        match *chars.get(at)? {
                            c if c == quote => break,
                            '\\' => {
                                at += 1;
                                match *chars.get(at)? {
                                    'n' => text.push('\n'),
                                    't' => text.push('\t'),
                                    'r' => text.push('\r'),
                                    'b' => text.push('\u{8}'),
                                    'f' => text.push('\u{c}'),
                                    'u' => {
                                        let hex: String = chars.get(at + 1..at + 5)?.iter().collect();
                                        let unit = u16::from_str_radix(&hex, 16).ok()?;
                                        at += 4;
                                        // a surrogate pair is two escapes
                                        let mut units = vec![unit];
                                        if (0xD800..0xDC00).contains(&unit)
                                            && chars.get(at + 1..at + 3) == Some(&['\\', 'u'])
                                        {
                                            let hex: String = chars.get(at + 3..at + 7)?.iter().collect();
                                            units.push(u16::from_str_radix(&hex, 16).ok()?);
                                            at += 6;
                                        }
                                        text.push_str(&String::from_utf16(&units).ok()?);
                                    }
                                    c => text.push(c),
                                }
                            }
                            c => text.push(c),
                        }
                        at += 1;
                    }
                    at += 1;
                    Arg::Str(text)
                }
                c if *c == '-' || c.is_ascii_digit() => {
                    let start = at;
                    at += 1;
                    while chars
                        .get(at)
                        .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                    {
                        at += 1;
                    }
                    let number: String = chars[start..at].iter().collect();
                    Arg::Num(number.parse().ok()?)
                }
                _ => return None,
            };
            args.push(arg);
            skip_space(&mut at);
            match chars.get(at)? {
                ',' => at += 1,
                ')' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    chars[at..]
        .iter()
        .all(|c| c.is_whitespace())
        .then(|| (name.to_string(), args))
}

/// What a call returned: a string, a number, undefined, or an error code. None when the call is
/// not one of the four or its arguments have the wrong types (not covered here).
#[derive(Debug, PartialEq)]
enum Outcome {
    Str(String),
    Num(f64),
    Undefined,
    Code(String),
}

fn call(name: &str, args: &[Arg]) -> Option<Outcome> {
    use Arg::{Num, Str};
    let string = |r: Result<String, jsonata::Error>| match r {
        Ok(s) => Outcome::Str(s),
        Err(e) => Outcome::Code(e.code.to_string()),
    };
    let number = |r: Result<Option<f64>, jsonata::Error>| match r {
        Ok(Some(n)) => Outcome::Num(n),
        Ok(None) => Outcome::Undefined,
        Err(e) => Outcome::Code(e.code.to_string()),
    };
    Some(match (name, args) {
        ("formatInteger", [Num(n), Str(p)]) => string(pictures::format_integer(*n, p)),
        ("parseInteger", [Str(s), Str(p)]) => number(pictures::parse_integer(s, p)),
        ("fromMillis", [Num(n)]) => string(pictures::from_millis(*n, None, None)),
        ("fromMillis", [Num(n), Str(p)]) => string(pictures::from_millis(*n, Some(p), None)),
        ("fromMillis", [Num(n), Str(p), Str(z)]) => string(pictures::from_millis(*n, Some(p), Some(z))),
        ("toMillis", [Str(s)]) => number(pictures::to_millis(s, None)),
        ("toMillis", [Str(s), Str(p)]) => number(pictures::to_millis(s, Some(p))),
        _ => return None,
    })
}

fn expected(case: &Value) -> Option<Outcome> {
    if let Some(code) = case.get("code").and_then(Value::as_str) {
        return Some(Outcome::Code(code.to_string()));
    }
    if case.get("undefinedResult").and_then(Value::as_bool) == Some(true) {
        return Some(Outcome::Undefined);
    }
    match case.get("result")? {
        Value::String(s) => Some(Outcome::Str(s.clone())),
        Value::Number(n) => n.as_f64().map(Outcome::Num),
        _ => None,
    }
}

fn cases(root: &Path) -> Vec<(String, Value)> {
    let groups = crate::common::groups(root);
    let mut out = Vec::new();
    for group in groups {
        let group_name = group.file_name().unwrap_or_default().to_string_lossy().to_string();
        for file in crate::common::case_files(&group) {
            let stem = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let Ok(parsed) = serde_json::from_str::<Value>(&std::fs::read_to_string(&file).unwrap_or_default()) else {
                continue;
            };
            match parsed {
                Value::Array(list) => {
                    for (i, case) in list.into_iter().enumerate() {
                        out.push((format!("{group_name}/{stem}[{i}]"), case));
                    }
                }
                single => out.push((format!("{group_name}/{stem}"), single)),
            }
        }
    }
    out
}

#[test]
fn single_calls_with_literal_arguments() {
    let Some(root) = crate::common::suite_root() else {
        return;
    };
    let mut covered = 0;
    let mut passed = 0;
    let mut failures = Vec::new();
    for (name, case) in cases(&root) {
        let Some(expr) = case.get("expr").and_then(Value::as_str) else {
            continue;
        };
        let Some((function, args)) = parse_call(expr) else {
            continue;
        };
        let (Some(actual), Some(expected)) = (call(&function, &args), expected(&case)) else {
            continue;
        };
        covered += 1;
        if actual == expected {
            passed += 1;
        } else if !KNOWN_FAILURES.iter().any(|(known, _)| *known == name) {
            failures.push(format!(
                "{name}: {expr}\n    expected {expected:?}\n    got      {actual:?}"
            ));
        }
    }
    println!("datetime suite: {covered} single-call cases with literal arguments, {passed} pass");
    assert!(
        covered >= 200,
        "only {covered} cases found: is the suite at {}?",
        root.display()
    );
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_argument_splitter() {
    assert_eq!(
        parse_call(r#"$fromMillis(1521801216617, '[Y]-[M01]', "-0500")"#),
        Some((
            "fromMillis".to_string(),
            vec![
                Arg::Num(1521801216617.0),
                Arg::Str("[Y]-[M01]".into()),
                Arg::Str("-0500".into())
            ]
        ))
    );
    assert_eq!(
        parse_call(r"$formatInteger(1e+46, 'w')"),
        Some(("formatInteger".to_string(), vec![Arg::Num(1e46), Arg::Str("w".into())]))
    );
    assert_eq!(
        parse_call(r"$parseInteger('it\'s \u00e9', '0')"),
        Some((
            "parseInteger".to_string(),
            vec![Arg::Str("it's é".into()), Arg::Str("0".into())]
        ))
    );
    assert_eq!(parse_call("$toMillis(foo)"), None);
    assert_eq!(parse_call("$toMillis('2018') + 1"), None);
    assert_eq!(parse_call("$formatInteger(undefined, '0')"), None);
}
