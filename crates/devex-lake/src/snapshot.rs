//! What a table's snapshot holds, read from its Delta log alone (no data
//! file is opened): its size for `devex status`, and its live files per
//! partition for a cluster, which cannot ship a delta-rs table provider.

use std::collections::BTreeMap;

use deltalake::{DeltaTable, DeltaTableError};
use devex_model::Table;
use devex_model::location::Location;

use crate::error::LakeError;
use crate::table::{AsOf, open_tables, table_error};

/// What a table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSize {
    /// The table.
    pub table: Table,
    /// Its Delta version; `None` when it has never been written.
    pub version: Option<u64>,
    /// Live data files.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Their rows (from each file's statistics; `None` if a file has none).
    pub rows: Option<u64>,
    /// Rows the latest commit added (rows now minus rows at the version before;
    /// `None` without statistics or history).
    pub added_by_last_commit: Option<i64>,
}

/// Files, bytes and rows of every table of the lake at `root`.
pub async fn table_sizes(root: &Location, as_of: AsOf) -> Result<Vec<TableSize>, LakeError> {
    let mut out = Vec::new();
    for (table, delta) in open_tables(root, as_of).await? {
        let err = table_error(table, root);
        let Some(mut t) = delta else {
            out.push(TableSize { table, version: None, files: 0, bytes: 0, rows: Some(0), added_by_last_commit: None });
            continue;
        };
        let (files, bytes, rows) = log_counts(&t).map_err(err)?;
        let version = t.version();
        let added_by_last_commit = match (version, rows) {
            (Some(0), Some(r)) => i64::try_from(r).ok(),
            // The version before may be past the log's retention: then it is not known.
            (Some(v), Some(r)) => match t.load_version(v - 1).await {
                Ok(()) => {
                    let before = log_counts(&t).ok().and_then(|c| c.2);
                    before.and_then(|b| i64::try_from(r).ok().zip(i64::try_from(b).ok())).map(|(r, b)| r - b)
                }
                Err(_) => None,
            },
            _ => None,
        };
        out.push(TableSize { table, version, files, bytes, rows, added_by_last_commit });
    }
    Ok(out)
}

/// The rows of a table's current snapshot, from its files' statistics
/// (`None` if a file has none).
pub fn row_count(t: &DeltaTable) -> Option<u64> {
    log_counts(t).ok().and_then(|c| c.2)
}

/// Live files, their bytes and rows in a table's current snapshot.
fn log_counts(t: &DeltaTable) -> Result<(u64, u64, Option<u64>), DeltaTableError> {
    let snapshot = t.snapshot()?;
    let (mut files, mut bytes, mut rows) = (0u64, 0u64, Some(0u64));
    for file in snapshot.log_data().iter() {
        files += 1;
        bytes += u64::try_from(file.size()).unwrap_or(0);
        rows = rows.zip(file.num_records()).map(|(r, n)| r + n as u64);
    }
    Ok((files, bytes, rows))
}

/// The URLs of the live data files of `t` (the lake's `table`, named `name`
/// in errors), grouped by the value of its partition column (`None` for an
/// unpartitioned table, or a null value). Files a commit removed, and files a
/// writer left uncommitted, are not among them.
pub fn live_files(
    t: &DeltaTable,
    table: Table,
    name: &str,
) -> Result<BTreeMap<Option<String>, Vec<String>>, LakeError> {
    let err = |source| LakeError::Table { table: name.to_string(), source: Box::new(source) };
    let snapshot = t.snapshot().map_err(err)?;
    let mut files: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for file in snapshot.log_data().iter() {
        let partition =
            table.partition_columns().first().and_then(|c| file.partition_values_map().get(*c).cloned().flatten());
        let path = deltalake::Path::from_url_path(file.path().as_ref())
            .map_err(|e| err(DeltaTableError::Generic(format!("{}: {e}", file.path()))))?;
        files.entry(partition).or_default().push(t.log_store().to_uri(&path));
    }
    Ok(files)
}

