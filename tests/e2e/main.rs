//! End-to-end tests of the `devex` binary: each test runs the real binary in
//! its own temp dir against a real Delta lake on disk, and reads the result
//! back through DataFusion (`devex-query`), not through the writer's own path.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod browser;
#[cfg(feature = "cluster")]
mod cluster;
#[cfg(not(feature = "cluster"))]
mod cluster_not_built;
mod demo;
mod effect;
mod explain;
mod facts;
mod gitlab;
mod hardening;
mod import;
mod ingest;
mod lake;
mod metrics;
mod object_storage;
mod pagerduty;
mod quick_start;
mod report;
mod serve;
mod serve_hostile;
mod serve_isolation;
mod ship;
mod surveys;
mod util;
