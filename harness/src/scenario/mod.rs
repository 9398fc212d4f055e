//! Scenario files and running them: `schema` (the file format, both ways), `run` (one scenario in
//! a fresh world), `content` (remote files' bytes), `checks` (expectations and invariants),
//! `snapshot` (redacted items in insta's format), `from_item` (an ERROR item → a scenario),
//! `from_execution` (a recorded execution → a scenario replaying its attempts),
//! `matrix` (the generated fault matrix).

pub mod checks;
pub mod content;
pub mod explore;
pub mod from_execution;
pub mod from_item;
pub mod matrix;
pub mod run;
pub mod schema;
pub mod snapshot;

use std::path::PathBuf;

pub use run::{Report, RunError, Runner};
pub use schema::{Action, Scenario, ScenarioError};

/// Scenario files under `paths` (files as given, directories searched for `*.yaml`), sorted.
pub fn scenario_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
}
