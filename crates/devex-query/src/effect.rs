//! The effect of onboarding (docs/metrics.md, "Effect of onboarding"): each
//! onboarded group against the groups not yet onboarded over the same
//! quarters, with a group bootstrap for the intervals.
//!
//! Every number is SQL (`queries/08_effect.sql`, over the J-curve's views of
//! `queries/07_jcurve.sql`). Rust only draws the bootstrap: a seeded table of
//! replicate weights, `effect_replicate` (replicate, grp, draws), registered
//! beside the other parameters. Replicate 0 draws every group once and is the
//! estimate itself.
//!
//! ```
//! use devex_query::effect::replicate_weights;
//! let groups = vec!["a".to_string(), "b".to_string(), "c".to_string()];
//! let w = replicate_weights(&groups, 10, 7);
//! // Replicate 0 plus 10 replicates, one row per group in each.
//! assert_eq!(w.num_rows(), 33);
//! // The same seed gives the same draws.
//! assert_eq!(w, replicate_weights(&groups, 10, 7));
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Datelike;
use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::calendar::{Period, Quarter, Window};
use crate::error::QueryError;
use crate::params::{GroupBy, QuerySettings};
use crate::queries;
use crate::session::LakeSession;
use crate::trends::{jcurve_context, quarterly_rows, quarterly_schema};

/// The metrics of the effect, as the J-curve names them, in the order shown.
pub const METRICS: &[&str] =
    &["lead_time_p50", "change_failure_rate", "deployments_per_day", "recovery_p50", "time_to_restore_p50", "nps"];

/// The schema of `effect_replicate`.
pub fn replicate_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("replicate", DataType::Int64, false),
        Field::new("grp", DataType::Utf8, false),
        Field::new("draws", DataType::Int64, false),
    ]))
}

/// The replicate weights of `groups`: replicate 0 draws each once; each of
/// replicates 1..=`replicates` draws `groups.len()` groups uniformly with
/// replacement (SplitMix64 from `seed`, so any machine draws the same).
pub fn replicate_weights(groups: &[String], replicates: u32, seed: u64) -> RecordBatch {
    let n = groups.len();
    let mut rng = SplitMix64(seed);
    let (mut replicate, mut grp, mut draws) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..=i64::from(replicates) {
        let mut counts = vec![0i64; n];
        if r == 0 {
            counts.fill(1);
        } else if n > 0 {
            for _ in 0..n {
                counts[rng.below(n as u64) as usize] += 1;
            }
        }
        for (g, c) in groups.iter().zip(counts) {
            replicate.push(r);
            grp.push(g.clone());
            draws.push(c);
        }
    }
    RecordBatch::try_new(
        replicate_schema(),
        vec![
            Arc::new(Int64Array::from(replicate)),
            Arc::new(StringArray::from(grp)),
            Arc::new(Int64Array::from(draws)),
        ],
    )
    .expect("columns match the schema")
}

/// A small, fixed pseudo-random generator: the draws must not change with a
/// dependency's version.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (rejection sampling: no modulo bias).
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// One event time of one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventTime {
    /// Quarters since onboarding (0: the onboarding quarter; -1, the base, is never reported).
    pub e: i64,
    /// The estimate, in the metric's unit.
    pub estimate: f64,
    /// The interval's ends (`None` when fewer than 90 % of the replicates define it).
    pub low: Option<f64>,
    /// See `low`.
    pub high: Option<f64>,
    /// Treated groups behind the estimate.
    pub treated: i64,
    /// Their cohorts.
    pub cohorts: i64,
}

/// One metric's event study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricEffect {
    /// The J-curve's name of the metric.
    pub metric: String,
    /// 1: higher is better; -1: lower is better.
    pub direction: i64,
    /// A placebo estimate (e <= -2) whose interval excludes 0: the comparison is not trustworthy.
    pub pre_trends_differ: bool,
    /// Every event time with an estimate, in order.
    pub event_times: Vec<EventTime>,
}

/// The bootstrap behind the intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bootstrap {
    /// Replicates drawn.
    pub replicates: u32,
    /// Their seed.
    pub seed: u64,
    /// The intervals' level.
    pub level: f64,
}

/// `devex effect --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectDocument {
    /// `team` or `service`.
    pub by: String,
    /// The span's first and last quarter.
    pub quarters: [String; 2],
    /// The bootstrap.
    pub bootstrap: Bootstrap,
    /// Per metric.
    pub metrics: Vec<MetricEffect>,
}

