//! `devex ingest`: run every configured source (GitHub repositories, file
//! inboxes) under the writer lock, land their rows, and append a run record
//! to `_state/runs.ndjson`. Meant for cron, a systemd timer or a CronJob.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use devex_ingest::github::{self, SyncOptions};
use devex_ingest::import::{ImportOutcome, ImportRequest, TableReport, import};
use devex_ingest::inbox;
use devex_ingest::input::{InputFormat, InputSource};
use devex_ingest::lake::Lake;
use devex_ingest::lock::WriterLock;
use devex_ingest::validate::RunContext;
use devex_model::Table;
use devex_model::config::{FilesSource, GithubSource, SourceConfig};
use serde::Serialize;
use serde_json::Value;

use super::{new_run_id, window, writer_lock};
use crate::cli::IngestArgs;
use crate::exit::{Failure, Outcome};
use crate::settings::Settings;

/// One source's part of a run record.
#[derive(Debug, Serialize)]
pub struct SourceRecord {
    pub source: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub tables: Vec<TableReport>,
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_modified: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repos: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<usize>,
    /// Files left in the inbox for the next run (still being written, or an
    /// I/O or lake error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_left: Option<usize>,
    /// An I/O or lake error stopped the source: the run exits 2.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

/// A line of `_state/runs.ndjson`.
#[derive(Debug, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub exit: u8,
    pub sources: Vec<SourceRecord>,
}

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
    let lake = settings.lake();
    std::fs::create_dir_all(settings.data_dir.join("_state"))?;
    let lock = writer_lock(settings)?;
    let run_id = new_run_id();
    let terminal = std::io::stderr().is_terminal();
    eprintln!("devex ingest: run {run_id} into {}", settings.data_dir.display());

    let mut records = Vec::new();
    let mut partial = false;
    let mut failed = false;
    for (name, source) in &cfg.sources {
        if !args.source.is_empty() && !args.source.contains(name) {
            continue;
        }
        let ctx = RunContext::new(run_id.clone(), String::new(), cfg.tz()?).with_likert(&cfg.survey);
        let record = match source {
            SourceConfig::Github(g) => {
                let opts = SyncOptions { full: args.full, since, now: started };
                github_source(settings, &lake, &lock, name, g, &opts, ctx, terminal).await
            }
            SourceConfig::Files(f) => files_source(&settings.data_dir, &lake, &lock, name, f, ctx).await,
        };
        let record = record.unwrap_or_else(|e| SourceRecord {
            source: name.clone(),
            kind: match source {
                SourceConfig::Github(_) => "github",
                SourceConfig::Files(_) => "files",
            },
            tables: Vec::new(),
            errors: vec![format!("{e:#}")],
            requests: None,
            not_modified: None,
            repos: None,
            files: None,
            files_left: None,
            failed: false,
        });
        failed |= record.failed;
        partial |= !record.errors.is_empty() || record.tables.iter().any(|t| t.quarantined > 0);
        records.push(record);
    }
    drop(lock);

    let (outcome, exit) = match (failed, partial) {
        (true, _) => (Outcome::Failed, 2),
        (false, true) => (Outcome::Partial, 3),
        (false, false) => (Outcome::Success, 0),
    };
    let record = RunRecord {
        run_id: run_id.clone(),
        started_at: started.format(devex_model::timestamp::RFC3339_UTC).to_string(),
        finished_at: Utc::now().format(devex_model::timestamp::RFC3339_UTC).to_string(),
        exit,
        sources: records,
    };
    append_run(&settings.data_dir, &record)?;
    summarise(&record, started);
    Ok(outcome)
}

