//! Two jobs at one key in `harness up`, driven as a producer would with the AWS SDK for Rust:
//! files of one name in two directories, the second job written while the first streams. Both
//! end COMPLETED, each with its own version of the key holding its own source's bytes.

use std::time::{Duration, Instant};

use crate::common::up::Up;
use crate::common::{content, sha256_hex};
use aws_sdk_dynamodb::types::AttributeValue;

/// A job item in the seed's shape, as a producer's PutItem writes it.
async fn put_job(ddb: &aws_sdk_dynamodb::Client, table: &str, job_id: &str, remote_path: &str) {
    let now = pipeline::timestamp::now();
    ddb.put_item()
        .table_name(table)
        .item("jobId", AttributeValue::S(job_id.into()))
        .item("project", AttributeValue::S("FLPIDS-NATS".into()))
        .item("pipeline", AttributeValue::S("FLPIDS_ODS".into()))
        .item("status", AttributeValue::S("TRIGGERED".into()))
        .item("createdAt", AttributeValue::S(now.clone()))
        .item("updatedAt", AttributeValue::S(now))
        .item(
            "file",
            AttributeValue::M(
                [
                    ("fileName".to_string(), AttributeValue::S("r.csv".into())),
                    ("remotePath".to_string(), AttributeValue::S(remote_path.into())),
                ]
                .into(),
            ),
        )
        .send()
        .await
        .unwrap();
}

async fn item(ddb: &aws_sdk_dynamodb::Client, table: &str, job_id: &str) -> serde_json::Value {
    let item = ddb
        .get_item()
        .table_name(table)
        .key("jobId", AttributeValue::S(job_id.into()))
        .key("project", AttributeValue::S("FLPIDS-NATS".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default();
    let text = |v: &AttributeValue| v.as_s().cloned().unwrap_or_default();
    let transfer = item.get("transfer").and_then(|t| t.as_m().ok());
    serde_json::json!({
        "status": item.get("status").map(text),
        "stage": item.get("transferStage").map(text),
        "key": item.get("s3").and_then(|s| s.as_m().ok()).and_then(|m| m.get("key")).map(text),
        "version": transfer.and_then(|t| t.get("s3VersionId")).map(text),
        "sha256": transfer.and_then(|t| t.get("sha256")).map(text),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jobs_at_one_key_each_keep_their_own_version() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (content(10 * 1024 * 1024, 31), content(10 * 1024 * 1024, 32));
    for (dir, data) in [("a", &a), ("b", &b)] {
        std::fs::create_dir_all(root.path().join("in").join(dir)).unwrap();
        std::fs::write(root.path().join("in").join(dir).join("r.csv"), data).unwrap();
    }
    // The first download holds 3 s once past its first 8 MiB part: its upload is open then.
    let faults = root.path().join("faults.yaml");
    std::fs::write(&faults, "pause_after_bytes: 9437184\npause_ms: 3000\n").unwrap();
    let mut up = Up::start_with(root.path(), &["--faults", faults.to_str().unwrap()]);
    let config = up.sdk().await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let table = up.var("JOBS_TABLE").to_string();
    let (first, second) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());

    put_job(&ddb, &table, &first, "/in/a/r.csv").await;
    // Once the first streams (it holds the key), the second is written.
    let waited = Instant::now();
    while item(&ddb, &table, &first).await["stage"] != "STREAMING" {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the first job never streamed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    put_job(&ddb, &table, &second, "/in/b/r.csv").await;
    for job in [&first, &second] {
        let line = up.await_line(&["execution for job", job, "ED "]);
        assert!(line.contains("SUCCEEDED"), "{line}");
    }

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = up.var("LANDING_BUCKET").to_string();
    for (job, data) in [(&first, &a), (&second, &b)] {
        let item = item(&ddb, &table, job).await;
        assert_eq!(item["status"], "COMPLETED", "{item}");
        assert_eq!(item["key"], "FLPIDS-NATS/r.csv", "{item}");
        assert_eq!(item["sha256"], sha256_hex(data), "{item}");
        let version = item["version"].as_str().expect("a recorded version");
        let object = s3
            .get_object()
            .bucket(&bucket)
            .key("FLPIDS-NATS/r.csv")
            .version_id(version)
            .send()
            .await
            .unwrap();
        let bytes = object.body.collect().await.unwrap().into_bytes();
        assert!(
            bytes[..] == data[..],
            "job {job}: its version holds its own source's bytes"
        );
    }
    let versions = s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix("FLPIDS-NATS/r.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2, "one version per landing");
    let open = s3.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(open.uploads().is_empty(), "no upload left open");
}
