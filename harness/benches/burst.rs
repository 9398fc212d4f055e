//! The burst benchmark: thousands of small jobs written at once into a live world, as a user
//! does it — `harness up` in a child process, the jobs written with the AWS SDK's
//! `BatchWriteItem` by 8 writers — timed from the first write until every job has ended.
//!
//! `cargo bench -p harness --bench burst [-- SIZE ...]` (default `2000 10000`). Per size it prints
//!
//! `burst bench: N jobs, T s, J jobs/s, E error, R stranded, moto Q req/s, P req/job`
//!
//! - the end of a job is read from `up`'s own lines (one per finished execution, one per healed
//!   job), the signal a user watching `up` has; the counts are then read back from the table;
//! - *stranded*: jobs neither COMPLETED nor ERROR when the run ended (`BURST_LIMIT_S`, default
//!   900 s, caps a run that does not drain);
//! - *moto*: the requests the jobs' path sent to the backend (the world's endpoint counts them and
//!   `up`'s progress line reports them), per second of the run and per job.
//!
//! Each file is 20 KB on the world's FTPS server, whose secret allows 64 sessions: the burst is
//! bound by the world (Lambda concurrency, Step Functions, moto), not by connection leases.
//!
//! The production question (a burst that outnumbers TransferFile's concurrency, each transfer
//! outlasting the throttle-retry window) is the scenario `long_transfer_burst`; `-- long` runs
//! it here too and prints its line.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use pipeline::job::{FileRef, Job, JobKey};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const FILE_BYTES: usize = 20 * 1024;
const WRITERS: usize = 8;
const PROJECT: &str = "BURST";

fn harness_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_harness"))
}

/// The `export NAME='value'` lines `up` prints before it is ready.
async fn exports(stdout: tokio::process::ChildStdout) -> BTreeMap<String, String> {
    let mut lines = BufReader::new(stdout).lines();
    let mut env = BTreeMap::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.insert(name.to_string(), value.trim_matches('\'').to_string());
        }
        if line.starts_with("# ready") {
            break;
        }
    }
    env
}

/// What `up`'s stderr says: jobs whose execution ended (or that were healed), and the requests
/// its progress line last reported.
#[derive(Default)]
struct Seen {
    ended: HashSet<String>,
    requests: Option<u64>,
    /// `up`'s line of requests by action, once every job has ended.
    by_action: Option<String>,
}

fn read_line(line: &str, seen: &mut Seen) {
    if let Some(rest) = line.strip_prefix("harness: execution for job ") {
        let mut words = rest.split_whitespace();
        if let (Some(job), Some(status)) = (words.next(), words.next())
            && status != "RUNNING"
        {
            seen.ended.insert(job.to_string());
        }
    } else if let Some(rest) = line.strip_prefix("harness: job ") {
        if let Some(job) = rest.split_whitespace().next()
            && rest.contains(" healed: ")
        {
            seen.ended.insert(job.to_string());
        }
    } else if let Some(list) = line.strip_prefix("harness: AWS requests by action: ") {
        seen.by_action = Some(list.to_string());
    } else if line.starts_with("harness: progress: ") {
        seen.requests = line
            .split(" | ")
            .find_map(|part| part.strip_suffix(" AWS requests"))
            .and_then(|n| n.trim().parse().ok());
    }
}

