//! An FTPS server the harness does not run (a staging server, a vsftpd): scenarios replay
//! against it after the harness uploads their remote files there. Built from
//! `ftps://USER:PASS@HOST:PORT`, with implicit TLS and a CA file as options.

use std::path::Path;
use std::sync::Arc;

use pipeline::secret::{FtpsSettings, Password, TlsMode};
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
use suppaftp::types::FileType;
use suppaftp::{Mode, Status};

#[derive(Debug, thiserror::Error)]
pub enum ExternalFtpsError {
    #[error("--ftps-url {0}")]
    Url(String),
    #[error("reading the CA file {path}: {source}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("external FTPS server: {0}")]
    Ftp(#[from] suppaftp::FtpError),
    #[error("external FTPS server: {remote_path}: {source}")]
    File {
        remote_path: String,
        #[source]
        source: suppaftp::FtpError,
    },
    #[error("external FTPS server: TLS: {0}")]
    Tls(#[source] pipeline::PipelineError),
    #[error("reading {path}: {source}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct ExternalFtps {
    /// The pipeline's secret for this server.
    settings: FtpsSettings,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` fit to print: whatever stands before the last `@` (the user and the password) is hidden.
fn redacted(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((before, host)) => {
            let scheme = before.find("://").map_or("", |i| &before[..i + 3]);
            format!("{scheme}USER:***@{host}")
        }
        None => url.to_string(),
    }
}

impl ExternalFtps {
    /// `ftps://USER:PASS@HOST[:PORT]` (user and password percent-decoded).
    pub fn from_url(
        url: &str,
        implicit: bool,
        ca_file: Option<&Path>,
        server_name: Option<&str>,
    ) -> Result<Self, ExternalFtpsError> {
        let rest = url
            .strip_prefix("ftps://")
            .ok_or_else(|| ExternalFtpsError::Url(format!("{:?} does not start with ftps://", redacted(url))))?;
        let (credentials, host_port) = rest
            .rsplit_once('@')
            .ok_or_else(|| ExternalFtpsError::Url("needs USER:PASS@ before the host".into()))?;
        let (user, password) = credentials
            .split_once(':')
            .ok_or_else(|| ExternalFtpsError::Url("needs USER:PASS (a colon between them)".into()))?;
        let host_port = host_port.trim_end_matches('/');
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                Some(
                    p.parse::<u16>()
                        .map_err(|_| ExternalFtpsError::Url(format!("port {p:?} is not a number")))?,
                ),
            ),
            None => (host_port.to_string(), None),
        };
        let ca_bundle = match ca_file {
            Some(path) => Some(
                std::fs::read_to_string(path).map_err(|source| ExternalFtpsError::CaFile {
                    path: path.display().to_string(),
                    source,
                })?,
            ),
            None => None,
        };
        let settings = FtpsSettings {
            host,
            port,
            username: percent_decode(user),
            password: Password::new(percent_decode(password)),
            tls_mode: if implicit { TlsMode::Implicit } else { TlsMode::Explicit },
            ca_bundle,
            cert_sha256: None,
            server_name: server_name.map(str::to_string),
            allowed_paths: Some(vec!["/".into()]),
            allowed_projects: None,
            max_connections: None,
        };
        if settings.host.trim().is_empty() {
            return Err(ExternalFtpsError::Url("has no host".into()));
        }
        Ok(Self { settings })
    }

    /// The pipeline's secret for this server.
    pub fn secret(&self) -> &FtpsSettings {
        &self.settings
    }

    async fn connect(&self) -> Result<AsyncRustlsFtpStream, ExternalFtpsError> {
        let fail = ExternalFtpsError::Ftp;
        let tls = pipeline::tls::client_config(&self.settings).map_err(ExternalFtpsError::Tls)?;
        let connector = AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(Arc::clone(&tls)));
        let address = format!("{}:{}", self.settings.host, self.settings.port());
        let mut ftp = match self.settings.tls_mode {
            TlsMode::Explicit => {
                let plain = AsyncRustlsFtpStream::connect(&address).await.map_err(fail)?;
                plain
                    .into_secure(connector, self.settings.server_name())
                    .await
                    .map_err(fail)?
            }
            TlsMode::Implicit => {
                #[allow(deprecated)]
                let mut ftp =
                    AsyncRustlsFtpStream::connect_secure_implicit(&address, connector, self.settings.server_name())
                        .await
                        .map_err(fail)?;
                for command in ["PBSZ 0", "PROT P"] {
                    ftp.custom_command(command, &[Status::CommandOk]).await.map_err(fail)?;
                }
                ftp
            }
        };
        ftp.set_mode(Mode::ExtendedPassive);
        ftp.login(self.settings.username.as_str(), self.settings.password.expose())
            .await
            .map_err(fail)?;
        ftp.transfer_type(FileType::Binary).await.map_err(fail)?;
        Ok(ftp)
    }

    /// Uploads a local file to `remote_path`, creating its directories.
    pub async fn upload(&self, local: &Path, remote_path: &str) -> Result<(), ExternalFtpsError> {
        let fail = |source| ExternalFtpsError::File {
            remote_path: remote_path.to_string(),
            source,
        };
        let mut ftp = self.connect().await?;
        let mut dir = String::new();
        let parents: Vec<&str> = remote_path.trim_start_matches('/').split('/').collect();
        for segment in &parents[..parents.len().saturating_sub(1)] {
            dir.push('/');
            dir.push_str(segment);
            // Existing directories answer 550: only the final upload's result matters.
            let _ = ftp.mkdir(&dir).await;
        }
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|source| ExternalFtpsError::Local {
                path: local.display().to_string(),
                source,
            })?;
        ftp.put_file(remote_path, &mut file).await.map_err(fail)?;
        let _ = ftp.quit().await;
        Ok(())
    }

    /// Whether `remote_path` exists on the server (SIZE answers).
    pub async fn exists(&self, remote_path: &str) -> Result<bool, ExternalFtpsError> {
        let mut ftp = self.connect().await?;
        let found = ftp.size(remote_path).await.is_ok();
        let _ = ftp.quit().await;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mistyped URL is named in the error, its password never (the error reaches the terminal,
    /// CI logs and reports).
    #[test]
    fn a_bad_url_is_named_without_its_password() {
        for url in [
            "ftp://ops:s3cr3t-pw@ftp.example.net:21",
            "ftps//ops:s3cr3t-pw@ftp.example.net",
            "ftps://ops:s3cr3t-pw@ftp.example.net:port",
            "ftps://ops:s3cr3t-pw@host@ftp.example.net:99999",
        ] {
            let err = ExternalFtps::from_url(url, false, None, None).unwrap_err().to_string();
            assert!(!err.contains("s3cr3t"), "{url}: {err}");
            assert!(err.starts_with("--ftps-url "), "{err}");
        }
        let err = ExternalFtps::from_url("ftp://ops:s3cr3t-pw@ftp.example.net:21", false, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ftp.example.net:21") && err.contains("ftps://"), "{err}");
    }
}
