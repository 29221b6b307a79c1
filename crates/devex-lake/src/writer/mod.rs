//! The lake writer: the only code that writes the lake. Each call is one
//! atomic Delta commit per table: a MERGE on the table's identity key, so a
//! re-imported row replaces its old copy even when its event time (and so its
//! `month` partition) moved. Commit metadata names the run.

use std::path::PathBuf;

use deltalake::arrow::array::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, DeltaTableError, TableProperty};

use devex_model::Table;
use devex_model::location::Location;
use serde_json::json;

use crate::error::LakeError;
use crate::lock::WriterLock;

mod identity;
mod staging;

pub use staging::Staging;

/// Who is writing: recorded in every commit's metadata.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// The run's id.
    pub run_id: String,
    /// The devex command, e.g. `import deployments`.
    pub command: String,
    /// The source name, e.g. `file`.
    pub source: String,
}

impl CommitInfo {
    pub(crate) fn properties(&self) -> CommitProperties {
        self.properties_with([])
    }

    /// The run's metadata and `extra` entries.
    pub(crate) fn properties_with(
        &self,
        extra: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> CommitProperties {
        let run = [
            ("run_id".to_string(), json!(self.run_id)),
            ("command".to_string(), json!(self.command)),
            ("source".to_string(), json!(self.source)),
            ("writer".to_string(), json!(format!("devex {}", env!("CARGO_PKG_VERSION")))),
        ];
        CommitProperties::default().with_metadata(run.into_iter().chain(extra))
    }
}

/// What one upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upserted {
    /// Rows with a new identity.
    pub inserted: usize,
    /// Rows whose identity already existed in the table (changed or not).
    pub matched: usize,
    /// Rows replaced by a later row of the same input.
    pub within_input: usize,
    /// The table's version after the commit (`None`: no rows, and no table).
    pub version: Option<u64>,
    /// No identity existed yet: the commit was an append, not a MERGE.
    pub appended: bool,
}

/// What `maintain` did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintained {
    /// The table.
    pub table: Table,
    /// Small files compacted away.
    pub files_removed: u64,
    /// Compacted files written.
    pub files_added: u64,
    /// Unreferenced files older than the retention, deleted.
    pub files_vacuumed: usize,
    /// The version after maintenance.
    pub version: u64,
}

/// How long history stays readable when the configuration says nothing (`lake.retention_days`).
pub const DEFAULT_RETENTION_DAYS: u64 = 30;

/// How much memory an import may use when the configuration says nothing (`lake.import_memory_mb`).
pub const DEFAULT_IMPORT_MEMORY_MB: u64 = 1024;

/// Columns whose values repeat (names, closed sets): dictionary-encoded in data files.
const DICTIONARY_COLUMNS: &[&str] = &[
    "source",
    "service",
    "team",
    "environment",
    "status",
    "kind",
    "repo",
    "author",
    "severity",
    "survey",
    "question",
    "event",
    "table",
    "column",
    "run_id",
    "file",
    "capability",
    "tier",
];

/// How many times a commit that lost a race to another writer is re-run
/// (its MERGE on the newer version) before the import gives up.
pub const COMMIT_ATTEMPTS: usize = 8;

/// A lake rooted at a local directory or a URL on object storage.
#[derive(Debug, Clone)]
pub struct Lake {
    root: Location,
    retention_days: u64,
    import_memory_mb: u64,
    chunk_bytes: Option<usize>,
    filter_bytes: Option<usize>,
}

impl Lake {
    /// The lake in `root` (created on first write), keeping
    /// [`DEFAULT_RETENTION_DAYS`] of history.
    pub fn new(root: impl Into<PathBuf>) -> Lake {
        Lake::at(Location::Local(root.into()))
    }

    /// The lake at `root`: a directory, or a URL on object storage (where
    /// writers need no lock: see [`crate::lock`]).
    pub fn at(root: Location) -> Lake {
        Lake {
            root,
            retention_days: DEFAULT_RETENTION_DAYS,
            import_memory_mb: DEFAULT_IMPORT_MEMORY_MB,
            chunk_bytes: None,
            filter_bytes: None,
        }
    }

