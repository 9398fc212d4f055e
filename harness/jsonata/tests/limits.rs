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
