//! One table's incoming rows on their way into the lake: written as Parquet
//! data files while they arrive, committed at the end as one Delta commit.
//!
//! A row whose identity is new to the table and to the input so far goes
//! straight into a data file. A row that may replace another (its identity is
//! in the table, or came earlier in the input) is held back. At the end, with
//! nothing held back, the files are committed as one append. Otherwise one
//! MERGE reads the files and the held rows (a later row of the input wins
//! over an earlier one), and the files it read are deleted. Until the commit
//! nothing is visible to readers; an import that fails deletes what it wrote.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray, UInt32Array};
use arrow::compute::{concat_batches, filter_record_batch, take_record_batch};
use arrow::datatypes::SchemaRef;
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::datafusion::catalog::streaming::StreamingTable;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::logical_expr::{Expr, Operator, binary_expr};
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::streaming::PartitionStream;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::{CommitBuilder, TransactionError};
use deltalake::kernel::{Action, Add};
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableError, ObjectStore};
use devex_model::Table;
use futures::{StreamExt, TryStreamExt};
use object_store::GetOptions;

use super::identity::{Bloom, HashSet64, Identities, hash};
use super::{COMMIT_ATTEMPTS, CommitInfo, Lake, Upserted};
use crate::error::LakeError;

/// A `DeltaWriter` on a task of its own, one batch behind: Parquet encoding and
/// compression of one chunk overlap the reading and validation of the next.
struct BackgroundWriter {
    batches: tokio::sync::mpsc::Sender<RecordBatch>,
    task: tokio::task::JoinHandle<WriterEnd>,
}

/// How a writer task ended: the write that failed, if one did, and the files it wrote.
type WriterEnd = (Option<deltalake::DeltaTableError>, Result<Vec<Add>, deltalake::DeltaTableError>);

impl BackgroundWriter {
    fn start(mut writer: DeltaWriter) -> BackgroundWriter {
        let (batches, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(1);
        let task = tokio::spawn(async move {
            let mut failed = None;
            while let Some(batch) = rx.recv().await {
                if let Err(e) = writer.write(&batch).await {
                    failed = Some(e);
                    break;
                }
            }
            drop(rx);
            // Closed even after a failure: its files must be known to be deleted.
            (failed, writer.close().await)
        });
        BackgroundWriter { batches, task }
    }

    /// Hand a batch over, and wait until the writer has taken it (it has
    /// finished the one before): one batch is encoded while the next chunk is
    /// validated, and none waits in between. `false` when the writer has
    /// stopped on an error.
    async fn write(&self, batch: RecordBatch) -> bool {
        self.batches.send(batch).await.is_ok() && self.batches.reserve().await.is_ok()
    }

    /// Wait for every batch to be written and the files closed.
    async fn close(self) -> WriterEnd {
        drop(self.batches);
        match self.task.await {
            Ok(end) => end,
            Err(e) => (None, Err(deltalake::DeltaTableError::Generic(format!("the data file writer failed: {e}")))),
        }
    }
}

/// The identities of the held rows: their staged copies are not merged.
type Superseded = Arc<HashSet<Vec<u8>>>;

/// Rows of one table, staged for one commit. Made by [`Lake::begin`].
pub struct Staging {
    lake: Lake,
    table: Table,
    /// The table as it was when staging began (not loaded if it does not exist yet).
    target: DeltaTable,
    writer: Option<BackgroundWriter>,
    identities: Identities,
    /// The identities the table held when staging began (a "maybe" is checked at the commit).
    in_lake: Bloom,
    /// Hashes of the identities written to files so far.
    seen: HashSet64,
    /// Rows that may replace another, held for the MERGE.
    held: Vec<RecordBatch>,
    /// Per held batch, which rows are held only because the table may hold their identity.
    held_maybe: Vec<BooleanArray>,
    rows: usize,
    /// The table's directory did not exist before: removed again if nothing is committed.
    created_dir: bool,
}

impl Staging {
    pub(super) async fn new(lake: &Lake, table: Table) -> Result<Staging, LakeError> {
        let err = lake.lake_err(table);
        let created_dir = lake.table_dir(table).is_some_and(|dir| !dir.exists());
        let (target, in_lake) = match lake.open(table).await? {
            Some(t) => {
                let ids = lake_identities(&t, table, lake.identity_filter_bytes(), lake.lake_err(table)).await?;
                (t, ids)
            }
            None => {
                let url = lake.table_url(table)?;
                let t = deltalake::DeltaTableBuilder::from_url(url).map_err(&err)?.build().map_err(&err)?;
                (t, Bloom::new(0, 0))
            }
        };
        Ok(Staging {
            lake: lake.clone(),
            table,
            target,
            writer: None,
            identities: Identities::new(table)?,
            in_lake,
            seen: HashSet64::default(),
            held: Vec::new(),
            held_maybe: Vec::new(),
            rows: 0,
            created_dir,
        })
    }

