//! devex ingestion: sources -> validated, normalised rows -> the Delta lake.
//!
//! [`lake::Lake`] is the only writer of the lake; everything else produces
//! rows in the canonical shape of `devex_model::Table`.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_ingest::IngestError> {
//! use devex_ingest::{import::{import, ImportRequest}, input::InputSource, lake::Lake,
//!     lock::WriterLock, validate::RunContext};
//! let lake = Lake::new("devex-data");
//! let lock = WriterLock::acquire(lake.location(), std::time::Duration::from_secs(60), |_| {})?;
//! let req = ImportRequest {
//!     table: devex_model::Table::Deployments,
//!     inputs: vec![InputSource::Path("sample-data/deployments.csv".into())],
//!     run: RunContext::new("r1", "file", chrono_tz::UTC),
//! };
//! let outcome = import(&lake, &lock, &req).await?;
//! for t in outcome.tables {
//!     assert_eq!(t.read, t.written + t.replaced + t.quarantined);
//! }
//! # Ok(()) }
//! ```

// Libraries report through return values; only the binaries print.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod bridge;
pub mod chain;
pub mod endpoint;
pub mod error;
pub mod files;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod import;
pub mod input;
pub mod lake;
pub mod lock;
pub mod pagerduty;
pub mod progress;
pub mod quarantine;
pub mod run;
pub mod source;
pub mod state;
pub mod survey;
pub mod validate;

pub use error::IngestError;
