//! TransferFile: FTPS → S3 → verify → delete the source, recording each stage on the job.
//!
//! The order is the pipeline's safety argument: the object only becomes visible after the
//! bytes read equal the remote SIZE and the server confirmed the transfer (226); it only counts
//! as landed after S3's size and CRC32C equal what was streamed; only then, and only if SIZE and
//! MDTM still say what they said before RETR, is the source deleted. Any failure before that
//! aborts the upload, so S3 never holds a partial file.
//!
//! A retry resumes from what the job records: after SOURCE_DELETED it only checks the object;
//! after VERIFIED it deletes an unchanged source without reading it again, and a source that is
//! gone while the recorded object stands means our own DELE went through.

use std::time::{Instant, SystemTime};

use tokio::io::AsyncReadExt;

use crate::error::PipelineError;
use crate::ftps::{Digest, DigestAlgorithm, Download, FtpsSession, SourceState, Timeouts};
use crate::job::{Job, S3Location, TransferRecord, TransferStage, UploadCheckpoint};
use crate::lease::Leases;
use crate::names;
use crate::secret::{FtpsEndpoint, SecretSource};
use crate::store::JobStore;
use crate::timestamp;
use crate::upload::{self, Upload, UploadSettings};
use sha2::Digest as _;

pub struct Transfer<'a> {
    pub store: &'a JobStore,
    pub s3: &'a aws_sdk_s3::Client,
    pub secrets: &'a SecretSource,
    pub landing_bucket: &'a str,
    pub upload: UploadSettings,
    pub timeouts: Timeouts,
    /// When streaming must stop (before the Lambda deadline, with time to clean up).
    pub deadline: Option<Instant>,
    pub leases: &'a Leases,
    /// The invocation's own deadline in wall-clock time: its connection lease expires then.
    pub lease_until: SystemTime,
}

/// Where a job lands: the item's own `s3` if it names one (it must be the landing bucket and a
/// safe key), else `<project>/<fileName>` in the landing bucket.
pub fn landing_location(job: &Job, landing_bucket: &str) -> Result<S3Location, PipelineError> {
    names::file_name(&job.file.file_name)?;
    let key = match &job.s3 {
        Some(s3) => {
            if s3.bucket != landing_bucket {
                return Err(PipelineError::InvalidJob(format!(
                    "s3.bucket {:?} is not the landing bucket {landing_bucket:?}",
                    s3.bucket
                )));
            }
            names::project_key(&job.project, &s3.key)?.to_string()
        }
        None => names::default_key(&job.project, &job.file.file_name)?,
    };
    Ok(S3Location {
        bucket: landing_bucket.to_string(),
        key,
    })
}

