//! Execution history: events with AWS's names, ids and detail objects.
//!
//! An [`Event`] is typed: its [`EventKind`] is one of AWS's `HistoryEventType` names, each with
//! its `…EventDetails` (where AWS has one) as a struct. Its serde form is the JSON AWS answers
//! GetExecutionHistory with, keys sorted as they always were here (`id`, `previousEventId`,
//! `timestamp` and `type` beside the one details object); the timestamp is RFC 3339 text (the
//! service turns it into epoch seconds, as AWS's JSON protocol does), and reads back from either.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::StateType;

/// One history event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub id: usize,
    #[serde(default)]
    pub previous_event_id: usize,
    /// Read as the Unix epoch when a history file leaves it out (only the order counts there).
    #[serde(default = "unix_epoch", deserialize_with = "timestamp")]
    pub timestamp: OffsetDateTime,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            id: usize,
            previous_event_id: usize,
            timestamp: String,
            #[serde(flatten)]
            kind: &'a EventKind,
        }
        let wire = Wire {
            id: self.id,
            previous_event_id: self.previous_event_id,
            timestamp: self.timestamp.format(&Rfc3339).unwrap_or_default(),
            kind: &self.kind,
        };
        // Through `Value`: its object keeps its keys sorted, which is the order every answer and
        // file has always had (the details key falls between the others by its name).
        serde_json::to_value(wire)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

fn unix_epoch() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

/// RFC 3339 text (as recorded; also with a space for the `T`, as Python's `str(datetime)` writes
/// it in a boto3 dump) or epoch seconds (as the API answers).
fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::String(text) => OffsetDateTime::parse(&text, &Rfc3339)
            .or_else(|e| OffsetDateTime::parse(&text.replacen(' ', "T", 1), &Rfc3339).map_err(|_| e))
            .map_err(|e| D::Error::custom(format!("the timestamp {text:?}: {e}"))),
        Value::Number(n) => {
            let seconds = n.as_f64().ok_or_else(|| D::Error::custom("a timestamp out of range"))?;
            OffsetDateTime::from_unix_timestamp_nanos((seconds * 1e9) as i128).map_err(D::Error::custom)
        }
        other => Err(D::Error::custom(format!("a timestamp, not {other}"))),
    }
}

