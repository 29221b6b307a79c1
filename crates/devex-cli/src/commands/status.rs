//! `devex status`: what the last ingest runs did, where each source's
//! watermarks stand, and how fresh each table of the lake is.

use devex_model::plural::count;
use std::io::Write;

use devex_ingest::run::{self, RunRecord};
use devex_lake::snapshot::TableSize;
use devex_lake::state::StateStore;
use serde_json::{Value, json};

use crate::cli::{ReportFormat, StatusArgs};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: StatusArgs) -> anyhow::Result<Outcome> {
    let state = StateStore::open(&settings.data)?;
    let runs = run::runs(&state).await?;
    let sizes = devex_lake::snapshot::table_sizes(&settings.data, devex_lake::AsOf::Latest).await?;
    let status = Status {
        runs_path: state.describe(run::RUNS_KEY),
        last: runs.iter().rev().take(args.runs).collect(),
        watermarks: watermarks(settings, &state).await?,
        tables: tables(settings, &sizes).await?,
        quarantine: quarantine(settings, &sizes),
        facts: facts(settings).await?,
    };
    let mut out = std::io::stdout().lock();
    if args.format == ReportFormat::Json {
        let doc = json!({
            "devex": crate::build_info::json(),
            "runs": status.last,
            "watermarks": status.watermarks,
            "tables": status.tables,
            "quarantine": status.quarantine,
            "facts": status.facts,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Outcome::Success);
    }
    writeln!(out, "devex {}\n", crate::build_info::LONG_VERSION)?;
    print_runs(&mut out, &status)?;
    print_watermarks(&mut out, &status.watermarks)?;
    print_tables(&mut out, settings, &status.tables)?;
    print_quarantine(&mut out, &sizes, &status.quarantine)?;
    print_facts(&mut out, &status.facts)?;
    Ok(Outcome::Success)
}

/// What `devex status` shows.
struct Status<'a> {
    runs_path: String,
    last: Vec<&'a RunRecord>,
    watermarks: Vec<Value>,
    tables: Vec<Value>,
    quarantine: Value,
    facts: Vec<Value>,
}

/// Each derived fact: its version, and whether readers of the latest snapshot use it.
async fn facts(settings: &Settings) -> anyhow::Result<Vec<Value>> {
    let lake = devex_query::LakeSession::open_at(&settings.data, devex_query::AsOf::Latest, None).await?;
    let qs = devex_query::QuerySettings::from_config(&settings.config)?;
    Ok(devex_query::facts::status(&lake, &qs)
        .await?
        .into_iter()
        .map(|f| json!({ "fact": f.name, "version": f.version, "current": f.current, "reason": f.reason }))
        .collect())
}

fn print_facts(out: &mut impl Write, facts: &[Value]) -> std::io::Result<()> {
    writeln!(
        out,
        "
Derived facts (read in place of their views while current; docs/facts.md):"
    )?;
    let mut stale = false;
    for f in facts {
        let state = if f["current"].as_bool().unwrap_or_default() {
            "current".to_string()
        } else {
            stale = true;
            format!("not used: {}", f["reason"].as_str().unwrap_or("stale"))
        };
        writeln!(
            out,
            "  {:<22} {:>6}  {state}",
            f["fact"].as_str().unwrap_or_default(),
            f["version"].as_u64().map(|v| format!("v{v}")).unwrap_or_else(|| "-".into()),
        )?;
    }
    if stale {
        writeln!(
            out,
            "  numbers stay exact without them (the views are computed from the tables); `{} maintain --refresh-facts` rebuilds them",
            crate::invocation::prefix()
        )?;
    }
    Ok(())
}

/// Every configured source's watermarks, each as the source reports them.
async fn watermarks(settings: &Settings, state: &StateStore) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for source in devex_sources::from_config(&settings.config) {
        for w in source.watermarks(state).await? {
            let mut entry = json!({
                "source": source.name(),
                "repo": w.unit,
                "watermark": w.at.map(|at| at.format(devex_model::timestamp::RFC3339_UTC).to_string()),
            });
            for (name, n) in w.counts {
                entry[name] = json!(n);
            }
            out.push(entry);
        }
    }
    Ok(out)
}

/// Per table: version, rows, files and bytes from the log, and the latest event.
async fn tables(settings: &Settings, sizes: &[TableSize]) -> anyhow::Result<Vec<Value>> {
    let lake = settings.open_lake(devex_query::AsOf::Latest).await?;
    Ok(lake
        .freshness()
        .await?
        .into_iter()
        .map(|(tv, latest)| {
            let size = sizes.iter().find(|s| s.table == tv.table);
            json!({
                "table": tv.table.name(),
                "version": tv.version,
                "rows": size.and_then(|s| s.rows),
                "files": size.map(|s| s.files),
                "bytes": size.map(|s| s.bytes),
                "latest_event": latest.map(|t| t.format(devex_model::timestamp::RFC3339_UTC).to_string()),
            })
        })
        .collect())
}

