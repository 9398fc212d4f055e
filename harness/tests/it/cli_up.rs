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

/// While a job is in flight `up` prints a progress line every few seconds — counts by status from
/// the stream, jobs per second, throttles, the oldest RUNNING job's age, the jobs' AWS requests —
/// and one more once every job has ended. A `--parameter` reaches the world's template.
#[test]
fn progress_lines_while_jobs_are_in_flight() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    std::fs::write(root.path().join("in/slow.data"), b"slow data\n").unwrap();
    // The server holds the download 6 s: longer than one progress period.
    let faults = root.path().join("faults.yaml");
    std::fs::write(&faults, "delay_ms: 6000\n").unwrap();
    let mut up = Up::start_with(
        root.path(),
        &[
            "--faults",
            faults.to_str().unwrap(),
            "--parameter",
            "TransferFileConcurrency=3",
        ],
    );
    let (code, job_id, err) = up.harness(&["submit", "--project", "P", "--remote-path", "/in/slow.data"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = up.stderr.by_ref().map(|l| l.unwrap());
    let running = lines
        .find(|l| l.starts_with("harness: progress: ") && l.contains("1 RUNNING"))
        .expect("a progress line while the job runs");
    let parts: Vec<&str> = running.split(" | ").collect();
    assert_eq!(parts.len(), 5, "{running}");
    assert!(parts[1].ends_with(" jobs/s"), "{running}");
    assert_eq!(parts[2], "throttled: 0 Lambda, 0 StartExecution", "{running}");
    assert!(
        parts[3].starts_with("oldest RUNNING ") && parts[3].ends_with(" s"),
        "{running}"
    );
    let requests: u64 = parts[4].strip_suffix(" AWS requests").unwrap().parse().unwrap();
    assert!(requests > 0, "{running}");
    let finished = lines
        .find(|l| l.contains(&job_id) && l.contains("SUCCEEDED"))
        .expect("the execution finished");
    assert!(finished.starts_with("harness: execution for job "), "{finished}");
    let last = lines
        .find(|l| l.starts_with("harness: progress: "))
        .expect("one more line once the job has ended");
    assert!(
        last.starts_with("harness: progress: 1 COMPLETED | ") && last.contains("none RUNNING"),
        "{last}"
    );

    // A parameter the template does not declare stops `up` before it serves anything.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["up", "--parameter", "TransferFileConcurency=3"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TransferFileConcurency"), "{err}");
}
