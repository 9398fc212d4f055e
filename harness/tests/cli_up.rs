//! `harness up` as a user runs it: it prints the environment and stays up; `harness submit`
//! inserts a job into its table and the live pipeline (Pipe → Step Functions emulator → real
//! handlers) transfers it; `harness status` reads the item.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use pipeline::job::{Job, JobStatus, TransferStage};

struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn harness(env: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn up_submit_status() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    std::fs::write(root.path().join("in/live.data"), b"live data\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["up", "--ftps-root"])
        .arg(root.path())
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let up = Up(child);
    let mut env = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(export) = line.strip_prefix("export ") {
            let (name, value) = export.split_once('=').unwrap();
            env.push((name.to_string(), value.trim_matches('\'').to_string()));
        }
        if line.starts_with("# ready") {
            break;
        }
    }
    let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "JOBS_TABLE",
        "LANDING_BUCKET",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }

    let (code, job_id, err) = harness(
        &env,
        &["submit", "--project", "FLPIDS-NATS", "--remote-path", "/in/live.data"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(job_id.len(), 36, "a UUID: {job_id}");
    // `up` reports each finished execution on stderr: the signal that the job went through.
    let finished = stderr
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains(&job_id))
        .expect("the execution finished");
    assert!(finished.contains("SUCCEEDED"), "{finished}");

    let (code, item, err) = harness(&env, &["status", &job_id, "--json"]);
    assert_eq!(code, 0, "{err}");
    let job: Job = serde_json::from_str(&item).unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.transfer_stage, Some(TransferStage::Done));
    assert_eq!(job.file.file_name, "live.data");
    assert!(
        !root.path().join("in/live.data").exists(),
        "the served file was transferred and deleted"
    );
    let (code, text, _) = harness(&env, &["status", &job_id]);
    assert_eq!(code, 0);
    assert!(text.contains("status COMPLETED  stage DONE"), "{text}");

    let (code, _, err) = harness(&env, &["submit", "--project", "P", "--remote-path", "relative/path"]);
    assert_ne!(code, 0);
    assert!(err.contains("not absolute"), "{err}");
    let (code, _, err) = harness(&[], &["status", &job_id]);
    assert_ne!(code, 0);
    assert!(
        err.contains("export what `harness up` printed") || err.contains("JOBS_TABLE"),
        "{err}"
    );
    drop(up);
}
