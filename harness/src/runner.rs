//! Runs one scenario in a fresh world: sets up the server and the table, plays the steps,
//! waits for the world to settle, then checks the expectations and the invariants and renders
//! the table's items as a redacted snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::scenario::{Faults, RemoteFile, Scenario, ScenarioError, Step, Times};
use crate::sfn::MockConfig;
use crate::world::{World, WorldError, WorldOptions};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    World(#[from] WorldError),
    #[error("{0}")]
    Setup(String),
}

/// The outcome of one scenario.
#[derive(Debug)]
pub struct Report {
    pub name: String,
    /// Broken expectations and invariants; empty when the scenario passed.
    pub failures: Vec<String>,
    /// The table's items as they are.
    pub items: Vec<Value>,
    /// The table's items, redacted, keys sorted (pretty JSON).
    pub snapshot: String,
    pub elapsed: Duration,
}

/// The workspace's `fixtures/` directory.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("fixtures")
}

/// Deterministic pseudo-random bytes (xorshift64), written in chunks: memory stays flat.
fn write_generated(path: &Path, size: u64, seed: u64) -> std::io::Result<String> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut state = seed | 1;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        for byte in &mut chunk[..n] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        hasher.update(&chunk[..n]);
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(hex::encode(hasher.finalize()))
}

/// Puts a remote file on the server; returns its SHA-256.
async fn put_remote(remote: &Remote<'_>, file: &RemoteFile) -> Result<String, RunError> {
    let setup = |e: std::io::Error| RunError::Setup(format!("remote file {}: {e}", file.path));
    let staging = tempfile::tempdir().map_err(setup)?;
    let local = match remote {
        Remote::InProcess(server) => server.local_path(&file.path),
        Remote::External(_) => staging.path().join("upload"),
    };
    if let Some(parent) = local.parent() {
        std::fs::create_dir_all(parent).map_err(setup)?;
    }
    let sha = if let Some(text) = &file.content {
        std::fs::write(&local, text).map_err(setup)?;
        hex::encode(Sha256::digest(text.as_bytes()))
    } else if let Some(fixture) = &file.fixture {
        let bytes = std::fs::read(fixtures_dir().join(fixture)).map_err(setup)?;
        std::fs::write(&local, &bytes).map_err(setup)?;
        hex::encode(Sha256::digest(&bytes))
    } else {
        write_generated(&local, file.size.unwrap_or(0), file.seed.unwrap_or(42)).map_err(setup)?
    };
    if let Remote::External(server) = remote {
        server
            .upload(&local, &file.path)
            .await
            .map_err(|e| RunError::Setup(e.to_string()))?;
    }
    Ok(sha)
}

fn scenario_faults_empty(scenario: &Scenario) -> bool {
    let f = &scenario.faults;
    let none = f.drop_after_bytes.is_none()
        && f.size_delta.is_none()
        && f.refuse_delete.is_none()
        && f.reject_connections.is_none()
        && f.fail_retrieves.is_none()
        && f.delay_ms.is_none();
    none && !scenario.steps.iter().any(|s| matches!(s, Step::Faults(_)))
}

fn apply_faults(world: &World, faults: &Faults) {
    let f = world.ftps.faults();
    if let Some(bytes) = faults.drop_after_bytes {
        let times = match faults.drop_times {
            Some(Times::Count(n)) => n,
            Some(Times::Keyword(_)) => u32::MAX,
            None => 1,
        };
        f.drop_downloads(bytes, times);
    }
    if let Some(delta) = faults.size_delta {
        f.size_delta.store(delta, Ordering::SeqCst);
    }
    if let Some(refuse) = faults.refuse_delete {
        f.refuse_delete.store(refuse, Ordering::SeqCst);
    }
    if let Some(n) = faults.reject_connections {
        f.reject_connections.store(n, Ordering::SeqCst);
    }
    if let Some(n) = faults.fail_retrieves {
        f.fail_retrieves.store(n, Ordering::SeqCst);
    }
    if let Some(ms) = faults.delay_ms {
        f.delay_ms.store(ms, Ordering::SeqCst);
    }
}

/// The secret for the in-process server with the scenario's overrides; `caBundle: untrusted`
/// stands for a CA the server's certificate was not issued by.
fn secret(base: Value, overrides: &BTreeMap<String, Value>) -> Result<Value, RunError> {
    let mut secret = base;
    for (field, value) in overrides {
        let value = if field == "caBundle" && value == "untrusted" {
            let dir = tempfile::tempdir().map_err(|e| RunError::Setup(e.to_string()))?;
            let other =
                crate::pki::Pki::generate("untrusted", dir.path()).map_err(|e| RunError::Setup(e.to_string()))?;
            Value::String(other.ca_pem)
        } else {
            value.clone()
        };
        secret[field] = value;
    }
    Ok(secret)
}

