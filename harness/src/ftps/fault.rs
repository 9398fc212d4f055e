//! The in-process FTPS server's faults: `FtpsFault`, which a scenario's `faults:` map names
//! among AWS's and Lambda's (`crate::fault::Fault`); the server arms them in `Faults` and its
//! hooks (`server.rs`) consult them. A new FTPS fault is one variant here (the compiler then asks
//! for its arming in `Faults::apply`) and one hook in the server.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::times::Times;

/// One fault of the FTPS server, named in scenario files by its snake_case name
/// (`drop_after_bytes: 1048576`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FtpsFault {
    /// Close the data connection after this many bytes of a download (0 = off)…
    DropAfterBytes(u64),
    /// …for this many downloads (default 1, or `always`).
    DropTimes(Times),
    /// Stop sending, without closing, after this many bytes of a download (0 = off): a hung
    /// server, for read timeouts…
    StallAfterBytes(u64),
    /// …for this many downloads (default `always`).
    StallTimes(Times),
    /// Added to every file's size as SIZE and LIST report it (a file that changed under us).
    SizeDelta(i64),
    /// Answer DELE with 550.
    RefuseDelete(bool),
    /// Answer REST with 502 (a server that cannot restart a transfer).
    RefuseRest(bool),
    /// Greet the next this-many connections with `421` and close them (a busy server).
    RejectConnections(u32),
    /// Greet with `421` and close every connection beyond this many open at once (a server's
    /// per-account session limit; 0 = none).
    MaxSessions(u32),
    /// Fail the next this-many downloads with `451` before the first byte.
    FailRetrieves(u32),
    /// Wait this long before the first byte of every download.
    DelayMs(u64),
    /// Hold the next download this long once it has sent `pause_after_bytes` (once): a slow
    /// stretch that keeps a transfer in flight while something else happens.
    PauseAfterBytes(u64),
    /// …for this many milliseconds (default 2000).
    PauseMs(u64),
    /// Send every download at most this fast (bytes per second; 0 = unlimited): a server
    /// slower than the Lambda timeout allows for the file.
    BytesPerSecond(u64),
    /// Once a download has sent its last byte, the producer changes the file (once): a source
    /// that changes between RETR and DELE.
    ChangeSourceAfterDownload(SourceChange),
}

/// How a producer changes a file under us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceChange {
    /// Appends [`SourceChange::APPENDED`]: SIZE grows.
    Append,
    /// Rewrites the file with its bytes reversed, same size, modified a minute later: only MDTM
    /// tells.
    Replace,
    /// Rewrites the file with its bytes reversed, same size, and keeps its modification time (an
    /// uploader that preserves it, `touch -r`, MFMT): neither SIZE nor MDTM tells.
    Rewrite,
    /// Deletes the file (its producer takes it back).
    Delete,
}

impl SourceChange {
    pub const APPENDED: &'static [u8] = b"appended by the producer\n";

    /// The file's content after the change.
    pub fn changed(self, mut content: Vec<u8>) -> Vec<u8> {
        match self {
            Self::Append => content.extend_from_slice(Self::APPENDED),
            Self::Replace | Self::Rewrite => content.reverse(),
            Self::Delete => {}
        }
        content
    }

    /// Applies the change to the file at `path`.
    pub fn apply(self, path: &std::path::Path) -> std::io::Result<()> {
        if self == Self::Delete {
            return std::fs::remove_file(path);
        }
        let before = std::fs::metadata(path)?.modified()?;
        std::fs::write(path, self.changed(std::fs::read(path)?))?;
        let file = std::fs::File::options().write(true).open(path)?;
        match self {
            // MDTM has one-second resolution: a replacement within the same second would be
            // invisible, which is not the fault `replace` models (`rewrite` does).
            Self::Append | Self::Replace => file.set_modified(before + Duration::from_secs(60)),
            Self::Rewrite => file.set_modified(before),
            Self::Delete => Ok(()),
        }
    }
}