impl Transfer<'_> {
    pub async fn run(&self, job: &Job, execution_arn: &str) -> Result<(S3Location, TransferRecord), PipelineError> {
        let location = landing_location(job, self.landing_bucket)?;
        let path = names::remote_path(&job.file.remote_path)?;
        // What an earlier attempt of this execution, or the run a re-drive follows, landed and
        // recorded at VERIFIED; it only counts while the object still holds it.
        let landed_before = match (&job.transfer, &job.s3) {
            (Some(record), Some(s3)) if *s3 == location => Some(record),
            _ => None,
        };
        if job.transfer_stage == Some(TransferStage::SourceDeleted)
            && let Some(record) = landed_before
        {
            // The source is gone by our own DELE; only the record of it was left to answer.
            if upload::still_holds(self.s3, &location, record).await? {
                tracing::info!(key = %location.key, "resumed after SOURCE_DELETED: the landing stands");
                return Ok((location, record.clone()));
            }
            return Err(PipelineError::IntegrityMismatch(format!(
                "the source was deleted after landing, but s3://{}/{} no longer holds the recorded version",
                location.bucket, location.key
            )));
        }
        let endpoint = self.secrets.endpoint(&job.pipeline).await?;
        endpoint.settings.permits(&job.project, path)?;
        let settings = &endpoint.settings;
        // One job at a time lands at a key: taken before the connection, so a job waiting for
        // the key holds no FTPS session.
        let key_lease = self
            .leases
            .acquire_key(&location, &job.job_id, execution_arn, self.lease_until)
            .await?;
        let lease = match self
            .leases
            .acquire(
                &settings.server(),
                settings.max_connections(),
                &job.job_id,
                execution_arn,
                self.lease_until,
            )
            .await
        {
            Ok(lease) => lease,
            Err(e) => {
                self.leases.release(key_lease).await;
                return Err(e);
            }
        };
        let result = self
            .connected(job, execution_arn, &endpoint, path, location, landed_before)
            .await;
        self.leases.release(lease).await;
        self.leases.release(key_lease).await;
        result
    }

    /// A step after the stream starts only while the invocation has time left (the stop point,
    /// before Lambda's deadline): otherwise the attempt ends `DeadlineExceeded` at the stage it
    /// recorded, and the next one goes on from there.
    fn before(&self, step: &str) -> Result<(), PipelineError> {
        match self.deadline {
            Some(at) if Instant::now() >= at => Err(PipelineError::DeadlineExceeded(format!(
                "the invocation's time ran out before {step}; the next attempt goes on from the recorded stage"
            ))),
            _ => Ok(()),
        }
    }

    /// Everything that needs the FTPS session, run under a connection lease.
    async fn connected(
        &self,
        job: &Job,
        execution_arn: &str,
        endpoint: &FtpsEndpoint,
        path: &str,
        location: S3Location,
        landed_before: Option<&TransferRecord>,
    ) -> Result<(S3Location, TransferRecord), PipelineError> {
        let key = job.key();
        if landed_before.is_none() {
            self.store.stage(&key, execution_arn, TransferStage::Connecting).await?;
        }
        let mut session = match FtpsSession::connect(&endpoint.settings, endpoint.tls.clone(), self.timeouts).await {
            Err(err @ PipelineError::FtpsAuthFailed(_)) => {
                self.secrets.forget(&job.pipeline);
                return Err(err);
            }
            other => other?,
        };
        let digest = session.digest_offered().await;
        let held = held_name(path, &job.job_id);
        let source = match session.source(path).await {
            Err(PipelineError::RemoteFileNotFound(gone)) => {
                // A source held under its private name: a crash between the rename and DELE.
                let held_now = match session.source(&held).await {
                    Ok(now) => Some(now),
                    Err(PipelineError::RemoteFileNotFound(_)) => None,
                    Err(e) => return Err(e),
                };
                let stands = match landed_before {
                    Some(record) => upload::still_holds(self.s3, &location, record).await?,
                    None => false,
                };
                match (held_now, landed_before.filter(|_| stands)) {
                    (None, None) => return Err(PipelineError::RemoteFileNotFound(gone)),
                    (None, Some(record)) => {
                        // Our DELE went through but its answer, or the stage write after it, was lost.
                        tracing::info!(key = %location.key, "resumed: the source is gone and the landing stands");
                        self.store
                            .stage(&key, execution_arn, TransferStage::SourceDeleted)
                            .await?;
                        session.quit().await;
                        return Ok((location, record.clone()));
                    }
                    (Some(now), Some(record)) => {
                        let landing = Landing { record, resumed: false };
                        let read = SourceState {
                            size: record.bytes,
                            modified: record.source_modified_at.clone(),
                        };
                        self.store.confirm_owner(&key, execution_arn).await?;
                        let checked = match self
                            .check_source(&mut session, &held, &now, &read, &landing, digest)
                            .await
                        {
                            Ok(()) => self.before("DELE"),
                            Err(e) => Err(e),
                        };
                        let deleted = match checked {
                            Ok(()) => session.delete(&held).await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = deleted {
                            put_back(&mut session, &held, path).await;
                            return Err(e);
                        }
                        tracing::info!(key = %location.key, "resumed: deleted the source held after its check");
                        self.store
                            .stage(&key, execution_arn, TransferStage::SourceDeleted)
                            .await?;
                        session.quit().await;
                        return Ok((location, record.clone()));
                    }
                    (Some(_), None) => {
                        // Held, but no landing stands for it: back to its name, and transferred.
                        session.rename(&held, path).await?;
                        session.source(path).await?
                    }
                }
            }
            Err(e) => return Err(e),
            Ok(source) => source,
        };
        let landed = {
            let kept = match landed_before {
                Some(record)
                    if record.bytes == source.size
                        && record.source_modified_at.is_some()
                        && record.source_modified_at == source.modified
                        && upload::still_holds(self.s3, &location, record).await? =>
                {
                    self.same_version(&mut session, path, &source, record, digest).await?
                }
                _ => false,
            };
            if kept {
                tracing::info!(key = %location.key, "resumed after VERIFIED: the source is unchanged");
                (landed_before.cloned().expect("kept only with a record"), false)
            } else {
                self.land(&mut session, job, execution_arn, path, &location, &source, digest)
                    .await?
            }
        };
        let (record, resumed) = landed;
        let landing = Landing {
            record: &record,
            resumed,
        };
        self.release_source(
            &mut session,
            job,
            execution_arn,
            path,
            &source,
            &landing,
            &location,
            digest,
        )
        .await?;
        self.store
            .stage(&key, execution_arn, TransferStage::SourceDeleted)
            .await?;
        session.quit().await;
        Ok((location, record))
    }

    /// Whether the source still is the version an earlier attempt landed, without reading it
    /// again: the server's SHA-256 where it offers one, else SIZE and MDTM (already equal) when
    /// the MDTM is older than that read (`unchanged_since`).
    async fn same_version(
        &self,
        session: &mut FtpsSession,
        path: &str,
        source: &SourceState,
        record: &TransferRecord,
        digest: Option<Digest>,
    ) -> Result<bool, PipelineError> {
        if let Some((digest, landed)) = digest.and_then(|d| Some((d, record.digest(d.algorithm())?))) {
            return Ok(session.digest(path, source.size, digest).await? == landed);
        }
        let trusted = unchanged_since(source.modified.as_deref(), record.source_read_at.as_deref());
        if !trusted {
            tracing::info!(%path, "reading the source again: its MDTM is not older than the read that landed it");
        }
        Ok(trusted)
    }

    /// Deletes the source the landing holds, as close to DELE as FTP allows: the file is renamed
    /// to a private name in its directory (a producer writing by path then writes a new file),
    /// the renamed file is checked - SIZE and MDTM equal to what was read, and the server's
    /// digest equal to what landed where it offers one - and only then deleted. A check that
    /// fails puts the file back (when nothing took its name meanwhile) and ends `SourceChanged`.
    /// A server that refuses the rename is checked and deleted in place.
    #[allow(clippy::too_many_arguments)]
    async fn release_source(
        &self,
        session: &mut FtpsSession,
        job: &Job,
        execution_arn: &str,
        path: &str,
        read: &SourceState,
        landing: &Landing<'_>,
        location: &S3Location,
        digest: Option<Digest>,
    ) -> Result<(), PipelineError> {
        self.before("checking the source before DELE")?;
        // An invocation its execution abandoned stops here, before it touches the source.
        self.store.confirm_owner(&job.key(), execution_arn).await?;
        let held = held_name(path, &job.job_id);
        // A file already under the held name (one a failed check could not put back) is never
        // renamed over: this source is then checked in place.
        let free = match session.size(&held).await {
            Err(PipelineError::RemoteFileNotFound(_)) => true,
            Ok(_) => {
                tracing::warn!(%held, "the held name is taken; checking the source in place");
                false
            }
            Err(e) => return Err(e),
        };
        let renamed = if free {
            match session.rename(path, &held).await {
                Ok(()) => true,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    tracing::warn!(%path, error = %e, "the server refuses to rename the source; checking it in place");
                    false
                }
            }
        } else {
            false
        };
        let target = if renamed { held.as_str() } else { path };
        let checked = match session.source(target).await {
            Ok(now) => self.check_source(session, target, &now, read, landing, digest).await,
            Err(PipelineError::RemoteFileNotFound(_)) => Err(PipelineError::SourceChanged(format!(
                "{path} was {} when read and is gone now",
                describe(Some(read))
            ))),
            Err(e) => Err(e),
        };
        let checked = checked.and_then(|()| self.before("DELE"));
        let deleted = match checked {
            Ok(()) => session.delete(target).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            if renamed {
                put_back(session, &held, path).await;
            }
            if matches!(e, PipelineError::SourceChanged(_)) && landing.resumed {
                // A resumed landing may be spliced from two versions of the file: it is no
                // version of the source, so it does not stay.
                upload::delete_version(self.s3, location, landing.record.s3_version_id.as_deref()).await;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Fails `SourceChanged` unless the file at `target` (`now`, as SIZE and MDTM describe it)
    /// is the version that was read and landed.
    async fn check_source(
        &self,
        session: &mut FtpsSession,
        target: &str,
        now: &SourceState,
        read: &SourceState,
        landing: &Landing<'_>,
        digest: Option<Digest>,
    ) -> Result<(), PipelineError> {
        if now != read {
            return Err(PipelineError::SourceChanged(format!(
                "{target} was {} when read and is {} now; it stays on the server",
                describe(Some(read)),
                describe(Some(now))
            )));
        }
        let Some(digest) = digest else {
            return Ok(());
        };
        let Some(landed) = landing.record.digest(digest.algorithm()) else {
            // An MD5-only server and a resumed upload (whose MD5 was not taken): SIZE and MDTM
            // are all there is.
            return Ok(());
        };
        let name = match digest.algorithm() {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Md5 => "MD5",
        };
        let server = session.digest(target, now.size, digest).await?;
        if server != landed {
            return Err(PipelineError::SourceChanged(format!(
                "{target} has the same SIZE and MDTM as when it was read, but the server's {name} of it is {server} and what landed has {landed}; it stays on the server"
            )));
        }
        Ok(())
    }

    /// RETR streamed into a verified object, recorded at VERIFIED; with the content's MD5 when
    /// the server's digest is MD5, and whether it continued a kept upload.
    #[allow(clippy::too_many_arguments)]
    async fn land(
        &self,
        session: &mut FtpsSession,
        job: &Job,
        execution_arn: &str,
        path: &str,
        location: &S3Location,
        source: &SourceState,
        digest: Option<Digest>,
    ) -> Result<(TransferRecord, bool), PipelineError> {
        let started = Instant::now();
        let key = job.key();
        self.store.stage(&key, execution_arn, TransferStage::Streaming).await?;
        let resumed = self.resumable(session, job, location, source).await?;
        let was_resumed = resumed.is_some();
        // When the first read of the bytes that land began: this one, or the resumed upload's.
        let read_at = match (&resumed, &job.upload) {
            (Some(_), Some(checkpoint)) => checkpoint.source_read_at.clone(),
            _ => Some(timestamp::now()),
        };
        // The upload this job recorded and does not continue: nobody else's is ever touched.
        if let Some(recorded) = &job.upload
            && resumed.as_ref().and_then(Upload::upload_id) != Some(recorded.upload_id.as_str())
        {
            upload::abort_upload(self.s3, location, &recorded.upload_id).await?;
            tracing::info!(key = %location.key, upload_id = %recorded.upload_id, "aborted the upload an earlier attempt recorded");
        }
        let (mut upload, download) = match resumed {
            Some(upload) => {
                let offset = upload.bytes();
                tracing::info!(key = %location.key, offset, "resuming the upload with REST");
                let download = session.retrieve_from(path, offset).await?;
                (upload, download)
            }
            None => {
                let settings = self.upload.for_size(source.size)?;
                // A server whose only digest is MD5 is checked against the content's MD5,
                // taken as it streams (the SHA-256 is always taken).
                let mut upload = if digest.is_some_and(|d| d.algorithm() == DigestAlgorithm::Md5) {
                    Upload::new_with_md5(self.s3.clone(), location.clone(), settings)?
                } else {
                    Upload::new(self.s3.clone(), location.clone(), settings)?
                };
                if source.size >= upload.part_size() {
                    // Recorded before S3 holds a byte of it: every multipart upload is one a
                    // job records (only a crash between these two calls leaves one that no job
                    // does, for the bucket's lifecycle rule).
                    let upload_id = upload.open().await?;
                    let recorded = UploadCheckpoint {
                        upload_id,
                        part_size: upload.part_size(),
                        parts: 0,
                        bytes: 0,
                        sha256_state: upload::initial_sha256_state(),
                        part_crcs: String::new(),
                        source_size: source.size,
                        source_modified_at: source.modified.clone(),
                        source_read_at: read_at.clone(),
                    };
                    if let Err(e) = self.store.checkpoint(&key, execution_arn, &recorded).await {
                        upload.abort().await;
                        return Err(e);
                    }
                }
                (upload, session.retrieve(path).await?)
            }
        };
        // Progress is measured against what the job recorded before this attempt, whichever
        // upload that was: an attempt that had to start over moves nothing on until it gets past
        // it (else a source that can never be resumed would count as progress every time).
        let parts_before = upload
            .recorded_parts()
            .max(job.upload.as_ref().map_or(0, |recorded| recorded.parts));
        let mut checkpoints = Checkpoints {
            store: self.store,
            job,
            execution_arn,
            source,
            read_at: read_at.clone(),
            writing: None,
        };
        let streamed = match stream(
            download,
            session,
            &mut upload,
            path,
            source.size,
            self.deadline,
            &mut checkpoints,
        )
        .await
        {
            Ok(()) => match upload.seal().await {
                Ok(()) => checkpoints.wait().await,
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        if let Err(err) = streamed {
            match err {
                // What is in S3 stays for the next attempt, which reads on from there: the data
                // connection dropped, time ran out, or S3 or DynamoDB answered with a transient
                // error after the SDK's own retries.
                PipelineError::TransientNetwork(_)
                | PipelineError::DeadlineExceeded(_)
                | PipelineError::AwsServiceUnavailable(_) => {
                    upload.settle().await;
                    checkpoints.flush(&mut upload).await?;
                    let recorded = upload.recorded_parts();
                    if recorded > parts_before {
                        // Progress does not use up the retry budget of faults: a file that
                        // needs many Lambda runs keeps going while each one moves it on.
                        return Err(PipelineError::PartialProgress(format!(
                            "{} parts recorded, {parts_before} at the start of this attempt; the next attempt resumes ({}: {err})",
                            recorded,
                            err.name()
                        )));
                    }
                }
                // The job is another execution's now, and so is the upload it records (which
                // the new owner may be continuing): left as it is, never aborted from here.
                PipelineError::JobNotRunning(_) => {}
                _ => {
                    // Its outcome no longer matters; only that it cannot land after the abort.
                    let _ = checkpoints.wait().await;
                    upload.abort().await;
                }
            }
            return Err(err);
        }
        // Ownership up to the last write: a conditional write on the job right before the
        // object becomes visible. An invocation its execution abandoned stops here.
        let owned = match self.before("completing the upload") {
            Ok(()) => self.store.confirm_owner(&key, execution_arn).await,
            Err(e) => Err(e),
        };
        if let Err(e) = owned {
            if matches!(e, PipelineError::DeadlineExceeded(_)) {
                // Every part is in S3 and recorded up to the last whole one: the next attempt
                // resumes instead of reading the file again.
                upload.settle().await;
                checkpoints.flush(&mut upload).await?;
                return Err(e);
            }
            // Lost the job: the upload it records is the new owner's to continue or abort.
            if !matches!(e, PipelineError::JobNotRunning(_)) {
                upload.abort().await;
            }
            return Err(e);
        }
        let landed = upload.complete().await?;
        tracing::info!(bytes = landed.bytes, sha256 = %landed.sha256_hex, key = %location.key, "landed and verified");
        let record = TransferRecord {
            bytes: landed.bytes,
            sha256: landed.sha256_hex.clone(),
            md5: landed.md5_hex.clone(),
            s3_checksum_crc32c: landed.checksum_crc32c.clone(),
            s3_version_id: landed.version_id.clone(),
            parts: landed.parts,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            source_modified_at: source.modified.clone(),
            source_read_at: read_at,
        };
        if let Err(e) = self.store.verified(&key, execution_arn, location, &record).await {
            if matches!(e, PipelineError::JobNotRunning(_)) {
                // Lost the job between the check and the Complete (a late invocation): what it
                // landed is nobody's landing. Its own version goes, and only that.
                upload::delete_version(self.s3, location, record.s3_version_id.as_deref()).await;
            }
            return Err(e);
        }
        Ok((record, was_resumed))
    }

    /// The upload an earlier attempt left, if this attempt may continue it: same key, the
    /// source unchanged (SIZE and MDTM, which must exist), S3 still holding every part the
    /// checkpoint names, and a server that takes REST. Otherwise None (a fresh upload; the old
    /// one is aborted as stale).
    async fn resumable(
        &self,
        session: &mut FtpsSession,
        job: &Job,
        location: &S3Location,
        source: &SourceState,
    ) -> Result<Option<Upload>, PipelineError> {
        let Some(checkpoint) = &job.upload else {
            return Ok(None);
        };
        let unchanged = checkpoint.source_size == source.size
            && checkpoint.source_modified_at.is_some()
            && checkpoint.source_modified_at == source.modified;
        if !unchanged || checkpoint.bytes >= source.size {
            tracing::info!(key = %location.key, "not resuming: the source changed since the checkpoint");
            return Ok(None);
        }
        if !unchanged_since(source.modified.as_deref(), checkpoint.source_read_at.as_deref()) {
            // Its MDTM is not older than the read: a same-size rewrite within that second would
            // keep it, and the object would be spliced from two versions.
            tracing::info!(key = %location.key, "not resuming: the source's MDTM is not older than the checkpoint's read");
            return Ok(None);
        }
        let Some(state) = upload::sha256_state(checkpoint) else {
            tracing::warn!(key = %location.key, "not resuming: the checkpoint's SHA-256 state cannot be read; starting over");
            return Ok(None);
        };
        let Some(parts) = upload::listed_parts(self.s3, location, checkpoint).await? else {
            tracing::info!(key = %location.key, "not resuming: S3 no longer holds the checkpoint's parts");
            return Ok(None);
        };
        if !session.supports_rest().await? {
            tracing::info!(key = %location.key, "not resuming: the server refuses REST; starting over");
            return Ok(None);
        }
        // As many parts in flight as a fresh upload of this file would have (its part size is
        // the checkpoint's, normally the same as SIZE gives).
        let settings = self.upload.for_size(source.size)?;
        Upload::resume(self.s3.clone(), location.clone(), settings, checkpoint, state, parts).map(Some)
    }
}

/// Records the checkpoint on the job as parts are confirmed, off the reading path: one write at
/// a time, each with the newest state. Awaiting a DynamoDB write per part in the read loop was a
/// third of the transfer's time in the benchmark (2.6 of 7.6 s for 2 GiB against moto).
struct Checkpoints<'a> {
    store: &'a JobStore,
    job: &'a Job,
    execution_arn: &'a str,
    source: &'a SourceState,
    read_at: Option<String>,
    writing: Option<tokio::task::JoinHandle<Result<(), PipelineError>>>,
}

impl Checkpoints<'_> {
    /// How far the upload got, if that moved since the last call: the next attempt resumes from it.
    fn next(&self, upload: &mut Upload) -> Option<UploadCheckpoint> {
        let (Some((parts, bytes, sha256_state, part_crcs)), Some(upload_id)) = (upload.advanced(), upload.upload_id())
        else {
            return None;
        };
        Some(UploadCheckpoint {
            upload_id: upload_id.to_string(),
            part_size: upload.part_size(),
            parts,
            bytes,
            sha256_state,
            part_crcs,
            source_size: self.source.size,
            source_modified_at: self.source.modified.clone(),
            source_read_at: self.read_at.clone(),
        })
    }

    /// Starts writing the newest checkpoint unless a write is still under way (the next call
    /// writes whatever is newest then). An earlier write that failed (the job is no longer this
    /// execution's) ends the transfer.
    async fn offer(&mut self, upload: &mut Upload) -> Result<(), PipelineError> {
        if self.writing.as_ref().is_some_and(|writing| !writing.is_finished()) {
            return Ok(());
        }
        self.wait().await?;
        if let Some(checkpoint) = self.next(upload) {
            let store = self.store.clone();
            let (key, execution_arn) = (self.job.key(), self.execution_arn.to_string());
            self.writing = Some(tokio::spawn(async move {
                store.checkpoint(&key, &execution_arn, &checkpoint).await
            }));
        }
        Ok(())
    }

    /// Waits for the write under way, if any.
    async fn wait(&mut self) -> Result<(), PipelineError> {
        match self.writing.take() {
            None => Ok(()),
            Some(writing) => writing
                .await
                .map_err(|e| PipelineError::AwsServiceUnavailable(format!("checkpoint write: {e}")))?,
        }
    }

    /// Writes the newest checkpoint and waits for it: what an interrupted attempt leaves.
    async fn flush(&mut self, upload: &mut Upload) -> Result<(), PipelineError> {
        self.wait().await?;
        self.offer(upload).await?;
        self.wait().await
    }
}

/// What a landing leaves for the source's release: its record, and whether the upload was
/// resumed (so possibly spliced, should the source prove to have changed).
struct Landing<'a> {
    record: &'a TransferRecord,
    resumed: bool,
}

/// How far the server's clock may run behind the Lambda's for SIZE and MDTM to vouch for a
/// source (MDTM is the server's time, the read's is the Lambda's).
const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether SIZE and MDTM, unchanged since a read that began at `read_at`, vouch for the same
/// bytes: only when the MDTM's whole second ended before that read began (less the clock skew
/// allowed). A writer that rewrites the file within the second it was last written, or while
/// it is being read, leaves the same MDTM; that second is excluded. A writer that sets the
/// old modification time back (`touch -r`, MFMT) is not detected by this: only the server's
/// digest tells (ARCHITECTURE.md, "Source identity").
pub fn unchanged_since(modified: Option<&str>, read_at: Option<&str>) -> bool {
    let (Some(modified), Some(read_at)) = (modified.and_then(timestamp::parse), read_at.and_then(timestamp::parse))
    else {
        return false;
    };
    modified + time::Duration::SECOND + CLOCK_SKEW <= read_at
}

/// The private name a source is held under between its check and DELE: in its own directory
/// (a rename never crosses file systems), hidden, and the job's own.
pub fn held_name(path: &str, job_id: &str) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let job = hex::encode(&sha2::Sha256::digest(job_id.as_bytes())[..8]);
    format!("{dir}/.filechecks-{job}-{name}")
}

