//! `devex status`: what the last ingest runs did, where each source's
//! watermarks stand, and how fresh each table of the lake is.

use devex_model::plural::count;
use std::io::Write;

use devex_ingest::run::{self, RunRecord};
use devex_ingest::state::StateStore;
use devex_ingest::{github, gitlab, pagerduty};
use devex_model::config::SourceConfig;
use serde_json::{Value, json};

use crate::cli::{ReportFormat, StatusArgs};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: StatusArgs) -> anyhow::Result<Outcome> {
    let state = StateStore::open(&settings.data)?;
    let runs_path = state.describe(run::RUNS_KEY);
    let runs = run::runs(&state).await?;
    let last: Vec<&RunRecord> = runs.iter().rev().take(args.runs).collect();

    let mut watermarks = Vec::new();
    for (name, source) in &settings.config.sources {
        let time = |w: Option<chrono::DateTime<chrono::Utc>>| {
            w.map(|w| w.format(devex_model::timestamp::RFC3339_UTC).to_string())
        };
        match source {
            SourceConfig::Github(_) => {
                for (repo, s) in github::load_state(&state, name).await?.repos {
                    watermarks.push(json!({
                        "source": name,
                        "repo": repo,
                        "watermark": time(s.watermark),
                        "production_deployments_seen": s.shipped.len(),
                    }));
                }
            }
            SourceConfig::Pagerduty(_) => {
                let s = pagerduty::load_state(&state, name).await?;
                watermarks.push(json!({
                    "source": name,
                    "repo": "(incidents)",
                    "watermark": time(s.watermark),
                    "open_incidents": s.open.len(),
                }));
            }
            SourceConfig::Gitlab(_) => {
                for (project, s) in gitlab::load_state(&state, name).await?.projects {
                    watermarks.push(json!({
                        "source": name,
                        "repo": project,
                        "watermark": time(s.watermark),
                        "production_deployments_seen": s.shipped.len(),
                    }));
                }
            }
            SourceConfig::Files(_) => {}
        }
    }

    let lake = settings.open_lake(devex_query::AsOf::Latest).await?;
    let sizes = devex_query::session::table_sizes(&settings.data, devex_query::AsOf::Latest).await?;
    let tables: Vec<Value> = lake
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
        .collect();
    let list_quarantine = format!(
        "{} --data {} sql \"SELECT file, line, \\\"column\\\", value, reason FROM quarantine ORDER BY at DESC\"",
        crate::invocation::prefix(),
        crate::invocation::shell_quote(&settings.data.to_string())
    );
    let quarantine_size = sizes.iter().find(|s| s.table == devex_model::Table::Quarantine);
    let quarantine = json!({
        "rows": quarantine_size.and_then(|s| s.rows),
        "added_by_last_commit": quarantine_size.and_then(|s| s.added_by_last_commit),
        "list": list_quarantine,
    });

    let mut out = std::io::stdout().lock();
    if args.format == ReportFormat::Json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "devex": crate::build_info::json(),
                "runs": last,
                "watermarks": watermarks,
                "tables": tables,
                "quarantine": quarantine,
            }))?
        )?;
        return Ok(Outcome::Success);
    }
    writeln!(out, "devex {}\n", crate::build_info::LONG_VERSION)?;
    writeln!(out, "Last runs ({runs_path}):")?;
    if last.is_empty() {
        writeln!(out, "  none yet: devex ingest writes one record per run")?;
    }
    for r in &last {
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
    if !watermarks.is_empty() {
        writeln!(out, "\nWatermarks (the next run re-reads from here minus the overlap):")?;
        for w in &watermarks {
            writeln!(
                out,
                "  {:<12} {:<40} {}",
                w["source"].as_str().unwrap_or_default(),
                w["repo"].as_str().unwrap_or_default(),
                w["watermark"].as_str().unwrap_or("never synced")
            )?;
        }
    }
    writeln!(out, "\nLake {} (from each table's Delta log):", settings.data)?;
    writeln!(
        out,
        "  {:<17} {:>8} {:>11} {:>7} {:>10}  latest event (UTC)",
        "table", "version", "rows", "files", "size"
    )?;
    for t in &tables {
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
    match quarantine["rows"].as_u64() {
        Some(0) => writeln!(out, "\nQuarantine: empty (no rejected rows)")?,
        rows => {
            let rows = rows.map(|r| count(r, "row")).unwrap_or_else(|| "rows".into());
            let version = quarantine_size.and_then(|s| s.version).map(|v| format!(" (v{v})")).unwrap_or_default();
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
    Ok(Outcome::Success)
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
