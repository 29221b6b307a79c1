//! Opening the lake as a DataFusion `SessionContext`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::prelude::{DataFrame, SessionContext};
use deltalake::DeltaTableError;
use devex_model::Table;

/// Errors of the query layer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A Delta table could not be opened.
    #[error("table `{table}`: {source}")]
    Lake {
        /// The table.
        table: String,
        /// delta-rs's error.
        source: DeltaTableError,
    },
    /// DataFusion rejected or failed a query.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// Which version of a table a session reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableVersion {
    /// The table.
    pub table: Table,
    /// Its Delta version; `None` when the table has never been written.
    pub version: Option<u64>,
}

/// A DataFusion session with every lake table registered.
#[derive(Clone)]
pub struct LakeSession {
    ctx: SessionContext,
    root: PathBuf,
    versions: Vec<TableVersion>,
}

impl std::fmt::Debug for LakeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeSession").field("root", &self.root).field("versions", &self.versions).finish()
    }
}

impl LakeSession {
    /// Open the lake at `root`, reading each table's latest version.
    pub async fn open(root: impl AsRef<Path>) -> Result<LakeSession, QueryError> {
        Self::open_at(root, None).await
    }

    /// Open the lake at `root`; with `as_of_version`, each table is read at
    /// that Delta version (or its newest version before it, for a table with
    /// fewer commits).
    pub async fn open_at(root: impl AsRef<Path>, as_of_version: Option<u64>) -> Result<LakeSession, QueryError> {
        let root = root.as_ref().to_path_buf();
        let ctx = SessionContext::new();
        let mut versions = Vec::new();
        for table in Table::ALL {
            let dir = root.join(table.name());
            let err = |source| QueryError::Lake { table: table.name().into(), source };
            if dir.join("_delta_log").is_dir() {
                let url = deltalake::ensure_table_uri(dir.to_string_lossy()).map_err(err)?;
                let mut t = deltalake::open_table(url).await.map_err(err)?;
                if let Some(v) = as_of_version
                    && t.version().is_some_and(|latest| latest > v)
                {
                    t.load_version(v).await.map_err(err)?;
                }
                t.update_datafusion_session(&ctx.state()).map_err(err)?;
                let provider = t.table_provider().await?;
                ctx.register_table(table.name(), provider)?;
                versions.push(TableVersion { table, version: t.version() });
            } else {
                let empty = MemTable::try_new(table.schema(), vec![vec![]])?;
                ctx.register_table(table.name(), Arc::new(empty))?;
                versions.push(TableVersion { table, version: None });
            }
        }
        Ok(LakeSession { ctx, root, versions })
    }

    /// The DataFusion context, for callers that register more.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The version of each table this session reads.
    pub fn versions(&self) -> &[TableVersion] {
        &self.versions
    }

    /// Plan one SQL statement.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame, QueryError> {
        Ok(self.ctx.sql(sql).await?)
    }
}
