//! What every source is to the run loop: a name, a config `type`, and a run
//! that lands its rows through the one lake writer and says what it did.
//!
//! Adding a source is a module with a type implementing [`Source`] and one
//! line in [`from_config`]. A pull source (GitHub, and the next ones) reads
//! rows into memory, lands them with [`land`] (validation, quarantine, one
//! MERGE per table), and only then saves its state, so a crash in between
//! re-reads instead of skipping.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use devex_model::config::SourceConfig;
use devex_model::{Table, row};
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::IngestError;
use crate::import::{ImportRequest, TableReport, import};
use crate::input::{InputFormat, InputSource};
use crate::lake::Lake;
use crate::lock::WriterLock;
use crate::progress::{Event, Level, Progress};
use crate::state::StateStore;
use crate::validate::RunContext;

/// How a run reads.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Ignore watermarks: read everything.
    pub full: bool,
    /// Read from this instant, whatever the watermarks say.
    pub since: Option<DateTime<Utc>>,
    /// The run's start (the new watermark).
    pub now: DateTime<Utc>,
}

/// What a source gets to run with.
pub struct SourceContext<'a> {
    /// The lake's `_state` (watermarks, caches, attempts).
    pub state: &'a StateStore,
    /// The lake writer.
    pub lake: &'a Lake,
    /// The writer lock, held for the whole run.
    pub lock: &'a WriterLock,
    /// Run id, time zone, clock, Likert scales; `source` is set by each source.
    pub run: RunContext,
    /// Full, since, now.
    pub options: &'a SyncOptions,
    /// Environments that count as production (as configured).
    pub production_environments: &'a [String],
    /// Where progress goes.
    pub progress: Progress,
}

/// One source's part of a run record (a line of `_state/runs.ndjson`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The `[sources.<name>]` name.
    pub source: String,
    /// Its `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What landed, per table.
    #[serde(default)]
    pub tables: Vec<TableReport>,
    /// What failed (each also says what was kept for the next run).
    #[serde(default)]
    pub errors: Vec<String>,
    /// What landed with a note (columns ignored, ...): nothing failed, but worth a look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// HTTP requests sent (pull sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Of which answered 304 Not Modified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_modified: Option<u64>,
    /// Repositories (or projects) synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repos: Option<usize>,
    /// Files found in an inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<usize>,
    /// Files left in an inbox for the next run (still being written, or an I/O or lake error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_left: Option<usize>,
    /// An I/O or lake error stopped the source: the run exits 2.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl SourceRecord {
    /// A record of a source that failed before landing anything.
    pub fn failed_with(name: &str, kind: &str, error: &IngestError) -> SourceRecord {
        let hint = error.hint().map(|h| format!(" (hint: {h})")).unwrap_or_default();
        SourceRecord {
            source: name.into(),
            kind: kind.into(),
            errors: vec![format!("{error}{hint}")],
            ..Default::default()
        }
    }

    /// Add a table's report to the totals of the same table.
    pub fn add(&mut self, t: TableReport) {
        match self.tables.iter_mut().find(|x| x.table == t.table) {
            Some(x) => {
                x.read += t.read;
                x.written += t.written;
                x.replaced += t.replaced;
                x.quarantined += t.quarantined;
                x.version = t.version;
            }
            None => self.tables.push(t),
        }
    }
}

/// One unit of a pull source (a repository, a project): what it read, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitOutcome {
    /// `owner/name`, `path_with_namespace`, ...
    pub unit: String,
    /// Rows read: deployments, changes, incidents.
    pub deployments: usize,
    /// Changes.
    pub changes: usize,
    /// Incidents.
    pub incidents: usize,
    /// Why it failed (nothing of it lands).
    pub error: Option<String>,
    /// What to do about the failure.
    pub hint: Option<String>,
}

/// `unit: error (hint: ...)` for every unit that failed, for the run record.
pub fn unit_errors(units: &[UnitOutcome]) -> Vec<String> {
    units
        .iter()
        .filter_map(|u| {
            let e = u.error.as_ref()?;
            Some(match &u.hint {
                Some(h) => format!("{}: {e} (hint: {h})", u.unit),
                None => format!("{}: {e}", u.unit),
            })
        })
        .collect()
}

/// The rows one unit read, and the state to save once they have landed.
#[derive(Debug, Default)]
pub struct UnitRows<S> {
    /// `deployments` rows.
    pub deployments: Vec<row::Deployment>,
    /// `changes` rows.
    pub changes: Vec<row::Change>,
    /// `incidents` rows.
    pub incidents: Vec<row::Incident>,
    /// The state to save once the rows have landed.
    pub state: S,
}

/// What every unit of a source read: the rows of those that synced, each
/// unit's outcome (by name), and the new state of those that synced.
#[derive(Debug)]
pub struct Units<S> {
    /// `deployments` rows.
    pub deployments: Vec<row::Deployment>,
    /// `changes` rows.
    pub changes: Vec<row::Change>,
    /// `incidents` rows.
    pub incidents: Vec<row::Incident>,
    /// Per unit, by name.
    pub outcomes: Vec<UnitOutcome>,
    /// The state of each unit that synced.
    pub states: BTreeMap<String, S>,
}

