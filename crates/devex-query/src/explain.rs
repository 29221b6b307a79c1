//! `devex explain METRIC`: the rows behind one number of `devex metrics`
//! (docs/metrics.md, "Tracing a number"). The rows are read from the views
//! the number is computed from, in the same session; the value is read from
//! the `metrics` view of that session, so it is what `devex metrics` prints.
//!
//! ```no_run
//! # async fn run() -> Result<(), devex_query::QueryError> {
//! use devex_query::explain::{Traced, explain};
//! use devex_query::{GroupBy, LakeSession, Quarter, QuerySettings};
//! let lake = LakeSession::open("devex-data").await?;
//! let settings = QuerySettings::default();
//! let window = Quarter::new(2026, 1).expect("a quarter").window(settings.timezone);
//! let traced = Traced::parse("lead_time")?;
//! let e = explain(&lake, &settings, window, GroupBy::Team, Some("payments"), traced).await?;
//! println!("{} changes behind the p50 in column {}", e.rows.iter().map(|b| b.num_rows()).sum::<usize>(), traced.value_column());
//! # Ok(())
//! # }
//! ```

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};

use crate::calendar::Window;
use crate::error::QueryError;
use crate::params::{GroupBy, QuerySettings};
use crate::session::LakeSession;

/// A number `devex explain` can list row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Traced {
    Deployments,
    LeadTime,
    ChangeFailureRate,
    RecoveryTime,
    ReworkRate,
    TimeToRestore,
}

/// The names `devex explain` takes, in the order of `devex metrics`.
pub const TRACED: [&str; 6] =
    ["deployments", "lead_time", "change_failure_rate", "recovery_time", "rework_rate", "time_to_restore"];

/// Survey numbers: never listed row by row.
const SURVEY: [&str; 3] = ["nps", "devex_scores", "devex"];

impl Traced {
    /// `name` as given on the command line (`lead_time`, or `lead_time_hours`
    /// as the JSON calls it). Survey numbers are refused, saying why.
    pub fn parse(name: &str) -> Result<Traced, QueryError> {
        let n = name.trim().to_ascii_lowercase().replace('-', "_");
        let n = n.strip_suffix("_hours").unwrap_or(&n);
        Ok(match n {
            "deployments" | "deployment_frequency" => Traced::Deployments,
            "lead_time" => Traced::LeadTime,
            "change_failure_rate" | "cfr" => Traced::ChangeFailureRate,
            "recovery_time" => Traced::RecoveryTime,
            "rework_rate" => Traced::ReworkRate,
            "time_to_restore" => Traced::TimeToRestore,
            s if SURVEY.contains(&s) || s.starts_with("devex_") => {
                return Err(QueryError::Refused(format!(
                    "`{name}` is a survey number: its answers are never listed row by row, because \
                     listing them would show who answered what (docs/metrics.md, \"Tracing a number\"); \
                     `devex metrics` shows it with its respondent count `n`, withheld below \
                     survey.min_group_size"
                )));
            }
            _ => {
                return Err(QueryError::Config(format!(
                    "`{name}` is not a number devex explain lists: use one of {}",
                    TRACED.join(", ")
                )));
            }
        })
    }

    /// The name of the number, as `devex explain` takes it.
    pub fn name(self) -> &'static str {
        TRACED[self as usize]
    }

    /// The rows behind the number: a saved view and its columns.
    fn rows_sql(self) -> &'static str {
        match self {
            Traced::Deployments | Traced::ReworkRate => {
                "SELECT grp, id, service, team, finished_at, kind FROM window_deployment"
            }
            Traced::LeadTime => {
                "SELECT grp, repo, sha, deployment_id, committed_at, deployed_at AS finished_at, \
                 hours AS lead_time_hours, coding_hours, pickup_hours, review_hours, deploy_hours \
                 FROM lead_time_change WHERE hours > 0"
            }
            Traced::ChangeFailureRate => {
                "SELECT grp, id, service, team, finished_at, kind, failed, caused_by_deployment, root_cause_sha, \
                 attributed_incident, followed_by_rollback_or_hotfix, incident_ids, rollback_or_hotfix_id \
                 FROM deployment_outcome"
            }
            Traced::RecoveryTime => {
                "SELECT grp, id, service, team, finished_at, kind, recovered_at, recovered_by, \
                 rollback_or_hotfix_id, incident_ids, \
                 (date_part('epoch', recovered_at) - date_part('epoch', finished_at)) / 3600.0 AS hours, \
                 recovered_at IS NULL AS open \
                 FROM deployment_outcome WHERE failed"
            }
            Traced::TimeToRestore => {
                "SELECT grp, source, id, service, created_at, resolved_at, \
                 (date_part('epoch', resolved_at) - date_part('epoch', created_at)) / 3600.0 AS hours \
                 FROM window_incident WHERE resolved_at IS NOT NULL"
            }
        }
    }

    /// The order rows are listed in.
    fn order(self) -> &'static [&'static str] {
        match self {
            Traced::LeadTime => &["finished_at", "deployment_id", "repo", "sha"],
            Traced::TimeToRestore => &["created_at", "source", "id"],
            _ => &["finished_at", "id"],
        }
    }

    /// The `metrics` view's column that holds the number.
    pub fn value_column(self) -> &'static str {
        match self {
            Traced::Deployments => "deployments",
            Traced::LeadTime => "lead_time_p50",
            Traced::ChangeFailureRate => "change_failure_rate",
            Traced::RecoveryTime => "recovery_p50",
            Traced::ReworkRate => "rework_rate",
            Traced::TimeToRestore => "time_to_restore_p50",
        }
    }
}