/// The files the commits after version `since` up to `until` of the lake's
/// `table` at `root` added, grouped by partition value like [`live_files`],
/// when those commits only appended: every file live at `since` is still
/// live at `until`, under the same schema and without a feature that changes
/// what a file's rows mean. Then the rows at `until` are exactly the rows at
/// `since` and the rows of these files. `None` otherwise (a MERGE replaced
/// rows, `maintain` compacted files, the schema changed, or the log no
/// longer reaches `since`): the caller reads the whole table.
pub async fn appended_files(
    root: &Location,
    table: Table,
    since: u64,
    until: u64,
) -> Result<Option<BTreeMap<Option<String>, Vec<String>>>, LakeError> {
    let err = table_error(table, root);
    let name = crate::table::table_name(table, root);
    if since > until {
        return Ok(None);
    }
    let Some(mut now) = crate::table::open_table(root, table).await? else { return Ok(None) };
    if now.version() != Some(until) {
        now.load_version(until).await.map_err(&err)?;
    }
    let mut then = now.clone();
    if then.load_version(since).await.is_err() {
        return Ok(None);
    }
    if file_changing_feature(&now, &name)?.is_some() || file_changing_feature(&then, &name)?.is_some() {
        return Ok(None);
    }
    let schema = |t: &DeltaTable| t.snapshot().map(|s| s.schema());
    if schema(&now).map_err(&err)? != schema(&then).map_err(&err)? {
        return Ok(None);
    }
    let before: std::collections::HashSet<String> = live_files(&then, table, &name)?.into_values().flatten().collect();
    let mut added = live_files(&now, table, &name)?;
    let mut kept = 0;
    for files in added.values_mut() {
        let all = files.len();
        files.retain(|f| !before.contains(f));
        kept += all - files.len();
    }
    if kept != before.len() {
        return Ok(None);
    }
    added.retain(|_, files| !files.is_empty());
    Ok(Some(added))
}

/// The URLs of every live data file of `t` (named `name` in errors), whatever its partitioning.
pub fn live_file_urls(t: &DeltaTable, name: &str) -> Result<Vec<String>, LakeError> {
    let err = |source| LakeError::Table { table: name.to_string(), source: Box::new(source) };
    let snapshot = t.snapshot().map_err(err)?;
    let mut out = Vec::new();
    for file in snapshot.log_data().iter() {
        let path = deltalake::Path::from_url_path(file.path().as_ref())
            .map_err(|e| err(DeltaTableError::Generic(format!("{}: {e}", file.path()))))?;
        out.push(t.log_store().to_uri(&path));
    }
    Ok(out)
}

/// The first Delta feature `t` uses that changes what its files' rows mean
/// (deletion vectors, column mapping): a plain Parquet scan of its live files
/// would read it wrong.
pub fn file_changing_feature(t: &DeltaTable, name: &str) -> Result<Option<&'static str>, LakeError> {
    let snapshot =
        t.snapshot().map_err(|source| LakeError::Table { table: name.to_string(), source: Box::new(source) })?;
    let protocol = serde_json::to_value(snapshot.protocol()).unwrap_or_default();
    let features: Vec<String> = protocol["readerFeatures"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let config = snapshot.metadata().configuration();
    let mapping = config.get("delta.columnMapping.mode").is_some_and(|m| m != "none");
    let vectors = config.get("delta.enableDeletionVectors").is_some_and(|v| v == "true");
    for (feature, on) in [("deletionVectors", vectors), ("columnMapping", mapping)] {
        if on || features.iter().any(|f| f == feature) {
            return Ok(Some(feature));
        }
    }
    Ok(None)
}

/// Parquet files under a local table's directory that no commit of its log
/// ever added (a writer killed mid-write leaves them; `maintain` removes
/// them), as paths relative to the directory.
pub fn unreferenced_files(table_dir: &std::path::Path) -> Vec<String> {
    let mut on_disk = std::collections::BTreeSet::new();
    let mut stack = vec![table_dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet")
                && let Ok(relative) = p.strip_prefix(table_dir)
            {
                on_disk.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut logged = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(table_dir.join("_delta_log")).into_iter().flatten().flatten() {
        for line in std::fs::read_to_string(e.path()).unwrap_or_default().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            if let Some(p) = v.get("add").and_then(|a| a.get("path")).and_then(|p| p.as_str()) {
                // Partition directories are percent-encoded in the log.
                logged.insert(p.replace("%3D", "=").replace("%2D", "-"));
            }
        }
    }
    on_disk.difference(&logged).cloned().collect()
}
