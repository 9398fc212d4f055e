//! Streams bytes into one S3 object without holding the file: parts of `part_size` are uploaded
//! while the next one fills, at most `parts_in_flight` at a time, so memory stays at about
//! `(parts_in_flight + 1) × part_size` (two parts more while the SHA-256 thread lags) whatever
//! the file size. A file smaller than one part is a
//! single PutObject. Every part carries its CRC32C, which S3 checks on receipt; the upload is a
//! `FULL_OBJECT` one, so completion states the whole file's CRC32C (combined from the parts',
//! which a checkpoint records, so it survives resumption) and S3 checks it; the object's
//! checksum is then read back and compared before the landing counts as verified.
//!
//! The caller reads straight into the part being filled (`spare`, then `commit`), and the file's
//! SHA-256 runs on a thread of its own over sealed parts: in the transfer benchmark the task
//! reading the data connection was the serial bottleneck, and it now only decrypts, copies once
//! and takes the CRC32C.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::error::PipelineError;
use crate::job::{S3Location, TransferRecord, UploadCheckpoint};

/// S3's smallest part (but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct UploadSettings {
    pub part_size: usize,
    pub parts_in_flight: usize,
}

/// S3's most parts per upload, and its largest part and object.
pub const MAX_PARTS: u64 = 10_000;
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;

impl UploadSettings {
    /// The settings for a file of `size` bytes: the configured part size unless the file would
    /// need more than S3's 10,000 parts, then the smallest whole MiB that fits it in 10,000; as
    /// parts grow, fewer are in flight, so memory stays within what the configured settings use
    /// (but never below two parts). A file beyond S3's 5 TiB is refused by name.
    pub fn for_size(self, size: u64) -> Result<Self, PipelineError> {
        if size > MAX_OBJECT_SIZE {
            return Err(PipelineError::InvalidJob(format!(
                "the file is {size} bytes; an S3 object holds at most {MAX_OBJECT_SIZE} (5 TiB)"
            )));
        }
        const MIB: u64 = 1024 * 1024;
        let configured = (self.part_size.max(MIN_PART_SIZE)) as u64;
        let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        let part_size = configured.max(needed).min(MAX_PART_SIZE);
        let budget = configured * (self.parts_in_flight.max(1) as u64 + 1);
        let parts_in_flight = (budget / part_size)
            .saturating_sub(1)
            .clamp(1, self.parts_in_flight.max(1) as u64);
        Ok(Self {
            part_size: usize::try_from(part_size).unwrap_or(usize::MAX),
            parts_in_flight: parts_in_flight as usize,
        })
    }
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            part_size: 8 * 1024 * 1024,
            parts_in_flight: 3,
        }
    }
}

/// The verified result of an upload.
#[derive(Debug, Clone)]
pub struct Landed {
    pub bytes: u64,
    pub sha256_hex: String,
    /// The whole file's CRC32C as S3 reports it (base64).
    pub checksum_crc32c: String,
    pub parts: u32,
    pub version_id: Option<String>,
    /// The content's MD5 (hex), when the upload was asked for it from the first byte: what a
    /// server that only offers MD5 digests is compared with.
    pub md5_hex: Option<String>,
}

/// An upload in progress. Call `complete` or `abort`; dropping it without either leaves an
/// unfinished multipart upload for the bucket's lifecycle rule to clean up.
pub struct Upload {
    s3: Client,
    location: S3Location,
    settings: UploadSettings,
    /// The part being filled: `part_size` long, its first `filled` bytes read so far.
    buffer: Vec<u8>,
    filled: usize,
    /// Part buffers the S3 client gave back once it sent them.
    pool: PartPool,
    part_crc: u32,
    hasher: Hasher,
    bytes: u64,
    upload_id: Option<String>,
    next_part: i32,
    in_flight: JoinSet<Result<(CompletedPart, u32), PipelineError>>,
    done: Vec<(CompletedPart, u32)>,
    /// The SHA-256 state after each sealed part, as the hasher reports it, until a checkpoint
    /// covers it.
    sealed: std::collections::BTreeMap<i32, String>,
    /// The parts the last checkpoint handed out covered.
    checkpointed: u32,
    /// Whether a part was confirmed or hashed since `advanced` last looked.
    moved: bool,
}