/// Why nothing can be compared, when nothing can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NothingToCompare {
    /// No group has an onboarding date in the catalog.
    NoOnboarding,
    /// Every group was onboarded in the same quarter: none is left to compare with.
    NoComparison {
        /// The quarter.
        quarter: String,
    },
    /// No onboarding quarter has its base quarter (the one before) in the span.
    OutsideSpan,
}

impl std::fmt::Display for NothingToCompare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NothingToCompare::NoOnboarding => f.write_str(
                "no group has an onboarding date: set `onboarded_at` in the service catalog (the services table)",
            ),
            NothingToCompare::NoComparison { quarter } => write!(
                f,
                "every group was onboarded in {quarter} and none is left that was not yet onboarded: \
                 there is no one to compare with"
            ),
            NothingToCompare::OutsideSpan => f.write_str(
                "no group was onboarded after the span's first quarter: widen it with --quarters \
                 (an onboarding needs the quarter before it in the span)",
            ),
        }
    }
}

/// The effect of onboarding over `quarters`, grouped by team or service,
/// for `metrics` (empty: all of [`METRICS`]), with the bootstrap of
/// `settings.effect`.
pub async fn compute(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
    metrics: &[String],
) -> Result<(EffectDocument, Option<NothingToCompare>), QueryError> {
    let rows = quarterly_rows(lake, settings, quarters, group_by).await?;
    compute_from_rows(lake, settings, quarters, group_by, rows, metrics).await
}

/// [`compute`] over quarterly rows already computed (`trends::quarterly_rows`
/// of the same quarters and grouping), as the scorecard has them.
pub async fn compute_from_rows(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
    rows: Vec<RecordBatch>,
    metrics: &[String],
) -> Result<(EffectDocument, Option<NothingToCompare>), QueryError> {
    let (Some(first), Some(last)) = (quarters.first(), quarters.last()) else {
        return Err(QueryError::Config("no quarters to compare".into()));
    };
    if group_by == GroupBy::Org {
        return Err(QueryError::Config("the effect of onboarding compares teams or services: pass --by".into()));
    }
    let ctx = effect_context(lake, settings, quarters, group_by, rows).await?;
    let why = nothing_to_compare(&ctx).await?;
    let rows = ctx
        .sql(
            "SELECT e.metric, e.direction, e.e, e.estimate, e.low, e.high, e.treated, e.cohorts, p.pre_trends_differ \
              FROM onboarding_effect e JOIN onboarding_pretrend p ON p.metric = e.metric ORDER BY e.metric, e.e",
        )
        .await?
        .collect()
        .await?;
    let mut by_metric: Vec<MetricEffect> = Vec::new();
    for b in &rows {
        let metric = utf8(b.column(0))?;
        let metric = metric.as_string::<i32>();
        let direction = b.column(1).as_primitive::<Int64Type>();
        let e = b.column(2).as_primitive::<Int64Type>();
        let (estimate, low, high) = (
            b.column(3).as_primitive::<Float64Type>(),
            b.column(4).as_primitive::<Float64Type>(),
            b.column(5).as_primitive::<Float64Type>(),
        );
        let (treated, cohorts) = (b.column(6).as_primitive::<Int64Type>(), b.column(7).as_primitive::<Int64Type>());
        let pre = b.column(8).as_boolean();
        for i in 0..b.num_rows() {
            let name = metric.value(i);
            if !metrics.is_empty() && !metrics.iter().any(|m| m == name) {
                continue;
            }
            if by_metric.last().is_none_or(|m| m.metric != name) {
                by_metric.push(MetricEffect {
                    metric: name.to_string(),
                    direction: direction.value(i),
                    pre_trends_differ: pre.value(i),
                    event_times: Vec::new(),
                });
            }
            let opt = |a: &datafusion::arrow::array::Float64Array| (!a.is_null(i)).then(|| a.value(i));
            by_metric.last_mut().expect("pushed").event_times.push(EventTime {
                e: e.value(i),
                estimate: estimate.value(i),
                low: opt(low),
                high: opt(high),
                treated: treated.value(i),
                cohorts: cohorts.value(i),
            });
        }
    }
    by_metric.sort_by_key(|m| METRICS.iter().position(|x| *x == m.metric).unwrap_or(METRICS.len()));
    let doc = EffectDocument {
        by: group_by.as_str().to_string(),
        quarters: [first.label(), last.label()],
        bootstrap: Bootstrap {
            replicates: settings.effect.replicates,
            seed: settings.effect.seed,
            level: settings.effect.level,
        },
        metrics: by_metric,
    };
    Ok((doc, why))
}

