//! `devex status`: what the last ingest runs did, where each source's
//! watermarks stand, and how fresh each table of the lake is.

use std::io::Write;

use devex_ingest::github;
use devex_model::config::SourceConfig;
use devex_query::LakeSession;
use serde_json::{Value, json};

use crate::cli::{ReportFormat, StatusArgs};
use crate::exit::Outcome;
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: StatusArgs) -> anyhow::Result<Outcome> {
    let data = &settings.data_dir;
    let runs_path = data.join("_state").join("runs.ndjson");
    let runs: Vec<Value> = match std::fs::read_to_string(&runs_path) {
        Ok(text) => text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect(),
        Err(_) => Vec::new(),
    };
    let last: Vec<&Value> = runs.iter().rev().take(args.runs).collect();

    let mut watermarks = Vec::new();
    for (name, source) in &settings.config.sources {
        if let SourceConfig::Github(_) = source {
            for (repo, s) in github::load_state(data, name)?.repos {
                watermarks.push(json!({
                    "source": name,
                    "repo": repo,
                    "watermark": s.watermark.map(|w| w.format(devex_model::timestamp::RFC3339_UTC).to_string()),
                    "production_deployments_seen": s.shipped.len(),
                }));
            }
        }
    }

    let lake = LakeSession::open(data).await?;
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
            serde_json::to_string_pretty(&json!({"runs": last, "watermarks": watermarks, "tables": tables}))?
        )?;
        return Ok(Outcome::Success);
    }
    writeln!(out, "Last runs ({}):", runs_path.display())?;
    if last.is_empty() {
        writeln!(out, "  none yet: devex ingest writes one record per run")?;
    }
    for r in &last {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
        writeln!(out, "  {}  {} -> {}  exit {}", s("run_id"), s("started_at"), s("finished_at"), r["exit"])?;
        for src in r["sources"].as_array().into_iter().flatten() {
            let counts: Vec<String> = src["tables"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    format!(
                        "{} +{} ~{} !{}",
                        t["table"].as_str().unwrap_or("?"),
                        t["written"],
                        t["replaced"],
                        t["quarantined"]
                    )
                })
                .collect();
            let requests =
                src.get("requests").and_then(Value::as_u64).map(|n| format!(", {n} requests")).unwrap_or_default();
            writeln!(
                out,
                "    {} ({}{requests}): {}",
                src["source"].as_str().unwrap_or("?"),
                src["type"].as_str().unwrap_or("?"),
                if counts.is_empty() { "nothing new".into() } else { counts.join(", ") }
            )?;
            for e in src["errors"].as_array().into_iter().flatten() {
                writeln!(out, "      error: {}", e.as_str().unwrap_or_default())?;
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
    writeln!(out, "\nLake {} (Delta version, latest event UTC):", data.display())?;
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
