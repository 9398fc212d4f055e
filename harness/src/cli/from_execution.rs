//! `harness scenario from-execution ARN` (also `harness from-execution`): reads the execution's
//! history (every page), DescribeExecution and its job item from whatever endpoint the AWS
//! environment names — AWS itself, or a `harness up` — and writes the scenario replaying it, or
//! a MockConfig of its Task answers for `harness sfn run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use harness::scenario::from_execution::{RecordedExecution, reproduce};
use serde_json::{Value, json};
use sfn::replay::Recording;

#[derive(clap::Args)]
pub struct Args {
    /// The execution's ARN (`aws stepfunctions list-executions … --status-filter FAILED`).
    execution_arn: String,
    /// Write the scenario here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Instead of a scenario, write the execution's Task answers as an AWS MockConfigFile (test
    /// case `Replay`), and its input beside it, for `harness sfn run` — for machines that are not
    /// FileChecks'.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    mock_config: Option<PathBuf>,
    /// Also save the history (every page, with the execution's ARN) for `harness sfn run --replay`.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
}

/// Keeps each response body as the service sent it: the history is read in AWS's own JSON, into
/// the emulator's typed events, rather than mapped from the SDK's types one by one.
#[derive(Debug, Clone, Default)]
struct Bodies(Arc<Mutex<Vec<Vec<u8>>>>);

impl Intercept for Bodies {
    fn name(&self) -> &'static str {
        "Bodies"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            self.0.lock().expect("bodies").push(bytes.to_vec());
        }
        Ok(())
    }
}

/// GetExecutionHistory's events, page by page (1,000 a page, AWS's most).
async fn history(client: &aws_sdk_sfn::Client, bodies: &Bodies, arn: &str) -> anyhow::Result<Vec<Value>> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        bodies.0.lock().expect("bodies").clear();
        let page = client
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .include_execution_data(true)
            .set_next_token(token)
            .send()
            .await
            .with_context(|| format!("GetExecutionHistory {arn}"))?;
        let body = bodies
            .0
            .lock()
            .expect("bodies")
            .pop()
            .context("GetExecutionHistory's answer")?;
        let answer: Value = serde_json::from_slice(&body).context("GetExecutionHistory's answer is not JSON")?;
        match answer.get("events") {
            Some(Value::Array(page)) => events.extend(page.iter().cloned()),
            _ => anyhow::bail!("GetExecutionHistory's answer has no events"),
        }
        token = page.next_token;
        if token.is_none() {
            return Ok(events);
        }
    }
}

/// The job item, where JOBS_TABLE names a reachable table; why not, otherwise.
async fn job_item(sdk: &aws_config::SdkConfig, input: &str) -> Result<Value, String> {
    let table = std::env::var("JOBS_TABLE").map_err(|_| "JOBS_TABLE is not set".to_string())?;
    let key = pipeline::job::key_from_execution_input(input).ok_or("the input names no job")?;
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let answer = client
        .get_item()
        .table_name(&table)
        .key("jobId", aws_sdk_dynamodb::types::AttributeValue::S(key.job_id.clone()))
        .key(
            "project",
            aws_sdk_dynamodb::types::AttributeValue::S(key.project.clone()),
        )
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetItem on {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    let item = answer
        .item
        .ok_or_else(|| format!("job {} is not in {table}", key.job_id))?;
    serde_dynamo::from_item(item).map_err(|e| format!("the item of job {}: {e}", key.job_id))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let bodies = Bodies::default();
    let config = aws_sdk_sfn::config::Builder::from(&sdk)
        .interceptor(bodies.clone())
        .build();
    let client = aws_sdk_sfn::Client::from_conf(config);
    let arn = &args.execution_arn;
    let described = client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "DescribeExecution {arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    let events = history(&client, &bodies, arn).await?;
    eprintln!("from-execution: {} events in the history", events.len());
    let mut recording = Recording::from_events(events.clone())?;
    recording.execution_arn = Some(arn.clone());
    if let Some(path) = &args.history {
        let saved = json!({"executionArn": arn, "events": events});
        write(path, &serde_json::to_string_pretty(&saved)?)?;
    }
    let machine = arn.rsplit(':').nth(1).unwrap_or("StateMachine").to_string();
    if let Some(path) = &args.mock_config {
        let config = recording.mock_config(&machine, "Replay");
        write(path, &serde_json::to_string_pretty(&config)?)?;
        let input = path.with_extension("input.json");
        write(&input, &recording.input()?.to_string())?;
        eprintln!(
            "from-execution: run it with: harness sfn run --definition DEFINITION.json --name {machine} \
             --mock-config {} --test-case Replay --input @{}",
            path.display(),
            input.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let item = match job_item(&sdk, described.input().unwrap_or_default()).await {
        Ok(item) => Some(item),
        Err(why) => {
            eprintln!("from-execution: no job item ({why}): the end item is read from the history");
            None
        }
    };
    let reproduction = reproduce(&RecordedExecution {
        execution_arn: arn.clone(),
        status: described.status().as_str().to_string(),
        recording,
        item,
    })
    .with_context(|| arn.clone())?;
    for note in &reproduction.not_reproduced {
        eprintln!("from-execution: not reproduced: {note}");
    }
    let yaml = reproduction.scenario.to_yaml();
    match &args.output {
        Some(path) => write(path, &yaml)?,
        None => println!("{}", yaml.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
