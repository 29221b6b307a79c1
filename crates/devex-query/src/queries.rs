//! The SQL files of `queries/`, compiled into the binary so it is
//! self-contained, and registered as views: the single source of metric truth.

use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;

use crate::params::QuerySettings;
use crate::session::QueryError;

/// Every saved query file, in the order they build on each other.
pub const FILES: &[(&str, &str)] = &[
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

/// Run every statement of every file (`CREATE VIEW ...`) in `ctx`.
pub async fn register_views(ctx: &SessionContext, settings: &QuerySettings) -> Result<(), QueryError> {
    let tz = settings.timezone_literal()?;
    for (file, text) in FILES {
        run_script(ctx, file, &text.replace("{{timezone}}", tz)).await?;
    }
    Ok(())
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
