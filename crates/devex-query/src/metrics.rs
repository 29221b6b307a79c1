//! `devex metrics`: the `metrics` view of one window, as the JSON document of
//! `docs/metrics.md` ("JSON output"). This module only reshapes rows; every
//! number comes from the SQL in `queries/`.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use serde::Serialize;

use crate::calendar::Window;
use crate::error::QueryError;
use crate::params::{GroupBy, QuerySettings};
use crate::session::LakeSession;

/// The version of the metric definitions the numbers follow.
pub const DEFINITIONS_VERSION: &str = "1";

/// The whole `--format json` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsDocument {
    /// `"1"`.
    pub definitions_version: &'static str,
    /// The window and its calendar.
    pub window: WindowJson,
    /// Band thresholds used.
    pub benchmarks: String,
    /// One entry per group.
    pub groups: Vec<GroupMetrics>,
}

/// `window`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowJson {
    /// Inclusive start, RFC 3339 UTC.
    pub from: String,
    /// Exclusive end, RFC 3339 UTC.
    pub to: String,
    /// The calendar's IANA zone.
    pub timezone: String,
}

/// One group's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMetrics {
    /// `{}`, `{"team": …}` or `{"service": …}`.
    pub group: BTreeMap<String, String>,
    /// |D|.
    pub deployments: i64,
    /// Deployment frequency.
    pub deployment_frequency: Frequency,
    /// Change lead time.
    pub lead_time_hours: LeadTime,
    /// Change lead time taken apart by stage.
    pub lead_time_stages: LeadTimeStages,
    /// Change failure rate.
    pub change_failure_rate: FailureRate,
    /// Failed deployment recovery time.
    pub recovery_time_hours: Recovery,
    /// Rework rate.
    pub rework_rate: Rework,
    /// Time to restore service.
    pub time_to_restore_hours: Restore,
    /// NPS; `null` when grouped by service.
    pub nps: Option<Nps>,
    /// Data coverage.
    pub coverage: Coverage,
}

/// `deployment_frequency`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frequency {
    pub per_day: Option<f64>,
    pub deploy_days_per_week_p50: Option<f64>,
    pub band: Option<String>,
}

/// `lead_time_hours`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTime {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub n: i64,
    pub band: Option<String>,
}

/// `lead_time_stages`: the changes of `lead_time_hours`, each split at its
/// PR opened, first review and merge into four stages that add up to its
/// lead time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTimeStages {
    /// Commit to PR opened.
    pub coding: Stage,
    /// PR opened to first review.
    pub pickup: Stage,
    /// First review to merge.
    pub review: Stage,
    /// Merge to the deployment's finish.
    pub deploy: Stage,
    /// Changes with a `pr_opened_at`.
    pub with_pr: i64,
    /// Changes with a `first_review_at`.
    pub reviewed: i64,
}

/// One stage of lead time: hours, and its share of the mean lead time (all
/// `null` when no change is counted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub share: Option<f64>,
}

/// The stage names, in order: the columns `lead_time_<stage>_{mean,p50,share}`.
pub const STAGES: [&str; 4] = ["coding", "pickup", "review", "deploy"];

/// `change_failure_rate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureRate {
    pub value: Option<f64>,
    pub failed: i64,
    pub band: Option<String>,
}

/// `recovery_time_hours`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    pub p50: Option<f64>,
    pub n: i64,
    pub open: i64,
    pub band: Option<String>,
}

/// `rework_rate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rework {
    pub value: Option<f64>,
    pub n: i64,
}

/// `time_to_restore_hours`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restore {
    pub p50: Option<f64>,
    pub n: i64,
}

/// `nps`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nps {
    pub value: Option<f64>,
    pub n: i64,
    pub promoters: Option<i64>,
    pub detractors: Option<i64>,
    pub suppressed: bool,
    /// Why a group with responses is withheld: `min_group_size` (too few
    /// respondents) or `complementary` (withheld so that another withheld group
    /// cannot be worked out from the total). Absent when shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_reason: Option<String>,
}

/// `coverage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub changes_deployed: Option<f64>,
    pub incidents_linked: Option<f64>,
}

/// Every metric of `window`, grouped.
pub async fn compute(
    lake: &LakeSession,
    settings: &QuerySettings,
    window: Window,
    group_by: GroupBy,
) -> Result<MetricsDocument, QueryError> {
    let batches = metric_rows(lake, settings, window, group_by).await?;
    let mut groups = Vec::new();
    for batch in &batches {
        groups.extend(groups_of(batch, group_by)?);
    }
    Ok(document(settings, window, groups))
}

/// The groups of a `metrics` batch (extra columns, such as `quarter` from
/// [`crate::trends::quarterly_rows`], are ignored).
pub fn groups_of(batch: &RecordBatch, group_by: GroupBy) -> Result<Vec<GroupMetrics>, QueryError> {
    let row = Rows::new(batch)?;
    (0..batch.num_rows()).map(|i| row.group(i, group_by)).collect()
}

/// The JSON document of `window` around its groups.
pub fn document(settings: &QuerySettings, window: Window, groups: Vec<GroupMetrics>) -> MetricsDocument {
    MetricsDocument {
        definitions_version: DEFINITIONS_VERSION,
        window: WindowJson {
            from: window.from.format(devex_model::timestamp::RFC3339_UTC).to_string(),
            to: window.to.format(devex_model::timestamp::RFC3339_UTC).to_string(),
            timezone: settings.timezone.name().to_string(),
        },
        benchmarks: settings.benchmarks.clone(),
        groups,
    }
}

