//! Progress of a long run, as typed events: the ingest crate says what
//! happened and how much it matters; the binary decides what to show where.

use std::sync::Arc;

/// How much a progress message matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Per-unit progress (`[3/50] acme/api: 12 deployments`): worth a terminal line, not a log line.
    Detail,
    /// A step of the run (a file moved, a source started).
    Info,
    /// Waiting: rate limits and retries. Always shown: they explain a slow run.
    Wait,
    /// Something failed or was left for later.
    Warn,
}

/// One progress message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// How much it matters.
    pub level: Level,
    /// What happened, for people.
    pub message: String,
}

impl Event {
    /// An event of `level`.
    pub fn new(level: Level, message: impl Into<String>) -> Event {
        Event { level, message: message.into() }
    }
}

/// Where progress goes.
pub type Progress = Arc<dyn Fn(&Event) + Send + Sync>;

/// Progress that goes nowhere.
pub fn silent() -> Progress {
    Arc::new(|_: &Event| {})
}