/// A session with the views of `queries/08_effect.sql` over `rows`, the
/// quarterly metrics of `quarters`, and the replicate weights of their groups.
pub async fn effect_context(
    lake: &LakeSession,
    settings: &QuerySettings,
    quarters: &[Quarter],
    group_by: GroupBy,
    rows: Vec<RecordBatch>,
) -> Result<SessionContext, QueryError> {
    let (Some(first), Some(last)) = (quarters.first(), quarters.last()) else {
        return Err(QueryError::Config("no quarters to compare".into()));
    };
    let schema = match rows.first() {
        Some(b) => b.schema(),
        None => quarterly_schema(lake, settings, quarters, group_by).await?,
    };
    let groups = groups_of(&rows);
    let span = Window::quarters(*first, *last, settings.timezone);
    let ctx = jcurve_context(lake, settings, schema, rows, span, group_by).await?;
    register_effect(&ctx, settings, &groups, span, group_by).await?;
    Ok(ctx)
}

/// Register `effect_replicate` for `groups` and the views of
/// `queries/08_effect.sql` in a session that has the J-curve's.
pub async fn register_effect(
    ctx: &SessionContext,
    settings: &QuerySettings,
    groups: &[String],
    span: Window,
    group_by: GroupBy,
) -> Result<(), QueryError> {
    let weights = replicate_weights(groups, settings.effect.replicates, settings.effect.seed);
    ctx.register_table("effect_replicate", Arc::new(MemTable::try_new(replicate_schema(), vec![vec![weights]])?))?;
    let sql = queries::render(queries::EFFECT, settings, &[Period::window(span)], group_by)?;
    queries::run_script(ctx, "08_effect.sql", &sql).await
}

/// A text column as `Utf8`, whichever string type the plan gave it.
fn utf8(c: &datafusion::arrow::array::ArrayRef) -> Result<datafusion::arrow::array::ArrayRef, QueryError> {
    Ok(cast(c, &DataType::Utf8)?)
}

/// The distinct groups of quarterly rows, sorted.
fn groups_of(rows: &[RecordBatch]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for b in rows {
        // Utf8 or Utf8View, as the plan made it.
        let Some(grp) = b.column_by_name("grp").and_then(|c| cast(c, &DataType::Utf8).ok()) else { continue };
        out.extend(grp.as_string::<i32>().iter().flatten().map(str::to_string));
    }
    out.into_iter().collect()
}

/// Why the groups cannot be compared, if they cannot.
async fn nothing_to_compare(ctx: &SessionContext) -> Result<Option<NothingToCompare>, QueryError> {
    let batches = ctx
        .sql(
            "SELECT (SELECT count(*) FROM group_onboarding) AS onboarded, \
                    (SELECT count(DISTINCT q0) FROM group_onboarding) AS cohorts, \
                    (SELECT CAST(min(q0) AS VARCHAR) FROM group_onboarding) AS first_q0, \
                    (SELECT count(DISTINCT grp) FROM quarterly_metrics \
                       WHERE grp NOT IN (SELECT grp FROM group_onboarding)) AS never, \
                    (SELECT count(*) FROM effect_cohort) AS usable",
        )
        .await?
        .collect()
        .await?;
    let b = batches.first().ok_or_else(|| QueryError::Shape("no row".into()))?;
    let int = |i: usize| b.column(i).as_primitive::<Int64Type>().value(0);
    let (onboarded, cohorts, never, usable) = (int(0), int(1), int(3), int(4));
    Ok(if onboarded == 0 {
        Some(NothingToCompare::NoOnboarding)
    } else if cohorts == 1 && never == 0 {
        let q0 = utf8(b.column(2))?;
        let q0 = q0.as_string::<i32>().value(0);
        let quarter = q0
            .parse::<chrono::NaiveDate>()
            .ok()
            .and_then(|d| Quarter::new(d.year(), d.month0() / 3 + 1))
            .map(Quarter::label)
            .unwrap_or_else(|| q0.to_string());
        Some(NothingToCompare::NoComparison { quarter })
    } else if usable == 0 {
        Some(NothingToCompare::OutsideSpan)
    } else {
        None
    })
}

/// The groups compared, in words: `services` for `by = "service"`, else `teams`.
pub fn groups_noun(by: &str) -> &'static str {
    if by == "service" { "services" } else { "teams" }
}