    /// Bound an import's memory to about `mb` MiB, whatever the input's size
    /// (it reads, validates and writes the input in chunks sized from it).
    pub fn with_import_memory_mb(mut self, mb: u64) -> Lake {
        self.import_memory_mb = mb.max(64);
        self
    }

    /// Input bytes read, validated and written at a time: a chunk costs
    /// about ten times its size in memory while it is parsed and validated,
    /// and three are in flight (read ahead, validated, encoded by the writer
    /// task).
    pub fn import_chunk_bytes(&self) -> usize {
        self.chunk_bytes.unwrap_or(((self.import_memory_mb as usize) << 20) >> 5)
    }

    /// Read inputs `bytes` at a time whatever the memory setting (tests use
    /// tiny chunks to cross chunk boundaries).
    pub fn with_import_chunk_bytes(mut self, bytes: usize) -> Lake {
        self.chunk_bytes = Some(bytes.max(1));
        self
    }

    /// The most the filter of a table's existing identities may take: a
    /// quarter of `import_memory_mb`, whatever the table's size (12 bits an
    /// identity fit 179M identities in the default 256 MiB; past that the
    /// filter answers "maybe" more often, and more rows are checked exactly).
    pub(crate) fn identity_filter_bytes(&self) -> usize {
        self.filter_bytes.unwrap_or(((self.import_memory_mb as usize) << 20) / 4)
    }

    /// Bound the filter of existing identities to `bytes` whatever the memory
    /// setting (tests use a tiny one, which answers "maybe" for almost every
    /// identity, to check the exact check behind it).
    pub fn with_identity_filter_bytes(mut self, bytes: usize) -> Lake {
        self.filter_bytes = Some(bytes);
        self
    }

    /// Data files roll over at this size while an import writes them.
    fn target_file_size(&self) -> std::num::NonZeroU64 {
        std::num::NonZeroU64::new(((self.import_memory_mb << 20) / 16).max(8 << 20)).expect("positive")
    }

    /// Keep `days` of history readable: every table's `delta.logRetentionDuration`
    /// and `delta.deletedFileRetentionDuration` are set to it when the table is
    /// created, and corrected on the next write of a table that says otherwise.
    pub fn with_retention_days(mut self, days: u64) -> Lake {
        self.retention_days = days.max(1);
        self
    }

    /// The table properties that keep `retention_days` of history readable.
    fn retention_properties(&self) -> [(TableProperty, String); 2] {
        let interval = format!("interval {} days", self.retention_days);
        [
            (TableProperty::LogRetentionDuration, interval.clone()),
            (TableProperty::DeletedFileRetentionDuration, interval),
        ]
    }

    /// Set the retention properties on a table whose log says otherwise (tables
    /// created before devex set them keep delta-rs' default of 30 days).
    async fn keep_history(&self, t: DeltaTable, table: Table, info: &CommitInfo) -> Result<DeltaTable, LakeError> {
        let want = std::time::Duration::from_secs(self.retention_days.saturating_mul(86_400));
        let config = t.snapshot().map_err(self.lake_err(table))?.table_config();
        if config.log_retention_duration() == want && config.deleted_file_retention_duration() == want {
            return Ok(t);
        }
        let properties = self.retention_properties().into_iter().map(|(k, v)| (k.as_ref().to_string(), v)).collect();
        t.set_tbl_properties()
            .with_properties(properties)
            .with_commit_properties(info.properties())
            .await
            .map_err(self.lake_err(table))
    }

    /// Where the lake is.
    pub fn location(&self) -> &Location {
        &self.root
    }

    /// Where a table is.
    pub fn table_location(&self, table: Table) -> Location {
        self.root.join(table.name())
    }

    /// The directory of a table of a local lake (`None` on object storage).
    pub fn table_dir(&self, table: Table) -> Option<PathBuf> {
        self.root.local().map(|root| root.join(table.name()))
    }

