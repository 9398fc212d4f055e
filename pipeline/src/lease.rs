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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::PipelineError;

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
        // Unique per invocation: a second run of the same request must not count as the holder.
        let holder = format!("{execution_arn}#{}", uuid::Uuid::new_v4().simple());
        let now = epoch_seconds(SystemTime::now());
        // Rounded up: the lease outlives the deadline, never the other way round.
        let expires = epoch_seconds(deadline + EXPIRY_MARGIN) + 1;
        // Slots in a random order: under load, a job finds a free one in about 1 / (1 - load)
        // conditional writes; from slot 0 up, every job paid for every held slot before it.
        let mut order: Vec<u32> = (0..max).collect();
        fastrand::shuffle(&mut order);
        for slot in order {
            let slot = format!("{server}#{slot}");
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("lease", AttributeValue::S(slot.clone()))
                .item("holder", AttributeValue::S(holder.clone()))
                .item("jobId", AttributeValue::S(job_id.to_string()))
                .item("expiresAt", AttributeValue::N(expires.to_string()))
                .condition_expression("attribute_not_exists(lease) OR expiresAt < :now")
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .send()
                .await;
            match put {
                Ok(_) => {
                    tracing::info!(%slot, job_id, expires, "connection lease taken");
                    return Ok(Lease { slot, holder });
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(PipelineError::from_sdk("taking a connection lease", e)),
            }
        }
        Err(PipelineError::ConnectionLimitReached(format!(
            "all {max} connection leases of {server} are held (the secret's maxConnections)"
        )))
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
