//! What the world takes from `infra/template.yaml` — the table's keys and stream view, the
//! Pipe's filters and batch size, the bucket's versioning — so the local world is built from
//! the one description deployment uses, never from a second copy.

use serde_yaml::Value;

use super::placeholders::{Resolution, substitute};
use super::project::ProjectFile;
use crate::emulate::pattern::Pattern;

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

#[derive(Debug, Clone)]
pub struct PipeSpec {
    pub filters: Vec<Pattern>,
    pub batch_size: usize,
}

#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The state machine's deployed name (its `Name`, `!Sub` resolved with the parameters' defaults).
    pub state_machine_name: String,
    pub table: TableSpec,
    pub pipe: PipeSpec,
    pub bucket_versioned: bool,
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
    pub fn parse(template: &ProjectFile) -> Result<Self, TemplateError> {
        let fail = |message: String| TemplateError {
            file: template.name.clone(),
            message,
        };
        let doc: Value = serde_yaml::from_str(&template.text).map_err(|e| fail(e.to_string()))?;
        let resources = doc.get("Resources").ok_or_else(|| fail("no Resources".into()))?;

        let table = resource_of_type(resources, "AWS::DynamoDB::Table")
            .ok_or_else(|| fail("no AWS::DynamoDB::Table".into()))?;
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
        let batch_size = source["DynamoDBStreamParameters"]["BatchSize"].as_u64().unwrap_or(1) as usize;

        let bucket_versioned = resource_of_type(resources, "AWS::S3::Bucket")
            .and_then(|b| b["Properties"]["VersioningConfiguration"]["Status"].as_str())
            == Some("Enabled");
        let machine = resource_of_type(resources, "AWS::Serverless::StateMachine")
            .or_else(|| resource_of_type(resources, "AWS::StepFunctions::StateMachine"))
            .ok_or_else(|| fail("no state machine resource".into()))?;
        let name = &machine["Properties"]["Name"];
        let state_machine_name = match name {
            Value::String(name) => name.clone(),
            Value::Tagged(tagged) if tagged.tag == "Sub" => {
                let text = tagged
                    .value
                    .as_str()
                    .ok_or_else(|| fail("the state machine's !Sub Name is not a string".into()))?;
                substitute(text, |param| match doc["Parameters"][param]["Default"].as_str() {
                    Some(default) => Resolution::Value(default.to_string()),
                    None => Resolution::Fail(format!(
                        "the state machine's Name uses ${{{param}}}, a parameter without a Default"
                    )),
                })
                .map_err(|e| fail(e.to_string()))?
            }
            _ => return Err(fail("the state machine has no Name (a string or !Sub)".into())),
        };
        Ok(Self {
            state_machine_name,
            table,
            pipe: PipeSpec { filters, batch_size },
            bucket_versioned,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_project_template() {
        let spec = StackSpec::parse(&crate::world::Project::default().template().unwrap()).unwrap();
        assert_eq!(
            spec.table,
            TableSpec {
                partition_key: "jobId".into(),
                sort_key: Some("project".into()),
                stream_view: "NEW_IMAGE".into()
            }
        );
        assert_eq!(spec.pipe.batch_size, 1);
        assert_eq!(spec.pipe.filters.len(), 1);
        assert!(spec.pipe.filters[0].matches(
            &serde_json::json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "TRIGGERED"}}}})
        ));
        assert!(spec.bucket_versioned);
        assert_eq!(
            spec.state_machine_name, "FSA-steam-dev-FpacFLPIDS-FileChecks",
            "the seed's name"
        );
    }
}
