//! A secret must not reach a log at any level: with a `log` bridge installed at trace (as a user
//! who wires `log` into their tracing would), a full FTPS login through the pipeline's session
//! must not log the password. suppaftp traces every control-channel command, `PASS` included.

use std::sync::Mutex;

use harness::ftps::FtpsServer;
use pipeline::ftps::{FtpsSession, Timeouts};

const PASSWORD: &str = "s3cr3t-never-logged";

/// The threads this test's runtime runs on.
const THREADS: &str = "secret-logging";

/// Whether the record comes from this test: its runtime's threads, or its own (libtest names a
/// test's thread after the test). The logger is process-wide, and the test binary's other tests
/// log through it meanwhile: their records are neither formatted nor kept.
fn ours() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with(THREADS) || name.ends_with("trace_logging_never_shows_the_password"))
}

/// Every record of this test, at every level and from every target.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        ours()
    }
    fn log(&self, record: &log::Record<'_>) {
        if ours() {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            self.0.lock().unwrap().push(line);
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn trace_logging_never_shows_the_password() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREADS)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(log_in_with_a_bridge_at_trace());
}

async fn log_in_with_a_bridge_at_trace() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let server = FtpsServer::start("filechecks", PASSWORD, None).await.unwrap();
    server.put_file("/in/a.data", b"logged?\n").unwrap();
    let settings = server.secret();
    let tls = pipeline::tls::client_config(&settings).unwrap();
    let mut session = FtpsSession::connect(&settings, tls, Timeouts::default()).await.unwrap();
    assert_eq!(session.source("/in/a.data").await.unwrap().size, 8);
    session.quit().await;

    let records = CAPTURE.0.lock().unwrap().clone();
    let client: Vec<&String> = records.iter().filter(|r| r.contains("suppaftp")).collect();
    assert!(
        client.iter().any(|r| r.contains("Signin in with user")),
        "the bridge sees the FTP client's records: {client:#?}"
    );
    let leaks: Vec<&String> = records.iter().filter(|r| r.contains(PASSWORD)).collect();
    assert!(leaks.is_empty(), "the password reached the log: {leaks:#?}");
}
