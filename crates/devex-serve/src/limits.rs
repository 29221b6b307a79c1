//! How big a statement may be, checked before DataFusion plans it.
//!
//! Parsing and planning are CPU work no timeout can interrupt once started,
//! and planning time grows with the square of an expression's depth (a
//! `SELECT 1+1+…` of 4,000 terms took 15 s, 20,000 terms 5 GB and 6 minutes).
//! So every statement is bounded from its first byte:
//!
//! - its text, at most `[serve] max_statement_bytes` (default 1 MiB), checked
//!   before it is parsed;
//! - its expressions, at most [`MAX_DEPTH`] deep, [`MAX_NODES`] in all, and
//!   at most [`MAX_WORK`] in the sum of every expression's depth (planning
//!   costs about that: 160 columns of 150-term sums, 48,000 expressions none
//!   deeper than 151, took 12.5 s to plan in a debug build), checked on the
//!   parsed statement before it is planned.
//!
//! Past either, the statement is refused with SQLSTATE 54001
//! (statement_too_complex), as PostgreSQL refuses a statement too deep for its
//! stack. Within them, planning takes milliseconds and runs on the blocking
//! pool under the statement's deadline ([`crate::planned`]).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Query, Statement, Visit, Visitor};
use datafusion_postgres::pgwire;
use pgwire::error::{ErrorInfo, PgWireError};

/// Deepest expression nesting: `a + b + c` is 3 deep. Real dashboards stay
/// under 50; 200 plans in a few milliseconds.
pub const MAX_DEPTH: usize = 200;
/// Most expressions and subqueries in one statement. A 10,000-value `IN`
/// list is 10,001; 50,000 plans well under a second.
pub const MAX_NODES: usize = 50_000;
/// Most planning work in one statement: the sum over its expressions of their
/// depth. A 49,000-value `IN` list is about 100,000 (1.9 s to answer in a
/// debug build, far less in release); a chain of n terms about n * n (two
/// expressions per term), so 200 terms about 40,000.
pub const MAX_WORK: usize = 300_000;
/// Longest statement text by default (`[serve] max_statement_bytes`).
pub const DEFAULT_MAX_STATEMENT_BYTES: usize = 1 << 20;

/// The error for a statement past a bound.
pub fn too_complex(what: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), "54001".into(), what)))
}

/// Refuse a statement text longer than `max` bytes before parsing it.
pub fn check_text(sql: &str, max: usize) -> Result<(), PgWireError> {
    if sql.len() > max {
        return Err(too_complex(format!(
            "statement too long: {} bytes, devex serve takes at most {max} ([serve] max_statement_bytes)",
            sql.len()
        )));
    }
    Ok(())
}

/// Refuse a parsed statement whose expressions are too deep or too many.
///
/// ```
/// use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
/// let parse = |sql: &str| Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
/// assert!(devex_serve::limits::check(&parse("SELECT a + b FROM t WHERE c IN (1, 2, 3)")).is_ok());
/// let deep = format!("SELECT {}", vec!["1"; 1000].join(" + "));
/// assert!(devex_serve::limits::check(&parse(&deep)).is_err());
/// let chain = vec!["1"; 150].join(" + ");
/// let wide = (0..160).map(|i| format!("{chain} AS c{i}")).collect::<Vec<_>>().join(", ");
/// assert!(devex_serve::limits::check(&parse(&format!("SELECT {wide}"))).is_err());
/// let list = (0..40_000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
/// assert!(devex_serve::limits::check(&parse(&format!("SELECT 1 WHERE 1 IN ({list})"))).is_ok());
/// ```
pub fn check(statement: &Statement) -> Result<(), PgWireError> {
    let mut size = Size::default();
    match statement.visit(&mut size) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(Past::Depth) => Err(too_complex(format!(
            "statement too complex: expressions nested deeper than {MAX_DEPTH} (a long chain of + or OR counts one level per term); \
             split it, or use IN (...) for long lists"
        ))),
        ControlFlow::Break(Past::Nodes) => Err(too_complex(format!(
            "statement too complex: more than {MAX_NODES} expressions; split it into smaller statements"
        ))),
        ControlFlow::Break(Past::Work) => Err(too_complex(format!(
            "statement too complex: its expressions' depths add up to more than {MAX_WORK}, too much to plan \
             (many long chains of + or OR); split it into smaller statements"
        ))),
    }
}

/// Which bound a statement passed.
enum Past {
    Depth,
    Nodes,
    Work,
}

/// Expressions seen and nesting now. The walk stops at the first bound
/// passed, so it never recurses deeper than [`MAX_DEPTH`] itself.
#[derive(Default)]
struct Size {
    depth: usize,
    nodes: usize,
    work: usize,
}

impl Size {
    fn enter(&mut self) -> ControlFlow<Past> {
        self.depth += 1;
        self.nodes += 1;
        if self.depth > MAX_DEPTH {
            return ControlFlow::Break(Past::Depth);
        }
        if self.nodes > MAX_NODES {
            return ControlFlow::Break(Past::Nodes);
        }
        self.work += self.depth;
        if self.work > MAX_WORK {
            return ControlFlow::Break(Past::Work);
        }
        ControlFlow::Continue(())
    }

    fn leave(&mut self) -> ControlFlow<Past> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
}

impl Visitor for Size {
    type Break = Past;

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<Past> {
        self.enter()
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<Past> {
        self.leave()
    }

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<Past> {
        self.enter()
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<Past> {
        self.leave()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    use super::*;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0)
    }

    fn sqlstate(e: PgWireError) -> String {
        match e {
            PgWireError::UserError(info) => info.code.clone(),
            other => panic!("not a user error: {other}"),
        }
    }

    #[test]
    fn text_is_bounded_to_the_byte() {
        assert!(check_text("SELECT 1", 8).is_ok());
        assert_eq!(sqlstate(check_text("SELECT 1 ", 8).unwrap_err()), "54001");
    }

    #[test]
    fn a_chain_is_refused_one_term_past_the_depth_and_not_before() {
        // `1 + 1 + ... + 1` of n terms nests n - 1 binary operators over the literals.
        let chain = |n: usize| parse(&format!("SELECT {}", vec!["1"; n].join(" + ")));
        assert!(check(&chain(MAX_DEPTH - 1)).is_ok());
        let err = check(&chain(MAX_DEPTH + 1)).unwrap_err();
        assert!(err.to_string().contains(&format!("nested deeper than {MAX_DEPTH}")), "{err}");
        assert_eq!(sqlstate(err), "54001");
    }
}
