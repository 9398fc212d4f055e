//! Replaying scenarios against an FTPS server the harness does not run (`--ftps-url`), here a
//! hardened vsftpd (TLS required, session reuse required): the harness uploads the remote files
//! there first, then the pipeline transfers them as it would from a staging server.

use std::process::Command;

use harness::ftps::ExternalFtps;
use harness::ftps::vsftpd::{self, TlsVersion, Vsftpd};
use harness::scenario::Runner;
use harness::world::Project;
use pipeline::secret::TlsMode;

const PASSWORD: &str = "replay-pa55";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_scenario_replays_against_vsftpd() {
    if vsftpd::skip_unless_available() {
        return;
    }
    let server = Vsftpd::start(TlsVersion::Tls13, TlsMode::Explicit, "filechecks-ftp", PASSWORD)
        .unwrap_or_else(|e| panic!("{e}"));
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &server.pki().ca_pem).unwrap();
    let url = format!("ftps://filechecks-ftp:{PASSWORD}@127.0.0.1:{}", server.port());
    let external = ExternalFtps::from_url(&url, false, Some(ca.path()), Some("localhost")).unwrap();
    let project = Project::discover(None).unwrap();
    let scenarios = project.scenarios_dir().unwrap();
    let seed = scenarios.join("seed_example.yaml");
    let mut runner = Runner::new(project);
    runner.external = Some(external);
    let report = runner.run(&seed).await.unwrap();
    assert!(
        report.failures.is_empty(),
        "{:?}\nvsftpd log:\n{}",
        report.failures,
        server.log()
    );
    assert!(
        report.snapshot.contains("\"status\": \"COMPLETED\""),
        "{}",
        report.snapshot
    );
    assert!(
        !server.root().join("s_dart_cert/plas/in/mo.moyr540.data").exists(),
        "transferred and deleted on vsftpd"
    );

    // The same through the CLI, which also compares the snapshot.
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "run",
            "--ftps-url",
            &url,
            "--ftps-server-name",
            "localhost",
            "--ftps-ca-file",
        ])
        .arg(ca.path())
        .arg(&seed)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"), "{stdout}");

    // A scenario with faults cannot run on a server the harness does not control.
    let faulty = scenarios.join("drop_once_then_retry.yaml");
    let err = runner.run(&faulty).await.unwrap_err();
    assert!(
        err.to_string().contains("faults need the in-process FTPS server"),
        "{err}"
    );
}
