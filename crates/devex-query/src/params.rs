//! The parameters of a metrics query. The SQL in `queries/` reads them two
//! ways: scalars (window, grouping, thresholds, time zone) as `{{name}}`
//! placeholders that [`crate::queries::render`] fills with SQL literals
//! rendered from these typed values, and lists as small typed tables
//! (`production_environments`, `survey_questions`, the run's periods in
//! `metric_period`, and their `calendar_week`, `calendar_month` and
//! `calendar_quarter`). Nothing the user
//! typed is spliced into SQL text; the time zone is a literal only once it is a
//! valid IANA name.

use std::sync::Arc;

use chrono_tz::Tz;
use datafusion::arrow::array::{
    Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use devex_model::Config;

use crate::calendar::{Calendar, Period};
use crate::error::QueryError;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// The whole organisation.
    #[default]
    Org,
    /// Per team.
    Team,
    /// Per service.
    Service,
}

impl GroupBy {
    /// The value of `{{group_by}}`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Org => "org",
            GroupBy::Team => "team",
            GroupBy::Service => "service",
        }
    }
}

/// Settings the metric SQL reads, from the configuration.
#[derive(Debug, Clone)]
pub struct QuerySettings {
    /// Calendar for days, weeks and quarters.
    pub timezone: Tz,
    /// Lower-cased production environment names.
    pub production_environments: Vec<String>,
    /// Rule 3's window.
    pub attribution_window_hours: f64,
    /// Survey suppression threshold.
    pub min_group_size: i64,
    /// (question, dimension, scale_max).
    pub questions: Vec<(String, String, i64)>,
    /// Band thresholds' name: `dora-2023` or `custom`.
    pub benchmarks: String,
    /// With `custom`: (metric, band, threshold), the `custom_bands` table.
    pub custom_bands: Vec<(String, String, f64)>,
    /// The effect of onboarding's bootstrap: replicates, seed and level (`[effect]`).
    pub effect: devex_model::config::EffectConfig,
}

impl QuerySettings {
    /// From a checked configuration.
    pub fn from_config(cfg: &Config) -> Result<QuerySettings, QueryError> {
        Ok(QuerySettings {
            timezone: cfg.tz().map_err(|e| QueryError::Config(e.to_string()))?,
            production_environments: cfg.production_environments.iter().map(|e| e.to_lowercase()).collect(),
            attribution_window_hours: f64::from(cfg.attribution_window_hours),
            min_group_size: i64::from(cfg.survey.min_group_size),
            questions: cfg
                .survey
                .questions
                .iter()
                .map(|(q, s)| (q.clone(), s.dimension.clone(), i64::from(s.scale_max)))
                .collect(),
            benchmarks: cfg.benchmarks.clone(),
            custom_bands: cfg
                .custom_benchmarks
                .iter()
                .flat_map(|c| c.rows())
                .map(|(m, b, t)| (m.to_string(), b.to_string(), t))
                .collect(),
            effect: cfg.effect.clone(),
        })
    }

    /// The time zone's name, checked to be safe as an SQL string literal.
    pub fn timezone_literal(&self) -> Result<&'static str, QueryError> {
        let name = self.timezone.name();
        if name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) {
            Ok(name)
        } else {
            Err(QueryError::Config(format!("time zone `{name}` cannot be used in a query")))
        }
    }
}

impl Default for QuerySettings {
    fn default() -> Self {
        QuerySettings::from_config(&Config::default()).expect("defaults are valid")
    }
}

