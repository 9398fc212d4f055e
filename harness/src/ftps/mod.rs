//! FTPS servers the pipeline transfers from: the in-process libunftp server with the one fault
//! model (`fault`), the relay in front of it, Debian's vsftpd run as a hardened foreground server,
//! and servers the harness does not run (`external`, for replays against staging).

pub mod external;
pub mod fault;
mod relay;
pub mod server;
pub mod session_log;
pub mod vsftpd;

pub use external::{ExternalFtps, ExternalFtpsError};
pub use fault::{Faults, FtpsFault, SourceChange};
pub use server::{FtpsServer, FtpsServerError};
pub use session_log::{SessionLine, SessionLog};
