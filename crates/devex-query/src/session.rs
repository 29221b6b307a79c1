//! Opening the lake as DataFusion sessions: every canonical table registered
//! by name, read at its latest version or as of a past version or time.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionConfig;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::{DataFrame, SessionContext};
use devex_lake::deltalake;
use devex_lake::table::{open_table, open_tables, table_error};
use devex_model::Table;
use devex_model::location::Location;

use crate::calendar::{Period, Window};
use crate::error::QueryError;
use crate::facts::{self, Fact};
use crate::params::{self, GroupBy, QuerySettings};
use crate::queries::Sharing;
use crate::scratch::Scratch;
use crate::{percentile, queries};

/// Which state of the lake a session reads.
pub use devex_lake::AsOf;

/// Which version of a table a session reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableVersion {
    /// The table.
    pub table: Table,
    /// Its Delta version; `None` when the table has never been written (or did not exist yet).
    pub version: Option<u64>,
}

/// Makes the sessions of a lake whose queries run elsewhere (a Ballista
/// cluster): each call gives a fresh context on it.
pub type ContextMaker = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<SessionContext, QueryError>> + Send>>
        + Send
        + Sync,
>;

/// The lake's tables, opened once; sessions over them are cheap to make.
#[derive(Clone)]
pub struct LakeSession {
    ctx: SessionContext,
    root: Location,
    tables: Vec<(Table, Arc<dyn TableProvider>)>,
    versions: Vec<TableVersion>,
    /// What was asked for: only a `Latest` session can go stale.
    as_of: AsOf,
    /// Each opened table's log, to ask for its latest version.
    logs: Vec<Option<deltalake::logstore::LogStoreRef>>,
    /// Window-independent shared views computed by earlier metrics runs over this snapshot.
    shared: queries::SharedCache,
    /// Where queries run when not in this process.
    remote: Option<ContextMaker>,
    /// The lake's stored facts; each is read in place of its view when its stamp matches.
    facts: Vec<Fact>,
    /// Each fact's version when opened (`None`: not there) and log, to notice a refresh.
    fact_logs: Vec<facts::FactLog>,
}

impl std::fmt::Debug for LakeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeSession").field("root", &self.root).field("versions", &self.versions).finish()
    }
}

impl LakeSession {
    /// Open the lake at `root`, reading each table's latest version.
    pub async fn open(root: impl AsRef<Path>) -> Result<LakeSession, QueryError> {
        Self::open_as_of(root, AsOf::Latest).await
    }

    /// Open the lake at `root` as of a version or an instant.
    pub async fn open_as_of(root: impl AsRef<Path>, as_of: AsOf) -> Result<LakeSession, QueryError> {
        Self::open_at(&Location::Local(root.as_ref().to_path_buf()), as_of, None).await
    }