    /// A table's URL for delta-rs (a local table's directory is created).
    fn table_url(&self, table: Table) -> Result<url::Url, LakeError> {
        let at = self.table_location(table);
        if let Some(dir) = at.local() {
            std::fs::create_dir_all(dir).map_err(|e| LakeError::Io { file: dir.display().to_string(), source: e })?;
        }
        crate::table::table_url(&at).map_err(self.lake_err(table))
    }

    /// A delta-rs error on `table`, named with its URL on object storage.
    fn lake_err(&self, table: Table) -> impl Fn(DeltaTableError) -> LakeError + use<> {
        crate::table::table_error(table, &self.root)
    }

    /// Open a table; `None` when it has never been written.
    pub async fn open(&self, table: Table) -> Result<Option<DeltaTable>, LakeError> {
        crate::table::open_table(&self.root, table).await
    }

    /// The current version of a table, `None` if it does not exist.
    pub async fn version(&self, table: Table) -> Result<Option<u64>, LakeError> {
        Ok(self.open(table).await?.and_then(|t| t.version()))
    }

    async fn open_or_create(&self, table: Table, info: &CommitInfo) -> Result<DeltaTable, LakeError> {
        if let Some(t) = self.open(table).await? {
            return self.keep_history(t, table, info).await;
        }
        let err = self.lake_err(table);
        let url = self.table_url(table)?;
        let schema = table.schema();
        let kernel: deltalake::kernel::StructType =
            schema.as_ref().try_into_kernel().map_err(|e| LakeError::internal("converting a schema", e))?;
        let mut create = deltalake::operations::create::CreateBuilder::new();
        for (key, value) in self.retention_properties() {
            create = create.with_configuration_property(key, Some(value));
        }
        let created = create
            .with_location(url.to_string())
            .with_table_name(table.name())
            .with_comment(format!("devex canonical table `{}`", table.name()))
            .with_columns(kernel.fields().cloned())
            .with_partition_columns(table.partition_columns().iter().map(|s| s.to_string()))
            .with_commit_properties(info.properties())
            .await;
        match created {
            Ok(t) => Ok(t),
            // Another writer created it first (object storage has no lock): use theirs.
            Err(e) => match self.open(table).await {
                Ok(Some(t)) => Ok(t),
                _ => Err(err(e)),
            },
        }
    }

    fn writer_properties() -> WriterProperties {
        Self::writer_properties_builder().build()
    }

