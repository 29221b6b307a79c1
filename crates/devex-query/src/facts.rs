//! Derived facts, the reading and the computing side: which views of
//! `queries/` are kept as fact tables in the lake (`devex_lake::facts`),
//! when a session may read one in place of its view, and how the writer
//! computes them. The view's SQL is the one definition: a fact is that view's
//! rows, stamped with the base table versions and the settings they came from.
//!
//! A session reads a fact only when its stamp equals what the session would
//! compute itself: the same rendered SQL (of the view and every view it
//! reads), the same settings, and the same version of every base table it
//! reads. Anything else (`--as-of-version`, a table another engine wrote, a
//! lake an older devex wrote, a fact not refreshed yet) plans the view inline.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::{Distinct, EmptyRelation, LogicalPlan, Union};
use devex_lake::facts::{FactStamp, FactWritten, open_fact};
use devex_lake::lock::WriterLock;
use devex_lake::writer::{CommitInfo, Lake};
use devex_model::Table;
use devex_model::location::Location;

use crate::calendar::{Period, Window};
use crate::error::QueryError;
use crate::params::QuerySettings;
use crate::session::{LakeSession, TableVersion};

/// The views kept as facts, each after the facts it reads.
pub const FACTS: &[&str] = &["production_deployment", "deployed_change", "incident_link", "change_commit"];

/// A stored fact a session may read in place of its view.
#[derive(Clone)]
pub struct Fact {
    /// The view it holds.
    pub name: String,
    /// What it was computed from.
    pub stamp: FactStamp,
    /// Its rows.
    pub provider: Arc<dyn TableProvider>,
    /// The fact table's version.
    pub version: Option<u64>,
}

impl std::fmt::Debug for Fact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fact").field("name", &self.name).field("version", &self.version).finish()
    }
}

/// What a view is computed from, worked out as the views are registered:
/// the lake tables it reads (through any view), and the text of every view
/// and settings table it reads, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// The lake tables read.
    pub base: BTreeSet<Table>,
    /// Each view's rendered SQL and each settings table's contents, by name.
    pub parts: BTreeMap<String, String>,
}

impl Lineage {
    /// The definition a stamp records: every part, in name order.
    pub fn definition(&self) -> String {
        self.parts.iter().map(|(name, text)| format!("-- {name}\n{text}\n")).collect()
    }

    /// The stamp a fact computed from `versions` with this lineage carries.
    pub fn stamp(&self, versions: &[TableVersion]) -> FactStamp {
        let base = self
            .base
            .iter()
            .map(|t| (t.name().to_string(), versions.iter().find(|v| v.table == *t).and_then(|v| v.version)))
            .collect();
        FactStamp { base, definition: self.definition() }
    }
}

/// The stored facts of the lake at `root` that carry a stamp (each at its
/// latest version), whatever their stamp says: a session checks them as it
/// registers the views.
/// With each fact's version and log (`None`: never written), to notice a refresh.
pub(crate) async fn load(root: &Location) -> Result<(Vec<Fact>, Vec<FactLog>), QueryError> {
    let mut out = Vec::new();
    let mut logs = Vec::new();
    for name in FACTS {
        let Some(stored) = open_fact(root, name).await? else {
            logs.push((*name, None, None));
            continue;
        };
        let version = stored.table.version();
        logs.push((*name, version, Some(stored.table.log_store())));
        let Some(stamp) = stored.stamp else { continue };
        let provider = stored.table.table_provider().await?;
        out.push(Fact { name: stored.name, stamp, provider, version });
    }
    Ok((out, logs))
}

/// A fact's name, version when opened and log.
pub(crate) type FactLog = (&'static str, Option<u64>, Option<devex_lake::deltalake::logstore::LogStoreRef>);

/// How each fact of a lake stands against the snapshot a reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactStatus {
    /// The view.
    pub name: String,
    /// The fact table's version, `None` when it was never written.
    pub version: Option<u64>,
    /// Readers of the latest snapshot use it.
    pub current: bool,
    /// Why not, when it is not current.
    pub reason: Option<String>,
}

