//! Opening the lake's tables: where each is, and each at its latest
//! version, at a version, or as it was at an instant. Readers (the query
//! layer, the cluster, `devex status`) and the writer open tables here and
//! nowhere else.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use devex_lake::table::{AsOf, open_tables};
//! use devex_model::location::Location;
//! let dir = tempfile::tempdir().unwrap();
//! // A lake nobody wrote yet: every table is there, none opened.
//! let tables = open_tables(&Location::Local(dir.path().into()), AsOf::Latest).await.unwrap();
//! assert_eq!(tables.len(), devex_model::Table::ALL.len());
//! assert!(tables.iter().all(|(_, t)| t.is_none()));
//! # });
//! ```

use chrono::{DateTime, Utc};
use deltalake::{DeltaTable, DeltaTableError};
use devex_model::Table;
use devex_model::location::Location;

use crate::error::LakeError;

/// Which state of the lake is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AsOf {
    /// The latest version of every table.
    #[default]
    Latest,
    /// Every table at this Delta version (or its newest version before it).
    Version(u64),
    /// Every table as it was at this instant.
    Time(DateTime<Utc>),
}

/// A table's name in errors: with its URL when the lake is remote.
pub fn table_name(table: Table, root: &Location) -> String {
    match root {
        Location::Local(_) => table.name().to_string(),
        Location::Remote(_) => format!("{} at {}", table.name(), root.join(table.name())),
    }
}

/// A delta-rs error on `table` of the lake at `root`, named for the user.
pub fn table_error(table: Table, root: &Location) -> impl Fn(DeltaTableError) -> LakeError + use<> {
    let name = table_name(table, root);
    move |source| LakeError::Table { table: name.clone(), source: Box::new(source) }
}

/// The URL delta-rs opens a table at: a local directory (which must exist)
/// or a prefix on object storage.
pub fn table_url(at: &Location) -> Result<url::Url, DeltaTableError> {
    match at {
        Location::Local(dir) => deltalake::ensure_table_uri(dir.to_string_lossy()),
        Location::Remote(u) => {
            url::Url::parse(&format!("{u}/")).map_err(|e| DeltaTableError::InvalidTableLocation(format!("{u}: {e}")))
        }
    }
}

/// `table` of the lake at `root` at its latest version; `None` if there is
/// none (yet). Locally that is a directory without `_delta_log`; on object
/// storage, no log under the prefix.
pub async fn open_table(root: &Location, table: Table) -> Result<Option<DeltaTable>, LakeError> {
    let err = table_error(table, root);
    let at = root.join(table.name());
    if let Some(dir) = at.local()
        && !dir.join("_delta_log").is_dir()
    {
        return Ok(None);
    }
    match deltalake::open_table(table_url(&at).map_err(&err)?).await {
        Ok(t) => Ok(Some(t)),
        Err(DeltaTableError::NotATable(_)) if at.is_remote() => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Every table of the lake at `root` as of a version or an instant (`None`:
/// not there, or not yet at that point).
pub async fn open_tables(root: &Location, as_of: AsOf) -> Result<Vec<(Table, Option<DeltaTable>)>, LakeError> {
    let mut out = Vec::new();
    for table in Table::ALL {
        let err = table_error(table, root);
        let mut opened = open_table(root, table).await?;
        if let Some(t) = &mut opened {
            match as_of {
                AsOf::Latest => {}
                AsOf::Version(v) => {
                    if t.version().is_some_and(|latest| latest > v) {
                        t.load_version(v).await.map_err(&err)?;
                    }
                }
                // Before a table's first data the latest version at or before the
                // instant is its empty creating commit (version 0): devex creates
                // every table in a commit of its own.
                AsOf::Time(at) => t.load_with_datetime(at).await.map_err(&err)?,
            }
        }
        out.push((table, opened));
    }
    Ok(out)
}
