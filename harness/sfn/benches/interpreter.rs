//! Emulator speed on virtual time: 10,000 Pass transitions (a chain of 10,000 Pass states) and an
//! inline Map over 1,000 items, each as one execution with its full history. Prints the times;
//! the goal is under a second each (release build).
//!
//! `cargo bench -p sfn --bench interpreter`

use std::time::Instant;

use serde_json::{Value, json};
use sfn::{Bindings, Executor, RunOptions, StateMachine, Status};

fn pass_chain(states: usize) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = json!({"Type": "Pass", "Parameters": {"i": i, "carried.$": "$.carried"}});
        if i + 1 < states {
            state["Next"] = json!(format!("P{}", i + 1));
        } else {
            state["End"] = json!(true);
        }
        map.insert(format!("P{i}"), state);
    }
    json!({"StartAt": "P0", "States": map})
}

fn inline_map() -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Double", "States": {
            "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": true}}},
        "End": true}}})
}

/// `MAP_ITEMS` overrides the Map's 1,000 items (to see how the time scales).
fn map_items() -> usize {
    std::env::var("MAP_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        ("10,000 Pass transitions", pass_chain(10_000), json!({"carried": "x"})),
        (
            "inline Map over MAP_ITEMS (1,000) items",
            inline_map(),
            json!({"items": (0..map_items()).map(|n| json!({"n": n})).collect::<Vec<_>>()}),
        ),
    ];
    for (name, definition, input) in cases {
        let parsed = Instant::now();
        let machine = StateMachine::from_value(&definition).unwrap();
        let parse = parsed.elapsed();
        let executor = Executor::new(machine, Bindings::default());
        let started = Instant::now();
        let execution = runtime.block_on(executor.run(input, RunOptions::default()));
        let elapsed = started.elapsed();
        assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
        println!(
            "{name:<28} {:>8.1} ms ({} history events; definition parsed in {:.1} ms)",
            elapsed.as_secs_f64() * 1000.0,
            execution.history.len(),
            parse.as_secs_f64() * 1000.0
        );
    }
}
