//! An EventBridge Pipe for a DynamoDB stream: reads the table's stream through the real
//! DynamoDB Streams API (GetRecords on every shard, as a Pipe's poller does), applies the
//! Pipe's FilterCriteria, batches records as the Pipe's BatchSize says, and hands each batch —
//! always a JSON array, as Pipes deliver it — to the target without waiting for the execution
//! (`FIRE_AND_FORGET`), in the shard's order: the next batch goes once the target took this one.
//! A batch the target refuses (StartExecution throttled) is sent again with exponential backoff
//! up to the source's `MaximumRetryAttempts`, then described on the dead-letter queue and
//! skipped, as the Pipe does with a stream source.
//!
//! Every record read is also kept, indexed by job (a report reads one job's reads without
//! looking at the others'), and the latest status of every job is on a board (`up`'s progress
//! line counts it without reading the table).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use base64::Engine;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use pipeline::job::JobKey;

use super::pattern::Pattern;
use crate::resource::ResourceError;

/// The Pipe as the template declares it: its filters, batch size and retry policy.
#[derive(Debug, Clone)]
pub struct PipeSpec {
    pub filters: Vec<Pattern>,
    pub batch_size: usize,
    /// `MaximumRetryAttempts`: how often a refused batch is sent again (`None`: until the
    /// record expires from the stream, 24 hours).
    pub max_retries: Option<u32>,
    /// Whether the source declares a `DeadLetterConfig` (the world then makes its queue).
    pub dead_letter: bool,
}

/// Why the target refused a batch (StartExecution's error).
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: String,
    pub message: String,
}

/// The Pipe's target: starts an execution with a batch and returns a future that resolves when
/// that execution ends, or says why it could not start one.
pub type Target = Arc<dyn Fn(Value) -> Result<BoxFuture<'static, ()>, Refused> + Send + Sync>;

/// The Pipe's dead-letter queue: sends one message, or says why it could not.
pub type DeadLetterQueue = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// How long a stream record lives: a batch refused that long is given up whatever the retries.
const RECORD_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The wait before retry `attempt` (1, 2, …) of a refused batch: 1 s, doubling, at most 60 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// How often an idle shard is read again (a Pipe's poller reads about four times a second).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    #[error("the table {0} has no stream")]
    NoStream(String),
    #[error(transparent)]
    Streams(#[from] ResourceError),
}

/// Progress the Pipe reports after every read of the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Reads completed so far.
    pub polls: u64,
    /// Whether the last read found nothing new on any shard.
    pub idle: bool,
    /// Executions started and not yet finished.
    pub in_flight: usize,
}

/// What the Pipe did with its target so far.
#[derive(Debug, Default)]
struct Counters {
    /// Batches the target refused (each retry counts).
    refused: AtomicU64,
    /// Batches given up on and sent to the dead-letter queue.
    dead_lettered: AtomicU64,
}

pub struct Pipe {
    progress: watch::Receiver<Progress>,
    task: tokio::task::JoinHandle<()>,
    log: Arc<std::sync::Mutex<Log>>,
    counters: Arc<Counters>,
}

/// Every record read, and per job its reads and latest status.
#[derive(Default)]
struct Log {
    reads: Vec<Read>,
    by_job: HashMap<JobKey, Vec<usize>>,
    board: HashMap<JobKey, (String, Instant)>,
}

impl Log {
    fn push(&mut self, read: Read) {
        if let Ok(key) = pipeline::job::key_from_stream_record(&read.record) {
            self.by_job.entry(key.clone()).or_default().push(self.reads.len());
            let status = read.record["dynamodb"]["NewImage"]["status"]["S"].as_str();
            match (read.record["eventName"].as_str(), status) {
                (Some("REMOVE"), _) => {
                    self.board.remove(&key);
                }
                (_, Some(status)) => {
                    let entry = self.board.entry(key).or_insert_with(|| (String::new(), Instant::now()));
                    if entry.0 != status {
                        *entry = (status.to_string(), Instant::now());
                    }
                }
                _ => {}
            }
        }
        self.reads.push(read);
    }
}

/// The jobs as the stream last showed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Board {
    /// How many jobs are in each status.
    pub statuses: BTreeMap<String, usize>,
    /// How long the job longest in RUNNING has been there.
    pub oldest_running: Option<Duration>,
    /// Batches the target refused, retries included.
    pub refused: u64,
    /// Batches sent to the dead-letter queue.
    pub dead_lettered: u64,
}

