//! Replaying a recorded execution. A [`Recording`] is a history as GetExecutionHistory answered it
//! (on AWS or here); read as the answers its Task states gave, in order per state, it is a
//! MockConfig test case ([`Recording::mock_config`]), so a run of the same definition gets every
//! task's recorded result. [`compare`] then walks the recorded and the replayed history side by
//! side to the first event where they differ: the emulator diverging from what AWS did.
//!
//! What is compared, per event: its type; the state it enters or leaves; input, output, Task
//! parameters and assigned variables as JSON values (not as text: key order and `1.0` against `1`
//! are not divergences); error and cause; a Map's length and iteration; an expression's failure
//! location. Not compared: ids, the role, the region, a function's ARN (the definition gives it,
//! often through a placeholder), data a history left out or marked truncated, and time, but for
//! the two waits the definition decides: a Wait state's, and a retry's interval (without jitter).

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::error::StatesError;
use crate::exec::{Identity, error_matches};
use crate::history::{
    Event, EventKind, ExecutionStartedEventDetails, LambdaFunctionSucceededEventDetails, TaskSucceededEventDetails,
};
use crate::mock::{MockConfig, MockedMachine, MockedResponse, MockedThrow, TestCase};
use crate::model::StateMachine;

/// A history that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("not a history: {0} (expected GetExecutionHistory's {{\"events\": […]}}, or the events as a list)")]
    NotAHistory(String),
    #[error("event {index} (of {count}): {problem}")]
    BadEvent {
        index: usize,
        count: usize,
        problem: String,
    },
    #[error("the history is empty")]
    Empty,
    #[error(
        "the history has no execution input (fetched with --no-include-execution-data?): give the input with --input"
    )]
    NoInput,
    #[error("the execution's input is not JSON: {0}")]
    BadInput(String),
}

/// One answer a Task state gave: the result of one attempt, as a mocked response.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The Task state that made the attempt.
    pub state: String,
    /// The recorded event that ended the attempt (1-based position in the history).
    pub event: usize,
    pub response: MockedResponse,
}

/// A recorded history, each event typed and as it was written (for the details the types leave
/// out: what was truncated, a type this emulator does not know).
#[derive(Debug, Clone)]
pub struct Recording {
    pub events: Vec<Event>,
    raw: Vec<Value>,
    /// The execution's ARN, where the file gives it beside the events (`executionArn`, as
    /// DescribeExecution names it): a replay then runs as that execution (`$$.Execution`).
    pub execution_arn: Option<String>,
}

impl Recording {
    /// GetExecutionHistory's answer (`{"events": […]}`, as `aws stepfunctions
    /// get-execution-history` prints it, with every page), a file holding `events` beside other
    /// keys, or the events as a list.
    pub fn from_value(value: &Value) -> Result<Self, ReplayError> {
        let execution_arn = value.get("executionArn").and_then(Value::as_str).map(str::to_string);
        let raw = match value {
            Value::Array(events) => events.clone(),
            Value::Object(fields) => match fields.get("events") {
                Some(Value::Array(events)) => events.clone(),
                Some(_) => return Err(ReplayError::NotAHistory("`events` is not a list".into())),
                None => return Err(ReplayError::NotAHistory("an object without `events`".into())),
            },
            other => return Err(ReplayError::NotAHistory(format!("a JSON {}", kind_of(other)))),
        };
        Ok(Self {
            execution_arn,
            ..Self::from_events(raw)?
        })
    }