/// The file's SHA-256 on a thread of its own (named `sha256`, so `top -H` and the benchmark see
/// it), fed sealed parts in order. It reports the state at each part's end (what a checkpoint
/// records, so a resumed transfer still yields the whole file's digest). At most one part waits
/// for it, so it adds at most two part buffers to memory.
struct Hasher {
    /// None once `finish` closed it.
    parts: Option<tokio::sync::mpsc::Sender<(i32, Bytes)>>,
    states: tokio::sync::mpsc::UnboundedReceiver<(i32, String)>,
    /// The last part whose state was received.
    reported: i32,
    digest: tokio::sync::oneshot::Receiver<(Sha256, Option<md5::Md5>)>,
}

impl Hasher {
    fn start(mut sha256: Sha256, mut md5: Option<md5::Md5>) -> Result<Self, PipelineError> {
        let (parts, mut incoming) = tokio::sync::mpsc::channel::<(i32, Bytes)>(1);
        let (reports, states) = tokio::sync::mpsc::unbounded_channel();
        let (finished, digest) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                while let Some((number, body)) = incoming.blocking_recv() {
                    sha256.update(&body);
                    if let Some(md5) = &mut md5 {
                        md5.update(&body);
                    }
                    drop(body);
                    // The receivers are gone only when the upload is: nobody needs the state then.
                    let _ = reports.send((number, BASE64.encode(sha256.serialize().as_slice())));
                }
                let _ = finished.send((sha256, md5));
            })
            .map_err(|e| PipelineError::AwsServiceUnavailable(format!("cannot start the SHA-256 thread: {e}")))?;
        Ok(Self {
            parts: Some(parts),
            states,
            reported: 0,
            digest,
        })
    }

    fn stopped() -> PipelineError {
        PipelineError::AwsServiceUnavailable("the SHA-256 thread stopped".into())
    }

    /// Hands part `number` over; waits while the part before it is still queued.
    async fn hash(&self, number: i32, body: Bytes) -> Result<(), PipelineError> {
        let parts = self.parts.as_ref().ok_or_else(Self::stopped)?;
        parts.send((number, body)).await.map_err(|_| Self::stopped())
    }

    /// Moves the states reported so far into `into`; whether there were any.
    fn collect(&mut self, into: &mut std::collections::BTreeMap<i32, String>) -> bool {
        let mut any = false;
        while let Ok((number, state)) = self.states.try_recv() {
            into.insert(number, state);
            self.reported = number;
            any = true;
        }
        any
    }

    /// Waits until part `number`'s state is reported (into `into`); parts are hashed in order.
    async fn wait_for(&mut self, number: i32, into: &mut std::collections::BTreeMap<i32, String>) {
        while self.reported < number {
            let Some((n, state)) = self.states.recv().await else {
                return;
            };
            into.insert(n, state);
            self.reported = n;
        }
    }

    /// The digests of everything handed over: SHA-256, and MD5 if it was asked for.
    async fn finish(&mut self) -> Result<(String, Option<String>), PipelineError> {
        self.parts = None;
        let (sha256, md5) = (&mut self.digest).await.map_err(|_| Self::stopped())?;
        Ok((hex::encode(sha256.finalize()), md5.map(|m| hex::encode(m.finalize()))))
    }
}

fn s3_error<E>(
    context: &str,
    err: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> PipelineError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    PipelineError::from_sdk(context, err)
}

/// What S3 reports of an object: its size and CRC32C.
struct ObjectState {
    size: i64,
    checksum_crc32c: String,
}

impl ObjectState {
    fn compare(&self, location: &S3Location, bytes: u64, checksum: &str) -> Result<(), PipelineError> {
        if self.size != bytes as i64 {
            return Err(PipelineError::IntegrityMismatch(format!(
                "s3://{}/{} holds {} bytes, {bytes} were streamed",
                location.bucket, location.key, self.size
            )));
        }
        if !same_checksum(&self.checksum_crc32c, checksum) {
            return Err(PipelineError::IntegrityMismatch(format!(
                "s3://{}/{} reports CRC32C {:?}, the streamed content has {checksum}",
                location.bucket, location.key, self.checksum_crc32c
            )));
        }
        Ok(())
    }
}

/// HeadObject with checksums; `None` when the object (or that version) does not exist.
async fn object_state(
    s3: &Client,
    location: &S3Location,
    version_id: Option<&str>,
) -> Result<Option<ObjectState>, PipelineError> {
    let result = s3
        .head_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .set_version_id(version_id.map(str::to_string))
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    match result {
        Ok(head) => Ok(Some(ObjectState {
            size: head.content_length.unwrap_or(-1),
            checksum_crc32c: head.checksum_crc32_c.unwrap_or_default(),
        })),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(s3_error("HeadObject", e)),
    }
}