/// One stream record as the Pipe read it: what it was (`INSERT`, `MODIFY`, `REMOVE`), the item
/// it carried, and whether the filter let it through to the target.
#[derive(Debug, Clone)]
pub struct Read {
    /// The record as the Pipe filters and delivers it (`eventName`, `dynamodb.Keys`, `NewImage` …).
    pub record: Value,
    pub delivered: bool,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The batch a Pipe delivers for the INSERT of job `key` in the version `updated_at` (what a
/// re-delivery of that record carries; the pipeline reads the keys and the image's `updatedAt`).
pub fn insert_batch(key: &pipeline::job::JobKey, updated_at: Option<&str>) -> Value {
    let image = match updated_at {
        Some(at) => json!({"updatedAt": {"S": at}}),
        None => json!({}),
    };
    json!([{"eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"jobId": {"S": key.job_id}, "project": {"S": key.project}},
                         "NewImage": image}}])
}

/// DynamoDB JSON (`{"S": "x"}`) of a stream attribute value.
pub fn attribute_json(value: &AttributeValue) -> Value {
    let b64 =
        |b: &aws_sdk_dynamodbstreams::primitives::Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": b64(b)}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(b64).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": image_json(m)}),
        AttributeValue::L(l) => json!({"L": l.iter().map(attribute_json).collect::<Vec<_>>()}),
        AttributeValue::Null(n) => json!({"NULL": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        _ => Value::Null,
    }
}

pub fn image_json(image: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        image
            .iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// DynamoDB JSON (`{"S": "x"}`, `{"M": {…}}` …) to plain JSON; plain JSON passes unchanged.
pub fn plain_json(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    if map.len() == 1 {
        let (tag, inner) = map.iter().next().expect("one entry");
        match (tag.as_str(), inner) {
            ("S" | "B", Value::String(s)) => return Value::String(s.clone()),
            ("N", Value::String(n)) => return serde_json::from_str(n).unwrap_or(Value::String(n.clone())),
            ("BOOL", Value::Bool(b)) => return Value::Bool(*b),
            ("NULL", Value::Bool(true)) => return Value::Null,
            ("M", Value::Object(m)) => {
                return Value::Object(m.iter().map(|(k, v)| (k.clone(), plain_json(v))).collect());
            }
            ("L", Value::Array(items)) => return Value::Array(items.iter().map(plain_json).collect()),
            ("SS" | "NS", Value::Array(items)) => return Value::Array(items.iter().map(plain_json).collect()),
            _ => {}
        }
    }
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), plain_json(v)))
            .collect::<Map<_, _>>(),
    )
}

/// A stream record's `NewImage` as plain JSON (the item after the write).
pub fn new_image(record: &Value) -> Option<Value> {
    record["dynamodb"].get("NewImage").map(plain_json)
}

/// A stream record in the shape a Pipe delivers and filters it.
fn record_json(record: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(d) = &record.dynamodb {
        if let Some(t) = d.approximate_creation_date_time {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
        }
        if let Some(k) = &d.keys {
            dynamodb.insert("Keys".into(), image_json(k));
        }
        if let Some(i) = &d.new_image {
            dynamodb.insert("NewImage".into(), image_json(i));
        }
        if let Some(i) = &d.old_image {
            dynamodb.insert("OldImage".into(), image_json(i));
        }
        if let Some(s) = &d.sequence_number {
            dynamodb.insert("SequenceNumber".into(), json!(s));
        }
        if let Some(s) = d.size_bytes {
            dynamodb.insert("SizeBytes".into(), json!(s));
        }
        if let Some(v) = &d.stream_view_type {
            dynamodb.insert("StreamViewType".into(), json!(v.as_str()));
        }
    }
    json!({
        "eventID": record.event_id, "eventName": record.event_name.as_ref().map(|e| e.as_str()),
        "eventVersion": record.event_version, "eventSource": record.event_source.clone().unwrap_or_else(|| "aws:dynamodb".into()),
        "awsRegion": record.aws_region, "dynamodb": dynamodb, "eventSourceARN": stream_arn,
    })
}

