//! `harness up`: the world stays up, event-driven; jobs written to its table run through the Pipe,
//! and each finished execution is reported on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use harness::world::{Project, World, WorldOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The project directory (its infra/, scenarios/, fixtures/); default: FILECHECKS_PROJECT,
    /// else the nearest one at or above the current directory, else the embedded infra files.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Serve this directory through the FTPS server (default: a fresh temp directory).
    #[arg(long)]
    ftps_root: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    eprintln!("harness: booting the world…");
    let world = World::boot(WorldOptions {
        project: Project::discover(args.project.as_deref())?,
        ftps_root: args.ftps_root,
        shared_secret: true,
        ..Default::default()
    })
    .await?;
    world.put_secret("", &world.ftps.secret()).await?;
    let mut finished = world.subscribe();
    tokio::spawn(async move {
        while let Ok(execution) = finished.recv().await {
            let input = execution.history.first().and_then(|e| {
                e["executionStartedEventDetails"]["input"]
                    .as_str()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            });
            let job = input
                .as_ref()
                .and_then(|i| i[0]["dynamodb"]["Keys"]["jobId"]["S"].as_str().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            let status = serde_json::to_value(execution.status).unwrap_or_default();
            eprintln!(
                "harness: execution for job {job} {} {}",
                status.as_str().unwrap_or("?"),
                execution.error.as_deref().unwrap_or("")
            );
        }
    });
    for (name, value) in world.environment() {
        println!("export {name}='{}'", value.replace('\'', "'\\''"));
    }
    println!(
        "# FTPS server: ftps://127.0.0.1:{} (user {}; files under $FILECHECKS_FTPS_ROOT)",
        world.ftps.addr().port(),
        world.ftps.username()
    );
    println!("# ready: harness submit --project P --remote-path /PATH; interrupt to stop");
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    eprintln!("harness: stopping");
    Ok(ExitCode::SUCCESS)
}
