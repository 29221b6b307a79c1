//! The lake as the server reads it: the tables every session and saved view
//! scans are [`LiveTable`]s, whose Delta snapshot is swapped when a newer
//! version is committed, so a nightly ingest that lands while the server runs
//! is seen by the next statement without a restart. Whether anything changed
//! is a listing of each table's log from the version read ([`LakeSession::is_stale`]),
//! not a reload: tables are reopened only when one has moved on.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::Statistics;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{CastExpr, Column};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use devex_model::location::Location;
use devex_query::{AsOf, LakeSession, QueryError};
use pgwire::api::ClientInfo;
use pgwire::api::results::Response;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

/// A table whose snapshot can be replaced under running sessions: each scan
/// reads the snapshot current when it is planned.
#[derive(Debug)]
pub struct LiveTable {
    name: &'static str,
    schema: SchemaRef,
    inner: RwLock<Arc<dyn TableProvider>>,
}

impl LiveTable {
    fn new(name: &'static str, provider: &Arc<dyn TableProvider>) -> LiveTable {
        LiveTable { name, schema: provider.schema(), inner: RwLock::new(Arc::clone(provider)) }
    }

    fn current(&self) -> Arc<dyn TableProvider> {
        Arc::clone(&self.inner.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Read `provider` from now on; an error when its columns are not the planned ones.
    fn replace(&self, provider: &Arc<dyn TableProvider>) -> Result<(), String> {
        let names = |s: &SchemaRef| s.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
        if names(&provider.schema()) != names(&self.schema) {
            return Err(format!(
                "table `{}` changed its columns while devex serve ran; restart devex serve to read them",
                self.name
            ));
        }
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(provider);
        Ok(())
    }

    /// Whether the current snapshot presents other types than the session
    /// planned with: a table that was empty at startup (its placeholder has
    /// the contract's types; a Delta scan gives string views and dictionaries).
    fn differs(&self, provider: &Arc<dyn TableProvider>) -> bool {
        let schema = provider.schema();
        schema.fields().iter().zip(self.schema.fields()).any(|(a, b)| a.data_type() != b.data_type())
    }

    /// Scan `provider` and cast its columns to the planned types.
    async fn scan_cast(
        &self,
        provider: Arc<dyn TableProvider>,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let plan = provider.scan(state, projection, &[], None).await?;
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let exprs = plan
            .schema()
            .fields()
            .iter()
            .zip(indices)
            .enumerate()
            .map(|(i, (field, at))| {
                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(field.name(), i));
                let wanted = self.schema.field(at).data_type();
                let expr: Arc<dyn PhysicalExpr> = if field.data_type() == wanted {
                    column
                } else {
                    Arc::new(CastExpr::new(column, wanted.clone(), None))
                };
                ProjectionExpr { expr, alias: field.name().clone() }
            })
            .collect::<Vec<_>>();
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}

#[async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        let current = self.current();
        if self.differs(&current) {
            // Filters are typed for the planned schema: apply them after the cast.
            return Ok(vec![TableProviderFilterPushDown::Unsupported; filters.len()]);
        }
        current.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.current().statistics()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let current = self.current();
        if self.differs(&current) {
            return self.scan_cast(current, state, projection).await;
        }
        current.scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> datafusion::common::Result<ScanResult> {
        let current = self.current();
        if self.differs(&current) {
            let projection = args.projection().map(|p| p.to_vec());
            return Ok(self.scan_cast(current, state, projection.as_ref()).await?.into());
        }
        current.scan_with_args(state, args).await
    }
}

/// The lake a server reads: its latest snapshot, and the live tables
/// sessions scan.
pub struct LiveLake {
    root: Location,
    as_of: AsOf,
    runtime: Arc<RuntimeEnv>,
    current: RwLock<LakeSession>,
    served: LakeSession,
    live: Vec<Arc<LiveTable>>,
    reopening: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for LiveLake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLake").field("root", &self.root).field("as_of", &self.as_of).finish()
    }
}

impl LiveLake {
    /// Open the lake at `root`; every query runs in `runtime`.
    pub async fn open(root: Location, as_of: AsOf, runtime: Arc<RuntimeEnv>) -> Result<LiveLake, QueryError> {
        let lake = LakeSession::open_at(&root, as_of, Some(Arc::clone(&runtime))).await?;
        let live: Vec<Arc<LiveTable>> =
            lake.tables().iter().map(|(t, p)| Arc::new(LiveTable::new(t.name(), p))).collect();
        let served = lake.with_providers(|table, _| {
            let i = lake.tables().iter().position(|(t, _)| *t == table).unwrap_or_default();
            Arc::clone(&live[i]) as Arc<dyn TableProvider>
        })?;
        Ok(LiveLake { root, as_of, runtime, current: RwLock::new(lake), served, live, reopening: Default::default() })
    }

    /// The latest snapshot: for computing metrics of any window (its shared
    /// views are cached per snapshot, so a new snapshot starts afresh).
    pub fn current(&self) -> LakeSession {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The lake read through the live tables: sessions and saved views made
    /// from it always scan the latest snapshot.
    pub fn served(&self) -> &LakeSession {
        &self.served
    }

    /// Swap in the latest snapshot if a table committed since; `true` if it did.
    pub async fn refresh(&self) -> Result<bool, QueryError> {
        if !self.current().is_stale().await? {
            return Ok(false);
        }
        let _one_at_a_time = self.reopening.lock().await;
        if !self.current().is_stale().await? {
            return Ok(false);
        }
        let fresh = LakeSession::open_at(&self.root, self.as_of, Some(Arc::clone(&self.runtime))).await?;
        for ((_, provider), live) in fresh.tables().iter().zip(&self.live) {
            live.replace(provider).map_err(QueryError::Shape)?;
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(true)
    }
}

/// The hook that brings the lake up to date before each statement runs.
pub struct Fresh(pub Arc<LiveLake>);

impl Fresh {
    async fn check(&self) -> Option<PgWireError> {
        let e = self.0.refresh().await.err()?;
        Some(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "58030".into(),
            format!("the lake has new data but it could not be read: {e}"),
        ))))
    }
}

#[async_trait]
impl QueryHook for Fresh {
    async fn handle_simple_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.check().await.map(Err)
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        self.check().await.map(Err)
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &datafusion::common::ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }
}
