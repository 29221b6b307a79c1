//! `devex trends`: the `metrics` view per quarter (every quarter in one
//! pass), and the J-curve views of `queries/07_jcurve.sql` over those quarters.

use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::calendar::{Period, Quarter, Window};
use crate::error::QueryError;
use crate::metrics::{GroupMetrics, MetricsDocument, document, groups_of};
use crate::params::{GroupBy, QuerySettings};
use crate::queries;
use crate::session::LakeSession;

/// The quarterly rows: `period_metrics` led by the quarter's label and first day.
const QUARTERLY: &str = "SELECT m.period AS quarter, c.first_day AS quarter_start, m.* EXCLUDE (period) \
     FROM period_metrics m JOIN window_calendar c ON c.period = m.period \
     ORDER BY quarter_start, m.grp";

/// The schema of [`quarterly_rows`] (every column nullable), from the plan alone.
pub async fn quarterly_schema(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
) -> Result<SchemaRef, QueryError> {
    let periods: Vec<Period> = quarters.iter().map(|q| Period::quarter(*q, settings.timezone)).collect();
    let ctx = lake.periods_context(settings, &periods, group_by).await?;
    Ok(ctx.sql(QUARTERLY).await?.schema().inner().clone())
}

/// The `metrics` rows of each quarter (the `period_metrics` view), computed in one pass (every quarter a
/// period of one run), led by `quarter` and `quarter_start` columns, ordered
/// by quarter and group.
pub async fn quarterly_rows(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
) -> Result<Vec<RecordBatch>, QueryError> {
    if quarters.is_empty() {
        return Ok(Vec::new());
    }
    let periods: Vec<Period> = quarters.iter().map(|q| Period::quarter(*q, settings.timezone)).collect();
    let ctx = lake.periods_run_context(settings, &periods, group_by).await?;
    crate::shared::compute_all(&ctx).await?;
    let rows = ctx.sql(QUARTERLY).await?.collect().await?;
    // One schema whatever the plan: `quarter` and `quarter_start` are never null.
    let Some(schema) = rows.first().map(RecordBatch::schema) else { return Ok(rows) };
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| f.as_ref().clone().with_nullable(f.is_nullable() && i >= 2))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    rows.into_iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| Ok(RecordBatch::try_new(Arc::clone(&schema), b.columns().to_vec())?))
        .collect()
}

/// The metrics document of each quarter, from [`quarterly_rows`]: what
/// [`crate::metrics::compute`] gives for each quarter's window, in one pass.
pub fn quarterly_documents(
    settings: &QuerySettings,
    quarters: &[Quarter],
    rows: &[RecordBatch],
    group_by: GroupBy,
) -> Result<Vec<(Quarter, MetricsDocument)>, QueryError> {
    let labels: Vec<String> = quarters.iter().map(|q| q.label()).collect();
    let mut groups: Vec<Vec<GroupMetrics>> = vec![Vec::new(); quarters.len()];
    for batch in rows {
        let quarter = batch
            .column_by_name("quarter")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| QueryError::Shape("quarterly rows without a `quarter` column".into()))?;
        for (i, g) in groups_of(batch, group_by)?.into_iter().enumerate() {
            let at = labels
                .iter()
                .position(|l| l == quarter.value(i))
                .ok_or_else(|| QueryError::Shape(format!("unexpected quarter `{}`", quarter.value(i))))?;
            groups[at].push(g);
        }
    }
    Ok(quarters
        .iter()
        .zip(groups)
        .map(|(q, groups)| (*q, document(settings, q.window(settings.timezone), groups)))
        .collect())
}

/// The rows of the views of `queries/07_jcurve.sql` over quarterly metrics.
#[derive(Debug, Clone, Default)]
pub struct JcurveRows {
    /// `jcurve_series`: every metric per group and quarter, indexed from onboarding.
    pub series: Vec<RecordBatch>,
    /// `jcurve`: baseline, first dip and first recovery per group and metric.
    pub summary: Vec<RecordBatch>,
    /// `median_group`: each quarter's median group.
    pub median: Vec<RecordBatch>,
}

/// A session with the views of `queries/07_jcurve.sql` over `quarterly`
/// rows (of `schema`, from [`quarterly_rows`]) registered as `quarterly_metrics`.
pub async fn jcurve_context(
    lake: &LakeSession,
    settings: &QuerySettings,
    schema: SchemaRef,
    quarterly: Vec<RecordBatch>,
    window: Window,
    group_by: GroupBy,
) -> Result<SessionContext, QueryError> {
    let ctx = lake.metrics_context(settings, window, group_by).await?;
    ctx.register_table("quarterly_metrics", Arc::new(MemTable::try_new(schema, vec![quarterly])?))?;
    let sql = queries::render(queries::JCURVE, settings, &[Period::window(window)], group_by)?;
    queries::run_script(&ctx, "07_jcurve.sql", &sql).await?;
    Ok(ctx)
}

/// The J-curve of `quarterly` (from [`quarterly_rows`]), and each quarter's median group.
pub async fn jcurve(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarterly: Vec<RecordBatch>,
    window: Window,
    group_by: GroupBy,
) -> Result<JcurveRows, QueryError> {
    let Some(schema) = quarterly.first().map(RecordBatch::schema) else {
        return Ok(JcurveRows::default());
    };
    let ctx = jcurve_context(lake, settings, schema, quarterly, window, group_by).await?;
    let rows = |sql: &'static str| {
        let ctx = ctx.clone();
        async move { ctx.sql(sql).await?.collect().await }
    };
    Ok(JcurveRows {
        series: rows("SELECT * FROM jcurve_series ORDER BY grp, metric, rel").await?,
        summary: rows("SELECT * FROM jcurve ORDER BY grp, metric").await?,
        median: rows("SELECT * FROM median_group ORDER BY quarter_start").await?,
    })
}
