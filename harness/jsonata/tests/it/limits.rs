//! The evaluator's limits: deep recursion ends in U1001 (never in a stack overflow of the
//! process), tail recursion runs in constant stack, and a runaway loop ends at the time limit.

use std::time::Duration;

use jsonata::{Expression, Options};
use serde_json::json;

fn run(source: &str, options: &Options) -> Result<Option<serde_json::Value>, &'static str> {
    Expression::new(source)
        .and_then(|e| e.evaluate(None, options))
        .map_err(|e| e.code)
}

#[test]
fn deep_recursion_is_u1001_not_a_crash() {
    let sum = "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))";
    assert_eq!(run(sum, &Options::default()), Err("U1001"));
    let shallow = "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(500))";
    assert_eq!(run(shallow, &Options::default()), Ok(Some(json!(500))));
}

#[test]
fn tail_recursion_runs_in_constant_stack() {
    let count = "($f := function($n, $acc){ $n = 0 ? $acc : $f($n - 1, $acc + 1) }; $f(100000, 0))";
    assert_eq!(run(count, &Options::default()), Ok(Some(json!(100000))));
}

#[test]
fn a_runaway_loop_ends_at_the_time_limit() {
    let options = Options {
        timeout: Some(Duration::from_millis(200)),
        ..Options::default()
    };
    assert_eq!(run("($f := function(){ $f() }; $f())", &options), Err("U1001"));
}

#[test]
fn a_deeply_nested_expression_is_refused_not_a_crash() {
    let nested = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(Expression::new(&nested).map(|_| ()).map_err(|e| e.code), Err("U1001"));
    let fine = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    assert_eq!(run(&fine, &Options::default()), Ok(Some(json!(1))));
}

#[test]
fn a_deeply_nested_result_is_refused_not_a_crash() {
    let deep = "($f := function($n, $acc){ $n = 0 ? $acc : $f($n - 1, {'a': $acc}) }; $f(100000, 1))";
    assert_eq!(run(deep, &Options::default()), Err("U1001"));
    let as_text = "($f := function($n, $acc){ $n = 0 ? $acc : $f($n - 1, {'b': $acc}) }; $string($f(5000, 1)))";
    assert_eq!(run(as_text, &Options::default()), Err("U1001"));
}

#[test]
fn signature_matching_is_not_exponential() {
    // Twelve `n+` parameters before an `s` against forty numbers: backtracking without memory
    // tries every split (hours); remembering failed positions makes it immediate.
    let args: Vec<String> = (0..40).map(|n| n.to_string()).collect();
    let call = format!("(function($a)<n+n+n+n+n+n+n+n+n+n+n+n+s>{{1}})({})", args.join(","));
    assert_eq!(run(&call, &Options::default()), Err("T0410"));
}

#[test]
fn a_runaway_string_is_refused_not_an_abort() {
    assert_eq!(run("$pad('a', 1e12)", &Options::default()), Err("U1002"));
    let doubling = "($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $length($f('ab', 40)))";
    assert_eq!(run(doubling, &Options::default()), Err("U1002"));
}
