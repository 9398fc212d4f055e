//! `harness`: the FileChecks kit's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use harness::sfn::{Executor, MockConfig, RunOptions, TimeMode};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "harness", about = "Run the FileChecks pipeline locally", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs scenario files end to end, each in a fresh world, and checks their snapshots.
    Run {
        /// Scenario files or directories (default: the workspace's scenarios/).
        paths: Vec<PathBuf>,
        /// Also write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Replay against this FTPS server instead of the in-process one: ftps://USER:PASS@HOST:PORT
        /// (the scenarios' remote files are uploaded there first; faults need the in-process server).
        #[arg(long)]
        ftps_url: Option<String>,
        /// The external server speaks implicit FTPS.
        #[arg(long, requires = "ftps_url")]
        ftps_implicit: bool,
        /// PEM CA bundle to trust for the external server (default: the public web PKI).
        #[arg(long, requires = "ftps_url")]
        ftps_ca_file: Option<PathBuf>,
        /// The name its certificate is verified against, when it is not the URL's host.
        #[arg(long, requires = "ftps_url")]
        ftps_server_name: Option<String>,
    },
    /// Boots the world and keeps it up, event-driven, until interrupted; prints `export` lines.
    Up {
        /// Serve this directory through the FTPS server (default: a fresh temp directory).
        #[arg(long)]
        ftps_root: Option<PathBuf>,
    },
    /// Inserts a TRIGGERED job in the seed's shape into a running `up`'s table; prints its jobId.
    Submit {
        #[arg(long)]
        project: String,
        /// Absolute path of the file on the FTPS server.
        #[arg(long)]
        remote_path: String,
        #[arg(long, default_value = "FLPIDS_ODS")]
        pipeline: String,
    },
    /// Prints a job's item from a running `up`'s table.
    Status {
        job_id: String,
        /// Print the item as plain JSON.
        #[arg(long)]
        json: bool,
    },
    /// Scenario tools.
    Scenario {
        #[command(subcommand)]
        command: ScenarioCommand,
    },
    /// The Step Functions emulator.
    Sfn {
        #[command(subcommand)]
        command: SfnCommand,
    },
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Writes a scenario reproducing an ERROR item exported from DynamoDB (plain or DynamoDB JSON).
    FromItem {
        /// The item's JSON file (`aws dynamodb get-item … > item.json` works as is).
        item: PathBuf,
        /// Write the scenario here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SfnCommand {
    /// Runs a state machine once and prints {"status", "output", "error", "cause", "history"}.
    ///
    /// Task states whose resource is a Lambda function named SetRunning, TransferFile or
    /// FinalizeJob (or ending in -SetRunning …) run the pipeline's handlers, configured from the
    /// environment (JOBS_TABLE, LANDING_BUCKET, FTPS_SECRET_ID, AWS_ENDPOINT_URL …);
    /// `${NameFunctionArn}` placeholders are replaced by that function's ARN.
    Run {
        /// The ASL definition (JSON).
        #[arg(long)]
        definition: PathBuf,
        /// The execution input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// An AWS MockConfigFile.json.
        #[arg(long, requires = "test_case")]
        mock_config: Option<PathBuf>,
        /// The test case of the mock config to apply.
        #[arg(long, requires = "mock_config")]
        test_case: Option<String>,
        /// The state machine's name (selects the mock config's StateMachines entry).
        #[arg(long, default_value = "StateMachine")]
        name: String,
        /// Sleep for real in Wait states and retry intervals (default: virtual time).
        #[arg(long)]
        real_time: bool,
    },
}

fn read_input(text: &str) -> anyhow::Result<Value> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading input file {path}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).context("--input is not JSON")
}