/// One number and the rows behind it.
#[derive(Debug, Clone)]
pub struct Explained {
    /// Which number.
    pub metric: Traced,
    /// The `metrics` view's row for the group: the number and its companions
    /// (`n`, p90, failed, open, …), as `devex metrics --format csv` prints them.
    pub metrics: Vec<RecordBatch>,
    /// The rows behind it.
    pub rows: Vec<RecordBatch>,
}

/// The rows behind `metric` for the window and group: `group` names a team
/// or service for [`GroupBy::Team`] and [`GroupBy::Service`], and is `None`
/// for the organisation.
pub async fn explain(
    lake: &LakeSession,
    settings: &QuerySettings,
    window: Window,
    group_by: GroupBy,
    group: Option<&str>,
    metric: Traced,
) -> Result<Explained, QueryError> {
    let grp = match (group_by, group) {
        (GroupBy::Org, _) => String::new(),
        (_, Some(g)) => g.to_string(),
        (_, None) => return Err(QueryError::Config("name the team or service to explain".into())),
    };
    // The views the metric and its rows share are computed once, as `devex metrics` does.
    let ctx = lake.metrics_run_context(settings, window, group_by).await?;
    let metrics = ctx.sql("SELECT * FROM metrics").await?.filter(col("grp").eq(lit(grp.clone())))?;
    let metrics = metrics.collect().await?;
    if metrics.iter().all(|b| b.num_rows() == 0) {
        let what = if group_by == GroupBy::Service { "service" } else { "team" };
        return Err(QueryError::Config(format!(
            "no {what} `{grp}` in the lake: `devex metrics --by {what}` lists them"
        )));
    }
    let rows = rows_frame(&ctx, metric, Some(grp)).await?.collect().await?;
    Ok(Explained { metric, metrics, rows })
}

/// The columns of the rows listed for `metric`, as planned in `ctx` (a
/// session with the metric views: [`LakeSession::metrics_context`]).
pub async fn rows_schema(ctx: &SessionContext, metric: Traced) -> Result<SchemaRef, QueryError> {
    Ok(rows_frame(ctx, metric, None).await?.schema().inner().clone())
}

/// The rows behind `metric` in `ctx`, of one group (all groups: `None`), in order, without `grp`.
async fn rows_frame(ctx: &SessionContext, metric: Traced, grp: Option<String>) -> Result<DataFrame, QueryError> {
    let mut rows = ctx.sql(metric.rows_sql()).await?;
    if let Some(grp) = grp {
        rows = rows.filter(col("grp").eq(lit(grp)))?;
    }
    let order: Vec<_> = metric.order().iter().map(|c| col(*c).sort(true, true)).collect();
    let rows = rows.sort(order)?;
    let keep: Vec<String> = rows.schema().fields().iter().map(|f| f.name().clone()).filter(|n| n != "grp").collect();
    Ok(rows.select_columns(&keep.iter().map(String::as_str).collect::<Vec<_>>())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_survey_numbers_are_refused() {
        for (i, name) in TRACED.iter().enumerate() {
            assert_eq!(Traced::parse(name).unwrap() as usize, i);
            assert_eq!(Traced::parse(name).unwrap().name(), *name);
        }
        assert_eq!(Traced::parse("lead_time_hours").unwrap(), Traced::LeadTime);
        assert_eq!(Traced::parse("Change-Failure-Rate").unwrap(), Traced::ChangeFailureRate);
        for survey in ["nps", "devex_scores", "devex_flow_state"] {
            let e = Traced::parse(survey).unwrap_err();
            assert!(matches!(e, QueryError::Refused(_)), "{survey}");
            assert!(e.to_string().contains("who answered"), "{e}");
        }
        let e = Traced::parse("speed").unwrap_err().to_string();
        assert!(e.contains("one of deployments, lead_time"), "{e}");
    }
}