/// The job's item in the seed's shape; an `s3` without a bucket gets the world's landing bucket.
fn job_item(job: &crate::scenario::JobSpec, bucket: &str) -> Value {
    let now = pipeline::timestamp::now();
    let mut item = json!({
        "jobId": job.job_id, "project": job.project, "pipeline": job.pipeline, "status": job.status,
        "createdAt": now, "updatedAt": now,
        "file": {"fileName": job.file.file_name, "remotePath": job.file.remote_path},
    });
    if let Some(s3) = &job.s3 {
        item["s3"] = s3.clone();
        if item["s3"].get("bucket").is_none() {
            item["s3"]["bucket"] = json!(bucket);
        }
    }
    item
}

fn stream_record(job: &crate::scenario::JobSpec) -> Value {
    json!([{"eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"jobId": {"S": job.job_id}, "project": {"S": job.project}}}}])
}

/// Runs a scenario against the in-process FTPS server (or the one its file names).
pub async fn run(path: &Path) -> Result<Report, RunError> {
    run_with(path, None).await
}

/// Where the scenario's remote files live.
enum Remote<'a> {
    InProcess(&'a crate::ftps_server::FtpsServer),
    External(crate::external_ftps::ExternalFtps),
}

/// Runs a scenario; `external` (the CLI's `--ftps-url`) replaces the in-process FTPS server.
pub async fn run_with(path: &Path, external: Option<crate::external_ftps::ExternalFtps>) -> Result<Report, RunError> {
    let started = Instant::now();
    let scenario = Scenario::load(path)?;
    let external = match (external, &scenario.ftps) {
        (Some(given), _) => Some(given),
        (None, Some(server)) => Some(
            crate::external_ftps::ExternalFtps::from_url(
                &server.url,
                server.implicit,
                server.ca_file.as_deref(),
                server.server_name.as_deref(),
            )
            .map_err(|e| RunError::Setup(format!("{}: ftps: {e}", path.display())))?,
        ),
        (None, None) => None,
    };
    let name = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
    let mocks = match &scenario.mocks {
        Some(m) => Some(
            MockConfig::from_json(&m.config.to_string())
                .and_then(|c| c.test_case(Some("FileChecks"), &m.test_case))
                .map_err(|e| RunError::Setup(format!("{}: mocks: {e}", path.display())))?,
        ),
        None => None,
    };
    let timeouts = pipeline::ftps::Timeouts {
        connect: Duration::from_secs(5),
        command: Duration::from_secs(15),
        read: Duration::from_secs(10),
    };
    let world = World::boot(WorldOptions {
        mocks,
        timeouts,
        ..Default::default()
    })
    .await?;
    let remote = match external {
        Some(server) => {
            if !scenario_faults_empty(&scenario) {
                return Err(RunError::Setup(format!(
                    "{}: faults need the in-process FTPS server",
                    path.display()
                )));
            }
            Remote::External(server)
        }
        None => Remote::InProcess(&world.ftps),
    };
    let base_secret = match &remote {
        Remote::InProcess(server) => server.secret_json(),
        Remote::External(server) => server.secret().clone(),
    };
    let secret = secret(base_secret, &scenario.secret)?;
    let pipelines: BTreeSet<&str> = scenario.jobs.iter().map(|j| j.pipeline.as_str()).collect();
    for pipeline in pipelines {
        world.put_secret(pipeline, &secret).await?;
    }
    let mut originals = BTreeMap::new();
    for file in &scenario.remote {
        originals.insert(file.path.clone(), put_remote(&remote, file).await?);
    }
    apply_faults(&world, &scenario.faults);
    for job in &scenario.jobs {
        world.put_item(&job_item(job, &world.names.bucket)).await?;
    }
    let mut redrives: BTreeMap<String, usize> = BTreeMap::new();
    for step in &scenario.steps {
        match step {
            Step::Settle => world.settle().await,
            Step::Duplicate(id) => {
                let job = scenario.jobs.iter().find(|j| &j.job_id == id).expect("validated");
                if !world.touch_triggered(&job.job_id, &job.project).await? {
                    return Err(RunError::Setup(format!("duplicate: job {id} was no longer TRIGGERED")));
                }
            }
            Step::Deliver { job, times } => {
                let job = scenario.jobs.iter().find(|j| &j.job_id == job).expect("validated");
                let deliveries = (0..*times).map(|_| world.deliver(stream_record(job)));
                futures::future::join_all(deliveries).await;
            }
            Step::Redrive(id) => {
                world.settle().await;
                world.redrive(id).await?;
                *redrives.entry(id.clone()).or_default() += 1;
            }
            Step::Faults(faults) => apply_faults(&world, faults),
        }
    }
    world.settle().await;

    let items = world.items().await?;
    let mut failures = Vec::new();
    let left = remote_files(&remote, &scenario).await;
    check_expectations(&world, &scenario, &items, &left, &mut failures).await;
    check_invariants(&world, &items, &originals, &left, &redrives, &mut failures).await;
    let snapshot = serde_json::to_string_pretty(&Value::Array(items.iter().map(redact).collect())).unwrap_or_default();
    Ok(Report {
        name,
        failures,
        items,
        snapshot,
        elapsed: started.elapsed(),
    })
}

fn transfers_by_job(world: &World) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for execution in world.executions() {
        let transferred = execution
            .history
            .iter()
            .any(|e| e["type"] == "TaskStateEntered" && e["stateEnteredEventDetails"]["name"] == "TransferFile");
        if !transferred {
            continue;
        }
        let input: Value = execution.history[0]["executionStartedEventDetails"]["input"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let job = input[0]["dynamodb"]["Keys"]["jobId"]["S"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *counts.entry(job).or_default() += 1;
    }
    counts
}

async fn objects(world: &World) -> Result<Vec<(String, u64, String)>, String> {
    let s3 = world.s3();
    let listed = s3
        .list_objects_v2()
        .bucket(&world.names.bucket)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for object in listed.contents.unwrap_or_default() {
        let key = object.key.unwrap_or_default();
        let body = s3
            .get_object()
            .bucket(&world.names.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = body.body;
        while let Some(chunk) = stream.try_next().await.map_err(|e| e.to_string())? {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        out.push((key, size, hex::encode(hasher.finalize())));
    }
    Ok(out)
}

/// The files on the server: all of them for the in-process server; for an external one, those
/// of the scenario's files that are still there.
async fn remote_files(remote: &Remote<'_>, scenario: &Scenario) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(format!("/{}", rel.to_string_lossy()));
            }
        }
    }
    let mut out = Vec::new();
    match remote {
        Remote::InProcess(server) => walk(server.root(), server.root(), &mut out),
        Remote::External(server) => {
            for file in &scenario.remote {
                if server.exists(&file.path).await.unwrap_or(true) {
                    out.push(file.path.clone());
                }
            }
        }
    }
    out.sort();
    out
}

async fn check_expectations(
    world: &World,
    scenario: &Scenario,
    items: &[Value],
    remote: &[String],
    failures: &mut Vec<String>,
) {
    for (id, expected) in &scenario.expect.jobs {
        let Some(item) = items.iter().find(|i| i["jobId"] == id.as_str()) else {
            failures.push(format!("job {id}: not in the table"));
            continue;
        };
        let mut check = |what: &str, want: &str, got: &Value| {
            let got_text = got.as_str().unwrap_or("none");
            if want != got_text {
                failures.push(format!("job {id}: {what} expected {want}, got {got_text}"));
            }
        };
        check("status", &expected.status, &item["status"]);
        if let Some(stage) = &expected.transfer_stage {
            check("transferStage", stage, &item["transferStage"]);
        }
        if let Some(error) = &expected.error {
            check("error", error, &item["error"]["name"]);
        }
    }
    match objects(world).await {
        Ok(found) => {
            let mut found: Vec<_> = found;
            found.sort();
            let mut want: Vec<_> = scenario
                .expect
                .objects
                .iter()
                .map(|o| (o.key.clone(), o.size, o.sha256.clone()))
                .collect();
            want.sort();
            if found != want {
                failures.push(format!("objects: expected {want:?}, got {found:?}"));
            }
        }
        Err(e) => failures.push(format!("listing objects: {e}")),
    }
    let mut want_remote = scenario.expect.remote.clone();
    want_remote.sort();
    if remote != want_remote.as_slice() {
        failures.push(format!("remote files: expected {want_remote:?}, got {remote:?}"));
    }
    if let Some(want) = scenario.expect.executions {
        let got = world.executions().len();
        if got != want {
            failures.push(format!("executions: expected {want}, got {got}"));
        }
    }
    if let Some(want) = scenario.expect.transfers {
        let got: usize = transfers_by_job(world).values().sum();
        if got != want {
            failures.push(format!("transfers: expected {want}, got {got}"));
        }
    }
}

async fn check_invariants(
    world: &World,
    items: &[Value],
    originals: &BTreeMap<String, String>,
    remote: &[String],
    redrives: &BTreeMap<String, usize>,
    failures: &mut Vec<String>,
) {
    for item in items {
        let id = item["jobId"].as_str().unwrap_or("?");
        let status = item["status"].as_str().unwrap_or_default();
        if status != "COMPLETED" && status != "ERROR" {
            failures.push(format!("invariant: job {id} is not terminal ({status})"));
        }
        let times: Vec<(&str, Option<time::OffsetDateTime>)> = ["createdAt", "startedAt", "completedAt", "updatedAt"]
            .iter()
            .map(|f| (*f, item[*f].as_str().and_then(pipeline::timestamp::parse)))
            .collect();
        let present: Vec<_> = times.iter().filter_map(|(f, t)| t.map(|t| (*f, t))).collect();
        for pair in present.windows(2) {
            if pair[0].1 > pair[1].1 {
                failures.push(format!("invariant: job {id}: {} is after {}", pair[0].0, pair[1].0));
            }
        }
    }
    let landed = objects(world).await.unwrap_or_default();
    for (path, sha) in originals {
        if remote.contains(path) {
            continue;
        }
        let recorded = items.iter().any(|i| {
            i["file"]["remotePath"] == path.as_str()
                && i["transfer"]["sha256"] == sha.as_str()
                && landed
                    .iter()
                    .any(|(key, _, object_sha)| i["s3"]["key"] == key.as_str() && object_sha == sha)
        });
        if !recorded {
            failures.push(format!("invariant: {path} was deleted from the server without an S3 object holding its SHA-256 {sha} on its job"));
        }
    }
    match world
        .s3()
        .list_multipart_uploads()
        .bucket(&world.names.bucket)
        .send()
        .await
    {
        Ok(out) if !out.uploads.clone().unwrap_or_default().is_empty() => {
            failures.push(format!(
                "invariant: {} incomplete multipart upload(s) left",
                out.uploads.unwrap_or_default().len()
            ));
        }
        Ok(_) => {}
        Err(e) => failures.push(format!("listing multipart uploads: {e}")),
    }
    for (job, count) in transfers_by_job(world) {
        let allowed = 1 + redrives.get(&job).copied().unwrap_or(0);
        if count > allowed {
            failures.push(format!(
                "invariant: job {job} was transferred by {count} executions (allowed {allowed})"
            ));
        }
    }
}

/// `127.0.0.1:40971` → `127.0.0.1:[port]`: the world's servers listen on ephemeral ports.
fn redact_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.1:") {
        let after = &rest[i + "127.0.0.1:".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..i + "127.0.0.1:".len()]);
        out.push_str(if digits > 0 { "[port]" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Timestamps, execution ARNs, version ids, durations and ports vary per run: placeholders.
pub fn redact(item: &Value) -> Value {
    fn walk(key: &str, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(k, v))).collect::<Map<_, _>>())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(key, v)).collect()),
            Value::String(_) if matches!(key, "createdAt" | "startedAt" | "completedAt" | "updatedAt" | "at") => {
                json!("[timestamp]")
            }
            Value::String(_) if key == "executionArn" => json!("[execution-arn]"),
            Value::String(_) if key == "s3VersionId" => json!("[version-id]"),
            Value::Number(_) if key == "durationMs" => json!("[duration]"),
            Value::String(s) if key == "bucket" && s.starts_with("landing-") => json!("[landing-bucket]"),
            Value::String(s) if key == "message" => Value::String(redact_ports(s)),
            other => other.clone(),
        }
    }
    walk("", item)
}

