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

use devex_lake::lock::WriterLock;
use devex_lake::state::StateStore;
use devex_lake::writer::Lake;

use crate::context::RunContext;
use crate::error::IngestError;
use crate::progress::Progress;
use crate::source::{Source, SourceContext, SourceRecord, SyncOptions};

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

/// Run `sources` (those `config` configures, in its order: see
/// `devex_sources::from_config`) and record the run. The caller holds `lock`.
pub async fn run(
    lake: &Lake,
    lock: &WriterLock,
    config: &Config,
    sources: &[Box<dyn Source>],
    request: &RunRequest,
    progress: Progress,
) -> Result<RunRecord, IngestError> {
    let state = StateStore::open(lake.location())?;
    let tz = config.tz().map_err(|e| IngestError::internal("reading the time zone", e))?;
    let started = request.options.now;
    let mut records = Vec::new();
    for source in sources {
        let name = source.name();
        if !request.only.is_empty() && !request.only.iter().any(|o| o == name) {
            continue;
        }
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
        records.push(record);
    }
    let failed = records.iter().any(|s| s.failed);
    let partial = records.iter().any(|s| !s.errors.is_empty() || s.tables.iter().any(|t| t.quarantined > 0));
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
        sources: records,
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