async fn sfn_run(
    definition: PathBuf,
    input: String,
    mock_config: Option<PathBuf>,
    test_case: Option<String>,
    name: String,
    real_time: bool,
) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(&definition).with_context(|| format!("reading {}", definition.display()))?;
    let machine = match harness::workflow::load(&text) {
        Ok(machine) => machine,
        Err(errors) => bail!("{}: {errors}", definition.display()),
    };
    let input = read_input(&input)?;
    let mocks = match (mock_config, test_case) {
        (Some(path), Some(case)) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let config = MockConfig::from_json(&text).map_err(anyhow::Error::msg)?;
            Some(
                config
                    .test_case(Some(&name), &case)
                    .or_else(|_| config.test_case(None, &case))
                    .map_err(anyhow::Error::msg)?,
            )
        }
        _ => None,
    };
    let options = RunOptions {
        state_machine_name: name,
        mocks,
        time: if real_time { TimeMode::Real } else { TimeMode::Virtual },
        ..Default::default()
    };
    let execution = Executor::new(machine, harness::workflow::bindings_from_env())
        .run(input, options)
        .await;
    Ok(json!({
        "status": execution.status,
        "output": execution.output,
        "error": execution.error,
        "cause": execution.cause,
        "history": execution.history,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            paths,
            junit,
            ftps_url,
            ftps_implicit,
            ftps_ca_file,
            ftps_server_name,
        } => {
            let external = match ftps_url {
                Some(url) => match harness::external_ftps::ExternalFtps::from_url(
                    &url,
                    ftps_implicit,
                    ftps_ca_file.as_deref(),
                    ftps_server_name.as_deref(),
                ) {
                    Ok(server) => Some(server),
                    Err(e) => {
                        eprintln!("harness: {e}");
                        return ExitCode::from(2);
                    }
                },
                None => None,
            };
            return run_scenarios(paths, junit, external).await;
        }
        Command::Up { ftps_root } => up(ftps_root).await.map(|()| Value::Null),
        Command::Submit {
            project,
            remote_path,
            pipeline,
        } => submit(project, remote_path, pipeline).await,
        Command::Status { job_id, json } => status(job_id, json).await,
        Command::Scenario {
            command: ScenarioCommand::FromItem { item, output },
        } => from_item(item, output),
        Command::Sfn {
            command:
                SfnCommand::Run {
                    definition,
                    input,
                    mock_config,
                    test_case,
                    name,
                    real_time,
                },
        } => sfn_run(definition, input, mock_config, test_case, name, real_time).await,
    };
    match result {
        Ok(Value::Null) => ExitCode::SUCCESS,
        Ok(Value::String(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("harness: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `harness run`: one line per scenario, then `N passed, N failed`; exit 1 on any failure.
async fn run_scenarios(
    paths: Vec<PathBuf>,
    junit: Option<PathBuf>,
    external: Option<harness::external_ftps::ExternalFtps>,
) -> ExitCode {
    use harness::runner;
    let paths = if paths.is_empty() {
        vec![runner::scenarios_dir()]
    } else {
        paths
    };
    let files = runner::scenario_files(&paths);
    if files.is_empty() {
        eprintln!("harness: no scenario files in {paths:?}");
        return ExitCode::from(2);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut cases = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
        let (outcome, seconds) = match runner::run_with(file, external.clone()).await {
            Ok(report) => {
                let mut problems = report.failures;
                if problems.is_empty()
                    && let Err(diff) = runner::compare_snapshot(file, &report.snapshot)
                {
                    problems.push(diff);
                }
                (problems, report.elapsed.as_secs_f64())
            }
            Err(err) => (vec![err.to_string()], 0.0),
        };
        if outcome.is_empty() {
            passed += 1;
            println!("ok     {name} ({seconds:.1} s)");
        } else {
            failed += 1;
            println!("FAILED {name} ({seconds:.1} s)");
            for problem in &outcome {
                for line in problem.lines() {
                    println!("       {line}");
                }
            }
        }
        cases.push((name, seconds, outcome));
    }
    if let Some(path) = junit {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\">\n",
            cases.len()
        );
        for (name, seconds, problems) in &cases {
            xml.push_str(&format!(
                "  <testcase classname=\"scenarios\" name=\"{}\" time=\"{seconds:.3}\">",
                xml_escape(name)
            ));
            if !problems.is_empty() {
                xml.push_str(&format!(
                    "<failure message=\"scenario failed\">{}</failure>",
                    xml_escape(&problems.join("\n"))
                ));
            }
            xml.push_str("</testcase>\n");
        }
        xml.push_str("</testsuite>\n");
        if let Err(e) = std::fs::write(&path, xml) {
            eprintln!("harness: writing {}: {e}", path.display());
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `harness up`: the world stays up; jobs written to its table run through the Pipe.
async fn up(ftps_root: Option<PathBuf>) -> anyhow::Result<()> {
    use harness::world::{World, WorldOptions};
    eprintln!("harness: booting the world…");
    let world = World::boot(WorldOptions {
        ftps_root,
        shared_secret: true,
        report_executions: true,
        ..Default::default()
    })
    .await?;
    world.put_secret("", &world.ftps.secret_json()).await?;
    for (name, value) in world.environment() {
        println!("export {name}='{}'", value.replace('\'', "'\\''"));
    }
    println!(
        "# FTPS server: ftps://127.0.0.1:{} (user {}; files under $FILECHECKS_FTPS_ROOT)",
        world.ftps.addr().port(),
        world.ftps.secret_json()["username"].as_str().unwrap_or_default()
    );
    println!("# ready: harness submit --project P --remote-path /PATH; interrupt to stop");
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    eprintln!("harness: stopping");
    Ok(())
}

fn table_from_env() -> anyhow::Result<String> {
    std::env::var("JOBS_TABLE").context("JOBS_TABLE is not set: run `eval \"$(harness up)\"` in another shell first, or export what `harness up` printed")
}

async fn sdk_from_env() -> anyhow::Result<aws_config::SdkConfig> {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        bail!("AWS_ENDPOINT_URL is not set: export what `harness up` printed");
    }
    Ok(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

/// `harness submit`: a TRIGGERED job in the seed's shape.
async fn submit(project: String, remote_path: String, pipeline: String) -> anyhow::Result<Value> {
    let file_name = pipeline_file_name(&remote_path)?;
    let sdk = sdk_from_env().await?;
    let table = table_from_env()?;
    let job_id = uuid::Uuid::new_v4().to_string();
    let now = pipeline::timestamp::now();
    let item = json!({"jobId": job_id, "project": project, "pipeline": pipeline, "status": "TRIGGERED",
        "createdAt": now, "updatedAt": now, "file": {"fileName": file_name, "remotePath": remote_path}});
    let attrs: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        serde_dynamo::to_item(&item)?;
    aws_sdk_dynamodb::Client::new(&sdk)
        .put_item()
        .table_name(&table)
        .set_item(Some(attrs))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("PutItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    Ok(Value::String(job_id))
}

fn pipeline_file_name(remote_path: &str) -> anyhow::Result<String> {
    pipeline::names::remote_path(remote_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = remote_path.rsplit('/').next().unwrap_or_default();
    pipeline::names::file_name(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(name.to_string())
}

/// `harness status`: the job's item (by jobId, whatever its project).
async fn status(job_id: String, as_json: bool) -> anyhow::Result<Value> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let sdk = sdk_from_env().await?;
    let table = table_from_env()?;
    let out = aws_sdk_dynamodb::Client::new(&sdk)
        .query()
        .table_name(&table)
        .key_condition_expression("jobId = :id")
        .expression_attribute_values(":id", AttributeValue::S(job_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("Query: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    let Some(item) = out.items.unwrap_or_default().into_iter().next() else {
        bail!("no job {job_id} in {table}");
    };
    let item: Value = serde_dynamo::from_item(item)?;
    if as_json {
        return Ok(item);
    }
    let mut text = format!(
        "job {}  project {}  pipeline {}\nstatus {}  stage {}\nfile {}\n",
        item["jobId"].as_str().unwrap_or_default(),
        item["project"].as_str().unwrap_or_default(),
        item["pipeline"].as_str().unwrap_or_default(),
        item["status"].as_str().unwrap_or_default(),
        item["transferStage"].as_str().unwrap_or("-"),
        item["file"]["remotePath"].as_str().unwrap_or_default()
    );
    for field in ["createdAt", "startedAt", "completedAt", "updatedAt"] {
        if let Some(at) = item[field].as_str() {
            text.push_str(&format!("{field} {at}\n"));
        }
    }
    if item["s3"].is_object() {
        text.push_str(&format!(
            "s3://{}/{}\n",
            item["s3"]["bucket"].as_str().unwrap_or_default(),
            item["s3"]["key"].as_str().unwrap_or_default()
        ));
    }
    if item["transfer"].is_object() {
        text.push_str(&format!(
            "{} bytes  sha256 {}\n",
            item["transfer"]["bytes"],
            item["transfer"]["sha256"].as_str().unwrap_or_default()
        ));
    }
    if item["error"].is_object() {
        text.push_str(&format!(
            "error {} in {}: {}\n",
            item["error"]["name"].as_str().unwrap_or_default(),
            item["error"]["state"].as_str().unwrap_or_default(),
            item["error"]["message"].as_str().unwrap_or_default()
        ));
    }
    Ok(Value::String(text.trim_end().to_string()))
}

fn from_item(item: PathBuf, output: Option<PathBuf>) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(&item).with_context(|| format!("reading {}", item.display()))?;
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", item.display()))?;
    let scenario =
        harness::from_item::scenario_from_item(&value).map_err(|e| anyhow::anyhow!("{}: {e}", item.display()))?;
    match output {
        Some(path) => {
            std::fs::write(&path, &scenario).with_context(|| format!("writing {}", path.display()))?;
            Ok(Value::Null)
        }
        None => Ok(Value::String(scenario.trim_end().to_string())),
    }
}
