//! `harness scenario from-item`: an ERROR item exported from DynamoDB → a reproducing scenario.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use harness::scenario::from_item::scenario_from_item;

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
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::FromItem { item, output } = command;
    let text = std::fs::read_to_string(&item).with_context(|| format!("reading {}", item.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", item.display()))?;
    let scenario = scenario_from_item(&value).with_context(|| item.display().to_string())?;
    let yaml = scenario.to_yaml();
    match output {
        Some(path) => std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{}", yaml.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
