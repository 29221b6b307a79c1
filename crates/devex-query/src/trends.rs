//! `devex trends`: the `metrics` view per quarter, and the J-curve views of
//! `queries/07_jcurve.sql` over those quarters.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;

use crate::calendar::{Quarter, Window, epoch_day};
use crate::error::QueryError;
use crate::metrics::metric_rows;
use crate::params::{GroupBy, QuerySettings};
use crate::queries;
use crate::session::LakeSession;

/// The `metrics` rows of each quarter, each batch led by `quarter` and `quarter_start` columns.
pub async fn quarterly_rows(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
) -> Result<Vec<RecordBatch>, QueryError> {
    let mut out = Vec::new();
    for q in quarters {
        let window = q.window(settings.timezone);
        let start = epoch_day(q.first_day());
        for batch in metric_rows(lake, settings, window, group_by).await? {
            let n = batch.num_rows();
            let mut fields = vec![
                Field::new("quarter", DataType::Utf8, false),
                Field::new("quarter_start", DataType::Date32, false),
            ];
            fields.extend(batch.schema().fields().iter().map(|f| f.as_ref().clone()));
            let mut columns: Vec<ArrayRef> =
                vec![Arc::new(StringArray::from(vec![q.label(); n])), Arc::new(Date32Array::from(vec![start; n]))];
            columns.extend(batch.columns().iter().cloned());
            out.push(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?);
        }
    }
    Ok(out)
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

/// The J-curve of `quarterly` (from [`quarterly_rows`]), and each quarter's median group.
pub async fn jcurve(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarterly: Vec<RecordBatch>,
    window: Window,
    group_by: GroupBy,
) -> Result<JcurveRows, QueryError> {
    let ctx = lake.metrics_context(settings, window, group_by).await?;
    let Some(schema) = quarterly.first().map(RecordBatch::schema) else {
        return Ok(JcurveRows::default());
    };
    ctx.register_table("quarterly_metrics", Arc::new(MemTable::try_new(schema, vec![quarterly])?))?;
    queries::run_script(&ctx, "07_jcurve.sql", &queries::render(queries::JCURVE, settings, window, group_by)?).await?;
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
