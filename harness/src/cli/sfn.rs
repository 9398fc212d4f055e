//! `harness sfn run` (one execution of any state machine, printed as one JSON object), `harness sfn
//! test-state` (one state, as the TestState API runs it) and `harness sfn serve` (the Step
//! Functions API on a local endpoint, as Step Functions Local served it).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use harness::world::workflow;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;

use harness::emulate::edge::Edge;
use sfn::replay::{self, Recording};
use sfn::{Executor, MockConfig, RunOptions, Service, ServiceOptions, TimeMode};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Runs a state machine once and prints {"status", "output", "error", "cause", "history"}.
    ///
    /// Task states whose resource is a Lambda function named SetRunning, TransferFile or
    /// FinalizeJob (or ending in -SetRunning …) run the pipeline's handlers, configured from the
    /// environment (JOBS_TABLE, LANDING_BUCKET, FTPS_SECRET_ID, AWS_ENDPOINT_URL …);
    /// `${NameFunctionArn}` placeholders are replaced by that function's ARN.
    ///
    /// With --replay, every Task answers as the recorded history says it did, in order, and the
    /// run's history is compared with the recording event by event: the first difference is
    /// printed (event, state, field, expected, actual) and the exit status is 1.
    Run {
        /// The ASL definition (JSON); with --replay, the recording's own `definition` if it has one.
        #[arg(long, required_unless_present = "replay")]
        definition: Option<PathBuf>,
        /// The execution input: JSON text, or @FILE (default: {}, or the recorded input).
        #[arg(long)]
        input: Option<String>,
        /// A recorded history (`aws stepfunctions get-execution-history … > history.json`) to
        /// replay: its input, and each Task's recorded results.
        #[arg(long, conflicts_with_all = ["mock_config", "test_case"])]
        replay: Option<PathBuf>,
        /// The recorded execution's ARN, so the replay runs as it (`$$.Execution.Id`, the
        /// ARNs in Task inputs); default: the recording's `executionArn`, if it has one.
        #[arg(long, requires = "replay")]
        execution_arn: Option<String>,
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
        /// Also print, per state entered, its inspection data (TestState's `inspectionData`).
        #[arg(long)]
        inspect: bool,
    },
    /// Runs one state once, as the TestState API does, and prints its answer.
    ///
    /// status SUCCEEDED, FAILED, RETRIABLE (a retrier matches) or CAUGHT_ERROR (a catcher
    /// does), nextState, output, error, cause, and at DEBUG/TRACE inspectionData.
    TestState {
        /// A state definition (JSON), or a whole state machine with --state naming the state.
        #[arg(long)]
        definition: PathBuf,
        /// The state to test in a whole state machine (default: its StartAt).
        #[arg(long)]
        state: Option<String>,
        /// The state's input: JSON text, or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        #[arg(long, default_value = "DEBUG", value_parser = ["INFO", "DEBUG", "TRACE"])]
        inspection_level: String,
        /// Workflow variables (JSON object) as TestState takes them.
        #[arg(long)]
        variables: Option<String>,
        /// The Task's answer instead of calling it: {"result": "<JSON text>"} or
        /// {"errorOutput": {"error": "…", "cause": "…"}}.
        #[arg(long)]
        mock: Option<String>,
        /// TestState's stateConfiguration: {"retrierRetryCount": N, "errorCausedByState": "…",
        /// "mapIterationFailureCount": N, "mapItemReaderData": "<JSON text>"}.
        #[arg(long)]
        state_configuration: Option<String>,
    },
    /// Serves the Step Functions API (AWS JSON 1.0) until interrupted, as Step Functions Local did.
    ///
    /// Point the AWS CLI or an SDK at the printed endpoint. Lambda tasks named SetRunning,
    /// TransferFile or FinalizeJob run the pipeline's handlers configured from the environment;
    /// other Lambda tasks fail naming the function. With a mock config, start an execution of
    /// `stateMachineArn#TestCaseName` to apply that test case.
    Serve {
        /// The port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 8083)]
        port: u16,
        /// An AWS MockConfigFile.json (default: $SFN_MOCK_CONFIG, if set).
        #[arg(long, env = "SFN_MOCK_CONFIG")]
        mock_config: Option<PathBuf>,
        /// Let Wait states and retry intervals jump a virtual clock instead of sleeping.
        #[arg(long)]
        virtual_time: bool,
    },
}

fn read_input(text: &str) -> anyhow::Result<Value> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading input file {path}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).context("--input is not JSON")
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run {
            definition,
            input,
            replay,
            execution_arn,
            mock_config,
            test_case,
            name,
            real_time,
            inspect,
        } => {
            let once = Once {
                definition,
                input,
                name,
                real_time,
                inspect,
            };
            match (replay, mock_config, test_case) {
                (Some(history), _, _) => replay_once(once, history, execution_arn).await,
                (None, Some(path), Some(case)) => run_once(once, Some((path, case))).await,
                _ => run_once(once, None).await,
            }
        }
        Command::TestState {
            definition,
            state,
            input,
            inspection_level,
            variables,
            mock,
            state_configuration,
        } => {
            let text =
                std::fs::read_to_string(&definition).with_context(|| format!("reading {}", definition.display()))?;
            let mut request = json!({"definition": workflow::substitute_function_arns(&text),
                "input": read_input(&input)?.to_string(), "inspectionLevel": inspection_level});
            if let Some(state) = state {
                request["stateName"] = json!(state);
            }
            if let Some(variables) = variables {
                request["variables"] = json!(variables);
            }
            if let Some(mock) = mock {
                request["mock"] = serde_json::from_str(&mock).context("--mock is not JSON")?;
            }
            if let Some(configuration) = state_configuration {
                request["stateConfiguration"] =
                    serde_json::from_str(&configuration).context("--state-configuration is not JSON")?;
            }
            let answer = sfn::test_state(&request, &workflow::bindings_from_env())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", definition.display()))?;
            println!("{answer}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            port,
            mock_config,
            virtual_time,
        } => serve(port, mock_config, virtual_time).await,
    }
}