/// The workspace's `scenarios/` directory.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("scenarios")
}

/// Scenario files under `paths` (files as given, directories searched for `*.yaml`), sorted.
pub fn scenario_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
}

/// The snapshot file of a scenario (insta's format, shared with `cargo test`).
pub fn snapshot_path(scenario: &Path) -> PathBuf {
    let name = scenario.file_stem().unwrap_or_default().to_string_lossy().to_string();
    scenario
        .parent()
        .unwrap_or(Path::new("."))
        .join("snapshots")
        .join(format!("{name}.snap"))
}

/// Compares a report's snapshot with the stored one; the difference, line by line, if any.
pub fn compare_snapshot(scenario: &Path, snapshot: &str) -> Result<(), String> {
    let path = snapshot_path(scenario);
    let stored = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "no snapshot at {} (create it with `INSTA_UPDATE=always cargo test -p harness --test scenarios`)",
            path.display()
        )
    })?;
    // insta's header is a YAML block between the first two `---` lines.
    let body = stored.splitn(3, "---\n").nth(2).unwrap_or_default().trim_end();
    if body == snapshot.trim_end() {
        return Ok(());
    }
    let mut diff = format!("snapshot {} differs:\n", path.display());
    let (old, new): (Vec<&str>, Vec<&str>) = (body.lines().collect(), snapshot.lines().collect());
    for i in 0..old.len().max(new.len()) {
        match (old.get(i), new.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                if let Some(a) = a {
                    diff.push_str(&format!("-{a}\n"));
                }
                if let Some(b) = b {
                    diff.push_str(&format!("+{b}\n"));
                }
            }
        }
    }
    Err(diff)
}
