//! The README's "Reproducing a production ERROR" section, run as the person on call runs it, in a
//! directory outside the checkout: the commands are read from the README itself (`from-item item.json
//! --output scenarios/incident-1234.yaml`, then `run scenarios/incident-1234.yaml`). For every error
//! from-item knows, the first run must reproduce the error, pass (`1 passed, 0 failed`) and write the
//! scenario's snapshot beside it; the second must pass against that snapshot. Under CI the same
//! first run fails, naming the missing snapshot, as insta does.

use std::path::Path;
use std::process::Command;

use pipeline::job::{S3Location, TransferRecord, TransferStage};
use serde_json::{Value, json};

/// The errors `from-item` reproduces: a message as the pipeline records it, and the stage the
/// job had reached (what production items carry).
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "RemoteFileNotFound",
        "remote file not found: /x: 550 File not found",
        "CONNECTING",
    ),
    ("FtpsAuthFailed", "530 Login incorrect.", "CONNECTING"),
    (
        "TlsVerificationFailed",
        "invalid peer certificate: UnknownIssuer",
        "CONNECTING",
    ),
    (
        "CertificatePinMismatch",
        "the server's certificate does not match the pinned SHA-256",
        "CONNECTING",
    ),
    (
        "TransientNetwork",
        "data connection for /x failed after 1048576 bytes: connection reset",
        "STREAMING",
    ),
    ("TooManyConnections", "421 Too many connections", "CONNECTING"),
    ("IntegrityMismatch", "size mismatch: SIZE says 10, read 11", "STREAMING"),
    ("RemoteDeleteFailed", "DELE refused: 550 Permission denied", "VERIFIED"),
    ("UnsafeFileName", "unsafe file name", "PENDING"),
    (
        "InvalidJob",
        "the job item is malformed: pipeline: invalid type: integer `5`, expected a string",
        "PENDING",
    ),
    ("SourceChanged", "the source changed while it was read", "STREAMING"),
];

/// The README's on-call commands (`from-item`, then `run`), read from its "Reproducing a
/// production ERROR" section: `cargo run -p harness --` becomes the built binary, and the
/// replay against a staging server (it needs one) is left out.
fn readme_commands() -> Vec<Vec<String>> {
    let (block, commands) = crate::common::readme_harness_commands("## Reproducing a production ERROR");
    let commands: Vec<Vec<String>> = commands
        .into_iter()
        .filter(|command| !command.iter().any(|word| word == "--ftps-url"))
        .collect();
    assert_eq!(
        commands.iter().map(|c| c[0].as_str()).collect::<Vec<_>>(),
        ["scenario", "run"],
        "the README's on-call commands changed: {block}"
    );
    commands
}