/// Renames a held source back to its path, unless a new file took that name meanwhile (then it
/// stays held, and the error says where).
async fn put_back(session: &mut FtpsSession, held: &str, path: &str) {
    match session.size(path).await {
        Err(PipelineError::RemoteFileNotFound(_)) => {
            if let Err(e) = session.rename(held, path).await {
                tracing::error!(%held, %path, error = %e, "could not put the source back; it stays under its held name");
            }
        }
        _ => {
            tracing::error!(%held, %path, "a new file took the source's name; the checked one stays under its held name")
        }
    }
}

fn describe(source: Option<&SourceState>) -> String {
    match source {
        None => "gone".to_string(),
        Some(SourceState {
            size,
            modified: Some(at),
        }) => format!("{size} bytes modified {at}"),
        Some(SourceState { size, modified: None }) => format!("{size} bytes"),
    }
}

/// Copies the download into the upload, then checks the server's transfer reply and the size.
async fn stream(
    mut download: Download,
    session: &mut FtpsSession,
    upload: &mut Upload,
    path: &str,
    size: u64,
    deadline: Option<Instant>,
    checkpoints: &mut Checkpoints<'_>,
) -> Result<(), PipelineError> {
    let read_timeout = session.timeouts().read;
    let stop = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    loop {
        let streamed = upload.bytes();
        // Straight into the part being filled: no copy between the TLS stream and the part.
        let read = tokio::select! {
            read = tokio::time::timeout(read_timeout, download.read(upload.spare())) => read,
            () = &mut stop => {
                return Err(PipelineError::DeadlineExceeded(format!(
                    "{path}: {streamed} of {size} bytes streamed when the invocation's time ran out; the next attempt resumes"
                )));
            }
        };
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                return Err(PipelineError::TransientNetwork(format!(
                    "data connection for {path} failed after {} bytes: {e}",
                    upload.bytes()
                )));
            }
            Err(_) => {
                return Err(PipelineError::TransientNetwork(format!(
                    "data connection for {path} silent for {} s after {} bytes",
                    read_timeout.as_secs(),
                    upload.bytes()
                )));
            }
        };
        if n == 0 {
            break;
        }
        upload.commit(n).await?;
        checkpoints.offer(upload).await?;
    }
    session.finish(download, path).await?;
    if upload.bytes() != size {
        return Err(PipelineError::IntegrityMismatch(format!(
            "read {} bytes of {path}, the server's SIZE is {size}",
            upload.bytes()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SIZE and MDTM vouch for a source only when its MDTM's whole second ended, with the clock
    /// skew allowed, before the read began: a same-size rewrite within the second of the last
    /// write (or during the read) keeps both, and would splice a resumed object.
    #[test]
    fn size_and_mdtm_vouch_only_for_a_file_last_written_before_the_read() {
        let read_at = Some("2026-12-06T10:00:10.500000+00:00");
        for (mdtm, trusted) in [
            ("2026-12-06T09:00:00Z", true),
            ("2026-12-06T10:00:07Z", true),
            ("2026-12-06T10:00:08Z", false),
            ("2026-12-06T10:00:10Z", false),
            ("2026-12-06T10:00:11Z", false),
        ] {
            assert_eq!(unchanged_since(Some(mdtm), read_at), trusted, "MDTM {mdtm}");
        }
        assert!(!unchanged_since(None, read_at), "no MDTM");
        assert!(!unchanged_since(Some("2026-12-06T09:00:00Z"), None), "no recorded read");
        assert!(!unchanged_since(Some("not a time"), read_at));
    }

    #[test]
    fn the_held_name_is_hidden_in_the_source_directory_and_the_job_s_own() {
        let held = held_name("/in/deep/r.csv", "job-1");
        assert!(
            held.starts_with("/in/deep/.filechecks-") && held.ends_with("-r.csv"),
            "{held}"
        );
        assert_ne!(held, held_name("/in/deep/r.csv", "job-2"));
        assert!(crate::names::remote_path(&held).is_ok(), "{held}");
    }
}