/// An interval's level as a percentage for display (0.95 -> 95, 0.975 -> 97.5).
pub fn level_percent(level: f64) -> f64 {
    (level * 1000.0).round() / 10.0
}

/// How a metric reads in a sentence: its name, whether it takes `were`,
/// its unit, how it scales from the stored value, its decimals, and the
/// words for less and more.
struct Wording {
    name: &'static str,
    plural: bool,
    unit: &'static str,
    scale: f64,
    decimals: usize,
    less: &'static str,
    more: &'static str,
}

fn wording(metric: &str) -> Wording {
    let hours =
        |name| Wording { name, plural: false, unit: " h", scale: 1.0, decimals: 1, less: "shorter", more: "longer" };
    match metric {
        "lead_time_p50" => hours("median lead time"),
        "recovery_p50" => hours("median recovery time"),
        "time_to_restore_p50" => hours("median time to restore"),
        "change_failure_rate" => Wording {
            name: "the change failure rate",
            plural: false,
            unit: " points",
            scale: 100.0,
            decimals: 1,
            less: "lower",
            more: "higher",
        },
        "deployments_per_day" => Wording {
            name: "deployments per day",
            plural: true,
            unit: "",
            scale: 1.0,
            decimals: 2,
            less: "lower",
            more: "higher",
        },
        _ => Wording {
            name: "NPS",
            plural: false,
            unit: " points",
            scale: 1.0,
            decimals: 0,
            less: "lower",
            more: "higher",
        },
    }
}

impl MetricEffect {
    /// The warning when the groups already moved apart before onboarding.
    pub fn warning(&self, by: &str) -> Option<String> {
        let groups = groups_noun(by);
        self.pre_trends_differ.then(|| {
            format!(
                "Warning: before onboarding, these {groups} already moved differently from the {groups} not yet \
                 onboarded, so this comparison is not trustworthy for this metric."
            )
        })
    }

    /// The event time a sentence speaks of: the latest one since onboarding
    /// with an interval, else the latest with an estimate.
    pub fn headline(&self) -> Option<&EventTime> {
        let after = || self.event_times.iter().filter(|t| t.e >= 0);
        after().filter(|t| t.low.is_some()).max_by_key(|t| t.e).or_else(|| after().max_by_key(|t| t.e))
    }

    /// One sentence in plain words, e.g. "4 quarters after onboarding, median
    /// lead time was 6.8 h shorter than for teams not yet onboarded (95 %
    /// interval 4.3 to 9.2 h shorter; 19 teams in 4 cohorts)." The pre-trend
    /// warning is [`MetricEffect::warning`].
    pub fn sentence(&self, by: &str, level: f64) -> String {
        let w = wording(&self.metric);
        let groups = groups_noun(by);
        let Some(t) = self.headline() else {
            return format!(
                "No {} was onboarded long enough ago, with {groups} not yet onboarded beside it, to estimate {}.",
                groups.trim_end_matches('s'),
                w.name
            );
        };
        let amount = |x: f64| {
            let v = x * w.scale;
            let shown = format!("{:.*}", w.decimals, v.abs());
            if shown.trim_start_matches(['0', '.']).is_empty() {
                format!("no different ({shown}{})", w.unit)
            } else {
                format!("{shown}{} {}", w.unit, if v < 0.0 { w.less } else { w.more })
            }
        };
        let when = match t.e {
            0 => "In the quarter of onboarding".to_string(),
            1 => "1 quarter after onboarding".to_string(),
            e => format!("{e} quarters after onboarding"),
        };
        let verb = if w.plural { "were" } else { "was" };
        let pct = format!("{} %", level_percent(level));
        let units = format!(
            "{} {} in {} cohort{}",
            t.treated,
            if t.treated == 1 { groups.trim_end_matches('s') } else { groups },
            t.cohorts,
            if t.cohorts == 1 { "" } else { "s" }
        );
        let interval = match (t.low, t.high) {
            (Some(low), Some(high)) if low * high > 0.0 => {
                let (a, b) = if low < 0.0 { (-high, -low) } else { (low, high) };
                let word = if low < 0.0 { w.less } else { w.more };
                format!(
                    "{pct} interval {:.*} to {:.*}{} {word}",
                    w.decimals,
                    a * w.scale,
                    w.decimals,
                    b * w.scale,
                    w.unit
                )
            }
            (Some(low), Some(high)) => format!("{pct} interval from {} to {}", amount(low), amount(high)),
            _ => "no interval: too few bootstrap replicates could estimate it".to_string(),
        };
        let mut s = format!(
            "{when}, {} {verb} {} than for {groups} not yet onboarded ({interval}; {units}).",
            w.name,
            amount(t.estimate)
        );
        if matches!((t.low, t.high), (Some(low), Some(high)) if low * high <= 0.0) {
            s.push_str(" The interval includes no difference: chance cannot be ruled out.");
        }
        s
    }
}