/// Whether the object still holds what an earlier attempt landed and recorded (its version, if
/// the bucket is versioned; its size and CRC32C): the evidence a resumed transfer relies on.
pub async fn still_holds(s3: &Client, location: &S3Location, record: &TransferRecord) -> Result<bool, PipelineError> {
    Ok(object_state(s3, location, record.s3_version_id.as_deref())
        .await?
        .is_some_and(|found| {
            found
                .compare(location, record.bytes, &record.s3_checksum_crc32c)
                .is_ok()
        }))
}

/// Parts `1..=checkpoint.parts` of the checkpoint's upload as S3 lists them (all `part_size`
/// long; a CRC32C S3 lists must be the recorded one); None when the upload is gone or does not
/// hold them all.
pub async fn listed_parts(
    s3: &Client,
    location: &S3Location,
    checkpoint: &UploadCheckpoint,
) -> Result<Option<Vec<(CompletedPart, u32)>>, PipelineError> {
    let (upload_id, count, part_size) = (&checkpoint.upload_id, checkpoint.parts, checkpoint.part_size);
    let recorded: Vec<u32> = BASE64
        .decode(&checkpoint.part_crcs)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if recorded.len() != count as usize {
        return Ok(None);
    }
    let mut parts = Vec::new();
    let mut marker = None;
    loop {
        let page = match s3
            .list_parts()
            .bucket(&location.bucket)
            .key(&location.key)
            .upload_id(upload_id)
            .set_part_number_marker(marker.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if e.as_service_error().is_some_and(|s| s.code() == Some("NoSuchUpload")) => return Ok(None),
            Err(e) => return Err(s3_error("ListParts", e)),
        };
        for part in page.parts() {
            let Some(number) = part.part_number().filter(|n| *n >= 1 && *n as u32 <= count) else {
                continue;
            };
            let crc = recorded[number as usize - 1];
            let listed = part.checksum_crc32_c();
            if listed.is_some_and(|listed| listed != crc_text(crc)) {
                return Ok(None);
            }
            if part.size() == Some(part_size as i64) {
                let completed = CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_string))
                    .checksum_crc32_c(crc_text(crc))
                    .build();
                parts.push((completed, crc));
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        marker = page.next_part_number_marker().map(str::to_string);
    }
    parts.sort_by_key(|(p, _)| p.part_number);
    parts.dedup_by_key(|(p, _)| p.part_number);
    Ok((parts.len() as u32 == count).then_some(parts))
}

/// Fails with `BucketNotVersioned` unless the bucket's versioning is Enabled: every landing
/// must stay addressable by its version, whoever lands at the same key after it.
pub async fn require_versioning(s3: &Client, bucket: &str) -> Result<(), PipelineError> {
    let out = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| s3_error("GetBucketVersioning", e))?;
    match out.status() {
        Some(aws_sdk_s3::types::BucketVersioningStatus::Enabled) => Ok(()),
        status => Err(PipelineError::BucketNotVersioned(format!(
            "s3://{bucket} has versioning {}; TransferFile lands only where every landing keeps its own version \
             (enable versioning on the bucket)",
            status.map_or("never enabled", |s| s.as_str())
        ))),
    }
}

/// Deletes exactly one version this invocation created and must not leave (it lost its job
/// before recording it). Without a version id (an unversioned bucket, which TransferFile refuses
/// to land in) nothing is deleted: the key's current object might be someone else's by now.
pub async fn delete_version(s3: &Client, location: &S3Location, version_id: Option<&str>) {
    let Some(version_id) = version_id else {
        tracing::error!(key = %location.key, "a landing without a version id cannot be taken back");
        return;
    };
    match s3
        .delete_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .version_id(version_id)
        .send()
        .await
    {
        Ok(_) => {
            tracing::warn!(key = %location.key, version_id, "deleted the version a job this invocation lost landed")
        }
        Err(e) => tracing::error!(
            key = %location.key, version_id,
            error = %aws_sdk_s3::error::DisplayErrorContext(&e),
            "could not delete the version a lost invocation landed"
        ),
    }
}

