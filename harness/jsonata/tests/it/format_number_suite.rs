//! The official suite's `function-formatNumber` and `function-formatBase` groups, run straight
//! against `jsonata::pictures` before the evaluator exists: every case whose expression is a
//! single `$formatNumber(…)`/`$formatBase(…)` call with literal arguments (strings, numbers, and
//! for the options an object of string literals) is called and compared with its `result`/`code`.
//! The others (an argument computed, or read from the input) wait for the evaluator and the main
//! suite. `cargo test -p jsonata --test it format_number_suite:: -- --nocapture` prints the counts.

use jsonata::pictures::{format_base, format_number};
use serde_json::Value;

/// Literal cases that are known not to pass, with the reason. None so far.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

#[derive(Debug)]
enum Literal {
    String(String),
    Number(f64),
    /// `{'decimal-separator': ',', …}`, in order.
    Object(Vec<(String, String)>),
}

/// `$name(arg, …)` with literal arguments only, else `None`.
fn parse_call(expr: &str) -> Option<(String, Vec<Literal>)> {
    let mut p = Parser {
        chars: expr.chars().collect(),
        at: 0,
    };
    p.skip_space();
    p.eat('$')?;
    let name = p.take_while(|c| c.is_ascii_alphanumeric());
    p.skip_space();
    p.eat('(')?;
    let mut args = Vec::new();
    p.skip_space();
    if p.peek() != Some(')') {
        loop {
            args.push(p.literal()?);
            p.skip_space();
            match p.next()? {
                ',' => p.skip_space(),
                ')' => break,
                _ => return None,
            }
        }
    } else {
        p.next();
    }
    p.skip_space();
    p.peek().is_none().then_some((name, args))
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn eat(&mut self, wanted: char) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|&c| keep(c)) {
            out.push(c);
            self.at += 1;
        }
        out
    }

    fn literal(&mut self) -> Option<Literal> {
        match self.peek()? {
            '"' | '\'' => self.string().map(Literal::String),
            '{' => self.object().map(Literal::Object),
            c if c == '-' || c.is_ascii_digit() => self.number().map(Literal::Number),
            _ => None,
        }
    }

    /// A quoted string with JSON's escapes (as JSONata's string literals have).
    fn string(&mut self) -> Option<String> {
        let quote = self.next()?;
        let mut out = String::new();
        loop {
            match self.next()? {
                c if c == quote => return Some(out),
                '\\' => match self.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).map(|_| self.next()).collect::<Option<_>>()?;
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }

    /// A number literal, read with Rust's correctly rounded parser (as JavaScript's is).
    fn number(&mut self) -> Option<f64> {
        let mut text = String::new();
        if self.peek() == Some('-') {
            text.push('-');
            self.at += 1;
        }
        text += &self.take_while(|c| c.is_ascii_digit() || c == '.');
        if matches!(self.peek(), Some('e' | 'E')) {
            text.push('e');
            self.at += 1;
            if let Some(sign) = self.peek().filter(|c| matches!(c, '+' | '-')) {
                text.push(sign);
                self.at += 1;
            }
            text += &self.take_while(|c| c.is_ascii_digit());
        }
        text.parse().ok()
    }

    fn object(&mut self) -> Option<Vec<(String, String)>> {
        self.eat('{')?;
        let mut pairs = Vec::new();
        self.skip_space();
        if self.peek() == Some('}') {
            self.next();
            return Some(pairs);
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.skip_space();
            self.eat(':')?;
            self.skip_space();
            let value = self.string()?;
            pairs.push((key, value));
            self.skip_space();
            match self.next()? {
                ',' => {}
                '}' => return Some(pairs),
                _ => return None,
            }
        }
    }
}

/// Calls the function a parsed expression names; `None` when the arguments don't fit it.
fn call(name: &str, args: &[Literal]) -> Option<Result<String, String>> {
    let result = match (name, args) {
        ("formatNumber", [Literal::Number(v), Literal::String(p)]) => format_number(*v, p, &[]),
        ("formatNumber", [Literal::Number(v), Literal::String(p), Literal::Object(o)]) => format_number(*v, p, o),
        ("formatBase", [Literal::Number(v)]) => format_base(*v, None),
        ("formatBase", [Literal::Number(v), Literal::Number(r)]) => format_base(*v, Some(*r)),
        _ => return None,
    };
    Some(result.map_err(|e| e.code.to_string()))
}

#[test]
fn literal_format_number_and_format_base_cases() {
    let Some(root) = crate::common::suite_root() else {
        return;
    };
    let groups = root.join("groups");
    let (mut total, mut literal, mut passed) = (0, 0, 0);
    let mut failures = Vec::new();
    for group in ["function-formatNumber", "function-formatBase"] {
        for file in crate::common::case_files(&groups.join(group)) {
            let stem = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let cases = match serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display())) {
                Value::Array(list) => list
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| (format!("{stem}[{i}]"), c))
                    .collect(),
                single => vec![(stem, single)],
            };
            for (name, case) in cases {
                total += 1;
                let name = format!("{group}/{name}");
                let expr = case["expr"].as_str().unwrap_or_default();
                let Some(outcome) = parse_call(expr).and_then(|(f, args)| call(&f, &args)) else {
                    continue;
                };
                literal += 1;
                let expected = match (case.get("result"), case.get("code")) {
                    (Some(Value::String(s)), _) => Ok(s.clone()),
                    (_, Some(Value::String(code))) => Err(code.clone()),
                    _ => panic!("{name}: neither a string result nor a code"),
                };
                if outcome == expected {
                    passed += 1;
                } else if !KNOWN_FAILURES.iter().any(|(known, _)| *known == name) {
                    failures.push(format!("{name}: {expr} gave {outcome:?}, expected {expected:?}"));
                }
            }
        }
    }
    println!("{total} cases, {literal} with literal arguments, {passed} of them pass");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(passed + KNOWN_FAILURES.len(), literal);
    // Guards against the parser quietly giving up on cases: 45 + 9 in the suite, of which 3 + 2
    // compute or read an argument.
    assert_eq!((total, literal), (54, 49));
}
