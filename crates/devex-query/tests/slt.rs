//! Runs the metric rules of `queries/tests/*.slt` in-process: each file gets a
//! fresh session with the lake's tables (empty, writable in memory) and every
//! view of `queries/` registered for the window and grouping its header names;
//! it fills the tables with `INSERT`s and checks query results as sqllogictest
//! does (`statement ok`, `query ... ----` and the expected rows).
//!
//! A file's settings are `# devex: key=value ...` lines: `window=FROM..TO`
//! (dates, UTC midnight) or `window=2026-Q1` (the quarter in the file's
//! `timezone`), `group_by=org|team|service`, `timezone=UTC`,
//! `min_group_size=5`, `attribution_window_hours=24`,
//! `question=q_ci:feedback_loops:5` (repeatable), `benchmarks=custom` with
//! `band=lead_time_p50:elite:12` (repeatable), `effect=on` (as `jcurve=on`, plus an
//! empty, writable `effect_replicate` and the views of `queries/08_effect.sql`), `jcurve=on` (an empty
//! in-memory `quarterly_metrics` table, the `metrics` view's columns led by
//! `quarter` and `quarter_start`, and the J-curve views of
//! `queries/07_jcurve.sql` over it). Floats print with at most 9 decimals,
//! NULL as `NULL`.
//!
//! Each file runs twice: with every view planned from the tables, and with the
//! derived facts (`devex_query::facts`) computed from the tables after every
//! `INSERT` and read in place of their views, as a lake with current facts
//! is read. Both must give the file's results.
//!
//! `cargo test -p devex-query --test slt` runs them all; `-- NAME` only the
//! files whose path contains NAME.

// A binary (or bench, or test harness): printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema, UInt64Type};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use devex_query::{GroupBy, LakeSession, Period, Quarter, QuerySettings, Window, queries};
use sqllogictest::{DBOutput, DefaultColumnType, Runner};

/// One file's session settings, from its `# devex:` lines.
struct Header {
    window: Window,
    group_by: GroupBy,
    settings: QuerySettings,
    jcurve: bool,
    effect: bool,
}

fn header(text: &str, file: &Path) -> Result<Header, String> {
    let mut settings = QuerySettings::default();
    let mut window = None;
    let mut group_by = GroupBy::Org;
    let mut jcurve = false;
    let mut effect = false;
    let day = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
            .map_err(|e| format!("{}: window `{s}`: {e}", file.display()))
    };
    for line in text.lines().filter_map(|l| l.strip_prefix("# devex:")) {
        for pair in line.split_whitespace() {
            let (key, value) =
                pair.split_once('=').ok_or_else(|| format!("{}: `{pair}` is not key=value", file.display()))?;
            let bad = |what: &str| format!("{}: {key}: {what}", file.display());
            match key {
                "window" => window = Some(value.to_string()),
                "jcurve" => jcurve = value == "on",
                "effect" => effect = value == "on",
                "group_by" => {
                    group_by = match value {
                        "org" => GroupBy::Org,
                        "team" => GroupBy::Team,
                        "service" => GroupBy::Service,
                        _ => return Err(bad("org, team or service")),
                    }
                }
                "timezone" => settings.timezone = value.parse().map_err(|_| bad("an IANA zone"))?,
                "min_group_size" => settings.min_group_size = value.parse().map_err(|_| bad("a number"))?,
                "attribution_window_hours" => {
                    settings.attribution_window_hours = value.parse().map_err(|_| bad("a number"))?
                }
                "question" => {
                    let parts: Vec<&str> = value.split(':').collect();
                    let [q, dimension, max] = parts[..] else { return Err(bad("question:dimension:scale_max")) };
                    settings.questions.push((q.into(), dimension.into(), max.parse().map_err(|_| bad("scale_max"))?));
                }
                "benchmarks" => settings.benchmarks = value.into(),
                "band" => {
                    let parts: Vec<&str> = value.split(':').collect();
                    let [metric, band, t] = parts[..] else { return Err(bad("metric:band:threshold")) };
                    settings.custom_bands.push((metric.into(), band.into(), t.parse().map_err(|_| bad("threshold"))?));
                }
                _ => return Err(bad("unknown setting")),
            }
        }
    }
    let window = window.ok_or_else(|| format!("{}: no `# devex: window=FROM..TO`", file.display()))?;
    let window = match window.split_once("..") {
        Some((from, to)) => Window { from: day(from)?, to: day(to)? },
        None => {
            window.parse::<Quarter>().map_err(|e| format!("{}: window: {e}", file.display()))?.window(settings.timezone)
        }
    };
    Ok(Header { window, group_by, settings, jcurve: jcurve || effect, effect })
}

/// A session over in-memory lake tables, driven by the sqllogictest runner.
struct Db {
    state: Arc<std::sync::Mutex<Session>>,
    rt: Arc<tokio::runtime::Runtime>,
}

/// What a file's statements run in. With facts, every `INSERT` recomputes the
/// derived facts from the tables (as the lake's writer would after a commit)
/// and the views are registered again over them.
struct Session {
    ctx: SessionContext,
    lake: LakeSession,
    header: Arc<Header>,
    /// The J-curve's and the effect's writable tables, kept across re-registrations.
    extra: Vec<(&'static str, Arc<MemTable>)>,
    facts: bool,
}

impl sqllogictest::DB for Db {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let ctx = self.state.lock().map_err(|e| DataFusionError::External(e.to_string().into()))?.ctx.clone();
        let sql = sql.to_string();
        let batches = self.rt.block_on(async move { ctx.sql(&sql).await?.collect().await })?;
        if let Some(n) = inserted(&batches) {
            let mut state = self.state.lock().map_err(|e| DataFusionError::External(e.to_string().into()))?;
            if state.facts {
                let ctx = self
                    .rt
                    .block_on(session_context(&state.lake, &state.header, &state.extra, true))
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                state.ctx = ctx;
            }
            return Ok(DBOutput::StatementComplete(n));
        }
        let mut rows = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                rows.push(b.columns().iter().map(|c| cell(c.as_ref(), r)).collect::<Result<Vec<_>, _>>()?);
            }
        }
        let width = batches.first().map(RecordBatch::num_columns).unwrap_or(0);
        Ok(DBOutput::Rows { types: vec![DefaultColumnType::Any; width], rows })
    }
}

