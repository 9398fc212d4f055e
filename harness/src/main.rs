//! `harness`: the FileChecks kit's command line. Parses, then hands each command to its module.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "harness", about = "Run the FileChecks pipeline locally", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs scenario files end to end, each in a fresh world, and checks their snapshots.
    Run(cli::run::Args),
    /// Boots the world and keeps it up, event-driven, until interrupted; prints `export` lines.
    Up(cli::up::Args),
    /// Inserts a TRIGGERED job in the seed's shape into a running `up`'s table; prints its jobId.
    Submit(cli::submit::Args),
    /// Prints a job's item from a running `up`'s table.
    Status(cli::status::Args),
    /// Draws a state machine (JSONPath or JSONata) as SVG, an execution's path over it if given.
    Graph(cli::graph::Args),
    /// Plays randomized schedules (several jobs, faults at random points, producers and
    /// operators acting) judged by the invariants; shrinks and writes each violation as a scenario.
    Explore(cli::explore::Args),
    /// Writes a scenario replaying a recorded execution (`harness scenario from-execution`).
    FromExecution(cli::from_execution::Args),
    /// Scenario tools.
    Scenario {
        #[command(subcommand)]
        command: cli::scenario::Command,
    },
    /// The Step Functions emulator.
    Sfn {
        #[command(subcommand)]
        command: cli::sfn::Command,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cli::run::run(args).await,
        Command::Up(args) => cli::up::run(args).await,
        Command::Submit(args) => cli::submit::run(args).await,
        Command::Status(args) => cli::status::run(args).await,
        Command::Graph(args) => cli::graph::run(args),
        Command::Explore(args) => cli::explore::run(args).await,
        Command::FromExecution(args) => cli::from_execution::run(args).await,
        Command::Scenario { command } => cli::scenario::run(command).await,
        Command::Sfn { command } => cli::sfn::run(command).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("harness: {err:#}");
            ExitCode::from(2)
        }
    }
}
