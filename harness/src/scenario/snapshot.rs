//! A scenario's snapshot: the table's jobs with what varies per run redacted, keys sorted, as
//! pretty JSON, stored in insta's format at `<scenario dir>/snapshots/<name>.snap`. `cargo test`
//! compares with insta itself; the CLI reads the stored file with insta and shows a unified diff.

use std::path::{Path, PathBuf};

use crate::world::StoredJob;
use serde_json::{Map, Value, json};

/// Replaces what follows each `prefix` with `placeholder` where `varying` says how many of the
/// following bytes vary per run (0: leave it).
fn redact_after(text: &str, prefix: &str, placeholder: &str, varying: impl Fn(&str) -> usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let n = varying(after);
        out.push_str(&rest[..i + prefix.len()]);
        if n > 0 {
            out.push_str(placeholder);
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

/// `127.0.0.1:40971` → `127.0.0.1:[port]`: the world's servers listen on ephemeral ports.
fn redact_ports(text: &str) -> String {
    redact_after(text, "127.0.0.1:", "[port]", |after| {
        after.chars().take_while(char::is_ascii_digit).count()
    })
}

/// `filechecks/1f2e3d4c5b6a/…` → `filechecks/[world]/…`: each world names its secrets by its id.
fn redact_world_ids(text: &str) -> String {
    redact_after(text, "filechecks/", "[world]", |after| {
        let id = after.chars().take_while(char::is_ascii_hexdigit).count();
        if id == 12 && after[id..].starts_with('/') {
            id
        } else {
            0
        }
    })
}

/// `the server presented e334…` → `the server presented [certificate-sha256]`: each world's FTPS
/// server has a certificate of its own, so its fingerprint in a pin mismatch varies per run.
fn redact_certificate_fingerprints(text: &str) -> String {
    redact_after(text, "the server presented ", "[certificate-sha256]", |after| {
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 64 { hex } else { 0 }
    })
}

/// `arn:aws:states:…:execution:<machine>:<name>` → `[execution-arn]`: execution names are random.
fn redact_execution_arns(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let trimmed = word.trim_end_matches([',', ':', ';', ')']);
            if trimmed.starts_with("arn:aws:states:") && trimmed.contains(":execution:") {
                format!("[execution-arn]{}", &word[trimmed.len()..])
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Timestamps, execution ARNs, version ids, durations and ports vary per run: placeholders.
pub fn redact(item: &Value) -> Value {
    fn walk(key: &str, value: &Value) -> Value {
        match value {
            // Taken only where the server's digest is MD5: which server ran, not what happened.
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "md5")
                    .map(|(k, v)| (k.clone(), walk(k, v)))
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(key, v)).collect()),
            Value::String(_)
                if matches!(
                    key,
                    "createdAt" | "startedAt" | "completedAt" | "updatedAt" | "at" | "sourceModifiedAt"
                ) =>
            {
                json!("[timestamp]")
            }
            Value::String(_) if key == "executionArn" => json!("[execution-arn]"),
            Value::String(_) if key == "s3VersionId" => json!("[version-id]"),
            Value::String(_) if key == "sourceReadAt" => json!("[timestamp]"),
            Value::String(_) if key == "uploadId" => json!("[upload-id]"),
            Value::Number(_) if key == "durationMs" => json!("[duration]"),
            Value::String(s) if key == "bucket" && s.starts_with("landing-") => json!("[landing-bucket]"),
            Value::String(s) if key == "message" => {
                let redacted = redact_world_ids(&redact_execution_arns(&redact_ports(s)));
                Value::String(redact_certificate_fingerprints(&redacted))
            }
            other => other.clone(),
        }
    }
    walk("", item)
}

/// The snapshot of a table's items, as stored (an attribute no type models shows too).
pub fn render(items: &[StoredJob]) -> String {
    let items = items.iter().map(|stored| redact(&stored.item)).collect();
    serde_json::to_string_pretty(&Value::Array(items)).expect("JSON serializes")
}

/// The snapshot file of a scenario (insta's format, shared with `cargo test`).
pub fn path(scenario: &Path) -> PathBuf {
    let name = scenario.file_stem().unwrap_or_default().to_string_lossy().to_string();
    scenario
        .parent()
        .unwrap_or(Path::new("."))
        .join("snapshots")
        .join(format!("{name}.snap"))
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("no snapshot at {0} (a run outside CI writes it; `harness run --accept` writes it anywhere)")]
    Missing(PathBuf),
    #[error("snapshot {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("snapshot {path} differs:\n{diff}{pending}")]
    Differs {
        path: PathBuf,
        diff: String,
        /// Where the new snapshot waits for review, when it was written (`.snap.new`).
        pending: String,
    },
    #[error("writing snapshot {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// What a run may write, as insta's `INSTA_UPDATE` says (`--accept` is `always`): `auto` — the
/// default — writes a missing snapshot and puts a changed one beside the old as `.snap.new` for
/// review, except under CI (`CI` set), where it writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// Write new and changed snapshots (`INSTA_UPDATE=always`, `--accept`).
    Always,
    /// Write new and changed snapshots as `.snap.new` (`INSTA_UPDATE=new`).
    New,
    /// Write a missing snapshot; a changed one as `.snap.new` (`auto` outside CI).
    Auto,
    /// Write nothing (`INSTA_UPDATE=no`, and `auto` under CI).
    No,
}

