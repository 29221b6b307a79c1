//! Derived facts: window-independent views of `queries/` (every production
//! deployment with its next one, every incident's links, every deployed
//! change's lead time) kept as Delta tables under `_facts/` beside the
//! canonical tables, so readers scan them instead of recomputing them.
//!
//! Each fact's writing commit carries a [`FactStamp`] in its metadata: the
//! version of every base table it was computed from, and its definition (the
//! rendered SQL and the settings it read). A reader uses a fact only when
//! both equal what it would compute itself; otherwise it plans the view
//! inline, as if the fact were not there. So a fact can be stale, or
//! missing, or written by an older devex, and no number changes.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use devex_lake::facts::open_fact;
//! use devex_model::location::Location;
//! let dir = tempfile::tempdir().unwrap();
//! // A lake without facts: each is missing, and readers compute the view inline.
//! let fact = open_fact(&Location::Local(dir.path().into()), "production_deployment").await.unwrap();
//! assert!(fact.is_none());
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use deltalake::datafusion::execution::SessionState;
use deltalake::datafusion::execution::session_state::SessionStateBuilder;
use deltalake::datafusion::logical_expr::LogicalPlan;
use deltalake::delta_datafusion::planner::DeltaPlanner;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use devex_model::location::Location;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::error::LakeError;
use crate::lock::WriterLock;
use crate::writer::{CommitInfo, Lake};

/// The directory (or prefix) of the fact tables, under the lake's root.
pub const FACTS_DIR: &str = "_facts";

/// The commit metadata key holding a fact's [`FactStamp`].
const STAMP_KEY: &str = "devex_fact";

/// How many commits back a reader looks for the stamp (past `maintain`'s vacuum commits).
const STAMP_DEPTH: usize = 8;

/// What a fact was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactStamp {
    /// Each base table it reads, by name, and the version read (`None`: never written).
    pub base: BTreeMap<String, Option<u64>>,
    /// Its definition: the rendered SQL of the view and of every view it
    /// reads, and the settings tables it reads (production environments, ...).
    pub definition: String,
}

/// A fact table as stored.
#[derive(Debug)]
pub struct StoredFact {
    /// The view it holds.
    pub name: String,
    /// The Delta table.
    pub table: DeltaTable,
    /// What it was computed from; `None` when its last write has no stamp
    /// (another engine wrote it): never current.
    pub stamp: Option<FactStamp>,
}

/// Where the fact `name` is.
pub fn fact_location(root: &Location, name: &str) -> Location {
    root.join(FACTS_DIR).join(name)
}

fn fact_error(root: &Location, name: &str) -> impl Fn(DeltaTableError) -> LakeError + use<> {
    let table = match root {
        Location::Local(_) => format!("{FACTS_DIR}/{name}"),
        Location::Remote(_) => format!("{FACTS_DIR}/{name} at {}", fact_location(root, name)),
    };
    move |source| LakeError::Table { table: table.clone(), source: Box::new(source) }
}

/// The fact `name` of the lake at `root`, at its latest version; `None` if it was never written.
pub async fn open_fact(root: &Location, name: &str) -> Result<Option<StoredFact>, LakeError> {
    let err = fact_error(root, name);
    let at = fact_location(root, name);
    if let Some(dir) = at.local()
        && !dir.join("_delta_log").is_dir()
    {
        return Ok(None);
    }
    let table = match deltalake::open_table(crate::table::table_url(&at).map_err(&err)?).await {
        Ok(t) => t,
        Err(DeltaTableError::NotATable(_)) if at.is_remote() => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let stamp = read_stamp(&table).await.map_err(&err)?;
    Ok(Some(StoredFact { name: name.to_string(), table, stamp }))
}

/// The stamp of the newest commit that wrote data (skipping `maintain`'s
/// vacuum and optimize commits, which change no row).
async fn read_stamp(table: &DeltaTable) -> Result<Option<FactStamp>, DeltaTableError> {
    let history: Vec<_> = table.history(Some(STAMP_DEPTH)).try_collect().await?;
    for commit in history {
        let operation = commit.operation.as_deref().unwrap_or_default();
        if operation.starts_with("VACUUM") || operation == "OPTIMIZE" {
            continue;
        }
        return Ok(commit.info.get(STAMP_KEY).and_then(|v| serde_json::from_value(v.clone()).ok()));
    }
    Ok(None)
}

/// What writing one fact did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactWritten {
    /// The view.
    pub name: String,
    /// Rows the fact holds after the write.
    pub rows: u64,
    /// `Some(n)`: the write appended `n` rows to the fact (an incremental
    /// refresh); `None`: it replaced every row.
    pub appended: Option<u64>,
    /// The fact table's version after the write.
    pub version: u64,
}

