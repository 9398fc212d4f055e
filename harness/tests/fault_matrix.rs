//! The fault matrix (`harness::scenario::matrix`): each cell is its own test, a generated
//! scenario in a fresh world, passing when no invariant breaks. The job's outcome may differ per
//! cell (a crash after VERIFIED completes, a stop ends ExecutionAborted); the invariants may not.

use harness::scenario::{Runner, matrix};
use harness::world::Project;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let mut args = Arguments::from_args();
    // A cell mostly waits (moto, the FTPS server, its timers): four at a time keep two cores
    // busy (26 s → 16 s for the matrix, measured on 2 cores); `--test-threads` still decides.
    args.test_threads = args.test_threads.or(Some(4));
    let project = Project::discover(None).expect("the checkout is a project");
    let dir = tempfile::tempdir().expect("a temp dir");
    let trials = matrix::cells()
        .into_iter()
        .map(|cell| {
            let path = dir.path().join(format!("{}.yaml", cell.name));
            std::fs::write(&path, cell.scenario.to_yaml()).expect("the cell's scenario file");
            let runner = Runner::new(project.clone());
            Trial::test(cell.name, move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let report = runtime.block_on(runner.run(&path)).map_err(|e| e.to_string())?;
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
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(dir);
    conclusion.exit();
}
