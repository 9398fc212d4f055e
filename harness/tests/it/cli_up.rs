//! `harness up` as a user runs it: it prints the environment and stays up; `harness submit`
//! inserts a job into its table and the live pipeline (Pipe → Step Functions emulator → real
//! handlers) transfers it; `harness status` reads the item, and `--report` finds the page `up`
//! wrote for the execution.

use crate::common::up::Up;
use pipeline::job::{Job, JobStatus, TransferStage};

#[test]
fn up_submit_status() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    std::fs::write(root.path().join("in/live.data"), b"live data\n").unwrap();
    let mut up = Up::start(root.path());
    for wanted in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "JOBS_TABLE",
        "LANDING_BUCKET",
    ] {
        up.var(wanted);
    }

    let (code, job_id, err) = up.harness(&["submit", "--project", "FLPIDS-NATS", "--remote-path", "/in/live.data"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(job_id.len(), 36, "a UUID: {job_id}");
    // `up` reports each finished execution on stderr: the signal that the job went through.
    let finished = up
        .stderr
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains(&job_id) && !l.contains(" RUNNING "))
        .expect("the execution finished");
    assert!(finished.contains("SUCCEEDED"), "{finished}");

    // Then its report page: the line says it is written.
    let reported = up
        .stderr
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("harness: report ") && l.contains(&job_id))
        .expect("the execution's report was written");
    let (code, path, err) = up.harness(&["status", &job_id, "--report"]);
    assert_eq!(code, 0, "{err}");
    assert!(reported.ends_with(path.trim()), "{reported} names {path}");
    let page = std::fs::read_to_string(path.trim()).expect("the report exists");
    assert!(
        page.contains("SUCCEEDED") && page.contains(r#"data-state="TransferFile""#),
        "{page}"
    );

    let (code, item, err) = up.harness(&["status", &job_id, "--json"]);
    assert_eq!(code, 0, "{err}");
    let job: Job = serde_json::from_str(&item).unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.transfer_stage, Some(TransferStage::Done));
    assert_eq!(job.file.file_name, "live.data");
    assert!(
        !root.path().join("in/live.data").exists(),
        "the served file was transferred and deleted"
    );
    let (code, text, _) = up.harness(&["status", &job_id]);
    assert_eq!(code, 0);
    assert!(text.contains("status COMPLETED  stage DONE"), "{text}");

    let (code, _, err) = up.harness(&["submit", "--project", "P", "--remote-path", "relative/path"]);
    assert_ne!(code, 0);
    assert!(err.contains("not absolute"), "{err}");
    // Without the environment `up` printed, the commands say what is missing.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["status", &job_id])
        .env_remove("JOBS_TABLE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("export what `harness up` printed") || err.contains("JOBS_TABLE"),
        "{err}"
    );
}