/// Each fact of [`FACTS`]: whether a reader of `lake` with `settings` uses it, and why not.
pub async fn status(lake: &LakeSession, settings: &QuerySettings) -> Result<Vec<FactStatus>, QueryError> {
    let lineage = lineages(lake, settings).await?;
    let mut out = Vec::new();
    for name in FACTS {
        let stored = open_fact(lake.root(), name).await?;
        let version = stored.as_ref().and_then(|s| s.table.version());
        let want = lineage.get(*name).map(|l| l.stamp(lake.versions()));
        let reason = match (stored.as_ref().map(|s| &s.stamp), want) {
            (None, _) => Some("never computed".to_string()),
            (Some(None), _) => Some("written without devex's stamp".to_string()),
            (Some(Some(_)), None) => Some("no longer a view of queries/".to_string()),
            (Some(Some(have)), Some(want)) => stale_reason(have, &want),
        };
        out.push(FactStatus { name: name.to_string(), version, current: reason.is_none(), reason });
    }
    Ok(out)
}

/// Why a fact stamped `have` is not current for a reader that wants `want`; `None` if it is.
fn stale_reason(have: &FactStamp, want: &FactStamp) -> Option<String> {
    for (table, version) in &want.base {
        let had = have.base.get(table);
        if had != Some(version) {
            let show = |v: Option<&Option<u64>>| match v {
                Some(Some(v)) => format!("version {v}"),
                Some(None) => "no version".to_string(),
                None => "not read".to_string(),
            };
            return Some(format!("`{table}` is at {}, the fact was computed from {}", show(Some(version)), show(had)));
        }
    }
    if have.base.len() != want.base.len() {
        return Some("computed from other tables".to_string());
    }
    (have.definition != want.definition).then(|| "its definition or settings changed".to_string())
}

/// The lineage of every view, as a session of `lake` with `settings` registers them.
async fn lineages(lake: &LakeSession, settings: &QuerySettings) -> Result<HashMap<String, Lineage>, QueryError> {
    let (_, lineage) = lake.facts_context(settings, &[], any_period(), None, FACTS).await?;
    Ok(lineage)
}

/// Facts do not depend on the window: any one will do to register the views.
fn any_period() -> Period {
    let day = |d| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2000, 1, d, 0, 0, 0).unwrap();
    Period::window(Window { from: day(1), to: day(2) })
}

/// Recompute every fact that is not current for the lake's latest snapshot
/// and write it, in [`FACTS`] order (each computed fact reads the ones
/// before it, already current: from the lake, or inline when it was written
/// whole with few rows). `force`: every fact, current or not, in full.
///
/// A fact whose only change since its stamp is rows appended to one table it
/// is linear in ([`appendable`]) is refreshed by appending the rows its view
/// gives over the appended rows alone; any other change recomputes it whole.
/// Both give the rows a full recompute gives. Appends that read no fact
/// written by this refresh are written side by side (each to its own table,
/// so a night's appends take about as long as the longest of them); a full
/// recompute is written alone.
/// Needs the writer's lock: only the one writer writes facts.
pub async fn refresh(
    lake: &Lake,
    lock: &WriterLock,
    settings: &QuerySettings,
    info: &CommitInfo,
    force: bool,
) -> Result<Vec<FactWritten>, QueryError> {
    let mut written: Vec<FactWritten> = Vec::new();
    // The lake as opened, its views registered (up to the last fact), and the facts
    // written since: a fact that reads one of those opens the lake again to read it.
    let mut opened: Option<Opened> = None;
    // Appends planned but not yet written, written together before the lake is reopened,
    // before a full recompute and at the end.
    let mut appends: Vec<Pending> = Vec::new();
    for name in FACTS {
        let started = std::time::Instant::now();
        let ms = |at: std::time::Instant| at.elapsed().as_millis() as u64;
        let reads_new = |(_, _, lineages, since): &Opened| {
            lineages.get(*name).is_some_and(|l| since.iter().any(|w| l.parts.contains_key(*w)))
        };
        if opened.as_ref().is_none_or(reads_new) {
            written.extend(write_appends(lake, lock, info, std::mem::take(&mut appends)).await?);
            let session = LakeSession::open_at(lake.location(), crate::AsOf::Latest, None).await?;
            // `force` reads only what this refresh wrote; otherwise every stored fact whose stamp matches.
            let usable: Vec<Fact> = session
                .facts()
                .iter()
                .filter(|f| !force || written.iter().any(|w| w.name == f.name))
                .cloned()
                .collect();
            let (ctx, lineages) = session.facts_context(settings, &usable, any_period(), None, FACTS).await?;
            tracing::debug!(fact = name, ms = ms(started), "lake opened and views registered for the facts' refresh");
            opened = Some((session, ctx, lineages, Vec::new()));
        }
        let Some((session, ctx, lineages, since)) = opened.as_mut() else { unreachable!("opened above") };
        let Some(lineage) = lineages.get(*name) else {
            return Err(QueryError::Shape(format!("`{name}` is not a view of queries/")));
        };
        let stamp = lineage.stamp(session.versions());
        // `force` recomputes whole: no stored fact is held or read.
        let stored: &[Fact] = if force { &[] } else { session.facts() };
        let held = stored.iter().find(|f| f.name == *name);
        if held.is_some_and(|f| f.stamp == stamp) {
            continue;
        }
        let usable: Vec<Fact> = stored.iter().filter(|f| f.name != *name).cloned().collect();
        let increment = match held {
            Some(held) => appended_rows(session, settings, held, &stamp, &usable).await?,
            None => None,
        };
        if let Some((ctx, plan)) = increment {
            since.push(name);
            appends.push(Pending { name, plan, state: ctx.state(), stamp, started });
            continue;
        }
        written.extend(write_appends(lake, lock, info, std::mem::take(&mut appends)).await?);
        let plan = ctx.table(*name).await?.logical_plan().clone();
        let fact = lake.write_fact(lock, name, plan, ctx.state(), &stamp, info, false).await?;
        // A later fact reads a small one inline (from its base tables, as this refresh just did)
        // in less time than opening the lake again to read it: a first import writes empty facts.
        if fact.rows >= REOPEN_ROWS {
            since.push(name);
        }
        written.push(fact);
        tracing::debug!(fact = name, appended = false, ms = ms(started), "fact written");
    }
    written.extend(write_appends(lake, lock, info, appends).await?);
    Ok(written)
}

