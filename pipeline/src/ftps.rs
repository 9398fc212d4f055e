//! An FTPS client session over suppaftp: explicit or implicit TLS, PROT P, binary, EPSV with a
//! PASV fallback that ignores the address the server advertises, timeouts on every step and TCP
//! keep-alive on the control connection so it survives NAT idle timers during long transfers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream, AsyncRustlsStream};
use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode, Status};
use tokio::net::TcpStream;

use crate::error::PipelineError;
use crate::secret::{FtpsSettings, TlsMode};
use crate::tls;

pub type Download = suppaftp::tokio::TransferStream<AsyncRustlsStream>;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP connect and TLS handshake.
    pub connect: Duration,
    /// One control command's reply.
    pub command: Duration,
    /// Silence on the data connection before the transfer is abandoned.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            command: Duration::from_secs(60),
            read: Duration::from_secs(60),
        }
    }
}

/// What a failing command was doing: the same reply code means different things per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Connect,
    Login,
    Size,
    Retrieve,
    Delete,
    Other,
}

/// What identifies a source file between two looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub size: u64,
    /// MDTM as `YYYY-MM-DDTHH:MM:SSZ`; `None` where the server does not implement MDTM.
    pub modified: Option<String>,
}

/// How a server computes a file's digest on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    HashSha256,
    Xsha256,
    SiteMd5,
    Xmd5,
}

/// The algorithm a digest command answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Md5,
}

impl DigestAlgorithm {
    fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Md5 => 32,
        }
    }
}

impl Digest {
    pub fn algorithm(self) -> DigestAlgorithm {
        match self {
            Self::HashSha256 | Self::Xsha256 => DigestAlgorithm::Sha256,
            Self::SiteMd5 | Self::Xmd5 => DigestAlgorithm::Md5,
        }
    }
}

pub struct FtpsSession {
    ftp: AsyncRustlsFtpStream,
    timeouts: Timeouts,
}

/// Keep-alive probes after 60 s of silence: well inside the 350 s NAT/NLB idle timeout.
fn keep_alive(stream: &TcpStream) {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(20))
        .with_retries(4);
    // Best effort: a platform without the option still transfers, it only loses NAT protection.
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

async fn within<T>(
    limit: Duration,
    op: Op,
    what: &str,
    fut: impl Future<Output = Result<T, FtpError>>,
) -> Result<T, PipelineError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(|e| classify(e, op, what)),
        Err(_) => Err(PipelineError::TransientNetwork(format!(
            "{what}: no answer within {} s",
            limit.as_secs()
        ))),
    }
}