    /// Open the lake at a directory or an object-store URL (credentials from
    /// each cloud's standard environment: `AWS_*`, `GOOGLE_*`, `AZURE_*`) as
    /// of a version or an instant. A table that does not exist there reads as
    /// empty. Every query of its sessions runs in `runtime` (its memory pool
    /// bounds them all); `None`: DataFusion's default runtime, unbounded.
    pub async fn open_at(
        root: &Location,
        as_of: AsOf,
        runtime: Option<Arc<RuntimeEnv>>,
    ) -> Result<LakeSession, QueryError> {
        let root = root.clone();
        let ctx = local_context(runtime.unwrap_or_default())?;
        let mut tables = Vec::new();
        let mut versions = Vec::new();
        let mut logs = Vec::new();
        for (table, delta) in open_tables(&root, as_of).await? {
            let err = table_error(table, &root);
            let (provider, version, log) = match delta {
                Some(t) => {
                    t.update_datafusion_session(&ctx.state()).map_err(err)?;
                    (t.table_provider().await?, t.version(), Some(t.log_store()))
                }
                None => {
                    (Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?) as Arc<dyn TableProvider>, None, None)
                }
            };
            ctx.register_table(table.name(), Arc::clone(&provider))?;
            tables.push((table, provider));
            versions.push(TableVersion { table, version });
            logs.push(log);
        }
        let (facts, fact_logs) = facts::load(&root).await?;
        Ok(LakeSession {
            ctx,
            root,
            tables,
            versions,
            as_of,
            logs,
            shared: queries::SharedCache::default(),
            remote: None,
            facts,
            fact_logs,
        })
    }

    /// The lake's tables read through `tables`, with every query run on the
    /// contexts `remote` makes (a cluster): no view is computed up front in
    /// this process, and the metric parameters travel as `VALUES`.
    /// `facts` (providers the cluster can ship) are read in place of their
    /// views where their stamps match, as in a local session.
    pub async fn on_cluster(
        root: &Location,
        tables: Vec<(Table, Arc<dyn TableProvider>)>,
        versions: Vec<TableVersion>,
        facts: Vec<Fact>,
        remote: ContextMaker,
    ) -> Result<LakeSession, QueryError> {
        let ctx = remote().await?;
        for (table, provider) in &tables {
            ctx.register_table(table.name(), Arc::clone(provider))?;
        }
        Ok(LakeSession {
            ctx,
            root: root.clone(),
            tables,
            logs: vec![None; versions.len()],
            versions,
            as_of: AsOf::Latest,
            shared: queries::SharedCache::default(),
            remote: Some(remote),
            facts,
            fact_logs: Vec::new(),
        })
    }

    /// Whether a table has committed a version newer than the one this
    /// session reads (or a table it found empty has been created since): a
    /// listing of each table's log from its version on, not a reload. Always
    /// `false` for a session of a past version or instant.
    pub async fn is_stale(&self) -> Result<bool, QueryError> {
        if self.as_of != AsOf::Latest {
            return Ok(false);
        }
        for ((tv, log), (table, _)) in self.versions.iter().zip(&self.logs).zip(&self.tables) {
            let newer = match (tv.version, log) {
                (Some(v), Some(log)) => log.get_latest_version(v).await.map_err(table_error(*table, &self.root))? > v,
                _ => open_table(&self.root, *table).await?.is_some(),
            };
            if newer {
                return Ok(true);
            }
        }
        for (name, version, log) in &self.fact_logs {
            let newer = match (version, log) {
                (Some(v), Some(log)) => {
                    let err = |e| devex_lake::LakeError::Table { table: format!("_facts/{name}"), source: Box::new(e) };
                    log.get_latest_version(*v).await.map_err(err)? > *v
                }
                _ => devex_lake::facts::open_fact(&self.root, name).await?.is_some(),
            };
            if newer {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// What identifies the snapshot this session reads: every table's Delta
    /// version and every derived fact's. Two sessions with the same key give
    /// the same rows for the same query and settings (a result cache's key).
    pub fn snapshot_key(&self) -> String {
        let tables = self.versions.iter().map(|v| format!("{}@{:?}", v.table.name(), v.version));
        let facts = self.fact_logs.iter().map(|(name, version, _)| format!("_facts/{name}@{version:?}"));
        tables.chain(facts).collect::<Vec<_>>().join(",")
    }

    /// The stored facts this session may read in place of their views (each
    /// only where its stamp matches this snapshot and the run's settings).
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// This snapshot reading `facts` (e.g. computed in memory) in place of
    /// the views they hold, where their stamps match.
    pub fn with_facts(&self, facts: Vec<Fact>) -> LakeSession {
        LakeSession { facts, shared: queries::SharedCache::default(), ..self.clone() }
    }

    /// A session with the views registered over `facts` (nothing computed up
    /// front) for `period`, and every view's lineage: what the fact writer
    /// plans each fact in.
    /// `instead`: one table read through another provider (the rows a commit
    /// appended, for an incremental refresh). Only the views up to every one
    /// of `views` are registered.
    pub(crate) async fn facts_context(
        &self,
        settings: &QuerySettings,
        facts: &[Fact],
        period: Period,
        instead: Option<(Table, Arc<dyn TableProvider>)>,
        views: &[&str],
    ) -> Result<(SessionContext, std::collections::HashMap<String, facts::Lineage>), QueryError> {
        let ctx = local_context(self.ctx.runtime_env())?;
        for (table, provider) in &self.tables {
            let provider = match &instead {
                Some((t, other)) if t == table => other,
                _ => provider,
            };
            ctx.register_table(table.name(), Arc::clone(provider))?;
        }
        let periods = [period];
        params::register(&ctx, settings, &periods, false)?;
        let lineage = queries::register_views(
            &ctx,
            settings,
            &periods,
            GroupBy::Org,
            Sharing::Inline,
            facts,
            &self.versions,
            views,
        )
        .await?;
        Ok((ctx, lineage))
    }

    /// Each table and the provider sessions read it through.
    pub fn tables(&self) -> &[(Table, Arc<dyn TableProvider>)] {
        &self.tables
    }

    /// The same lake read through other providers (`wrap` gets each table's
    /// own): sessions made from the result, and their saved views, scan
    /// whatever the wrappers scan. The versions reported stay this session's.
    pub fn with_providers(
        &self,
        wrap: impl Fn(Table, &Arc<dyn TableProvider>) -> Arc<dyn TableProvider>,
    ) -> Result<LakeSession, QueryError> {
        let ctx = local_context(self.ctx.runtime_env())?;
        let mut tables = Vec::new();
        for (table, provider) in &self.tables {
            let wrapped = wrap(*table, provider);
            ctx.register_table(table.name(), Arc::clone(&wrapped))?;
            tables.push((*table, wrapped));
        }
        // The served views are planned once over the wrapped tables: the facts, stamped for this snapshot, are not.
        Ok(LakeSession {
            ctx,
            tables,
            shared: queries::SharedCache::default(),
            facts: Vec::new(),
            fact_logs: Vec::new(),
            ..self.clone()
        })
    }

    /// The version of each table this session reads.
    pub fn versions(&self) -> &[TableVersion] {
        &self.versions
    }

    /// Where the lake is.
    pub fn root(&self) -> &Location {
        &self.root
    }

    /// The latest event time of a table (e.g. the last deployment), `None` if it is empty.
    pub async fn latest_event(&self, table: Table) -> Result<Option<DateTime<Utc>>, QueryError> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::TimestampMicrosecondType;
        let Some(column) = table.event_time() else { return Ok(None) };
        let sql = format!("SELECT max(\"{column}\") FROM {}", table.name());
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let Some(b) = batches.first() else { return Ok(None) };
        let col = b.column(0).as_primitive::<TimestampMicrosecondType>();
        Ok(col.is_valid(0).then(|| DateTime::from_timestamp_micros(col.value(0))).flatten())
    }

    /// Every table's Delta version read and latest event: how fresh the lake is.
    pub async fn freshness(&self) -> Result<Vec<(TableVersion, Option<DateTime<Utc>>)>, QueryError> {
        let mut out = Vec::new();
        for tv in &self.versions {
            out.push((tv.clone(), self.latest_event(tv.table).await?));
        }
        Ok(out)
    }

    /// Plan one SQL statement over the lake's tables.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame, QueryError> {
        Ok(self.ctx.sql(sql).await?)
    }

    /// A new session over the same tables with the metric parameters and
    /// every saved view of `queries/` registered, for ad-hoc queries.
    pub async fn metrics_context(
        &self,
        settings: &QuerySettings,
        window: Window,
        group_by: GroupBy,
    ) -> Result<SessionContext, QueryError> {
        self.context_with_views(settings, &[Period::window(window)], group_by, Shared::Inline).await
    }

    /// Like [`Self::metrics_context`], with the views several metrics share
    /// computed once: for computing every metric of a window. On a cluster
    /// they are computed there as they are registered, and kept in the
    /// lake's scratch directory until the session goes ([`crate::scratch`]).
    pub async fn metrics_run_context(
        &self,
        settings: &QuerySettings,
        window: Window,
        group_by: GroupBy,
    ) -> Result<SessionContext, QueryError> {
        self.context_with_views(settings, &[Period::window(window)], group_by, Shared::Computed).await
    }

    /// Like [`Self::metrics_run_context`] for several periods at once (the
    /// quarters of a trend): every window view, and `metrics`, has a row per
    /// period, keyed by `period`, in one pass over the lake.
    pub async fn periods_run_context(
        &self,
        settings: &QuerySettings,
        periods: &[Period],
        group_by: GroupBy,
    ) -> Result<SessionContext, QueryError> {
        self.context_with_views(settings, periods, group_by, Shared::Computed).await
    }

    /// Like [`Self::periods_run_context`] with every view planned inline,
    /// nothing computed up front: for planning, or a few ad-hoc reads.
    pub async fn periods_context(
        &self,
        settings: &QuerySettings,
        periods: &[Period],
        group_by: GroupBy,
    ) -> Result<SessionContext, QueryError> {
        self.context_with_views(settings, periods, group_by, Shared::Inline).await
    }

    /// A session for ad-hoc statements (`devex sql`): like
    /// [`Self::metrics_run_context`]. A view several metrics share is computed
    /// once, when a statement first reads it (inline, every view re-plans them:
    /// `SELECT * FROM metrics` over two years of a large organisation took
    /// 16.9 s instead of under 2); a statement that reads only the lake's
    /// tables, or views that share nothing, pays nothing for them. On a
    /// cluster every view is planned inline: nothing is computed, or
    /// written, before the statement.
    pub async fn statement_context(
        &self,
        settings: &QuerySettings,
        window: Window,
        group_by: GroupBy,
    ) -> Result<SessionContext, QueryError> {
        self.context_with_views(settings, &[Period::window(window)], group_by, Shared::InProcess).await
    }

    async fn context_with_views(
        &self,
        settings: &QuerySettings,
        periods: &[Period],
        group_by: GroupBy,
        shared: Shared,
    ) -> Result<SessionContext, QueryError> {
        queries::contiguous_span(periods)?;
        let ctx = match &self.remote {
            Some(remote) => remote().await?,
            None => local_context(self.ctx.runtime_env())?,
        };
        for (table, provider) in &self.tables {
            ctx.register_table(table.name(), Arc::clone(provider))?;
        }
        let remote = self.remote.is_some();
        params::register(&ctx, settings, periods, remote)?;
        let scratch = match (remote, shared) {
            (true, Shared::Computed) => match Scratch::create(&ctx, &self.root).await {
                Ok(scratch) => Some(scratch),
                Err(e) => {
                    tracing::warn!(
                        "the cluster's shared views cannot be kept in the lake ({e}): each view plans them inline, which is slower"
                    );
                    None
                }
            },
            _ => None,
        };
        let sharing = match (&scratch, shared) {
            (Some(scratch), _) => Sharing::Scratch(scratch),
            (None, Shared::Inline) => Sharing::Inline,
            (None, _) if remote => Sharing::Inline,
            (None, _) => Sharing::InProcess(&self.shared),
        };
        queries::register_views(&ctx, settings, periods, group_by, sharing, &self.facts, &self.versions, &[]).await?;
        if let Some(scratch) = scratch {
            // The session's tables read its files: they go when it does.
            ctx.state_ref().write().config_mut().set_extension(scratch);
        }
        Ok(ctx)
    }
}

