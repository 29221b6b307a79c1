//! devex on a Apache Ballista cluster: the scheduler and executor processes
//! (`devex cluster scheduler|executor`), and sessions whose queries run on
//! the cluster (`--cluster df://HOST:PORT`) over the lake's tables as
//! [`listing`] ships them. The SQL of `queries/` runs unchanged; the numbers
//! are those of a local run.
//!
//! Ballista is behind the `ballista` feature (devex-cli's `cluster`), which
//! the release binaries, the image and the README's `cargo install` turn on.
//! Without it the crate still parses `df://` addresses, and every entry point
//! that needs Ballista fails with [`ClusterError::NotBuilt`].
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_cluster::ClusterError> {
//! use devex_model::location::Location;
//! let lake = Location::parse("s3://platform-lake/devex").unwrap();
//! let session = devex_cluster::lake_session("df://scheduler:50050", &lake, devex_query::AsOf::Latest).await?;
//! let rows = session.sql("SELECT count(*) FROM deployments").await?.collect().await?;
//! # Ok(()) }
//! ```

pub mod listing;
#[cfg(feature = "ballista")]
pub mod process;
pub mod stores;
#[cfg(not(feature = "ballista"))]
mod unbuilt;

#[cfg(feature = "ballista")]
use std::sync::Arc;

#[cfg(feature = "ballista")]
use ballista::prelude::{SessionConfigExt, SessionContextExt};
#[cfg(feature = "ballista")]
use datafusion::execution::SessionStateBuilder;
#[cfg(feature = "ballista")]
use datafusion::prelude::{SessionConfig, SessionContext};
use devex_lake::LakeError;
#[cfg(feature = "ballista")]
use devex_model::location::Location;
use devex_query::QueryError;
#[cfg(feature = "ballista")]
use devex_query::{AsOf, LakeSession};

#[cfg(feature = "ballista")]
pub use process::{run_executor, run_scheduler};
#[cfg(not(feature = "ballista"))]
pub use unbuilt::{lake_session, run_executor, run_scheduler};

/// Whether this build has Ballista (the `ballista` feature).
pub const BUILT: bool = cfg!(feature = "ballista");

/// How to get a devex that runs on a cluster, for [`ClusterError::NotBuilt`].
pub const HOW_TO_GET_IT: &str = "use a release binary or the image (both have it), or build devex with it: \
     `cargo install --locked --path crates/devex-cli --features cluster`, \
     `cargo run -p devex-cli --features cluster -- ...`";

/// Where an executor listens and whom it serves (`devex cluster executor`).
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: (String, u16),
    /// Its data (Arrow Flight) port; the port after it serves the scheduler's gRPC.
    pub listen: std::net::SocketAddr,
    /// The host the scheduler and other executors reach it by (default: the listen address).
    pub external_host: Option<String>,
    /// Tasks run at once (0: one per core).
    pub concurrent_tasks: usize,
    /// Where shuffle files go (default: a temporary directory).
    pub work_dir: Option<String>,
}

/// What stops a cluster from starting or a query from being planned on it.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The `--cluster` value is not `df://HOST:PORT`.
    #[error("--cluster {0}: expected df://HOST:PORT (the scheduler's address)")]
    BadUrl(String),
    /// Nothing answers at the scheduler's address.
    #[error("no Ballista scheduler answers at {url}: {reason}")]
    Unreachable {
        /// The `df://` URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A table uses a Delta feature a plain Parquet scan would read wrong.
    #[error("table {table} uses {feature}, which devex cannot run on a cluster (its files alone do not give its rows)")]
    Unsupported {
        /// The table (with its URL on object storage).
        table: String,
        /// The Delta feature.
        feature: String,
    },
    /// Opening a table or reading its snapshot failed.
    #[error(transparent)]
    Lake(Box<LakeError>),
    /// Opening the lake or planning failed.
    #[error(transparent)]
    Query(Box<QueryError>),
    /// Building a plan failed.
    #[error("{0}")]
    Plan(String),
    /// Ballista failed.
    #[error("ballista: {0}")]
    Ballista(String),
    /// This devex was built without Ballista.
    #[error("{0} needs a devex built with the cluster feature (Ballista), and this one was built without it")]
    NotBuilt(String),
}

