//! The cluster's processes, run inside the devex binary so that they decode
//! devex's plans and resolve the lake's object-store URLs with the same
//! credentials (each cloud's standard environment) as every other command.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::JobId;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::{RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport};
use ballista_executor::execution_engine::{DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;
use devex_query::percentile;

use crate::{ClusterError, ExecutorOptions, stores};

/// A scheduler's session: Ballista's defaults, with devex's object stores
/// and devex's exact percentiles, planned in one step as in a local session
/// ([`devex_query::percentile`]): each value is shuffled once by group,
/// rather than gathered into a list per partition and shuffled as lists.
fn scheduler_session(
    config: datafusion::prelude::SessionConfig,
) -> datafusion::common::Result<datafusion::execution::SessionState> {
    let state = ballista_core::utils::default_session_builder(config)?;
    let mut state = SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(stores::runtime()?)
        .with_physical_optimizer_rule(Arc::new(percentile::SinglePass))
        .build();
    state.register_udaf(Arc::new(percentile::percentile_cont()))?;
    Ok(state)
}

/// How long a scheduler with no executor lets a query wait for one.
pub const NO_EXECUTORS_GRACE_SECS: u64 = 30;

/// Run a scheduler listening on `listen` until the process is stopped.
pub async fn run_scheduler(listen: SocketAddr) -> Result<(), ClusterError> {
    let mut config = SchedulerConfig::default().with_hostname(listen.ip().to_string()).with_port(listen.port());
    config.bind_host = listen.ip().to_string();
    config.override_session_builder = Some(Arc::new(scheduler_session));
    // With no executor registered, a query fails after this long rather than
    // waiting for one forever (executors beat every 10 s).
    config.no_executors_grace_period_seconds = NO_EXECUTORS_GRACE_SECS;
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| ClusterError::Ballista(e.to_string()))?;
    ballista_scheduler::scheduler_process::start_server(cluster, listen, Arc::new(config))
        .await
        .map_err(|e| ClusterError::Ballista(e.to_string()))
}

/// Run an executor until the process is stopped.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        bind_host: options.listen.ip().to_string(),
        external_host: Some(options.external_host.unwrap_or_else(|| options.listen.ip().to_string())),
        port: options.listen.port(),
        grpc_port: options.listen.port().checked_add(1).ok_or_else(|| {
            ClusterError::Ballista(format!("--listen {}: the port after it is taken for gRPC", options.listen))
        })?,
        scheduler_host: options.scheduler.0,
        scheduler_port: options.scheduler.1,
        scheduler_connect_timeout_seconds: 30,
        vcores: if options.concurrent_tasks == 0 { defaults.vcores } else { options.concurrent_tasks },
        work_dir: options.work_dir,
        executor_heartbeat_interval_seconds: 10,
        override_runtime_producer: Some(Arc::new(|_config| stores::runtime())),
        override_execution_engine: Some(Arc::new(WithoutOperatorMetrics(DefaultExecutionEngine::new()))),
        override_function_registry: Some(Arc::new(function_registry())),
        ..defaults
    };
    start_executor_process(Arc::new(config)).await.map_err(|e| ClusterError::Ballista(e.to_string()))
}

/// The functions an executor decodes plans with: Ballista's, the array
/// functions DataFusion's sessions have (Ballista 55 leaves them out, so a
/// task computing `deployment_outcome`'s `incident_ids`, an
/// `array_to_string` of an `array_sort`, was rejected), and devex's
/// `percentile_cont`, which the scheduler plans.
fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in datafusion::functions_nested::all_default_nested_functions() {
        registry.scalar_functions.entry(f.name().to_string()).or_insert(f);
    }
    let percentile = Arc::new(percentile::percentile_cont());
    registry.aggregate_functions.insert(percentile.name().to_string(), percentile);
    registry
}

/// Ballista's execution engine, with tasks that report no per-operator
/// metrics. Ballista 55's scheduler merges a task's operator metrics into its
/// stage's, and when two tasks of a stage report different numbers of
/// operators ("task metrics array size 9 does not equal with the stage
/// metrics array size 10") it drops the task's status: the stage never
/// completes and the job waits forever. A task without metrics is accepted
/// as is. Everything else a task reports is passed on.
struct WithoutOperatorMetrics(DefaultExecutionEngine);

impl ExecutionEngine for WithoutOperatorMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> datafusion::error::Result<Arc<dyn QueryStageExecutor>> {
        let inner = self.0.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(StageWithoutMetrics(inner)))
    }
}

#[derive(Debug)]
struct StageWithoutMetrics(Arc<dyn QueryStageExecutor>);

impl std::fmt::Display for StageWithoutMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for StageWithoutMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::error::Result<Vec<ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> datafusion::error::Result<Vec<WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}
