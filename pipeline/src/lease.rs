//! Connection leases: at most `maxConnections` FTPS sessions per server across every Lambda.
//!
//! A server's cap is `maxConnections` slots, one lease item each (`<host>:<port>#<slot>`). A
//! TransferFile invocation takes a slot with a conditional PutItem (free, or its holder's lease
//! expired) before it connects, and gives it back with a conditional DeleteItem (only its own)
//! after QUIT. The lease expires when the invocation's Lambda deadline has passed: by then
//! Lambda has killed the process and its session with it, so a crashed or timed-out holder
//! frees its slot without anyone cleaning up. `expiresAt` (epoch seconds) is also the table's
//! TTL attribute, which only tidies the table: the conditions never rely on TTL deletion.
//!
//! A job that finds every slot held fails with `ConnectionLimitReached`, which the state
//! machine retries with backoff: the wait holds no Lambda and reads the table once per retry,
//! never in a loop.
//!
//! The same table holds one lease per landing key (`s3://<bucket>/<key>`), taken the same way
//! before the connection lease: jobs whose files land at one key take turns (`LandingKeyBusy`,
//! retried like `ConnectionLimitReached`), so one job's upload, Complete and checks never
//! interleave with another's at that key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::error::PipelineError;
use crate::job::S3Location;

/// Clock skew between Lambda hosts that a lease tolerates past its holder's deadline.
const EXPIRY_MARGIN: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Leases {
    client: Client,
    table: String,
}

/// A held slot; give it back with `Leases::release`.
#[derive(Debug)]
#[must_use = "a lease is held until released or expired"]
pub struct Lease {
    pub slot: String,
    holder: String,
}

fn epoch_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

impl Leases {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Takes a free slot of `server`'s `max` until `deadline` (the holder's own), or fails with
    /// `ConnectionLimitReached` when all are held.
    pub async fn acquire(
        &self,
        server: &str,
        max: u32,
        job_id: &str,
        execution_arn: &str,
        deadline: SystemTime,
    ) -> Result<Lease, PipelineError> {
        // Slots in a random order: under load, a job finds a free one in about 1 / (1 - load)
        // conditional writes; from slot 0 up, every job paid for every held slot before it.
        let mut order: Vec<u32> = (0..max).collect();
        fastrand::shuffle(&mut order);
        for slot in order {
            let slot = format!("{server}#{slot}");
            if let Ok(lease) = self.take(&slot, job_id, execution_arn, deadline, false).await? {
                tracing::info!(%slot, job_id, "connection lease taken");
                return Ok(lease);
            }
        }
        Err(PipelineError::ConnectionLimitReached(format!(
            "all {max} connection leases of {server} are held (the secret's maxConnections)"
        )))
    }

    /// Takes the landing key's lease until `deadline`: one job at a time lands at a key. The
    /// job's own earlier invocation holds no claim against it: one abandoned by its execution has
    /// its writes refused by the job's ownership conditions, and a killed one would otherwise
    /// hold the key until its deadline. (Two runs of one request at once, which Lambda allows,
    /// are not told apart here; nor were they before the key had a lease.) Fails with
    /// `LandingKeyBusy`, naming the holder, while another job holds it.
    pub async fn acquire_key(
        &self,
        location: &S3Location,
        job_id: &str,
        execution_arn: &str,
        deadline: SystemTime,
    ) -> Result<Lease, PipelineError> {
        let slot = format!("s3://{}/{}", location.bucket, location.key);
        match self.take(&slot, job_id, execution_arn, deadline, true).await? {
            Ok(lease) => {
                tracing::info!(%slot, job_id, "landing key lease taken");
                Ok(lease)
            }
            Err(holder) => Err(PipelineError::LandingKeyBusy(format!(
                "{slot} is being landed by job {}; this job lands there once it is done",
                holder.as_deref().unwrap_or("(unknown)")
            ))),
        }
    }

    /// One conditional PutItem of `slot`: the lease, or the job holding it.
    async fn take(
        &self,
        slot: &str,
        job_id: &str,
        execution_arn: &str,
        deadline: SystemTime,
        same_job_takes_over: bool,
    ) -> Result<Result<Lease, Option<String>>, PipelineError> {
        // Unique per invocation: a second run of the same request must not count as the holder.
        let holder = format!("{execution_arn}#{}", uuid::Uuid::new_v4().simple());
        let now = epoch_seconds(SystemTime::now());
        // Rounded up: the lease outlives the deadline, never the other way round.
        let expires = epoch_seconds(deadline + EXPIRY_MARGIN) + 1;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("lease", AttributeValue::S(slot.to_string()))
            .item("holder", AttributeValue::S(holder.clone()))
            .item("jobId", AttributeValue::S(job_id.to_string()))
            .item("expiresAt", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        put = if same_job_takes_over {
            put.condition_expression("attribute_not_exists(lease) OR expiresAt < :now OR jobId = :job")
                .expression_attribute_values(":job", AttributeValue::S(job_id.to_string()))
        } else {
            put.condition_expression("attribute_not_exists(lease) OR expiresAt < :now")
        };
        match put.send().await {
            Ok(_) => Ok(Ok(Lease {
                slot: slot.to_string(),
                holder,
            })),
            Err(e) => {
                if let Some(PutItemError::ConditionalCheckFailedException(refused)) = e.as_service_error() {
                    let held_by = refused.item.as_ref().and_then(|item| item.get("jobId"));
                    return Ok(Err(held_by.and_then(|v| v.as_s().ok()).cloned()));
                }
                Err(PipelineError::from_sdk("taking a lease", e))
            }
        }
    }

    /// Gives the slot back if it is still this holder's. A failure only delays the next job
    /// until the lease expires, so it is logged, not raised: the transfer's outcome stands.
    pub async fn release(&self, lease: Lease) {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("lease", AttributeValue::S(lease.slot.clone()))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", AttributeValue::S(lease.holder))
            .send()
            .await;
        match delete {
            Ok(_) => tracing::info!(slot = %lease.slot, "connection lease released"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                tracing::warn!(slot = %lease.slot, "connection lease had expired and was taken by another job")
            }
            Err(e) => tracing::warn!(
                slot = %lease.slot,
                error = %PipelineError::from_sdk("releasing a connection lease", e),
                "connection lease left to expire"
            ),
        }
    }
}
