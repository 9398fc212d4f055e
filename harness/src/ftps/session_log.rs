//! What the in-process FTPS server was told and answered, session by session: libunftp reports
//! every control-channel command and reply through `slog`, and a drain here keeps them for the
//! report. libunftp masks `PASS` itself; the password is also scrubbed from every line here, so
//! it cannot reach a report whatever a future libunftp logs.

use std::sync::{Arc, Mutex};

/// One line of a control-channel conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLine {
    /// The connection it belongs to, numbered from 1 in the order they were accepted.
    pub session: usize,
    /// `true` for what the client sent, `false` for the server's reply.
    pub command: bool,
    pub text: String,
}

/// Every session's lines, shared by the loggers the server hands its connections.
#[derive(Debug, Clone, Default)]
pub struct SessionLog(Arc<Mutex<Vec<SessionLine>>>);

impl SessionLog {
    pub fn lines(&self) -> Vec<SessionLine> {
        self.0.lock().expect("session log").clone()
    }

    /// A logger for connection `session` that records its commands and replies.
    pub fn logger(&self, session: usize, password: &str) -> slog::Logger {
        let drain = Recorder {
            log: self.clone(),
            session,
            password: password.to_string(),
        };
        slog::Logger::root(slog::Drain::fuse(drain), slog::o!())
    }
}

struct Recorder {
    log: SessionLog,
    session: usize,
    password: String,
}

impl slog::Drain for Recorder {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &slog::Record<'_>, _: &slog::OwnedKVList) -> Result<(), slog::Never> {
        let message = record.msg().to_string();
        let (command, text) = if let Some(event) = message.strip_prefix("Control channel event ") {
            (true, event)
        } else if let Some(reply) = message.strip_prefix("Control channel reply ") {
            (false, reply)
        } else {
            return Ok(());
        };
        let mut text = text.to_string();
        if !self.password.is_empty() {
            text = text.replace(&self.password, "*******");
        }
        self.log.0.lock().expect("session log").push(SessionLine {
            session: self.session,
            command,
            text,
        });
        Ok(())
    }
}
