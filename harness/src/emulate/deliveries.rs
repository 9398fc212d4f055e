//! Faults of what AWS delivers between the pipeline's parts, as scenario files write them:
//! - `events: [...]`: EventBridge's "Step Functions Execution Status Change" events, which it
//!   delivers best-effort — one may be dropped, delivered twice or late;
//! - `scheduler: [...]`: EventBridge Scheduler's deadline timers — one may fire late or twice
//!   (Scheduler is at-least-once);
//! - `pipe: [...]`: the Pipe's deliveries of stream records — one may be late (overtaken by
//!   what happens meanwhile) or dropped (given up on, into the Pipe's dead-letter queue).
//!
//! Each is armed in `Deliveries`, where the world's emulations of those services take them.

use std::sync::Mutex;
use std::time::Duration;

use pipeline::job::JobKey;
use serde::{Deserialize, Serialize};

use crate::times::Times;

/// What happens to one status-change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFaultKind {
    /// Never delivered.
    Drop,
    /// Delivered twice.
    Duplicate,
    /// Delivered `delay_ms` later (on the scenario's clock).
    Delay,
}

/// What happens to one firing of a deadline timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerFaultKind {
    /// Fires `delay_ms` after its time (on the scenario's clock).
    Late,
    /// Invokes its target twice.
    Twice,
}

/// What happens to one Pipe delivery (one batch to the state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipeFaultKind {
    /// Given up on: the batch goes to the Pipe's dead-letter queue, no execution starts.
    Drop,
    /// StartExecution happens `delay_ms` later (in real time, divided by the scenario's speedup).
    Late,
}

/// One fault of a delivery, whatever is delivered: `{fault: KIND, delay_ms, job, times}`, as
/// `events: [{fault: drop, times: 1}]`, `scheduler: [{fault: late, delay_ms: 5000}]`,
/// `pipe: [{fault: late, delay_ms: 200, job: job-1}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFault<K> {
    pub fault: K,
    /// `delay` / `late`: how late (on the scenario's clock).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
    /// Only deliveries about this job (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default = "once")]
    pub times: Times,
}

pub type EventFault = DeliveryFault<EventFaultKind>;
pub type SchedulerFault = DeliveryFault<SchedulerFaultKind>;
pub type PipeFault = DeliveryFault<PipeFaultKind>;

fn once() -> Times {
    Times::Count(1)
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The delivery faults armed in a world, and the deliveries they dropped.
#[derive(Debug, Default)]
pub struct Deliveries {
    events: Mutex<Vec<EventFault>>,
    scheduler: Mutex<Vec<SchedulerFault>>,
    pipe: Mutex<Vec<PipeFault>>,
    /// Jobs whose Pipe delivery was dropped (into the dead-letter queue).
    dropped: Mutex<Vec<JobKey>>,
}

/// The first armed fault that applies, one firing of it taken.
fn take<F: Clone>(
    armed: &Mutex<Vec<F>>,
    applies: impl Fn(&F) -> bool,
    times: impl Fn(&mut F) -> &mut Times,
) -> Option<F> {
    let mut armed = armed.lock().expect("delivery faults");
    for fault in armed.iter_mut() {
        if applies(fault) && times(fault).take() {
            return Some(fault.clone());
        }
    }
    None
}

impl Deliveries {
    pub fn arm_events(&self, faults: &[EventFault]) {
        self.events.lock().expect("delivery faults").extend_from_slice(faults);
    }

    pub fn arm_scheduler(&self, faults: &[SchedulerFault]) {
        self.scheduler
            .lock()
            .expect("delivery faults")
            .extend_from_slice(faults);
    }

    pub fn arm_pipe(&self, faults: &[PipeFault]) {
        self.pipe.lock().expect("delivery faults").extend_from_slice(faults);
    }

    /// The fault for a status-change event of an execution started for `job`.
    pub fn event(&self, job: Option<&JobKey>) -> Option<EventFault> {
        take(
            &self.events,
            |f| f.job.is_none() || f.job.as_deref() == job.map(|j| j.job_id.as_str()),
            |f| &mut f.times,
        )
    }

    /// The fault for the firing of a timer of `job`.
    pub fn timer(&self, job: Option<&JobKey>) -> Option<SchedulerFault> {
        take(
            &self.scheduler,
            |f| f.job.is_none() || f.job.as_deref() == job.map(|j| j.job_id.as_str()),
            |f| &mut f.times,
        )
    }

    /// The fault for a Pipe delivery of `job`'s record; a dropped one is remembered.
    pub fn delivery(&self, job: Option<&JobKey>) -> Option<PipeFault> {
        let fault = take(
            &self.pipe,
            |f| f.job.is_none() || f.job.as_deref() == job.map(|j| j.job_id.as_str()),
            |f| &mut f.times,
        )?;
        if let (PipeFaultKind::Drop, Some(job)) = (fault.fault, job) {
            self.dropped.lock().expect("dropped deliveries").push(job.clone());
        }
        Some(fault)
    }

    /// Jobs a Pipe delivery of which was dropped into the dead-letter queue.
    pub fn dropped(&self) -> Vec<JobKey> {
        self.dropped.lock().expect("dropped deliveries").clone()
    }
}

/// How long a delivery `delay_ms` late waits in real time: 1/N of it at `speedup: N`, all of it
/// on a real clock, and all of it on a virtual one too (a clock that jumps would make nothing
/// late; a timer's lateness is the exception: on that clock it already fires last).
pub fn late(time: sfn::TimeMode, delay_ms: u64) -> Duration {
    let delay = Duration::from_millis(delay_ms);
    match time {
        sfn::TimeMode::Virtual => delay,
        other => other.real_wait(delay),
    }
}
