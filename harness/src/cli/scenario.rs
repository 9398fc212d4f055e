//! `harness scenario from-item`: an ERROR item exported from DynamoDB → a reproducing scenario;
//! `harness scenario from-execution`: see `from_execution`;
//! `harness scenario matrix`: the fault matrix as scenario files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use harness::scenario::from_item::reproduce;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Writes a scenario reproducing an ERROR item exported from DynamoDB (plain or DynamoDB JSON).
    FromItem {
        /// The item's JSON file (`aws dynamodb get-item … > item.json` works as is).
        item: PathBuf,
        /// Write the scenario here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Writes a scenario replaying a recorded execution: its history's attempts as faults, its
    /// job item's end as the expectation (also `harness from-execution`).
    FromExecution(super::from_execution::Args),
    /// Writes the fault matrix (every stage × crash, timeout, throttle, 5xx, drop, duplicate,
    /// stop) as scenario files into DIR; `harness run DIR` plays them, judged by the invariants.
    Matrix {
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let (item, output) = match command {
        Command::FromItem { item, output } => (item, output),
        Command::FromExecution(args) => return super::from_execution::run(args).await,
        Command::Matrix { output } => {
            std::fs::create_dir_all(&output).with_context(|| format!("creating {}", output.display()))?;
            let cells = harness::scenario::matrix::cells();
            for cell in &cells {
                let path = output.join(format!("{}.yaml", cell.name));
                std::fs::write(&path, cell.scenario.to_yaml())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!(
                "harness: {} fault-matrix scenarios in {}",
                cells.len(),
                output.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let text = std::fs::read_to_string(&item).with_context(|| format!("reading {}", item.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", item.display()))?;
    let reproduction = reproduce(&value).with_context(|| item.display().to_string())?;
    let yaml = reproduction.scenario.to_yaml();
    // What the scenario cannot carry is said, so nobody reads more into a pass than it shows.
    for note in &reproduction.not_reproduced {
        eprintln!("from-item: not reproduced: {note}");
    }
    match output {
        Some(path) => {
            // `--output scenarios/incident.yaml` from a directory without `scenarios/` is the
            // README's own command outside the checkout.
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?
        }
        None => println!("{}", yaml.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