async fn burst(jobs: usize, limit: Duration) -> anyhow::Result<String> {
    let reports = tempfile::tempdir()?;
    let mut child = Command::new(harness_bin())
        .args(["up", "--reports"])
        .arg(reports.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let env = exports(child.stdout.take().expect("piped")).await;
    let var = |name: &str| {
        env.get(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("`harness up` did not export {name}"))
    };
    let (endpoint, table, root, secret_id) = (
        var("AWS_ENDPOINT_URL")?,
        var("JOBS_TABLE")?,
        PathBuf::from(var("FILECHECKS_FTPS_ROOT")?),
        var("FTPS_SECRET_ID")?,
    );
    let sdk = harness::world::aws::sdk_config(&endpoint).await;
    allow_sessions(&sdk, &secret_id, 64).await?;
    stage_files(&root, jobs)?;

    let (tx, mut rx) = tokio::sync::watch::channel((0usize, None::<u64>));
    let by_action = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let by_action_seen = by_action.clone();
    let stderr = child.stderr.take().expect("piped");
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Seen::default();
        while let Ok(Some(line)) = lines.next_line().await {
            read_line(&line, &mut seen);
            if seen.by_action.is_some() {
                *by_action_seen.lock().expect("by action") = seen.by_action.clone();
            }
            tx.send_replace((seen.ended.len(), seen.requests));
        }
    });

    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let started = Instant::now();
    write_jobs(&ddb, &table, jobs).await?;
    let written = started.elapsed();
    let drained = tokio::time::timeout(limit, rx.wait_for(|(ended, _)| *ended >= jobs))
        .await
        .map(|_| ());
    let elapsed = started.elapsed();
    if drained.is_err() {
        eprintln!("burst bench: stopped after {} s", limit.as_secs());
    }
    // The last progress line comes every few seconds: wait for one after the drain.
    let _ = tokio::time::timeout(Duration::from_secs(6), async {
        let before = rx.borrow().1;
        let _ = rx
            .wait_for(|(_, requests)| requests.is_some() && *requests != before)
            .await;
    })
    .await;
    let requests = rx.borrow().1;
    let counts = statuses(&ddb, &table).await?;
    let _ = child.start_kill();
    reader.abort();
    let completed = counts.get("COMPLETED").copied().unwrap_or(0);
    let error = counts.get("ERROR").copied().unwrap_or(0);
    let stranded = jobs - completed.min(jobs) - error.min(jobs - completed.min(jobs));
    let seconds = elapsed.as_secs_f64();
    let (rate, per_job) = match requests {
        Some(n) => (
            format!("{:.0}", n as f64 / seconds),
            format!("{:.1}", n as f64 / jobs as f64),
        ),
        None => ("n/a".into(), "n/a".into()),
    };
    eprintln!(
        "burst bench: {jobs} jobs written in {:.1} s; statuses at the end: {counts:?}",
        written.as_secs_f64()
    );
    if let Some(list) = by_action.lock().expect("by action").as_ref() {
        eprintln!("burst bench: AWS requests by action: {list}");
    }
    Ok(format!(
        "burst bench: {jobs} jobs, {seconds:.1} s, {:.1} jobs/s, {error} error, {stranded} stranded, moto {rate} req/s, {per_job} req/job",
        (completed + error) as f64 / seconds
    ))
}

/// Lets the world's FTPS secret allow `sessions` connections at once (the default is 2).
async fn allow_sessions(sdk: &aws_config::SdkConfig, secret_id: &str, sessions: u32) -> anyhow::Result<()> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let current = client.get_secret_value().secret_id(secret_id).send().await?;
    let mut value: serde_json::Value = serde_json::from_str(current.secret_string().unwrap_or("{}"))?;
    value["maxConnections"] = sessions.into();
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(value.to_string())
        .send()
        .await?;
    Ok(())
}

fn stage_files(root: &Path, jobs: usize) -> std::io::Result<()> {
    let dir = root.join("burst");
    std::fs::create_dir_all(&dir)?;
    for i in 0..jobs {
        let mut content = format!("file {i}\n").into_bytes();
        content.resize(FILE_BYTES, b'.');
        std::fs::write(dir.join(format!("f-{i:05}.csv")), content)?;
    }
    Ok(())
}

fn job(i: usize) -> Job {
    Job::triggered(
        JobKey {
            job_id: format!("burst-{i:05}"),
            project: PROJECT.into(),
        },
        "burst",
        FileRef {
            file_name: format!("f-{i:05}.csv"),
            remote_path: format!("/burst/f-{i:05}.csv"),
        },
    )
}