    pub fn from_events(raw: Vec<Value>) -> Result<Self, ReplayError> {
        if raw.is_empty() {
            return Err(ReplayError::Empty);
        }
        let count = raw.len();
        let events = raw
            .iter()
            .enumerate()
            .map(|(i, event)| {
                serde_json::from_value::<Event>(event.clone()).map_err(|e| ReplayError::BadEvent {
                    index: i + 1,
                    count,
                    problem: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            events,
            raw,
            execution_arn: None,
        })
    }

    /// The `ExecutionStarted` event, and its details.
    fn started(&self) -> Option<(&Event, &ExecutionStartedEventDetails)> {
        self.events.iter().find_map(|e| match &e.kind {
            EventKind::ExecutionStarted { details } => Some((e, details)),
            _ => None,
        })
    }

    /// Who the recorded execution was: its ARN (where known), start and role, for a replay to
    /// run as it.
    pub fn identity(&self) -> Identity {
        let started = self.started();
        Identity {
            execution_arn: self.execution_arn.clone().unwrap_or_default(),
            start: started
                .map(|(e, _)| e.timestamp)
                .filter(|at| *at != OffsetDateTime::UNIX_EPOCH),
            role_arn: started.map(|(_, d)| d.role_arn.clone()).filter(|role| !role.is_empty()),
        }
    }

    /// The execution's input, from its `ExecutionStarted` event.
    pub fn input(&self) -> Result<Value, ReplayError> {
        let text = self
            .started()
            .map(|(_, d)| d.input.as_str())
            .filter(|text| !text.is_empty())
            .ok_or(ReplayError::NoInput)?;
        serde_json::from_str(text).map_err(|e| ReplayError::BadInput(e.to_string()))
    }

    /// How long each retry waited after the failure before it, as recorded (seconds; none where
    /// the history has no timestamps).
    pub fn retry_waits(&self) -> Vec<f64> {
        (0..self.events.len())
            .filter(|&i| self.events[i].kind.is_scheduled())
            .filter_map(|i| decided_wait(&self.events, i))
            .collect()
    }

    /// The recorded type of event `index` (0-based), also where this emulator does not know it.
    pub fn type_name(&self, index: usize) -> &str {
        match &self.events[index].kind {
            EventKind::Unknown => self.raw[index].get("type").and_then(Value::as_str).unwrap_or("Unknown"),
            kind => kind.type_name(),
        }
    }

    /// Every task attempt's result, in the order they were recorded.
    pub fn answers(&self) -> Vec<Answer> {
        // AWS chains each event to the one before it in its own branch: an attempt's end leads
        // back through its start and scheduling (and earlier attempts) to its state's entry. A
        // history whose ids were left out or redacted is read in order instead.
        let by_id: BTreeMap<usize, usize> = self.events.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        let chained = by_id.len() == self.events.len() && !by_id.contains_key(&0);
        let mut answers = Vec::new();
        let mut last_entered: Option<&str> = None;
        for (index, event) in self.events.iter().enumerate() {
            if let EventKind::TaskStateEntered { details } = &event.kind {
                last_entered = Some(&details.name);
            }
            let Some(response) = response_of(&event.kind) else {
                continue;
            };
            let state = chained
                .then(|| self.entered_before(index, &by_id))
                .flatten()
                .or(last_entered);
            if let Some(state) = state {
                answers.push(Answer {
                    state: state.to_string(),
                    event: index + 1,
                    response,
                });
            }
        }
        answers
    }

    /// The Task state whose entry event `index` leads back to.
    fn entered_before(&self, index: usize, by_id: &BTreeMap<usize, usize>) -> Option<&str> {
        let mut at = index;
        for _ in 0..self.events.len() {
            let previous = *by_id.get(&self.events[at].previous_event_id)?;
            if let EventKind::TaskStateEntered { details } = &self.events[previous].kind {
                return Some(&details.name);
            }
            at = previous;
        }
        None
    }

    /// The answers as a MockConfigFile (AWS's Step Functions Local format): machine `machine`,
    /// test case `test_case`, one mocked response per Task state listing its attempts in order.
    pub fn mock_config(&self, machine: &str, test_case: &str) -> MockConfig {
        mock_config(self.answers(), machine, test_case)
    }

    /// The answers as the mocks of a run (`RunOptions::mocks`).
    pub fn mocks(&self) -> TestCase {
        const CASE: &str = "Replay";
        self.mock_config(CASE, CASE)
            .test_case(Some(CASE), CASE)
            .expect("a mock config of recorded answers has its one test case")
    }
}

/// `answers` as a MockConfigFile: machine `machine`, test case `test_case`, one mocked response
/// per Task state (`<State>Recorded`) listing its attempts in order.
pub fn mock_config(answers: impl IntoIterator<Item = Answer>, machine: &str, test_case: &str) -> MockConfig {
    let mut per_state: BTreeMap<String, Vec<MockedResponse>> = BTreeMap::new();
    for answer in answers {
        per_state.entry(answer.state).or_default().push(answer.response);
    }
    let mut cases = BTreeMap::new();
    let mut responses = BTreeMap::new();
    for (state, attempts) in per_state {
        let name = format!("{state}Recorded");
        cases.insert(state, name.clone());
        responses.insert(
            name,
            attempts
                .into_iter()
                .enumerate()
                .map(|(i, response)| (i.to_string(), response))
                .collect(),
        );
    }
    MockConfig {
        state_machines: BTreeMap::from([(
            machine.to_string(),
            MockedMachine {
                test_cases: BTreeMap::from([(test_case.to_string(), cases)]),
            },
        )]),
        mocked_responses: responses,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// How an attempt's last event answers it, if it ends one (a callback's TaskSubmitted does not).
fn response_of(kind: &EventKind) -> Option<MockedResponse> {
    match kind {
        EventKind::TaskSucceeded {
            details: TaskSucceededEventDetails { output, .. },
        }
        | EventKind::LambdaFunctionSucceeded {
            details: LambdaFunctionSucceededEventDetails { output },
        } => Some(MockedResponse::Return(
            serde_json::from_str(output).unwrap_or_else(|_| Value::String(output.clone())),
        )),
        EventKind::TaskFailed { .. }
        | EventKind::TaskTimedOut { .. }
        | EventKind::TaskStartFailed { .. }
        | EventKind::TaskSubmitFailed { .. }
        | EventKind::LambdaFunctionFailed { .. }
        | EventKind::LambdaFunctionTimedOut { .. }
        | EventKind::LambdaFunctionScheduleFailed { .. }
        | EventKind::LambdaFunctionStartFailed { .. } => {
            let (error, cause) = kind.error()?;
            Some(MockedResponse::Throw(MockedThrow {
                error: error.to_string(),
                cause: cause.to_string(),
            }))
        }
        _ => None,
    }
}

/// Where a replay first differs from its recording.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Divergence {
    /// The recorded event's position (1-based; past the end where the replay went on).
    pub event: usize,
    /// The recorded event's type (or the replayed one's, past the recording's end).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The state the event belongs to, where it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub field: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {} ({}", self.event, self.event_type)?;
        if let Some(state) = &self.state {
            write!(f, " of state {state:?}")?;
        }
        write!(
            f,
            "): {}: expected {}, actual {}",
            self.field, self.expected, self.actual
        )
    }
}

/// A field of an event, as compared.
#[derive(Debug, Clone)]
enum Field {
    /// JSON text, compared as the value it holds.
    Json(String),
    Text(String),
    Number(f64),
}

impl Field {
    /// Where `other` differs from this: the path inside a JSON value (`""` for the whole), and
    /// each side there.
    fn difference(&self, other: &Field) -> Option<(String, String, String)> {
        let whole = |a: String, b: String| Some((String::new(), a, b));
        match (self, other) {
            (Field::Json(a), Field::Json(b)) => match (serde_json::from_str(a), serde_json::from_str(b)) {
                (Ok(x), Ok(y)) => value_difference(&x, &y, String::new()),
                _ => (a != b).then(|| (String::new(), a.clone(), b.clone())),
            },
            (Field::Text(a), Field::Text(b)) => (a != b).then(|| (String::new(), a.clone(), b.clone())),
            (Field::Number(a), Field::Number(b)) => {
                ((a - b).abs() > 1e-9).then(|| (String::new(), a.to_string(), b.to_string()))
            }
            (a, b) => whole(a.show(), b.show()),
        }
    }

    fn show(&self) -> String {
        match self {
            Field::Json(text) | Field::Text(text) => text.clone(),
            Field::Number(n) => n.to_string(),
        }
    }
}

/// The first place two JSON values differ, numbers compared by value (`1.0` is `1`): its path
/// (`/a/0/b`), and each side's value there.
fn value_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    let here = || Some((path.clone(), a.to_string(), b.to_string()));
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x != y && x.as_f64() != y.as_f64()).then(here).flatten(),
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return here();
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (x, y))| value_difference(x, y, format!("{path}/{i}")))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|key| match (x.get(key), y.get(key)) {
                (Some(x), Some(y)) => value_difference(x, y, format!("{path}/{key}")),
                (x, y) => Some((
                    format!("{path}/{key}"),
                    x.map_or("(absent)".to_string(), Value::to_string),
                    y.map_or("(absent)".to_string(), Value::to_string),
                )),
            })
        }
        _ => (a != b).then(here).flatten(),
    }
}