/// Aborts one upload (a checkpoint's, when its job ends without it); gone already is fine.
pub async fn abort_upload(s3: &Client, location: &S3Location, upload_id: &str) -> Result<(), PipelineError> {
    match s3
        .abort_multipart_upload()
        .bucket(&location.bucket)
        .key(&location.key)
        .upload_id(upload_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.code() == Some("NoSuchUpload")) => Ok(()),
        Err(e) => Err(s3_error("AbortMultipartUpload", e)),
    }
}

/// Part buffers handed back when the S3 client drops a sent body. A fresh 8 MiB buffer per part
/// made the kernel fault in and zero 8 MiB for every part on the reading task, its largest cost
/// after the copies (`clear_page_erms` in the transfer benchmark's profile). At most
/// `parts_in_flight` wait here; the rest are freed.
#[derive(Clone)]
struct PartPool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
    part_size: usize,
    keep: usize,
}

impl PartPool {
    fn new(settings: UploadSettings) -> Self {
        Self {
            free: Arc::default(),
            part_size: settings.part_size,
            keep: settings.parts_in_flight,
        }
    }

    /// A `part_size`-long buffer to read a part into.
    fn take(&self) -> Vec<u8> {
        let reused = self.free.lock().expect("part pool").pop();
        reused.unwrap_or_else(|| vec![0; self.part_size])
    }

    /// The first `len` bytes of `buffer` as a body that comes back here when the last clone of
    /// it (the S3 client's, the hasher's) is dropped.
    fn share(&self, buffer: Vec<u8>, len: usize) -> Bytes {
        Bytes::from_owner(Pooled {
            buffer,
            len,
            pool: self.clone(),
        })
    }
}

struct Pooled {
    buffer: Vec<u8>,
    len: usize,
    pool: PartPool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        let mut free = self.pool.free.lock().expect("part pool");
        if free.len() < self.pool.keep {
            free.push(buffer);
        }
    }
}

fn crc_text(crc: u32) -> String {
    BASE64.encode(crc.to_be_bytes())
}

impl Upload {
    pub fn new(s3: Client, location: S3Location, settings: UploadSettings) -> Result<Self, PipelineError> {
        Self::starting_from(s3, location, settings, Sha256::new(), None)
    }

    /// A new upload that also takes the content's MD5 (`Landed::md5_hex`), for a server whose
    /// only digest is MD5. It costs about as much CPU as the SHA-256, on the same thread.
    pub fn new_with_md5(s3: Client, location: S3Location, settings: UploadSettings) -> Result<Self, PipelineError> {
        Self::starting_from(s3, location, settings, Sha256::new(), Some(md5::Md5::new()))
    }

    fn starting_from(
        s3: Client,
        location: S3Location,
        settings: UploadSettings,
        sha256: Sha256,
        md5: Option<md5::Md5>,
    ) -> Result<Self, PipelineError> {
        let settings = UploadSettings {
            part_size: settings.part_size.max(MIN_PART_SIZE),
            parts_in_flight: settings.parts_in_flight.max(1),
        };
        let pool = PartPool::new(settings);
        Ok(Self {
            s3,
            location,
            settings,
            buffer: pool.take(),
            filled: 0,
            pool,
            part_crc: 0,
            hasher: Hasher::start(sha256, md5)?,
            bytes: 0,
            upload_id: None,
            next_part: 1,
            in_flight: JoinSet::new(),
            done: Vec::new(),
            sealed: std::collections::BTreeMap::new(),
            checkpointed: 0,
            moved: false,
        })
    }

    /// Continues the upload a checkpoint describes from `state`, its SHA-256 state
    /// (`sha256_state`); `parts` are its parts 1..=checkpoint.parts as S3 lists them (number,
    /// ETag, CRC32C).
    pub fn resume(
        s3: Client,
        location: S3Location,
        settings: UploadSettings,
        checkpoint: &UploadCheckpoint,
        state: Sha256,
        parts: Vec<(CompletedPart, u32)>,
    ) -> Result<Self, PipelineError> {
        let mut upload = Self::starting_from(
            s3,
            location,
            UploadSettings {
                part_size: checkpoint.part_size as usize,
                ..settings
            },
            state,
            None,
        )?;
        upload.bytes = checkpoint.bytes;
        upload.upload_id = Some(checkpoint.upload_id.clone());
        upload.next_part = checkpoint.parts as i32 + 1;
        // Hashed in an earlier attempt: the state it ends with is where this one starts.
        upload.hasher.reported = checkpoint.parts as i32;
        upload.done = parts;
        upload.checkpointed = checkpoint.parts;
        Ok(upload)
    }

