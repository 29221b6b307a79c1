//! The lake's errors. Each names the table or file at fault and, through
//! [`LakeError::hint`], the obvious next step.

use std::path::PathBuf;

/// Everything that stops a read or a write of the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A file of the lake (a table's directory, the lock, `_state`) could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file (a path, or a URL on object storage).
        file: String,
        /// The OS or object store's error.
        source: std::io::Error,
    },
    /// Reading or committing a Delta table failed.
    #[error("table `{table}`: {source}")]
    Table {
        /// The table (with its URL on object storage).
        table: String,
        /// delta-rs's error (boxed: it is large, and errors travel by value).
        source: Box<deltalake::DeltaTableError>,
    },
    /// Another devex writer held the lake's lock for longer than the timeout.
    #[error("the lake is locked by another devex writer ({holder}); gave up after {waited_secs} s")]
    LockTimeout {
        /// `pid N` or `unknown process`.
        holder: String,
        /// Seconds waited.
        waited_secs: u64,
        /// The lock file.
        path: PathBuf,
    },
    /// A `_state` file on object storage changed under this run (another run
    /// wrote it between this run's read and its write).
    #[error("{file}: changed by another devex run while this one ran")]
    StateConflict {
        /// Its URL.
        file: String,
    },
    /// A `_state` file that is not what devex wrote (not JSON, or not its shape).
    #[error("{file}: unreadable state ({reason})")]
    StateUnreadable {
        /// Its path or URL.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Other writers kept committing to a table while this one retried.
    #[error(
        "table `{table}`: other writers committed first {attempts} times in a row; nothing of this run was committed to it"
    )]
    CommitContention {
        /// The table.
        table: String,
        /// Commits attempted.
        attempts: usize,
    },
    /// Building an in-memory batch failed (a bug rather than bad input).
    #[error("{context}: {message}")]
    Internal {
        /// What was being done.
        context: &'static str,
        /// The underlying message.
        message: String,
    },
}

impl LakeError {
    /// A one-line suggestion for the user, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            LakeError::LockTimeout { path, .. } => Some(format!(
                "wait for the other run to finish, or raise --lock-timeout; the lock file is {}",
                path.display()
            )),
            LakeError::Io { .. } => Some("check the path and its permissions".into()),
            LakeError::StateConflict { .. } => Some(
                "what this run committed is in the lake; run it again once the other run has finished, and it goes on from the state the other left"
                    .into(),
            ),
            LakeError::StateUnreadable { .. } => Some(
                "remove the file to start that source over: its next run reads everything again, and rows already in the lake are replaced, never duplicated"
                    .into(),
            ),
            LakeError::CommitContention { .. } => Some(
                "run it again when the other writers are done (imports are idempotent); schedule writers of one table apart"
                    .into(),
            ),
            LakeError::Table { .. } | LakeError::Internal { .. } => None,
        }
    }

    pub(crate) fn internal(context: &'static str, e: impl std::fmt::Display) -> LakeError {
        LakeError::Internal { context, message: e.to_string() }
    }
}