/// The compared fields of an event, by AWS's names for them.
fn fields(kind: &EventKind) -> Vec<(&'static str, Field)> {
    let json = |text: &str| Field::Json(text.to_string());
    let text = |text: &str| Field::Text(text.to_string());
    let mut out = Vec::new();
    if let Some(details) = kind.as_state_entered() {
        out.push(("name", text(&details.name)));
        out.push(("input", json(&details.input)));
    }
    if let Some(details) = kind.as_state_exited() {
        out.push(("name", text(&details.name)));
        out.push(("output", json(&details.output)));
        if let Some(assigned) = &details.assigned_variables {
            let values: serde_json::Map<String, Value> = assigned
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone())),
                    )
                })
                .collect();
            out.push(("assignedVariables", Field::Json(Value::Object(values).to_string())));
        }
    }
    match kind {
        EventKind::ExecutionStarted { details } => out.push(("input", json(&details.input))),
        EventKind::ExecutionSucceeded { details } => out.push(("output", json(&details.output))),
        EventKind::TaskScheduled { details } => {
            out.push(("resourceType", text(&details.resource_type)));
            out.push(("resource", text(&details.resource)));
            out.push(("parameters", json(&details.parameters)));
        }
        EventKind::LambdaFunctionScheduled { details } => out.push(("input", json(&details.input))),
        EventKind::TaskSucceeded { details } => out.push(("output", json(&details.output))),
        EventKind::LambdaFunctionSucceeded { details } => out.push(("output", json(&details.output))),
        EventKind::MapStateStarted { details } => out.push(("length", Field::Number(details.length as f64))),
        EventKind::MapIterationStarted { details }
        | EventKind::MapIterationSucceeded { details }
        | EventKind::MapIterationFailed { details } => {
            out.push(("name", text(&details.name)));
            out.push(("index", Field::Number(details.index as f64)));
        }
        EventKind::EvaluationFailed { details } => {
            out.push(("state", text(&details.state)));
            out.push(("location", text(&details.location)));
        }
        _ => {}
    }
    if let Some((error, cause)) = kind.error() {
        out.push(("error", text(error)));
        // A cause is often JSON (a Lambda's error object): compared as a value where it is one.
        out.push((
            "cause",
            if serde_json::from_str::<Value>(cause).is_ok_and(|v| v.is_object()) {
                json(cause)
            } else {
                text(cause)
            },
        ));
    }
    out
}