    /// The parts the checkpoints handed out so far cover (a resumed upload starts with its
    /// checkpoint's).
    pub fn recorded_parts(&self) -> u32 {
        self.checkpointed
    }

    /// The open multipart upload's id, once there is one.
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    pub fn part_size(&self) -> u64 {
        self.settings.part_size as u64
    }

    /// Parts confirmed since the last call, contiguously from part 1: how far a next attempt
    /// may resume (parts, bytes, SHA-256 state, the parts' CRC32Cs), or None if that has not moved.
    pub fn advanced(&mut self) -> Option<(u32, u64, String, String)> {
        // Asked after every read: only a newly confirmed or hashed part can move it.
        let hashed = self.hasher.collect(&mut self.sealed);
        if !std::mem::take(&mut self.moved) && !hashed {
            return None;
        }
        self.done.sort_by_key(|(part, _)| part.part_number);
        let contiguous = self
            .done
            .iter()
            .enumerate()
            .take_while(|(i, (part, _))| part.part_number == Some(*i as i32 + 1))
            .count() as i32;
        // Only whole parts: a resumed upload goes on after a part boundary (the short last
        // part that `seal` sent is never a checkpoint's).
        let contiguous = contiguous.min(i32::try_from(self.bytes / self.settings.part_size as u64).unwrap_or(i32::MAX));
        // The newest part both confirmed (with all before it) and hashed.
        let (&covered, state) = self.sealed.range(..=contiguous).next_back()?;
        let covered_parts = covered as u32;
        if covered_parts <= self.checkpointed {
            return None;
        }
        let state = state.clone();
        self.sealed.retain(|n, _| *n > covered);
        self.checkpointed = covered_parts;
        let crcs: Vec<u8> = self.done[..covered as usize]
            .iter()
            .flat_map(|(_, crc)| crc.to_be_bytes())
            .collect();
        Some((
            covered_parts,
            u64::from(covered_parts) * self.settings.part_size as u64,
            state,
            BASE64.encode(crcs),
        ))
    }

