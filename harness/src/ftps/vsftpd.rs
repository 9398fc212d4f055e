//! Debian's vsftpd as a foreground process on loopback, configured like a hardened production
//! server: explicit FTPS required on both channels, `require_ssl_reuse=YES` (the data channel
//! must resume the control channel's TLS session), one TLS version per instance.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pipeline::secret::{FtpsSettings, Password, TlsMode};

use crate::pki::Pki;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

#[derive(Debug, thiserror::Error)]
pub enum VsftpdError {
    #[error("vsftpd not found (looked for $VSFTPD, vsftpd on PATH and /usr/sbin/vsftpd): apt-get install vsftpd")]
    NotInstalled,
    #[error("vsftpd setup: {0}")]
    Io(#[from] std::io::Error),
    #[error("vsftpd setup: {0}")]
    Pki(#[from] crate::pki::PkiError),
    /// A setup command (useradd, chpasswd, chown) failed; its stderr says why.
    #[error("vsftpd setup: {command}: {stderr}")]
    Command { command: String, stderr: String },
    #[error("vsftpd exited with {status}: {output}")]
    Exited {
        status: std::process::ExitStatus,
        output: String,
    },
    #[error("vsftpd did not start: no 220 greeting within 10 s")]
    NoGreeting,
}

pub fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VSFTPD") {
        return Some(PathBuf::from(path));
    }
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|dir| dir.join("vsftpd")).collect())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/vsftpd")])
        .find(|p| p.is_file())
}

/// Why vsftpd tests cannot run on this machine, if they cannot: vsftpd missing, or not root (it
/// authenticates a system user the harness creates). CI installs vsftpd and runs as root.
pub fn unavailable_reason() -> Option<String> {
    match locate() {
        Some(path) if path.is_file() => {}
        _ => return Some(VsftpdError::NotInstalled.to_string()),
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Some("vsftpd tests need root (they create the system user that vsftpd authenticates)".into());
    }
    None
}

/// Skips (returns true) when vsftpd cannot run here, saying why; under CI (`CI` set) that is a
/// failure instead, so a CI machine that lost vsftpd does not pass silently.
pub fn skip_unless_available() -> bool {
    let Some(why) = unavailable_reason() else { return false };
    if crate::under_ci() {
        panic!("{why}");
    }
    eprintln!("skipping: {why}");
    true
}