    /// Expect about `rows` more rows: the identity set is sized once, instead
    /// of doubling (and briefly holding both sizes) as a large input arrives.
    pub fn reserve(&mut self, rows: usize) {
        self.seen.reserve(rows);
    }

    /// Stage rows in `table`'s lake schema.
    pub async fn push(&mut self, batch: RecordBatch) -> Result<(), LakeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows();
        let ids = self.identities.rows(&batch)?;
        let mut maybe = Vec::new();
        let fresh: BooleanArray = ids
            .iter()
            .map(|id| {
                let h = hash(id.as_ref());
                let in_lake = self.in_lake.may_contain(h);
                let fresh = !in_lake && self.seen.insert(h);
                if !fresh {
                    maybe.push(in_lake);
                }
                Some(fresh)
            })
            .collect();
        let batch = if fresh.true_count() == batch.num_rows() {
            batch
        } else {
            let held =
                filter_record_batch(&batch, &arrow::compute::not(&fresh).map_err(internal)?).map_err(internal)?;
            self.held.push(held);
            self.held_maybe.push(BooleanArray::from(maybe));
            filter_record_batch(&batch, &fresh).map_err(internal)?
        };
        self.write(batch).await
    }

    /// Hand rows with new identities to the data file writer.
    async fn write(&mut self, batch: RecordBatch) -> Result<(), LakeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(BackgroundWriter::start(self.new_writer())),
        };
        if writer.write(batch).await {
            return Ok(());
        }
        // The writer stopped on an error: the caller gives up (abort) and hears why.
        let Some(w) = self.writer.take() else { return Ok(()) };
        Err(self.writer_failed(w.close().await).await)
    }

    /// A writer that ended on an error: delete the files it wrote, and say why.
    async fn writer_failed(&self, (failed, adds): WriterEnd) -> LakeError {
        if let Ok(adds) = &adds {
            delete(&self.target, adds).await;
        }
        self.lake.lake_err(self.table)(
            failed
                .or(adds.err())
                .unwrap_or_else(|| deltalake::DeltaTableError::Generic("the data file writer stopped".into())),
        )
    }

    fn new_writer(&self) -> DeltaWriter {
        let table = self.table;
        let config = WriterConfig::new(
            table.schema(),
            table.partition_columns().iter().map(|c| c.to_string()).collect(),
            Some(self.lake.import_writer_properties()),
            Some(self.lake.target_file_size()),
            None,
            Default::default(),
            None,
        );
        DeltaWriter::new(self.target.log_store().object_store(None), config)
    }

    /// The held rows whose identity the table only *may* hold (the filter's
    /// "maybe"), checked against the table itself: those it does not hold, and
    /// that no other row of the input shares, are new after all and are
    /// written like any new row. What stays held replaces a row.
    async fn release_new_identities(&mut self) -> Result<(), LakeError> {
        if self.held_maybe.iter().all(|m| m.true_count() == 0) {
            return Ok(());
        }
        let schema = self.table.schema();
        let held = concat_batches(&schema, &self.held).map_err(internal)?;
        let maybe: Vec<bool> = self.held_maybe.iter().flat_map(|m| m.values().iter()).collect();
        let ids = self.identities.rows(&held)?;
        let mut count: HashMap<Vec<u8>, usize> = HashMap::new();
        for id in ids.iter() {
            *count.entry(id.as_ref().to_vec()).or_default() += 1;
        }
        let candidates: HashSet<Vec<u8>> =
            ids.iter().zip(&maybe).filter(|(_, m)| **m).map(|(id, _)| id.as_ref().to_vec()).collect();
        let present = lake_holds(&self.target, self.table, &candidates, self.lake.lake_err(self.table)).await?;
        let release: BooleanArray = ids
            .iter()
            .zip(&maybe)
            .map(|(id, m)| Some(*m && count[id.as_ref()] == 1 && !present.contains(id.as_ref())))
            .collect();
        self.held.clear();
        self.held_maybe.clear();
        let stay = filter_record_batch(&held, &arrow::compute::not(&release).map_err(internal)?).map_err(internal)?;
        if stay.num_rows() > 0 {
            self.held_maybe.push(BooleanArray::from(vec![false; stay.num_rows()]));
            self.held.push(stay);
        }
        let released = filter_record_batch(&held, &release).map_err(internal)?;
        if released.num_rows() > 0 {
            for id in self.identities.rows(&released)?.iter() {
                self.seen.insert(hash(id.as_ref()));
            }
            self.write(released).await?;
        }
        Ok(())
    }

    /// Commit the staged rows: an append when none may replace another, else one MERGE.
    pub async fn commit(mut self, info: &CommitInfo) -> Result<Upserted, LakeError> {
        if let Err(e) = self.release_new_identities().await {
            self.abort().await;
            return Err(e);
        }
        let adds = match self.writer.take() {
            Some(w) => match w.close().await {
                (None, Ok(adds)) => adds,
                end => {
                    let e = self.writer_failed(end).await;
                    self.remove_new_dir();
                    return Err(e);
                }
            },
            None => Vec::new(),
        };
        if self.rows == 0 {
            self.remove_new_dir();
            let version = self.lake.version(self.table).await?;
            return Ok(Upserted { inserted: 0, matched: 0, within_input: 0, version, appended: false });
        }
        pause_before_commit().await;
        let mut merging = !self.held.is_empty();
        let result = if merging {
            self.merge(&adds, info).await
        } else {
            match self.append(adds.clone(), info).await {
                Ok(Some(done)) => Ok(done),
                // Another writer committed since staging began: its rows may
                // share identities with the staged ones, so they are merged.
                Ok(None) => {
                    merging = true;
                    self.merge(&adds, info).await
                }
                Err(e) => Err(e),
            }
        };
        if result.is_err() || merging {
            // The MERGE rewrote the staged rows (or nothing was committed): the files go.
            delete(&self.target, &adds).await;
        }
        if result.is_err() {
            self.remove_new_dir();
        }
        result
    }

    /// Remove the table directory staging made, unless a commit made it a table.
    fn remove_new_dir(&self) {
        let Some(dir) = self.lake.table_dir(self.table) else { return };
        if self.created_dir && !dir.join("_delta_log").exists() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Give up: delete every file written.
    pub async fn abort(mut self) {
        if let Some(w) = self.writer.take()
            && let (_, Ok(adds)) = w.close().await
        {
            delete(&self.target, &adds).await;
        }
        self.remove_new_dir();
    }

    /// Commit the staged files as one append on the version staging began
    /// from (version 0, the table's creation, if it did not exist). `None`:
    /// another writer committed since, and nothing was committed.
    async fn append(&self, adds: Vec<Add>, info: &CommitInfo) -> Result<Option<Upserted>, LakeError> {
        let err = self.lake.lake_err(self.table);
        let target = self.lake.open_or_create(self.table, info).await?;
        if target.version() != Some(self.target.version().unwrap_or(0)) {
            return Ok(None);
        }
        let partition_by: Vec<String> = self.table.partition_columns().iter().map(|c| c.to_string()).collect();
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: (!partition_by.is_empty()).then_some(partition_by),
            predicate: None,
        };
        let snapshot = target.snapshot().map_err(&err)?;
        // No retry on a newer version: delta-rs would let two appends of the
        // same identity both land. The caller merges instead.
        let commit = CommitBuilder::from(info.properties().with_max_retries(0))
            .with_actions(adds.into_iter().map(Action::Add).collect())
            .build(Some(snapshot), target.log_store(), operation)
            .await;
        let commit = match commit {
            Ok(c) => c,
            Err(e) if lost_race(&e) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        Ok(Some(Upserted {
            inserted: self.rows,
            matched: 0,
            within_input: 0,
            version: Some(commit.version()),
            appended: true,
        }))
    }

    /// MERGE the staged files and the held rows, re-run on the newer version
    /// when another writer commits first, up to [`COMMIT_ATTEMPTS`] times.
    async fn merge(&mut self, adds: &[Add], info: &CommitInfo) -> Result<Upserted, LakeError> {
        let (held, superseded) = self.take_held()?;
        let mut attempt = 1;
        loop {
            match self.merge_once(held.clone(), Arc::clone(&superseded), adds, info).await {
                Err(LakeError::Table { source, .. }) if lost_race(&source) => {
                    if attempt == COMMIT_ATTEMPTS {
                        return Err(LakeError::CommitContention { table: self.table.name().into(), attempts: attempt });
                    }
                    // Back off, a little longer each time, apart from the other writers.
                    let jitter = u64::from(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.subsec_nanos())
                            % 97,
                    ) + u64::from(std::process::id() % 53);
                    let wait = (50u64 << attempt.min(5)) + jitter;
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The held rows, one per identity (a later row wins), and those identities.
    fn take_held(&mut self) -> Result<(RecordBatch, Superseded), LakeError> {
        let schema = self.table.schema();
        let held = concat_batches(&schema, &self.held).map_err(internal)?;
        self.held.clear();
        let ids = self.identities.rows(&held)?;
        let mut last: HashMap<Vec<u8>, u32> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            last.insert(id.as_ref().to_vec(), i as u32);
        }
        let mut keep: Vec<u32> = last.values().copied().collect();
        keep.sort_unstable();
        let held = take_record_batch(&held, &UInt32Array::from(keep)).map_err(internal)?;
        Ok((held, Arc::new(last.into_keys().collect())))
    }

    /// MERGE the staged files and the held rows on the table's identity. A
    /// matched row is rewritten only if some column other than `ingested_at`
    /// changed, so a re-import of identical rows leaves the data files alone.
    async fn merge_once(
        &self,
        held: RecordBatch,
        superseded: Superseded,
        adds: &[Add],
        info: &CommitInfo,
    ) -> Result<Upserted, LakeError> {
        let table = self.table;
        let err = self.lake.lake_err(table);
        let df_err = |e: DataFusionError| err(e.into());
        let schema = table.schema();

        let ctx = SessionContext::new();
        let mut source = ctx.read_batch(held).map_err(df_err)?;
        if !adds.is_empty() {
            let files = StagedFiles {
                schema: schema.clone(),
                table,
                store: self.target.log_store().object_store(None),
                adds: adds.to_vec(),
                superseded,
            };
            let staged = StreamingTable::try_new(schema.clone(), vec![Arc::new(files)]).map_err(df_err)?;
            source = ctx.read_table(Arc::new(staged)).map_err(df_err)?.union(source).map_err(df_err)?;
        }

        let target = self.lake.open_or_create(table, info).await?;
        // Build the expressions as `Expr`s, not SQL text: column names such as
        // `table` and `column` (quarantine) are SQL keywords.
        let q = |side: &str, c: &str| Expr::Column(deltalake::datafusion::common::Column::new(Some(side), c));
        let on = table
            .key()
            .iter()
            .map(|k| q("lake", k).eq(q("incoming", k)))
            .reduce(Expr::and)
            .expect("every table has a key");
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let changed = names
            .iter()
            .filter(|n| n.as_str() != devex_model::table::INGESTED_AT && !table.key().contains(&n.as_str()))
            .map(|n| binary_expr(q("lake", n), Operator::IsDistinctFrom, q("incoming", n)))
            .reduce(Expr::or);
        let mut merge = target
            .merge(source, on)
            .with_source_alias("incoming")
            .with_target_alias("lake")
            .with_streaming(true)
            .with_writer_properties(Lake::writer_properties())
            .with_commit_properties(info.properties());
        if let Some(changed) = changed {
            merge = merge
                .when_matched_update(|mut u| {
                    u = u.predicate(changed);
                    for n in &names {
                        u = u.update(n.as_str(), q("incoming", n));
                    }
                    u
                })
                .map_err(&err)?;
        }
        merge = merge
            .when_not_matched_insert(|mut i| {
                for n in &names {
                    i = i.set(n.as_str(), q("incoming", n));
                }
                i
            })
            .map_err(&err)?;
        let (after, metrics) = merge.await.map_err(&err)?;
        let unique = metrics.num_source_rows;
        Ok(Upserted {
            inserted: metrics.num_target_rows_inserted,
            matched: unique - metrics.num_target_rows_inserted,
            within_input: self.rows - unique,
            version: after.version(),
            appended: false,
        })
    }
}

/// Whether a commit failed only because another writer committed first.
fn lost_race(e: &DeltaTableError) -> bool {
    matches!(
        e,
        DeltaTableError::VersionAlreadyExists(_)
            | DeltaTableError::Transaction {
                source: TransactionError::CommitConflict(_)
                    | TransactionError::MaxCommitAttempts(_)
                    | TransactionError::VersionAlreadyExists(_)
            }
    )
}

/// Debug builds wait `DEVEX_TEST_PAUSE_BEFORE_COMMIT_MS` before committing,
/// so tests can make two writers race; release builds never wait.
async fn pause_before_commit() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("DEVEX_TEST_PAUSE_BEFORE_COMMIT_MS").ok().and_then(|v| v.parse().ok()) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
}

fn internal(e: impl fmt::Display) -> LakeError {
    LakeError::internal("staging rows", e)
}

/// Delete staged files (best effort: `devex maintain` removes any left behind).
async fn delete(target: &DeltaTable, adds: &[Add]) {
    let store = target.log_store().object_store(None);
    let paths: Vec<_> = adds.iter().filter_map(|a| deltalake::Path::parse(&a.path).ok()).map(Ok).collect();
    let _ = store.delete_stream(futures::stream::iter(paths).boxed()).collect::<Vec<_>>().await;
}

/// Which identities `target` may hold: a scan of its key columns only, into a
/// filter of at most `max_bytes`.
async fn lake_identities(
    target: &DeltaTable,
    table: Table,
    max_bytes: usize,
    err: impl Fn(DeltaTableError) -> LakeError,
) -> Result<Bloom, LakeError> {
    let rows = crate::snapshot::row_count(target).unwrap_or(1 << 20);
    let mut set = Bloom::new(rows, max_bytes);
    scan_identities(target, table, &err, |id| set.insert(hash(id))).await?;
    Ok(set)
}

/// Which of `candidates` `target` holds: a second scan of its key columns,
/// keeping only the matches.
async fn lake_holds(
    target: &DeltaTable,
    table: Table,
    candidates: &HashSet<Vec<u8>>,
    err: impl Fn(DeltaTableError) -> LakeError,
) -> Result<HashSet<Vec<u8>>, LakeError> {
    let mut present = HashSet::new();
    scan_identities(target, table, &err, |id| {
        if candidates.contains(id) {
            present.insert(id.to_vec());
        }
    })
    .await?;
    Ok(present)
}

/// Call `f` with the identity bytes of every row `target` holds.
async fn scan_identities(
    target: &DeltaTable,
    table: Table,
    err: &impl Fn(DeltaTableError) -> LakeError,
    mut f: impl FnMut(&[u8]),
) -> Result<(), LakeError> {
    let df_err = |e: DataFusionError| err(e.into());
    if target.version().is_none() || target.snapshot().map_err(err)?.log_data().num_files() == 0 {
        return Ok(());
    }
    let ctx = SessionContext::new();
    target.update_datafusion_session(&ctx.state()).map_err(&err)?;
    ctx.register_table("lake", target.table_provider().await.map_err(df_err)?).map_err(df_err)?;
    let columns = table.key().iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
    let mut stream = ctx
        .sql(&format!("SELECT {columns} FROM lake"))
        .await
        .map_err(df_err)?
        .execute_stream()
        .await
        .map_err(df_err)?;
    let ids = Identities::keys_only(table)?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(df_err)?;
        for id in ids.rows(&batch)?.iter() {
            f(id.as_ref());
        }
    }
    Ok(())
}

