//! `devex trends`: the `metrics` view per quarter, and the J-curve views of
//! `queries/07_jcurve.sql` over those quarters.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;

use crate::metrics::metric_rows;
use crate::params::{GroupBy, QuerySettings, Window};
use crate::queries;
use crate::session::{LakeSession, QueryError};

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    /// The year.
    pub year: i32,
    /// 1..=4.
    pub quarter: u32,
}

impl Quarter {
    /// `2026-Q3`.
    pub fn label(self) -> String {
        format!("{}-Q{}", self.year, self.quarter)
    }

    /// The quarter before.
    pub fn previous(self) -> Quarter {
        if self.quarter == 1 {
            Quarter { year: self.year - 1, quarter: 4 }
        } else {
            Quarter { quarter: self.quarter - 1, ..self }
        }
    }

    /// The `n` quarters ending with this one, oldest first.
    pub fn last_n(self, n: usize) -> Vec<Quarter> {
        let mut out = vec![self];
        while out.len() < n {
            out.push(out.last().expect("non-empty").previous());
        }
        out.reverse();
        out
    }

    fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, 3 * self.quarter - 2, 1).expect("valid quarter")
    }
}

/// The `metrics` rows of each quarter, each batch led by `quarter` and `quarter_start` columns.
pub async fn quarterly_rows(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
) -> Result<Vec<RecordBatch>, QueryError> {
    let mut out = Vec::new();
    for q in quarters {
        let window = Window::quarter(q.year, q.quarter, settings.timezone)
            .ok_or_else(|| QueryError::Config(format!("no quarter {}", q.label())))?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let start = (q.first_day() - epoch).num_days() as i32;
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