impl Pipe {
    /// Starts reading `table`'s stream from its oldest record (the world creates the table, so
    /// that is the moment the Pipe was created: nothing is missed between boot and first read).
    pub async fn start(
        sdk: &SdkConfig,
        table: &str,
        spec: PipeSpec,
        target: Target,
        dead_letters: Option<DeadLetterQueue>,
        time: sfn::TimeMode,
    ) -> Result<Self, PipeError> {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
        let described = ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| ResourceError::new("describing the job table's stream", &e))?;
        let stream_arn = described
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| PipeError::NoStream(table.to_string()))?;
        let (progress_tx, progress) = watch::channel(Progress::default());
        let in_flight = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(std::sync::Mutex::new(Log::default()));
        let counters = Arc::new(Counters::default());
        let delivery = Delivery {
            target,
            dead_letters,
            max_retries: spec.max_retries,
            time,
            in_flight: in_flight.clone(),
            finished: Arc::new(tokio::sync::Notify::new()),
            counters: counters.clone(),
            stream_arn: stream_arn.clone(),
        };
        let task = tokio::spawn(run(streams, stream_arn, spec, delivery, progress_tx, log.clone()));
        Ok(Self {
            progress,
            task,
            log,
            counters,
        })
    }

    /// Every record read so far, in the order read (a report shows the items' versions and what
    /// the filter dropped).
    pub fn log(&self) -> Vec<Read> {
        self.log.lock().expect("pipe log").reads.clone()
    }

    /// The records read about job `key`, in the order read; the cost is that job's reads only.
    pub fn reads_of(&self, key: &JobKey) -> Vec<Read> {
        let log = self.log.lock().expect("pipe log");
        log.by_job
            .get(key)
            .into_iter()
            .flatten()
            .map(|&i| log.reads[i].clone())
            .collect()
    }

    /// The jobs' statuses as the stream last showed them, and what the target refused.
    pub fn board(&self) -> Board {
        let log = self.log.lock().expect("pipe log");
        let mut board = Board {
            refused: self.counters.refused.load(Ordering::Relaxed),
            dead_lettered: self.counters.dead_lettered.load(Ordering::Relaxed),
            ..Board::default()
        };
        for (status, since) in log.board.values() {
            *board.statuses.entry(status.clone()).or_insert(0) += 1;
            if status == "RUNNING" {
                let age = since.elapsed();
                board.oldest_running = Some(board.oldest_running.map_or(age, |oldest| oldest.max(age)));
            }
        }
        board
    }

    /// Reads of the stream completed so far (a position `read_past` waits to be beyond).
    pub fn polls(&self) -> u64 {
        self.progress.borrow().polls
    }

    /// Resolves once two complete reads have begun after `polls` was taken: every record written
    /// before then has been read (the first read may have begun just before).
    pub async fn read_past(&self, polls: u64) {
        let mut progress = self.progress.clone();
        let _ = progress.wait_for(|p| p.polls >= polls + 2).await;
    }

    /// Resolves once every record written before this call has been read, filtered, delivered,
    /// and every execution it started has finished: an idle read that began after the last
    /// execution ended, with none in flight.
    pub async fn settled(&self) {
        let mut progress = self.progress.clone();
        let start = progress.borrow().polls;
        // Two complete reads after the call: the first may have begun before it.
        let _ = progress
            .wait_for(|p| p.polls >= start + 2 && p.idle && p.in_flight == 0)
            .await;
    }
}

async fn run(
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    spec: PipeSpec,
    delivery: Delivery,
    progress: watch::Sender<Progress>,
    log: Arc<std::sync::Mutex<Log>>,
) {
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    let in_flight = delivery.in_flight.clone();
    let mut polls = 0u64;
    let mut batch: Vec<Value> = Vec::new();
    loop {
        // New shards appear as streams split; each is read from its start.
        if let Ok(out) = streams.describe_stream().stream_arn(&stream_arn).send().await {
            for shard in out.stream_description.and_then(|d| d.shards).unwrap_or_default() {
                let Some(id) = shard.shard_id else { continue };
                if iterators.contains_key(&id) {
                    continue;
                }
                let iterator = streams
                    .get_shard_iterator()
                    .stream_arn(&stream_arn)
                    .shard_id(&id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.shard_iterator);
                iterators.insert(id, iterator);
            }
        }
        // The in-flight count is sampled before reading: an idle read with nothing in flight
        // then proves every earlier record was handled and every execution it caused ended.
        let in_flight_before = in_flight.load(Ordering::SeqCst);
        let mut seen = 0usize;
        for (shard, iterator) in iterators.iter_mut() {
            let Some(current) = iterator.clone() else { continue };
            match streams.get_records().shard_iterator(&current).send().await {
                Ok(out) => {
                    *iterator = out.next_shard_iterator;
                    for record in out.records.unwrap_or_default() {
                        seen += 1;
                        let record = record_json(&record, &stream_arn);
                        let delivered = spec.filters.is_empty() || spec.filters.iter().any(|f| f.matches(&record));
                        log.lock().expect("pipe log").push(Read {
                            record: record.clone(),
                            delivered,
                        });
                        if delivered {
                            batch.push(record);
                        }
                        if batch.len() >= spec.batch_size.max(1) {
                            delivery.deliver(std::mem::take(&mut batch), shard).await;
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err), "GetRecords failed; retrying")
                }
            }
            // A partial batch is sent when a read brings no more (a Pipe's batching window of 0).
            if !batch.is_empty() {
                delivery.deliver(std::mem::take(&mut batch), shard).await;
            }
        }
        polls += 1;
        progress.send_replace(Progress {
            polls,
            idle: seen == 0 && in_flight_before == 0,
            in_flight: in_flight.load(Ordering::SeqCst),
        });
        if seen == 0 {
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = delivery.finished.notified() => {}
            }
        }
    }
}

