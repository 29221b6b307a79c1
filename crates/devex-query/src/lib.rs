//! devex's query layer: a DataFusion session over the lake, every canonical
//! table registered by name. A table that was never written is an empty
//! table with the contract's schema, so queries never fail for lack of data.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_query::QueryError> {
//! let session = devex_query::LakeSession::open("devex-data").await?;
//! let batches = session.sql("SELECT count(*) FROM deployments").await?.collect().await?;
//! # Ok(()) }
//! ```

pub mod session;

pub use session::{LakeSession, QueryError, TableVersion};