impl FtpsSession {
    /// Connects, secures, logs in and switches to binary.
    pub async fn connect(
        settings: &FtpsSettings,
        tls: Arc<ClientConfig>,
        timeouts: Timeouts,
    ) -> Result<Self, PipelineError> {
        let endpoint = format!("{}:{}", settings.host, settings.port());
        let addr = resolve(&endpoint, timeouts.connect).await?;
        let connector = AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(tls));
        let server_name = settings.server_name().to_string();
        let mut ftp = match settings.tls_mode {
            TlsMode::Explicit => {
                let tcp = match tokio::time::timeout(timeouts.connect, TcpStream::connect(addr)).await {
                    Ok(Ok(tcp)) => tcp,
                    Ok(Err(e)) => return Err(classify(FtpError::ConnectionError(e), Op::Connect, &endpoint)),
                    Err(_) => {
                        return Err(PipelineError::TransientNetwork(format!(
                            "connect to {endpoint}: no answer within {} s",
                            timeouts.connect.as_secs()
                        )));
                    }
                };
                keep_alive(&tcp);
                let plain = within(
                    timeouts.command,
                    Op::Connect,
                    &endpoint,
                    AsyncRustlsFtpStream::connect_with_stream(tcp),
                )
                .await?;
                within(
                    timeouts.connect,
                    Op::Connect,
                    &endpoint,
                    plain.into_secure(connector, &server_name),
                )
                .await?
            }
            TlsMode::Implicit => {
                #[allow(deprecated)]
                let mut ftp = within(
                    timeouts.connect + timeouts.command,
                    Op::Connect,
                    &endpoint,
                    AsyncRustlsFtpStream::connect_secure_implicit(addr, connector, &server_name),
                )
                .await?;
                keep_alive(&*ftp.get_ref().await);
                // suppaftp negotiates data protection only for explicit TLS: without PROT P a
                // hardened server refuses clear data connections (vsftpd: 522).
                for command in ["PBSZ 0", "PROT P"] {
                    within(
                        timeouts.command,
                        Op::Connect,
                        command,
                        ftp.custom_command(command, &[Status::CommandOk]),
                    )
                    .await?;
                }
                ftp
            }
        };
        let connect_timeout = timeouts.connect;
        ftp = ftp.passive_stream_builder(move |addr: SocketAddr| {
            Box::pin(async move {
                let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
                    .await
                    .map_err(|_| {
                        FtpError::ConnectionError(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("data connection to {addr} timed out"),
                        ))
                    })?
                    .map_err(FtpError::ConnectionError)?;
                keep_alive(&tcp);
                Ok(tcp)
            })
        });
        // EPSV uses the control connection's address; PASV's advertised address is replaced by it
        // too, because servers behind NAT advertise private addresses the client cannot reach.
        ftp.set_mode(Mode::ExtendedPassive);
        ftp.set_passive_nat_workaround(true);
        within(
            timeouts.command,
            Op::Login,
            &endpoint,
            ftp.login(settings.username.as_str(), settings.password.expose()),
        )
        .await?;
        within(
            timeouts.command,
            Op::Other,
            "TYPE I",
            ftp.transfer_type(FileType::Binary),
        )
        .await?;
        Ok(Self { ftp, timeouts })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The remote file's size in bytes (SIZE, in binary mode).
    pub async fn size(&mut self, path: &str) -> Result<u64, PipelineError> {
        let size = within(self.timeouts.command, Op::Size, path, self.ftp.size(path)).await?;
        Ok(size as u64)
    }

    /// The source as the server describes it now: SIZE and, where the server has it, MDTM.
    /// `RemoteFileNotFound` (the server's 550) when it does not exist.
    pub async fn source(&mut self, path: &str) -> Result<SourceState, PipelineError> {
        let size = self.size(path).await?;
        let modified = match tokio::time::timeout(self.timeouts.command, self.ftp.mdtm(path)).await {
            // RFC 3659: MDTM is UTC.
            Ok(Ok(at)) => Some(format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S"))),
            // 500-504: the server has no MDTM; SIZE is all there is to compare.
            Ok(Err(FtpError::UnexpectedResponse(reply))) if matches!(reply.status.code(), 500..=504) => None,
            Ok(Err(e)) => return Err(classify(e, Op::Size, path)),
            Err(_) => {
                return Err(PipelineError::TransientNetwork(format!(
                    "MDTM {path}: no answer within {} s",
                    self.timeouts.command.as_secs()
                )));
            }
        };
        Ok(SourceState { size, modified })
    }

    /// The content digest the server computes of a file, if FEAT offers one: `HASH` with
    /// SHA-256 (draft-bryan-ftpext-hash, proftpd's mod_digest), `XSHA256`, else `SITE MD5`
    /// (libunftp) or `XMD5`. vsftpd offers none. A server that does not answer FEAT offers none.
    pub async fn digest_offered(&mut self) -> Option<Digest> {
        let features = tokio::time::timeout(self.timeouts.command, self.ftp.feat())
            .await
            .ok()?
            .ok()?;
        let has = |name: &str| features.keys().any(|k| k.eq_ignore_ascii_case(name));
        let value_of = |name: &str| {
            features
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.clone())
                .unwrap_or_default()
                .to_ascii_uppercase()
        };
        if value_of("HASH")
            .split(';')
            .any(|a| a.trim_end_matches('*') == "SHA-256")
        {
            Some(Digest::HashSha256)
        } else if has("XSHA256") {
            Some(Digest::Xsha256)
        } else if value_of("SITE").split_whitespace().any(|c| c == "MD5") {
            Some(Digest::SiteMd5)
        } else if has("XMD5") {
            Some(Digest::Xmd5)
        } else {
            None
        }
    }

    /// The server's digest of `path` (`size` bytes), lowercase hex.
    pub async fn digest(&mut self, path: &str, size: u64, digest: Digest) -> Result<String, PipelineError> {
        if digest == Digest::HashSha256 {
            within(
                self.timeouts.command,
                Op::Other,
                "OPTS HASH SHA-256",
                self.ftp.custom_command("OPTS HASH SHA-256", &[Status::CommandOk]),
            )
            .await?;
        }
        let command = match digest {
            Digest::HashSha256 => format!("HASH {path}"),
            Digest::Xsha256 => format!("XSHA256 {path}"),
            Digest::SiteMd5 => format!("SITE MD5 {path}"),
            Digest::Xmd5 => format!("XMD5 {path}"),
        };
        // The server reads the whole file first: the read timeout, plus a second per 20 MiB.
        let reading = Duration::from_secs(size / (20 * 1024 * 1024));
        let reply = within(
            self.timeouts.read.max(self.timeouts.command) + reading,
            Op::Size,
            path,
            self.ftp.custom_command(
                &command,
                &[Status::File, Status::RequestedFileActionOk, Status::CommandOk],
            ),
        )
        .await?;
        let text = String::from_utf8_lossy(&reply.body).to_string();
        let hex_len = digest.algorithm().hex_len();
        text.split_whitespace()
            .map(|t| t.trim_matches(|c: char| !c.is_ascii_hexdigit()))
            .find(|t| t.len() == hex_len && t.chars().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| PipelineError::RemoteRejected(format!("{command}: no {hex_len}-digit digest in {text:?}")))
    }

    /// RNFR `from`, RNTO `to`. Any refusal is `RemoteRejected` (or transient for a 4xx): the
    /// caller looks at the files to learn why.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), PipelineError> {
        within(self.timeouts.command, Op::Other, from, self.ftp.rename(from, to)).await
    }

    /// Whether the server takes `REST` (asked with `REST 0`, which changes nothing): 350.
    pub async fn supports_rest(&mut self) -> Result<bool, PipelineError> {
        match within(
            self.timeouts.command,
            Op::Other,
            "REST 0",
            self.ftp.custom_command("REST 0", &[Status::RequestFilePending]),
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(PipelineError::RemoteRejected(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Opens the download of `path` from byte `offset` (REST before RETR).
    pub async fn retrieve_from(&mut self, path: &str, offset: u64) -> Result<Download, PipelineError> {
        within(
            self.timeouts.command,
            Op::Retrieve,
            path,
            self.ftp.resume_transfer(offset as usize),
        )
        .await?;
        within(self.timeouts.command, Op::Retrieve, path, self.ftp.retr_as_stream(path)).await
    }

    /// Opens the download of `path`. Falls back from EPSV to PASV once if the server rejects EPSV.
    pub async fn retrieve(&mut self, path: &str) -> Result<Download, PipelineError> {
        match tokio::time::timeout(self.timeouts.command, self.ftp.retr_as_stream(path)).await {
            Ok(Err(FtpError::UnexpectedResponse(reply))) if matches!(reply.status.code(), 500..=502) => {
                self.ftp.set_mode(Mode::Passive);
                within(self.timeouts.command, Op::Retrieve, path, self.ftp.retr_as_stream(path)).await
            }
            Ok(result) => result.map_err(|e| classify(e, Op::Retrieve, path)),
            Err(_) => Err(PipelineError::TransientNetwork(format!(
                "RETR {path}: no answer within {} s",
                self.timeouts.command.as_secs()
            ))),
        }
    }

    /// Closes the data connection and reads the server's transfer reply: a short read only shows
    /// up here (e.g. vsftpd's 522 when TLS session reuse fails), so this must succeed.
    pub async fn finish(&mut self, download: Download, path: &str) -> Result<(), PipelineError> {
        within(self.timeouts.command, Op::Retrieve, path, download.finish()).await
    }

    pub async fn delete(&mut self, path: &str) -> Result<(), PipelineError> {
        within(self.timeouts.command, Op::Delete, path, self.ftp.rm(path)).await
    }

    /// Polite goodbye; failures are irrelevant once the work is done.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.ftp.quit()).await;
    }
}

async fn resolve(endpoint: &str, limit: Duration) -> Result<SocketAddr, PipelineError> {
    let lookup = tokio::time::timeout(limit, tokio::net::lookup_host(endpoint.to_string()))
        .await
        .map_err(|_| PipelineError::TransientNetwork(format!("resolving {endpoint} timed out")))?
        .map_err(|e| PipelineError::TransientNetwork(format!("resolving {endpoint}: {e}")))?;
    lookup
        .into_iter()
        .next()
        .ok_or_else(|| PipelineError::TransientNetwork(format!("{endpoint} resolves to no address")))
}

/// Whether a refusal's text speaks of load rather than credentials.
fn says_busy(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "too many",
        "maximum number",
        "max number",
        "connection limit",
        "try again later",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

/// Names an FTP failure by reply code and by what the command was doing.
fn classify(err: FtpError, op: Op, what: &str) -> PipelineError {
    match err {
        FtpError::UnexpectedResponse(reply) => {
            let code = reply.status.code();
            // The reply body is the whole line, code included; show the code once.
            let body = String::from_utf8_lossy(&reply.body);
            let body = body.trim();
            let body = body
                .strip_prefix(&code.to_string())
                .map(str::trim_start)
                .unwrap_or(body);
            let text = format!("{what}: {code} {body}");
            match (code, op) {
                (421, _) => PipelineError::TooManyConnections(text),
                // Servers that count sessions per account say so with 530 ("Sorry, the maximum
                // number of clients…", "too many connections"): busy, not a bad password.
                (530, _) if says_busy(body) => PipelineError::TooManyConnections(text),
                (530, _) => PipelineError::FtpsAuthFailed(text),
                (550, Op::Size | Op::Retrieve) => PipelineError::RemoteFileNotFound(text),
                // 4xx is "not now" (450: busy): the retry finds the landing recorded and deletes.
                (400..=499, Op::Delete) => PipelineError::TransientNetwork(text),
                (_, Op::Delete) => PipelineError::RemoteDeleteFailed(text),
                (400..=499, _) => PipelineError::TransientNetwork(text),
                _ => PipelineError::RemoteRejected(text),
            }
        }
        FtpError::SecureError(message) => tls::classify_handshake(&format!("{what}: {message}")),
        FtpError::ConnectionError(e) => PipelineError::TransientNetwork(format!("{what}: {e}")),
        other => PipelineError::TransientNetwork(format!("{what}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suppaftp::types::Response;

    fn reply(code: u32, body: &str) -> FtpError {
        FtpError::UnexpectedResponse(Response::new(Status::from(code), format!("{code} {body}").into_bytes()))
    }

    #[test]
    fn a_530_about_load_is_busy_not_a_bad_password() {
        for busy in [
            "Sorry, the maximum number of clients (2) from your host are already connected.",
            "Too many connections, try again later",
            "Login failed: connection limit reached",
        ] {
            let err = classify(reply(530, busy), Op::Login, "login");
            assert_eq!(err.name(), "TooManyConnections", "{busy}");
        }
        let err = classify(reply(530, "Login incorrect."), Op::Login, "login");
        assert_eq!(err.name(), "FtpsAuthFailed");
        assert_eq!(
            classify(reply(421, "busy"), Op::Connect, "c").name(),
            "TooManyConnections"
        );
    }

    /// A 4xx reply to DELE is the server's "not now" (450: the file is busy): retried with the
    /// other transient failures. A 5xx is its refusal, named and not retried.
    #[test]
    fn a_transient_reply_to_dele_is_retried() {
        let busy = classify(reply(450, "File busy"), Op::Delete, "DELE /in/a");
        assert_eq!(busy.name(), "TransientNetwork");
        let refused = classify(reply(550, "Permission denied"), Op::Delete, "DELE /in/a");
        assert_eq!(refused.name(), "RemoteDeleteFailed");
    }
}
