//! Execution history: events with AWS's names, ids and detail objects.

use std::sync::Mutex;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct History {
    events: Mutex<Vec<Value>>,
    /// The number of events, for waiters.
    count: tokio::sync::watch::Sender<usize>,
}

impl Default for History {
    fn default() -> Self {
        Self {
            events: Mutex::default(),
            count: tokio::sync::watch::channel(0).0,
        }
    }
}

impl History {
    /// Appends an event and returns its id.
    pub fn push(&self, at: OffsetDateTime, kind: &str, details: Value) -> usize {
        let mut events = self.events.lock().expect("history");
        let id = events.len() + 1;
        let mut event = json!({"id": id, "previousEventId": id - 1, "timestamp": at.format(&Rfc3339).unwrap_or_default(), "type": kind});
        if let (Some(event), Value::Object(details)) = (event.as_object_mut(), details) {
            event.extend(details);
        }
        events.push(event);
        self.count.send_replace(id);
        id
    }

    /// Waits until an event satisfying `wanted` is in the history, and returns it.
    pub async fn wait_for(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        let mut count = self.count.subscribe();
        loop {
            if let Some(found) = self.events.lock().expect("history").iter().find(|e| wanted(e)) {
                return found.clone();
            }
            if count.changed().await.is_err() {
                return Value::Null;
            }
        }
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("history").clone()
    }
}
