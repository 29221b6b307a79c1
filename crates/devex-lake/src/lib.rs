//! devex's lake: a directory (or an object-store prefix) of Delta tables,
//! one per canonical table of `devex_model::Table`, and the `_state` beside
//! them.
//!
//! - [`table`] opens tables at their latest version, at a version or as of an
//!   instant; every reader and the writer open them there.
//! - [`writer::Lake`] is the only writer: staged data files, one commit per
//!   table, an upsert on each table's identity, optimistic retries on object
//!   storage, and `maintain`.
//! - [`facts`] keeps the derived facts (window-independent views, stamped
//!   with the base versions they were computed from) beside the tables.
//! - [`snapshot`] reads what a snapshot holds from the log alone.
//! - [`lock::WriterLock`] keeps local writers one at a time; [`state::StateStore`]
//!   keeps the run log and each source's watermarks.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use devex_lake::{lock::WriterLock, writer::Lake};
//! use devex_model::Table;
//! let dir = tempfile::tempdir().unwrap();
//! let lake = Lake::new(dir.path());
//! let lock = WriterLock::acquire(lake.location(), std::time::Duration::ZERO, |_| {}).unwrap();
//! assert_eq!(lake.version(Table::Deployments).await.unwrap(), None);
//! drop(lock);
//! # });
//! ```

pub mod error;
pub mod facts;
pub mod lock;
pub mod snapshot;
pub mod state;
pub mod table;
pub mod writer;

/// delta-rs, for readers that register a table with DataFusion: the lake's
/// table format is known to this crate alone.
pub use deltalake;
pub use error::LakeError;
pub use table::AsOf;