/// Sync `units` (name and plan), `concurrency` at once, saying `[i/n] unit:
/// ...` as each ends. A unit that fails contributes no row and no state; its
/// error (through `describe`: message and hint) is in its outcome.
pub async fn sync_units<P, S, E, Fut>(
    units: Vec<(String, P)>,
    concurrency: usize,
    notify: &Progress,
    describe: impl Fn(&E) -> (String, Option<String>),
    sync: impl Fn(P) -> Fut,
) -> Units<S>
where
    Fut: Future<Output = Result<UnitRows<S>, E>>,
{
    let total = units.len();
    let mut results: Vec<(String, Result<UnitRows<S>, E>)> =
        futures::stream::iter(units.into_iter().map(|(name, plan)| {
            let fut = sync(plan);
            async move { (name, fut.await) }
        }))
        .buffer_unordered(concurrency.max(1))
        .enumerate()
        .map(|(i, (name, r))| {
            let event = match &r {
                Ok(rows) => Event::new(
                    Level::Detail,
                    format!(
                        "[{}/{total}] {name}: {}, {}, {}",
                        i + 1,
                        devex_model::plural::count(rows.deployments.len() as u64, "deployment"),
                        devex_model::plural::count(rows.changes.len() as u64, "change"),
                        devex_model::plural::count(rows.incidents.len() as u64, "incident")
                    ),
                ),
                Err(e) => Event::new(Level::Warn, format!("[{}/{total}] {name}: failed: {}", i + 1, describe(e).0)),
            };
            notify(&event);
            (name, r)
        })
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Units {
        deployments: Vec::new(),
        changes: Vec::new(),
        incidents: Vec::new(),
        outcomes: Vec::new(),
        states: BTreeMap::new(),
    };
    for (unit, r) in results {
        match r {
            Ok(rows) => {
                out.outcomes.push(UnitOutcome {
                    unit: unit.clone(),
                    deployments: rows.deployments.len(),
                    changes: rows.changes.len(),
                    incidents: rows.incidents.len(),
                    error: None,
                    hint: None,
                });
                out.deployments.extend(rows.deployments);
                out.changes.extend(rows.changes);
                out.incidents.extend(rows.incidents);
                out.states.insert(unit, rows.state);
            }
            Err(e) => {
                let (error, hint) = describe(&e);
                out.outcomes.push(UnitOutcome {
                    unit,
                    deployments: 0,
                    changes: 0,
                    incidents: 0,
                    error: Some(error),
                    hint,
                });
            }
        }
    }
    out
}

/// A configured source.
pub trait Source: Send + Sync {
    /// The `[sources.<name>]` name.
    fn name(&self) -> &str;
    /// The config `type` (`github`, `files`, ...).
    fn kind(&self) -> &'static str;
    /// Read what is new, land it, then save the source's state. A unit that
    /// fails (a repository, a file) is reported in the record and keeps its
    /// state; an error fails the whole source and lands nothing more. (Sources
    /// run one after another on the caller's task, so the future need not be `Send`.)
    fn run<'a>(&'a self, ctx: &'a SourceContext<'a>) -> LocalBoxFuture<'a, Result<SourceRecord, IngestError>>;
}

/// The source a `[sources.<name>]` table configures: the registry of source types.
pub fn from_config(name: &str, config: &SourceConfig) -> Box<dyn Source> {
    match config {
        SourceConfig::Github(cfg) => Box::new(crate::github::Github { name: name.into(), config: cfg.clone() }),
        SourceConfig::Files(cfg) => Box::new(crate::files::Files { name: name.into(), config: cfg.clone() }),
        SourceConfig::Gitlab(cfg) => Box::new(crate::gitlab::Gitlab { name: name.into(), config: cfg.clone() }),
        SourceConfig::Pagerduty(cfg) => {
            Box::new(crate::pagerduty::Pagerduty { name: name.into(), config: cfg.clone() })
        }
    }
}

/// What [`land`] did: a report per table, and the imports' warnings.
#[derive(Debug, Clone, Default)]
pub struct Landed {
    pub tables: Vec<TableReport>,
    pub warnings: Vec<String>,
}

/// Land a pull source's rows: per table, one import of the rows as NDJSON
/// through validation, quarantine and one MERGE commit. `source` is the
/// value of the rows' `source` column (`github`); the quarantine names the
/// input `<source>:<name>`. Warnings also go to the progress as `Warn` events.
pub async fn land(
    ctx: &SourceContext<'_>,
    source: &str,
    name: &str,
    rows: &[(Table, &[Value])],
) -> Result<Landed, IngestError> {
    let run = RunContext { source: source.to_string(), ..ctx.run.clone() };
    let mut landed = Landed::default();
    for (table, rows) in rows {
        if rows.is_empty() {
            continue;
        }
        let mut bytes = Vec::new();
        for r in *rows {
            serde_json::to_writer(&mut bytes, r).map_err(|e| IngestError::internal("encoding rows", e))?;
            bytes.push(b'\n');
        }
        let req = ImportRequest {
            table: *table,
            inputs: vec![InputSource::Memory { name: format!("{source}:{name}"), format: InputFormat::Ndjson, bytes }],
            run: run.clone(),
        };
        let outcome = import(ctx.lake, ctx.lock, &req).await?;
        for w in &outcome.warnings {
            (ctx.progress)(&Event::new(Level::Warn, format!("{name}: {w}")));
        }
        landed.tables.extend(outcome.tables);
        landed.warnings.extend(outcome.warnings);
    }
    Ok(landed)
}