/// Whether the recording left this field out or cut it: then there is nothing to compare.
fn unrecorded(raw: &Value, field: &str, value: &Field) -> bool {
    let empty = matches!(value, Field::Json(t) if t.is_empty());
    let truncated = raw.as_object().is_some_and(|event| {
        event.values().any(|details| {
            details
                .get(format!("{field}Details"))
                .and_then(|d| d.get("truncated"))
                .and_then(Value::as_bool)
                == Some(true)
        })
    });
    empty || truncated
}

/// The state an event belongs to, as far as the events up to it say.
fn state_of(events: &[Event], index: usize) -> Option<String> {
    let event = &events[index];
    if let Some(name) = event.entered_state().or(event.exited_state()) {
        return Some(name.to_string());
    }
    let kind = &event.kind;
    if let EventKind::EvaluationFailed { details } = kind {
        return Some(details.state.clone());
    }
    if kind.execution_ended().is_some() || matches!(kind, EventKind::ExecutionStarted { .. }) {
        return None;
    }
    events[..index]
        .iter()
        .rev()
        .find_map(|e| e.entered_state().map(str::to_string))
}

/// Whether the retry scheduled at event `index` waited a random time (its retrier's
/// `JitterStrategy` is FULL): the first retrier of its state naming the error, or `States.ALL`.
fn jittered(machine: &StateMachine, events: &[Event], index: usize) -> bool {
    let Some((error, cause)) = index.checked_sub(1).and_then(|i| events[i].kind.error()) else {
        return false;
    };
    let error = StatesError::new(error, cause);
    state_of(events, index)
        .and_then(|name| machine.find_state(&name))
        .and_then(|state| state.retry.iter().find(|r| error_matches(&r.error_equals, &error)))
        .is_some_and(|r| r.full_jitter)
}

/// A wait the definition decides, recorded: how long after its previous event this one came.
fn decided_wait(events: &[Event], index: usize) -> Option<f64> {
    let previous = events.get(index.checked_sub(1)?)?;
    let this = &events[index];
    let wait = matches!(
        (&previous.kind, &this.kind),
        (EventKind::WaitStateEntered { .. }, EventKind::WaitStateExited { .. })
    ) || (previous.kind.is_failure() && this.kind.is_scheduled());
    let recorded = previous.timestamp != OffsetDateTime::UNIX_EPOCH && this.timestamp != OffsetDateTime::UNIX_EPOCH;
    (wait && recorded).then(|| (this.timestamp - previous.timestamp).as_seconds_f64())
}

