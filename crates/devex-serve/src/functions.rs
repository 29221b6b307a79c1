//! Table functions: any window's metrics from plain SQL, computed by the
//! same code and saved SQL as `devex metrics` and `devex trends`.
//!
//! - `metrics(from, to [, by])`: the `metrics` view's rows for `[from, to)`;
//! - `trends(quarters [, by])`: the quarterly rows of `devex trends --format csv`;
//! - `jcurve([by [, quarters]])`: the rows relative to onboarding of
//!   `devex trends --relative-to-onboarding --format csv` (8 quarters unless told);
//! - `effect(metric [, by [, quarters]])`: the rows of `devex effect --format csv`
//!   for one metric (per team and 8 quarters unless told).
//!
//! `from` and `to` are dates (in the configured timezone) or RFC 3339
//! timestamps, as strings, dates or timestamps; `by` is `'team'`, `'service'`
//! or `'org'`. Arguments are literals: the functions are planned before any
//! bound parameter is known.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use devex_model::Table;
use devex_model::timestamp::{MAX_MICROS, MIN_MICROS, parse_micros};
use devex_query::explain::{TRACED, Traced, explain, rows_schema};
use devex_query::trends::{jcurve_context, quarterly_rows, quarterly_schema};
use devex_query::{GroupBy, LakeSession, Quarter, QueryError, QuerySettings, Window};

use crate::cache::ResultCache;
use crate::live::LiveLake;

/// Quarters of `jcurve()` when not told: the scorecard's default.
const JCURVE_QUARTERS: usize = 8;

/// Largest `quarters` argument (as `devex trends`).
const MAX_QUARTERS: i64 = 200;

/// What one call computes.
#[derive(Debug, Clone)]
enum Job {
    Metrics(Window, GroupBy),
    Trends(usize, GroupBy),
    Jcurve(usize, GroupBy),
    /// The metric (an index into `devex_query::effect::METRICS`), quarters, grouping.
    Effect(usize, usize, GroupBy),
    /// The rows behind one number: metric, window, grouping, group (as written).
    Explain(Traced, Window, GroupBy, Option<String>),
}

/// Register `metrics`, `trends`, `jcurve`, `effect` and `explain` in `ctx`, reading `live`.
/// Results are kept in `cache` (per call and snapshot).
pub async fn register(
    ctx: &SessionContext,
    live: &Arc<LiveLake>,
    settings: &QuerySettings,
    cache: &Arc<ResultCache>,
) -> Result<(), QueryError> {
    let lake = live.current();
    let now = Quarter::of(Utc::now(), settings.timezone);
    let metrics = ctx.table("metrics").await?.schema().inner().clone();
    let trends = quarterly_schema(&lake, settings, &[now], GroupBy::Org).await?;
    let span = Window::quarters(now, now, settings.timezone);
    let planned = jcurve_context(&lake, settings, Arc::clone(&trends), Vec::new(), span, GroupBy::Org).await?;
    let jcurve = planned.table("jcurve_series").await?.schema().inner().clone();
    let effect = devex_query::effect::rows_schema();
    let mut explained = Vec::new();
    for name in TRACED {
        let schema = rows_schema(ctx, Traced::parse(name)?).await?;
        explained.push(nullable(&schema));
    }
    for (name, schema) in [("metrics", metrics), ("trends", trends), ("jcurve", jcurve), ("effect", effect)] {
        let f = Function {
            name,
            schema: nullable(&schema),
            explained: Vec::new(),
            live: Arc::clone(live),
            settings: settings.clone(),
            cache: Arc::clone(cache),
        };
        ctx.register_udtf(name, Arc::new(f));
    }
    // explain()'s columns depend on the metric: one schema per metric.
    let schema = Arc::clone(&explained[0]);
    let f = Function {
        name: "explain",
        schema,
        explained,
        live: Arc::clone(live),
        settings: settings.clone(),
        cache: Arc::clone(cache),
    };
    ctx.register_udtf("explain", Arc::new(f));
    Ok(())
}

fn nullable(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<Field>>(),
    ))
}

/// One of the five functions.
#[derive(Debug)]
struct Function {
    name: &'static str,
    schema: SchemaRef,
    /// `explain`'s columns per metric (in the order of `TRACED`).
    explained: Vec<SchemaRef>,
    live: Arc<LiveLake>,
    settings: QuerySettings,
    cache: Arc<ResultCache>,
}