/// A running vsftpd; killed on drop. Needs root: it authenticates a system user through PAM.
pub struct Vsftpd {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
    pki: Pki,
    user: String,
    password: String,
    mode: TlsMode,
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vsftpd {
    /// Starts vsftpd serving a temp directory to the system user `user` (created if missing,
    /// its password set to `password`).
    /// `mode` says how the control connection becomes TLS: `AUTH TLS` after a plain greeting, or
    /// TLS from the first byte (`implicit_ssl=YES`).
    pub fn start(tls: TlsVersion, mode: TlsMode, user: &str, password: &str) -> Result<Self, VsftpdError> {
        Self::start_with_reuse(tls, mode, user, password, true)
    }

    /// `start`, choosing whether data connections must reuse the control connection's TLS
    /// session (`require_ssl_reuse`). Off only for clients that cannot (rclone 1.60), so that a
    /// benchmark can measure them against the same server.
    pub fn start_with_reuse(
        tls: TlsVersion,
        mode: TlsMode,
        user: &str,
        password: &str,
        require_ssl_reuse: bool,
    ) -> Result<Self, VsftpdError> {
        let binary = locate().ok_or(VsftpdError::NotInstalled)?;
        ensure_user(user, password)?;
        let dir = tempfile::Builder::new().prefix("filechecks-vsftpd-").tempdir()?;
        // The FTP user must traverse the temp dir to reach its root (tempdirs are 0700).
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        let root = dir.path().join("root");
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&empty)?;
        chown(&root, user)?;
        let pki = Pki::generate("filechecks-vsftpd", dir.path())?;
        let port = free_port()?;
        let pasv_min = port_range_start(port);
        // vsftpd 3.0.3 has no per-version switches beyond `ssl_tlsv1`; OpenSSL's own
        // configuration pins the protocol instead.
        let protocol = match tls {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        };
        let openssl_conf = dir.path().join("openssl.cnf");
        std::fs::write(
            &openssl_conf,
            format!(
                "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\n\
                 system_default = system_default_sect\n[system_default_sect]\nMinProtocol = {protocol}\n\
                 MaxProtocol = {protocol}\n"
            ),
        )?;
        let log = dir.path().join("vsftpd.log");
        let config = format!(
            "listen=YES\nlisten_ipv6=NO\nbackground=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\nlocal_root={root}\nchroot_local_user=YES\n\
             allow_writeable_chroot=YES\nseccomp_sandbox=NO\nsecure_chroot_dir={empty}\npam_service_name=vsftpd\n\
             pasv_enable=YES\npasv_min_port={pasv_min}\npasv_max_port={pasv_max}\npasv_address=127.0.0.1\n\
             ssl_enable=YES\nrsa_cert_file={cert}\nrsa_private_key_file={cert}\nforce_local_logins_ssl=YES\n\
             force_local_data_ssl=YES\nrequire_ssl_reuse={reuse}\nssl_ciphers=HIGH\nssl_tlsv1=YES\nssl_sslv2=NO\nssl_sslv3=NO\n\
             implicit_ssl={implicit}\nxferlog_enable=YES\nvsftpd_log_file={log}\nlog_ftp_protocol=YES\ndebug_ssl=YES\n",
            root = root.display(),
            empty = empty.display(),
            cert = pki.combined_path.display(),
            log = log.display(),
            pasv_max = pasv_min + 20,
            implicit = if mode == TlsMode::Implicit { "YES" } else { "NO" },
            reuse = if require_ssl_reuse { "YES" } else { "NO" },
        );
        let conf_path = dir.path().join("vsftpd.conf");
        std::fs::write(&conf_path, config)?;
        // vsftpd reports startup errors on fd 0, so stdin is a pipe we can read back.
        let child = Command::new(binary)
            .arg(&conf_path)
            .env("OPENSSL_CONF", &openssl_conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut server = Self {
            port,
            child,
            dir,
            pki,
            user: user.into(),
            password: password.into(),
            mode,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Ready when the control port greets with 220.
    fn wait_ready(&mut self) -> Result<(), VsftpdError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                let mut err = String::new();
                for pipe in [
                    self.child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read>),
                    self.child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read>),
                ]
                .into_iter()
                .flatten()
                {
                    let mut pipe = pipe;
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut err);
                }
                return Err(VsftpdError::Exited {
                    status,
                    output: err.trim().to_string(),
                });
            }
            if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                // Explicit servers greet in clear; implicit ones accept the connection and wait
                // for a TLS ClientHello, so an accepted connection is the signal there.
                if self.mode == TlsMode::Implicit {
                    return Ok(());
                }
                let mut greeting = [0u8; 3];
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                if std::io::Read::read_exact(&mut &stream, &mut greeting).is_ok() && &greeting == b"220" {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(VsftpdError::NoGreeting);
            }
            // vsftpd prints nothing when it listens: a refused connect is the only signal, and
            // it comes back at once, so pace the retries.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The pipeline's FTPS secret for this server: its CA trusted, its certificate's name.
    pub fn secret(&self) -> FtpsSettings {
        FtpsSettings {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            username: self.user.clone(),
            password: Password::new(self.password.clone()),
            tls_mode: self.mode,
            ca_bundle: Some(self.pki.ca_pem.clone()),
            cert_sha256: None,
            server_name: Some("localhost".into()),
            allowed_paths: Some(vec!["/".into()]),
            allowed_projects: None,
            max_connections: None,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vsftpd.log")).unwrap_or_default()
    }

    /// Writes a file under the served root, owned by the FTP user so it can DELE it.
    pub fn put_file(&self, remote_path: &str, content: &[u8]) -> Result<PathBuf, VsftpdError> {
        let path = self.root().join(remote_path.trim_start_matches('/'));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
            chown(parent, &self.user)?;
        }
        std::fs::write(&path, content)?;
        chown(&path, &self.user)?;
        Ok(path)
    }
}

/// Runs a setup command, feeding it `stdin`; its stderr names the failure.
fn run_with(command: &mut Command, stdin: &str) -> Result<(), VsftpdError> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut pipe = child.stdin.take().expect("stdin is piped");
    std::io::Write::write_all(&mut pipe, stdin.as_bytes())?;
    drop(pipe);
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(VsftpdError::Command {
            command: format!("{command:?}"),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

fn run(command: &mut Command) -> Result<(), VsftpdError> {
    run_with(command, "")
}

fn user_exists(user: &str) -> bool {
    Command::new("id")
        .arg(user)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// vsftpd authenticates system users: the test user is created once, its password set each time.
fn ensure_user(user: &str, password: &str) -> Result<(), VsftpdError> {
    if !user_exists(user) {
        // Parallel tests may race to create it; a second useradd failing is fine if the user exists.
        let created =
            run(Command::new("useradd").args(["--no-create-home", "--home-dir", "/", "--shell", "/bin/bash", user]));
        if !user_exists(user) {
            created?;
        }
    }
    // vsftpd changes into the home directory before `local_root`: it must exist.
    run(Command::new("usermod").args(["--home", "/", user]))?;
    run_with(&mut Command::new("chpasswd"), &format!("{user}:{password}\n"))
}

fn chown(path: &Path, user: &str) -> Result<(), VsftpdError> {
    run(Command::new("chown").arg(user).arg(path))
}

/// vsftpd takes a fixed listen port: ask the OS for a free one and hand it over.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A passive range derived from the control port, so parallel servers rarely share one.
fn port_range_start(control: u16) -> u16 {
    20000 + (control % 20000) / 21 * 21
}
