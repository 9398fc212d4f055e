//! What the world takes from `infra/template.yaml` — the table's keys and stream view, the
//! Pipe's filters and batch size, the bucket's versioning — so the local world is built from
//! the one description deployment uses, never from a second copy.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::placeholders::{Resolution, substitute};
use super::project::ProjectFile;
use crate::emulate::pattern::Pattern;
use crate::emulate::pipe::PipeSpec;

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct TemplateError {
    file: String,
    message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub stream_view: String,
}

/// The connection lease table: its key and the TTL attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseTableSpec {
    pub partition_key: String,
    pub ttl_attribute: String,
}

/// The rule that heals jobs: its event pattern (on the state machine's status-change events) and
/// the function it invokes.
#[derive(Debug, Clone)]
pub struct HealingSpec {
    /// The target function's logical id.
    pub function: String,
    /// The pattern with `!Ref <state machine>` already replaced by `STATE_MACHINE_ARN`.
    pattern: serde_json::Value,
}

const STATE_MACHINE_ARN: &str = "${StateMachineArn}";

impl HealingSpec {
    /// The rule's pattern for the state machine deployed at `machine_arn`.
    pub fn pattern(&self, machine_arn: &str) -> Result<Pattern, crate::emulate::pattern::PatternError> {
        fn fill(value: &serde_json::Value, arn: &str) -> serde_json::Value {
            match value {
                serde_json::Value::String(s) if s == STATE_MACHINE_ARN => serde_json::Value::String(arn.into()),
                serde_json::Value::Array(items) => items.iter().map(|v| fill(v, arn)).collect(),
                serde_json::Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), fill(v, arn))).collect(),
                other => other.clone(),
            }
        }
        Pattern::from_value(fill(&self.pattern, machine_arn))
    }
}

/// A YAML pattern as JSON; `!Ref` of the state machine becomes `STATE_MACHINE_ARN`.
fn pattern_json(value: &Value, machine_id: &str) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::to_value(n).map_err(|e| e.to_string())?,
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(items) => items
            .iter()
            .map(|v| pattern_json(v, machine_id))
            .collect::<Result<_, _>>()?,
        Value::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = k.as_str().ok_or("a pattern key is not a string")?;
                out.insert(key.to_string(), pattern_json(v, machine_id)?);
            }
            serde_json::Value::Object(out)
        }
        Value::Tagged(tagged) if tagged.tag == "Ref" && tagged.value.as_str() == Some(machine_id) => {
            serde_json::Value::String(STATE_MACHINE_ARN.into())
        }
        Value::Tagged(tagged) => {
            return Err(format!(
                "the healing rule's pattern uses !{}, which the world cannot resolve",
                tagged.tag
            ));
        }
    })
}

/// The function whose `EventBridgeRule` event listens to the state machine's status changes.
fn healing(resources: &Value, machine_id: &str) -> Result<Option<HealingSpec>, String> {
    let Some(resources) = resources.as_mapping() else {
        return Ok(None);
    };
    for (id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(events) = resource["Properties"].get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        for event in events.values() {
            let pattern = &event["Properties"]["Pattern"];
            let on_status_changes = event["Type"].as_str() == Some("EventBridgeRule")
                && pattern["detail-type"].as_sequence().is_some_and(|types| {
                    types
                        .iter()
                        .any(|t| t.as_str() == Some("Step Functions Execution Status Change"))
                });
            if on_status_changes {
                return Ok(Some(HealingSpec {
                    function: id.as_str().unwrap_or_default().to_string(),
                    pattern: pattern_json(pattern, machine_id)?,
                }));
            }
        }
    }
    Ok(None)
}

#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The state machine's deployed name (its `Name`, `!Sub` resolved with the parameters' defaults).
    pub state_machine_name: String,
    pub table: TableSpec,
    pub leases: LeaseTableSpec,
    pub pipe: PipeSpec,
    pub bucket_versioned: bool,
    /// The healing rule, where the template declares one.
    pub healing: Option<HealingSpec>,
    /// Each function's timeout in seconds (its own `Timeout`, else the Globals', else Lambda's
    /// 3 s), by logical id without the `Function` suffix (`TransferFile`).
    pub function_timeouts: BTreeMap<String, u64>,
    /// Each function's `ReservedConcurrentExecutions` (its own, else the Globals'), parameters
    /// resolved, by logical id without the `Function` suffix; a function without one draws on
    /// the account's unreserved concurrency.
    pub reserved_concurrency: BTreeMap<String, u32>,
    /// How long after a take its deadline timer fires: the functions' `HEAL_TIMER_AFTER_SECS`
    /// (the Globals'), else the pipeline's default.
    pub timer_after: std::time::Duration,
}

