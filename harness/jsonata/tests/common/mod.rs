//! Where the suite tests find the official JSONata test suite (jsonata-js's `test/test-suite`,
//! MIT): the directory `FILECHECKS_JSONATA_SUITE` names (its root, the one holding `groups/` and
//! `datasets/`; relative to `harness/jsonata`, where cargo runs the tests), else
//! `../shared/jsonata-test-suite` beside the workspace. Without it a suite test says why and skips,
//! so that a clone with nothing beside it tests green; under CI (`CI` set to anything but empty, `0` or `false`, as the harness reads it) it fails.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The variable that names the suite's root.
pub const SUITE_VARIABLE: &str = "FILECHECKS_JSONATA_SUITE";

/// The suite's root, or `None` after one line on stderr saying why the caller skips. Panics,
/// naming the path it looked at, when the suite is missing under `CI`.
pub fn suite_root() -> Option<PathBuf> {
    let named = std::env::var_os(SUITE_VARIABLE).filter(|v| !v.is_empty());
    let root = match &named {
        Some(dir) => PathBuf::from(dir),
        None => beside_the_workspace(),
    };
    if root.join("groups").is_dir() {
        return Some(root);
    }
    let message = match named {
        Some(_) => format!(
            "{SUITE_VARIABLE} is {}, which holds no groups/; point it at the suite's root \
             (jsonata-js's test/test-suite, the directory holding groups/)",
            root.display()
        ),
        None => format!(
            "{} holds no groups/ and {SUITE_VARIABLE} is not set; put the suite there \
             (jsonata-js's test/test-suite) or set {SUITE_VARIABLE} to its root (the directory \
             holding groups/)",
            root.display()
        ),
    };
    let message = format!("the official JSONata test suite is missing: {message}");
    // CI systems set CI=true (or 1); empty, 0 and false mean a person's machine.
    if std::env::var("CI").is_ok_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false")) {
        panic!("{message} (CI is set, so this fails rather than skips)");
    }
    // Straight to stderr: the test harness captures `eprintln!` of a test that passes.
    let _ = writeln!(std::io::stderr(), "skipped: {message}");
    None
}

/// `../shared/jsonata-test-suite` beside the workspace root (`harness/jsonata/../..`).
fn beside_the_workspace() -> PathBuf {
    let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    parent
        .canonicalize()
        .unwrap_or(parent)
        .join("shared/jsonata-test-suite")
}

/// The suite's groups (`groups/*/`), in name order.
pub fn groups(root: &Path) -> Vec<PathBuf> {
    let dir = root.join("groups");
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    groups
}

/// A group's case files (`*.json`), in name order.
pub fn case_files(group: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(group)
        .unwrap_or_else(|e| panic!("{}: {e}", group.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}
