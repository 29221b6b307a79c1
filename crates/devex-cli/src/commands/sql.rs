//! `devex sql`: ad-hoc SQL over the lake.

use std::io::Write;

use anyhow::Context;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::context::SQLOptions;
use datafusion::sql::parser::DFParser;
use devex_query::QuerySettings;

use super::window;

use crate::cli::{SqlArgs, SqlFormat};
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: SqlArgs) -> anyhow::Result<Outcome> {
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => unreachable!("clap requires one"),
    };
    let qs = QuerySettings::from_config(&settings.config)?;
    let window = window::resolve(&args.window, qs.timezone, chrono::Utc::now())?;
    let lake = settings.open_lake(window::as_of(&args.window, qs.timezone)?).await?;
    if let Some(what) = writes(&query) {
        return Err(refused(&what));
    }
    let ctx = lake.statement_context(&qs, window, window::group_by(args.by)).await?;
    let plan = match ctx.state().create_logical_plan(&query).await {
        Ok(plan) => plan,
        Err(e) => return Err(Failure::error(format!("{}", e.find_root()), tables_hint())),
    };
    // Read-only: the lake changes only through devex's own writers (one MERGE per
    // import, quarantine, run metadata), never through ad-hoc SQL.
    if let Err(e) = read_only().verify_plan(&plan) {
        return Err(refused(&e.find_root().to_string()));
    }
    let batches = match ctx.execute_logical_plan(plan).await {
        Ok(df) => df.collect().await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    let batches = match batches {
        Ok(b) => b,
        Err(e) => return Err(Failure::error(format!("{}", e.root_cause()), tables_hint())),
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            write(&batches, args.format, std::io::BufWriter::new(file))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} to {}",
                devex_model::plural::count(batches.iter().map(RecordBatch::num_rows).sum::<usize>() as u64, "row"),
                path.display()
            );
        }
        None if args.format == SqlFormat::Parquet => {
            return Err(Failure::error("parquet output needs a file", "add --output FILE.parquet"));
        }
        None => write(&batches, args.format, std::io::stdout())?,
    }
    Ok(Outcome::Success)
}

/// What `devex sql` may run: queries, EXPLAIN, SHOW and DESCRIBE. No DDL
/// (CREATE [EXTERNAL] TABLE / VIEW, DROP), no DML (INSERT, UPDATE, DELETE,
/// MERGE, COPY ... TO) and no statements (SET, transactions, PREPARE).
pub fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

/// The first statement of `sql` that would write or change the session, by its
/// leading keywords (`INSERT`, `COPY ... TO`, `CREATE EXTERNAL TABLE`, ...).
/// Text that does not parse is left to the planner, which explains the error.
pub fn writes(sql: &str) -> Option<String> {
    use datafusion::sql::parser::Statement as Df;
    use datafusion::sql::sqlparser::ast::Statement as S;
    fn sql_writes(s: &S) -> Option<String> {
        match s {
            S::Query(_)
            | S::ShowTables { .. }
            | S::ShowColumns { .. }
            | S::ShowVariable { .. }
            | S::ShowFunctions { .. }
            | S::ExplainTable { .. } => None,
            S::Explain { statement, .. } => sql_writes(statement),
            other => Some(other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ")),
        }
    }
    fn df_writes(st: &Df) -> Option<String> {
        match st {
            Df::Statement(s) => sql_writes(s),
            Df::Explain(e) => df_writes(&e.statement),
            Df::CreateExternalTable(_) => Some("CREATE EXTERNAL TABLE".into()),
            Df::CopyTo(_) => Some("COPY ... TO".into()),
            other => Some(other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ")),
        }
    }
    DFParser::parse_sql(sql).ok()?.iter().find_map(df_writes)
}

fn refused(what: &str) -> anyhow::Error {
    Failure::error(
        format!("devex sql only reads the lake: `{what}` is refused"),
        "run SELECT, EXPLAIN, SHOW or DESCRIBE; to add or correct rows use `devex import TABLE FILE` \
         (a row replaces the stored row with the same identity); to export a result use --output FILE",
    )
}

fn tables_hint() -> String {
    let tables: Vec<String> = devex_model::Table::ALL
        .iter()
        .map(|t| {
            let cols: Vec<String> = t.schema().fields().iter().map(|f| f.name().clone()).collect();
            format!("{}({})", t.name(), cols.join(", "))
        })
        .collect();
    format!("tables: {}\n{}", tables.join("; "), views_help())
}

/// The saved views by name, one line each on what they hold (from the SQL's own comments).
pub fn views_help() -> String {
    let views = devex_query::queries::saved_views();
    let width = views.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let lines: Vec<String> = views.iter().map(|v| format!("  {:<width$}  {}", v.name, v.about)).collect();
    format!(
        "saved views (for the window and grouping given; the J-curve is `devex trends --relative-to-onboarding`, the effect of onboarding `devex effect`):\n{}",
        lines.join("\n")
    )
}

fn write(batches: &[RecordBatch], format: SqlFormat, mut out: impl Write + Send) -> anyhow::Result<()> {
    match format {
        SqlFormat::Table => writeln!(out, "{}", pretty_format_batches(batches)?)?,
        SqlFormat::Csv => {
            let mut w = datafusion::arrow::csv::Writer::new(&mut out);
            for b in batches {
                w.write(b)?;
            }
        }
        SqlFormat::Json => {
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        SqlFormat::Parquet => {
            let Some(schema) = batches.first().map(RecordBatch::schema) else {
                return Err(Failure::error("the query returned no batches to write", "check the query"));
            };
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(out, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
            return Ok(());
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::writes;

    #[test]
    fn reads_pass_and_writes_are_named() {
        for ok in [
            "SELECT 1",
            "select * from deployments",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
            "SHOW COLUMNS FROM deployments",
            "DESCRIBE deployments",
            "not sql at all",
        ] {
            assert_eq!(writes(ok), None, "{ok}");
        }
        for (bad, word) in [
            ("INSERT INTO deployments SELECT * FROM deployments", "INSERT"),
            ("UPDATE deployments SET status = 'x'", "UPDATE"),
            ("DELETE FROM deployments", "DELETE"),
            ("MERGE INTO deployments d USING deployments s ON d.id = s.id WHEN MATCHED THEN DELETE", "MERGE"),
            ("DROP TABLE deployments", "DROP"),
            ("CREATE TABLE t AS SELECT 1", "CREATE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE"),
            ("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/tmp/x.csv'", "CREATE EXTERNAL TABLE"),
            ("COPY deployments TO '/tmp/out.parquet'", "COPY"),
            ("EXPLAIN ANALYZE INSERT INTO deployments SELECT * FROM deployments", "INSERT"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("SELECT 1; DROP TABLE deployments", "DROP"),
        ] {
            let got = writes(bad).unwrap_or_else(|| panic!("{bad} passed"));
            assert!(got.starts_with(word), "{bad}: {got}");
        }
    }
}
