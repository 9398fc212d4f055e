//! AWS's `MockConfigFile.json` (as Step Functions Local and LocalStack read it): per state
//! machine, test cases map Task state names to mocked responses; a response lists what each
//! invocation (0-based, ranges like `"1-2"`) returns or throws.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StatesError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MockConfig {
    #[serde(default)]
    pub state_machines: BTreeMap<String, MockedMachine>,
    #[serde(default)]
    pub mocked_responses: BTreeMap<String, BTreeMap<String, MockedResponse>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MockedMachine {
    #[serde(default)]
    pub test_cases: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum MockedResponse {
    Return(Value),
    Throw(MockedThrow),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MockedThrow {
    pub error: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cause: String,
}

/// The mocks of one test case: state name → invocation ranges → response.
#[derive(Debug, Clone, Default)]
pub struct TestCase {
    states: BTreeMap<String, Vec<(u32, u32, MockedResponse)>>,
}

/// A mock config that cannot be read, or a test case that cannot be selected from it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MockError {
    #[error("invalid mock config: {0}")]
    Invalid(String),
    #[error("no test case {0:?} in the mock config")]
    NoTestCase(String),
    #[error("test case {0:?} exists for several state machines: name one")]
    AmbiguousTestCase(String),
    #[error("test case {test_case:?} names mocked response {response:?}, which is not defined")]
    UndefinedResponse { test_case: String, response: String },
    #[error("mocked response {response:?}: {attempts:?} is not an attempt number or range")]
    BadAttempts { response: String, attempts: String },
}

impl MockConfig {
    pub fn from_json(text: &str) -> Result<Self, MockError> {
        serde_json::from_str(text).map_err(|e| MockError::Invalid(e.to_string()))
    }

    pub fn from_value(value: Value) -> Result<Self, MockError> {
        serde_json::from_value(value).map_err(|e| MockError::Invalid(e.to_string()))
    }

    /// Selects `test_case` of `machine` (if `machine` is None, the one machine that has it).
    pub fn test_case(&self, machine: Option<&str>, test_case: &str) -> Result<TestCase, MockError> {
        let candidates: Vec<(&String, &MockedMachine)> = self
            .state_machines
            .iter()
            .filter(|(name, m)| machine.is_none_or(|want| want == *name) && m.test_cases.contains_key(test_case))
            .collect();
        let (_, found) = match candidates.as_slice() {
            [one] => *one,
            [] => return Err(MockError::NoTestCase(test_case.to_string())),
            _ => return Err(MockError::AmbiguousTestCase(test_case.to_string())),
        };
        let mut states = BTreeMap::new();
        for (state, response_name) in &found.test_cases[test_case] {
            let responses = self
                .mocked_responses
                .get(response_name)
                .ok_or_else(|| MockError::UndefinedResponse {
                    test_case: test_case.to_string(),
                    response: response_name.clone(),
                })?;
            let mut ranges = Vec::new();
            for (attempts, response) in responses {
                let (from, to) = match attempts.split_once('-') {
                    Some((a, b)) => (a.trim().parse(), b.trim().parse()),
                    None => (attempts.trim().parse(), attempts.trim().parse()),
                };
                let (Ok(from), Ok(to)) = (from, to) else {
                    return Err(MockError::BadAttempts {
                        response: response_name.clone(),
                        attempts: attempts.clone(),
                    });
                };
                ranges.push((from, to, response.clone()));
            }
            states.insert(state.clone(), ranges);
        }
        Ok(TestCase { states })
    }
}

impl TestCase {
    /// Every invocation of `state` answers `response` (TestState's `mock`).
    pub fn always(state: &str, response: MockedResponse) -> TestCase {
        TestCase {
            states: BTreeMap::from([(state.to_string(), vec![(0, u32::MAX, response)])]),
        }
    }

    pub fn mocks(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    /// The response for the `attempt`-th invocation (0-based) of `state`.
    pub fn respond(&self, state: &str, attempt: u32) -> Option<Result<Value, StatesError>> {
        let ranges = self.states.get(state)?;
        let found = ranges.iter().find(|(from, to, _)| (*from..=*to).contains(&attempt));
        Some(match found {
            Some((_, _, MockedResponse::Return(v))) => Ok(v.clone()),
            Some((_, _, MockedResponse::Throw(t))) => Err(StatesError::new(t.error.clone(), t.cause.clone())),
            None => Err(StatesError::new(
                "States.Runtime",
                format!("the mocked response for state {state:?} has no entry for invocation {attempt}"),
            )),
        })
    }
}
