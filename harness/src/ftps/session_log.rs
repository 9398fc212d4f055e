//! What the in-process FTPS server was told and answered, session by session: libunftp reports
//! every control-channel command and reply through `slog`, and a drain here keeps them for the
//! report. libunftp masks `PASS` itself; the password is also scrubbed from every line here, so
//! it cannot reach a report whatever a future libunftp logs.

use std::collections::HashMap;
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
pub struct SessionLog(Arc<Mutex<Lines>>);

#[derive(Debug, Default)]
struct Lines {
    /// In the order they came.
    all: Vec<SessionLine>,
    /// Each session's lines, by position in `all`.
    by_session: HashMap<usize, Vec<usize>>,
    /// The sessions whose commands named a path (a quoted argument), by path.
    by_path: HashMap<String, Vec<usize>>,
}

/// The quoted strings of a command as libunftp logs it (`Retr { path: "/in/a.data" }`, Rust's
/// debug form: `\"` and `\\` inside are a quote and a backslash of the path).
fn quoted(text: &str) -> Vec<String> {
    let (mut strings, mut current, mut inside, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in text.chars() {
        match (inside, escaped, c) {
            (false, _, '"') => inside = true,
            (false, _, _) => {}
            (true, true, c) => {
                current.push(c);
                escaped = false;
            }
            (true, false, '\\') => escaped = true,
            (true, false, '"') => {
                strings.push(std::mem::take(&mut current));
                inside = false;
            }
            (true, false, c) => current.push(c),
        }
    }
    strings
}

impl SessionLog {
    pub fn lines(&self) -> Vec<SessionLine> {
        self.0.lock().expect("session log").all.clone()
    }

    /// The lines of every session whose commands named `path`, in the order they came; the cost
    /// is that of those sessions only, however long the server has run.
    pub fn sessions_about(&self, path: &str) -> Vec<SessionLine> {
        let lines = self.0.lock().expect("session log");
        let Some(sessions) = lines.by_path.get(path) else {
            return Vec::new();
        };
        let mut positions: Vec<usize> = sessions
            .iter()
            .flat_map(|session| lines.by_session.get(session).into_iter().flatten().copied())
            .collect();
        positions.sort_unstable();
        positions.dedup();
        positions.into_iter().map(|i| lines.all[i].clone()).collect()
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
        let mut lines = self.log.0.lock().expect("session log");
        let position = lines.all.len();
        if command {
            for path in quoted(&text) {
                let sessions = lines.by_path.entry(path).or_default();
                if sessions.last() != Some(&self.session) {
                    sessions.push(self.session);
                }
            }
        }
        lines.by_session.entry(self.session).or_default().push(position);
        lines.all.push(SessionLine {
            session: self.session,
            command,
            text,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn paths_are_read_back_from_the_debug_form() {
        assert_eq!(quoted(r#"Retr { path: "/in/a.data" }"#), ["/in/a.data"]);
        assert_eq!(
            quoted(r#"Rnfr { file: "/in/say \"hi\".txt" } Rnto { file: "/a\\b" }"#),
            ["/in/say \"hi\".txt", "/a\\b"]
        );
        assert!(quoted("Pasv").is_empty());
    }
}