/// A fact written whole with fewer rows than this is read inline by the facts
/// after it in the same refresh: the lake is not opened again to read it.
const REOPEN_ROWS: u64 = 100_000;

/// A fact's increment, planned and not yet written.
struct Pending {
    name: &'static str,
    plan: LogicalPlan,
    state: datafusion::execution::SessionState,
    stamp: FactStamp,
    started: std::time::Instant,
}

/// Write `appends` side by side; what each wrote, in their order.
async fn write_appends(
    lake: &Lake,
    lock: &WriterLock,
    info: &CommitInfo,
    appends: Vec<Pending>,
) -> Result<Vec<FactWritten>, QueryError> {
    let writes = appends.into_iter().map(|p| async move {
        let written = lake.write_fact(lock, p.name, p.plan, p.state, &p.stamp, info, true).await?;
        let ms = p.started.elapsed().as_millis() as u64;
        tracing::debug!(fact = p.name, appended = true, ms, "fact written");
        Ok::<_, QueryError>(written)
    });
    futures::future::try_join_all(writes).await
}

/// The lake as a refresh opened it, the context with its views, every
/// view's lineage, and the facts written since it was opened.
type Opened = (LakeSession, datafusion::prelude::SessionContext, HashMap<String, Lineage>, Vec<&'static str>);

/// How rows appended to a table add to a fact's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Linear {
    /// As many rows as the view gives over the appended rows alone (joins
    /// and projections: each row of the table is read once).
    Bag,
    /// The `DISTINCT` rows the view gives over the appended rows alone, less
    /// those it holds already (a `SELECT DISTINCT` over a `UNION ALL` of
    /// such joins).
    Set,
}

/// The base tables the view of the fact `name` is linear in, and how: with
/// `T` appended to by `ΔT` and nothing else changed, `view(T ∪ ΔT) =
/// view(T) ∪ view(ΔT)`. A join of two such tables is linear in each alone,
/// so an increment is used only when exactly one table changed.
///
/// - `deployed_change` is `production_deployment ⋈ changes`: linear in `changes`.
/// - `incident_link` is the distinct union of joins of `incidents` with
///   `production_deployment` and `changes`; rule 3's window link of an
///   incident depends on the production deployments and that incident alone
///   (the others carry no sequence number into the running max): linear in
///   `changes` and in `incidents`.
/// - `change_commit` is a projection of `changes`: linear in `changes`.
/// - `production_deployment` numbers each service's deployments and links
///   each to the next: a new deployment changes its neighbours' rows. It is
///   always recomputed whole.
fn appendable(name: &str) -> (&'static [Table], Linear) {
    match name {
        "deployed_change" | "change_commit" => (&[Table::Changes], Linear::Bag),
        "incident_link" => (&[Table::Changes, Table::Incidents], Linear::Set),
        _ => (&[], Linear::Bag),
    }
}

