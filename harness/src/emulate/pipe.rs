//! An EventBridge Pipe for a DynamoDB stream: reads the table's stream through the real
//! DynamoDB Streams API (GetRecords on every shard, as a Pipe's poller does), applies the
//! Pipe's FilterCriteria, batches records as the Pipe's BatchSize says, and hands each batch —
//! always a JSON array, as Pipes deliver it — to the target without waiting for it
//! (`FIRE_AND_FORGET`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use base64::Engine;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::pattern::Pattern;
use crate::resource::ResourceError;

/// The Pipe as the template declares it: its filters and batch size.
#[derive(Debug, Clone)]
pub struct PipeSpec {
    pub filters: Vec<Pattern>,
    pub batch_size: usize,
}

/// The Pipe's target: starts an execution with a batch and resolves when that execution ends.
pub type Target = Arc<dyn Fn(Value) -> BoxFuture<'static, ()> + Send + Sync>;

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

pub struct Pipe {
    progress: watch::Receiver<Progress>,
    task: tokio::task::JoinHandle<()>,
    log: Arc<std::sync::Mutex<Vec<Read>>>,
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

/// The batch a Pipe delivers for the INSERT of job `key` (what a re-delivery of that record
/// carries; the state machine reads only the keys).
pub fn insert_batch(key: &pipeline::job::JobKey) -> Value {
    json!([{"eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {"jobId": {"S": key.job_id}, "project": {"S": key.project}}}}])
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
    pub async fn start(sdk: &SdkConfig, table: &str, spec: PipeSpec, target: Target) -> Result<Self, PipeError> {
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
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let task = tokio::spawn(run(
            streams,
            stream_arn,
            spec,
            target,
            progress_tx,
            in_flight,
            log.clone(),
        ));
        Ok(Self { progress, task, log })
    }

    /// Every record read so far, in the order read (a report shows the items' versions and what
    /// the filter dropped).
    pub fn log(&self) -> Vec<Read> {
        self.log.lock().expect("pipe log").clone()
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
    target: Target,
    progress: watch::Sender<Progress>,
    in_flight: Arc<AtomicUsize>,
    log: Arc<std::sync::Mutex<Vec<Read>>>,
) {
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    let finished = Arc::new(tokio::sync::Notify::new());
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
        for iterator in iterators.values_mut() {
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
                            deliver(std::mem::take(&mut batch), &target, &in_flight, &finished);
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(&err), "GetRecords failed; retrying")
                }
            }
        }
        // A partial batch is sent when a read brings no more (a Pipe's batching window of 0).
        if !batch.is_empty() {
            deliver(std::mem::take(&mut batch), &target, &in_flight, &finished);
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
                _ = finished.notified() => {}
            }
        }
    }
}

fn deliver(batch: Vec<Value>, target: &Target, in_flight: &Arc<AtomicUsize>, finished: &Arc<tokio::sync::Notify>) {
    in_flight.fetch_add(1, Ordering::SeqCst);
    let execution = target(Value::Array(batch));
    let (in_flight, finished) = (in_flight.clone(), finished.clone());
    tokio::spawn(async move {
        execution.await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        finished.notify_one();
    });
}