/// Values for the template's parameters in place of their defaults, as `sam deploy
/// --parameter-overrides` gives them (a scenario's `parameters:`, `harness up --parameter`).
pub type ParameterOverrides = BTreeMap<String, String>;

/// A parameter's value: its override, else its `Default`.
fn parameter(doc: &Value, name: &str, overrides: &ParameterOverrides) -> Result<String, String> {
    let declared = &doc["Parameters"][name];
    if declared.is_null() {
        return Err(format!("no parameter {name} in Parameters"));
    }
    if let Some(value) = overrides.get(name) {
        return Ok(value.clone());
    }
    match &declared["Default"] {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("the parameter {name} has no Default and no override")),
    }
}

/// A whole number property (`ReservedConcurrentExecutions: 20` or `!Ref SomeParameter`).
fn count(doc: &Value, value: &Value, what: &str, overrides: &ParameterOverrides) -> Result<u32, String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::Tagged(tagged) if tagged.tag == "Ref" => {
            let name = tagged
                .value
                .as_str()
                .ok_or_else(|| format!("{what}: !Ref of a non-string"))?;
            let text = parameter(doc, name, overrides).map_err(|e| format!("{what}: {e}"))?;
            let min = doc["Parameters"][name]["MinValue"].as_u64().unwrap_or(0);
            let n: u64 = text
                .parse()
                .map_err(|_| format!("{what}: the parameter {name} is {text:?}, not a whole number"))?;
            if n < min {
                return Err(format!("{what}: the parameter {name} is {n}, below its MinValue {min}"));
            }
            text
        }
        Value::String(text) => text.clone(),
        other => return Err(format!("{what}: {other:?} is neither a number nor a !Ref")),
    };
    text.parse()
        .map_err(|_| format!("{what}: {text:?} is not a whole number"))
}

fn resource_of_type<'a>(resources: &'a Value, kind: &str) -> Option<&'a Value> {
    resources
        .as_mapping()?
        .values()
        .find(|r| r.get("Type").and_then(Value::as_str) == Some(kind))
}

