//! `harness run [PATHS]`: every scenario end to end, each in a fresh world; one line per scenario,
//! then `N passed, N failed` (exit 1 on any failure).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use harness::ftps::ExternalFtps;
use harness::report;
use harness::scenario::schema::{SLOW_TESTS, slow_tests_enabled};
use harness::scenario::snapshot::{Outcome, Update};
use harness::scenario::{Runner, Scenario, scenario_files, snapshot};
use harness::world::Project;

use super::junit;

#[derive(clap::Args)]
pub struct Args {
    /// The project directory (its infra/, scenarios/, fixtures/); default: FILECHECKS_PROJECT,
    /// else the nearest one at or above the current directory, else the embedded infra files.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Scenario files or directories, or scenario names in the project's scenarios/ (default:
    /// the project's scenarios/).
    paths: Vec<PathBuf>,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write an HTML report here: a page per scenario (its executions' graphs and timelines, the
    /// items' versions, the Pipe's reads, the bucket) and an index.html. Under CI (`CI` set) a
    /// failed run writes one to target/filechecks-report/ without being asked.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Take this run's snapshots where they differ from the stored ones (insta's
    /// `INSTA_UPDATE=always`); without it a changed snapshot is left beside the old as `.snap.new`.
    #[arg(long)]
    accept: bool,
    /// `text` (a line per scenario) or `json` (one JSON object per scenario and line: name, result,
    /// duration, problems, executions, items).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Replay against this FTPS server instead of the in-process one: ftps://USER:PASS@HOST:PORT
    /// (the scenarios' remote files are uploaded there first; faults need the in-process server).
    #[arg(long)]
    ftps_url: Option<String>,
    /// The external server speaks implicit FTPS.
    #[arg(long, requires = "ftps_url")]
    ftps_implicit: bool,
    /// PEM CA bundle to trust for the external server (default: the public web PKI).
    #[arg(long, requires = "ftps_url")]
    ftps_ca_file: Option<PathBuf>,
    /// The name its certificate is verified against, when it is not the URL's host.
    #[arg(long, requires = "ftps_url")]
    ftps_server_name: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// A path as given if it exists; else relative to the project; else `scenarios/NAME.yaml` there.
fn resolve(path: &Path, project: &Project) -> anyhow::Result<PathBuf> {
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let mut tried = vec![path.display().to_string()];
    if let Some(root) = project.root() {
        let mut candidates = vec![root.join(path)];
        if path.extension().is_none() {
            candidates.push(root.join("scenarios").join(path).with_extension("yaml"));
        }
        for candidate in candidates {
            if candidate.exists() {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
    }
    bail!("no scenario {} (tried {})", path.display(), tried.join(", "))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut project = Project::discover(args.project.as_deref())?;
    let paths = if args.paths.is_empty() {
        vec![project.scenarios_dir().context(
            "no scenarios/ to run: run inside a FileChecks project, give --project DIR, or name scenario files",
        )?]
    } else {
        args.paths
            .iter()
            .map(|p| resolve(p, &project))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    // Scenario files outside any project still find their fixtures next to them.
    if project.root().is_none()
        && let Some(found) = paths
            .first()
            .and_then(|p| p.canonicalize().ok())
            .and_then(|p| Project::above(&p))
    {
        project = found;
    }
    let files = scenario_files(&paths);
    if files.is_empty() {
        bail!("no scenario files in {paths:?}");
    }
    let mut runner = Runner::new(project);
    runner.progress = harness::progress::Bars::for_stderr();
    if let Some(url) = &args.ftps_url {
        runner.external = Some(ExternalFtps::from_url(
            url,
            args.ftps_implicit,
            args.ftps_ca_file.as_deref(),
            args.ftps_server_name.as_deref(),
        )?);
    }
    let mut cases = Vec::new();
    let mut pages = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap_or_default().to_string_lossy().to_string();
        if Scenario::load(file).is_ok_and(|s| s.slow) && !slow_tests_enabled() {
            if args.format == Format::Text {
                println!("skipped {name} (slow: set {SLOW_TESTS}=1 to run it)");
            }
            continue;
        }
        let (problems, elapsed, items, snapshot_text, evidence) = match runner.run(file).await {
            Ok(report) => {
                let mut problems = report.failures;
                // A scenario that failed its checks has no snapshot worth keeping; one judged by
                // the invariants alone keeps none.
                let invariants_only = Scenario::load(file).is_ok_and(|s| s.expect.invariants_only);
                if problems.is_empty() && !invariants_only {
                    match snapshot::check(file, &report.snapshot, Update::from_env(args.accept)) {
                        Ok(Outcome::Matches) => {}
                        Ok(Outcome::Created(path)) if args.format == Format::Text => {
                            println!("new snapshot {} — review it", path.display())
                        }
                        Ok(Outcome::Updated(path)) if args.format == Format::Text => {
                            println!("updated snapshot {}", path.display())
                        }
                        Ok(_) => {}
                        Err(e) => problems.push(e.to_string()),
                    }
                }
                let items: Vec<serde_json::Value> = report.items.into_iter().map(|s| s.item).collect();
                (problems, report.elapsed, items, report.snapshot, report.evidence)
            }
            Err(err) => (
                vec![err.to_string()],
                Duration::ZERO,
                Vec::new(),
                String::new(),
                Default::default(),
            ),
        };
        match args.format {
            Format::Text if problems.is_empty() => println!("ok     {name} ({:.1} s)", elapsed.as_secs_f64()),
            Format::Text => {
                println!("FAILED {name} ({:.1} s)", elapsed.as_secs_f64());
                for line in problems.iter().flat_map(|p| p.lines()) {
                    println!("       {line}");
                }
            }
            Format::Json => println!("{}", json_line(&name, &problems, elapsed, &evidence, &items)),
        }
        cases.push(junit::Case {
            name: name.clone(),
            elapsed,
            problems: problems.clone(),
        });
        pages.push(report::Page {
            name,
            problems,
            elapsed,
            items: snapshot_text,
            evidence,
        });
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, junit::render(&cases))
    {
        // The scenarios' results stand; the missing report is said, not turned into a failure.
        eprintln!("harness: writing {}: {e}", path.display());
    }
    let failed = cases.iter().filter(|c| !c.problems.is_empty()).count();
    // Under CI a failed run leaves its report behind, for the person who reads the build.
    let report_dir = args.report.clone().or_else(|| {
        (failed > 0 && harness::under_ci()).then(|| {
            runner
                .project
                .root()
                .map_or_else(|| PathBuf::from("target"), |r| r.join("target"))
                .join("filechecks-report")
        })
    });
    if let Some(dir) = report_dir {
        match report::write(&dir, &pages) {
            Ok(index) => eprintln!("report: {}", index.display()),
            // The scenarios' results stand; the missing report is said, not turned into a failure.
            Err(e) => eprintln!("harness: writing the report in {}: {e}", dir.display()),
        }
    }
    if args.format == Format::Text {
        println!("{} passed, {failed} failed", cases.len() - failed);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A scenario's outcome for machines: one JSON object on one line.
fn json_line(
    name: &str,
    problems: &[String],
    elapsed: Duration,
    evidence: &report::Evidence,
    items: &[serde_json::Value],
) -> String {
    let executions: Vec<serde_json::Value> = evidence
        .executions
        .iter()
        .map(|e| {
            serde_json::json!({
                "status": e.status, "error": e.error, "cause": e.cause, "events": e.history.len(),
            })
        })
        .collect();
    serde_json::json!({
        "name": name,
        "result": if problems.is_empty() { "passed" } else { "failed" },
        "durationSeconds": elapsed.as_secs_f64(),
        "problems": problems,
        "executions": executions,
        "items": items,
    })
    .to_string()
}