    /// A fact's data files: as a compacted table's, compressed faster (zstd
    /// level 1): a fact is rewritten by every refresh that cannot append, and
    /// is a cache of what the tables hold.
    pub(crate) fn fact_writer_properties() -> WriterProperties {
        Self::writer_properties_builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("valid zstd level")))
            .build()
    }

    /// Dictionary encoding only where values repeat: a dictionary on ids, shas
    /// and timestamps saves nothing and holds every page of the row group in
    /// memory until it closes.
    fn writer_properties_builder() -> WriterPropertiesBuilder {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid zstd level")))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_dictionary_enabled(false);
        for column in DICTIONARY_COLUMNS {
            props = props.set_column_dictionary_enabled(ColumnPath::from(*column), true);
        }
        props
    }

    /// An import keeps a row group open per month it writes, each page held in
    /// a buffer the size of the uncompressed page until the group closes: the
    /// row groups it writes are sized from `import_memory_mb` (an eighth of it
    /// for 32 open months of about 256-byte rows: the writer task encodes while
    /// the next chunk is validated). `devex maintain` compacts them into large
    /// ones.
    fn import_writer_properties(&self) -> WriterProperties {
        let rows = ((self.import_memory_mb as usize) << 20) / 8 / (32 * 256);
        Self::writer_properties_builder().set_max_row_group_row_count(Some(rows.clamp(8 << 10, 1 << 20))).build()
    }

    /// Delete files older than `retention` that the table's current version
    /// does not read; full mode also removes files no commit ever referenced,
    /// such as the leftovers of a writer killed mid-write.
    pub(crate) async fn vacuum_full(
        t: DeltaTable,
        retention: chrono::Duration,
        info: &CommitInfo,
    ) -> Result<(DeltaTable, deltalake::operations::vacuum::VacuumMetrics), DeltaTableError> {
        t.vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_mode(VacuumMode::Full)
            .with_commit_properties(info.properties())
            .await
    }

    /// Start writing rows of `table`: they go to data files as they are
    /// pushed and become visible in one commit ([`Staging::commit`]).
    pub async fn begin(&self, _lock: &WriterLock, table: Table) -> Result<Staging, LakeError> {
        Staging::new(self, table).await
    }

    /// Upsert `batch` into `table` on its identity key, as one commit: an
    /// append when no row has an identity the table holds, else a MERGE; a
    /// later row of the batch wins over an earlier one with the same identity.
    pub async fn upsert(
        &self,
        lock: &WriterLock,
        table: Table,
        batch: RecordBatch,
        info: &CommitInfo,
    ) -> Result<Upserted, LakeError> {
        let mut staging = self.begin(lock, table).await?;
        if let Err(e) = staging.push(batch).await {
            staging.abort().await;
            return Err(e);
        }
        staging.commit(info).await
    }

    /// Compact small files and delete unreferenced files older than
    /// `retention`, for every table that exists.
    pub async fn maintain(
        &self,
        _lock: &WriterLock,
        retention: chrono::Duration,
        info: &CommitInfo,
    ) -> Result<Vec<Maintained>, LakeError> {
        let mut out = Vec::new();
        for table in Table::ALL {
            let Some(t) = self.open(table).await? else { continue };
            let t = self.keep_history(t, table, info).await?;
            let err = self.lake_err(table);
            let (t, optimized) = t
                .optimize()
                .with_writer_properties(Self::writer_properties())
                .with_commit_properties(info.properties())
                .await
                .map_err(&err)?;
            let (t, vacuumed) = Self::vacuum_full(t, retention, info).await.map_err(&err)?;
            out.push(Maintained {
                table,
                files_removed: optimized.num_files_removed,
                files_added: optimized.num_files_added,
                files_vacuumed: vacuumed.files_deleted.len(),
                version: t.version().unwrap_or_default(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use deltalake::datafusion::prelude::SessionContext;

    use super::*;

    /// The operation of a table's newest commit, from its Delta log.
    fn last_operation(lake: &Lake, table: Table) -> String {
        let log = lake.table_dir(table).unwrap().join("_delta_log");
        let newest = std::fs::read_dir(&log)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .max()
            .unwrap();
        let text = std::fs::read_to_string(newest).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v.get("commitInfo")?.get("operation")?.as_str().map(str::to_string))
            .unwrap()
    }

    fn info() -> CommitInfo {
        CommitInfo { run_id: "r".into(), command: "test".into(), source: "file".into() }
    }

    /// Upsert deployments `(id, status, finished_at date)` in one commit.
    async fn upsert(lake: &Lake, lock: &WriterLock, rows: &[(&str, &str, &str)]) -> Upserted {
        lake.upsert(lock, Table::Deployments, deployments(rows), &info()).await.unwrap()
    }

    #[tokio::test]
    async fn new_identities_are_appended_and_known_ones_merged() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        // A first write: every identity is new, so the commit is an append.
        let first = upsert(&lake, &lock, &[("d1", "success", "2026-03-04"), ("d2", "success", "2026-03-05")]).await;
        assert_eq!((first.inserted, first.matched, first.appended), (2, 0, true));
        assert_eq!(last_operation(&lake, Table::Deployments), "WRITE");
        // Only new identities again (a new night), in another month: still an append.
        let night = upsert(&lake, &lock, &[("d3", "success", "2026-04-01")]).await;
        assert_eq!((night.inserted, night.matched, night.appended), (1, 0, true));
        assert_eq!(last_operation(&lake, Table::Deployments), "WRITE");
        // One known identity, moved to another month, and one new: a MERGE, nothing duplicated.
        let mixed = upsert(&lake, &lock, &[("d1", "failure", "2026-05-04"), ("d4", "success", "2026-03-06")]).await;
        assert_eq!((mixed.inserted, mixed.matched, mixed.appended), (1, 1, false));
        assert_eq!(last_operation(&lake, Table::Deployments), "MERGE");
        let t = lake.open(Table::Deployments).await.unwrap().unwrap();
        let ctx = SessionContext::new();
        t.update_datafusion_session(&ctx.state()).unwrap();
        ctx.register_table("d", t.table_provider().await.unwrap()).unwrap();
        let rows = ctx.sql("SELECT id, status, month FROM d ORDER BY id").await.unwrap().collect().await.unwrap();
        let text = deltalake::datafusion::arrow::util::pretty::pretty_format_batches(&rows).unwrap().to_string();
        assert_eq!(text.matches("| d").count(), 4, "{text}");
        assert!(text.contains("| d1 | failure | 2026-05 |"), "{text}");
    }

    /// The filter of existing identities only ever says "maybe" or "no": with
    /// one of 8 bytes it says "maybe" to nearly every identity, and the exact
    /// check behind it still appends what is new and merges what replaces a row.
    #[tokio::test]
    async fn a_maybe_of_the_identity_filter_is_checked_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path()).with_identity_filter_bytes(8);
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        let ids = |range: std::ops::Range<u32>, status: &'static str| -> Vec<(String, &'static str)> {
            range.map(|i| (format!("d{i:02}"), status)).collect()
        };
        let rows = |v: &[(String, &'static str)]| -> RecordBatch {
            let r: Vec<(&str, &str, &str)> = v.iter().map(|(id, s)| (id.as_str(), *s, "2026-03-04")).collect();
            deployments(&r)
        };
        lake.upsert(&lock, Table::Deployments, rows(&ids(0..30, "success")), &info()).await.unwrap();
        // Only new identities, nearly all of them "maybe"s: still an append.
        let new = lake.upsert(&lock, Table::Deployments, rows(&ids(30..60, "success")), &info()).await.unwrap();
        assert_eq!((new.inserted, new.matched, new.appended), (30, 0, true), "{new:?}");
        assert_eq!(last_operation(&lake, Table::Deployments), "WRITE");
        // New ones, one new identity twice (the later wins), and one that replaces a row: a MERGE.
        let mut mixed = ids(60..70, "success");
        mixed.push(("d65".into(), "failure"));
        mixed.push(("d05".into(), "failure"));
        let merged = lake.upsert(&lock, Table::Deployments, rows(&mixed), &info()).await.unwrap();
        assert!(!merged.appended, "{merged:?}");
        assert_eq!(last_operation(&lake, Table::Deployments), "MERGE");
        let all = ids_and_status(&lake).await;
        assert_eq!(all.len(), 70, "no identity twice: {all:?}");
        assert!(all.contains(&"| d05 | failure |".to_string()) && all.contains(&"| d65 | failure |".to_string()));
        assert!(all.contains(&"| d64 | success |".to_string()));
    }

    /// Deployment rows in the lake's schema from `(id, status, finished_at)`.
    fn deployments(rows: &[(&str, &str, &str)]) -> RecordBatch {
        use deltalake::arrow::array::{Array, StringArray, new_null_array};
        let schema = Table::Deployments.schema();
        let text = |f: &dyn Fn(&(&str, &str, &str)) -> String| {
            std::sync::Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>())) as std::sync::Arc<dyn Array>
        };
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let values = match field.name().as_str() {
                    "id" => text(&|r| r.0.to_string()),
                    "status" => text(&|r| r.1.to_string()),
                    "finished_at" | "ingested_at" => text(&|r| format!("{}T00:00:00Z", r.2)),
                    "month" => text(&|r| r.2[..7].to_string()),
                    "service" => text(&|_| "api".into()),
                    "environment" => text(&|_| "production".into()),
                    "source" => text(&|_| "file".into()),
                    _ => return new_null_array(field.data_type(), rows.len()),
                };
                arrow::compute::cast(&values, field.data_type()).unwrap()
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    async fn ids_and_status(lake: &Lake) -> Vec<String> {
        let t = lake.open(Table::Deployments).await.unwrap().unwrap();
        let ctx = SessionContext::new();
        t.update_datafusion_session(&ctx.state()).unwrap();
        ctx.register_table("d", t.table_provider().await.unwrap()).unwrap();
        let rows = ctx.sql("SELECT id, status FROM d ORDER BY id").await.unwrap().collect().await.unwrap();
        let text = deltalake::datafusion::arrow::util::pretty::pretty_format_batches(&rows).unwrap().to_string();
        text.lines()
            .filter(|l| l.starts_with("| d"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// Two writers staged from the same version (as on object storage, where
    /// there is no lock): the one that commits second finds the table moved
    /// and merges instead of appending, so an identity both wrote is not
    /// duplicated, and nothing either wrote is lost.
    #[tokio::test]
    async fn a_writer_that_lost_the_race_merges_instead_of_appending() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        let info = info();
        for existed in [false, true] {
            if existed {
                // Second round: the table exists, both stage from its version.
                upsert(&lake, &lock, &[("d0", "success", "2026-03-01")]).await;
            }
            let mut a = lake.begin(&lock, Table::Deployments).await.unwrap();
            let mut b = lake.begin(&lock, Table::Deployments).await.unwrap();
            a.push(deployments(&[("d1", "success", "2026-03-04"), ("d2", "success", "2026-03-05")])).await.unwrap();
            b.push(deployments(&[("d2", "failure", "2026-03-05"), ("d3", "success", "2026-04-01")])).await.unwrap();
            let first = a.commit(&info).await.unwrap();
            assert!(first.appended, "{first:?}");
            let second = b.commit(&info).await.unwrap();
            assert!(!second.appended, "the second writer merged: {second:?}");
            assert_eq!((second.inserted, second.matched), (1, 1), "{second:?}");
            assert_eq!(last_operation(&lake, Table::Deployments), "MERGE");
            let mut want = vec!["| d1 | success |", "| d2 | failure |", "| d3 | success |"];
            if existed {
                want.insert(0, "| d0 | success |");
            }
            assert_eq!(ids_and_status(&lake).await, want);
            // The writer that merged deleted its staged files: every file on
            // disk is one some commit added.
            assert_eq!(
                crate::snapshot::unreferenced_files(&lake.table_dir(Table::Deployments).unwrap()),
                Vec::<String>::new()
            );
            std::fs::remove_dir_all(lake.table_dir(Table::Deployments).unwrap()).unwrap();
        }
    }

    /// Two MERGEs committed at the same time: delta-rs refuses the one that
    /// lost the race (it read a version the other replaced), and it is re-run
    /// on the new version; both land.
    #[tokio::test]
    async fn concurrent_merges_both_land() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        let info = info();
        upsert(&lake, &lock, &[("d1", "success", "2026-03-01"), ("d2", "success", "2026-03-02")]).await;
        let mut a = lake.begin(&lock, Table::Deployments).await.unwrap();
        let mut b = lake.begin(&lock, Table::Deployments).await.unwrap();
        a.push(deployments(&[("d1", "failure", "2026-03-01"), ("d5", "success", "2026-05-01")])).await.unwrap();
        b.push(deployments(&[("d2", "failure", "2026-03-02"), ("d6", "success", "2026-06-01")])).await.unwrap();
        let (a, b) = tokio::join!(a.commit(&info), b.commit(&info));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(a.version, b.version);
        assert_eq!(
            ids_and_status(&lake).await,
            vec!["| d1 | failure |", "| d2 | failure |", "| d5 | success |", "| d6 | success |"]
        );
    }
}