/// The faults armed in a running server; they can change while it runs.
#[derive(Debug)]
pub struct Faults {
    armed: Mutex<Armed>,
    /// Downloads begun so far (a signal for steps that act mid-transfer).
    downloads: tokio::sync::watch::Sender<u64>,
    /// Bytes of files sent so far, all downloads together (for faults that act after N bytes).
    sent: tokio::sync::watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            armed: Mutex::default(),
            downloads: tokio::sync::watch::channel(0).0,
            sent: tokio::sync::watch::channel(0).0,
        }
    }
}

#[derive(Debug)]
struct Armed {
    drop_after_bytes: u64,
    drop_times: Times,
    stall_after_bytes: u64,
    stall_times: Times,
    size_delta: i64,
    refuse_delete: bool,
    refuse_rest: bool,
    reject_connections: Times,
    max_sessions: u32,
    fail_retrieves: Times,
    delay: Duration,
    pause_after_bytes: Option<u64>,
    pause: Duration,
    bytes_per_second: u64,
    change_source: Option<SourceChange>,
    rests: Vec<u64>,
    changed: Vec<String>,
}

impl Default for Armed {
    fn default() -> Self {
        Self {
            drop_after_bytes: 0,
            drop_times: Times::Count(0),
            stall_after_bytes: 0,
            stall_times: Times::ALWAYS,
            size_delta: 0,
            refuse_delete: false,
            refuse_rest: false,
            reject_connections: Times::Count(0),
            max_sessions: 0,
            fail_retrieves: Times::Count(0),
            delay: Duration::ZERO,
            pause_after_bytes: None,
            pause: Duration::from_secs(2),
            bytes_per_second: 0,
            change_source: None,
            rests: Vec::new(),
            changed: Vec::new(),
        }
    }
}

impl Faults {
    /// Arms `faults`; faults not named keep their state. `drop_after_bytes` without `drop_times`
    /// drops one download.
    pub fn apply(&self, faults: &[FtpsFault]) {
        let mut armed = self.armed.lock().expect("faults lock");
        let (drops, others): (Vec<&FtpsFault>, Vec<&FtpsFault>) =
            faults.iter().partition(|f| matches!(f, FtpsFault::DropAfterBytes(_)));
        for fault in drops.into_iter().chain(others) {
            match fault.clone() {
                FtpsFault::DropAfterBytes(bytes) => {
                    armed.drop_after_bytes = bytes;
                    armed.drop_times = Times::Count(1);
                }
                FtpsFault::DropTimes(times) => armed.drop_times = times,
                FtpsFault::StallAfterBytes(bytes) => armed.stall_after_bytes = bytes,
                FtpsFault::StallTimes(times) => armed.stall_times = times,
                FtpsFault::SizeDelta(delta) => armed.size_delta = delta,
                FtpsFault::RefuseDelete(refuse) => armed.refuse_delete = refuse,
                FtpsFault::RefuseRest(refuse) => armed.refuse_rest = refuse,
                FtpsFault::RejectConnections(n) => armed.reject_connections = Times::Count(n),
                FtpsFault::MaxSessions(n) => armed.max_sessions = n,
                FtpsFault::FailRetrieves(n) => armed.fail_retrieves = Times::Count(n),
                FtpsFault::DelayMs(ms) => armed.delay = Duration::from_millis(ms),
                FtpsFault::PauseAfterBytes(bytes) => armed.pause_after_bytes = Some(bytes),
                FtpsFault::PauseMs(ms) => armed.pause = Duration::from_millis(ms),
                FtpsFault::BytesPerSecond(rate) => armed.bytes_per_second = rate,
                FtpsFault::ChangeSourceAfterDownload(change) => armed.change_source = Some(change),
            }
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Armed) -> T) -> T {
        f(&mut self.armed.lock().expect("faults lock"))
    }

    /// Hook of a download: the byte count after which to drop it, if a drop is armed.
    pub(crate) fn take_drop(&self) -> Option<u64> {
        self.with(|a| (a.drop_after_bytes > 0 && a.drop_times.take()).then_some(a.drop_after_bytes))
    }