/// The staged data files, read back as rows of the table (the partition
/// column restored), without the rows a held row replaces.
struct StagedFiles {
    schema: SchemaRef,
    table: Table,
    store: Arc<dyn ObjectStore>,
    adds: Vec<Add>,
    superseded: Arc<HashSet<Vec<u8>>>,
}

impl fmt::Debug for StagedFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StagedFiles").field("table", &self.table).field("files", &self.adds.len()).finish()
    }
}

impl PartitionStream for StagedFiles {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (schema, table, store, superseded) =
            (self.schema.clone(), self.table, self.store.clone(), self.superseded.clone());
        let out_schema = schema.clone();
        let files = futures::stream::iter(self.adds.clone()).then(move |add| {
            let (store, schema, superseded) = (store.clone(), schema.clone(), superseded.clone());
            async move {
                let external = |e: Box<dyn std::error::Error + Send + Sync>| DataFusionError::External(e);
                let path = deltalake::Path::parse(&add.path).map_err(|e| external(e.into()))?;
                // One data file (at most the target file size) in memory at a time.
                let bytes = store
                    .get_opts(&path, GetOptions::default())
                    .await
                    .map_err(|e| external(e.into()))?
                    .bytes()
                    .await
                    .map_err(|e| external(e.into()))?;
                let batches = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
                let ids = Identities::new(table).map_err(|e| external(e.into()))?;
                Ok::<_, DataFusionError>(futures::stream::iter(batches).map(move |b| {
                    let b = restore(&schema, &add, b?)?;
                    if superseded.is_empty() {
                        return Ok(b);
                    }
                    let rows = ids.rows(&b).map_err(|e| DataFusionError::External(Box::new(e)))?;
                    let keep: BooleanArray = rows.iter().map(|id| Some(!superseded.contains(id.as_ref()))).collect();
                    Ok(filter_record_batch(&b, &keep)?)
                }))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(out_schema, files.try_flatten()))
    }
}

/// A data file's batch with the partition columns put back from its `Add`.
fn restore(schema: &SchemaRef, add: &Add, batch: RecordBatch) -> Result<RecordBatch, DataFusionError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => Ok(c.clone()),
            None => {
                let value = add.partition_values.get(f.name()).cloned().flatten();
                Ok(Arc::new(StringArray::from(vec![value; batch.num_rows()])) as ArrayRef)
            }
        })
        .collect::<Result<Vec<_>, DataFusionError>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
