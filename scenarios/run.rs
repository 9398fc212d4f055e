//! Every file in `scenarios/` is its own test: it runs end to end in a fresh world (embedded
//! moto_server, in-process FTPS, the real handlers in the Step Functions emulator, the Pipe), its
//! expectations and invariants must hold, and the table's items must equal its snapshot
//! (`scenarios/snapshots/<name>.snap`).
//!
//! So is every cell of the fault matrix (`harness::scenario::matrix`), as `fault_matrix::<cell>`
//! (`-- fault_matrix::` runs them alone): a generated scenario in a fresh world, passing when no
//! invariant breaks. The job's outcome may differ per cell (a crash after VERIFIED completes, a
//! stop ends ExecutionAborted); the invariants may not. One runner for both keeps the two cores
//! busy to the end, and links the harness once.
//!
//! So is a fixed budget of the schedule explorer (`harness::scenario::explore`): the first 30
//! schedules of seeds 11, 12 and 13, as `explore::seed-S-schedule-I`, each judged by the
//! invariants alone.

use harness::scenario::schema::slow_tests_enabled;
use harness::scenario::{Runner, Scenario, explore, matrix, scenario_files, snapshot};
use harness::world::Project;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let mut args = Arguments::from_args();
    // A scenario mostly waits (moto, the FTPS server, its timers): four at a time keep two cores
    // busy (78 s → 51–55 s for the scenario files, 26 s → 16 s for the matrix, measured on 2
    // cores); `--test-threads` or RUST_TEST_THREADS still decides.
    let from_env = std::env::var("RUST_TEST_THREADS").ok().and_then(|n| n.parse().ok());
    args.test_threads = args.test_threads.or(from_env).or(Some(4));
    let project = Project::discover(None).expect("the checkout is a project");
    let scenarios = project.scenarios_dir().expect("the project has scenarios/");
    let mut trials = scenario_files(std::slice::from_ref(&scenarios))
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let runner = Runner::new(project.clone());
            // A slow scenario (GiBs) is listed as ignored unless FILECHECKS_SLOW_TESTS is set.
            let slow = Scenario::load(&path).is_ok_and(|s| s.slow) && !slow_tests_enabled();
            let invariants_only = Scenario::load(&path).is_ok_and(|s| s.expect.invariants_only);
            Trial::test(name.clone(), move || {
                let report = play(&runner, &path)?;
                if !report.failures.is_empty() {
                    return Err(Failed::from(report.failures.join("\n")));
                }
                // Judged by the invariants alone: no snapshot to keep.
                if invariants_only {
                    return Ok(());
                }
                insta::with_settings!({
                    snapshot_path => snapshot::path(&path).parent().unwrap(),
                    prepend_module_to_snapshot => false,
                    omit_expression => true,
                }, {
                    insta::assert_snapshot!(name.as_str(), report.snapshot);
                });
                Ok(())
            })
            .with_ignored_flag(slow)
        })
        .collect::<Vec<_>>();
    trials.push(Trial::test("jsonata_twins_have_their_originals_snapshots", move || {
        twins_match(&scenarios)
    }));
    let cells = tempfile::tempdir().expect("a temp dir for the matrix's scenario files");
    trials.extend(matrix_trials(&project, cells.path()));
    trials.extend(explore_trials(&project));
    let conclusion = libtest_mimic::run(&args, trials);
    drop(cells);
    conclusion.exit();
}

/// Plays one scenario file in a fresh world, on a runtime of its own.
fn play(runner: &Runner, path: &std::path::Path) -> Result<harness::scenario::Report, Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(runtime.block_on(runner.run(path)).map_err(|e| e.to_string())?)
}

/// The fault matrix's cells, each written as a scenario file in `dir` and judged by the invariants.
fn matrix_trials(project: &Project, dir: &std::path::Path) -> Vec<Trial> {
    matrix::cells()
        .into_iter()
        .map(|cell| {
            let path = dir.join(format!("{}.yaml", cell.name));
            std::fs::write(&path, cell.scenario.to_yaml()).expect("the cell's scenario file");
            let runner = Runner::new(project.clone());
            Trial::test(format!("fault_matrix::{}", cell.name), move || {
                let report = play(&runner, &path)?;
                if report.broken_invariants.is_empty() {
                    Ok(())
                } else {
                    Err(Failed::from(format!(
                        "{}\n{}",
                        report.broken_invariants.join("\n"),
                        report.snapshot
                    )))
                }
            })
        })
        .collect()
}

/// The schedule explorer's fixed budget: these seeds' first schedules, each played as
/// `harness explore` plays it and judged by the invariants alone (`-- explore::` runs them).
/// Long explorations are `harness explore`'s (README).
const EXPLORE_SEEDS: [u64; 3] = [11, 12, 13];
const EXPLORE_SCHEDULES: u64 = 30;

fn explore_trials(project: &Project) -> Vec<Trial> {
    let mut trials = Vec::new();
    for seed in EXPLORE_SEEDS {
        for index in 0..EXPLORE_SCHEDULES {
            let runner = Runner::new(project.clone());
            trials.push(Trial::test(
                format!("explore::seed-{seed}-schedule-{index:02}"),
                move || {
                    let schedule = explore::generate(seed, index, explore::Space::default());
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    let limit = std::time::Duration::from_secs(120);
                    match runtime.block_on(explore::play(&runner, &schedule.scenario, limit)) {
                        explore::Verdict::Held => Ok(()),
                        explore::Verdict::Broken(broken) => Err(Failed::from(format!(
                            "{}\nreproduce: harness explore --seed {seed} --schedules {} (shrinks it)\n{}",
                            broken.join("\n"),
                            index + 1,
                            schedule.scenario.to_yaml()
                        ))),
                        // The fixed seeds are ones the world plays: one it cannot is a regression too.
                        explore::Verdict::Unplayed(why) => Err(Failed::from(format!(
                            "not played: {why}\n{}",
                            schedule.scenario.to_yaml()
                        ))),
                    }
                },
            ));
        }
    }
    trials
}

/// `<name>_jsonata.yaml` runs `<name>.yaml` on the JSONata rewrite of the state machine: the items
/// it leaves must be the same, so its snapshot is the original's, byte for byte.
fn twins_match(scenarios: &std::path::Path) -> Result<(), Failed> {
    let snapshots = scenarios.join("snapshots");
    let mut twins = 0;
    for entry in std::fs::read_dir(scenarios).map_err(|e| e.to_string())?.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(original) = file.strip_suffix("_jsonata.yaml") else {
            continue;
        };
        let read = |name: &str| std::fs::read_to_string(snapshots.join(format!("{name}.snap")));
        let (twin, base) = (read(&format!("{original}_jsonata")), read(original));
        match (twin, base) {
            (Ok(twin), Ok(base)) if twin == base => twins += 1,
            (Ok(_), Ok(_)) => return Err(format!("{original}_jsonata.snap differs from {original}.snap").into()),
            (twin, base) => {
                return Err(format!("{original}: snapshots missing ({:?}, {:?})", twin.err(), base.err()).into());
            }
        }
    }
    if twins == 0 {
        return Err("no <name>_jsonata.yaml scenario".into());
    }
    Ok(())
}
