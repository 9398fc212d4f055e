//! `harness up`: the world stays up, event-driven; jobs written to its table run through the Pipe,
//! and each finished execution is reported on stderr and as an HTML page in the reports directory
//! it exports (`FILECHECKS_REPORTS`; `harness status JOB --report` finds a job's latest there).
//! While jobs are in flight a progress line every few seconds counts them by status, with the
//! rate they end at, the throttles, and the age of the oldest RUNNING job.
//!
//! The reporter costs the same for every execution however many came before, and sends the
//! backend nothing: the job's own stream records (the Pipe indexes them by job; the item, its
//! landing and any unfinished upload are read from them), the FTPS sessions that named its file,
//! one page written and one index row appended.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use harness::emulate::pipe::{Board, new_image};
use harness::fault::FaultSet;
use harness::progress::{Bars, say};
use harness::report;
use harness::world::{Project, S3Store, World, WorldOptions, execution_job};
use pipeline::job::Job;
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
    /// Arm these faults (a YAML map as a scenario's `faults:` writes it: the FTPS server's, `aws:`,
    /// `lambda:`, `events:`, `scheduler:`, `pipe:`).
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
                    .and_then(pipeline::job::key_from_execution_input)
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
    // Finished executions are taken off the broadcast at once, each with how far the Pipe had
    // read the stream then, and queued for the reporter, which may fall behind in a burst but
    // never loses one.
    let mut finished = world.subscribe();
    let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel::<(sfn::Execution, u64)>();
    let (out, taking) = (bars.clone(), world.clone());
    tokio::spawn(async move {
        loop {
            match finished.recv().await {
                Ok(execution) => {
                    let job = execution_job(&execution).map_or_else(|| "?".into(), |k| k.job_id);
                    say(
                        out.as_ref(),
                        format!(
                            "harness: execution for job {job} {} {}",
                            execution.status.as_str(),
                            execution.error.as_deref().unwrap_or("")
                        ),
                    );
                    if queue.send((execution, taking.stream_position())).is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => say(
                    out.as_ref(),
                    format!("harness: {missed} finished executions not reported (too many at once)"),
                ),
                Err(RecvError::Closed) => break,
            }
        }
    });
    let out = bars.clone();
    let (reporting, dir) = (world.clone(), reports.clone());
    // Pages already in a reused directory keep their names: numbering goes on after them.
    let before = std::fs::read_dir(&reports)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".html") && e.file_name() != "index.html")
                .count()
        })
        .unwrap_or(0);
    tokio::spawn(async move {
        let mut n = before;
        while let Some((execution, mut position)) = queued.recv().await {
            n += 1;
            // The job's last write is on the stream by the time its execution ends, unless the
            // healing rule writes it after (an execution that did not succeed).
            if execution.status != sfn::Status::Succeeded {
                reporting.heals_settled().await;
                position = reporting.stream_position();
            }
            reporting.read_past(position).await;
            let page = execution_page(&reporting, n, execution);
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
            // A job whose start went to the Pipe's dead-letter queue stays TRIGGERED: not in flight.
            let waiting = board.statuses.get("TRIGGERED").copied().unwrap_or(0) as u64;
            let in_flight = waiting > board.dead_lettered
                || board
                    .statuses
                    .iter()
                    .any(|(status, n)| *n > 0 && !["COMPLETED", "ERROR", "TRIGGERED"].contains(&status.as_str()));
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
            if quiet {
                // Every job has ended: where the requests went.
                let mut by_action: Vec<(String, usize)> = progress.backend_requests_by_action().into_iter().collect();
                by_action.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
                let list = by_action
                    .iter()
                    .map(|(action, n)| format!("{action} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                say(out.as_ref(), format!("harness: AWS requests by action: {list}"));
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

/// `up`'s progress line: `harness: progress: 1200 COMPLETED, 40 RUNNING, … | 48.0 jobs/s | …`.
fn progress_line(board: &Board, rate: f64, world: &World) -> String {
    let counts = board
        .statuses
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect::<Vec<_>>()
        .join(", ");
    let oldest = board.oldest_running.map_or_else(
        || "none RUNNING".to_string(),
        |age| format!("oldest RUNNING {:.1} s", age.as_secs_f64()),
    );
    format!(
        "harness: progress: {counts} | {rate:.1} jobs/s | throttled: {} Lambda, {} StartExecution | {oldest} | {} AWS requests",
        world.lambda_throttles(),
        board.refused,
        world.backend_requests_by_action().values().sum::<usize>()
    )
}

/// The report page of the `n`th finished execution: its graph and timeline, and its job as the
/// stream recorded it — the job's own records (the Pipe indexes them by job), its item after the
/// last write, the landing and unfinished upload that item records, the FTPS sessions that named
/// its file. Nothing here reads the table or the bucket: the reporter costs the backend nothing and
/// costs the same for every execution, whatever the world holds.
fn execution_page(world: &World, n: usize, execution: sfn::Execution) -> report::Page {
    let key = execution_job(&execution);
    let id = key.as_ref().map_or("?", |k| k.job_id.as_str()).to_string();
    let problems = match &execution.error {
        Some(error) => vec![format!("{error}: {}", execution.cause.as_deref().unwrap_or(""))],
        None => Vec::new(),
    };
    let reads = key.as_ref().map(|k| world.reads_of(k)).unwrap_or_default();
    let item = reads.iter().rev().find_map(|read| new_image(&read.record));
    let job = item.clone().and_then(|item| serde_json::from_value::<Job>(item).ok());
    let (mut objects, mut uploads) = (Vec::new(), Vec::new());
    if let Some(job) = &job {
        let key = job.s3.as_ref().map_or_else(
            || format!("{}/{}", job.project, job.file.file_name),
            |s3| s3.key.clone(),
        );
        if let Some(transfer) = &job.transfer {
            objects.push((key.clone(), transfer.bytes as i64));
        }
        if let Some(upload) = &job.upload {
            uploads.push((key, upload.upload_id.clone()));
        }
    }
    report::Page {
        name: format!("{id}-{n}"),
        problems,
        elapsed: std::time::Duration::ZERO,
        items: serde_json::to_string_pretty(&item.iter().collect::<Vec<_>>()).unwrap_or_default(),
        evidence: report::Evidence {
            description: format!(
                "Execution {n} of this world, for job {id}. The item, the landing and any unfinished upload are as the \
                 job's stream records show them."
            ),
            definition: world.definition.clone(),
            executions: vec![execution],
            reads,
            objects,
            uploads,
            ftps: job
                .map(|job| world.ftps.sessions_about(&job.file.remote_path))
                .unwrap_or_default(),
            time: sfn::TimeMode::Real,
        },
    }
}