    /// Hook of a download: the byte count after which it hangs (0 = never).
    pub(crate) fn take_stall(&self) -> u64 {
        self.with(|a| {
            if a.stall_after_bytes > 0 && a.stall_times.take() {
                a.stall_after_bytes
            } else {
                0
            }
        })
    }

    /// Hook of a download: it starts at `offset` (after REST).
    pub(crate) fn restarted_at(&self, offset: u64) {
        self.with(|a| a.rests.push(offset));
    }

    /// The offsets downloads were restarted at (REST), in order.
    pub fn rest_offsets(&self) -> Vec<u64> {
        self.with(|a| a.rests.clone())
    }

    /// Hook of SIZE and LIST.
    pub(crate) fn size_delta(&self) -> i64 {
        self.with(|a| a.size_delta)
    }

    /// Hook of DELE.
    pub(crate) fn refuse_delete(&self) -> bool {
        self.with(|a| a.refuse_delete)
    }

    /// Hook of a session's start: whether it offers REST.
    pub(crate) fn refuse_rest(&self) -> bool {
        self.with(|a| a.refuse_rest)
    }

    /// Hook of an accepted connection, with `open` sessions already being served.
    pub(crate) fn take_reject_connection(&self, open: usize) -> bool {
        self.with(|a| a.reject_connections.take() || (a.max_sessions > 0 && open >= a.max_sessions as usize))
    }

    /// Hook of a download that begins.
    pub(crate) fn download_begun(&self) {
        self.downloads.send_modify(|n| *n += 1);
    }

    /// Hook of a download: `n` more bytes were read from a file for sending.
    pub(crate) fn sent(&self, n: u64) {
        self.sent.send_modify(|total| *total += n);
    }

    /// Bytes of files sent so far, all downloads together.
    pub fn bytes_sent(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sent.subscribe()
    }

    /// Waits until a download has begun.
    pub async fn download_started(&self) {
        let _ = self.downloads.subscribe().wait_for(|n| *n > 0).await;
    }

    /// Hook of a download, before its first byte.
    pub(crate) fn take_fail_retrieve(&self) -> bool {
        self.with(|a| a.fail_retrieves.take())
    }

    /// Hook of a download, before its first byte.
    pub(crate) fn delay(&self) -> Duration {
        self.with(|a| a.delay)
    }

    /// Hook of a download, before its first byte: after how many bytes to pause it, and how
    /// long (once).
    pub(crate) fn take_pause(&self) -> Option<(u64, Duration)> {
        self.with(|a| a.pause_after_bytes.take().map(|bytes| (bytes, a.pause)))
    }

    /// Hook of a download, before its first byte: its rate limit, if any.
    pub(crate) fn bytes_per_second(&self) -> Option<u64> {
        self.with(|a| (a.bytes_per_second > 0).then_some(a.bytes_per_second))
    }

    /// Hook of a download whose file the producer changed (its remote path).
    pub(crate) fn changed(&self, remote: &str) {
        self.with(|a| a.changed.push(remote.to_string()));
    }

    /// The remote paths changed under a download, in order.
    pub fn changed_sources(&self) -> Vec<String> {
        self.with(|a| a.changed.clone())
    }

    /// Hook of a download, after its last byte: the change to make to the file, once.
    pub(crate) fn take_source_change(&self) -> Option<SourceChange> {
        self.with(|a| a.change_source.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_count_down_unless_always() {
        let faults = Faults::default();
        faults.apply(&[FtpsFault::DropTimes(Times::Count(2)), FtpsFault::DropAfterBytes(10)]);
        assert_eq!(
            faults.take_drop(),
            Some(10),
            "drop_times applies after drop_after_bytes"
        );
        assert_eq!(faults.take_drop(), Some(10));
        assert_eq!(faults.take_drop(), None);
        faults.apply(&[FtpsFault::DropAfterBytes(5)]);
        assert_eq!(
            (faults.take_drop(), faults.take_drop()),
            (Some(5), None),
            "one drop by default"
        );
        faults.apply(&[FtpsFault::DropAfterBytes(5), FtpsFault::DropTimes(Times::ALWAYS)]);
        assert!((0..100).all(|_| faults.take_drop() == Some(5)));
    }
}