fn summarise(record: &RunRecord, started: DateTime<Utc>) {
    let secs = (Utc::now() - started).num_milliseconds() as f64 / 1000.0;
    for s in &record.sources {
        let extra = match (s.requests, s.not_modified) {
            (Some(r), Some(n)) => format!(", {r} requests ({n} not modified)"),
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

#[allow(clippy::too_many_arguments)]
async fn github_source(
    settings: &Settings,
    lake: &Lake,
    lock: &WriterLock,
    name: &str,
    cfg: &GithubSource,
    opts: &SyncOptions,
    mut ctx: RunContext,
    terminal: bool,
) -> anyhow::Result<SourceRecord> {
    eprintln!("source {name}: GitHub {}", cfg.base_url);
    let notify: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(move |msg: &str| {
        // Per-repository progress on a terminal; waits and retries always (they explain slowness in logs).
        if terminal || !msg.starts_with('[') || msg.contains("failed") {
            eprintln!("  {msg}");
        }
    });
    let production = &settings.config.production_environments;
    let sync = github::sync_source(name, cfg, production, &settings.data_dir, opts, notify).await?;
    ctx.source = "github".into();
    let mut outcome = ImportOutcome::default();
    for (table, rows) in
        [(Table::Deployments, &sync.deployments), (Table::Changes, &sync.changes), (Table::Incidents, &sync.incidents)]
    {
        if rows.is_empty() {
            continue;
        }
        let req = ImportRequest {
            table,
            inputs: vec![InputSource::Memory {
                name: format!("github:{name}"),
                format: InputFormat::Ndjson,
                bytes: ndjson(rows),
            }],
            run: ctx.clone(),
        };
        let o = import(lake, lock, &req).await?;
        outcome.tables.extend(o.tables);
        outcome.quarantined.extend(o.quarantined);
    }
    // Only now that the rows are in the lake do the watermarks move.
    github::save_state(&settings.data_dir, name, &sync)?;
    let errors = sync
        .repos
        .iter()
        .filter_map(|r| {
            let e = r.error.as_ref()?;
            Some(match &r.hint {
                Some(h) => format!("{}: {e} (hint: {h})", r.repo),
                None => format!("{}: {e}", r.repo),
            })
        })
        .collect();
    Ok(SourceRecord {
        source: name.to_string(),
        kind: "github",
        tables: outcome.tables,
        errors,
        requests: Some(sync.requests),
        not_modified: Some(sync.not_modified),
        repos: Some(sync.repos.len()),
        files: None,
        files_left: None,
        failed: false,
    })
}

fn ndjson(rows: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut out, r).expect("JSON values serialise");
        out.push(b'\n');
    }
    out
}

async fn files_source(
    data_dir: &Path,
    lake: &Lake,
    lock: &WriterLock,
    name: &str,
    cfg: &FilesSource,
    mut ctx: RunContext,
) -> anyhow::Result<SourceRecord> {
    let inbox = &cfg.inbox;
    if !inbox.is_dir() {
        return Err(Failure::error(
            format!("sources.{name}: inbox {} is not a directory", inbox.display()),
            "create it, or fix `inbox` in devex.toml",
        ));
    }
    let (pending, unknown) = inbox::pending(inbox)?;
    eprintln!("source {name}: {} file(s) in {}", pending.len(), inbox.display());
    ctx.source = cfg.source.clone();
    let mut tables: Vec<TableReport> = Vec::new();
    let mut errors = Vec::new();
    for u in &unknown {
        errors.push(format!(
            "{}: left in the inbox: its name names no table or format (e.g. deployments-2026-03.csv)",
            u.display()
        ));
    }
    let settle = std::time::Duration::from_secs(cfg.settle_secs);
    let mut attempts = inbox::Attempts::load(data_dir, name)?;
    let (mut left, mut failed) = (0, false);
    for p in &pending {
        if !inbox::settled(&p.path, settle, std::time::SystemTime::now())? {
            eprintln!("  {}: modified in the last {} s; left for the next run", p.path.display(), cfg.settle_secs);
            left += 1;
            continue;
        }
        if failed {
            // The lake failed on an earlier file: leave the rest for the next run.
            left += 1;
            continue;
        }
        if attempts.made(&p.path) >= inbox::MAX_ATTEMPTS {
            let to = inbox::settle(inbox, &p.path, false)?;
            attempts.finish(&p.path)?;
            errors.push(format!(
                "{}: gave up after {} attempts that did not finish (did it crash or exhaust memory?); moved to {}",
                p.path.display(),
                inbox::MAX_ATTEMPTS,
                to.display()
            ));
            continue;
        }
        attempts.begin(&p.path)?;
        let req = ImportRequest { table: p.table, inputs: vec![InputSource::Path(p.path.clone())], run: ctx.clone() };
        match import(lake, lock, &req).await {
            Ok(o) => {
                let to = inbox::settle(inbox, &p.path, true)?;
                attempts.finish(&p.path)?;
                eprintln!("  {} -> {}", p.path.display(), to.display());
                for t in o.tables {
                    match tables.iter_mut().find(|x| x.table == t.table) {
                        Some(x) => {
                            x.read += t.read;
                            x.written += t.written;
                            x.replaced += t.replaced;
                            x.quarantined += t.quarantined;
                            x.version = t.version;
                        }
                        None => tables.push(t),
                    }
                }
            }
            Err(e) if e.is_bad_input() => {
                let to = inbox::settle(inbox, &p.path, false)?;
                attempts.finish(&p.path)?;
                let hint = e.hint().map(|h| format!(" (hint: {h})")).unwrap_or_default();
                errors.push(format!("{e}{hint}; moved to {}", to.display()));
            }
            Err(e) => {
                // Not the file's fault: it stays for the next run (its attempt is counted).
                failed = true;
                left += 1;
                errors.push(format!("{}: {e}; left in the inbox for the next run", p.path.display()));
            }
        }
    }
    Ok(SourceRecord {
        source: name.to_string(),
        kind: "files",
        tables,
        errors,
        requests: None,
        not_modified: None,
        repos: None,
        files: Some(pending.len()),
        files_left: Some(left),
        failed,
    })
}

/// Append the run record to `_state/runs.ndjson`.
fn append_run(data_dir: &Path, record: &RunRecord) -> anyhow::Result<()> {
    use std::io::Write;
    let path = data_dir.join("_state").join("runs.ndjson");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    writeln!(f, "{}", serde_json::to_string(record)?)?;
    Ok(())
}
