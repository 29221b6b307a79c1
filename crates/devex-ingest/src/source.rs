//! What every source is to the run loop: a name, a config `type`, a run that
//! lands its rows through the one lake writer and says what it did, and the
//! watermarks it keeps.
//!
//! The connectors are in `devex-sources`, each a type implementing
//! [`Source`]; its `from_config` is the one list of source types. A pull
//! source (GitHub, GitLab, PagerDuty) reads rows into memory, lands them with
//! [`land`] (validation, quarantine, one MERGE per table), and only then
//! saves its state, so a crash in between re-reads instead of skipping.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use devex_lake::lock::WriterLock;
use devex_lake::state::StateStore;
use devex_lake::writer::Lake;
use devex_model::row::{self, Row};
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::error::IngestError;
use crate::import::{ImportRequest, TableReport, import};
use crate::input::{InputFormat, InputSource};
use crate::progress::{Event, Level, Progress};

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
    /// A record of a source that failed as a whole: `failed` (exit 2) when
    /// the lake or `_state` failed, else an error of the source (exit 3).
    pub fn failed_with(name: &str, kind: &str, error: &IngestError) -> SourceRecord {
        let hint = error.hint().map(|h| format!(" (hint: {h})")).unwrap_or_default();
        SourceRecord {
            source: name.into(),
            kind: kind.into(),
            errors: vec![format!("{error}{hint}")],
            failed: error.is_storage(),
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
    /// Where its watermarks stand, per unit, from its saved state (for `devex
    /// status`). A source that keeps none (a files inbox) has none.
    fn watermarks<'a>(&'a self, _state: &'a StateStore) -> LocalBoxFuture<'a, Result<Vec<Watermark>, IngestError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// One unit's watermark: the next run re-reads from here (minus the overlap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// The unit (`owner/name`, a project's path, `(incidents)`).
    pub unit: String,
    /// The start of the last run that synced it; `None`: never synced.
    pub at: Option<DateTime<Utc>>,
    /// What else its state holds, by name (`production_deployments_seen`, ...).
    pub counts: Vec<(&'static str, usize)>,
}

/// What [`land`] did: a report per table, and the imports' warnings.
#[derive(Debug, Clone, Default)]
pub struct Landed {
    pub tables: Vec<TableReport>,
    pub warnings: Vec<String>,
}

impl Landed {
    /// Both landings' reports and warnings.
    pub fn and(mut self, other: Landed) -> Landed {
        self.tables.extend(other.tables);
        self.warnings.extend(other.warnings);
        self
    }
}

/// Land a pull source's rows of one table (`R::TABLE`): one import of the rows
/// as NDJSON through validation, quarantine and one MERGE commit. `source` is
/// the value of the rows' `source` column (`github`); the quarantine names the
/// input `<source>:<name>`. Warnings also go to the progress as `Warn` events.
/// No rows: nothing is committed.
pub async fn land<R: Row>(
    ctx: &SourceContext<'_>,
    source: &str,
    name: &str,
    rows: &[R],
) -> Result<Landed, IngestError> {
    if rows.is_empty() {
        return Ok(Landed::default());
    }
    let mut bytes = Vec::new();
    for r in row::records(rows) {
        serde_json::to_writer(&mut bytes, &r).map_err(|e| IngestError::internal("encoding rows", e))?;
        bytes.push(b'\n');
    }
    let req = ImportRequest {
        table: R::TABLE,
        inputs: vec![InputSource::Memory { name: format!("{source}:{name}"), format: InputFormat::Ndjson, bytes }],
        run: RunContext { source: source.to_string(), ..ctx.run.clone() },
    };
    let outcome = import(ctx.lake, ctx.lock, &req).await?;
    for w in &outcome.warnings {
        (ctx.progress)(&Event::new(Level::Warn, format!("{name}: {w}")));
    }
    Ok(Landed { tables: outcome.tables, warnings: outcome.warnings })
}
