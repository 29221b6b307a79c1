//! The cluster's entry points in a build without Ballista: the same
//! signatures, each failing with [`ClusterError::NotBuilt`] before it touches
//! the network or the lake.

use std::net::SocketAddr;

use devex_model::location::Location;
use devex_query::{AsOf, LakeSession};

use crate::{ClusterError, ExecutorOptions};

/// Fails: this build has no scheduler.
pub async fn run_scheduler(_listen: SocketAddr) -> Result<(), ClusterError> {
    Err(ClusterError::NotBuilt("`devex cluster scheduler`".into()))
}

/// Fails: this build has no executor.
pub async fn run_executor(_options: ExecutorOptions) -> Result<(), ClusterError> {
    Err(ClusterError::NotBuilt("`devex cluster executor`".into()))
}

/// Fails: this build cannot send a query to a cluster.
pub async fn lake_session(url: &str, _root: &Location, _as_of: AsOf) -> Result<LakeSession, ClusterError> {
    Err(ClusterError::NotBuilt(format!("--cluster {url}")))
}
