//! Deadline timers: the safety net under healing, still event-driven.
//!
//! Healing rides on Step Functions' status-change events, which EventBridge delivers best-effort:
//! one may be lost, or arrive without the execution's input. So every execution that takes a
//! job also arms a one-shot EventBridge Scheduler schedule (`at(…)`, deleted by Scheduler once it
//! has run) past the execution's timeout. FinalizeJob and HealJob disarm it once the job is
//! recorded; if it fires all the same, HealJob asks DescribeExecution and heals the job only if
//! that execution has ended. Nothing scans the table and nothing polls.
//!
//! A timer belongs to one execution of one job (its name is a digest of both): a duplicate
//! delivery's execution arms and disarms its own, never the owner's.

use std::time::{Duration, SystemTime};

use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::PipelineError;
use crate::job::JobKey;

/// Where the timers live and what they invoke (from `HEAL_TIMER_*`).
#[derive(Debug, Clone)]
pub struct TimerSettings {
    /// `HEAL_TIMER_GROUP`: the schedule group.
    pub group: String,
    /// `HEAL_TIMER_TARGET_ARN`: HealJob's function ARN.
    pub target_arn: String,
    /// `HEAL_TIMER_ROLE_ARN`: the role Scheduler assumes to invoke HealJob.
    pub role_arn: String,
    /// `HEAL_TIMER_DLQ_ARN`: where Scheduler puts a firing it could not deliver to HealJob for
    /// 24 h (an alarmed queue), instead of dropping it.
    pub dead_letter_arn: String,
    /// `HEAL_TIMER_AFTER_SECS`: how long after the take it fires; past the state machine's
    /// `TimeoutSeconds`, so the execution has ended by then whatever happened to it.
    pub after: Duration,
}

/// The execution's `TimeoutSeconds` (36,000) and a quarter hour for its own status-change event
/// to be healed first (which disarms the timer).
pub const DEFAULT_AFTER: Duration = Duration::from_secs(36_000 + 900);

/// HealJob's input when a timer fires: `{"deadline": {"job": {…}, "executionArn": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineFired {
    pub deadline: Deadline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deadline {
    pub job: JobKey,
    pub execution_arn: String,
}

/// The Scheduler client and the settings of the timers.
#[derive(Debug, Clone)]
pub struct DeadlineTimers {
    client: aws_sdk_scheduler::Client,
    settings: TimerSettings,
}

/// A schedule's name for the timer of `execution_arn` on `key`: Scheduler names are at most 64
/// characters of `[0-9a-zA-Z-_.]`, so a digest of both stands for them.
pub fn timer_name(key: &JobKey, execution_arn: &str) -> String {
    let digest = Sha256::digest(format!("{}\u{0}{}\u{0}{execution_arn}", key.project, key.job_id));
    format!("filechecks-{}", &hex::encode(digest)[..40])
}

/// `at(yyyy-mm-ddThh:mm:ss)` in UTC, a second-rounded instant never earlier than `at`.
fn at_expression(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at + Duration::from_secs(1));
    format!(
        "at({:04}-{:02}-{:02}T{:02}:{:02}:{:02})",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

impl DeadlineTimers {
    pub fn new(client: aws_sdk_scheduler::Client, settings: TimerSettings) -> Self {
        Self { client, settings }
    }

    /// Arms the timer of `execution_arn` on `key`, `after` from now. Armed already (a retried
    /// SetRunning) is fine.
    pub async fn arm(&self, key: &JobKey, execution_arn: &str) -> Result<(), PipelineError> {
        let name = timer_name(key, execution_arn);
        let input = serde_json::to_string(&DeadlineFired {
            deadline: Deadline {
                job: key.clone(),
                execution_arn: execution_arn.to_string(),
            },
        })
        .expect("a deadline serializes");
        let target = Target::builder()
            .arn(&self.settings.target_arn)
            .role_arn(&self.settings.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(86_400)
                    .maximum_retry_attempts(185)
                    .build(),
            )
            .dead_letter_config(DeadLetterConfig::builder().arn(&self.settings.dead_letter_arn).build())
            .build()
            .map_err(|e| PipelineError::AwsRequestFailed(format!("a timer's target: {e}")))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| PipelineError::AwsRequestFailed(format!("a timer's window: {e}")))?;
        let created = self
            .client
            .create_schedule()
            .name(&name)
            .group_name(&self.settings.group)
            .schedule_expression(at_expression(SystemTime::now() + self.settings.after))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            // Scheduler allows 512 characters here; a job's key may be longer: its input names it.
            .description("FileChecks deadline timer")
            .target(target)
            .send()
            .await;
        match created {
            Ok(_) => {
                tracing::info!(job_id = %key.job_id, timer = %name, "deadline timer armed");
                Ok(())
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conflict_exception()) => Ok(()),
            Err(e) => Err(PipelineError::from_sdk("arming the deadline timer (CreateSchedule)", e)),
        }
    }

    /// Disarms the timer of `execution_arn` on `key`. Gone already is fine; a failure is logged,
    /// not raised: the timer then fires, and HealJob finds the job recorded and leaves it.
    pub async fn disarm(&self, key: &JobKey, execution_arn: &str) {
        let name = timer_name(key, execution_arn);
        let deleted = self
            .client
            .delete_schedule()
            .name(&name)
            .group_name(&self.settings.group)
            .send()
            .await;
        match deleted {
            Ok(_) => tracing::info!(job_id = %key.job_id, timer = %name, "deadline timer disarmed"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => tracing::warn!(job_id = %key.job_id, timer = %name,
                error = %PipelineError::from_sdk("disarming the deadline timer (DeleteSchedule)", e),
                "deadline timer left to fire"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_is_named_per_job_and_execution_within_schedulers_rules() {
        let key = JobKey {
            job_id: "a/b c".into(),
            project: "P".into(),
        };
        let name = timer_name(&key, "arn:aws:states:us-east-1:1:execution:M:e1");
        assert!(name.len() <= 64);
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_ne!(name, timer_name(&key, "arn:aws:states:us-east-1:1:execution:M:e2"));
        let other = JobKey {
            job_id: "a/b c".into(),
            project: "Q".into(),
        };
        assert_ne!(name, timer_name(&other, "arn:aws:states:us-east-1:1:execution:M:e1"));
    }

    #[test]
    fn at_expressions_are_whole_seconds_in_utc_never_early() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_601_111_500);
        assert_eq!(at_expression(at), "at(2026-12-06T23:51:52)");
    }
}
