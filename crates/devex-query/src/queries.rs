//! The SQL files of `queries/`, compiled into the binary so it is
//! self-contained, and registered as views: the single source of metric truth.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;

use devex_model::Table;

use crate::calendar::Window;
use crate::error::QueryError;
use crate::params::{GroupBy, QuerySettings};

/// Every saved query file, in the order they build on each other.
pub const FILES: &[(&str, &str)] = &[
    ("00_bands.sql", include_str!("../../../queries/00_bands.sql")),
    ("01_deployments.sql", include_str!("../../../queries/01_deployments.sql")),
    ("02_lead_time.sql", include_str!("../../../queries/02_lead_time.sql")),
    ("03_change_failure.sql", include_str!("../../../queries/03_change_failure.sql")),
    ("04_time_to_restore.sql", include_str!("../../../queries/04_time_to_restore.sql")),
    ("05_survey.sql", include_str!("../../../queries/05_survey.sql")),
    ("06_adoption.sql", include_str!("../../../queries/06_adoption.sql")),
    ("09_metrics.sql", include_str!("../../../queries/09_metrics.sql")),
];

/// The J-curve views: they read `quarterly_metrics`, which only `devex trends` registers.
pub const JCURVE: &str = include_str!("../../../queries/07_jcurve.sql");

/// Views that several metrics read. When a whole metrics run is planned, each
/// is computed once and kept in memory instead of being re-planned inline by
/// every view that reads it (DataFusion does not share common subplans).
pub const SHARED_VIEWS: &[&str] =
    &["band_threshold", "production_deployment", "service_group", "incident_link", "deployment_outcome"];

/// Shared views already computed for one lake snapshot, by the text that made
/// them: the window-independent ones (every production deployment, incident
/// links, ...) are the same for every window, so a report computes them once
/// instead of once per quarter.
pub type SharedCache = Arc<Mutex<HashMap<String, Arc<MemTable>>>>;

/// Tables registered per run (`params::register`): a view reading one depends on the periods.
const WINDOW_TABLES: &[&str] = &["metric_period", "calendar_week", "calendar_month", "calendar_quarter"];

/// Run every statement of every file (`CREATE VIEW ...`) in `ctx`, `window`
/// being the span of the run's periods (`{{window_from}}`, `{{window_to}}`); with
/// `materialize`, the [`SHARED_VIEWS`] are computed once as they are created,
/// and those that do not depend on the window are kept in `materialize`'s
/// cache for the next window over the same lake.
pub async fn register_views(
    ctx: &SessionContext,
    settings: &QuerySettings,
    window: Window,
    group_by: GroupBy,
    materialize: Option<&SharedCache>,
) -> Result<(), QueryError> {
    // A view is window-independent if its text is the same for another window and
    // it reads only lake tables, settings tables and window-independent views.
    let probe = Window { from: window.from - chrono::Duration::days(1), to: window.to + chrono::Duration::days(1) };
    let mut independent: HashSet<String> = Table::ALL.iter().map(|t| t.name().to_string()).collect();
    independent.extend(["production_environments", "survey_questions", "custom_bands"].map(String::from));
    for (file, text) in FILES {
        let err = |source| QueryError::SavedQuery { file: file.to_string(), source };
        let sql = render(text, settings, window, group_by)?;
        let other = DFParser::parse_sql(&render(text, settings, probe, group_by)?).map_err(err)?;
        for (statement, probed) in DFParser::parse_sql(&sql).map_err(err)?.into_iter().zip(other) {
            let text = statement.to_string();
            let reads = ctx.state().resolve_table_references(&statement).map_err(err)?;
            let same = text == probed.to_string()
                && reads.iter().all(|r| independent.contains(r.table()) && !WINDOW_TABLES.contains(&r.table()));
            let plan = ctx.state().statement_to_plan(statement).await.map_err(err)?;
            let created = match &plan {
                LogicalPlan::Ddl(DdlStatement::CreateView(v)) => Some(v.name.table().to_string()),
                _ => None,
            };
            if let Some(name) = created.as_ref().filter(|_| same) {
                independent.insert(name.clone());
            }
            let Some((name, cache)) = created.filter(|n| SHARED_VIEWS.contains(&n.as_str())).zip(materialize) else {
                ctx.execute_logical_plan(plan).await.map_err(err)?;
                continue;
            };
            let key = format!("{text}\n{settings:?}");
            let cached = if same { cache.lock().ok().and_then(|c| c.get(&key).cloned()) } else { None };
            let table = match cached {
                Some(table) => table,
                None => {
                    ctx.execute_logical_plan(plan).await.map_err(err)?;
                    let df = ctx.table(name.as_str()).await.map_err(err)?;
                    let logical = Arc::new(df.schema().as_arrow().clone());
                    let batches = df.collect().await.map_err(err)?;
                    ctx.deregister_table(name.as_str()).map_err(err)?;
                    // The batches' schema can differ from the logical one in nullability.
                    let schema = batches.first().map(|b| b.schema()).unwrap_or(logical);
                    let table = Arc::new(MemTable::try_new(schema, vec![batches]).map_err(err)?);
                    if same && let Ok(mut c) = cache.lock() {
                        c.insert(key, Arc::clone(&table));
                    }
                    table
                }
            };
            ctx.register_table(name.as_str(), table).map_err(err)?;
        }
    }
    Ok(())
}

/// Fill a query's `{{name}}` placeholders with SQL literals rendered from
/// typed values (never from text a user typed). Literals rather than a join
/// with the `params` table let DataFusion fold the grouping and prune files
/// by time, and avoid a cross join per row.
pub fn render(text: &str, settings: &QuerySettings, window: Window, group_by: GroupBy) -> Result<String, QueryError> {
    let ts = |t: DateTime<Utc>| {
        format!("arrow_cast('{}', 'Timestamp(Microsecond, Some(\"UTC\"))')", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
    };
    Ok(text
        .replace("{{timezone}}", settings.timezone_literal()?)
        .replace("{{window_from}}", &ts(window.from))
        .replace("{{window_to}}", &ts(window.to))
        .replace("{{group_by}}", &format!("'{}'", group_by.as_str()))
        .replace("{{benchmarks}}", &format!("'{}'", settings.benchmarks.replace('\'', "''")))
        .replace("{{attribution_window_hours}}", &format!("{:?}", settings.attribution_window_hours))
        .replace("{{min_group_size}}", &settings.min_group_size.to_string()))
}

/// Plan and run each statement of a script of several.
pub async fn run_script(ctx: &SessionContext, file: &str, sql: &str) -> Result<(), QueryError> {
    let err = |source| QueryError::SavedQuery { file: file.to_string(), source };
    let statements = DFParser::parse_sql(sql).map_err(err)?;
    for statement in statements {
        let plan = ctx.state().statement_to_plan(statement).await.map_err(err)?;
        ctx.execute_logical_plan(plan).await.map_err(err)?;
    }
    Ok(())
}