fn string(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

impl StackSpec {
    /// The stack `template` describes, its parameters' defaults replaced by `overrides`.
    pub fn parse(template: &ProjectFile, overrides: &ParameterOverrides) -> Result<Self, TemplateError> {
        let fail = |message: String| TemplateError {
            file: template.name.clone(),
            message,
        };
        let doc: Value = serde_yaml::from_str(&template.text).map_err(|e| fail(e.to_string()))?;
        if let Some(unknown) = overrides.keys().find(|name| doc["Parameters"][name.as_str()].is_null()) {
            return Err(fail(format!(
                "a parameter override names {unknown}, which the template's Parameters do not declare"
            )));
        }
        let resources = doc.get("Resources").ok_or_else(|| fail("no Resources".into()))?;

        let tables = || {
            resources
                .as_mapping()
                .into_iter()
                .flatten()
                .map(|(_, r)| r)
                .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::DynamoDB::Table"))
        };
        let hash_key = |props: &Value| {
            props["KeySchema"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|k| k["KeyType"].as_str() == Some("HASH"))
                .and_then(|k| string(k.get("AttributeName")))
        };
        // The job table is the one with a stream (the Pipe's source); the lease table the one
        // whose items expire.
        let table = tables()
            .find(|t| !t["Properties"]["StreamSpecification"].is_null())
            .ok_or_else(|| fail("no AWS::DynamoDB::Table with a stream".into()))?;
        let leases = tables()
            .find(|t| !t["Properties"]["TimeToLiveSpecification"].is_null())
            .ok_or_else(|| {
                fail("no AWS::DynamoDB::Table with TimeToLiveSpecification (the connection leases)".into())
            })?;
        let leases = LeaseTableSpec {
            partition_key: hash_key(&leases["Properties"])
                .ok_or_else(|| fail("the lease table has no HASH key".into()))?,
            ttl_attribute: string(leases["Properties"]["TimeToLiveSpecification"].get("AttributeName"))
                .ok_or_else(|| fail("the lease table's TimeToLiveSpecification has no AttributeName".into()))?,
        };
        let props = &table["Properties"];
        let key = |kind: &str| {
            props["KeySchema"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|k| k["KeyType"].as_str() == Some(kind))
                .and_then(|k| string(k.get("AttributeName")))
        };
        let table = TableSpec {
            partition_key: key("HASH").ok_or_else(|| fail("the table has no HASH key".into()))?,
            sort_key: key("RANGE"),
            stream_view: string(props["StreamSpecification"].get("StreamViewType"))
                .ok_or_else(|| fail("the table has no stream".into()))?,
        };

        let pipe = resource_of_type(resources, "AWS::Pipes::Pipe").ok_or_else(|| fail("no AWS::Pipes::Pipe".into()))?;
        let source = &pipe["Properties"]["SourceParameters"];
        let mut filters = Vec::new();
        for filter in source["FilterCriteria"]["Filters"].as_sequence().into_iter().flatten() {
            let text = filter["Pattern"]
                .as_str()
                .ok_or_else(|| fail("a Pipe filter Pattern is not a string".into()))?;
            filters.push(Pattern::parse(text).map_err(|e| fail(e.to_string()))?);
        }
        let stream = &source["DynamoDBStreamParameters"];
        let batch_size = stream["BatchSize"].as_u64().unwrap_or(1) as usize;
        // -1 (the default) retries until the record expires; otherwise 0 to 10,000.
        let max_retries = match stream.get("MaximumRetryAttempts") {
            None => None,
            Some(value) => match value.as_i64() {
                Some(-1) => None,
                Some(n @ 0..=10_000) => Some(n as u32),
                _ => {
                    return Err(fail(format!(
                        "the Pipe's MaximumRetryAttempts is {value:?}: a number from -1 to 10000 is expected"
                    )));
                }
            },
        };
        let dead_letter = !stream["DeadLetterConfig"].is_null();

        let bucket_versioned = resource_of_type(resources, "AWS::S3::Bucket")
            .and_then(|b| b["Properties"]["VersioningConfiguration"]["Status"].as_str())
            == Some("Enabled");
        let (machine_id, machine) = resources
            .as_mapping()
            .into_iter()
            .flatten()
            .find(|(_, r)| {
                matches!(
                    r.get("Type").and_then(Value::as_str),
                    Some("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine")
                )
            })
            .ok_or_else(|| fail("no state machine resource".into()))?;
        let healing = healing(resources, machine_id.as_str().unwrap_or_default()).map_err(fail)?;
        let global_timeout = doc["Globals"]["Function"]["Timeout"].as_u64().unwrap_or(3);
        let functions = || {
            resources
                .as_mapping()
                .into_iter()
                .flatten()
                .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function"))
                .filter_map(|(id, r)| Some((id.as_str()?.trim_end_matches("Function").to_string(), r)))
        };
        let function_timeouts = functions()
            .map(|(name, r)| {
                let timeout = r["Properties"]["Timeout"].as_u64().unwrap_or(global_timeout);
                (name, timeout)
            })
            .collect();
        let mut reserved_concurrency = BTreeMap::new();
        for (name, r) in functions() {
            let declared = r["Properties"]
                .get("ReservedConcurrentExecutions")
                .or_else(|| doc["Globals"]["Function"].get("ReservedConcurrentExecutions"));
            if let Some(value) = declared {
                let what = format!("{name}Function's ReservedConcurrentExecutions");
                reserved_concurrency.insert(name, count(&doc, value, &what, overrides).map_err(fail)?);
            }
        }
        let timer_after = match &doc["Globals"]["Function"]["Environment"]["Variables"]["HEAL_TIMER_AFTER_SECS"] {
            Value::Null => pipeline::timer::DEFAULT_AFTER,
            value => std::time::Duration::from_secs(
                count(&doc, value, "the Globals' HEAL_TIMER_AFTER_SECS", overrides)
                    .map_err(fail)?
                    .into(),
            ),
        };
        let name = &machine["Properties"]["Name"];
        let state_machine_name = match name {
            Value::String(name) => name.clone(),
            Value::Tagged(tagged) if tagged.tag == "Sub" => {
                let text = tagged
                    .value
                    .as_str()
                    .ok_or_else(|| fail("the state machine's !Sub Name is not a string".into()))?;
                substitute(text, |param| match parameter(&doc, param, overrides) {
                    Ok(value) => Resolution::Value(value),
                    Err(e) => Resolution::Fail(format!("the state machine's Name uses ${{{param}}}: {e}")),
                })
                .map_err(|e| fail(e.to_string()))?
            }
            _ => return Err(fail("the state machine has no Name (a string or !Sub)".into())),
        };
        Ok(Self {
            state_machine_name,
            table,
            leases,
            pipe: PipeSpec {
                filters,
                batch_size,
                max_retries,
                dead_letter,
            },
            bucket_versioned,
            healing,
            function_timeouts,
            reserved_concurrency,
            timer_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_project_template() {
        let spec = StackSpec::parse(
            &crate::world::Project::default().template().unwrap(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(
            spec.table,
            TableSpec {
                partition_key: "jobId".into(),
                sort_key: Some("project".into()),
                stream_view: "NEW_IMAGE".into()
            }
        );
        assert_eq!(
            spec.leases,
            LeaseTableSpec {
                partition_key: "lease".into(),
                ttl_attribute: "expiresAt".into()
            }
        );
        assert_eq!(spec.pipe.batch_size, 1);
        assert_eq!(spec.pipe.max_retries, Some(10));
        assert!(spec.pipe.dead_letter);
        assert_eq!(spec.pipe.filters.len(), 1);
        assert!(spec.pipe.filters[0].matches(
            &serde_json::json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "TRIGGERED"}}}})
        ));
        assert!(spec.bucket_versioned);
        assert_eq!(spec.function_timeouts["TransferFile"], 900);
        assert_eq!(spec.function_timeouts["SetRunning"], 30, "the Globals' timeout");
        assert_eq!(
            spec.reserved_concurrency["TransferFile"], 50,
            "TransferFileConcurrency's default"
        );
        assert_eq!(
            spec.reserved_concurrency["SetRunning"], 20,
            "JobStepConcurrency's default"
        );
        assert_eq!(spec.reserved_concurrency["HealJob"], 20);
        let healing = spec.healing.expect("the template declares the healing rule");
        assert_eq!(healing.function, "HealJobFunction");
        let pattern = healing.pattern("arn:machine").unwrap();
        let event = |machine: &str, status: &str| {
            serde_json::json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                "detail": {"stateMachineArn": machine, "status": status}})
        };
        assert!(pattern.matches(&event("arn:machine", "ABORTED")));
        assert!(pattern.matches(&event("arn:machine", "TIMED_OUT")));
        assert!(!pattern.matches(&event("arn:machine", "SUCCEEDED")));
        assert!(!pattern.matches(&event("arn:other", "FAILED")));
        assert_eq!(
            spec.state_machine_name, "FSA-steam-dev-FpacFLPIDS-FileChecks",
            "the seed's name"
        );
    }

    #[test]
    fn parameter_overrides_replace_defaults_and_are_checked() {
        let template = crate::world::Project::default().template().unwrap();
        let overrides = |pairs: &[(&str, &str)]| -> ParameterOverrides {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let spec = StackSpec::parse(
            &template,
            &overrides(&[("TransferFileConcurrency", "2"), ("Environment", "ci")]),
        )
        .unwrap();
        assert_eq!(spec.reserved_concurrency["TransferFile"], 2);
        assert_eq!(spec.reserved_concurrency["FinalizeJob"], 20);
        assert_eq!(spec.state_machine_name, "FSA-steam-ci-FpacFLPIDS-FileChecks");
        let err = StackSpec::parse(&template, &overrides(&[("TransferFileConcurency", "2")])).unwrap_err();
        assert!(err.to_string().contains("TransferFileConcurency"), "{err}");
        let err = StackSpec::parse(&template, &overrides(&[("TransferFileConcurrency", "0")])).unwrap_err();
        assert!(err.to_string().contains("below its MinValue 1"), "{err}");
        let err = StackSpec::parse(&template, &overrides(&[("JobStepConcurrency", "lots")])).unwrap_err();
        assert!(err.to_string().contains("not a whole number"), "{err}");
    }
}
