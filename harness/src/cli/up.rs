//! `harness up`: the world stays up, event-driven; jobs written to its table run through the Pipe,
//! and each finished execution is reported on stderr and as an HTML page in the reports directory
//! it exports (`FILECHECKS_REPORTS`; `harness status JOB --report` finds a job's latest there).
//! While jobs are in flight a progress line every few seconds counts them by status, with the
//! rate they end at, the throttles, and the age of the oldest RUNNING job.
//!
//! The reporter costs the same for every execution however many came before: the job's own
//! stream records (the Pipe indexes them by job), one GetItem, the objects and uploads under the
//! job's key, the FTPS sessions that named its file, one page written and one index row appended.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use harness::fault::FaultSet;
use harness::progress::{Bars, say};
use harness::report;
use harness::emulate::pipe::Board;
use harness::world::{Project, S3Store, World, WorldOptions, execution_job, input_job};
use pipeline::job::{Job, JobKey};
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
    /// A template parameter in place of its default, as `sam deploy --parameter-overrides`
    /// sets it (`--parameter TransferFileConcurrency=5`); repeatable.
    #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parse_parameter)]
    parameters: Vec<(String, String)>,
}

fn parse_parameter(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=VALUE"))?;
    Ok((name.to_string(), value.to_string()))
}

/// How often the progress line is printed while jobs are in flight.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
            parameters: args.parameters.into_iter().collect(),
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
        let mut n = 0usize;
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
            n += 1;
            let job = execution_job(&execution);
            let id = job.as_ref().map_or("?", |k| k.job_id.as_str()).to_string();
            say(
                out.as_ref(),
                format!(
                    "harness: execution for job {id} {} {}",
                    execution.status.as_str(),
                    execution.error.as_deref().unwrap_or("")
                ),
            );
            let page = execution_page(&reporting, job.as_ref(), &id, n, execution).await;
            let file = dir.join(page.file_name());
            match report::append(&dir, &page) {
                Ok(_) => say(out.as_ref(), format!("harness: report {}", file.display())),
                Err(e) => say(
                    out.as_ref(),
                    format!("harness: writing the report in {}: {e}", dir.display()),
                ),
            }
        }
    });
    let out = bars.clone();
    let progress = world.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Option<(usize, std::time::Instant)> = None;
        let mut quiet = true;
        loop {
            tick.tick().await;
            let board = progress.board();
            let ended = board.statuses.get("COMPLETED").copied().unwrap_or(0)
                + board.statuses.get("ERROR").copied().unwrap_or(0);
            let in_flight = board.statuses.iter().any(|(status, n)| *n > 0 && status != "COMPLETED" && status != "ERROR");
            let rate = match last {
                Some((before, at)) => (ended.saturating_sub(before)) as f64 / at.elapsed().as_secs_f64(),
                None => 0.0,
            };
            last = Some((ended, std::time::Instant::now()));
            // A line while jobs are in flight, and one more once they have all ended.
            if !in_flight && quiet {
                continue;
            }
            quiet = !in_flight;
            say(out.as_ref(), progress_line(&board, rate, &progress));
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

/// `up`'s progress line: `harness: progress: 1200 COMPLETED, 40 RUNNING, … | 48.0 jobs/s | …`.
fn progress_line(board: &Board, rate: f64, world: &World) -> String {
    let counts = board
        .statuses
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect::<Vec<_>>()
        .join(", ");
    let oldest = board
        .oldest_running
        .map_or_else(|| "none RUNNING".to_string(), |age| format!("oldest RUNNING {:.1} s", age.as_secs_f64()));
    format!(
        "harness: progress: {counts} | {rate:.1} jobs/s | throttled: {} Lambda, {} StartExecution | {oldest} | {} AWS requests",
        world.lambda_throttles(),
        board.refused,
        world.backend_requests()
    )
}

/// The report page of one finished execution of job `job` (`id` names it): its graph and
/// timeline, the job's stream records, its item, the objects and uploads under its key and the
/// FTPS sessions that named its file — that job's only, whatever else the world holds.
async fn execution_page(
    world: &World,
    job: Option<&JobKey>,
    id: &str,
    n: usize,
    execution: sfn::Execution,
) -> report::Page {
    let problems = match &execution.error {
        Some(error) => vec![format!("{error}: {}", execution.cause.as_deref().unwrap_or(""))],
        None => Vec::new(),
    };
    let (reads, item) = match job {
        Some(key) => (world.reads_of(key), world.stored_item(key).await),
        None => (Vec::new(), Ok(None)),
    };
    let typed = item.as_ref().ok().and_then(|i| i.clone()).and_then(|i| serde_json::from_value::<Job>(i).ok());
    let items = match &item {
        Ok(item) => serde_json::to_string_pretty(&item.iter().collect::<Vec<_>>()).unwrap_or_default(),
        Err(e) => format!("(the job could not be read: {e})"),
    };
    // The job's landing key (its own `s3.key`, else project/fileName) and its remote file.
    let (prefix, remote) = match &typed {
        Some(job) => (
            job.s3
                .as_ref()
                .map_or_else(|| format!("{}/{}", job.project, job.file.file_name), |s3| s3.key.clone()),
            Some(job.file.remote_path.clone()),
        ),
        None => (String::new(), None),
    };
    let (objects, uploads) = if prefix.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (world.objects_under(&prefix).await, world.unfinished_uploads_under(&prefix).await)
    };
    report::Page {
        name: format!("{id}-{n}"),
        problems,
        elapsed: std::time::Duration::ZERO,
        items,
        evidence: report::Evidence {
            description: format!("Execution {n} of this world, for job {id}"),
            definition: world.definition.clone(),
            executions: vec![execution],
            reads,
            objects,
            uploads,
            ftps: remote.map(|path| world.ftps.sessions_about(&path)).unwrap_or_default(),
        },
    }
}