/// `BatchWriteItem`, 25 items a call, `WRITERS` writers at once; unprocessed items are sent again.
async fn write_jobs(ddb: &aws_sdk_dynamodb::Client, table: &str, jobs: usize) -> anyhow::Result<()> {
    let chunks: Vec<Vec<usize>> = (0..jobs)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[usize]>::to_vec)
        .collect();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(chunks));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..WRITERS {
        let (ddb, table, queue) = (ddb.clone(), table.to_string(), queue.clone());
        writers.spawn(async move {
            loop {
                let Some(chunk) = queue.lock().expect("queue").pop() else {
                    return Ok::<_, anyhow::Error>(());
                };
                let mut requests = Vec::new();
                for i in chunk {
                    let item = serde_dynamo::to_item(job(i))?;
                    requests.push(
                        WriteRequest::builder()
                            .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                            .build(),
                    );
                }
                // A producer retries what failed, as boto3 and the SDKs do, a little longer: a
                // world that cannot take the writes is measured, not the writer giving up.
                let mut failures = 0u32;
                while !requests.is_empty() {
                    match ddb
                        .batch_write_item()
                        .request_items(&table, requests.clone())
                        .send()
                        .await
                    {
                        Ok(out) => {
                            requests = out
                                .unprocessed_items
                                .and_then(|mut u| u.remove(&table))
                                .unwrap_or_default();
                        }
                        Err(e) if failures < 10 => {
                            failures += 1;
                            eprintln!(
                                "burst bench: BatchWriteItem failed ({}), retrying",
                                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                            );
                            tokio::time::sleep(Duration::from_millis(200 << failures.min(5))).await;
                        }
                        Err(e) => {
                            anyhow::bail!("BatchWriteItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e))
                        }
                    }
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    Ok(())
}

/// How many jobs are in each status, read back from the table (a consistent, paginated Scan).
async fn statuses(ddb: &aws_sdk_dynamodb::Client, table: &str) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    let mut start = None;
    loop {
        let out = ddb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .projection_expression("#s")
            .expression_attribute_names("#s", "status")
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("Scan: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        for item in out.items() {
            let status = item
                .get("status")
                .and_then(|s| s.as_s().ok())
                .cloned()
                .unwrap_or_default();
            *counts.entry(status).or_insert(0) += 1;
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(counts)
}

/// The production question, as the scenario runner runs it: its ERROR count is the answer.
async fn long_transfer_burst() -> anyhow::Result<String> {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let started = Instant::now();
    let out = Command::new(harness_bin())
        .args(["run", "--format", "json", "--project"])
        .arg(&project)
        .arg("long_transfer_burst")
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "harness run printed no JSON line: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let items = line["items"].as_array().cloned().unwrap_or_default();
    let count = |status: &str| items.iter().filter(|i| i["status"] == status).count();
    let executions = line["executions"].as_array().map_or(0, Vec::len);
    Ok(format!(
        "burst bench: long_transfer_burst, {} jobs, {:.1} s, {} error, {} completed, {executions} executions, {}",
        items.len(),
        started.elapsed().as_secs_f64(),
        count("ERROR"),
        count("COMPLETED"),
        line["result"].as_str().unwrap_or("?")
    ))
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; sizes and `long` are the other arguments.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let limit = Duration::from_secs(
        std::env::var("BURST_LIMIT_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(900),
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let plan: Vec<String> = if args.is_empty() {
        vec!["2000".into(), "10000".into(), "long".into()]
    } else {
        args
    };
    for what in plan {
        let line = if what == "long" {
            runtime.block_on(long_transfer_burst())?
        } else {
            let jobs: usize = what
                .parse()
                .map_err(|_| anyhow::anyhow!("{what:?}: not a number of jobs, nor `long`"))?;
            runtime.block_on(burst(jobs, limit))?
        };
        println!("{line}");
    }
    Ok(())
}
