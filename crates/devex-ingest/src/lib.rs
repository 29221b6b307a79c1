//! devex ingestion: records -> validated, normalised rows -> the Delta lake,
//! with every rejected row in the quarantine.
//!
//! It holds the contract pipeline ([`input`], [`validate`], [`quarantine`],
//! [`import`]) and what every source runs on: the [`source::Source`] trait,
//! [`source::land`], [`source::sync_units`] and the run loop ([`run`]). The
//! connectors themselves are in `devex-sources`; the lake and its one writer
//! in `devex-lake`.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_ingest::IngestError> {
//! use devex_ingest::{import::{import, ImportRequest}, input::InputSource, context::RunContext};
//! use devex_lake::{lock::WriterLock, writer::Lake};
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

pub mod bridge;
pub mod context;
pub mod error;
pub mod import;
pub mod input;
pub mod progress;
pub mod quarantine;
pub mod run;
pub mod source;
pub mod survey;
pub mod validate;

pub use error::IngestError;
