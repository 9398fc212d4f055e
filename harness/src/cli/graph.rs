//! `harness graph DEFINITION [--history FILE] > machine.svg`: a state machine (JSONPath or
//! JSONata) as an SVG picture, optionally with an execution's path drawn over it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use harness::world::workflow;

#[derive(clap::Args)]
pub struct Args {
    /// The state machine definition (ASL JSON); `${…FunctionArn}` placeholders are allowed.
    definition: PathBuf,
    /// An execution's history (`{"events": [...]}` as GetExecutionHistory answers, the `history`
    /// array `harness sfn run` prints, or that whole output): its path is highlighted.
    #[arg(long)]
    history: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(&args.definition).with_context(|| format!("reading {}", args.definition.display()))?;
    let machine = match workflow::load(&text) {
        Ok(machine) => machine,
        Err(errors) => bail!("{}: {errors}", args.definition.display()),
    };
    let path = match &args.history {
        Some(file) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            let events = value.get("events").or_else(|| value.get("history")).unwrap_or(&value);
            let events: Vec<sfn::Event> = serde_json::from_value(events.clone())
                .with_context(|| format!("{} holds no array of history events", file.display()))?;
            sfn::graph::Path::from_history(&events)
        }
        None => sfn::graph::Path::default(),
    };
    print!("{}", sfn::graph::svg(&machine, &path));
    Ok(ExitCode::SUCCESS)
}
