//! `tests/replay/*.json`: recorded histories (AWS's, as localstack's snapshots keep them, and this
//! project's own), each replayed against its definition with every Task answering as recorded.
//! A history replays without divergence, or its file names the divergence it has (`divergence`:
//! event, field, and why) — so a fix or a new divergence both fail here until the file says so.

use std::path::Path;

use serde_json::Value;
use sfn::replay::{Recording, compare};
use sfn::{Bindings, Executor, RunOptions, StateMachine};

#[tokio::test]
async fn recorded_histories_replay_as_recorded_or_say_how_not() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut clean = 0;
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            file["source"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: every recording says where it comes from"
        );
        let recording = Recording::from_value(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let machine = StateMachine::from_value(&file["definition"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let execution = Executor::new(machine.clone(), Bindings::default())
            .run(
                recording.input().unwrap_or_else(|e| panic!("{name}: {e}")),
                RunOptions {
                    state_machine_name: "M".into(),
                    mocks: Some(recording.mocks()),
                    identity: Some(recording.identity()),
                    ..Default::default()
                },
            )
            .await;
        let found = compare(&recording, &execution.history, &machine);
        let declared = file.get("divergence");
        match (&found, declared) {
            (None, None) => clean += 1,
            (Some(found), Some(declared))
                if declared["event"].as_u64() == Some(found.event as u64)
                    && declared["field"].as_str() == Some(found.field.as_str())
                    && declared["explained"].as_str().is_some_and(|s| !s.is_empty()) => {}
            (found, declared) => failures.push(format!(
                "{name}: replay diverges at {}; the file declares {}",
                found.as_ref().map_or("no event".to_string(), ToString::to_string),
                declared.map_or("none".to_string(), Value::to_string)
            )),
        }
    }
    eprintln!(
        "replay: {clean} of {} recorded histories replay without divergence",
        files.len()
    );
    assert!(files.len() >= 20, "{} recorded histories", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