impl Lake {
    /// Replace the fact `name` with the rows `plan` gives (run in `session`),
    /// or with `append`, add them to the rows it holds, in one commit stamped
    /// with `stamp`. Readers see the old rows or the new ones, never a mix.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_fact(
        &self,
        _lock: &WriterLock,
        name: &str,
        plan: LogicalPlan,
        session: SessionState,
        stamp: &FactStamp,
        info: &CommitInfo,
        append: bool,
    ) -> Result<FactWritten, LakeError> {
        let root = self.location();
        let err = fact_error(root, name);
        let at = fact_location(root, name);
        if let Some(dir) = at.local() {
            std::fs::create_dir_all(dir).map_err(|e| LakeError::Io { file: dir.display().to_string(), source: e })?;
        }
        let stored = open_fact(root, name).await?;
        if append && stored.is_none() {
            return Err(LakeError::internal("appending to a fact", format!("`{name}` was never written")));
        }
        let before = stored.as_ref().and_then(|f| crate::snapshot::row_count(&f.table)).unwrap_or_default();
        let table = match stored {
            Some(f) => f.table,
            None => {
                let url = crate::table::table_url(&at).map_err(&err)?;
                deltalake::DeltaTableBuilder::from_url(url).map_err(&err)?.build().map_err(&err)?
            }
        };
        let stamp_json = serde_json::to_value(stamp).map_err(|e| LakeError::internal("stamping a fact", e))?;
        let properties = info.properties_with([(STAMP_KEY.to_string(), stamp_json)]);
        // delta-rs plans its write through its own planner (for the nodes it adds).
        let session = SessionStateBuilder::new_from_existing(session).with_query_planner(DeltaPlanner::new()).build();
        let mut write = table.write(Vec::new()).with_input_plan(plan).with_session_state(Arc::new(session));
        write = if append {
            write.with_save_mode(SaveMode::Append)
        } else {
            write
                .with_save_mode(SaveMode::Overwrite)
                .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
        };
        let written = write
            .with_writer_properties(Lake::fact_writer_properties())
            .with_table_name(name)
            .with_description(format!("devex derived fact `{name}` (see docs/facts.md)"))
            .with_commit_properties(properties)
            .await
            .map_err(&err)?;
        let version = written.version().unwrap_or_default();
        let rows = crate::snapshot::row_count(&written).unwrap_or_default();
        let appended = append.then(|| rows.saturating_sub(before));
        Ok(FactWritten { name: name.to_string(), rows, appended, version })
    }

    /// Delete the files of old fact versions older than `retention` (what
    /// `maintain` does to the canonical tables); each fact stays readable as
    /// of any version a reader may still hold.
    pub async fn vacuum_facts(
        &self,
        _lock: &WriterLock,
        names: &[&str],
        retention: chrono::Duration,
        info: &CommitInfo,
    ) -> Result<usize, LakeError> {
        let mut deleted = 0;
        for name in names {
            let Some(fact) = open_fact(self.location(), name).await? else { continue };
            let (_, vacuumed) =
                Lake::vacuum_full(fact.table, retention, info).await.map_err(fact_error(self.location(), name))?;
            deleted += vacuumed.files_deleted.len();
        }
        Ok(deleted)
    }
}
