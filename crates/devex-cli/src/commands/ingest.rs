//! `devex ingest`: run every configured source under the writer lock (the run
//! loop is `devex_ingest::run`), show its progress, and print what it did.
//! Meant for cron, a systemd timer or a CronJob.

use std::io::IsTerminal;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use devex_ingest::progress::{Event, Level};
use devex_ingest::run::{RunRecord, RunRequest, run as run_sources};
use devex_ingest::source::SyncOptions;

use super::{new_run_id, window, writer_lock};
use crate::cli::IngestArgs;
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

pub async fn run(settings: &Settings, args: IngestArgs) -> anyhow::Result<Outcome> {
    let cfg = &settings.config;
    if cfg.sources.is_empty() {
        return Err(Failure::error(
            "no sources configured",
            "add a [sources.<name>] table to devex.toml (devex init shows examples), or pass --config FILE",
        ));
    }
    for wanted in &args.source {
        if !cfg.sources.contains_key(wanted) {
            let names: Vec<&str> = cfg.sources.keys().map(String::as_str).collect();
            return Err(Failure::error(
                format!("no source named `{wanted}`"),
                format!("configured: {}", names.join(", ")),
            ));
        }
    }
    let since = args.since.as_deref().map(|s| window::instant("--since", s, cfg.tz()?)).transpose()?;
    let started = Utc::now();
    let lake = settings.lake()?;
    let lock = writer_lock(settings)?;
    let request = RunRequest {
        run_id: new_run_id(),
        only: args.source.clone(),
        options: SyncOptions { full: args.full, since, now: started },
    };
    eprintln!("devex ingest: run {} into {}", request.run_id, settings.data);
    // Per-unit progress on a terminal; steps, waits, retries and failures always (they explain a log).
    let terminal = std::io::stderr().is_terminal();
    let progress = Arc::new(move |e: &Event| {
        if terminal || e.level > Level::Detail {
            eprintln!("  {}", e.message);
        }
    });
    let sources = devex_sources::from_config(cfg);
    let record = run_sources(&lake, &lock, cfg, &sources, &request, progress).await?;
    super::refresh_facts(settings, &lake, &lock, &request.run_id, "ingest", false).await?;
    drop(lock);
    summarise(&record, started);
    Ok(match record.exit {
        0 => Outcome::Success,
        3 => Outcome::Partial,
        _ => Outcome::Failed,
    })
}

fn summarise(record: &RunRecord, started: DateTime<Utc>) {
    let secs = (Utc::now() - started).num_milliseconds() as f64 / 1000.0;
    for s in &record.sources {
        let extra = match (s.requests, s.not_modified) {
            (Some(r), Some(n)) => format!(", {} ({n} not modified)", devex_model::plural::count(r, "request")),
            _ => String::new(),
        };
        eprintln!("source {} ({}){extra}:", s.source, s.kind);
        for t in &s.tables {
            eprintln!(
                "  {:<17} read {:>7}  written {:>7}  replaced {:>7}  quarantined {:>5}  (version {})",
                t.table,
                t.read,
                t.written,
                t.replaced,
                t.quarantined,
                t.version.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
            );
        }
        for w in &s.warnings {
            eprintln!("  warning: {w}");
        }
        for e in &s.errors {
            eprintln!("  error: {e}");
        }
    }
    let failed = record.sources.iter().map(|s| s.errors.len()).sum::<usize>();
    if failed > 0 {
        eprintln!(
            "done in {secs:.1} s with {failed} error(s): what failed keeps its watermark and is retried next run"
        );
    } else {
        eprintln!("done in {secs:.1} s");
    }
}