/// The Pipe's side of its target: start, retry, give up.
struct Delivery {
    target: Target,
    dead_letters: Option<DeadLetterQueue>,
    max_retries: Option<u32>,
    time: sfn::TimeMode,
    in_flight: Arc<AtomicUsize>,
    /// Notified as each started execution ends.
    finished: Arc<tokio::sync::Notify>,
    counters: Arc<Counters>,
    stream_arn: String,
}

impl Delivery {
    /// Hands `batch` (records of `shard`) to the target, again and again while it refuses, up
    /// to the retry policy; then describes it on the dead-letter queue and moves on.
    async fn deliver(&self, batch: Vec<Value>, shard: &str) {
        let mut attempt = 0u32;
        // The backoff's own length, whatever the world's clock makes of it: with unlimited
        // retries the record still expires from the stream (24 hours).
        let mut waited = Duration::ZERO;
        loop {
            // Counted before the start, so an idle read never misses an execution just begun.
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            match (self.target)(Value::Array(batch.clone())) {
                Ok(execution) => {
                    let (in_flight, finished) = (self.in_flight.clone(), self.finished.clone());
                    tokio::spawn(async move {
                        execution.await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        finished.notify_one();
                    });
                    return;
                }
                Err(refused) => {
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    self.counters.refused.fetch_add(1, Ordering::Relaxed);
                    let exhausted = self.max_retries.is_some_and(|max| attempt >= max);
                    if exhausted || waited >= RECORD_LIFETIME {
                        let condition = if exhausted {
                            "RetryAttemptsExhausted"
                        } else {
                            "RecordAgeExceeded"
                        };
                        self.dead_letter(&batch, shard, attempt + 1, condition, &refused).await;
                        return;
                    }
                    attempt += 1;
                    tracing::info!(attempt, code = %refused.code, "the Pipe's target refused a batch; retrying");
                    waited += backoff(attempt);
                    tokio::time::sleep(self.time.real_wait(backoff(attempt))).await;
                }
            }
        }
    }

    /// The dead-letter message of a stream source's batch: where it is in the shard, not the
    /// records (as Pipes and Lambda's event source mappings describe a stream batch).
    async fn dead_letter(&self, batch: &[Value], shard: &str, attempts: u32, condition: &str, refused: &Refused) {
        self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
        let sequence = |record: Option<&Value>| record.map(|r| r["dynamodb"]["SequenceNumber"].clone());
        let arrival = |record: Option<&Value>| record.map(|r| r["dynamodb"]["ApproximateCreationDateTime"].clone());
        let message = json!({
            "version": "1.0",
            "timestamp": pipeline::timestamp::now(),
            "requestContext": {"requestId": uuid::Uuid::new_v4().to_string(),
                "condition": condition, "approximateInvokeCount": attempts},
            "responseContext": {"errorCode": refused.code, "errorMessage": refused.message},
            "DDBStreamBatchInfo": {"shardId": shard, "streamArn": self.stream_arn, "batchSize": batch.len(),
                "startSequenceNumber": sequence(batch.first()), "endSequenceNumber": sequence(batch.last()),
                "approximateArrivalOfFirstRecord": arrival(batch.first()),
                "approximateArrivalOfLastRecord": arrival(batch.last())},
        });
        tracing::error!(attempts, code = %refused.code, "the Pipe gave up on a batch");
        match &self.dead_letters {
            Some(queue) => {
                if let Err(e) = queue(message).await {
                    tracing::error!(error = %e, "the Pipe's dead-letter queue refused a message; the batch is lost");
                }
            }
            None => tracing::error!("the Pipe has no dead-letter queue; the batch is lost"),
        }
    }
}
