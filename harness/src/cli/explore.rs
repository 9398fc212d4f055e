//! `harness explore`: randomized schedules from a seed, each judged by the invariants; a
//! schedule that breaks one is shrunk and written as a scenario file `harness run` replays.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::scenario::Runner;
use harness::scenario::explore::{self, Space, Verdict};
use harness::world::project::Project;

#[derive(clap::Args)]
pub struct Args {
    /// The first seed (default: from the clock, printed).
    #[arg(long)]
    seed: Option<u64>,
    /// How many schedules to play.
    #[arg(long, default_value_t = 20)]
    schedules: u64,
    /// The most jobs in one schedule.
    #[arg(long, default_value_t = 3)]
    jobs: usize,
    /// Where to write the shrunk scenario of each violation.
    #[arg(long, value_name = "DIR", default_value = "explored")]
    output: PathBuf,
    /// The project whose infra and fixtures the worlds use (default: the checkout around the
    /// current directory, else the embedded one).
    #[arg(long)]
    project: Option<PathBuf>,
    /// Explore around this scenario of yours instead: its files, jobs, items, secret, faults and
    /// steps, with faults and steps added to each schedule (`--jobs` does not apply).
    #[arg(long, value_name = "SCENARIO")]
    from: Option<PathBuf>,
}

/// How long one schedule may take to settle before it counts as unplayed.
const LIMIT: Duration = Duration::from_secs(60);

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    });
    let project = Project::discover(args.project.as_deref()).context("finding the project")?;
    let runner = Runner::new(project);
    let space = Space { jobs: args.jobs.max(1) };
    let started = Instant::now();
    let (mut violations, mut unplayed) = (0, 0);
    let base = match &args.from {
        Some(path) => Some(harness::scenario::Scenario::load(path)?),
        None => None,
    };
    for index in 0..args.schedules {
        let schedule = match &base {
            Some(base) => explore::generate_from(base, seed, index),
            None => explore::generate(seed, index, space),
        };
        match explore::play(&runner, &schedule.scenario, LIMIT).await {
            Verdict::Held => {}
            Verdict::Unplayed(why) => {
                unplayed += 1;
                std::fs::create_dir_all(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
                let path = args.output.join(format!("unplayed-{seed}-{index}.yaml"));
                std::fs::write(&path, schedule.scenario.to_yaml())
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("explore: schedule {index} not played: {why} ({})", path.display());
            }
            Verdict::Broken(broken) => {
                violations += 1;
                let (mut shrunk, broken) = explore::shrink(&runner, schedule.scenario, broken, LIMIT).await;
                shrunk.description = format!(
                    "Found by harness explore (seed {seed}, schedule {index}), shrunk; judged by the invariants alone. It broke: {}",
                    broken.join("; ")
                );
                std::fs::create_dir_all(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
                let path = args.output.join(format!("explore-{seed}-{index}.yaml"));
                std::fs::write(&path, shrunk.to_yaml()).with_context(|| format!("writing {}", path.display()))?;
                println!("violation: schedule {index}: {}", broken.join("; "));
                println!("  reproduce: harness run {}", path.display());
            }
        }
    }
    if unplayed > 0 {
        println!("explore: {unplayed} schedules could not be played (see above)");
    }
    println!("explore: took {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "explore: {} schedules, {violations} violations (seed {seed})",
        args.schedules
    );
    Ok(if violations > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
