//! Healing in `harness up`, driven as a user would: the AWS SDK for Rust against the printed
//! endpoint stops a job's execution mid-transfer, and the job ends ERROR ExecutionAborted with
//! its source still on the server; a malformed TRIGGERED item ends ERROR naming the field.

use std::time::Instant;

use crate::common::up::Up;
use aws_sdk_dynamodb::types::AttributeValue;

fn status(up: &Up, job_id: &str) -> serde_json::Value {
    let (code, out, err) = up.harness(&["status", job_id, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_execution_and_a_malformed_item_end_error_with_a_name() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    let source = root.path().join("in/held.data");
    std::fs::write(&source, b"a file the server never finishes sending\n").unwrap();
    let faults = root.path().join("faults.yaml");
    // Outside the served directory's `in/`: the server hangs after 4 bytes of every download.
    std::fs::write(&faults, "stall_after_bytes: 4\n").unwrap();
    let mut up = Up::start_with(root.path(), &["--faults", faults.to_str().unwrap()]);
    let config = up.sdk().await;

    let (code, job_id, err) = up.harness(&["submit", "--project", "FLPIDS-NATS", "--remote-path", "/in/held.data"]);
    assert_eq!(code, 0, "{err}");
    let running = up.await_line(&[&job_id, "RUNNING"]);
    let execution_arn = running.rsplit(' ').next().unwrap().to_string();
    let sfn = aws_sdk_sfn::Client::new(&config);
    let stopped = Instant::now();
    sfn.stop_execution()
        .execution_arn(&execution_arn)
        .error("Operator")
        .cause("stopped from the SDK")
        .send()
        .await
        .unwrap();
    let healed = up.await_line(&[&job_id, "healed"]);
    let took = stopped.elapsed();
    assert!(healed.contains("ExecutionAborted"), "{healed}");
    let item = status(&up, &job_id);
    assert_eq!(item["status"], "ERROR", "{item}");
    assert_eq!(item["error"]["name"], "ExecutionAborted", "{item}");
    let message = item["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&execution_arn) && message.contains("Operator"),
        "{message}"
    );
    assert!(source.exists(), "the source stays on the server");
    eprintln!("StopExecution to ERROR ExecutionAborted: {} ms", took.as_millis());
    assert!(took.as_secs() < 10, "healed within seconds, took {took:?}");

    // A malformed TRIGGERED item (createdAt a number, no file) ends ERROR InvalidJob naming the field.
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    ddb.put_item()
        .table_name(up.var("JOBS_TABLE"))
        .item("jobId", AttributeValue::S("malformed-1".into()))
        .item("project", AttributeValue::S("FLPIDS-NATS".into()))
        .item("pipeline", AttributeValue::S("FLPIDS_ODS".into()))
        .item("status", AttributeValue::S("TRIGGERED".into()))
        .item("createdAt", AttributeValue::N("1700000000".into()))
        .send()
        .await
        .unwrap();
    let finished = up.await_line(&["malformed-1", "FAILED"]);
    assert!(finished.contains("InvalidJob"), "{finished}");
    let item = status(&up, "malformed-1");
    assert_eq!(item["status"], "ERROR", "{item}");
    assert_eq!(item["error"]["name"], "InvalidJob", "{item}");
    assert!(
        item["error"]["message"].as_str().unwrap().contains("createdAt"),
        "{item}"
    );
}
