//! `harness up`: the world stays up, event-driven; jobs written to its table run through the Pipe,
//! and each finished execution is reported on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use harness::world::{Project, World, WorldOptions, execution_job};
use sfn::TimeMode;
use tokio::sync::broadcast::error::RecvError;

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
        // A live world keeps AWS's clock: retry intervals and Wait states take their time.
        time: TimeMode::Real,
        ..Default::default()
    })
    .await?;
    world.put_secret("", &world.ftps.secret()).await?;
    let mut finished = world.subscribe();
    tokio::spawn(async move {
        loop {
            let execution = match finished.recv().await {
                Ok(execution) => execution,
                Err(RecvError::Lagged(missed)) => {
                    eprintln!("harness: {missed} finished executions not reported (too many at once)");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let job = execution_job(&execution).map_or_else(|| "?".into(), |k| k.job_id);
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
    println!(
        "# Step Functions on the same endpoint: aws stepfunctions list-executions --state-machine-arn \"$STATE_MACHINE_ARN\""
    );
    println!("# ready: harness submit --project P --remote-path /PATH; interrupt to stop");
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    eprintln!("harness: stopping");
    Ok(ExitCode::SUCCESS)
}