    /// Waits for the parts in flight, keeping the upload open for a later attempt (an
    /// interruption the next attempt resumes from). Errors of those parts only shorten what
    /// `advanced` reports.
    pub async fn settle(&mut self) {
        while let Some(joined) = self.in_flight.join_next().await {
            if let Ok(Ok(part)) = joined {
                self.done.push(part);
            }
        }
        self.hasher.wait_for(self.next_part - 1, &mut self.sealed).await;
        self.moved = true;
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The rest of the part being filled, for the next read to land in (never empty: a full
    /// part is sent at once).
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buffer[self.filled..]
    }

    /// Takes the first `read` bytes of `spare` into the upload, sending the part once it is full.
    pub async fn commit(&mut self, read: usize) -> Result<(), PipelineError> {
        let read = read.min(self.settings.part_size - self.filled);
        let new = &self.buffer[self.filled..self.filled + read];
        self.part_crc = crc32c::crc32c_append(self.part_crc, new);
        self.filled += read;
        self.bytes += read as u64;
        if self.filled == self.settings.part_size {
            self.send_part().await?;
        }
        Ok(())
    }

    /// Creates the multipart upload now (before any part), so that its id can be recorded on
    /// the job before S3 holds anything of it; the id.
    pub async fn open(&mut self) -> Result<String, PipelineError> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let out = self
            .s3
            .create_multipart_upload()
            .bucket(&self.location.bucket)
            .key(&self.location.key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_type(ChecksumType::FullObject)
            .send()
            .await
            .map_err(|e| s3_error("CreateMultipartUpload", e))?;
        let id = out.upload_id.ok_or_else(|| {
            PipelineError::AwsServiceUnavailable("CreateMultipartUpload returned no upload id".into())
        })?;
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    async fn send_part(&mut self) -> Result<(), PipelineError> {
        let upload_id = self.open().await?;
        while self.in_flight.len() >= self.settings.parts_in_flight {
            self.collect_one().await?;
        }
        let next = self.pool.take();
        let body = self.pool.share(
            std::mem::replace(&mut self.buffer, next),
            std::mem::take(&mut self.filled),
        );
        let crc = std::mem::take(&mut self.part_crc);
        let number = self.next_part;
        self.next_part += 1;
        self.hasher.hash(number, body.clone()).await?;
        let request = self
            .s3
            .upload_part()
            .bucket(&self.location.bucket)
            .key(&self.location.key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_crc32_c(crc_text(crc))
            .body(ByteStream::from(body))
            // The part's CRC32C (checked by S3) and TLS protect the bytes; a signed payload would
            // hash every byte with SHA-256 a second time on our side (and S3's), the largest
            // cost in the transfer's profile.
            .customize()
            .disable_payload_signing();
        self.in_flight.spawn(async move {
            let out = request
                .send()
                .await
                .map_err(|e| s3_error(&format!("UploadPart {number}"), e))?;
            let part = CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .checksum_crc32_c(crc_text(crc))
                .build();
            Ok((part, crc))
        });
        Ok(())
    }

    async fn collect_one(&mut self) -> Result<(), PipelineError> {
        if let Some(joined) = self.in_flight.join_next().await {
            let part = joined.map_err(|e| PipelineError::AwsServiceUnavailable(format!("part upload task: {e}")))??;
            self.done.push(part);
            self.moved = true;
        }
        Ok(())
    }

    /// Sends the last part of a multipart upload and waits for every part in flight: after
    /// this, only the Complete is left, and a failure here (a part S3 refused) leaves the
    /// upload as it is, for the caller to keep or abort.
    pub async fn seal(&mut self) -> Result<(), PipelineError> {
        if self.upload_id.is_some() {
            if self.filled > 0 {
                self.send_part().await?;
            }
            while !self.in_flight.is_empty() {
                self.collect_one().await?;
            }
        }
        Ok(())
    }

    /// Finishes the object and verifies what S3 holds: size and CRC32C must equal what was
    /// streamed. On any failure nothing is left: an unfinished upload is aborted, and an object
    /// that does not verify is deleted again.
    pub async fn complete(mut self) -> Result<Landed, PipelineError> {
        let result = self.land().await;
        if result.is_err() {
            self.abort_in_place().await;
        }
        result
    }

    async fn land(&mut self) -> Result<Landed, PipelineError> {
        // Every byte goes to the hasher before the object exists: no object without its digest.
        let single = if self.upload_id.is_none() {
            let body = self.pool.share(std::mem::take(&mut self.buffer), self.filled);
            self.hasher.hash(self.next_part, body.clone()).await?;
            Some(body)
        } else {
            if self.filled > 0 {
                self.send_part().await?;
            }
            None
        };
        let (sha256_hex, md5_hex) = self.hasher.finish().await?;
        let (expected, parts, version_id) = if let Some(body) = single {
            let crc = self.part_crc;
            let out = self
                .s3
                .put_object()
                .bucket(&self.location.bucket)
                .key(&self.location.key)
                .checksum_algorithm(ChecksumAlgorithm::Crc32C)
                .checksum_crc32_c(crc_text(crc))
                .body(ByteStream::from(body))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| s3_error("PutObject", e))?;
            (crc_text(crc), 1u32, out.version_id)
        } else {
            while !self.in_flight.is_empty() {
                self.collect_one().await?;
            }
            self.done.sort_by_key(|(part, _)| part.part_number);
            let parts = self.done.len() as u32;
            // Every part but the last is part_size long.
            let last_size = self.bytes - u64::from(parts - 1) * self.settings.part_size as u64;
            let full = self.done.iter().enumerate().fold(0, |full, (i, (_, crc))| {
                let size = if i + 1 == self.done.len() {
                    last_size as usize
                } else {
                    self.settings.part_size
                };
                crc32c::crc32c_combine(full, *crc, size)
            });
            let completed = CompletedMultipartUpload::builder()
                .set_parts(Some(self.done.iter().map(|(part, _)| part.clone()).collect()))
                .build();
            let out = self
                .s3
                .complete_multipart_upload()
                .bucket(&self.location.bucket)
                .key(&self.location.key)
                .upload_id(self.upload_id.clone().unwrap_or_default())
                .multipart_upload(completed)
                .checksum_type(ChecksumType::FullObject)
                .checksum_crc32_c(crc_text(full))
                .send()
                .await
                .map_err(|e| s3_error("CompleteMultipartUpload", e))?;
            self.upload_id = None;
            (crc_text(full), parts, out.version_id)
        };
        let landed = Landed {
            bytes: self.bytes,
            sha256_hex,
            checksum_crc32c: expected,
            parts,
            version_id,
            md5_hex,
        };
        if let Err(mismatch) = self.verify(&landed).await {
            // Leave nothing unverified behind: remove exactly the version this upload created.
            let _ = self
                .s3
                .delete_object()
                .bucket(&self.location.bucket)
                .key(&self.location.key)
                .set_version_id(landed.version_id.clone())
                .send()
                .await;
            return Err(mismatch);
        }
        Ok(landed)
    }

    async fn verify(&self, landed: &Landed) -> Result<(), PipelineError> {
        match object_state(&self.s3, &self.location, landed.version_id.as_deref()).await? {
            Some(found) => found.compare(&self.location, landed.bytes, &landed.checksum_crc32c),
            None => Err(PipelineError::IntegrityMismatch(format!(
                "s3://{}/{} is missing right after it was written",
                self.location.bucket, self.location.key
            ))),
        }
    }

    pub async fn abort(mut self) {
        self.abort_in_place().await;
    }

    async fn abort_in_place(&mut self) {
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        if let Some(upload_id) = self.upload_id.take() {
            let result = self
                .s3
                .abort_multipart_upload()
                .bucket(&self.location.bucket)
                .key(&self.location.key)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(err) = result {
                tracing::error!(
                    bucket = %self.location.bucket, key = %self.location.key, %upload_id,
                    error = %aws_sdk_s3::error::DisplayErrorContext(&err),
                    "could not abort the multipart upload; the bucket's lifecycle rule will"
                );
            }
        }
    }
}

/// Compares checksums, allowing S3's `-N` part-count suffix to be present on one side only
/// (some S3 implementations omit it); when both carry it, the counts must agree too.
fn same_checksum(reported: &str, expected: &str) -> bool {
    let split = |text: &str| match text.split_once('-') {
        Some((value, parts)) => (value.to_string(), Some(parts.to_string())),
        None => (text.to_string(), None),
    };
    let (reported_value, reported_parts) = split(reported);
    let (expected_value, expected_parts) = split(expected);
    reported_value == expected_value
        && match (reported_parts, expected_parts) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// The SHA-256 state before the first byte, as a checkpoint records states.
pub fn initial_sha256_state() -> String {
    BASE64.encode(Sha256::new().serialize().as_slice())
}

/// The SHA-256 state a checkpoint recorded, if it can be read back (what `resume` continues; a
/// checkpoint without a readable one cannot be continued, only started over).
pub fn sha256_state(checkpoint: &UploadCheckpoint) -> Option<Sha256> {
    BASE64
        .decode(&checkpoint.sha256_state)
        .ok()
        .and_then(|bytes| SerializedState::<Sha256>::try_from(bytes.as_slice()).ok())
        .and_then(|state| Sha256::deserialize(&state).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_size_fits_any_file_s3_can_hold_in_10000_parts() {
        const MIB: u64 = 1024 * 1024;
        let configured = UploadSettings::default();
        let memory = |s: UploadSettings| s.part_size as u64 * (s.parts_in_flight as u64 + 1);
        for size in [
            0,
            1,
            78 * 1024 * MIB,
            79 * 1024 * MIB,
            1024 * 1024 * MIB,
            MAX_OBJECT_SIZE,
        ] {
            let settings = configured.for_size(size).unwrap();
            let parts = size.div_ceil(settings.part_size as u64);
            assert!(
                parts <= MAX_PARTS,
                "{size} bytes need {parts} parts of {}",
                settings.part_size
            );
            assert!(settings.part_size as u64 <= MAX_PART_SIZE);
            assert!(settings.part_size % MIB as usize == 0);
            assert!(
                memory(settings) <= memory(configured).max(2 * settings.part_size as u64),
                "{size}: {settings:?}"
            );
        }
        assert_eq!(configured.for_size(8 * MIB).unwrap().part_size, configured.part_size);
        let err = configured.for_size(MAX_OBJECT_SIZE + 1).unwrap_err();
        assert!(err.to_string().contains("5 TiB"), "{err}");
    }

    #[test]
    fn checksum_comparison_tolerates_a_missing_part_count() {
        assert!(same_checksum("AAAAAA==-3", "AAAAAA==-3"));
        assert!(same_checksum("AAAAAA==", "AAAAAA==-3"));
        assert!(!same_checksum("AAAAAA==-2", "AAAAAA==-3"));
        assert!(!same_checksum("BBBBBB==", "AAAAAA=="));
        assert!(!same_checksum("", "AAAAAA=="));
    }
}