/// The raw `metrics` view rows (full precision, for CSV), ordered by group.
pub async fn metric_rows(
    lake: &LakeSession,
    settings: &QuerySettings,
    window: Window,
    group_by: GroupBy,
) -> Result<Vec<RecordBatch>, QueryError> {
    let ctx = lake.metrics_run_context(settings, window, group_by).await?;
    crate::shared::compute_all(&ctx).await?;
    Ok(ctx.sql("SELECT * FROM metrics ORDER BY grp").await?.collect().await?)
}

/// Typed access to a `metrics` batch by column name.
struct Rows<'a> {
    batch: &'a RecordBatch,
}

impl<'a> Rows<'a> {
    fn new(batch: &'a RecordBatch) -> Result<Rows<'a>, QueryError> {
        Ok(Rows { batch })
    }

    fn column(&self, name: &str, ty: &DataType) -> Result<std::sync::Arc<dyn Array>, QueryError> {
        let c = self.batch.column_by_name(name).ok_or_else(|| QueryError::Shape(format!("no column `{name}`")))?;
        Ok(cast(c, ty)?)
    }

    fn f64(&self, name: &str, i: usize) -> Result<Option<f64>, QueryError> {
        let c = self.column(name, &DataType::Float64)?;
        let a = c.as_primitive::<Float64Type>();
        Ok(a.is_valid(i).then(|| a.value(i)))
    }

    fn i64(&self, name: &str, i: usize) -> Result<Option<i64>, QueryError> {
        let c = self.column(name, &DataType::Int64)?;
        let a = c.as_primitive::<Int64Type>();
        Ok(a.is_valid(i).then(|| a.value(i)))
    }

    fn count(&self, name: &str, i: usize) -> Result<i64, QueryError> {
        Ok(self.i64(name, i)?.unwrap_or(0))
    }

    fn str(&self, name: &str, i: usize) -> Result<Option<String>, QueryError> {
        let c = self.column(name, &DataType::Utf8)?;
        let a = c.as_string::<i32>();
        Ok(a.is_valid(i).then(|| a.value(i).to_string()))
    }

    fn bool(&self, name: &str, i: usize) -> Result<bool, QueryError> {
        let c = self.column(name, &DataType::Boolean)?;
        let a = c.as_boolean();
        Ok(a.is_valid(i) && a.value(i))
    }

    fn stages(&self, i: usize) -> Result<LeadTimeStages, QueryError> {
        let stage = |name: &str| -> Result<Stage, QueryError> {
            Ok(Stage {
                mean: self.f64(&format!("lead_time_{name}_mean"), i)?,
                p50: self.f64(&format!("lead_time_{name}_p50"), i)?,
                share: self.f64(&format!("lead_time_{name}_share"), i)?,
            })
        };
        let [coding, pickup, review, deploy] = STAGES;
        Ok(LeadTimeStages {
            coding: stage(coding)?,
            pickup: stage(pickup)?,
            review: stage(review)?,
            deploy: stage(deploy)?,
            with_pr: self.count("lead_time_with_pr", i)?,
            reviewed: self.count("lead_time_reviewed", i)?,
        })
    }

    fn group(&self, i: usize, group_by: GroupBy) -> Result<GroupMetrics, QueryError> {
        let grp = self.str("grp", i)?.unwrap_or_default();
        let mut group = BTreeMap::new();
        match group_by {
            GroupBy::Org => {}
            GroupBy::Team => {
                group.insert("team".into(), grp);
            }
            GroupBy::Service => {
                group.insert("service".into(), grp);
            }
        }
        Ok(GroupMetrics {
            group,
            deployments: self.count("deployments", i)?,
            deployment_frequency: Frequency {
                per_day: self.f64("per_day", i)?,
                deploy_days_per_week_p50: self.f64("deploy_days_per_week_p50", i)?,
                band: self.str("deployment_frequency_band", i)?,
            },
            lead_time_hours: LeadTime {
                p50: self.f64("lead_time_p50", i)?,
                p90: self.f64("lead_time_p90", i)?,
                n: self.count("lead_time_n", i)?,
                band: self.str("lead_time_band", i)?,
            },
            lead_time_stages: self.stages(i)?,
            change_failure_rate: FailureRate {
                value: self.f64("change_failure_rate", i)?,
                failed: self.count("failed", i)?,
                band: self.str("change_failure_rate_band", i)?,
            },
            recovery_time_hours: Recovery {
                p50: self.f64("recovery_p50", i)?,
                n: self.count("recovery_n", i)?,
                open: self.count("recovery_open", i)?,
                band: self.str("recovery_band", i)?,
            },
            rework_rate: Rework { value: self.f64("rework_rate", i)?, n: self.count("rework_n", i)? },
            time_to_restore_hours: Restore {
                p50: self.f64("time_to_restore_p50", i)?,
                n: self.count("time_to_restore_n", i)?,
            },
            nps: (group_by != GroupBy::Service)
                .then(|| -> Result<Nps, QueryError> {
                    Ok(Nps {
                        value: self.f64("nps", i)?,
                        n: self.count("nps_n", i)?,
                        promoters: self.i64("nps_promoters", i)?,
                        detractors: self.i64("nps_detractors", i)?,
                        suppressed: self.bool("nps_suppressed", i)?,
                        suppressed_reason: self.str("nps_suppressed_reason", i)?,
                    })
                })
                .transpose()?,
            coverage: Coverage {
                changes_deployed: self.f64("changes_deployed", i)?,
                incidents_linked: self.f64("incidents_linked", i)?,
            },
        })
    }
}