/// A session over `lake`'s tables with every view of the file's header
/// registered; with `facts`, over the facts computed from the tables' rows
/// now, each of which must be read in place of its view.
async fn session_context(
    lake: &LakeSession,
    h: &Header,
    extra: &[(&'static str, Arc<MemTable>)],
    facts: bool,
) -> Result<SessionContext, devex_query::QueryError> {
    let lake =
        if facts { lake.with_facts(devex_query::facts::compute(lake, &h.settings).await?) } else { lake.clone() };
    let ctx = lake.metrics_context(&h.settings, h.window, h.group_by).await?;
    if facts {
        for name in devex_query::facts::FACTS {
            let provider = ctx.table_provider(*name).await?;
            if provider.table_type() != datafusion::datasource::TableType::Base {
                return Err(devex_query::QueryError::Shape(format!("the fact `{name}` was not read: its view was")));
            }
        }
    }
    for (name, table) in extra {
        ctx.register_table(*name, Arc::clone(table) as Arc<dyn datafusion::catalog::TableProvider>)?;
    }
    if h.jcurve {
        let sql = queries::render(queries::JCURVE, &h.settings, &[Period::window(h.window)], h.group_by)?;
        queries::run_script(&ctx, "07_jcurve.sql", &sql).await?;
    }
    if h.effect {
        let sql = queries::render(queries::EFFECT, &h.settings, &[Period::window(h.window)], h.group_by)?;
        queries::run_script(&ctx, "08_effect.sql", &sql).await?;
    }
    Ok(ctx)
}

/// The row count of an `INSERT`'s one-row, one-column `count` result.
fn inserted(batches: &[RecordBatch]) -> Option<u64> {
    let b = batches.first()?;
    let is_count = batches.len() == 1
        && b.num_columns() == 1
        && b.num_rows() == 1
        && b.schema().field(0).name() == "count"
        && b.column(0).data_type() == &DataType::UInt64;
    is_count.then(|| b.column(0).as_primitive::<UInt64Type>().value(0))
}

fn cell(c: &dyn Array, row: usize) -> Result<String, DataFusionError> {
    if c.is_null(row) {
        return Ok("NULL".into());
    }
    if c.data_type() == &DataType::Float64 {
        let v = c.as_primitive::<Float64Type>().value(row);
        let s = format!("{v:.9}");
        let s = s.trim_end_matches('0');
        return Ok(match s.strip_suffix('.') {
            Some(whole) => format!("{whole}.0"),
            None => s.to_string(),
        });
    }
    Ok(array_value_to_string(c, row)?)
}

/// An empty, writable `quarterly_metrics`: `quarter`, `quarter_start`, then the
/// `metrics` view's columns, every one nullable so a file fills only what it needs.
async fn quarterly_metrics(ctx: &SessionContext) -> Result<Arc<MemTable>, devex_query::QueryError> {
    let metrics = ctx.table("metrics").await?;
    let mut fields =
        vec![Field::new("quarter", DataType::Utf8, true), Field::new("quarter_start", DataType::Date32, true)];
    fields.extend(metrics.schema().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)));
    Ok(Arc::new(MemTable::try_new(Arc::new(Schema::new(fields)), vec![vec![]])?))
}

fn files(filter: Option<&str>) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/tests");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .filter(|p| filter.is_none_or(|f| p.to_string_lossy().contains(f)))
        .collect();
    out.sort();
    out
}

fn run_file(file: &Path, rt: &Arc<tokio::runtime::Runtime>, facts: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let h = Arc::new(header(&text, file)?);
    let empty = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state = rt
        .block_on(async {
            let lake = LakeSession::open(empty.path()).await?;
            let mut extra = Vec::new();
            if h.jcurve {
                let plain = lake.metrics_context(&h.settings, h.window, h.group_by).await?;
                extra.push(("quarterly_metrics", quarterly_metrics(&plain).await?));
            }
            if h.effect {
                let table = MemTable::try_new(devex_query::effect::replicate_schema(), vec![vec![]])?;
                extra.push(("effect_replicate", Arc::new(table)));
            }
            let ctx = session_context(&lake, &h, &extra, facts).await?;
            Ok::<_, devex_query::QueryError>(Session { ctx, lake, header: Arc::clone(&h), extra, facts })
        })
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let state = Arc::new(std::sync::Mutex::new(state));
    let rt = Arc::clone(rt);
    let mut runner = Runner::new(move || {
        let db = Db { state: Arc::clone(&state), rt: Arc::clone(&rt) };
        async move { Ok::<_, DataFusionError>(db) }
    });
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    runner.run_script_with_name(&text, name).map_err(|e| format!("{}", e.display(false)))
}

fn main() {
    // `cargo test` passes harness flags (`--nocapture`, ...); a bare word filters files.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let rt = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap());
    let (mut passed, mut failed) = (0, 0);
    for file in files(filter.as_deref()) {
        for (facts, mode) in [(false, "views"), (true, "facts")] {
            match run_file(&file, &rt, facts) {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {mode:<5} {}", file.display());
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {mode:<5} {}\n{e}", file.display());
                }
            }
        }
    }
    println!("slt: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