impl Function {
    fn usage(&self) -> &'static str {
        match self.name {
            "metrics" => "metrics('2026-01-01', '2026-04-01' [, 'team' | 'service'])",
            "trends" => "trends(8 [, 'team' | 'service'])",
            "effect" => "effect('lead_time_p50' [, 'team' | 'service' [, 8]])",
            "explain" => "explain('lead_time', '2026-01-01', '2026-04-01' [, 'team' | 'service', 'name'])",
            _ => "jcurve(['team' | 'service' [, 8]])",
        }
    }

    fn job(&self, args: &[Expr]) -> Result<Job> {
        let usage = self.usage();
        let arity = match self.name {
            "metrics" => 2..=3,
            "trends" => 1..=2,
            "effect" => 1..=3,
            "explain" => 3..=5,
            _ => 0..=2,
        };
        if !arity.contains(&args.len()) {
            return plan_err!("{}() takes {} arguments, got {}: {usage}", self.name, arity_text(&arity), args.len());
        }
        let literal = |i: usize| -> Result<&ScalarValue> {
            match &args[i] {
                Expr::Literal(v, _) => Ok(v),
                other => plan_err!("{}(): argument {} must be a literal, not `{other}`: {usage}", self.name, i + 1),
            }
        };
        let by = |i: usize| -> Result<GroupBy> {
            if i >= args.len() {
                return Ok(GroupBy::Org);
            }
            match text(literal(i)?).as_deref() {
                Some("org") | Some("organisation") | Some("organization") => Ok(GroupBy::Org),
                Some("team") => Ok(GroupBy::Team),
                Some("service") => Ok(GroupBy::Service),
                _ => plan_err!("{}(): `by` is 'team', 'service' or 'org', not {}: {usage}", self.name, literal(i)?),
            }
        };
        let quarters = |i: usize, default: usize| -> Result<usize> {
            if i >= args.len() {
                return Ok(default);
            }
            let v = literal(i)?;
            let n = match v.cast_to(&datafusion::arrow::datatypes::DataType::Int64) {
                Ok(ScalarValue::Int64(Some(n))) => n,
                _ => return plan_err!("{}(): `quarters` is a whole number, not {v}: {usage}", self.name),
            };
            if !(1..=MAX_QUARTERS).contains(&n) {
                return plan_err!("{}(): `quarters` is between 1 and {MAX_QUARTERS}, not {n}", self.name);
            }
            Ok(n as usize)
        };
        Ok(match self.name {
            "metrics" => {
                let from = self.instant("from", literal(0)?)?;
                let to = self.instant("to", literal(1)?)?;
                if from >= to {
                    return plan_err!("metrics(): the window is empty: {from} is not before {to} (it is [from, to))");
                }
                Job::Metrics(Window { from, to }, by(2)?)
            }
            "trends" => Job::Trends(quarters(0, 0)?, by(1)?),
            "effect" => {
                let metrics = devex_query::effect::METRICS;
                let name = text(literal(0)?);
                let Some(metric) = metrics.iter().position(|m| Some(*m) == name.as_deref()) else {
                    return plan_err!(
                        "effect(): `metric` is one of {}, not {}: {usage}",
                        metrics.join(", "),
                        literal(0)?
                    );
                };
                let by = if args.len() > 1 { by(1)? } else { GroupBy::Team };
                if by == GroupBy::Org {
                    return plan_err!("effect(): compares teams or services: `by` is 'team' or 'service': {usage}");
                }
                Job::Effect(metric, quarters(2, JCURVE_QUARTERS)?, by)
            }
            "explain" => {
                let name = text(literal(0)?).unwrap_or_default();
                let metric =
                    Traced::parse(&name).map_err(|e| DataFusionError::Plan(format!("explain(): {e}: {usage}")))?;
                let from = self.instant("from", literal(1)?)?;
                let to = self.instant("to", literal(2)?)?;
                if from >= to {
                    return plan_err!("explain(): the window is empty: {from} is not before {to} (it is [from, to))");
                }
                let by = by(3)?;
                let group = match (by, args.len()) {
                    (GroupBy::Org, _) => None,
                    (_, 5) => match literal(4)? {
                        ScalarValue::Utf8(Some(s))
                        | ScalarValue::LargeUtf8(Some(s))
                        | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
                        other => {
                            return plan_err!("explain(): `group` is a team or service name, not {other}: {usage}");
                        }
                    },
                    _ => return plan_err!("explain(): name the {} to explain: {usage}", by.as_str()),
                };
                Job::Explain(metric, Window { from, to }, by, group)
            }
            _ => Job::Jcurve(quarters(1, JCURVE_QUARTERS)?, by(0)?),
        })
    }

    fn instant(&self, what: &str, v: &ScalarValue) -> Result<DateTime<Utc>> {
        let micros = match v {
            ScalarValue::Date32(Some(d)) => Some(i64::from(*d) * 86_400_000_000),
            ScalarValue::TimestampSecond(Some(t), _) => t.checked_mul(1_000_000),
            ScalarValue::TimestampMillisecond(Some(t), _) => t.checked_mul(1_000),
            ScalarValue::TimestampMicrosecond(Some(t), _) => Some(*t),
            ScalarValue::TimestampNanosecond(Some(t), _) => Some(t.div_euclid(1_000)),
            other => match text(other) {
                Some(s) => match parse_micros(&s, self.settings.timezone) {
                    Ok(m) => Some(m),
                    Err(e) => return plan_err!("{}(): `{what}` {s:?}: {e}: {}", self.name, self.usage()),
                },
                None => {
                    return plan_err!(
                        "{}(): `{what}` is a date or timestamp, not {other}: {}",
                        self.name,
                        self.usage()
                    );
                }
            },
        };
        micros
            .filter(|m| (MIN_MICROS..=MAX_MICROS).contains(m))
            .and_then(DateTime::from_timestamp_micros)
            .map_or_else(|| plan_err!("{}(): `{what}` {v} is out of range", self.name), Ok)
    }
}