/// The schema of [`EffectDocument::to_batch`]: one row per metric and event
/// time, as `devex effect --format csv` and `effect(...)` over the wire give.
pub fn rows_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("metric", DataType::Utf8, false),
        Field::new("direction", DataType::Int64, false),
        Field::new("pre_trends_differ", DataType::Boolean, false),
        Field::new("e", DataType::Int64, false),
        Field::new("estimate", DataType::Float64, false),
        Field::new("low", DataType::Float64, true),
        Field::new("high", DataType::Float64, true),
        Field::new("treated", DataType::Int64, false),
        Field::new("cohorts", DataType::Int64, false),
    ]))
}

impl EffectDocument {
    /// Every metric's event times as rows of [`rows_schema`].
    pub fn to_batch(&self) -> RecordBatch {
        use datafusion::arrow::array::{BooleanArray, Float64Array};
        let rows: Vec<(&MetricEffect, &EventTime)> =
            self.metrics.iter().flat_map(|m| m.event_times.iter().map(move |t| (m, t))).collect();
        RecordBatch::try_new(
            rows_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|(m, _)| m.metric.as_str()))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|(m, _)| m.direction))),
                Arc::new(BooleanArray::from(rows.iter().map(|(m, _)| m.pre_trends_differ).collect::<Vec<_>>())),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, t)| t.e))),
                Arc::new(Float64Array::from_iter_values(rows.iter().map(|(_, t)| t.estimate))),
                Arc::new(Float64Array::from(rows.iter().map(|(_, t)| t.low).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(rows.iter().map(|(_, t)| t.high).collect::<Vec<_>>())),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, t)| t.treated))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, t)| t.cohorts))),
            ],
        )
        .expect("columns match the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(estimate: f64, low: Option<f64>, high: Option<f64>) -> MetricEffect {
        MetricEffect {
            metric: "lead_time_p50".into(),
            direction: -1,
            pre_trends_differ: false,
            event_times: vec![
                EventTime { e: -2, estimate: 0.1, low: Some(-1.0), high: Some(1.0), treated: 19, cohorts: 4 },
                EventTime { e: 4, estimate, low, high, treated: 19, cohorts: 4 },
            ],
        }
    }

    #[test]
    fn a_sentence_says_the_latest_estimate_and_its_interval_in_plain_words() {
        assert_eq!(
            effect(-6.8, Some(-9.2), Some(-4.3)).sentence("team", 0.95),
            "4 quarters after onboarding, median lead time was 6.8 h shorter than for teams not yet onboarded \
             (95 % interval 4.3 to 9.2 h shorter; 19 teams in 4 cohorts)."
        );
        let unsure = effect(-1.0, Some(-3.0), Some(0.5)).sentence("service", 0.9);
        assert!(unsure.contains("90 % interval from 3.0 h shorter to 0.5 h longer"), "{unsure}");
        assert!(unsure.ends_with("chance cannot be ruled out."), "{unsure}");
        let mut flagged = effect(-6.8, None, None);
        assert!(flagged.sentence("team", 0.95).contains("no interval"));
        assert_eq!(flagged.warning("team"), None);
        flagged.pre_trends_differ = true;
        assert!(flagged.warning("service").is_some_and(|w| w.contains("services") && w.contains("not trustworthy")));
    }

    #[test]
    fn every_group_is_drawn_as_often_as_there_are_groups() {
        let groups: Vec<String> = (0..7).map(|i| format!("g{i}")).collect();
        let w = replicate_weights(&groups, 50, 3);
        let r = w.column(0).as_primitive::<Int64Type>();
        let d = w.column(2).as_primitive::<Int64Type>();
        for replicate in 0..=50 {
            let drawn: i64 = (0..w.num_rows()).filter(|&i| r.value(i) == replicate).map(|i| d.value(i)).sum();
            assert_eq!(drawn, 7, "replicate {replicate}");
        }
        assert_ne!(w, replicate_weights(&groups, 50, 4), "another seed, other draws");
    }
}
