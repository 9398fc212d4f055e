//! Execution history: events with AWS's names, ids and detail objects.

use std::sync::Mutex;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Default)]
pub struct History {
    events: Mutex<Vec<Value>>,
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
        id
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("history").clone()
    }
}
