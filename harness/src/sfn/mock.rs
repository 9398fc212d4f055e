//! AWS's `MockConfigFile.json` (as Step Functions Local and LocalStack read it): per state
//! machine, test cases map Task state names to mocked responses; a response lists what each
//! invocation (0-based, ranges like `"1-2"`) returns or throws.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::error::StatesError;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MockConfig {
    #[serde(default)]
    pub state_machines: BTreeMap<String, MockedMachine>,
    #[serde(default)]
    pub mocked_responses: BTreeMap<String, BTreeMap<String, MockedResponse>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MockedMachine {
    #[serde(default)]
    pub test_cases: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum MockedResponse {
    Return(Value),
    Throw(MockedThrow),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MockedThrow {
    pub error: String,
    #[serde(default)]
    pub cause: String,
}

/// The mocks of one test case: state name → invocation ranges → response.
#[derive(Debug, Clone, Default)]
pub struct TestCase {
    states: BTreeMap<String, Vec<(u32, u32, MockedResponse)>>,
}

impl MockConfig {
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid mock config: {e}"))
    }

    /// Selects `test_case` of `machine` (if `machine` is None, the one machine that has it).
    pub fn test_case(&self, machine: Option<&str>, test_case: &str) -> Result<TestCase, String> {
        let candidates: Vec<(&String, &MockedMachine)> = self
            .state_machines
            .iter()
            .filter(|(name, m)| machine.is_none_or(|want| want == *name) && m.test_cases.contains_key(test_case))
            .collect();
        let (_, found) = match candidates.as_slice() {
            [one] => *one,
            [] => return Err(format!("no test case {test_case:?} in the mock config")),
            _ => {
                return Err(format!(
                    "test case {test_case:?} exists for several state machines: name one"
                ));
            }
        };
        let mut states = BTreeMap::new();
        for (state, response_name) in &found.test_cases[test_case] {
            let responses = self.mocked_responses.get(response_name).ok_or_else(|| {
                format!("test case {test_case:?} names mocked response {response_name:?}, which is not defined")
            })?;
            let mut ranges = Vec::new();
            for (attempts, response) in responses {
                let (from, to) = match attempts.split_once('-') {
                    Some((a, b)) => (a.trim().parse(), b.trim().parse()),
                    None => (attempts.trim().parse(), attempts.trim().parse()),
                };
                let (Ok(from), Ok(to)) = (from, to) else {
                    return Err(format!(
                        "mocked response {response_name:?}: {attempts:?} is not an attempt number or range"
                    ));
                };
                ranges.push((from, to, response.clone()));
            }
            states.insert(state.clone(), ranges);
        }
        Ok(TestCase { states })
    }
}

impl TestCase {
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
