//! moto_server, provisioned into a per-user virtualenv on first use and run on a free
//! loopback port. The server's stdin is a pipe from this process: when this process exits, for
//! whatever reason, moto reads EOF and stops, so no server outlives its tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// The pinned server set: without `crc32c` moto silently computes CRC32 where CRC32C is asked,
/// without `awscrt` likewise for CRC64NVME.
pub const REQUIREMENTS: [&str; 3] = ["moto[server]==5.2.5", "crc32c==2.9.post0", "awscrt==0.38.1"];

/// Runs moto's WSGI app on a single-threaded server: moto's DynamoDB checks a condition and
/// writes without a lock, so two concurrent conditional UpdateItems on one item can both pass
/// (seen: two executions taking one job). Serializing requests restores the atomicity DynamoDB
/// guarantees, which the pipeline's idempotency relies on. (Single-threaded werkzeug speaks
/// HTTP/1.0, so no client can hold the server with a kept-alive connection.) moto lists its own
/// package directory (an `isdir` per service) on every request to route it; the list never
/// changes, so it is taken once (about 5% of moto's CPU under a burst, `docs/benchmarks.md`).
const LAUNCHER: &str = r#"
import sys, threading
import moto.backends
_modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _modules
from werkzeug.serving import make_server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=False)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("READY", server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
"#;

#[derive(Debug, Clone, thiserror::Error)]
pub enum MotoError {
    #[error(
        "Python 3 is needed to run moto_server and was not found as {0:?} (set PYTHON, or install it: apt-get install python3 python3-venv)"
    )]
    NoPython(String),
    #[error("provisioning moto_server into {venv}: {what}: {source}")]
    ProvisionIo {
        venv: PathBuf,
        what: &'static str,
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    #[error("provisioning moto_server into {venv}: {command} failed ({status}){hint}")]
    ProvisionCommand {
        venv: PathBuf,
        command: String,
        status: std::process::ExitStatus,
        hint: &'static str,
    },
    /// (Arc: the error of the one moto a process starts is handed to every world that asked.)
    #[error("moto_server did not start: {0}")]
    Start(#[source] std::sync::Arc<std::io::Error>),
    #[error("moto_server did not start: its first line was {0:?}, not READY <port>")]
    NotReady(String),
}

/// Where the harness keeps what it provisions, shared by every checkout and installed binary of
/// the user: `$FILECHECKS_HOME`, else `$XDG_CACHE_HOME/filechecks`, else `~/.cache/filechecks`.
pub fn harness_home() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("FILECHECKS_HOME") {
        return dir;
    }
    if let Some(cache) = var("XDG_CACHE_HOME") {
        return cache.join("filechecks");
    }
    match var("HOME") {
        Some(home) => home.join(".cache").join("filechecks"),
        // No home (a bare service account): a per-user directory under the temp dir.
        None => std::env::temp_dir().join(format!("filechecks-{}", whoami())),
    }
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "user".into())
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Creates the virtualenv and installs the pinned packages unless a previous run did. Safe to
/// call from parallel test processes: one installs, the others wait on the lock.
pub fn provision() -> Result<PathBuf, MotoError> {
    let home = harness_home();
    let venv = home.join("moto-venv");
    let marker = venv.join(".filechecks-requirements");
    let wanted = REQUIREMENTS.join("\n");
    let io = |what: &'static str| {
        let venv = venv.clone();
        move |source| MotoError::ProvisionIo {
            venv,
            what,
            source: std::sync::Arc::new(source),
        }
    };
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(venv);
    }
    std::fs::create_dir_all(&home).map_err(io("creating the harness's cache directory"))?;
    let lock = std::fs::File::create(home.join("moto-venv.lock")).map_err(io("creating its lock file"))?;
    lock.lock().map_err(io("locking it"))?;
    if std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(venv);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    eprintln!(
        "harness: provisioning moto_server into {} (first run only)…",
        venv.display()
    );
    let status = Command::new(&python)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .stdout(Stdio::null())
        .status()
        .map_err(|_| MotoError::NoPython(python.clone()))?;
    if !status.success() {
        return Err(MotoError::ProvisionCommand {
            venv,
            command: format!("{python} -m venv"),
            status,
            hint: "; on Debian install python3-venv",
        });
    }
    let status = Command::new(venv_python(&venv))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
        ])
        .args(REQUIREMENTS)
        .stdout(Stdio::inherit())
        .status()
        .map_err(io("running pip"))?;
    if !status.success() {
        return Err(MotoError::ProvisionCommand {
            venv,
            command: format!("pip install {}", REQUIREMENTS.join(" ")),
            status,
            hint: "",
        });
    }
    std::fs::write(&marker, wanted).map_err(io("writing its marker"))?;
    eprintln!("harness: moto_server provisioned");
    Ok(venv)
}

/// A running moto_server.
pub struct Moto {
    endpoint: String,
    child: Mutex<Child>,
    _stdin: ChildStdin,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Moto {
    /// Provisions if needed, starts the server and waits for its READY line.
    pub fn start() -> Result<Self, MotoError> {
        let venv = provision()?;
        let mut child = Command::new(venv_python(&venv))
            .args(["-c", LAUNCHER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| MotoError::Start(e.into()))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .map_err(|e| MotoError::Start(e.into()))?;
        let port: u16 = first
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| MotoError::NotReady(first.clone()))?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Mutex::new(child),
            _stdin: stdin,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
