//! devex's query layer: DataFusion sessions over the lake, every canonical
//! table registered by name, and the metric views of `queries/`.
//!
//! A table that was never written is an empty table with the contract's
//! schema, so queries never fail for lack of data.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_query::QueryError> {
//! use devex_query::{GroupBy, LakeSession, Quarter, QuerySettings};
//! let lake = LakeSession::open("devex-data").await?;
//! let settings = QuerySettings::default();
//! let window = Quarter { year: 2026, quarter: 3 }.window(settings.timezone);
//! let doc = devex_query::metrics::compute(&lake, &settings, window, GroupBy::Team).await?;
//! println!("{}", serde_json::to_string_pretty(&doc).unwrap());
//! # Ok(()) }
//! ```

pub mod calendar;
pub mod effect;
pub mod error;
pub mod explain;
pub mod facts;
pub mod files;
pub mod metrics;
pub mod params;
pub mod percentile;
pub mod queries;
pub mod scratch;
pub mod session;
pub mod shared;
pub mod trends;

pub use calendar::{Period, Quarter, Window};
pub use error::QueryError;
pub use params::{GroupBy, QuerySettings};
pub use session::{AsOf, LakeSession, TableVersion};