/// Register `production_environments`, `survey_questions`, `custom_bands`,
/// `metric_period` (one row per period: `period`, `window_from`, `window_to`)
/// and the periods' calendar tables (`period` and the first day of each week,
/// month or quarter overlapping its window).
pub fn register(
    ctx: &SessionContext,
    settings: &QuerySettings,
    periods: &[Period],
    as_values: bool,
) -> Result<(), QueryError> {
    let envs = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("environment", DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from(settings.production_environments.clone()))],
    )?;
    let questions = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("question", DataType::Utf8, false),
            Field::new("dimension", DataType::Utf8, false),
            Field::new("scale_max", DataType::Int64, false),
        ])),
        vec![
            Arc::new(StringArray::from(settings.questions.iter().map(|q| q.0.clone()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(settings.questions.iter().map(|q| q.1.clone()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(settings.questions.iter().map(|q| q.2).collect::<Vec<_>>())),
        ],
    )?;
    let bands = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("metric", DataType::Utf8, false),
            Field::new("band", DataType::Utf8, false),
            Field::new("threshold", DataType::Float64, false),
        ])),
        vec![
            Arc::new(StringArray::from(settings.custom_bands.iter().map(|b| b.0.clone()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(settings.custom_bands.iter().map(|b| b.1.clone()).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(settings.custom_bands.iter().map(|b| b.2).collect::<Vec<_>>())),
        ],
    )?;
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let micros = |t: chrono::DateTime<chrono::Utc>| t.timestamp_micros();
    let period = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("period", DataType::Utf8, false),
            Field::new("window_from", utc.clone(), false),
            Field::new("window_to", utc, false),
        ])),
        vec![
            Arc::new(StringArray::from(periods.iter().map(|p| p.label.clone()).collect::<Vec<_>>())),
            Arc::new(
                TimestampMicrosecondArray::from(periods.iter().map(|p| micros(p.window.from)).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            Arc::new(
                TimestampMicrosecondArray::from(periods.iter().map(|p| micros(p.window.to)).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
        ],
    )?;
    let calendars: Vec<(&Period, Calendar)> =
        periods.iter().map(|p| (p, Calendar::of(p.window, settings.timezone))).collect();
    let date_table = |column: &str, days: &dyn Fn(&Calendar) -> &[i32]| -> Result<RecordBatch, QueryError> {
        let (labels, days): (Vec<String>, Vec<i32>) =
            calendars.iter().flat_map(|(p, c)| days(c).iter().map(|d| (p.label.clone(), *d))).unzip();
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("period", DataType::Utf8, false),
                Field::new(column, DataType::Date32, false),
            ])),
            vec![Arc::new(StringArray::from(labels)), Arc::new(Date32Array::from(days))],
        )?)
    };
    let tables = [
        ("production_environments", envs),
        ("survey_questions", questions),
        ("custom_bands", bands),
        ("metric_period", period),
        ("calendar_week", date_table("week_start", &|c| &c.weeks)?),
        ("calendar_month", date_table("month_start", &|c| &c.months)?),
        ("calendar_quarter", date_table("quarter_start", &|c| &c.quarters)?),
    ];
    for (name, batch) in tables {
        let table: Arc<dyn TableProvider> = if as_values {
            Arc::new(ViewTable::new(values_plan(&batch)?, None))
        } else {
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?)
        };
        ctx.register_table(name, table)?;
    }
    Ok(())
}

/// A batch as a `VALUES` plan with its column names and types, which a
/// cluster's scheduler can be sent (an in-memory table cannot).
fn values_plan(batch: &RecordBatch) -> Result<LogicalPlan, QueryError> {
    let schema = batch.schema();
    if batch.num_rows() == 0 {
        let empty = datafusion::common::DFSchema::try_from(schema.as_ref().clone())?;
        return Ok(LogicalPlan::EmptyRelation(datafusion::logical_expr::EmptyRelation {
            produce_one_row: false,
            schema: Arc::new(empty),
        }));
    }
    let rows = (0..batch.num_rows())
        .map(|row| {
            batch
                .columns()
                .iter()
                .map(|c| ScalarValue::try_from_array(c, row).map(|v| Expr::Literal(v, None)))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let typed = Arc::new(datafusion::common::DFSchema::try_from(schema.as_ref().clone())?);
    let values = LogicalPlanBuilder::values_with_schema(rows, &typed)?;
    // VALUES names its columns column1, column2, ...: give them the table's names.
    let names: Vec<Expr> = values
        .schema()
        .fields()
        .iter()
        .zip(schema.fields())
        .map(|(v, f)| Expr::Column(datafusion::common::Column::from_name(v.name().clone())).alias(f.name()))
        .collect();
    Ok(values.project(names)?.build()?)
}