impl ClusterError {
    /// A one-line suggestion for the user, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ClusterError::BadUrl(_) => Some("e.g. --cluster df://ballista-scheduler:50050, or DEVEX_CLUSTER".into()),
            ClusterError::Unreachable { .. } => Some(
                "start one with `devex cluster scheduler --listen HOST:PORT` and at least one \
                 `devex cluster executor`; devex never falls back to running the query locally"
                    .into(),
            ),
            ClusterError::Unsupported { .. } => {
                Some("run without --cluster (delta-rs reads these features locally)".into())
            }
            ClusterError::NotBuilt(_) => Some(HOW_TO_GET_IT.into()),
            _ => None,
        }
    }
}

impl From<LakeError> for ClusterError {
    fn from(e: LakeError) -> ClusterError {
        ClusterError::Lake(Box::new(e))
    }
}

impl From<QueryError> for ClusterError {
    fn from(e: QueryError) -> ClusterError {
        ClusterError::Query(Box::new(e))
    }
}

impl From<datafusion::error::DataFusionError> for ClusterError {
    fn from(e: datafusion::error::DataFusionError) -> ClusterError {
        ClusterError::Plan(e.to_string())
    }
}

/// `df://HOST:PORT` as the scheduler's `HOST:PORT`.
pub fn scheduler_address(url: &str) -> Result<(String, u16), ClusterError> {
    let bad = || ClusterError::BadUrl(url.to_string());
    let rest = url.strip_prefix("df://").ok_or_else(bad)?.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || rest.contains('/') {
        return Err(bad());
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_string(), port))
}

/// A session on the cluster at `url`: the scheduler must answer now.
#[cfg(feature = "ballista")]
pub async fn remote_context(url: &str) -> Result<SessionContext, ClusterError> {
    let (host, port) = scheduler_address(url)?;
    tokio::time::timeout(std::time::Duration::from_secs(10), tokio::net::TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| ClusterError::Unreachable { url: url.to_string(), reason: "timed out after 10 s".into() })?
        .map_err(|e| ClusterError::Unreachable { url: url.to_string(), reason: e.to_string() })?;
    // Dynamic filters share state between operators of one process; a
    // cluster splits those operators across stages (DataFusion 55's TopK
    // asserts on it), so they are off for cluster sessions.
    let config = SessionConfig::new_with_ballista()
        .with_information_schema(true)
        .set_bool("datafusion.optimizer.enable_dynamic_filter_pushdown", false)
        .set_bool("datafusion.optimizer.enable_topk_dynamic_filter_pushdown", false)
        // Ballista's empty-input rule plans zero-partition inputs under a
        // TopK, which DataFusion 55 asserts against.
        .set_bool("ballista.planner.propagate_empty.enabled", false)
        .set_bool("ballista.planner.adaptive.enabled", false);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(stores::runtime()?)
        .with_default_features()
        .build();
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))?;
    // The scheduler and executors compute devex's `percentile_cont` (see
    // `process`); it plans as DataFusion's does.
    ctx.register_udaf(devex_query::percentile::percentile_cont());
    Ok(ctx)
}

/// The lake at `root` as a [`LakeSession`] whose every query runs on the
/// cluster at `url`.
#[cfg(feature = "ballista")]
pub async fn lake_session(url: &str, root: &Location, as_of: AsOf) -> Result<LakeSession, ClusterError> {
    remote_context(url).await?;
    let (tables, versions) = listing::lake_tables(root, as_of).await?;
    let facts = listing::lake_facts(root).await?;
    let url = url.to_string();
    let maker: devex_query::session::ContextMaker = Arc::new(move || {
        let url = url.clone();
        Box::pin(async move { remote_context(&url).await.map_err(|e| QueryError::Engine(e.to_string())) })
    });
    Ok(LakeSession::on_cluster(root, tables, versions, facts, maker).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduler_address_is_df_host_port() {
        assert_eq!(scheduler_address("df://ballista:50050").unwrap(), ("ballista".to_string(), 50050));
        assert_eq!(scheduler_address("df://[::1]:50050/").unwrap(), ("::1".to_string(), 50050));
        for bad in ["ballista:50050", "df://ballista", "df://:50050", "df://host:port", "df://host:1/path"] {
            let err = scheduler_address(bad).unwrap_err();
            assert!(matches!(err, ClusterError::BadUrl(_)), "{bad}: {err}");
            assert!(err.hint().is_some_and(|h| h.contains("df://")), "{bad}");
        }
    }
}
