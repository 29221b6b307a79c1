//! Queries planned on the blocking pool and checked read-only by their plan.
//!
//! - **Read-only by plan.** A statement that parses as a query can still
//!   write: `SELECT … INTO t` plans as `CREATE TABLE t AS …`. Every plan is
//!   checked with DataFusion's `SQLOptions` (no DDL, no DML, no statements),
//!   as `devex sql` checks it, in both protocols and inside cursors.
//! - **Planning under the deadline.** Planning is synchronous CPU work; on a
//!   runtime worker it would hold the worker and no timeout or hang-up could
//!   fire until it ended. It runs on tokio's blocking pool instead, awaited
//!   under the statement's deadline ([`crate::bounded`]): past it, or when the
//!   client goes, the client is answered at once. [`crate::limits`] bounds
//!   what planning may cost before it starts, since a plan under way cannot be
//!   stopped.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use pgwire::api::ClientInfo;
use pgwire::api::portal::Format;
use pgwire::api::results::Response;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::types::format::FormatOptions;

/// What a client may run: no DDL, no DML, no statements (SET, transactions:
/// those never reach DataFusion, see [`crate::variables`]).
fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

fn api(e: datafusion::error::DataFusionError) -> PgWireError {
    PgWireError::ApiError(Box::new(e))
}

/// Plan `statement` in `ctx`'s session on the blocking pool, and refuse a
/// plan that would write (SQLSTATE 25006).
pub async fn plan(ctx: &SessionContext, statement: &Statement) -> PgWireResult<LogicalPlan> {
    let state = ctx.state();
    let statement = DfStatement::Statement(Box::new(statement.clone()));
    let runtime = tokio::runtime::Handle::current();
    let plan = tokio::task::spawn_blocking(move || runtime.block_on(state.statement_to_plan(statement)))
        .await
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?
        .map_err(api)?;
    if let Err(e) = read_only().verify_plan(&plan) {
        return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "25006".into(),
            format!(
                "devex serve is read-only: this statement would change the server ({e}); \
                 SELECT … INTO and CREATE … AS are refused, run a plain SELECT"
            ),
        ))));
    }
    Ok(plan)
}

/// Whether `statement` is planned here: queries and EXPLAIN of them.
fn planned_here(statement: &Statement) -> bool {
    matches!(statement, Statement::Query(_) | Statement::Explain { .. })
}

/// The last hook: plans queries (see the module), and for the simple
/// protocol runs them too, so each is planned once.
pub struct Planned;

#[async_trait]
impl QueryHook for Planned {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !planned_here(statement) {
            return None;
        }
        let run = async {
            let plan = plan(ctx, statement).await?;
            let frame = ctx.execute_logical_plan(plan).await.map_err(api)?;
            let format = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
            Ok(Response::Query(encode_dataframe(frame, &Format::UnifiedText, Some(format)).await?))
        };
        Some(run.await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        if !planned_here(statement) {
            return None;
        }
        Some(plan(ctx, statement).await)
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }
}