fn harness(cwd: &Path, args: &[String], ci: bool) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_harness"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("INSTA_UPDATE")
        .env_remove("FILECHECKS_PROJECT");
    if ci {
        command.env("CI", "1");
    } else {
        command.env_remove("CI");
    }
    let out = command.output().expect("harness runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The ERROR item production holds for `name`: a job as the pipeline records it (built as a
/// `Job`), or, for InvalidJob, the malformed item a producer wrote.
fn item(name: &str, message: &str, stage: &str) -> Value {
    if name == "InvalidJob" {
        // Malformed by definition: no `Job` can hold it.
        return json!({"jobId": "incident-1234", "project": "FLPIDS-NATS", "pipeline": 5, "status": "ERROR",
            "createdAt": "2026-01-23T14:58:59.051433+00:00", "transferStage": stage,
            "file": {"fileName": "incident.data", "remotePath": "/s_dart_cert/plas/in/incident.data"},
            "error": {"name": name, "message": message, "state": "SetRunning", "at": "2026-01-23T14:59:08.357292+00:00"}});
    }
    let file = if name == "UnsafeFileName" {
        "../escape.data"
    } else {
        "incident.data"
    };
    let stage: TransferStage = serde_json::from_value(json!(stage)).unwrap();
    let mut job = crate::common::error_job("incident-1234", name, message, file, stage);
    if stage == TransferStage::Verified {
        // After VERIFIED the item holds the landing.
        job.s3 = Some(S3Location {
            bucket: "landing-prod".into(),
            key: "FLPIDS-NATS/incident.data".into(),
        });
        job.transfer = Some(TransferRecord {
            bytes: 2048,
            sha256: "00".repeat(32),
            md5: None,
            s3_checksum_crc32c: "AAAAAA==".into(),
            s3_version_id: None,
            parts: 1,
            duration_ms: 12,
            source_modified_at: None,
            source_read_at: None,
        });
    }
    serde_json::to_value(job).unwrap()
}

#[test]
fn the_readme_on_call_commands_pass_on_the_first_try() {
    let commands = readme_commands();
    let (from_item, run) = (&commands[0], &commands[1]);
    // The scenario path the README writes, and the snapshot beside it.
    let output = &from_item[from_item.iter().position(|a| a == "--output").unwrap() + 1];
    let snapshot_shown = Path::new(output)
        .with_file_name("snapshots")
        .join(Path::new(output).with_extension("snap").file_name().unwrap());
    for (name, message, stage) in ERRORS {
        // Outside the checkout: no project around, the embedded infra.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("item.json"), item(name, message, stage).to_string()).unwrap();
        let (code, out) = harness(dir.path(), from_item, false);
        assert_eq!(code, 0, "{name}: from-item: {out}");
        // What it cannot reproduce, it says.
        assert!(out.contains("not reproduced: the file's content"), "{name}: {out}");
        let scenario = std::fs::read_to_string(dir.path().join(output)).unwrap();
        if *name != "SourceChanged" {
            assert!(
                scenario.contains(&format!("transferStage: {stage}")),
                "{name}: the stage: {scenario}"
            );
        } else {
            assert!(out.contains("not reproduced: the stage STREAMING"), "{name}: {out}");
        }

        let (code, out) = harness(dir.path(), run, false);
        assert_eq!(code, 0, "{name}: first run: {out}");
        assert!(out.contains("1 passed, 0 failed"), "{name}: {out}");
        assert!(
            out.contains(&format!("new snapshot {} — review it", snapshot_shown.display())),
            "{name}: the run says it wrote the snapshot: {out}"
        );
        let stored =
            std::fs::read_to_string(dir.path().join(&snapshot_shown)).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        assert!(stored.contains(&format!("\"name\": \"{name}\"")), "{name}: {stored}");
        if *name == "TransientNetwork" {
            // The drop where the item says, in a file large enough for it.
            assert!(scenario.contains("drop_after_bytes: 1048576"), "{scenario}");
            assert!(scenario.contains("size: 2097152"), "{scenario}");
        }
        if *name == "RemoteDeleteFailed" {
            assert!(stored.contains("\"bytes\": 2048"), "the recorded size landed: {stored}");
        }

        let (code, out) = harness(dir.path(), run, false);
        assert_eq!(code, 0, "{name}: second run: {out}");
        assert!(
            out.contains("1 passed, 0 failed") && !out.contains("new snapshot"),
            "{name}: {out}"
        );
    }
}

#[test]
fn under_ci_a_missing_snapshot_fails_and_is_named() {
    let commands = readme_commands();
    let (from_item, run) = (&commands[0], &commands[1]);
    let dir = tempfile::tempdir().unwrap();
    let (name, message, stage) = ERRORS[0];
    std::fs::write(dir.path().join("item.json"), item(name, message, stage).to_string()).unwrap();
    let (code, out) = harness(dir.path(), from_item, true);
    assert_eq!(code, 0, "{out}");
    let (code, out) = harness(dir.path(), run, true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    assert!(
        out.contains("no snapshot at scenarios/snapshots/incident-1234.snap"),
        "{out}"
    );
    assert!(
        !dir.path().join("scenarios/snapshots/incident-1234.snap").exists(),
        "nothing written under CI"
    );
    // Accepted, it is written; the next CI run passes.
    let accept: Vec<String> = [&run[..1], &["--accept".to_owned()], &run[1..]].concat();
    let (code, out) = harness(dir.path(), &accept, true);
    assert_eq!(code, 0, "{out}");
    let (code, out) = harness(dir.path(), run, true);
    assert_eq!(code, 0, "{out}");
}