async fn serve(port: u16, mock_config: Option<PathBuf>, virtual_time: bool) -> anyhow::Result<ExitCode> {
    let mocks = match &mock_config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Some(MockConfig::from_json(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let service = Arc::new(Service::new(ServiceOptions {
        bindings: workflow::bindings_from_env(),
        mocks,
        time: if virtual_time {
            TimeMode::Virtual
        } else {
            TimeMode::Real
        },
        // Step Functions' own quota on StartExecution, as AWS meters it.
        start_quota: Some(sfn::RateQuota::START_EXECUTION),
    }));
    let edge = Edge::start(service, None, port).await?;
    for (name, value) in harness::world::aws::client_environment(&edge.endpoint()) {
        println!("export {name}='{value}'");
    }
    println!("# with these set: aws stepfunctions list-state-machines");
    println!("# ready: the Step Functions API; interrupt to stop");
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

/// One run's options, as given.
struct Once {
    definition: Option<PathBuf>,
    input: Option<String>,
    name: String,
    real_time: bool,
    inspect: bool,
}

impl Once {
    fn machine(&self, text: &str) -> anyhow::Result<sfn::StateMachine> {
        let shown = self
            .definition
            .as_ref()
            .map_or_else(|| "the recording's definition".to_string(), |p| p.display().to_string());
        workflow::load(text).map_err(|errors| anyhow::anyhow!("{shown}: {errors}"))
    }

    fn options(&self, mocks: Option<sfn::mock::TestCase>) -> RunOptions {
        RunOptions {
            state_machine_name: self.name.clone(),
            mocks,
            time: if self.real_time {
                TimeMode::Real
            } else {
                TimeMode::Virtual
            },
            inspect: self.inspect,
            ..Default::default()
        }
    }
}

fn read_definition(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn report(execution: &sfn::Execution) -> Value {
    let mut report = json!({
        "status": execution.status,
        "output": execution.output,
        "error": execution.error,
        "cause": execution.cause,
        "history": execution.history,
    });
    if let Some(inspections) = &execution.inspections {
        report["inspections"] = json!(inspections);
    }
    report
}

async fn run_once(once: Once, mock: Option<(PathBuf, String)>) -> anyhow::Result<ExitCode> {
    let path = once.definition.clone().context("--definition is required")?;
    let machine = once.machine(&read_definition(&path)?)?;
    let input = read_input(once.input.as_deref().unwrap_or("{}"))?;
    let mocks = match mock {
        Some((path, case)) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let config = MockConfig::from_json(&text).with_context(|| path.display().to_string())?;
            Some(
                config
                    .test_case(Some(&once.name), &case)
                    .or_else(|_| config.test_case(None, &case))
                    .with_context(|| path.display().to_string())?,
            )
        }
        None => None,
    };
    let execution = Executor::new(machine, workflow::bindings_from_env())
        .run(input, once.options(mocks))
        .await;
    println!("{}", report(&execution));
    Ok(ExitCode::SUCCESS)
}

async fn replay_once(once: Once, history: PathBuf, execution_arn: Option<String>) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&history).with_context(|| format!("reading {}", history.display()))?;
    let recorded: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", history.display()))?;
    let mut recording = Recording::from_value(&recorded).with_context(|| history.display().to_string())?;
    if execution_arn.is_some() {
        recording.execution_arn = execution_arn;
    }
    let definition = match (&once.definition, recorded.get("definition")) {
        (Some(path), _) => read_definition(path)?,
        (None, Some(Value::String(text))) => text.clone(),
        (None, Some(definition @ Value::Object(_))) => definition.to_string(),
        (None, _) => bail!("{} holds no definition: give --definition", history.display()),
    };
    let machine = once.machine(&definition)?;
    let input = match &once.input {
        Some(text) => read_input(text)?,
        None => recording.input().with_context(|| history.display().to_string())?,
    };
    let options = RunOptions {
        identity: Some(recording.identity()),
        ..once.options(Some(recording.mocks()))
    };
    let execution = Executor::new(machine.clone(), workflow::bindings_from_env())
        .run(input, options)
        .await;
    let divergence = replay::compare(&recording, &execution.history, &machine);
    let mut printed = report(&execution);
    printed["replay"] = json!({
        "recordedEvents": recording.events.len(),
        "events": execution.history.len(),
        "divergence": divergence,
    });
    println!("{printed}");
    Ok(match divergence {
        None => {
            eprintln!(
                "replay: {} events, as recorded ({} task answers replayed)",
                recording.events.len(),
                recording.answers().len()
            );
            ExitCode::SUCCESS
        }
        Some(divergence) => {
            eprintln!("replay: diverges at {divergence}");
            ExitCode::FAILURE
        }
    })
}