/// The order events are compared in: as recorded, but for the branches of a Parallel state,
/// which run at once: their events are taken branch by branch (each branch's in its order), as
/// the order between branches is the service's timing, not the definition's. `sorted`: the
/// recording's order inside a Parallel is not the service's either (a history whose ids there
/// were redacted, as localstack's snapshots sort those events): each branch's events are taken by
/// type and state instead.
fn comparison_order(events: &[Event], branches: &BTreeMap<String, usize>, sorted: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    let mut index = 0;
    while index < events.len() {
        if !matches!(events[index].kind, EventKind::ParallelStateStarted) {
            index += 1;
            continue;
        }
        let parallel = events[..index].iter().rev().find_map(Event::entered_state);
        // The region: up to the Parallel state's own end.
        let end = events[index + 1..]
            .iter()
            .position(|e| {
                matches!(
                    e.kind,
                    EventKind::ParallelStateSucceeded | EventKind::ParallelStateFailed
                ) || e.exited_state().is_some_and(|name| Some(name) == parallel)
            })
            .map_or(events.len(), |at| index + 1 + at);
        let mut branch = usize::MAX;
        let mut keyed: Vec<((usize, &str, &str), usize)> = Vec::new();
        for (at, event) in events.iter().enumerate().take(end).skip(index + 1) {
            let named = event.entered_state().or(event.exited_state());
            if let Some(of) = named.and_then(|name| branches.get(name)) {
                branch = *of;
            }
            let key = match (sorted, named) {
                (true, Some(name)) => (branch, event.kind.type_name(), name),
                _ => (branch, "", ""),
            };
            keyed.push((key, at));
        }
        keyed.sort_by_key(|(key, _)| *key);
        for (slot, (_, at)) in keyed.into_iter().enumerate() {
            order[index + 1 + slot] = at;
        }
        index = end;
    }
    order
}

