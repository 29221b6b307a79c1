//! `devex status`: what the last ingest runs did, where each source's
//! watermarks stand, and how fresh each table of the lake is.

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
    let tables: Vec<Value> = lake
        .freshness()
        .await?
        .into_iter()
        .map(|(tv, latest)| {
            json!({
                "table": tv.table.name(),
                "version": tv.version,
                "latest_event": latest.map(|t| t.format(devex_model::timestamp::RFC3339_UTC).to_string()),
            })
        })
        .collect();

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
            let requests = src.requests.map(|n| format!(", {n} requests")).unwrap_or_default();
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
    writeln!(out, "\nLake {} (Delta version, latest event UTC):", settings.data)?;
    for t in &tables {
        writeln!(
            out,
            "  {:<17} {:>8}  {}",
            t["table"].as_str().unwrap_or_default(),
            t["version"].as_u64().map(|v| format!("v{v}")).unwrap_or_else(|| "-".into()),
            t["latest_event"].as_str().unwrap_or("no rows")
        )?;
    }
    Ok(Outcome::Success)
}
