//! A disk-backed S3 for large files: object bytes on disk, the index in memory, served with the
//! `s3s` crate on a port-0 listener. moto keeps every object in RAM (about five times its size
//! at completion), so it cannot hold the multi-GiB files a benchmark or a large-file scenario
//! moves; `s3s-fs` can, but does not report the composite CRC32C after a multipart upload, so a
//! verifying client must refuse its objects.
//!
//! This one verifies like S3 does where the pipeline relies on it: a part's or a PUT's
//! `x-amz-checksum-crc32c` must match the bytes received (`BadDigest`), completion checks each
//! part's checksum and the 5 MiB minimum, HeadObject reports `<base64 CRC32C>` for a PUT and for
//! a `FULL_OBJECT` multipart upload (whose stated full-object CRC32C completion checks: `BadDigest`),
//! the composite `<base64 CRC32C of the parts' CRC32Cs>-<N>` after a `COMPOSITE` one, ListParts lists
//! each part's size and checksum, and a versioned bucket gives each write a version id. Completion
//! keeps the parts' files as the object (no copy), so a GiB lands at disk speed.
//!
//! Not modelled: old versions (only the current one exists), ranges, listing pagination,
//! conditional requests, ACLs and policies.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use tokio::io::AsyncWriteExt;

const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DiskS3Error {
    #[error("disk S3: {0}")]
    Io(#[from] std::io::Error),
}

/// A running server; stops (and deletes its files) when dropped.
pub struct DiskS3 {
    endpoint: String,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DiskS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DiskS3 {
    /// Starts a server storing under a fresh temp directory in `parent` (default: the system's),
    /// checking SigV4 signatures made with `access_key`/`secret_key`.
    pub async fn start(parent: Option<&Path>, access_key: &str, secret_key: &str) -> Result<DiskS3, DiskS3Error> {
        let builder = tempfile::Builder::new().prefix("filechecks-s3-").to_owned();
        let dir = match parent {
            Some(parent) => builder.tempdir_in(parent)?,
            None => builder.tempdir()?,
        };
        let store = Store {
            root: dir.path().to_path_buf(),
            state: Arc::new(Mutex::new(State::default())),
        };
        let mut service = s3s::service::S3ServiceBuilder::new(store);
        service.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
        let service = service.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = socket.set_nodelay(true);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Ok(DiskS3 {
            endpoint,
            _dir: dir,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_S3` (path-style).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

#[derive(Debug, Clone)]
struct Store {
    root: PathBuf,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug, Default)]
struct Bucket {
    versioned: bool,
    objects: BTreeMap<String, Object>,
    uploads: HashMap<String, Upload>,
}

#[derive(Debug, Clone)]
struct Object {
    /// The object's bytes: these files, in order.
    files: Vec<PathBuf>,
    size: u64,
    /// As HeadObject reports it (`…==` or `…==-N`).
    crc32c: String,
    composite: bool,
    e_tag: String,
    version_id: Option<String>,
    modified: time::OffsetDateTime,
}

#[derive(Debug)]
struct Upload {
    key: String,
    initiated: time::OffsetDateTime,
    parts: BTreeMap<i32, Part>,
    /// Created with `ChecksumType: FULL_OBJECT`: the object's CRC32C is the whole content's
    /// (combined from the parts'), and completion checks the one the client states.
    full_object: bool,
}

#[derive(Debug, Clone)]
struct Part {
    file: PathBuf,
    size: u64,
    crc: u32,
    e_tag: String,
    modified: time::OffsetDateTime,
}

fn b64(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

fn checksum_type(composite: bool) -> ChecksumType {
    ChecksumType::from_static(if composite {
        ChecksumType::COMPOSITE
    } else {
        ChecksumType::FULL_OBJECT
    })
}

fn io_error(e: std::io::Error) -> S3Error {
    S3Error::with_message(S3ErrorCode::InternalError, e.to_string())
}

fn timestamp(at: time::OffsetDateTime) -> Timestamp {
    Timestamp::from(std::time::SystemTime::from(at))
}

impl Store {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> S3Result<T>) -> S3Result<T> {
        f(&mut self.state.lock().expect("disk S3 state"))
    }

    fn bucket<'a>(state: &'a mut State, name: &str) -> S3Result<&'a mut Bucket> {
        state.buckets.get_mut(name).ok_or_else(|| s3_error!(NoSuchBucket))
    }

    fn upload<'a>(state: &'a mut State, bucket: &str, upload_id: &str) -> S3Result<&'a mut Upload> {
        Self::bucket(state, bucket)?
            .uploads
            .get_mut(upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload))
    }

    /// Writes a body to a new file, returning the file, its size and CRC32C.
    async fn write_body(
        &self,
        body: impl Stream<Item = Result<Bytes, s3s::StdError>> + Unpin,
    ) -> S3Result<(PathBuf, u64, u32)> {
        let path = self.root.join(uuid::Uuid::new_v4().simple().to_string());
        let file = tokio::fs::File::create(&path).await.map_err(io_error)?;
        // Few large writes: each tokio file write is a trip to the blocking pool.
        let mut writer = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
        let (mut size, mut crc) = (0u64, 0u32);
        let mut body = body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| S3Error::with_message(S3ErrorCode::IncompleteBody, e.to_string()))?;
            crc = crc32c::crc32c_append(crc, &chunk);
            size += chunk.len() as u64;
            writer.write_all(&chunk).await.map_err(io_error)?;
        }
        writer.flush().await.map_err(io_error)?;
        Ok((path, size, crc))
    }

    /// The stated checksum must be the received bytes' (S3's BadDigest otherwise).
    async fn check_digest(stated: Option<&str>, crc: u32, file: &Path) -> S3Result<()> {
        match stated {
            Some(stated) if stated != b64(crc) => {
                let _ = tokio::fs::remove_file(file).await;
                Err(s3_error!(
                    BadDigest,
                    "The CRC32C you specified did not match the calculated checksum."
                ))
            }
            _ => Ok(()),
        }
    }

    /// Puts `object` at `key`, deleting the files of what it replaces.
    fn replace(&self, bucket: &str, key: String, mut object: Object) -> S3Result<Object> {
        let replaced = self.with(|state| {
            let bucket = Self::bucket(state, bucket)?;
            if bucket.versioned {
                object.version_id = Some(uuid::Uuid::new_v4().simple().to_string());
            }
            Ok(bucket.objects.insert(key, object.clone()))
        })?;
        remove_files(replaced.map(|o| o.files).unwrap_or_default());
        Ok(object)
    }

    /// The object at `key`, of `version` when one is named (only the current version exists).
    fn object(&self, bucket: &str, key: &str, version: Option<&str>) -> S3Result<Object> {
        self.with(|state| {
            let object = Self::bucket(state, bucket)?
                .objects
                .get(key)
                .cloned()
                .ok_or_else(|| s3_error!(NoSuchKey))?;
            match version {
                Some(v) if object.version_id.as_deref() != Some(v) => Err(s3_error!(NoSuchVersion)),
                _ => Ok(object),
            }
        })
    }

    /// The bucket's objects under `prefix`, each as `show` makes it (a listing's entry).
    fn listed<T>(&self, bucket: &str, prefix: Option<&str>, show: impl Fn(&String, &Object) -> T) -> S3Result<Vec<T>> {
        let prefix = prefix.unwrap_or_default();
        self.with(|state| {
            Ok(Self::bucket(state, bucket)?
                .objects
                .range(prefix.to_string()..)
                .take_while(|(key, _)| key.starts_with(prefix))
                .map(|(key, object)| show(key, object))
                .collect())
        })
    }
}

fn remove_files(files: Vec<PathBuf>) {
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.with(|state| {
            if state.buckets.contains_key(&req.input.bucket) {
                return Err(s3_error!(BucketAlreadyOwnedByYou));
            }
            state.buckets.insert(req.input.bucket.clone(), Bucket::default());
            Ok(())
        })?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{}", req.input.bucket)),
        }))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.with(|state| Self::bucket(state, &req.input.bucket).map(|_| ()))?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let enabled = req
            .input
            .versioning_configuration
            .status
            .as_ref()
            .is_some_and(|s| s.as_str() == BucketVersioningStatus::ENABLED);
        self.with(|state| {
            Self::bucket(state, &req.input.bucket)?.versioned = enabled;
            Ok(())
        })?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let versioned = self.with(|state| Ok(Self::bucket(state, &req.input.bucket)?.versioned))?;
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: versioned.then(|| BucketVersioningStatus::from_static(BucketVersioningStatus::ENABLED)),
            ..Default::default()
        }))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let input = req.input;
        self.with(|state| Self::bucket(state, &input.bucket).map(|_| ()))?;
        let body = input.body.ok_or_else(|| s3_error!(IncompleteBody))?;
        let (file, size, crc) = self.write_body(body).await?;
        Self::check_digest(input.checksum_crc32c.as_deref(), crc, &file).await?;
        let object = self.replace(
            &input.bucket,
            input.key,
            Object {
                files: vec![file],
                size,
                crc32c: b64(crc),
                composite: false,
                e_tag: format!("\"{crc:08x}{size:x}\""),
                version_id: None,
                modified: time::OffsetDateTime::now_utc(),
            },
        )?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(object.e_tag.trim_matches('"').to_string())),
            checksum_crc32c: Some(object.crc32c),
            checksum_type: Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            version_id: object.version_id,
            ..Default::default()
        }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let object = self.object(&input.bucket, &input.key, input.version_id.as_deref())?;
        let with_checksum = input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(object.size as i64),
            e_tag: Some(ETag::Strong(object.e_tag.trim_matches('"').to_string())),
            last_modified: Some(timestamp(object.modified)),
            version_id: object.version_id.clone(),
            checksum_crc32c: with_checksum.then(|| object.crc32c.clone()),
            checksum_type: with_checksum.then(|| checksum_type(object.composite)),
            ..Default::default()
        }))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        if input.range.is_some() {
            return Err(s3_error!(NotImplemented, "ranges are not modelled by the disk S3"));
        }
        let object = self.object(&input.bucket, &input.key, input.version_id.as_deref())?;
        let files = object.files.clone();
        let stream = futures::stream::iter(files)
            .then(|file| async move { tokio::fs::File::open(file).await })
            .map_ok(|file| tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024))
            .try_flatten();
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some(object.size as i64),
            e_tag: Some(ETag::Strong(object.e_tag.trim_matches('"').to_string())),
            last_modified: Some(timestamp(object.modified)),
            version_id: object.version_id,
            ..Default::default()
        }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let removed = self.with(|state| {
            let bucket = Self::bucket(state, &input.bucket)?;
            let current = bucket.objects.get(&input.key).and_then(|o| o.version_id.clone());
            match (&input.version_id, current) {
                (Some(named), Some(current)) if *named != current => Ok(None),
                _ => Ok(bucket.objects.remove(&input.key)),
            }
        })?;
        let version_id = removed.as_ref().and_then(|o| o.version_id.clone());
        remove_files(removed.map(|o| o.files).unwrap_or_default());
        Ok(S3Response::new(DeleteObjectOutput {
            version_id,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let contents = self.listed(&input.bucket, input.prefix.as_deref(), |key, object| s3s::dto::Object {
            key: Some(key.clone()),
            size: Some(object.size as i64),
            e_tag: Some(ETag::Strong(object.e_tag.trim_matches('"').to_string())),
            last_modified: Some(timestamp(object.modified)),
            ..Default::default()
        })?;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            key_count: Some(contents.len() as i32),
            contents: Some(contents),
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    /// The current version of each key (the only one this store keeps).
    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let versions = self.listed(&input.bucket, input.prefix.as_deref(), |key, object| ObjectVersion {
            key: Some(key.clone()),
            version_id: Some(object.version_id.clone().unwrap_or_else(|| "null".into())),
            is_latest: Some(true),
            size: Some(object.size as i64),
            e_tag: Some(ETag::Strong(object.e_tag.trim_matches('"').to_string())),
            last_modified: Some(timestamp(object.modified)),
            ..Default::default()
        })?;
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: input.prefix,
            versions: Some(versions),
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let full_object = input
            .checksum_type
            .as_ref()
            .is_some_and(|t| t.as_str() == ChecksumType::FULL_OBJECT);
        self.with(|state| {
            Self::bucket(state, &input.bucket)?.uploads.insert(
                upload_id.clone(),
                Upload {
                    key: input.key.clone(),
                    initiated: time::OffsetDateTime::now_utc(),
                    parts: BTreeMap::new(),
                    full_object,
                },
            );
            Ok(())
        })?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            checksum_algorithm: input.checksum_algorithm,
            checksum_type: Some(checksum_type(!full_object)),
            ..Default::default()
        }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        self.with(|state| Self::upload(state, &input.bucket, &input.upload_id).map(|_| ()))?;
        let body = input.body.ok_or_else(|| s3_error!(IncompleteBody))?;
        let (file, size, crc) = self.write_body(body).await?;
        Self::check_digest(input.checksum_crc32c.as_deref(), crc, &file).await?;
        let part = Part {
            file: file.clone(),
            size,
            crc,
            e_tag: format!("{crc:08x}{size:x}"),
            modified: time::OffsetDateTime::now_utc(),
        };
        let replaced = self.with(|state| {
            let upload = Self::upload(state, &input.bucket, &input.upload_id)?;
            Ok(upload.parts.insert(input.part_number, part.clone()))
        });
        match replaced {
            Ok(old) => remove_files(old.map(|p| vec![p.file]).unwrap_or_default()),
            Err(e) => {
                // Aborted while the body was arriving.
                remove_files(vec![file]);
                return Err(e);
            }
        }
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(part.e_tag)),
            checksum_crc32c: Some(b64(crc)),
            ..Default::default()
        }))
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let (parts, full_object) = self.with(|state| {
            let upload = Self::upload(state, &input.bucket, &input.upload_id)?;
            let parts = upload
                .parts
                .iter()
                .map(|(number, part)| s3s::dto::Part {
                    part_number: Some(*number),
                    size: Some(part.size as i64),
                    e_tag: Some(ETag::Strong(part.e_tag.clone())),
                    checksum_crc32c: Some(b64(part.crc)),
                    last_modified: Some(timestamp(part.modified)),
                    ..Default::default()
                })
                .collect::<Vec<_>>();
            Ok((parts, upload.full_object))
        })?;
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            parts: Some(parts),
            is_truncated: Some(false),
            checksum_algorithm: Some(ChecksumAlgorithm::from_static(ChecksumAlgorithm::CRC32C)),
            checksum_type: Some(checksum_type(!full_object)),
            ..Default::default()
        }))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let uploads = self.with(|state| {
            let mut uploads: Vec<MultipartUpload> = Self::bucket(state, &input.bucket)?
                .uploads
                .iter()
                .filter(|(_, u)| u.key.starts_with(&prefix))
                .map(|(id, u)| MultipartUpload {
                    key: Some(u.key.clone()),
                    upload_id: Some(id.clone()),
                    initiated: Some(timestamp(u.initiated)),
                    ..Default::default()
                })
                .collect();
            uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
            Ok(uploads)
        })?;
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            uploads: Some(uploads),
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let listed = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        if listed.is_empty() {
            return Err(s3_error!(InvalidRequest, "You must specify at least one part"));
        }
        let (object, unused) = self.with(|state| {
            let bucket = Self::bucket(state, &input.bucket)?;
            let upload = bucket
                .uploads
                .get(&input.upload_id)
                .ok_or_else(|| s3_error!(NoSuchUpload))?;
            let mut chosen = Vec::new();
            let mut previous = 0;
            for (i, given) in listed.iter().enumerate() {
                let number = given
                    .part_number
                    .ok_or_else(|| s3_error!(InvalidPart, "a part has no number"))?;
                if number <= previous {
                    return Err(s3_error!(InvalidPartOrder));
                }
                previous = number;
                let part = upload.parts.get(&number).ok_or_else(|| s3_error!(InvalidPart))?;
                if given.checksum_crc32c.as_deref().is_some_and(|c| c != b64(part.crc)) {
                    return Err(s3_error!(InvalidPart, "part {number}'s CRC32C is not the uploaded one"));
                }
                if i + 1 < listed.len() && part.size < MIN_PART_SIZE {
                    return Err(s3_error!(EntityTooSmall));
                }
                chosen.push((number, part.clone()));
            }
            let full = chosen.iter().fold(0, |crc, (_, part)| {
                crc32c::crc32c_combine(crc, part.crc, part.size as usize)
            });
            if upload.full_object
                && let Some(stated) = input.checksum_crc32c.as_deref()
                && stated != b64(full)
            {
                return Err(s3_error!(
                    BadDigest,
                    "The full-object CRC32C you specified did not match the calculated checksum."
                ));
            }
            let upload = bucket.uploads.remove(&input.upload_id).expect("looked up above");
            let unused: Vec<PathBuf> = upload
                .parts
                .into_iter()
                .filter(|(n, _)| !chosen.iter().any(|(c, _)| c == n))
                .map(|(_, p)| p.file)
                .collect();
            let mut crcs = Vec::with_capacity(chosen.len() * 4);
            for (_, part) in &chosen {
                crcs.extend_from_slice(&part.crc.to_be_bytes());
            }
            let object = Object {
                files: chosen.iter().map(|(_, p)| p.file.clone()).collect(),
                size: chosen.iter().map(|(_, p)| p.size).sum(),
                e_tag: format!("\"{:08x}-{}\"", crc32c::crc32c(&crcs), chosen.len()),
                crc32c: if upload.full_object {
                    b64(full)
                } else {
                    format!("{}-{}", b64(crc32c::crc32c(&crcs)), chosen.len())
                },
                composite: !upload.full_object,
                version_id: None,
                modified: time::OffsetDateTime::now_utc(),
            };
            Ok((object, unused))
        })?;
        remove_files(unused);
        let object = self.replace(&input.bucket, input.key.clone(), object)?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(object.e_tag.trim_matches('"').to_string())),
            checksum_type: Some(checksum_type(object.composite)),
            checksum_crc32c: Some(object.crc32c),
            version_id: object.version_id,
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let upload = self.with(|state| {
            Self::bucket(state, &input.bucket)?
                .uploads
                .remove(&input.upload_id)
                .ok_or_else(|| s3_error!(NoSuchUpload))
        })?;
        remove_files(upload.parts.into_values().map(|p| p.file).collect());
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