/// The first event where `replayed` differs from `recording`, if any, `machine` being the
/// definition both ran (its Parallel branches, and its retriers: a jittered retry's interval is
/// not compared).
pub fn compare(recording: &Recording, replayed: &[Event], machine: &StateMachine) -> Option<Divergence> {
    let branches = machine.branch_states();
    let recorded = &recording.events;
    // AWS numbers every event; a history without an event's id was redacted (ids inside a
    // Parallel are, in localstack's snapshots, which also sort those events).
    let sorted = recorded.iter().any(|e| e.id == 0);
    let recorded_order = comparison_order(recorded, &branches, sorted);
    let replayed_order = comparison_order(replayed, &branches, sorted);
    for (position, &index) in recorded_order.iter().enumerate() {
        let expected = &recorded[index];
        let divergence = |field: &str, expected: String, actual: String| Divergence {
            event: index + 1,
            event_type: recording.type_name(index).to_string(),
            state: state_of(recorded, index),
            field: field.to_string(),
            expected,
            actual,
        };
        let Some(&other) = replayed_order.get(position) else {
            return Some(divergence(
                "type",
                recording.type_name(index).to_string(),
                "(the replay ended)".into(),
            ));
        };
        let actual = &replayed[other];
        if recording.type_name(index) != actual.kind.type_name() {
            return Some(divergence(
                "type",
                recording.type_name(index).to_string(),
                actual.kind.type_name().to_string(),
            ));
        }
        let theirs = fields(&actual.kind);
        for (name, value) in fields(&expected.kind) {
            if unrecorded(&recording.raw[index], name, &value) {
                continue;
            }
            let Some((_, other)) = theirs.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            if let Some((path, expected, actual)) = value.difference(other) {
                return Some(divergence(&format!("{name}{path}"), expected, actual));
            }
        }
        let random = expected.kind.is_scheduled() && jittered(machine, recorded, index);
        if let (Some(recorded_wait), Some(replayed_wait)) = (decided_wait(recorded, index), decided_wait(replayed, other))
            && !random
            // A recorded wait also holds the service's own latency: a second's slack, and 5 %.
            && (recorded_wait - replayed_wait).abs() > 1.0 + 0.05 * recorded_wait
        {
            return Some(divergence(
                "waited",
                format!("{recorded_wait:.3} s"),
                format!("{replayed_wait:.3} s"),
            ));
        }
    }
    replayed.get(recorded.len()).map(|extra| Divergence {
        event: recorded.len() + 1,
        event_type: extra.kind.type_name().to_string(),
        state: state_of(replayed, recorded.len()),
        field: "type".into(),
        expected: "(the recording ended)".into(),
        actual: extra.kind.type_name().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pass_machine() -> StateMachine {
        StateMachine::from_value(&json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})).unwrap()
    }

    fn history(events: Value) -> Recording {
        Recording::from_value(&json!({ "events": events })).unwrap()
    }

    #[test]
    fn attempts_are_read_per_state_in_order() {
        let recording = history(json!([
            {"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{\"a\":1}"}},
            {"id": 2, "previousEventId": 1, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "T", "input": "{}"}},
            {"id": 3, "previousEventId": 2, "type": "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails": {"resource": "f", "input": "{}"}},
            {"id": 4, "previousEventId": 3, "type": "LambdaFunctionStarted"},
            {"id": 5, "previousEventId": 4, "type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": {"error": "Boom", "cause": "c"}},
            {"id": 6, "previousEventId": 5, "type": "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails": {"resource": "f", "input": "{}"}},
            {"id": 7, "previousEventId": 6, "type": "LambdaFunctionStarted"},
            {"id": 8, "previousEventId": 7, "type": "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails": {"output": "{\"ok\":true}"}},
        ]));
        assert_eq!(recording.input().unwrap(), json!({"a": 1}));
        let answers = recording.answers();
        assert_eq!(answers.len(), 2);
        assert!(answers.iter().all(|a| a.state == "T"));
        assert!(matches!(&answers[0].response, MockedResponse::Throw(t) if t.error == "Boom" && t.cause == "c"));
        assert!(matches!(&answers[1].response, MockedResponse::Return(v) if *v == json!({"ok": true})));
        let config = recording.mock_config("M", "Replay");
        let case = config.test_case(Some("M"), "Replay").unwrap();
        assert!(case.respond("T", 0).unwrap().is_err());
        assert_eq!(case.respond("T", 1).unwrap().unwrap(), json!({"ok": true}));
    }

    #[test]
    fn the_first_difference_is_named_with_its_state_and_field() {
        let recording = history(json!([
            {"type": "ExecutionStarted", "executionStartedEventDetails": {"input": "{}"}},
            {"type": "PassStateEntered", "stateEnteredEventDetails": {"name": "P", "input": "{}"}},
            {"type": "PassStateExited", "stateExitedEventDetails": {"name": "P", "output": "{\"a\":1.0,\"b\":2}"}},
        ]));
        let mut replayed = recording.events.clone();
        // Key order and 1.0 against 1 are the same value.
        replayed[2] = serde_json::from_value(json!({"type": "PassStateExited",
            "stateExitedEventDetails": {"name": "P", "output": "{\"b\":2,\"a\":1}"}}))
        .unwrap();
        assert_eq!(compare(&recording, &replayed, &pass_machine()), None);
        replayed[2] = serde_json::from_value(json!({"type": "PassStateExited",
            "stateExitedEventDetails": {"name": "P", "output": "{\"a\":1}"}}))
        .unwrap();
        let divergence = compare(&recording, &replayed, &pass_machine()).unwrap();
        assert_eq!(
            divergence.to_string(),
            "event 3 (PassStateExited of state \"P\"): output/b: expected 2, actual (absent)"
        );
        let divergence = compare(&recording, &replayed[..2], &pass_machine()).unwrap();
        assert_eq!(
            (divergence.field.as_str(), divergence.actual.as_str()),
            ("type", "(the replay ended)")
        );
    }

    #[test]
    fn a_history_that_is_not_one_is_named() {
        for (value, says) in [
            (json!("x"), "a JSON string"),
            (json!({"executions": []}), "without `events`"),
            (json!([]), "empty"),
            (
                json!([{"type": "ExecutionStarted", "timestamp": "yesterday"}]),
                "event 1 (of 1)",
            ),
        ] {
            let err = Recording::from_value(&value).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
        let no_input = history(json!([{"type": "ExecutionStarted", "executionStartedEventDetails": {}}]));
        assert_eq!(no_input.input().unwrap_err(), ReplayError::NoInput);
    }
}
