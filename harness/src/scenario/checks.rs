//! What a scenario's world looks like once it settled (`Observed`, gathered once: every object is
//! read and hashed one time), and the checks on it: the scenario's expectations and the invariants
//! every scenario must keep.

use std::collections::BTreeMap;
use std::path::Path;

use pipeline::Step;
use pipeline::job::{Job, JobStatus};
use sfn::{EventKind, Execution};
use sha2::{Digest, Sha256};

use super::content::Remote;
use super::schema::{Expect, ObjectExpectation, Scenario};
use crate::world::aws::ResourceError;
use crate::world::{StoredJob, World, execution_job};

/// The settled world.
pub struct Observed {
    pub items: Vec<StoredJob>,
    /// Every object in the landing bucket, with its size and SHA-256 (sorted), or why not.
    pub objects: Result<Vec<ObjectExpectation>, ResourceError>,
    /// Every version of every key in the landing bucket, with its SHA-256: what a job's
    /// `transfer.s3VersionId` addresses.
    pub versions: Result<Vec<Version>, ResourceError>,
    /// Files on the server (sorted).
    pub remote: Vec<String>,
    pub executions: Vec<Execution>,
    /// Incomplete multipart uploads in the landing bucket (key, upload id), or why they could
    /// not be listed.
    pub open_uploads: Result<Vec<(String, String)>, ResourceError>,
    /// The offsets the in-process server restarted downloads at (REST).
    pub rest_offsets: Vec<u64>,
    /// UploadPart requests the pipeline made.
    pub uploaded_parts: usize,
    /// Bytes of files the in-process server sent, all downloads together.
    pub downloaded: u64,
    /// The most sessions the in-process server served at once, and the connections it refused.
    pub peak_sessions: usize,
    pub refused_sessions: usize,
    /// The lease table's items (slot, holder, jobId), or why they could not be read.
    pub leases: Result<Vec<(String, String, String)>, String>,
    /// Executions an invocation of which Lambda killed: their leases stay until they expire.
    pub killed: std::collections::BTreeSet<String>,
    /// Every execution started, by ARN, with the job its input names.
    pub started: BTreeMap<String, Option<pipeline::job::JobKey>>,
    /// Jobs a Pipe delivery of which was dropped into its dead-letter queue.
    pub dropped: Vec<pipeline::job::JobKey>,
    /// Secret values no item may hold (the FTPS password).
    pub secrets: Vec<String>,
    /// Each job's remote path as the scenario wrote it, by jobId.
    pub spec_paths: BTreeMap<String, String>,
}

impl Observed {
    pub async fn gather(
        world: &World,
        remote: &Remote<'_>,
        scenario: &Scenario,
        items: Vec<StoredJob>,
        secrets: &[String],
    ) -> Observed {
        let open_uploads = world
            .s3()
            .list_multipart_uploads()
            .bucket(&world.names.bucket)
            .send()
            .await
            .map(|out| {
                out.uploads
                    .unwrap_or_default()
                    .into_iter()
                    .map(|u| (u.key.unwrap_or_default(), u.upload_id.unwrap_or_default()))
                    .collect()
            })
            .map_err(|e| ResourceError::new("listing multipart uploads", &e));
        Observed {
            items,
            objects: objects(world).await,
            versions: versions(world).await,
            remote: remote_files(remote, scenario).await,
            executions: world.executions(),
            open_uploads,
            rest_offsets: world.ftps.rest_offsets(),
            uploaded_parts: world.requests("s3:UploadPart"),
            downloaded: *world.ftps.bytes_sent().borrow(),
            peak_sessions: world.ftps.peak_sessions(),
            refused_sessions: world.ftps.refused_sessions(),
            leases: world.leases().await.map_err(|e| e.to_string()),
            killed: world.killed_executions(),
            started: world.started_executions(),
            dropped: world.dropped_deliveries(),
            secrets: secrets.to_vec(),
            spec_paths: scenario
                .jobs
                .iter()
                .map(|j| (j.job_id.clone(), j.file.remote_path.clone()))
                .collect(),
        }
    }

