//! Task tokens of callback tasks (`.waitForTaskToken`): a task hands its token to someone, and
//! waits until SendTaskSuccess / SendTaskFailure answer it; SendTaskHeartbeat keeps it alive.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::error::StatesError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Task Does Not Exist: the token is unknown, or its task already ended")]
    TaskDoesNotExist,
}

struct Waiting {
    answer: oneshot::Sender<Result<Value, StatesError>>,
    heartbeat: mpsc::UnboundedSender<()>,
}

/// The tokens of the callback tasks now waiting; shared by a service and its executions.
#[derive(Default)]
pub struct TaskTokens {
    waiting: Mutex<HashMap<String, Waiting>>,
}

/// A callback task waiting for its answer.
pub struct Waiter {
    answer: oneshot::Receiver<Result<Value, StatesError>>,
    heartbeat: mpsc::UnboundedReceiver<()>,
}

impl std::fmt::Debug for TaskTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = self.waiting.lock().map(|w| w.len()).unwrap_or_default();
        f.debug_struct("TaskTokens").field("waiting", &waiting).finish()
    }
}

impl TaskTokens {
    /// A new token, waited for from now on.
    pub fn issue(&self) -> (String, Waiter) {
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let (answer_tx, answer) = oneshot::channel();
        let (heartbeat_tx, heartbeat) = mpsc::unbounded_channel();
        self.waiting.lock().expect("tokens").insert(
            token.clone(),
            Waiting {
                answer: answer_tx,
                heartbeat: heartbeat_tx,
            },
        );
        (token, Waiter { answer, heartbeat })
    }

    fn answer(&self, token: &str, result: Result<Value, StatesError>) -> Result<(), TokenError> {
        let waiting = self
            .waiting
            .lock()
            .expect("tokens")
            .remove(token)
            .ok_or(TokenError::TaskDoesNotExist)?;
        waiting.answer.send(result).map_err(|_| TokenError::TaskDoesNotExist)
    }

    pub fn succeed(&self, token: &str, output: Value) -> Result<(), TokenError> {
        self.answer(token, Ok(output))
    }

    pub fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TokenError> {
        self.answer(token, Err(StatesError::new(error, cause)))
    }

    pub fn heartbeat(&self, token: &str) -> Result<(), TokenError> {
        let waiting = self.waiting.lock().expect("tokens");
        let entry = waiting.get(token).ok_or(TokenError::TaskDoesNotExist)?;
        entry.heartbeat.send(()).map_err(|_| TokenError::TaskDoesNotExist)
    }

    /// Forgets a token whose task stopped waiting (timed out, or its execution ended).
    pub fn withdraw(&self, token: &str) {
        self.waiting.lock().expect("tokens").remove(token);
    }
}

impl Waiter {
    /// The answer; `States.HeartbeatTimeout` if `heartbeat` passes without a heartbeat.
    pub async fn wait(mut self, heartbeat: Option<Duration>) -> Result<Value, StatesError> {
        loop {
            let beat = async {
                match heartbeat {
                    Some(limit) => tokio::time::timeout(limit, self.heartbeat.recv()).await.ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                answer = &mut self.answer => {
                    return answer.unwrap_or_else(|_| Err(StatesError::new("States.Runtime", "the task token was withdrawn")));
                }
                beat = beat => {
                    if beat.is_none() {
                        let seconds = heartbeat.map(|h| h.as_secs_f64()).unwrap_or_default();
                        return Err(StatesError::new("States.HeartbeatTimeout", format!("no heartbeat for {seconds} seconds")));
                    }
                }
            }
        }
    }
}
