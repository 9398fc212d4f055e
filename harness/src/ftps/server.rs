//! An in-process FTPS server (libunftp over a temp directory) with fault injection.
//!
//! Explicit FTPS only (libunftp has no implicit mode), TLS required on control and data
//! channels, TLS 1.2 and 1.3, passive data ports bound on loopback port 0, control port 0.
//! Faults are switched at run time through `Faults`, shared with the storage backend.

use std::fmt::Debug;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::SystemTime;

use async_trait::async_trait;
use libunftp::ServerBuilder;
use libunftp::options::{Binder, FtpsRequired, TlsFlags};
use pipeline::secret::{FtpsSettings, Password, TlsMode};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket};
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, DefaultUser, Principal};
use unftp_core::storage::{self, Fileinfo, Metadata, StorageBackend};
use unftp_sbe_fs::{Filesystem, Meta};

use super::fault::{Faults, FtpsFault, SourceChange};
use crate::pki::{Pki, PkiError};

#[derive(Debug, thiserror::Error)]
pub enum FtpsServerError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("FTPS server I/O: {0}")]
    Io(#[from] io::Error),
    #[error("FTPS server configuration: {0}")]
    Config(String),
}

/// A running server; stops when dropped.
pub struct FtpsServer {
    addr: SocketAddr,
    root: PathBuf,
    pki: Pki,
    faults: Arc<Faults>,
    sessions: Arc<Sessions>,
    downloads: tokio::sync::broadcast::Sender<Arc<DownloadProgress>>,
    username: String,
    password: String,
    log: super::SessionLog,
    _dirs: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FtpsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FtpsServer {
    /// Starts a server for `username`/`password` serving `root` (an existing directory), or a fresh
    /// temp directory.
    pub async fn start(username: &str, password: &str, root: Option<&Path>) -> Result<Self, FtpsServerError> {
        let dirs = tempfile::Builder::new().prefix("filechecks-ftps-").tempdir()?;
        let root = match root {
            Some(dir) => dir.canonicalize()?,
            None => dirs.path().join("root"),
        };
        let tls_dir = dirs.path().join("tls");
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(&tls_dir)?;
        let pki = Pki::generate("filechecks-ftps", &tls_dir)?;
        let faults = Arc::new(Faults::default());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;

        let (downloads, _) = tokio::sync::broadcast::channel(256);
        let log = super::SessionLog::default();
        let make_server = {
            let log = log.clone();
            let secret = password.to_string();
            let downloads: tokio::sync::broadcast::Sender<Arc<DownloadProgress>> = downloads.clone();
            let root = root.clone();
            let faults = faults.clone();
            let credentials = Arc::new(FixedCredentials {
                username: username.into(),
                password: password.into(),
            });
            let (cert, key) = (pki.cert_path.clone(), pki.key_path.clone());
            move |session: usize| {
                let root = root.clone();
                let faults = faults.clone();
                let downloads = downloads.clone();
                ServerBuilder::with_authenticator(
                    Box::new(move || FaultyFs {
                        downloads: downloads.clone(),
                        inner: Filesystem::new(&root).expect("the server root exists"),
                        root: root.clone(),
                        faults: faults.clone(),
                    }),
                    credentials.clone(),
                )
                .greeting("filechecks test FTPS server")
                .ftps(cert.clone(), key.clone())
                .ftps_required(FtpsRequired::All, FtpsRequired::All)
                .ftps_tls_flags(TlsFlags::LATEST_VERSIONS | TlsFlags::RESUMPTION_SESS_ID | TlsFlags::RESUMPTION_TICKETS)
                .binder(LoopbackPort0)
                .logger(log.logger(session, &secret))
                .build()
            }
        };
        // Fail now, not on the first connection, if the configuration is wrong.
        make_server(0).map_err(|e| FtpsServerError::Config(e.to_string()))?;
        // libunftp's own listener needs a fixed port; accepting ourselves keeps port 0.
        let accept_faults = faults.clone();
        let sessions = Arc::new(Sessions::default());
        let accept_sessions = sessions.clone();
        let task = tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok((mut stream, _)) = listener.accept().await {
                accepted += 1;
                if accept_faults.take_reject_connection(accept_sessions.open()) {
                    use tokio::io::AsyncWriteExt;
                    accept_sessions.refused.fetch_add(1, Ordering::SeqCst);
                    let _ = stream
                        .write_all(b"421 Too many connections, try again later.\r\n")
                        .await;
                    continue;
                }
                let Ok(server) = make_server(accepted) else { continue };
                let session = accept_sessions.begin();
                tokio::spawn(async move {
                    // libunftp serves a TcpStream: give it the far end of a loopback pair and
                    // relay, so the relay can hold the client's TLS ClientHello (see below).
                    let Ok(inner) = TcpListener::bind("127.0.0.1:0").await else {
                        return;
                    };
                    let Ok(addr) = inner.local_addr() else { return };
                    let (Ok(near), Ok((far, _))) = tokio::join!(tokio::net::TcpStream::connect(addr), inner.accept())
                    else {
                        return;
                    };
                    tokio::spawn(async move {
                        let _ = server.service(far).await;
                    });
                    super::relay::relay_control(stream, near, session).await;
                });
            }
        });
        Ok(Self {
            addr,
            root,
            pki,
            faults,
            sessions,
            downloads,
            username: username.into(),
            password: password.into(),
            log,
            _dirs: dirs,
            task,
        })
    }

    /// Every session's control-channel commands and replies so far (the password masked).
    pub fn session_log(&self) -> Vec<super::SessionLine> {
        self.log.lines()
    }

    /// The sessions that named `path` (a job's remote path), as `session_log` shows them.
    pub fn sessions_about(&self, path: &str) -> Vec<super::SessionLine> {
        self.log.sessions_about(path)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory served as `/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// Arms faults (see `FtpsFault`); those not named keep their state.
    pub fn inject(&self, faults: &[FtpsFault]) {
        self.faults.apply(faults);
    }

    /// The offsets downloads were restarted at (REST), in order.
    pub fn rest_offsets(&self) -> Vec<u64> {
        self.faults.rest_offsets()
    }

    /// Each download as it begins, with its live progress.
    pub fn downloads(&self) -> tokio::sync::broadcast::Receiver<Arc<DownloadProgress>> {
        self.downloads.subscribe()
    }

    /// The most sessions the server served at once so far.
    pub fn peak_sessions(&self) -> usize {
        self.sessions.peak.load(Ordering::SeqCst)
    }

    /// Connections greeted with 421 and closed so far.
    pub fn refused_sessions(&self) -> usize {
        self.sessions.refused.load(Ordering::SeqCst)
    }

    /// Bytes of files sent so far, all downloads together.
    pub fn bytes_sent(&self) -> tokio::sync::watch::Receiver<u64> {
        self.faults.bytes_sent()
    }

    /// Waits until the server has begun sending a file.
    pub async fn download_started(&self) {
        self.faults.download_started().await;
    }

    /// The remote paths a `change_source_after_download` fault changed, in order.
    pub fn changed_sources(&self) -> Vec<String> {
        self.faults.changed_sources()
    }

    /// Writes a file under the served root (`remote_path` is absolute, as in a job), last
    /// modified an hour ago: a producer's file, written before its job was triggered (the
    /// pipeline lets SIZE and MDTM vouch for a file only once its MDTM is older than the read).
    pub fn put_file(&self, remote_path: &str, content: &[u8]) -> io::Result<PathBuf> {
        let path = self.local_path(remote_path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(SystemTime::now() - std::time::Duration::from_secs(3600))?;
        Ok(path)
    }

    /// Where a remote path lives on disk.
    pub fn local_path(&self, remote_path: &str) -> PathBuf {
        self.root.join(remote_path.trim_start_matches('/'))
    }

    /// The pipeline's FTPS secret for this server: its CA is the one trusted.
    pub fn secret(&self) -> FtpsSettings {
        FtpsSettings {
            host: "127.0.0.1".into(),
            port: Some(self.addr.port()),
            username: self.username.clone(),
            password: Password::new(self.password.clone()),
            tls_mode: TlsMode::Explicit,
            ca_bundle: Some(self.pki.ca_pem.clone()),
            cert_sha256: None,
            server_name: None,
            allowed_paths: Some(vec!["/".into()]),
            allowed_projects: None,
            max_connections: None,
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }
}

/// The server's count of the sessions it serves, as a per-account limit counts them.
#[derive(Debug, Default)]
struct Sessions {
    open: AtomicUsize,
    peak: AtomicUsize,
    refused: AtomicUsize,
}

impl Sessions {
    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    fn begin(self: &Arc<Self>) -> Session {
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(open, Ordering::SeqCst);
        Session(self.clone())
    }
}

/// One served session; it ends when dropped.
#[derive(Debug)]
pub(crate) struct Session(Arc<Sessions>);

impl Drop for Session {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

struct FixedCredentials {
    username: String,
    password: String,
}

/// libunftp logs its whole configuration, the authenticator included: never the password.
impl Debug for FixedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[async_trait]
impl Authenticator for FixedCredentials {
    async fn authenticate(&self, username: &str, creds: &Credentials) -> Result<Principal, AuthenticationError> {
        if username != self.username {
            return Err(AuthenticationError::BadUser);
        }
        if creds.password.as_deref() != Some(self.password.as_str()) {
            return Err(AuthenticationError::BadPassword);
        }
        Ok(Principal {
            username: username.to_string(),
        })
    }
}

/// Binds passive data listeners on an ephemeral loopback port, never a fixed range.
#[derive(Debug)]
struct LoopbackPort0;

#[async_trait]
impl Binder for LoopbackPort0 {
    async fn bind(&mut self, local_addr: IpAddr, _ports: RangeInclusive<u16>) -> io::Result<TcpSocket> {
        let socket = if local_addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(local_addr, 0))?;
        Ok(socket)
    }
}

/// The filesystem backend with faults.
#[derive(Debug)]
struct FaultyFs {
    /// Each download as it begins.
    downloads: tokio::sync::broadcast::Sender<Arc<DownloadProgress>>,
    inner: Filesystem,
    root: PathBuf,
    faults: Arc<Faults>,
}

#[derive(Debug)]
pub struct FaultyMeta {
    inner: Meta,
    delta: i64,
}

impl Metadata for FaultyMeta {
    fn len(&self) -> u64 {
        self.inner
            .len()
            .saturating_add_signed(if self.inner.is_file() { self.delta } else { 0 })
    }
    fn is_dir(&self) -> bool {
        self.inner.is_dir()
    }
    fn is_file(&self) -> bool {
        self.inner.is_file()
    }
    fn is_symlink(&self) -> bool {
        self.inner.is_symlink()
    }
    fn modified(&self) -> storage::Result<SystemTime> {
        self.inner.modified()
    }
    fn gid(&self) -> u32 {
        self.inner.gid()
    }
    fn uid(&self) -> u32 {
        self.inner.uid()
    }
}

impl FaultyFs {
    fn meta(&self, inner: Meta) -> FaultyMeta {
        FaultyMeta {
            inner,
            delta: self.faults.size_delta(),
        }
    }
}

#[async_trait]
impl StorageBackend<DefaultUser> for FaultyFs {
    type Metadata = FaultyMeta;

    fn supported_features(&self) -> u32 {
        let features = StorageBackend::<DefaultUser>::supported_features(&self.inner);
        if self.faults.refuse_rest() {
            features & !unftp_core::storage::FEATURE_RESTART
        } else {
            features
        }
    }

    /// `SITE MD5`, which FEAT offers: the file's digest as it is on disk, read straight from the
    /// file system (not through `get`, which a download's faults and counters watch).
    async fn md5<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> storage::Result<String> {
        self.inner.md5(user, path).await
    }

    async fn metadata<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> storage::Result<FaultyMeta> {
        Ok(self.meta(self.inner.metadata(user, path).await?))
    }

    async fn list<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> storage::Result<Vec<Fileinfo<PathBuf, FaultyMeta>>> {
        let entries = self.inner.list(user, path).await?;
        Ok(entries
            .into_iter()
            .map(|e| Fileinfo {
                path: e.path,
                metadata: self.meta(e.metadata),
            })
            .collect())
    }

    async fn get<P: AsRef<Path> + Send + Debug>(
        &self,
        user: &DefaultUser,
        path: P,
        start_pos: u64,
    ) -> storage::Result<Box<dyn AsyncRead + Send + Sync + Unpin>> {
        if self.faults.take_fail_retrieve() {
            return Err(storage::Error::from(storage::ErrorKind::LocalError));
        }
        let delay = self.faults.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let local = self.root.join(path.as_ref().strip_prefix("/").unwrap_or(path.as_ref()));
        let progress = Arc::new(DownloadProgress {
            path: format!(
                "/{}",
                path.as_ref().strip_prefix("/").unwrap_or(path.as_ref()).display()
            ),
            offset: start_pos,
            size: std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0),
            sent: AtomicU64::new(0),
            done: false.into(),
        });
        let reader: Box<dyn AsyncRead + Send + Sync + Unpin> = Box::new(Counted {
            reader: self.inner.get(user, path, start_pos).await?,
            faults: self.faults.clone(),
            progress: progress.clone(),
        });
        let remote = progress.path.clone();
        let _ = self.downloads.send(progress);
        self.faults.download_begun();
        if start_pos > 0 {
            self.faults.restarted_at(start_pos);
        }
        let stall = self.faults.take_stall();
        let (pause, rate) = (self.faults.take_pause(), self.faults.bytes_per_second());
        let reader: Box<dyn AsyncRead + Send + Sync + Unpin> = if pause.is_some() || rate.is_some() {
            Box::new(Shaped::new(reader, pause, rate))
        } else {
            reader
        };
        Ok(match self.faults.take_drop() {
            Some(limit) => Box::new(reader.take(limit).chain(ResetConnection)),
            None if stall > 0 => Box::new(reader.take(stall).chain(Stalled)),
            None => match self.faults.take_source_change() {
                Some(change) => Box::new(ChangeAtEof {
                    reader,
                    change: Some((change, local)),
                    remote,
                    faults: self.faults.clone(),
                }),
                None => reader,
            },
        })
    }

    async fn put<P: AsRef<Path> + Send + Debug, R: AsyncRead + Send + Sync + Unpin + 'static>(
        &self,
        user: &DefaultUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> storage::Result<u64> {
        self.inner.put(user, input, path, start_pos).await
    }

    async fn del<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> storage::Result<()> {
        if self.faults.refuse_delete() {
            return Err(storage::Error::from(storage::ErrorKind::PermissionDenied));
        }
        self.inner.del(user, path).await
    }

    async fn mkd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> storage::Result<()> {
        self.inner.mkd(user, path).await
    }

    async fn rename<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, from: P, to: P) -> storage::Result<()> {
        self.inner.rename(user, from, to).await
    }

    async fn rmd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> storage::Result<()> {
        self.inner.rmd(user, path).await
    }

    async fn cwd<P: AsRef<Path> + Send + Debug>(&self, user: &DefaultUser, path: P) -> storage::Result<()> {
        self.inner.cwd(user, path).await
    }
}

/// One download as the server sends it: what a progress bar shows.
#[derive(Debug)]
pub struct DownloadProgress {
    pub path: String,
    /// Where it started (REST), and the file's size then.
    pub offset: u64,
    pub size: u64,
    sent: AtomicU64,
    done: std::sync::atomic::AtomicBool,
}

impl DownloadProgress {
    /// The file's bytes sent so far, the offset included.
    pub fn position(&self) -> u64 {
        self.offset + self.sent.load(Ordering::Relaxed)
    }

    /// The download has ended (completed, dropped or abandoned).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }
}

/// A download that reports the bytes it reads (`Faults::bytes_sent`, its `DownloadProgress`).
struct Counted {
    reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
    faults: Arc<Faults>,
    progress: Arc<DownloadProgress>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.progress.done.store(true, Ordering::Relaxed);
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.reader).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.faults.sent(read as u64);
            self.progress.sent.fetch_add(read as u64, Ordering::Relaxed);
        }
        poll
    }
}

/// A download that changes its file once the last byte has been read (before the 226).
struct ChangeAtEof {
    reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
    change: Option<(SourceChange, PathBuf)>,
    /// The file's remote path, recorded once the change is made.
    remote: String,
    faults: Arc<Faults>,
}

impl AsyncRead for ChangeAtEof {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let filled = buf.filled().len();
        let poll = Pin::new(&mut self.reader).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(())))
            && buf.filled().len() == filled
            && let Some((change, path)) = self.change.take()
        {
            match change.apply(&path) {
                Ok(()) => self.faults.changed(&self.remote),
                Err(e) => tracing::error!(path = %path.display(), "injected source change failed: {e}"),
            }
        }
        poll
    }
}

/// A download shaped in time: held still for a while once some bytes have gone (`pause`),
/// and/or sent at most `rate` bytes a second.
struct Shaped {
    reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
    /// After how many bytes to pause, and for how long (once).
    pause: Option<(u64, std::time::Duration)>,
    rate: Option<u64>,
    started: tokio::time::Instant,
    sent: u64,
    sleeping: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Shaped {
    fn new(
        reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
        pause: Option<(u64, std::time::Duration)>,
        rate: Option<u64>,
    ) -> Self {
        Self {
            reader,
            pause,
            rate,
            started: tokio::time::Instant::now(),
            sent: 0,
            sleeping: None,
        }
    }
}

impl AsyncRead for Shaped {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(sleeping) = &mut this.sleeping {
            if sleeping.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleeping = None;
        }
        if let Some((at, pause)) = this.pause
            && this.sent >= at
        {
            this.pause = None;
            this.sleeping = Some(Box::pin(tokio::time::sleep(pause)));
            return self.poll_read(cx, buf);
        }
        // Never past the pause point, nor more than a 64 KiB step of the rate, in one read (a
        // copy: only shaped downloads pay it).
        let mut room = buf.remaining().min(64 * 1024);
        if let Some((at, _)) = this.pause {
            room = room.min(usize::try_from(at - this.sent).unwrap_or(usize::MAX));
        }
        let mut bytes = vec![0; room];
        let mut limited = ReadBuf::new(&mut bytes);
        let poll = Pin::new(&mut this.reader).poll_read(cx, &mut limited);
        let read = limited.filled().len();
        buf.put_slice(limited.filled());
        this.sent += read as u64;
        if let Some(rate) = this.rate.filter(|r| *r > 0) {
            let due = this.started + std::time::Duration::from_secs_f64(this.sent as f64 / rate as f64);
            if due > tokio::time::Instant::now() {
                this.sleeping = Some(Box::pin(tokio::time::sleep_until(due)));
            }
        }
        poll
    }
}

/// Never yields a byte nor closes: a server that hangs mid-transfer.
struct Stalled;

impl AsyncRead for Stalled {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Poll::Pending
    }
}

/// Fails every read the way a reset connection does; chained after a file's first bytes.
struct ResetConnection;

impl AsyncRead for ResetConnection {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "injected fault: data connection dropped",
        )))
    }
}