    /// The items that are job items.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.items.iter().filter_map(|stored| stored.job.as_ref())
    }

    /// TransferFile invocations the state machines scheduled, over all executions.
    fn transfer_attempts(&self) -> usize {
        self.executions
            .iter()
            .flat_map(|execution| &execution.history)
            .filter(|e| matches!(&e.kind, EventKind::LambdaFunctionScheduled { details } if details.resource.contains("TransferFile")))
            .count()
    }

    /// Executions that entered TransferFile, per job.
    fn transfers_by_job(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for execution in &self.executions {
            let transferred = execution
                .history
                .iter()
                .any(|e| matches!(&e.kind, EventKind::TaskStateEntered { details } if details.name == Step::TransferFile.name()));
            if !transferred {
                continue;
            }
            let job = execution_job(execution).map(|k| k.job_id).unwrap_or_default();
            *counts.entry(job).or_default() += 1;
        }
        counts
    }
}

/// The size and SHA-256 of an object in the landing bucket (a version of it, if named).
async fn read_hashed(world: &World, key: &str, version_id: Option<&str>) -> Result<(u64, String), ResourceError> {
    let body = world
        .s3()
        .get_object()
        .bucket(&world.names.bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_string))
        .send()
        .await
        .map_err(|e| ResourceError::new("reading a landed object", &e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.body;
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| ResourceError::new("reading a landed object", &e))?
    {
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// One version of a key in the landing bucket.
#[derive(Debug, Clone)]
pub struct Version {
    pub key: String,
    pub version_id: String,
    pub sha256: String,
}

async fn versions(world: &World) -> Result<Vec<Version>, ResourceError> {
    let s3 = world.s3();
    let listed = s3
        .list_object_versions()
        .bucket(&world.names.bucket)
        .send()
        .await
        .map_err(|e| ResourceError::new("listing the landing bucket's versions", &e))?;
    let mut out = Vec::new();
    for version in listed.versions.unwrap_or_default() {
        let (Some(key), Some(version_id)) = (version.key, version.version_id) else {
            continue;
        };
        let (_, sha256) = read_hashed(world, &key, Some(&version_id)).await?;
        out.push(Version {
            key,
            version_id,
            sha256,
        });
    }
    Ok(out)
}

async fn objects(world: &World) -> Result<Vec<ObjectExpectation>, ResourceError> {
    let s3 = world.s3();
    let listed = s3
        .list_objects_v2()
        .bucket(&world.names.bucket)
        .send()
        .await
        .map_err(|e| ResourceError::new("listing the landing bucket", &e))?;
    let mut out = Vec::new();
    for object in listed.contents.unwrap_or_default() {
        let key = object.key.unwrap_or_default();
        let (size, sha256) = read_hashed(world, &key, None).await?;
        out.push(ObjectExpectation { key, size, sha256 });
    }
    out.sort();
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

/// Broken expectations of the scenario.
pub fn expectations(expect: &Expect, observed: &Observed) -> Vec<String> {
    let mut failures = Vec::new();
    if expect.invariants_only {
        return failures;
    }
    for (id, expected) in &expect.jobs {
        // Read from the item itself: a malformed item (no `file`, say) is checked like any other.
        let Some(item) = observed.items.iter().find(|i| i.job_id() == id) else {
            failures.push(format!("job {id}: not in the table"));
            continue;
        };
        let mut check = |what: &str, matches: bool, want: &str, got: Option<&str>| {
            if !matches {
                let got = got.unwrap_or("none");
                failures.push(format!("job {id}: {what} expected {want}, got {got}"));
            }
        };
        let status = item.text("/status");
        check(
            "status",
            status == Some(expected.status.as_str()),
            expected.status.as_str(),
            status,
        );
        if let Some(stage) = expected.transfer_stage {
            let got = item.text("/transferStage");
            check("transferStage", got == Some(stage.as_str()), stage.as_str(), got);
        }
        if let Some(error) = &expected.error {
            let got = item.text("/error/name");
            check("error", error.matches(got), error.as_str(), got);
        }
    }
    match &observed.objects {
        Ok(found) => {
            let mut want = expect.objects.clone();
            want.sort();
            if *found != want {
                let show = |objects: &[ObjectExpectation]| -> Vec<(String, u64, String)> {
                    objects
                        .iter()
                        .map(|o| (o.key.clone(), o.size, o.sha256.clone()))
                        .collect()
                };
                failures.push(format!("objects: expected {:?}, got {:?}", show(&want), show(found)));
            }
        }
        Err(e) => failures.push(e.to_string()),
    }
    let mut want_remote = expect.remote.clone();
    want_remote.sort();
    if observed.remote != want_remote {
        failures.push(format!(
            "remote files: expected {want_remote:?}, got {:?}",
            observed.remote
        ));
    }
    if let Some(most) = expect.downloaded_at_most
        && observed.downloaded > most
    {
        failures.push(format!(
            "downloaded: expected at most {most} bytes, the server sent {}",
            observed.downloaded
        ));
    }
    let attempts = observed.transfer_attempts();
    if let Some(least) = expect.transfer_attempts_at_least
        && attempts < least
    {
        failures.push(format!(
            "transfer attempts: expected at least {least} TransferFile runs, got {attempts}"
        ));
    }
    // Counts and lists the scenario may pin, each compared as a whole.
    let mut exactly = |what: &str, want: Option<String>, got: String| {
        if let Some(want) = want
            && want != got
        {
            failures.push(format!("{what}: expected {want}, got {got}"));
        }
    };
    let text = |n: Option<usize>| n.map(|n| n.to_string());
    exactly(
        "transfer attempts (TransferFile runs)",
        text(expect.transfer_attempts),
        attempts.to_string(),
    );
    exactly(
        "executions",
        text(expect.executions),
        observed.executions.len().to_string(),
    );
    exactly(
        "throttled executions",
        text(expect.throttled_executions),
        observed
            .executions
            .iter()
            .filter(|execution| {
                execution.history.iter().any(|event| {
                    matches!(&event.kind, sfn::EventKind::LambdaFunctionFailed { details }
                        if details.error == "Lambda.TooManyRequestsException")
                })
            })
            .count()
            .to_string(),
    );
    exactly(
        "versions",
        text(expect.versions),
        observed.versions.as_ref().map_or(0, Vec::len).to_string(),
    );
    exactly(
        "transfers",
        text(expect.transfers),
        observed.transfers_by_job().values().sum::<usize>().to_string(),
    );
    exactly(
        "rest offsets",
        expect.rest_offsets.as_ref().map(|o| format!("{o:?}")),
        format!("{:?}", observed.rest_offsets),
    );
    exactly(
        "uploaded parts",
        text(expect.uploaded_parts),
        observed.uploaded_parts.to_string(),
    );
    exactly(
        "peak sessions",
        text(expect.peak_sessions),
        observed.peak_sessions.to_string(),
    );
    exactly(
        "refused sessions",
        text(expect.refused_sessions),
        observed.refused_sessions.to_string(),
    );
    for text in &expect.absent {
        for stored in &observed.items {
            if stored.item.to_string().contains(text.as_str()) {
                failures.push(format!(
                    "absent: {text:?} appears in the item of job {}",
                    stored.job_id()
                ));
            }
        }
    }
    failures
}

/// Broken invariants: every job terminal; timestamps ordered; a file deleted from the server has
/// the S3 version its job recorded, holding the SHA-256 recorded on it, and so has every COMPLETED
/// job; no incomplete multipart upload that no job records; no job transferred by two executions
/// (one more per re-drive).
pub fn invariants(
    observed: &Observed,
    originals: &BTreeMap<String, String>,
    triggers: &BTreeMap<String, usize>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for item in &observed.items {
        let status = item.text("/status").unwrap_or("no status");
        // A TRIGGERED job whose record the Pipe gave up on waits in its dead-letter queue (and
        // its alarm) for an operator: no execution ever heard of it.
        let dead_lettered =
            status == JobStatus::Triggered.as_str() && observed.dropped.iter().any(|key| key.job_id == item.job_id());
        if status != JobStatus::Completed.as_str() && status != JobStatus::Error.as_str() && !dead_lettered {
            failures.push(format!("invariant: job {} is not terminal ({status})", item.job_id()));
        }
        // No secret in any item.
        let text = item.item.to_string();
        if observed
            .secrets
            .iter()
            .any(|secret| !secret.is_empty() && text.contains(secret.as_str()))
        {
            failures.push(format!("invariant: job {} holds a secret's value", item.job_id()));
        }
        // No job changed by another job's execution: the execution it names was started for it.
        if let Some(arn) = item.text("/executionArn")
            && let Some(Some(started_for)) = observed.started.get(arn)
            && (started_for.job_id != item.job_id() || Some(started_for.project.as_str()) != item.text("/project"))
        {
            failures.push(format!(
                "invariant: job {} names execution {arn}, which was started for job {}",
                item.job_id(),
                started_for.job_id
            ));
        }
        if status == JobStatus::Error.as_str() && item.text("/error/name").is_none() {
            failures.push(format!(
                "invariant: job {} is ERROR without an error name",
                item.job_id()
            ));
        }
    }
    // No lease left held, but by an invocation Lambda killed (it expires at that one's deadline).
    match &observed.leases {
        Ok(leases) => {
            for (slot, holder, job) in leases {
                let execution = holder.rsplit_once('#').map_or(holder.as_str(), |(arn, _)| arn);
                if !observed.killed.contains(execution) {
                    failures.push(format!(
                        "invariant: lease {slot} is left held by job {job} ({execution}), which no kill explains"
                    ));
                }
            }
        }
        Err(e) => failures.push(e.clone()),
    }
    for job in observed.jobs() {
        let id = &job.job_id;
        let times = [
            ("createdAt", &job.created_at),
            ("startedAt", &job.started_at),
            ("completedAt", &job.completed_at),
            ("updatedAt", &job.updated_at),
        ];
        let present: Vec<_> = times
            .iter()
            .filter_map(|(field, at)| at.as_deref().and_then(pipeline::timestamp::parse).map(|t| (*field, t)))
            .collect();
        for pair in present.windows(2) {
            if pair[0].1 > pair[1].1 {
                failures.push(format!("invariant: job {id}: {} is after {}", pair[0].0, pair[1].0));
            }
        }
    }
    // A deleted source's bytes are the version its job recorded (not merely the key's current
    // object: another job may have landed at the same key since).
    let versions = observed.versions.as_deref().unwrap_or_default();
    // What each item records of its landing, read from the item as stored: a producer may have
    // broken a field of a job's item after the job landed its file (the remote path is then the
    // one the scenario wrote).
    let recorded_landing = |item: &StoredJob| {
        let path = item
            .text("/file/remotePath")
            .map(str::to_string)
            .or_else(|| observed.spec_paths.get(item.job_id()).cloned())?;
        Some((
            path,
            item.text("/s3/key")?.to_string(),
            item.text("/transfer/s3VersionId")?.to_string(),
            item.text("/transfer/sha256")?.to_string(),
        ))
    };
    let holds_version = |key: &str, version: &str, sha: &str| {
        versions
            .iter()
            .any(|v| v.key == key && v.version_id == version && v.sha256 == sha)
    };
    let holds = |job: &Job, sha: &str| {
        job.transfer.as_ref().is_some_and(|t| {
            t.sha256 == sha
                && job.s3.as_ref().is_some_and(|s3| {
                    versions
                        .iter()
                        .any(|v| v.key == s3.key && Some(&v.version_id) == t.s3_version_id.as_ref() && v.sha256 == sha)
                })
        })
    };
    for (path, sha) in originals {
        if observed.remote.contains(path) {
            continue;
        }
        let landed = observed
            .items
            .iter()
            .filter_map(recorded_landing)
            .any(|(from, key, version, landed)| from == *path && landed == *sha && holds_version(&key, &version, sha));
        if !landed {
            failures.push(format!("invariant: {path} was deleted from the server without its job recording an S3 version that holds its SHA-256 {sha}"));
        }
    }
    // Every COMPLETED job's landing stays addressable: its recorded version holds its digest.
    for job in observed.jobs().filter(|job| job.status == JobStatus::Completed) {
        if let Some(transfer) = &job.transfer
            && !holds(job, &transfer.sha256)
        {
            failures.push(format!(
                "invariant: job {} is COMPLETED but its recorded version {:?} does not hold SHA-256 {}",
                job.job_id, transfer.s3_version_id, transfer.sha256
            ));
        }
    }
    if let Err(e) = &observed.versions {
        failures.push(e.to_string());
    }
    // No multipart upload that no job records (a kept upload is its job's `upload`).
    match &observed.open_uploads {
        Ok(open) => {
            for (key, id) in open {
                let recorded = observed
                    .jobs()
                    .any(|job| job.upload.as_ref().is_some_and(|u| u.upload_id == *id));
                if !recorded {
                    failures.push(format!(
                        "invariant: an incomplete multipart upload at {key} ({id}) that no job records"
                    ));
                }
            }
        }
        Err(e) => failures.push(e.to_string()),
    }
    for (job, count) in observed.transfers_by_job() {
        let allowed = 1 + triggers.get(&job).copied().unwrap_or(0);
        if count > allowed {
            failures.push(format!(
                "invariant: job {job} was transferred by {count} executions (allowed {allowed})"
            ));
        }
    }
    failures
}
