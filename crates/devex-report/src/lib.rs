//! devex's public platform scorecard: one self-contained HTML page per
//! organisation and per team, with inline CSS and inline SVG charts drawn by
//! plotters. Every number comes from `devex-query` (the SQL in `queries/`);
//! this crate only lays them out. The pages load nothing from the network and
//! run no scripts, so they open from `file://`, a mail attachment or any static
//! host, and print well.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_report::ReportError> {
//! use devex_query::{LakeSession, QuerySettings};
//! use devex_report::{ReportOptions, build, write_site};
//! let lake = LakeSession::open("devex-data").await?;
//! let card = build(&lake, &QuerySettings::default(), &ReportOptions::default()).await?;
//! let site = write_site(&card, "reports/site".as_ref())?;
//! println!("{}", site.index.display());
//! # Ok(()) }
//! ```

pub mod charts;
pub mod html;
pub mod model;
pub mod render;

use std::path::PathBuf;

pub use model::{ReportOptions, Scorecard, build};
pub use render::{Site, write_site};

impl From<devex_query::QueryError> for ReportError {
    fn from(e: devex_query::QueryError) -> Self {
        ReportError::Query(Box::new(e))
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The lake could not be read or a query failed (boxed: it is large).
    #[error(transparent)]
    Query(Box<devex_query::QueryError>),
    /// A query returned rows of an unexpected shape (a bug in `queries/`).
    #[error("unexpected query result: {0}")]
    Shape(String),
    /// plotters could not draw a chart.
    #[error("drawing a chart: {0}")]
    Chart(String),
    /// The site could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