/// The plan of the rows to append to the fact `held` to bring it to `want`,
/// when the only change since its stamp is rows appended to one table its
/// view is linear in; `None` otherwise (a full recompute is needed).
async fn appended_rows(
    session: &LakeSession,
    settings: &QuerySettings,
    held: &Fact,
    want: &FactStamp,
    usable: &[Fact],
) -> Result<Option<(datafusion::prelude::SessionContext, LogicalPlan)>, QueryError> {
    let (tables, linear) = appendable(&held.name);
    let have = &held.stamp;
    if have.definition != want.definition || !have.base.keys().eq(want.base.keys()) {
        return Ok(None);
    }
    let changed: Vec<(&String, &Option<u64>)> =
        want.base.iter().filter(|(t, v)| have.base.get(*t) != Some(*v)).collect();
    let [(changed, Some(until))] = changed.as_slice() else { return Ok(None) };
    let Some(table) = tables.iter().copied().find(|t| t.name() == changed.as_str()) else { return Ok(None) };
    let Some(Some(since)) = have.base.get(*changed) else { return Ok(None) };
    let Some(files) = devex_lake::snapshot::appended_files(session.root(), table, *since, *until).await? else {
        return Ok(None);
    };
    let appended = crate::files::files_table(table, files)?;
    // A fact read in the increment's session must not read `table` (it holds all its rows).
    let usable: Vec<Fact> = usable.iter().filter(|f| !f.stamp.base.contains_key(table.name())).cloned().collect();
    let views = [held.name.as_str()];
    let (ctx, _) = session.facts_context(settings, &usable, any_period(), Some((table, appended)), &views).await?;
    let view = ctx.table(held.name.as_str()).await?.logical_plan().clone();
    let plan = match linear {
        Linear::Bag => view,
        Linear::Set => {
            ctx.register_table(
                "devex_fact_appended",
                Arc::new(ViewTable::new(prune_unchanged(view, table.name())?, None)),
            )?;
            ctx.register_table("devex_fact_held", Arc::clone(&held.provider))?;
            let sql = "SELECT * FROM devex_fact_appended EXCEPT SELECT * FROM devex_fact_held";
            ctx.sql(sql).await?.logical_plan().clone()
        }
    };
    Ok(Some((ctx, plan)))
}

/// A `DISTINCT` view's plan with the branches of its top `UNION` that do not
/// read `table` replaced by empty relations. With only `table` appended to,
/// such a branch gives the rows it gave before, all of them held by the
/// fact already: the increment (these rows less the held ones) is the same
/// without them, and the work they cost (rule 3's ordered window over every
/// production deployment, for `incident_link`) is saved. Below the
/// `DISTINCT`, only row-by-row nodes are passed through; any other shape is
/// left whole.
fn prune_unchanged(plan: LogicalPlan, table: &str) -> Result<LogicalPlan, QueryError> {
    fn reads(plan: &LogicalPlan, table: &str) -> bool {
        plan.exists(|node| Ok(matches!(node, LogicalPlan::TableScan(scan) if scan.table_name.table() == table)))
            .unwrap_or(true)
    }
    fn walk(plan: LogicalPlan, table: &str, distinct: bool) -> Result<LogicalPlan, QueryError> {
        let passes = match &plan {
            LogicalPlan::Distinct(Distinct::All(_)) => true,
            LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) | LogicalPlan::Filter(_) => true,
            LogicalPlan::Union(union) if distinct => {
                let inputs = union
                    .inputs
                    .iter()
                    .map(|input| match reads(input, table) {
                        true => Arc::clone(input),
                        false => Arc::new(LogicalPlan::EmptyRelation(EmptyRelation {
                            produce_one_row: false,
                            schema: Arc::clone(input.schema()),
                        })),
                    })
                    .collect();
                return Ok(LogicalPlan::Union(Union { inputs, schema: Arc::clone(&union.schema) }));
            }
            _ => false,
        };
        if !passes {
            return Ok(plan);
        }
        let inputs: Vec<LogicalPlan> = plan.inputs().into_iter().cloned().collect();
        let distinct = distinct || matches!(plan, LogicalPlan::Distinct(_));
        let inputs = inputs.into_iter().map(|i| walk(i, table, distinct)).collect::<Result<Vec<_>, _>>()?;
        Ok(plan.with_new_exprs(plan.expressions(), inputs)?)
    }
    walk(plan, table, false)
}

