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
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(k, v))).collect::<Map<_, _>>())
            }
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
            Value::Number(_) if key == "durationMs" => json!("[duration]"),
            Value::String(s) if key == "bucket" && s.starts_with("landing-") => json!("[landing-bucket]"),
            Value::String(s) if key == "message" => {
                Value::String(redact_world_ids(&redact_execution_arns(&redact_ports(s))))
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
    #[error(
        "no snapshot at {0} (create it with `INSTA_UPDATE=always cargo test -p harness --test scenarios`, or `cargo insta review`)"
    )]
    Missing(PathBuf),
    #[error("snapshot {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("snapshot {path} differs:\n{diff}")]
    Differs { path: PathBuf, diff: String },
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
    let new = insta::internals::TextSnapshotContents::new(snapshot.to_string(), insta::TextSnapshotKind::File);
    if stored.matches_latest(&new) {
        return Ok(());
    }
    let (old, new) = (stored.to_string(), new.to_string());
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("stored", "this run")
        .to_string();
    Err(SnapshotError::Differs { path, diff })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_what_varies_per_run_and_keep_the_rest() {
        let message = "secret filechecks/0123456789ab/ftps/X at 127.0.0.1:40971 by \
            arn:aws:states:us-east-1:123456789012:execution:M:6f1c, not filechecks/docs/ nor 127.0.0.1:";
        let item = json!({"error": {"message": message}});
        assert_eq!(
            redact(&item)["error"]["message"],
            "secret filechecks/[world]/ftps/X at 127.0.0.1:[port] by [execution-arn], \
             not filechecks/docs/ nor 127.0.0.1:"
        );
    }
}