fn arity_text(r: &std::ops::RangeInclusive<usize>) -> String {
    format!("{} to {}", r.start(), r.end())
}

fn text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Some(s.trim().to_lowercase())
        }
        _ => None,
    }
}

impl TableFunctionImpl for Function {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let job = self.job(args.exprs())?;
        let schema = match &job {
            Job::Explain(metric, ..) => &self.explained[*metric as usize],
            _ => &self.schema,
        };
        Ok(Arc::new(Computed {
            schema: Arc::clone(schema),
            live: Arc::clone(&self.live),
            settings: self.settings.clone(),
            cache: Arc::clone(&self.cache),
            job,
        }))
    }
}

/// The rows of one call, computed when the query runs (on the lake's latest snapshot).
#[derive(Debug)]
struct Computed {
    schema: SchemaRef,
    live: Arc<LiveLake>,
    settings: QuerySettings,
    cache: Arc<ResultCache>,
    job: Job,
}

impl Computed {
    /// The call's rows on the latest snapshot: from the cache, or computed and kept.
    async fn rows(&self) -> Result<Vec<RecordBatch>, QueryError> {
        let lake = self.live.current();
        let call = format!("{:?} {:?}", self.job, self.settings);
        let started = std::time::Instant::now();
        let (rows, kept) = self.cache.get_or_compute(&lake.snapshot_key(), &call, self.compute(&lake)).await?;
        let ms = started.elapsed().as_millis() as u64;
        let how = if kept { "from memory" } else { "computed" };
        tracing::debug!(job = ?self.job, ms, "metric function answered: {how}");
        Ok(rows.as_ref().clone())
    }

    async fn compute(&self, lake: &LakeSession) -> Result<Vec<RecordBatch>, QueryError> {
        let lake = lake.clone();
        let s = &self.settings;
        match self.job.clone() {
            Job::Metrics(window, by) => devex_query::metrics::metric_rows(&lake, s, window, by).await,
            Job::Explain(metric, window, by, group) => {
                Ok(explain(&lake, s, window, by, group.as_deref(), metric).await?.rows)
            }
            Job::Trends(n, by) => quarterly_rows(&lake, s, &quarters(&lake, s, n).await?, by).await,
            Job::Jcurve(n, by) => {
                let quarters = quarters(&lake, s, n).await?;
                let rows = quarterly_rows(&lake, s, &quarters, by).await?;
                let (Some(first), Some(last)) = (quarters.first(), quarters.last()) else { return Ok(Vec::new()) };
                let span = Window::quarters(*first, *last, s.timezone);
                Ok(devex_query::trends::jcurve(&lake, s, rows, span, by).await?.series)
            }
            Job::Effect(metric, n, by) => {
                let quarters = quarters(&lake, s, n.max(2)).await?;
                let only = [devex_query::effect::METRICS[metric].to_string()];
                let (doc, _) = devex_query::effect::compute(&lake, s, &quarters, by, &only).await?;
                Ok(vec![doc.to_batch()])
            }
        }
    }
}

/// The last `n` quarters, ending with the latest deployment's (as `devex trends`).
async fn quarters(lake: &LakeSession, s: &QuerySettings, n: usize) -> Result<Vec<Quarter>, QueryError> {
    let latest = lake.latest_event(Table::Deployments).await?.unwrap_or_else(Utc::now);
    Ok(Quarter::of(latest, s.timezone).last_n(n))
}

/// `batches` in `schema`: same columns, cast where the plan's type differs.
fn conform(batches: Vec<RecordBatch>, schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    batches
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| {
            let columns = schema
                .fields()
                .iter()
                .map(|f| {
                    let c = b.column_by_name(f.name()).ok_or_else(|| {
                        DataFusionError::Internal(format!("computed rows have no column `{}`", f.name()))
                    })?;
                    Ok(if c.data_type() == f.data_type() { Arc::clone(c) } else { cast(c, f.data_type())? })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
        })
        .collect()
}

#[async_trait]
impl TableProvider for Computed {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let rows = self.rows().await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        let table = MemTable::try_new(Arc::clone(&self.schema), vec![conform(rows, &self.schema)?])?;
        table.scan(state, projection, filters, limit).await
    }
}
