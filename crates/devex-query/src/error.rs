//! The query layer's one error type.

use devex_lake::LakeError;

/// Errors of the query layer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A table of the lake could not be opened or read.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// DataFusion rejected or failed a query.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Building a parameter table failed.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A saved query file failed to plan.
    #[error("queries/{file}: {source}")]
    SavedQuery {
        /// The file under `queries/`.
        file: String,
        /// DataFusion's error.
        source: datafusion::error::DataFusionError,
    },
    /// A setting cannot be used.
    #[error("{0}")]
    Config(String),
    /// The engine queries run on (a cluster) could not be reached.
    #[error("{0}")]
    Engine(String),
    /// A request devex refuses on principle (listing survey answers).
    #[error("{0}")]
    Refused(String),
    /// A result had an unexpected shape (a bug in a saved query).
    #[error("unexpected result: {0}")]
    Shape(String),
}
