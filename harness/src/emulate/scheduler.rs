//! EventBridge Scheduler's one-shot schedules, fired on the world's clock. moto keeps the
//! schedules and answers the API (CreateSchedule's ConflictException, DeleteSchedule's
//! ResourceNotFoundException); the edge tells `Timers` of every schedule created or deleted
//! there, and the world fires each `at(…)` schedule when its time comes:
//! - on a virtual clock (scenarios), once nothing else is left to happen (the clock jumps to the
//!   next timer, as it jumps over a Wait);
//! - on an accelerated one (`speedup: N`), after 1/N of the time to its `at`;
//! - on a real one (`harness up`), at its `at`.
//!
//! Firing invokes the target (HealJob) asynchronously with the schedule's input, then deletes
//! the schedule, as `ActionAfterCompletion: DELETE` does. The scenario's `scheduler` faults make
//! a timer fire late or twice.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

/// One armed schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    pub group: String,
    pub name: String,
    /// How long after it was armed its `at` comes, on the world's clock.
    pub after: Duration,
    /// When it was armed, in real time.
    pub armed: Instant,
    /// The target's ARN (a Lambda function) and the input it is invoked with.
    pub target_arn: String,
    pub input: String,
}

/// The schedules armed in a world.
#[derive(Debug)]
pub struct Timers {
    armed: Mutex<BTreeMap<(String, String), Timer>>,
    /// Bumped on every change (armed, deleted, fired), and the timers firing now.
    changed: tokio::sync::watch::Sender<(u64, usize)>,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            armed: Mutex::default(),
            changed: tokio::sync::watch::channel((0, 0)).0,
        }
    }
}

/// `at(yyyy-mm-ddThh:mm:ss)` in UTC as a time.
fn parse_at(expression: &str) -> Option<SystemTime> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let at = time::PrimitiveDateTime::parse(inner, &format).ok()?.assume_utc();
    Some(SystemTime::from(at))
}

impl Timers {
    /// CreateSchedule succeeded with `body` for the schedule `name` (the path's last segment).
    pub fn created(&self, name: &str, body: &[u8]) {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            tracing::warn!(name, "a schedule whose request is not JSON: not fired");
            return;
        };
        let text = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
        let Some(at) = text("/ScheduleExpression").and_then(parse_at) else {
            tracing::warn!(name, expression = ?text("/ScheduleExpression"), "only at(…) schedules in UTC are fired");
            return;
        };
        if text("/ScheduleExpressionTimezone").is_some_and(|zone| zone != "UTC") {
            tracing::warn!(name, "only at(…) schedules in UTC are fired");
            return;
        }
        let timer = Timer {
            group: text("/GroupName").unwrap_or("default").to_string(),
            name: name.to_string(),
            after: at.duration_since(SystemTime::now()).unwrap_or_default(),
            armed: Instant::now(),
            target_arn: text("/Target/Arn").unwrap_or_default().to_string(),
            input: text("/Target/Input").unwrap_or("{}").to_string(),
        };
        tracing::info!(name, after_s = timer.after.as_secs(), "timer armed");
        self.armed
            .lock()
            .expect("timers")
            .insert((timer.group.clone(), timer.name.clone()), timer);
        self.changed.send_modify(|(n, _)| *n += 1);
    }

    /// DeleteSchedule succeeded for `name` in `group`.
    pub fn deleted(&self, group: &str, name: &str) {
        let removed = self
            .armed
            .lock()
            .expect("timers")
            .remove(&(group.to_string(), name.to_string()));
        if removed.is_some() {
            self.changed.send_modify(|(n, _)| *n += 1);
        }
    }

    /// The timer due first (on any clock, the order is the same).
    pub fn next(&self) -> Option<Timer> {
        self.armed
            .lock()
            .expect("timers")
            .values()
            .min_by_key(|t| t.armed + t.after)
            .cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.armed.lock().expect("timers").is_empty()
    }

    /// Takes `timer` out to fire it (false if it was deleted meanwhile); `fired` puts it to rest.
    pub fn take(&self, timer: &Timer) -> bool {
        let taken = self
            .armed
            .lock()
            .expect("timers")
            .remove(&(timer.group.clone(), timer.name.clone()))
            .is_some();
        if taken {
            self.changed.send_modify(|(n, firing)| {
                *n += 1;
                *firing += 1;
            });
        }
        taken
    }

    /// A timer taken by `take` has fired (its target's invocations done).
    pub fn fired(&self) {
        self.changed.send_modify(|(n, firing)| {
            *n += 1;
            *firing -= 1;
        });
    }

    /// Changes from now on.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<(u64, usize)> {
        self.changed.subscribe()
    }

    /// No timer armed or firing.
    pub fn is_idle(&self) -> bool {
        self.changed.borrow().1 == 0 && self.is_empty()
    }

    /// Waits until no timer is armed or firing.
    pub async fn idle(&self) {
        let mut changes = self.changes();
        let _ = changes.wait_for(|(_, firing)| *firing == 0 && self.is_empty()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_read_in_utc() {
        let at = parse_at("at(2026-12-06T23:51:52)").unwrap();
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_796_601_112
        );
        assert!(parse_at("rate(5 minutes)").is_none());
    }

    #[test]
    fn created_and_deleted_schedules_arm_and_disarm() {
        let timers = Timers::default();
        let body = serde_json::json!({"ScheduleExpression": "at(2099-01-01T00:00:00)", "GroupName": "g",
            "ScheduleExpressionTimezone": "UTC", "Target": {"Arn": "arn:aws:lambda:us-east-1:1:function:HealJob", "Input": "{}"}});
        timers.created("t1", body.to_string().as_bytes());
        let next = timers.next().expect("armed");
        assert_eq!((next.group.as_str(), next.name.as_str()), ("g", "t1"));
        timers.deleted("g", "t1");
        assert!(timers.is_empty());
        timers.created("t2", br#"{"ScheduleExpression": "rate(1 minute)"}"#);
        assert!(timers.is_empty(), "not an at() schedule: not armed");
    }
}
