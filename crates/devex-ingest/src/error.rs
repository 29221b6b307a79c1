//! The ingest crate's errors. Each names the file, table or column at fault
//! and, through [`IngestError::hint`], the obvious next step.

use std::path::PathBuf;

/// Everything that stops an import before or while it writes.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file's extension names no supported format.
    #[error("{file}: unknown format (expected .csv, .ndjson, .jsonl or .json)")]
    UnknownFormat {
        /// The file.
        file: String,
    },
    /// The file is not parsable as its format at all.
    #[error("{file}: cannot be read: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A column the contract requires is absent from the file's header.
    #[error("{file}: missing required column `{column}` for table `{table}`")]
    MissingColumn {
        /// The file.
        file: String,
        /// The target table.
        table: String,
        /// The absent column.
        column: String,
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
    /// Reading or committing a Delta table failed.
    #[error("table `{table}`: {source}")]
    Lake {
        /// The table.
        table: String,
        /// delta-rs's error.
        source: deltalake::DeltaTableError,
    },
    /// A `_state` file on object storage changed under this run (another run
    /// wrote it between this run's read and its write).
    #[error("{file}: changed by another devex run while this one ran")]
    StateConflict {
        /// Its URL.
        file: String,
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
    /// A configured source failed as a whole (its API refused, its inbox is missing).
    #[error("source {name}: {message}")]
    Source {
        /// The `[sources.<name>]` name.
        name: String,
        /// What failed.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// Building an in-memory frame or batch failed (a bug rather than bad input).
    #[error("{context}: {message}")]
    Internal {
        /// What was being done.
        context: &'static str,
        /// The underlying message.
        message: String,
    },
}

impl IngestError {
    /// A one-line suggestion for the user, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            IngestError::UnknownFormat { .. } => {
                Some("rename the file with its format's extension, or pipe it with `-` and --input-format".into())
            }
            IngestError::Unreadable { .. } => Some("nothing was written; fix the file and run the import again".into()),
            IngestError::MissingColumn { table, .. } => Some(format!(
                "nothing was written; the `{table}` table's columns are listed by `devex import --help` and in the README"
            )),
            IngestError::LockTimeout { path, .. } => Some(format!(
                "wait for the other run to finish, or raise --lock-timeout; the lock file is {}",
                path.display()
            )),
            IngestError::Io { .. } => Some("check the path and its permissions".into()),
            IngestError::Source { hint, .. } => hint.clone(),
            IngestError::StateConflict { .. } => Some(
                "what this run committed is in the lake; run it again once the other run has finished, and it goes on from the state the other left"
                    .into(),
            ),
            IngestError::CommitContention { .. } => Some(
                "run it again when the other writers are done (imports are idempotent); schedule writers of one table apart"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Whether the input itself is at fault (unreadable, wrong format, a
    /// required column missing): re-reading the same bytes fails the same way.
    /// Otherwise (I/O, the lake, the lock) a later attempt may succeed.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            IngestError::UnknownFormat { .. } | IngestError::Unreadable { .. } | IngestError::MissingColumn { .. }
        )
    }

    pub(crate) fn internal(context: &'static str, e: impl std::fmt::Display) -> IngestError {
        IngestError::Internal { context, message: e.to_string() }
    }
}