/// How a session's shared views are computed (see [`Sharing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shared {
    /// Planned inline.
    Inline,
    /// Computed once on first scan in this process; planned inline on a
    /// cluster (an ad-hoc statement may read none of them).
    InProcess,
    /// Computed once, here or on the cluster: for a run that reads them all.
    Computed,
}

/// DataFusion's settings: its defaults, then any `DATAFUSION_*` environment
/// variable (`DATAFUSION_EXECUTION_TARGET_PARTITIONS=4`,
/// `DATAFUSION_EXECUTION_BATCH_SIZE=16384`, ...), so a deployment can tune the
/// engine to its machine without a rebuild. A malformed value is an error.
fn session_config() -> Result<SessionConfig, QueryError> {
    Ok(SessionConfig::from_env()?.with_information_schema(true))
}

/// A session of this process over `runtime`: DataFusion's, with [`session_config`]
/// and exact percentiles that hold each value once ([`crate::percentile`]).
/// (A cluster's scheduler and executors register the same two:
/// `devex_cluster::process`.)
fn local_context(runtime: Arc<RuntimeEnv>) -> Result<SessionContext, QueryError> {
    let state = SessionStateBuilder::new()
        .with_config(session_config()?)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(percentile::SinglePass))
        .build();
    let ctx = SessionContext::new_with_state(state);
    ctx.register_udaf(percentile::percentile_cont());
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many times the shared view `name` of `ctx` was computed (`None`: it
    /// was not a shared view there, e.g. one kept from an earlier run).
    async fn runs(ctx: &SessionContext, name: &str) -> Option<usize> {
        let provider = ctx.table_provider(name).await.unwrap();
        provider.downcast_ref::<crate::shared::SharedView>().map(|v| v.runs())
    }

    /// A lake with no table written, in a directory kept while the pair lives.
    async fn empty_lake() -> (tempfile::TempDir, LakeSession) {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakeSession::open(dir.path()).await.unwrap();
        (dir, lake)
    }

    /// Midnight UTC of day `d` of January 2026.
    fn day(d: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 1, d, 0, 0, 0).unwrap()
    }

    /// The shared views that do not depend on the window are computed once per
    /// lake snapshot and settings, whatever the window; the others once per
    /// run, on the first read, however many views read them.
    #[tokio::test]
    async fn window_independent_shared_views_are_computed_once() {
        let (_dir, lake) = empty_lake().await;
        let settings = QuerySettings::default();
        for (from, to) in [(1, 10), (10, 20)] {
            let ctx = lake.metrics_run_context(&settings, Window { from: day(from), to: day(to) }, GroupBy::Team);
            let ctx = ctx.await.unwrap();
            assert_eq!(runs(&ctx, "lead_time_summary").await, Some(0), "nothing is computed before a read");
            ctx.sql("SELECT * FROM metrics").await.unwrap().collect().await.unwrap();
            // metrics reads lead_time_summary through lead_time and lead_time_stages.
            assert_eq!(runs(&ctx, "lead_time_summary").await, Some(1));
            assert_eq!(runs(&ctx, "deployment_outcome").await, Some(1));
        }
        let cached = |name: &str| {
            let cache = lake.shared.lock().unwrap();
            cache.keys().filter(|k| k.contains(&format!("VIEW {name} AS"))).count()
        };
        for name in ["band_threshold", "production_deployment", "service_group", "incident_link"] {
            assert_eq!(cached(name), 1, "{name}: one entry for both windows");
        }
        assert_eq!(cached("deployment_outcome"), 0, "reads window_deployment: never reused");
        assert_eq!(cached("lead_time_summary"), 0, "reads the window: never reused");
    }

    /// `compute_all` computes every shared view once, and the statement after it
    /// computes none again.
    #[tokio::test]
    async fn compute_all_computes_every_shared_view_once() {
        let (_dir, lake) = empty_lake().await;
        let settings = QuerySettings::default();
        let window = Window { from: day(1), to: day(10) };
        let ctx = lake.metrics_run_context(&settings, window, GroupBy::Team).await.unwrap();
        crate::shared::compute_all(&ctx).await.unwrap();
        for name in queries::SHARED_VIEWS {
            assert_eq!(runs(&ctx, name).await, Some(1), "{name}");
        }
        ctx.sql("SELECT * FROM metrics").await.unwrap().collect().await.unwrap();
        for name in queries::SHARED_VIEWS {
            assert_eq!(runs(&ctx, name).await, Some(1), "{name}: not again");
        }
    }

    /// A statement computes only the shared views it reads.
    #[tokio::test]
    async fn a_statement_computes_only_the_shared_views_it_reads() {
        let (_dir, lake) = empty_lake().await;
        let settings = QuerySettings::default();
        let ctx = lake.statement_context(&settings, Window { from: day(1), to: day(10) }, GroupBy::Team).await.unwrap();
        ctx.sql("SELECT count(*) FROM deployments").await.unwrap().collect().await.unwrap();
        assert_eq!(runs(&ctx, "production_deployment").await, Some(0));
        ctx.sql("SELECT * FROM lead_time").await.unwrap().collect().await.unwrap();
        assert_eq!(runs(&ctx, "lead_time_summary").await, Some(1));
        assert_eq!(runs(&ctx, "production_deployment").await, Some(1));
        assert_eq!(runs(&ctx, "deployment_outcome").await, Some(0), "lead time does not read it");
        ctx.sql("SELECT * FROM lead_time_stages").await.unwrap().collect().await.unwrap();
        assert_eq!(runs(&ctx, "lead_time_summary").await, Some(1), "kept for the next statement");
    }
}
