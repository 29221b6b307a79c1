//! `devex ingest`'s run: every configured source in turn, under the writer
//! lock the caller holds (none on object storage), each landing its rows
//! before its state moves; then one [`RunRecord`] appended to
//! `_state/runs.ndjson`, which `devex status` reads back.
//!
//! A source that fails is recorded and the others still run. The run's exit
//! code is decided once, at the end: 2 when a source hit an I/O or lake error
//! (what it had not landed is retried next run), 3 when something failed or
//! was quarantined, else 0.

use chrono::Utc;
use devex_model::Config;
use devex_model::timestamp::RFC3339_UTC;
use serde::{Deserialize, Serialize};

use crate::error::IngestError;
use crate::lake::Lake;
use crate::lock::WriterLock;
use crate::progress::Progress;
use crate::source::{SourceContext, SourceRecord, SyncOptions, from_config};
use crate::state::StateStore;
use crate::validate::RunContext;

/// A line of `_state/runs.ndjson`: what one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// When it started (RFC 3339 UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// Its exit code: 0, 3 (partial) or 2 (a source hit an I/O or lake error).
    pub exit: u8,
    /// Per source, in config order.
    #[serde(default)]
    pub sources: Vec<SourceRecord>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The run's id (recorded in commits and the quarantine).
    pub run_id: String,
    /// Only these sources (empty: every source).
    pub only: Vec<String>,
    /// Full, since, now.
    pub options: SyncOptions,
}

/// The run log's key in `_state`.
pub const RUNS_KEY: &str = "runs.ndjson";

/// Run the configured sources and record the run. The caller holds `lock`.
pub async fn run(
    lake: &Lake,
    lock: &WriterLock,
    config: &Config,
    request: &RunRequest,
    progress: Progress,
) -> Result<RunRecord, IngestError> {
    let state = StateStore::open(lake.location())?;
    let tz = config.tz().map_err(|e| IngestError::internal("reading the time zone", e))?;
    let started = request.options.now;
    let mut sources = Vec::new();
    for (name, source_config) in &config.sources {
        if !request.only.is_empty() && !request.only.contains(name) {
            continue;
        }
        let source = from_config(name, source_config);
        let ctx = SourceContext {
            state: &state,
            lake,
            lock,
            run: RunContext::new(request.run_id.clone(), String::new(), tz).with_likert(&config.survey),
            options: &request.options,
            production_environments: &config.production_environments,
            progress: progress.clone(),
        };
        let record = match source.run(&ctx).await {
            Ok(r) => r,
            Err(e) => SourceRecord::failed_with(name, source.kind(), &e),
        };
        sources.push(record);
    }
    let failed = sources.iter().any(|s| s.failed);
    let partial = sources.iter().any(|s| !s.errors.is_empty() || s.tables.iter().any(|t| t.quarantined > 0));
    let record = RunRecord {
        run_id: request.run_id.clone(),
        started_at: started.format(RFC3339_UTC).to_string(),
        finished_at: Utc::now().format(RFC3339_UTC).to_string(),
        exit: if failed {
            2
        } else if partial {
            3
        } else {
            0
        },
        sources,
    };
    let line = serde_json::to_string(&record).map_err(|e| IngestError::internal("encoding the run record", e))?;
    state.append_line(RUNS_KEY, &line).await?;
    Ok(record)
}

/// The recorded runs, oldest first (lines that are not a run record are skipped).
pub async fn runs(state: &StateStore) -> Result<Vec<RunRecord>, IngestError> {
    let bytes = state.read(RUNS_KEY).await?.unwrap_or_default();
    Ok(String::from_utf8_lossy(&bytes).lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::progress::{Event, Level};

    #[tokio::test]
    async fn a_run_lands_each_source_records_itself_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::write(
            inbox.join("deployments.csv"),
            "id,service,environment,status,finished_at,pipeline\nd1,api,production,success,2026-03-04,p1\nd2,api,production,maybe,2026-03-04,p2\n",
        )
        .unwrap();
        let config = Config::from_toml_str(&format!(
            "[sources.drop]\ntype = \"files\"\ninbox = \"{}\"\nsettle_secs = 0\n\n\
             [sources.missing]\ntype = \"files\"\ninbox = \"{}\"\n",
            inbox.display(),
            dir.path().join("nowhere").display()
        ))
        .unwrap();
        let lake = Lake::new(dir.path().join("lake"));
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&seen);
        let request = RunRequest {
            run_id: "r1".into(),
            only: Vec::new(),
            options: SyncOptions { full: false, since: None, now: Utc::now() },
        };
        let record = run(
            &lake,
            &lock,
            &config,
            &request,
            std::sync::Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone())),
        )
        .await
        .unwrap();
        // One row landed, one quarantined; the missing inbox fails its source alone: exit 3.
        assert_eq!(record.exit, 3);
        let drop = &record.sources[0];
        assert_eq!(
            (drop.source.as_str(), drop.kind.as_str(), drop.files, drop.files_left),
            ("drop", "files", Some(1), Some(0))
        );
        assert_eq!((drop.tables[0].written, drop.tables[0].quarantined), (1, 1));
        let missing = &record.sources[1];
        assert!(missing.errors[0].contains("is not a directory") && missing.errors[0].contains("hint:"), "{missing:?}");
        assert!(inbox.join("done/deployments.csv").is_file());
        assert!(
            seen.lock().unwrap().iter().any(|e| e.level == Level::Info && e.message.contains("done/deployments.csv"))
        );
        // A column the table does not have is a warning kept in the record and shown, not dropped.
        assert_eq!(drop.warnings.len(), 1, "{drop:?}");
        assert!(drop.warnings[0].contains("ignored columns") && drop.warnings[0].contains("pipeline"), "{drop:?}");
        assert!(seen.lock().unwrap().iter().any(|e| e.level == Level::Warn && e.message.contains("pipeline")));
        // `devex status` reads the same type back.
        assert_eq!(runs(&StateStore::open(lake.location()).unwrap()).await.unwrap(), vec![record]);
    }
}
