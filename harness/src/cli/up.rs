//! `harness up`: the world stays up, event-driven; jobs written to its table run through the Pipe,
//! and each finished execution is reported on stderr and as an HTML page in the reports directory
//! it exports (`FILECHECKS_REPORTS`; `harness status JOB --report` finds a job's latest there).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use harness::fault::FaultSet;
use harness::progress::{Bars, say};
use harness::report;
use harness::world::{Project, S3Store, World, WorldOptions, execution_job, input_job};
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
    /// Arm these faults (a YAML map as a scenario's `faults:` writes it: FTPS and `aws:` ones).
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    /// S3 on the harness's disk-backed store instead of moto (files of GiBs); its endpoint is
    /// exported as AWS_ENDPOINT_URL_S3.
    #[arg(long)]
    disk_s3: bool,
    /// Where each finished execution's report goes (default: a new directory under the system's
    /// temp directory); exported as FILECHECKS_REPORTS.
    #[arg(long, value_name = "DIR")]
    reports: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    eprintln!("harness: booting the world…");
    let world = Arc::new(
        World::boot(WorldOptions {
            project: Project::discover(args.project.as_deref())?,
            ftps_root: args.ftps_root,
            shared_secret: true,
            // A live world keeps AWS's clock: retry intervals and Wait states take their time.
            time: TimeMode::Real,
            s3: if args.disk_s3 { S3Store::Disk } else { S3Store::Backend },
            ..Default::default()
        })
        .await?,
    );
    let reports = match args.reports {
        Some(dir) => dir,
        None => tempfile::Builder::new().prefix("filechecks-reports-").tempdir()?.keep(),
    };
    std::fs::create_dir_all(&reports).with_context(|| format!("creating {}", reports.display()))?;
    world.put_secret("", &world.ftps.secret()).await?;
    if let Some(file) = &args.faults {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let faults: FaultSet =
            serde_yaml::from_str(&text).with_context(|| format!("{}: not a faults map", file.display()))?;
        world.inject(&faults.0);
    }
    // A live bar per running transfer where stderr is a terminal; the event lines print above them.
    let bars = Bars::for_stderr();
    let _following = bars.as_ref().map(|b| b.follow(&world.ftps));
    let mut started = world.service.events();
    let out = bars.clone();
    tokio::spawn(async move {
        while let Ok(event) = started.recv().await {
            let detail = &event["detail"];
            if detail["status"] == "RUNNING" {
                let job = detail["input"]
                    .as_str()
                    .and_then(input_job)
                    .map_or_else(|| "?".into(), |k| k.job_id);
                say(
                    out.as_ref(),
                    format!(
                        "harness: execution for job {job} RUNNING {}",
                        detail["executionArn"].as_str().unwrap_or("?")
                    ),
                );
            }
        }
    });
    let mut healed = world.subscribe_healed();
    let out = bars.clone();
    tokio::spawn(async move {
        while let Ok((job, name)) = healed.recv().await {
            say(
                out.as_ref(),
                format!("harness: job {} healed: ERROR {name}", job.job_id),
            );
        }
    });
    let mut finished = world.subscribe();
    let out = bars.clone();
    let (reporting, dir) = (world.clone(), reports.clone());
    tokio::spawn(async move {
        let mut pages: Vec<report::Page> = Vec::new();
        loop {
            let execution = match finished.recv().await {
                Ok(execution) => execution,
                Err(RecvError::Lagged(missed)) => {
                    say(
                        out.as_ref(),
                        format!("harness: {missed} finished executions not reported (too many at once)"),
                    );
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let job = execution_job(&execution).map_or_else(|| "?".into(), |k| k.job_id);
            say(
                out.as_ref(),
                format!(
                    "harness: execution for job {job} {} {}",
                    execution.status.as_str(),
                    execution.error.as_deref().unwrap_or("")
                ),
            );
            let page = execution_page(&reporting, &job, pages.len() + 1, execution).await;
            let file = dir.join(page.file_name());
            pages.push(page);
            match report::write(&dir, &pages) {
                Ok(_) => say(out.as_ref(), format!("harness: report {}", file.display())),
                Err(e) => say(
                    out.as_ref(),
                    format!("harness: writing the report in {}: {e}", dir.display()),
                ),
            }
        }
    });
    for (name, value) in world.environment() {
        println!("export {name}='{}'", value.replace('\'', "'\\''"));
    }
    println!(
        "export FILECHECKS_REPORTS='{}'",
        reports.display().to_string().replace('\'', "'\\''")
    );
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

/// The report page of one finished execution of job `job`: its graph and timeline, and the job's
/// reads, the bucket and the FTPS sessions as they stand now.
async fn execution_page(world: &World, job: &str, n: usize, execution: sfn::Execution) -> report::Page {
    let problems = match &execution.error {
        Some(error) => vec![format!("{error}: {}", execution.cause.as_deref().unwrap_or(""))],
        None => Vec::new(),
    };
    let reads = world
        .pipe_log()
        .into_iter()
        .filter(|r| r.record["dynamodb"]["Keys"]["jobId"]["S"] == job)
        .collect();
    let items = match world.items().await {
        Ok(items) => {
            let mine: Vec<&serde_json::Value> = items.iter().map(|s| &s.item).filter(|i| i["jobId"] == job).collect();
            serde_json::to_string_pretty(&mine).unwrap_or_default()
        }
        Err(e) => format!("(the table could not be read: {e})"),
    };
    report::Page {
        name: format!("{job}-{n}"),
        problems,
        elapsed: std::time::Duration::ZERO,
        items,
        evidence: report::Evidence {
            description: format!("Execution {n} of this world, for job {job}"),
            definition: world.definition.clone(),
            executions: vec![execution],
            reads,
            objects: world.objects().await,
            uploads: world.unfinished_uploads().await,
            ftps: world.ftps.session_log(),
        },
    }
}