impl Update {
    /// The mode `INSTA_UPDATE` and `CI` give, or `Always` when the user accepts.
    pub fn from_env(accept: bool) -> Update {
        if accept {
            return Update::Always;
        }
        let ci = crate::under_ci();
        match std::env::var("INSTA_UPDATE").as_deref() {
            Ok("always") | Ok("1") => Update::Always,
            Ok("new") => Update::New,
            Ok("no") | Ok("0") => Update::No,
            _ if ci => Update::No,
            _ => Update::Auto,
        }
    }
}

/// A run's snapshot held against the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Matches,
    /// There was none: this run's is now stored (to be reviewed).
    Created(PathBuf),
    /// It differed and was accepted.
    Updated(PathBuf),
}

/// insta's file format, as `cargo test` writes a scenario's snapshot (`source` is the runner's
/// `file!()`, relative to the harness package).
fn snapshot_file(snapshot: &str) -> String {
    format!("---\nsource: harness/../scenarios/run.rs\n---\n{snapshot}\n")
}

fn write(path: &Path, snapshot: &str) -> Result<(), SnapshotError> {
    let fail = |source| SnapshotError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(path, snapshot_file(snapshot)).map_err(fail)
}

/// Compares `snapshot` with the one stored for `scenario` and writes what `update` allows: a
/// missing snapshot (then the run passes and says so), a changed one (accepted, or left beside
/// the old one as `.snap.new` for `cargo insta review`).
pub fn check(scenario: &Path, snapshot: &str, update: Update) -> Result<Outcome, SnapshotError> {
    let stored = path(scenario);
    let pending = stored.with_extension("snap.new");
    match compare(scenario, snapshot) {
        Ok(()) => {
            // An old `.snap.new` for a snapshot that matches again is stale.
            let _ = std::fs::remove_file(&pending);
            Ok(Outcome::Matches)
        }
        Err(SnapshotError::Missing(_)) if matches!(update, Update::Always | Update::Auto) => {
            write(&stored, snapshot)?;
            Ok(Outcome::Created(stored))
        }
        Err(SnapshotError::Differs { .. }) if update == Update::Always => {
            write(&stored, snapshot)?;
            let _ = std::fs::remove_file(&pending);
            Ok(Outcome::Updated(stored))
        }
        Err(SnapshotError::Missing(path)) if update == Update::New => {
            write(&pending, snapshot)?;
            Err(SnapshotError::Missing(path))
        }
        Err(SnapshotError::Differs { path, diff, .. }) if matches!(update, Update::New | Update::Auto) => {
            write(&pending, snapshot)?;
            Err(SnapshotError::Differs {
                path,
                diff,
                pending: format!(
                    "\nthe new one is at {} (`cargo insta review`, or `harness run --accept` to take it)",
                    pending.display()
                ),
            })
        }
        Err(other) => Err(other),
    }
}

/// Compares `snapshot` with the one stored for `scenario`, as insta does.
pub fn compare(scenario: &Path, snapshot: &str) -> Result<(), SnapshotError> {
    let path = path(scenario);
    if !path.is_file() {
        return Err(SnapshotError::Missing(path));
    }
    let stored = insta::Snapshot::from_file(&path).map_err(|e| SnapshotError::Unreadable {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let stored = stored.contents().as_text().ok_or_else(|| SnapshotError::Unreadable {
        path: path.clone(),
        message: "a binary snapshot".into(),
    })?;
    // Both sides as insta compares a file snapshot: its text normalized (trailing whitespace
    // trimmed, CRLF as LF), which is what the stored contents' `Display` gives.
    let (old, new) = (stored.to_string(), normalized(snapshot));
    if old == new {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("stored", "this run")
        .to_string();
    Err(SnapshotError::Differs {
        path,
        diff,
        pending: String::new(),
    })
}

/// A file snapshot's text as insta normalizes it before comparing (`TextSnapshotContents`'s
/// `Display`): trailing whitespace trimmed, CRLF line ends as LF.
fn normalized(snapshot: &str) -> String {
    snapshot.trim_end().replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_compares_as_insta_normalizes_it() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("s.yaml");
        write(&path(&scenario), "[\n  {\"a\": 1}\n]\n").unwrap();
        // Line ends and trailing whitespace are not content, for insta nor for us.
        assert!(compare(&scenario, "[\r\n  {\"a\": 1}\r\n]  \n\n").is_ok());
        match compare(&scenario, "[\n  {\"a\": 2}\n]\n") {
            Err(SnapshotError::Differs { diff, .. }) => assert!(diff.contains("+  {\"a\": 2}"), "{diff}"),
            other => panic!("a changed line must differ: {other:?}"),
        }
        // The stored file is insta's own format: insta reads back what we wrote.
        let stored = insta::Snapshot::from_file(&path(&scenario)).unwrap();
        assert_eq!(stored.contents().as_text().unwrap().to_string(), "[\n  {\"a\": 1}\n]");
    }

    #[test]
    fn messages_lose_what_varies_per_run_and_keep_the_rest() {
        let message = "secret filechecks/0123456789ab/ftps/X at 127.0.0.1:40971 by \
            arn:aws:states:us-east-1:123456789012:execution:M:6f1c, not filechecks/docs/ nor 127.0.0.1:; \
            the server presented e33432477baea20b3c85c6ba71c15aee9ec5431a0440caf97b01bfe7beb622e7";
        let item = json!({"error": {"message": message}});
        assert_eq!(
            redact(&item)["error"]["message"],
            "secret filechecks/[world]/ftps/X at 127.0.0.1:[port] by [execution-arn], \
             not filechecks/docs/ nor 127.0.0.1:; the server presented [certificate-sha256]"
        );
    }
}
