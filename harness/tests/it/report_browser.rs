//! The HTML report, looked at in a real browser: `harness run --report DIR` on the seed scenario
//! and on a failing one, each page rendered by headless Chromium. What a person would see must be
//! there — the state names, the path the execution took, the final status, the item's versions —
//! and a screenshot of each is saved under `target/tmp/report-screenshots/`. Without Chromium
//! (Debian's `chromium`, or `CHROMIUM=path`) the test says why it skipped; under CI it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

const FAILING: &str = r#"description: The job names a missing file but the scenario expects it to land (a scenario that fails, for the report).
jobs:
  - {jobId: job-missing, project: FLPIDS-NATS, file: {fileName: nope.data, remotePath: /in/nope.data}}
expect:
  jobs: {job-missing: {status: COMPLETED}}
"#;

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The page as the browser built it (its DOM after parsing), and a screenshot of it.
fn render(browser: &Path, page: &Path, screenshot: &Path) -> String {
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
    ];
    let shot = Command::new(browser)
        .args(common)
        .arg("--window-size=1100,2400")
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.status.success(),
        "screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::metadata(screenshot).expect("a screenshot is written").len();
    assert!(
        png > 20_000,
        "the screenshot of {} holds a page ({png} bytes)",
        page.display()
    );
    let dom = Command::new(browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "dump-dom: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    String::from_utf8_lossy(&dom.stdout).to_string()
}

#[test]
fn the_report_shows_the_run_in_a_browser() {
    let Some(browser) = chromium() else {
        assert!(
            !harness::under_ci(),
            "CI must have Chromium (.ci/run installs Debian's chromium)"
        );
        eprintln!("skipped: no Chromium (install Debian's chromium, or set CHROMIUM=path)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let failing = tempfile::tempdir().unwrap();
    let failing_file = failing.path().join("expects_a_missing_file_to_land.yaml");
    std::fs::write(&failing_file, FAILING).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["run", "--project"])
        .arg(&root)
        .arg("seed_example")
        .arg(&failing_file)
        .arg("--report")
        .arg(reports.path())
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();

    let seed = render(
        &browser,
        &reports.path().join("seed_example.html"),
        &screenshots.join("seed_example.png"),
    );
    assert!(seed.contains("PASSED"), "the result");
    for state in [
        "UnwrapRecord",
        "SetRunning",
        "IsDuplicateDelivery",
        "TransferFile",
        "FinalizeJob",
    ] {
        assert!(seed.contains(&format!(r#"data-state="{state}""#)), "{state} is drawn");
    }
    // The path taken: the states entered and the transitions between them, highlighted.
    for state in ["SetRunning", "TransferFile", "FinalizeJob"] {
        assert!(
            seed.contains(&format!(r#"visited" data-state="{state}""#)),
            "{state} is on the highlighted path"
        );
    }
    assert!(seed.contains(r#"taken" data-from="TransferFile" data-to="FinalizeJob""#));
    assert!(
        !seed.contains(r#"visited" data-state="FinalizeJobOnCatch""#),
        "the catch path was not taken"
    );
    assert!(seed.contains("SUCCEEDED"), "the execution's status");
    assert!(seed.contains("TRIGGERED → RUNNING → COMPLETED"), "the item's versions");
    assert!(
        seed.contains("<ins>COMPLETED</ins>"),
        "the final status in the item's diff"
    );
    // The FTPS session as the server saw it: the commands, the password masked (the world's
    // password is `pw-` and 32 hex digits; no such text may reach a report).
    assert!(
        seed.contains(r#"Command(Retr { path: "/s_dart_cert/plas/in/mo.moyr540.data" })"#),
        "the download"
    );
    assert!(seed.contains("Password { bytes: ******* }"), "the password, masked");
    let raw = std::fs::read_to_string(reports.path().join("seed_example.html")).unwrap();
    assert!(!raw.contains("pw-"), "no password in the report");

    let failed = render(
        &browser,
        &reports.path().join("expects_a_missing_file_to_land.html"),
        &screenshots.join("failing_scenario.png"),
    );
    assert!(failed.contains("FAILED"), "the result");
    assert!(failed.contains("RemoteFileNotFound"), "the error the job ended with");
    assert!(
        failed.contains(r#"visited" data-state="FinalizeJobOnCatch""#),
        "the catch path was taken"
    );
    let index = std::fs::read_to_string(reports.path().join("index.html")).unwrap();
    assert!(index.contains("1 passed, 1 failed"));
    eprintln!("screenshots in {}", screenshots.display());
}
