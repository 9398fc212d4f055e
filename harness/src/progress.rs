//! Live progress bars for the transfers the in-process FTPS server is sending (`harness up` and
//! `harness run`): bytes, rate and ETA per download, on stderr, and nothing at all when stderr is
//! not a terminal (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ftps::FtpsServer;
use crate::ftps::server::DownloadProgress;

/// How often a bar redraws from its download's counter.
const REFRESH: Duration = Duration::from_millis(100);

/// The bars of one terminal; `None` where stderr is not one.
#[derive(Clone, Debug)]
pub struct Bars {
    multi: MultiProgress,
}

impl Bars {
    pub fn for_stderr() -> Option<Bars> {
        std::io::stderr().is_terminal().then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        })
    }

    /// Prints a line above the bars (a plain `eprintln!` would be overdrawn).
    pub fn println(&self, line: impl AsRef<str>) {
        let _ = self.multi.println(line);
    }

    /// Shows a bar for each download `server` begins, until the returned task is aborted or the
    /// server stops.
    pub fn follow(&self, server: &FtpsServer) -> tokio::task::JoinHandle<()> {
        let mut downloads = server.downloads();
        let multi = self.multi.clone();
        tokio::spawn(async move {
            while let Ok(download) = downloads.recv().await {
                tokio::spawn(show(multi.clone(), download));
            }
        })
    }
}

/// Prints `line` above `bars` if there are any, else on stderr.
pub fn say(bars: Option<&Bars>, line: impl AsRef<str>) {
    match bars {
        Some(bars) => bars.println(line),
        None => eprintln!("{}", line.as_ref()),
    }
}

async fn show(multi: MultiProgress, download: Arc<DownloadProgress>) {
    let style = ProgressStyle::with_template(
        "{msg:30!} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} eta {eta:>4} [{wide_bar}]",
    )
    .expect("a valid template")
    .progress_chars("=> ");
    let bar = multi.add(ProgressBar::new(download.size).with_style(style));
    bar.set_message(download.path.clone());
    bar.set_position(download.offset);
    bar.reset_eta();
    while !download.is_done() {
        bar.set_position(download.position());
        tokio::time::sleep(REFRESH).await;
    }
    bar.set_position(download.position());
    bar.finish_and_clear();
    multi.remove(&bar);
}