/// The event kinds, each with its details under AWS's key for them.
macro_rules! event_kinds {
    ($(
        $(#[$doc:meta])*
        $name:ident $({ $(#[$field:meta])* $key:literal: $details:ty })?,
    )*) => {
        /// An event's `type` (AWS's `HistoryEventType`) and its details.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum EventKind {
            $(
                $(#[$doc])*
                $name $({
                    #[serde(rename = $key)]
                    $(#[$field])*
                    details: $details
                })?,
            )*
            /// A type this emulator does not record (read from another history).
            #[serde(other)]
            Unknown,
        }

        impl EventKind {
            /// The type as AWS names it (`TaskStateEntered` …).
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Self::$name { .. } => stringify!($name),)*
                    Self::Unknown => "Unknown",
                }
            }
        }
    };
}

event_kinds! {
    ExecutionStarted { "executionStartedEventDetails": ExecutionStartedEventDetails },
    ExecutionSucceeded { "executionSucceededEventDetails": ExecutionSucceededEventDetails },
    ExecutionFailed { "executionFailedEventDetails": ExecutionFailedEventDetails },
    ExecutionAborted { "executionAbortedEventDetails": ExecutionAbortedEventDetails },
    ExecutionTimedOut { "executionTimedOutEventDetails": ExecutionTimedOutEventDetails },

    ChoiceStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    ChoiceStateExited { "stateExitedEventDetails": StateExitedEventDetails },
    FailStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    MapStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    MapStateExited { "stateExitedEventDetails": StateExitedEventDetails },
    ParallelStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    ParallelStateExited { "stateExitedEventDetails": StateExitedEventDetails },
    PassStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    PassStateExited { "stateExitedEventDetails": StateExitedEventDetails },
    SucceedStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    SucceedStateExited { "stateExitedEventDetails": StateExitedEventDetails },
    TaskStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    TaskStateExited { "stateExitedEventDetails": StateExitedEventDetails },
    WaitStateEntered { "stateEnteredEventDetails": StateEnteredEventDetails },
    WaitStateExited { "stateExitedEventDetails": StateExitedEventDetails },

    /// A JSONata expression failed its state (recorded where it failed).
    EvaluationFailed { "evaluationFailedEventDetails": EvaluationFailedEventDetails },

    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,

    MapStateStarted { "mapStateStartedEventDetails": MapStateStartedEventDetails },
    MapStateSucceeded,
    MapStateFailed,
    MapIterationStarted { "mapIterationStartedEventDetails": MapIterationEventDetails },
    MapIterationSucceeded { "mapIterationSucceededEventDetails": MapIterationEventDetails },
    MapIterationFailed { "mapIterationFailedEventDetails": MapIterationEventDetails },

    /// A service integration's (or `lambda:invoke`'s) call.
    TaskScheduled { "taskScheduledEventDetails": TaskScheduledEventDetails },
    /// `lambda:invoke` records it without details.
    TaskStarted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        "taskStartedEventDetails": Option<TaskStartedEventDetails>
    },
    /// A callback task handed its token over.
    TaskSubmitted { "taskSubmittedEventDetails": TaskSubmittedEventDetails },
    TaskSucceeded { "taskSucceededEventDetails": TaskSucceededEventDetails },
    TaskFailed { "taskFailedEventDetails": TaskFailedEventDetails },
    TaskTimedOut { "taskTimedOutEventDetails": TaskTimedOutEventDetails },

    /// A Lambda function's call through its ARN as the Resource.
    LambdaFunctionScheduled { "lambdaFunctionScheduledEventDetails": LambdaFunctionScheduledEventDetails },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded { "lambdaFunctionSucceededEventDetails": LambdaFunctionSucceededEventDetails },
    LambdaFunctionFailed { "lambdaFunctionFailedEventDetails": LambdaFunctionFailedEventDetails },
    LambdaFunctionTimedOut { "lambdaFunctionTimedOutEventDetails": LambdaFunctionTimedOutEventDetails },
    /// Not recorded here (the emulator always schedules and starts a function); read from AWS's
    /// histories, it is how a task attempt ended.
    LambdaFunctionScheduleFailed { "lambdaFunctionScheduleFailedEventDetails": FailureDetails },
    /// As `LambdaFunctionScheduleFailed`: read from AWS's histories.
    LambdaFunctionStartFailed { "lambdaFunctionStartFailedEventDetails": FailureDetails },
    /// As `LambdaFunctionScheduleFailed`: read from AWS's histories.
    TaskStartFailed { "taskStartFailedEventDetails": TaskFailureDetails },
    /// As `LambdaFunctionScheduleFailed`: read from AWS's histories.
    TaskSubmitFailed { "taskSubmitFailedEventDetails": TaskFailureDetails },

    /// Not recorded here (no activities); read from AWS's histories, it is a task attempt.
    ActivityScheduled { "activityScheduledEventDetails": ActivityScheduledEventDetails },
}

/// `inputDetails`, `outputDetails`, `assignedVariablesDetails`: whether the data was cut.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataDetails {
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStartedEventDetails {
    /// The input as JSON text (absent from a history fetched without execution data).
    #[serde(default)]
    pub input: String,
    #[serde(default)]
    pub input_details: DataDetails,
    #[serde(default)]
    pub role_arn: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSucceededEventDetails {
    /// The output as JSON text (absent from a history fetched without execution data).
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub output_details: DataDetails,
}

/// An error and its cause: how an execution, a Lambda function or a task failed. Both are
/// optional members in AWS's JSON: an empty one (a Fail state without `Error` or `Cause`) is left
/// out, not written as `""`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureDetails {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cause: String,
}

impl FailureDetails {
    pub(crate) fn of(error: &crate::error::StatesError) -> Self {
        Self {
            error: error.error.clone(),
            cause: error.cause.clone(),
        }
    }
}

pub type ExecutionFailedEventDetails = FailureDetails;
pub type ExecutionAbortedEventDetails = FailureDetails;
pub type ExecutionTimedOutEventDetails = FailureDetails;
pub type LambdaFunctionFailedEventDetails = FailureDetails;
pub type LambdaFunctionTimedOutEventDetails = FailureDetails;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateEnteredEventDetails {
    pub name: String,
    /// The state's input as JSON text.
    #[serde(default)]
    pub input: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateExitedEventDetails {
    pub name: String,
    /// The state's output as JSON text.
    #[serde(default)]
    pub output: String,
    /// The variables the state assigned: each name with its value as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_variables: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_variables_details: Option<DataDetails>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluationFailedEventDetails {
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub error: String,
    /// The field whose expression failed.
    #[serde(default)]
    pub location: String,
    /// The state it failed.
    #[serde(default)]
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapStateStartedEventDetails {
    /// How many iterations the Map runs.
    #[serde(default)]
    pub length: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapIterationEventDetails {
    /// The Map state's name.
    pub name: String,
    pub index: usize,
}

/// `taskCredentials`: the role a Task's `Credentials` named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCredentials {
    /// The evaluated `RoleArn`, as it evaluated.
    pub role_arn: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskScheduledEventDetails {
    /// The service (`lambda`, `dynamodb`, `aws-sdk:s3` …).
    pub resource_type: String,
    /// The action (`invoke`, `getItem` …).
    pub resource: String,
    #[serde(default)]
    pub region: String,
    /// The Parameters as JSON text.
    #[serde(default)]
    pub parameters: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_credentials: Option<TaskCredentials>,
}

/// The service and action of a task's event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResource {
    pub resource_type: String,
    pub resource: String,
}

pub type TaskStartedEventDetails = TaskResource;
pub type TaskSubmittedEventDetails = TaskResource;

/// How a task ended well: its output, and (but for `lambda:invoke`'s) the service and action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSucceededEventDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The output as JSON text.
    #[serde(default)]
    pub output: String,
}

/// How a task failed or timed out, and (but for `lambda:invoke`'s) the service and action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskFailureDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub cause: String,
}

pub type TaskFailedEventDetails = TaskFailureDetails;
pub type TaskTimedOutEventDetails = TaskFailureDetails;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaFunctionScheduledEventDetails {
    /// The function's ARN.
    pub resource: String,
    /// The input as JSON text.
    #[serde(default)]
    pub input: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_credentials: Option<TaskCredentials>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LambdaFunctionSucceededEventDetails {
    /// The output as JSON text.
    #[serde(default)]
    pub output: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityScheduledEventDetails {
    #[serde(default)]
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

impl EventKind {
    /// `{type}StateEntered` for a state of this type.
    pub fn state_entered(state: StateType, details: StateEnteredEventDetails) -> Self {
        match state {
            StateType::Choice => Self::ChoiceStateEntered { details },
            StateType::Fail => Self::FailStateEntered { details },
            StateType::Map => Self::MapStateEntered { details },
            StateType::Parallel => Self::ParallelStateEntered { details },
            StateType::Pass => Self::PassStateEntered { details },
            StateType::Succeed => Self::SucceedStateEntered { details },
            StateType::Task => Self::TaskStateEntered { details },
            StateType::Wait => Self::WaitStateEntered { details },
        }
    }

    /// `{type}StateExited` for a state of this type; none for a Fail state, which never exits.
    pub fn state_exited(state: StateType, details: StateExitedEventDetails) -> Option<Self> {
        Some(match state {
            StateType::Choice => Self::ChoiceStateExited { details },
            StateType::Fail => return None,
            StateType::Map => Self::MapStateExited { details },
            StateType::Parallel => Self::ParallelStateExited { details },
            StateType::Pass => Self::PassStateExited { details },
            StateType::Succeed => Self::SucceedStateExited { details },
            StateType::Task => Self::TaskStateExited { details },
            StateType::Wait => Self::WaitStateExited { details },
        })
    }

    /// The details of a `…StateEntered` event.
    pub fn as_state_entered(&self) -> Option<&StateEnteredEventDetails> {
        match self {
            Self::ChoiceStateEntered { details }
            | Self::FailStateEntered { details }
            | Self::MapStateEntered { details }
            | Self::ParallelStateEntered { details }
            | Self::PassStateEntered { details }
            | Self::SucceedStateEntered { details }
            | Self::TaskStateEntered { details }
            | Self::WaitStateEntered { details } => Some(details),
            _ => None,
        }
    }

    /// The details of a `…StateExited` event.
    pub fn as_state_exited(&self) -> Option<&StateExitedEventDetails> {
        match self {
            Self::ChoiceStateExited { details }
            | Self::MapStateExited { details }
            | Self::ParallelStateExited { details }
            | Self::PassStateExited { details }
            | Self::SucceedStateExited { details }
            | Self::TaskStateExited { details }
            | Self::WaitStateExited { details } => Some(details),
            _ => None,
        }
    }

    /// The type of the state a `…StateEntered` or `…StateExited` event is of.
    pub fn state_type(&self) -> Option<StateType> {
        Some(match self {
            Self::ChoiceStateEntered { .. } | Self::ChoiceStateExited { .. } => StateType::Choice,
            Self::FailStateEntered { .. } => StateType::Fail,
            Self::MapStateEntered { .. } | Self::MapStateExited { .. } => StateType::Map,
            Self::ParallelStateEntered { .. } | Self::ParallelStateExited { .. } => StateType::Parallel,
            Self::PassStateEntered { .. } | Self::PassStateExited { .. } => StateType::Pass,
            Self::SucceedStateEntered { .. } | Self::SucceedStateExited { .. } => StateType::Succeed,
            Self::TaskStateEntered { .. } | Self::TaskStateExited { .. } => StateType::Task,
            Self::WaitStateEntered { .. } | Self::WaitStateExited { .. } => StateType::Wait,
            _ => return None,
        })
    }

    /// A task attempt's first event: a `TaskScheduled`, `LambdaFunctionScheduled` or
    /// `ActivityScheduled` (a second one since its state was entered is a retry).
    pub fn is_scheduled(&self) -> bool {
        matches!(
            self,
            Self::TaskScheduled { .. } | Self::LambdaFunctionScheduled { .. } | Self::ActivityScheduled { .. }
        )
    }

    /// Whether something failed or timed out here: an execution, a state, a Map iteration, a
    /// task, a function or an expression.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::ExecutionFailed { .. }
                | Self::ExecutionTimedOut { .. }
                | Self::EvaluationFailed { .. }
                | Self::ParallelStateFailed
                | Self::MapStateFailed
                | Self::MapIterationFailed { .. }
                | Self::TaskFailed { .. }
                | Self::TaskTimedOut { .. }
                | Self::LambdaFunctionFailed { .. }
                | Self::LambdaFunctionTimedOut { .. }
                | Self::LambdaFunctionScheduleFailed { .. }
                | Self::LambdaFunctionStartFailed { .. }
                | Self::TaskStartFailed { .. }
                | Self::TaskSubmitFailed { .. }
        )
    }

    /// How the execution ended, if this is its last event: `Some(true)` for
    /// `ExecutionSucceeded`, `Some(false)` for `ExecutionFailed`, `…TimedOut` or `…Aborted`.
    pub fn execution_ended(&self) -> Option<bool> {
        match self {
            Self::ExecutionSucceeded { .. } => Some(true),
            Self::ExecutionFailed { .. } | Self::ExecutionTimedOut { .. } | Self::ExecutionAborted { .. } => {
                Some(false)
            }
            _ => None,
        }
    }

    /// The error and cause the details name, if they name one.
    pub fn error(&self) -> Option<(&str, &str)> {
        match self {
            Self::ExecutionFailed { details }
            | Self::ExecutionAborted { details }
            | Self::ExecutionTimedOut { details }
            | Self::LambdaFunctionFailed { details }
            | Self::LambdaFunctionTimedOut { details }
            | Self::LambdaFunctionScheduleFailed { details }
            | Self::LambdaFunctionStartFailed { details } => Some((&details.error, &details.cause)),
            Self::TaskFailed { details }
            | Self::TaskTimedOut { details }
            | Self::TaskStartFailed { details }
            | Self::TaskSubmitFailed { details } => Some((&details.error, &details.cause)),
            Self::EvaluationFailed { details } => Some((&details.error, &details.cause)),
            _ => None,
        }
    }

    /// The input the details carry (JSON text): an execution's, a state's or a function's.
    pub fn input(&self) -> Option<&str> {
        match self {
            Self::ExecutionStarted { details } => Some(&details.input),
            Self::LambdaFunctionScheduled { details } => Some(&details.input),
            Self::ActivityScheduled { details } => details.input.as_deref(),
            other => other.as_state_entered().map(|d| d.input.as_str()),
        }
    }

    /// The output the details carry (JSON text): an execution's, a state's or a task's.
    pub fn output(&self) -> Option<&str> {
        match self {
            Self::ExecutionSucceeded { details } => Some(&details.output),
            Self::TaskSucceeded { details } => Some(&details.output),
            Self::LambdaFunctionSucceeded { details } => Some(&details.output),
            other => other.as_state_exited().map(|d| d.output.as_str()),
        }
    }

    /// A scheduled task's Parameters (JSON text).
    pub fn parameters(&self) -> Option<&str> {
        match self {
            Self::TaskScheduled { details } => Some(&details.parameters),
            _ => None,
        }
    }

    /// The variables a `…StateExited` event records as assigned.
    pub fn assigned_variables(&self) -> Option<&BTreeMap<String, String>> {
        self.as_state_exited().and_then(|d| d.assigned_variables.as_ref())
    }
}

impl Event {
    /// The name of the state a `…StateEntered` event entered.
    pub fn entered_state(&self) -> Option<&str> {
        self.kind.as_state_entered().map(|d| d.name.as_str())
    }

    /// The name of the state a `…StateExited` event left.
    pub fn exited_state(&self) -> Option<&str> {
        self.kind.as_state_exited().map(|d| d.name.as_str())
    }
}

/// The events of one execution as they are recorded, for its waiters.
pub(crate) struct History {
    events: Mutex<Vec<Event>>,
    /// The number of events, for waiters.
    count: tokio::sync::watch::Sender<usize>,
}

impl Default for History {
    fn default() -> Self {
        Self {
            events: Mutex::default(),
            count: tokio::sync::watch::channel(0).0,
        }
    }
}

impl History {
    /// Appends an event and returns its id.
    pub fn push(&self, at: OffsetDateTime, kind: EventKind) -> usize {
        let mut events = self.events.lock().expect("history");
        let id = events.len() + 1;
        events.push(Event {
            id,
            previous_event_id: id - 1,
            timestamp: at,
            kind,
        });
        self.count.send_replace(id);
        id
    }

    /// Waits until an event satisfying `wanted` is in the history, and returns it (none if the
    /// execution's driver is gone).
    pub async fn wait_for(&self, wanted: impl Fn(&Event) -> bool) -> Option<Event> {
        let mut count = self.count.subscribe();
        loop {
            if let Some(found) = self.events.lock().expect("history").iter().find(|e| wanted(e)) {
                return Some(found.clone());
            }
            if count.changed().await.is_err() {
                return None;
            }
        }
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("history").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> OffsetDateTime {
        OffsetDateTime::parse("2026-01-02T03:04:05.123456789Z", &Rfc3339).unwrap()
    }

    #[test]
    fn serializes_as_aws_json_with_sorted_keys() {
        let event = Event {
            id: 2,
            previous_event_id: 1,
            timestamp: at(),
            kind: EventKind::state_entered(
                StateType::Task,
                StateEnteredEventDetails {
                    name: "T".into(),
                    input: "{}".into(),
                },
            ),
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"id":2,"previousEventId":1,"stateEnteredEventDetails":{"input":"{}","name":"T"},"timestamp":"2026-01-02T03:04:05.123456789Z","type":"TaskStateEntered"}"#
        );
        let unit = Event {
            kind: EventKind::MapStateSucceeded,
            ..event.clone()
        };
        assert_eq!(
            serde_json::to_string(&unit).unwrap(),
            r#"{"id":2,"previousEventId":1,"timestamp":"2026-01-02T03:04:05.123456789Z","type":"MapStateSucceeded"}"#
        );
        let started = Event {
            kind: EventKind::TaskStarted { details: None },
            ..event.clone()
        };
        assert!(
            !serde_json::to_string(&started)
                .unwrap()
                .contains("taskStartedEventDetails")
        );
    }

    #[test]
    fn reads_back_recorded_and_api_forms() {
        let recorded = json!({"id": 1, "previousEventId": 0, "timestamp": "2026-01-02T03:04:05.5Z",
            "type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}",
            "inputDetails": {"truncated": false}, "roleArn": "r"}});
        let event: Event = serde_json::from_value(recorded.clone()).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), recorded);
        let api = json!({"id": 3, "previousEventId": 2, "timestamp": 1767323045.5, "type": "MapRunStarted"});
        let event: Event = serde_json::from_value(api).unwrap();
        assert_eq!(event.kind, EventKind::Unknown);
        assert_eq!(event.timestamp.unix_timestamp(), 1767323045);
        // A hand-written history may hold no more than each event's type and details.
        let bare = json!({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "T"}});
        let event: Event = serde_json::from_value(bare).unwrap();
        assert_eq!(event.entered_state(), Some("T"));
    }

    #[test]
    fn reads_a_history_without_execution_data_and_a_boto3_dump() {
        // `get-execution-history --no-include-execution-data` leaves input and output out.
        for (kind, key) in [
            ("ExecutionStarted", "executionStartedEventDetails"),
            ("ExecutionSucceeded", "executionSucceededEventDetails"),
        ] {
            let event: Event = serde_json::from_value(json!({"type": kind, key: {}})).unwrap();
            assert_eq!(event.kind.type_name(), kind);
        }
        // Python's str(datetime), as a boto3 history dumped with json.dumps(default=str) has it.
        let dumped = json!({"id": 1, "timestamp": "2024-01-02 03:04:05.123000+00:00", "type": "ExecutionStarted",
            "executionStartedEventDetails": {"input": "{}"}});
        let event: Event = serde_json::from_value(dumped).unwrap();
        assert_eq!(event.timestamp.unix_timestamp(), 1704164645);
        let wrong = json!({"timestamp": "yesterday", "type": "ExecutionStarted"});
        let err = serde_json::from_value::<Event>(wrong).unwrap_err().to_string();
        assert!(err.contains("the timestamp \"yesterday\""), "{err}");
    }
}
