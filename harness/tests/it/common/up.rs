//! `harness up` as a child process: started, its exports read up to `# ready`, killed on drop.

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};

/// The `export NAME='value'` lines a command (`up`, `sfn serve`) prints up to its `# ready` line.
pub fn exports(stdout: impl BufRead) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(export) = line.strip_prefix("export ") {
            let (name, value) = export.split_once('=').unwrap();
            env.push((name.to_string(), value.trim_matches('\'').to_string()));
        }
        if line.starts_with("# ready") {
            break;
        }
    }
    env
}

/// `harness sfn serve --port 0 ARGS`, as a user starts it: its exports, read up to `# ready`;
/// killed on drop.
pub struct Serve {
    child: Child,
    pub env: Vec<(String, String)>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["sfn", "serve", "--port", "0"])
            .args(args)
            .env_remove("SFN_MOCK_CONFIG")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let env = exports(BufReader::new(child.stdout.take().unwrap()));
        Serve { child, env }
    }
}

pub struct Up {
    child: Child,
    /// The `export NAME='value'` lines it printed.
    pub env: Vec<(String, String)>,
    /// Its stderr, where each finished execution is reported.
    pub stderr: Lines<BufReader<ChildStderr>>,
    _reports: tempfile::TempDir,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Up {
    /// Starts `harness up --ftps-root root` and waits for its `# ready` line.
    pub fn start(root: &Path) -> Up {
        Self::start_with(root, &[])
    }

    /// `start` with more arguments to `up`.
    pub fn start_with(root: &Path, args: &[&str]) -> Up {
        // Its execution reports go to a directory of the test's own, removed with it.
        let reports = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["up", "--ftps-root"])
            .arg(root)
            .arg("--reports")
            .arg(reports.path())
            .args(args)
            .env_remove("AWS_ENDPOINT_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let env = exports(BufReader::new(child.stdout.take().unwrap()));
        let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        Up {
            child,
            env,
            stderr,
            _reports: reports,
        }
    }

    /// Reads stderr up to the first line containing every one of `words`, and returns it.
    pub fn await_line(&mut self, words: &[&str]) -> String {
        self.stderr
            .by_ref()
            .map(|l| l.unwrap())
            .find(|l| words.iter().all(|w| l.contains(w)))
            .unwrap_or_else(|| panic!("`harness up` ended without a line with {words:?}"))
    }

    /// The AWS SDK's configuration for this world, as a user's program would load it.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.var("AWS_ENDPOINT_URL"))
            .region(aws_config::Region::new(self.var("AWS_REGION").to_string()))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{name} in {:?}", self.env))
    }

    /// Runs `harness ARGS` with this world's environment: (exit code, stdout trimmed, stderr).
    pub fn harness(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(args)
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }
}
