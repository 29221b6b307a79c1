//! What a client of `devex serve` may run: queries, EXPLAIN of a query, SHOW
//! and DESCRIBE, and the session bookkeeping every client sends on connect
//! (SET, BEGIN/COMMIT/ROLLBACK, DECLARE/FETCH/CLOSE of cursors, DEALLOCATE,
//! DISCARD). Everything else is refused with SQLSTATE 25006
//! (read_only_sql_transaction) before DataFusion plans it. Statements past
//! the size bounds of [`crate::limits`] are refused here too (54001), and a
//! cursor's query is planned and checked read-only by its plan, as every
//! query is ([`crate::planned`]).

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use pgwire::api::ClientInfo;
use pgwire::api::results::Response;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

/// The statement's leading keywords when it is refused, `None` when it may run.
///
/// ```
/// use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
/// let st = |sql: &str| Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
/// assert_eq!(devex_serve::refusal(&st("SELECT 1")), None);
/// assert_eq!(devex_serve::refusal(&st("SET extra_float_digits = 3")), None);
/// assert_eq!(devex_serve::refusal(&st("DELETE FROM deployments")).as_deref(), Some("DELETE FROM"));
/// assert!(devex_serve::refusal(&st("EXPLAIN ANALYZE INSERT INTO t VALUES (1)")).is_some());
/// ```
pub fn refusal(statement: &Statement) -> Option<String> {
    match statement {
        Statement::Query(_)
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ExplainTable { .. }
        | Statement::Set(_)
        | Statement::Reset(_)
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. }
        | Statement::Deallocate { .. }
        | Statement::Discard { .. } => None,
        Statement::Explain { statement, .. } => refusal(statement),
        other => Some(other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_uppercase()),
    }
}

fn refused(what: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "25006".into(),
        format!(
            "devex serve is read-only: `{what}` is refused; run SELECT, EXPLAIN, SHOW or DESCRIBE \
             (rows change only through devex import and devex ingest)"
        ),
    )))
}

/// Why `statement` may not run, checked before anything plans it: its kind,
/// its size, and for a cursor the plan of its query.
async fn admissible(statement: &Statement, ctx: &SessionContext) -> PgWireResult<()> {
    if let Some(what) = refusal(statement) {
        return Err(refused(&what));
    }
    crate::limits::check(statement)?;
    if let Statement::Declare { stmts } = statement {
        for declare in stmts {
            if let Some(query) = &declare.for_query {
                crate::planned::plan(ctx, &Statement::Query(query.clone())).await?;
            }
        }
    }
    Ok(())
}

/// The hook that refuses every writing or oversized statement, first in the chain.
pub struct ReadOnly;

#[async_trait]
impl QueryHook for ReadOnly {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        admissible(statement, session_context).await.err().map(Err)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        session_context: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        admissible(statement, session_context).await.err().map(Err)
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _logical_plan: &LogicalPlan,
        _params: &ParamValues,
        _session_context: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        refusal(statement).map(|what| Err(refused(&what)))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    use super::*;

    fn refused(sql: &str) -> Option<String> {
        refusal(&Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0))
    }

    #[test]
    fn what_a_dashboard_sends_runs() {
        for sql in [
            "SELECT * FROM deployments",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
            "SET datestyle = 'ISO'",
            "BEGIN",
            "COMMIT",
            "DECLARE c CURSOR FOR SELECT 1",
            "FETCH 10 FROM c",
            "CLOSE c",
            "DISCARD ALL",
        ] {
            assert_eq!(refused(sql), None, "{sql}");
        }
    }

    #[test]
    fn every_write_is_refused_naming_it() {
        for (sql, what) in [
            ("INSERT INTO deployments VALUES (1)", "INSERT INTO"),
            ("UPDATE deployments SET id = '1'", "UPDATE DEPLOYMENTS"),
            ("DROP TABLE deployments", "DROP TABLE"),
            ("CREATE TABLE t (a INT)", "CREATE TABLE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("COPY deployments TO '/tmp/x'", "COPY DEPLOYMENTS"),
            ("EXPLAIN ANALYZE DELETE FROM deployments", "DELETE FROM"),
        ] {
            assert_eq!(refused(sql).as_deref(), Some(what), "{sql}");
        }
    }
}