/// The quarantine's size, what its last commit added, and the command that lists it.
fn quarantine(settings: &Settings, sizes: &[TableSize]) -> Value {
    let list = format!(
        "{} --data {} sql \"SELECT file, line, \\\"column\\\", value, reason FROM quarantine ORDER BY at DESC\"",
        crate::invocation::prefix(),
        crate::invocation::shell_quote(&settings.data.to_string())
    );
    let size = sizes.iter().find(|s| s.table == devex_model::Table::Quarantine);
    json!({
        "rows": size.and_then(|s| s.rows),
        "added_by_last_commit": size.and_then(|s| s.added_by_last_commit),
        "list": list,
    })
}

fn print_runs(out: &mut impl Write, status: &Status) -> std::io::Result<()> {
    writeln!(out, "Last runs ({}):", status.runs_path)?;
    if status.last.is_empty() {
        writeln!(out, "  none yet: devex ingest writes one record per run")?;
    }
    for r in &status.last {
        writeln!(out, "  {}  {} -> {}  exit {}", r.run_id, r.started_at, r.finished_at, r.exit)?;
        for src in &r.sources {
            let counts: Vec<String> = src
                .tables
                .iter()
                .map(|t| format!("{} +{} ~{} !{}", t.table, t.written, t.replaced, t.quarantined))
                .collect();
            let requests = src.requests.map(|n| format!(", {}", count(n, "request"))).unwrap_or_default();
            writeln!(
                out,
                "    {} ({}{requests}): {}",
                src.source,
                src.kind,
                if counts.is_empty() { "nothing new".into() } else { counts.join(", ") }
            )?;
            for w in &src.warnings {
                writeln!(out, "      warning: {w}")?;
            }
            for e in &src.errors {
                writeln!(out, "      error: {e}")?;
            }
        }
    }
    writeln!(out, "  (+ written, ~ replaced, ! quarantined)")?;
    Ok(())
}

fn print_watermarks(out: &mut impl Write, watermarks: &[Value]) -> std::io::Result<()> {
    if !watermarks.is_empty() {
        writeln!(out, "\nWatermarks (the next run re-reads from here minus the overlap):")?;
        for w in watermarks {
            writeln!(
                out,
                "  {:<12} {:<40} {}",
                w["source"].as_str().unwrap_or_default(),
                w["repo"].as_str().unwrap_or_default(),
                w["watermark"].as_str().unwrap_or("never synced")
            )?;
        }
    }
    Ok(())
}

fn print_tables(out: &mut impl Write, settings: &Settings, tables: &[Value]) -> std::io::Result<()> {
    writeln!(out, "\nLake {} (from each table's Delta log):", settings.data)?;
    writeln!(
        out,
        "  {:<17} {:>8} {:>11} {:>7} {:>10}  latest event (UTC)",
        "table", "version", "rows", "files", "size"
    )?;
    for t in tables {
        writeln!(
            out,
            "  {:<17} {:>8} {:>11} {:>7} {:>10}  {}",
            t["table"].as_str().unwrap_or_default(),
            t["version"].as_u64().map(|v| format!("v{v}")).unwrap_or_else(|| "-".into()),
            t["rows"].as_u64().map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
            t["files"].as_u64().unwrap_or_default(),
            t["bytes"].as_u64().map(human_bytes).unwrap_or_default(),
            t["latest_event"].as_str().unwrap_or("-")
        )?;
    }
    Ok(())
}

fn print_quarantine(out: &mut impl Write, sizes: &[TableSize], quarantine: &Value) -> std::io::Result<()> {
    match quarantine["rows"].as_u64() {
        Some(0) => writeln!(out, "\nQuarantine: empty (no rejected rows)")?,
        rows => {
            let rows = rows.map(|r| count(r, "row")).unwrap_or_else(|| "rows".into());
            let version = sizes
                .iter()
                .find(|s| s.table == devex_model::Table::Quarantine)
                .and_then(|s| s.version)
                .map(|v| format!(" (v{v})"))
                .unwrap_or_default();
            let added = match quarantine["added_by_last_commit"].as_i64() {
                Some(n) if n > 0 => format!(", {n} of them added by its last commit{version}"),
                _ => String::new(),
            };
            writeln!(
                out,
                "\nQuarantine: {rows} rejected{added}; list them:\n  {}",
                quarantine["list"].as_str().unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

/// Bytes as B, KiB, MiB or GiB.
fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{b} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}
