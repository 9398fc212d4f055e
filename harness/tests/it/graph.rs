//! `harness graph infra/statemachine.asl.json` draws every state and every transition of the
//! project's state machine: the states and transitions are read from the ASL here, independently,
//! and each must be in the SVG the command prints (as `data-state` and `data-from`/`data-to`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn transitions(definition: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let start = definition["StartAt"].as_str().unwrap_or_default().to_string();
    out.insert(("Start".into(), start, "next".into()));
    for (name, state) in definition["States"].as_object().into_iter().flatten() {
        let mut add = |to: &Value, kind: &str| {
            if let Some(to) = to.as_str() {
                out.insert((name.clone(), to.to_string(), kind.to_string()));
            }
        };
        add(&state["Next"], "next");
        add(&state["Default"], "default");
        for choice in state["Choices"].as_array().into_iter().flatten() {
            add(&choice["Next"], "choice");
        }
        for catcher in state["Catch"].as_array().into_iter().flatten() {
            add(&catcher["Next"], "catch");
        }
        if state["End"] == true || matches!(state["Type"].as_str(), Some("Succeed" | "Fail")) {
            out.insert((name.clone(), "End".into(), "next".into()));
        }
    }
    out
}

fn attribute_values<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!("{name}=\"");
    svg.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &svg[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn the_project_machine_is_drawn_whole() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let file = root.join("infra/statemachine.asl.json");
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .arg("graph")
        .arg(&file)
        .output()
        .expect("harness runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let svg = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(svg.starts_with("<svg"), "an SVG document");
    let definition: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let states: BTreeSet<&str> = attribute_values(&svg, "data-state").into_iter().collect();
    for name in definition["States"].as_object().unwrap().keys() {
        assert!(states.contains(name.as_str()), "state {name} is drawn");
    }
    let from = attribute_values(&svg, "data-from");
    let to = attribute_values(&svg, "data-to");
    let kind = attribute_values(&svg, "data-kind");
    let drawn: BTreeSet<(String, String, String)> = from
        .iter()
        .zip(&to)
        .zip(&kind)
        .map(|((f, t), k)| (f.to_string(), t.to_string(), k.to_string()))
        .collect();
    let expected = transitions(&definition);
    assert_eq!(drawn, expected, "every transition, and no other");
}