/// Every fact of the snapshot `lake` reads, computed in memory in [`FACTS`]
/// order, each reading the ones before it: the rows a refresh would write,
/// stamped as it would stamp them (the metric rules' tests run every file
/// again over these, to check that a fact and its view agree).
pub async fn compute(lake: &LakeSession, settings: &QuerySettings) -> Result<Vec<Fact>, QueryError> {
    let mut done: Vec<Fact> = Vec::new();
    for name in FACTS {
        let (ctx, lineage) = lake.facts_context(settings, &done, any_period(), None, &[name]).await?;
        let Some(lineage) = lineage.get(*name) else {
            return Err(QueryError::Shape(format!("`{name}` is not a view of queries/")));
        };
        let df = ctx.table(*name).await?;
        let logical = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let schema = batches.first().map(|b| b.schema()).unwrap_or(logical);
        let provider = Arc::new(datafusion::datasource::MemTable::try_new(schema, vec![batches])?);
        done.push(Fact { name: name.to_string(), stamp: lineage.stamp(lake.versions()), provider, version: None });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(base: &[(&str, Option<u64>)], definition: &str) -> FactStamp {
        FactStamp { base: base.iter().map(|(t, v)| (t.to_string(), *v)).collect(), definition: definition.to_string() }
    }

    /// Only the branches of the top `UNION` under the `DISTINCT` that do not read the
    /// appended table are dropped; a `UNION` below an aggregate is left whole.
    #[tokio::test]
    async fn an_increment_drops_only_the_distinct_union_branches_that_do_not_read_the_appended_table() {
        let ctx = datafusion::prelude::SessionContext::new();
        for t in ["a", "b"] {
            ctx.sql(&format!("CREATE TABLE {t} (x INT) AS VALUES (1), (2)")).await.unwrap();
        }
        let plan = |sql: &'static str| {
            let ctx = ctx.clone();
            async move {
                ctx.sql(&format!("CREATE VIEW v AS {sql}")).await.unwrap();
                let plan = ctx.table("v").await.unwrap().logical_plan().clone();
                ctx.sql("DROP VIEW v").await.unwrap();
                plan
            }
        };
        let top =
            plan("SELECT DISTINCT x FROM (SELECT x FROM a UNION ALL SELECT b.x FROM b JOIN a ON a.x = b.x) u").await;
        let pruned = prune_unchanged(top.clone(), "b").unwrap().display_indent().to_string();
        assert_eq!(pruned.matches("EmptyRelation").count(), 1, "{pruned}");
        assert_eq!(pruned.matches("TableScan: b").count(), 1, "{pruned}");
        assert_eq!(pruned.matches("TableScan: a").count(), 1, "the joined branch keeps its scan of a: {pruned}");
        // Every branch reads `a`: nothing to drop.
        assert_eq!(prune_unchanged(top.clone(), "a").unwrap(), top);

        let below = plan("SELECT DISTINCT x FROM (SELECT x, count(*) FROM (SELECT x FROM a UNION ALL SELECT x FROM b) u GROUP BY x) g").await;
        assert_eq!(prune_unchanged(below.clone(), "b").unwrap(), below);
        let bag = plan("SELECT x FROM a UNION ALL SELECT x FROM b").await;
        assert_eq!(prune_unchanged(bag.clone(), "b").unwrap(), bag, "not DISTINCT: left whole");
    }

    #[test]
    fn a_fact_is_current_only_for_the_same_versions_and_definition() {
        let want = stamp(&[("deployments", Some(3)), ("services", None)], "SELECT 1");
        assert_eq!(stale_reason(&want.clone(), &want), None);
        let older = stamp(&[("deployments", Some(2)), ("services", None)], "SELECT 1");
        assert_eq!(
            stale_reason(&older, &want).as_deref(),
            Some("`deployments` is at version 3, the fact was computed from version 2")
        );
        let services = stamp(&[("deployments", Some(3)), ("services", Some(0))], "SELECT 1");
        assert!(stale_reason(&services, &want).unwrap().contains("`services` is at no version"));
        let other = stamp(&[("deployments", Some(3)), ("services", None)], "SELECT 2");
        assert_eq!(stale_reason(&other, &want).as_deref(), Some("its definition or settings changed"));
        let more = stamp(&[("deployments", Some(3)), ("services", None), ("changes", Some(1))], "SELECT 1");
        assert_eq!(stale_reason(&more, &want).as_deref(), Some("computed from other tables"));
    }
}
