//! The ingest crate's errors. Each names the file, table or column at fault
//! and, through [`IngestError::hint`], the obvious next step.

use devex_lake::LakeError;

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
    /// The lake or its `_state` failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
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
            IngestError::Io { .. } => Some("check the path and its permissions".into()),
            IngestError::Source { hint, .. } => hint.clone(),
            IngestError::Lake(e) => e.hint(),
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

    /// Whether the lake or its `_state` failed (I/O, a table, the lock, a
    /// state file): a run that meets one exits 2, however the source was
    /// doing otherwise.
    pub fn is_storage(&self) -> bool {
        matches!(self, IngestError::Io { .. } | IngestError::Lake(_))
    }

    pub(crate) fn internal(context: &'static str, e: impl std::fmt::Display) -> IngestError {
        IngestError::Internal { context, message: e.to_string() }
    }
}
