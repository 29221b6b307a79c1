//! Shared views of a cluster run, kept where the cluster can read them.
//!
//! A local run computes each shared view once and holds it in memory
//! ([`crate::shared`]). A Ballista session cannot: a plan is shipped to the
//! scheduler, and every view that reads `deployment_outcome` or
//! `lead_time_summary` would compute it again, every time, on every stage
//! that needs it. So a cluster run computes each shared view once, on the
//! cluster, writes its rows as Parquet under the lake's `_scratch/<run>/`,
//! and registers it as a `ListingTable` over those files, which the
//! executors read like any table of the lake. The directory is removed when
//! the run's session is dropped; one left by a killed run is removed by the
//! next cluster run a day later ([`Scratch::create`]).
//!
//! The rows are the view's rows, types and all (Parquet keeps every Arrow
//! type these views have), so the numbers are the ones the inline plan gives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::object_store::buffered::BufWriter;
use datafusion::object_store::path::Path as StorePath;
use datafusion::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{DataFrame, SessionContext};
use devex_model::location::Location;
use futures::{StreamExt, TryStreamExt};

use crate::error::QueryError;

/// The lake's directory of cluster runs' shared views.
pub const SCRATCH_DIR: &str = "_scratch";

/// Rows per Parquet file: several files let the cluster's tasks read a large
/// view in parallel, and bound what the writer holds.
const FILE_ROWS: usize = 1 << 20;

/// A run's directory of shared views on the lake's store, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    store: Arc<dyn ObjectStore>,
    /// The run's directory in the store.
    prefix: StorePath,
    /// The same as a URL, ending in `/`.
    url: String,
    /// The same as a directory, for a lake on this machine: removed whole
    /// (a store's delete leaves the directories).
    local: Option<std::path::PathBuf>,
    views: AtomicUsize,
}

impl Scratch {
    /// A new directory for one run under the lake at `root`, on the store
    /// `ctx` resolves its URL to. Directories of runs older than a day (a
    /// run killed before it could remove its own) are removed first.
    pub async fn create(ctx: &SessionContext, root: &Location) -> Result<Arc<Scratch>, QueryError> {
        let (base, local) = match root {
            Location::Local(path) => {
                let path = std::fs::canonicalize(path)
                    .map_err(|e| QueryError::Engine(format!("{}: {e}", path.display())))?
                    .join(SCRATCH_DIR);
                (format!("file://{}/", path.display()), Some(path))
            }
            Location::Remote(url) => (format!("{url}/{SCRATCH_DIR}/"), None),
        };
        let parsed = ListingTableUrl::parse(&base)?;
        let store = ctx.runtime_env().object_store(parsed.object_store())?;
        let dir = parsed.prefix().clone();
        sweep(&store, &dir, local.as_deref()).await;
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = format!(
            "{}-{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let scratch = Scratch {
            store,
            prefix: dir.clone().join(run.as_str()),
            url: format!("{base}{run}/"),
            local: local.map(|l| l.join(&run)),
            views: AtomicUsize::new(0),
        };
        // Whether this client may write there, before any view is computed.
        let marker = scratch.prefix.clone().join("started");
        scratch.store.put(&marker, PutPayload::new()).await.map_err(|e| QueryError::Engine(format!("{base}: {e}")))?;
        Ok(Arc::new(scratch))
    }

    /// Compute `plan` (the view `name`) on `ctx`'s engine, write its rows
    /// here, and give a table of them that a cluster can ship.
    ///
    /// The view is planned with hash joins. Ballista plans every equi-join
    /// as a sort-merge join (it spills, where a hash join's build side must
    /// fit), so `lead_time_summary` sorted every change of the window to join
    /// it to its service's group: 11.8 s of a 19.4M-change run on a cluster
    /// (the whole local run: 4.9 s), 6.4 s with hash joins, which broadcast
    /// the small side. Only here: a statement with hash joins under the
    /// survey views' windows fails Ballista 55's window assertion ("All
    /// partition by columns should have an ordering").
    pub async fn keep(
        &self,
        ctx: &SessionContext,
        name: &str,
        plan: LogicalPlan,
    ) -> Result<Arc<dyn TableProvider>, QueryError> {
        let started = std::time::Instant::now();
        // Every column nullable, as a shared view's (see `SharedView::new`).
        let fields = plan.schema().fields().iter().map(|f| Field::new(f.name(), f.data_type().clone(), true));
        let schema: SchemaRef = Arc::new(Schema::new(fields.collect::<Vec<_>>()));
        let dir = format!("{}-{name}", self.views.fetch_add(1, Ordering::Relaxed));
        let mut state = ctx.state();
        state.config_mut().options_mut().optimizer.prefer_hash_join = true;
        let mut stream = DataFrame::new(state, plan).execute_stream().await?;
        let mut files = Vec::new();
        let mut writer: Option<(AsyncArrowWriter<BufWriter>, usize)> = None;
        let mut rows = 0;
        while let Some(batch) = stream.next().await {
            let batch = RecordBatch::try_new(Arc::clone(&schema), batch?.columns().to_vec())?;
            rows += batch.num_rows();
            if writer.is_none() {
                writer = Some((self.writer(&dir, files.len(), &schema)?, 0));
                files.push(format!("{}{dir}/part-{}.parquet", self.url, files.len()));
            }
            if let Some((w, written)) = writer.as_mut() {
                w.write(&batch).await.map_err(parquet)?;
                *written += batch.num_rows();
                if *written >= FILE_ROWS
                    && let Some((w, _)) = writer.take()
                {
                    w.close().await.map_err(parquet)?;
                }
            }
        }
        match writer {
            Some((w, _)) => {
                w.close().await.map_err(parquet)?;
            }
            None if files.is_empty() => {
                // No rows: one file that holds the schema.
                self.writer(&dir, 0, &schema)?.close().await.map_err(parquet)?;
                files.push(format!("{}{dir}/part-0.parquet", self.url));
            }
            None => {}
        }
        tracing::debug!(view = name, rows, files = files.len(), ms = started.elapsed().as_millis() as u64, "view kept");
        let urls = files.iter().map(ListingTableUrl::parse).collect::<Result<Vec<_>, _>>()?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config)?))
    }

    fn writer(&self, dir: &str, part: usize, schema: &SchemaRef) -> Result<AsyncArrowWriter<BufWriter>, QueryError> {
        let path = self.prefix.clone().join(dir).join(format!("part-{part}.parquet").as_str());
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).map_err(parquet)?))
            .build();
        let out = BufWriter::new(Arc::clone(&self.store), path);
        AsyncArrowWriter::try_new(out, Arc::clone(schema), Some(props)).map_err(parquet)
    }
}

impl Drop for Scratch {
    /// Remove the run's files. On a thread of its own with a runtime of its
    /// own: a drop may happen inside or outside a runtime, and the files must
    /// be gone before the process exits.
    fn drop(&mut self) {
        if let Some(dir) = &self.local {
            if let Err(e) = std::fs::remove_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), "could not remove a cluster run's shared views: {e}");
            }
            return;
        }
        let store = Arc::clone(&self.store);
        let prefix = self.prefix.clone();
        let removed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(remove(&store, &prefix)).map_err(std::io::Error::other)
        })
        .join();
        if !matches!(removed, Ok(Ok(()))) {
            tracing::warn!(dir = %self.prefix, "could not remove a cluster run's shared views; the next cluster run a day from now will");
        }
    }
}

fn parquet(e: ParquetError) -> QueryError {
    DataFusionError::from(e).into()
}

/// Remove every object under `prefix`.
async fn remove(store: &Arc<dyn ObjectStore>, prefix: &StorePath) -> Result<(), datafusion::object_store::Error> {
    let paths = store.list(Some(prefix)).map_ok(|m| m.location).boxed();
    store.delete_stream(paths).try_collect::<Vec<_>>().await?;
    Ok(())
}

/// Remove the runs under `dir` (on this machine: `local`) that are more
/// than a day old.
async fn sweep(store: &Arc<dyn ObjectStore>, dir: &StorePath, local: Option<&std::path::Path>) {
    let Ok(listing) = store.list_with_delimiter(Some(dir)).await else { return };
    let cutoff = chrono::Utc::now() - chrono::Duration::days(1);
    for run in listing.common_prefixes {
        let started = run
            .filename()
            .and_then(|n| n.split('-').next())
            .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S%.fZ").ok().map(|t| t.and_utc()));
        match (started.is_some_and(|t| t < cutoff), local, run.filename()) {
            (true, Some(local), Some(name)) => {
                let _ = std::fs::remove_dir_all(local.join(name));
            }
            (true, None, _) => {
                let _ = remove(store, &run).await;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;

    use super::*;

    async fn rows(ctx: &SessionContext, sql: &str) -> String {
        pretty_format_batches(&ctx.sql(sql).await.unwrap().collect().await.unwrap()).unwrap().to_string()
    }

    #[tokio::test]
    async fn a_kept_view_reads_back_as_its_rows_and_is_removed_with_its_run() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = SessionContext::new();
        let view = "SELECT * FROM (VALUES \
            (1, arrow_cast('a', 'Utf8View'), arrow_cast(TIMESTAMP '2026-01-02T03:04:05Z', 'Timestamp(Microsecond, Some(\"UTC\"))'), CAST('NaN' AS DOUBLE)), \
            (2, NULL, NULL, 0.1 + 0.2), \
            (3, arrow_cast('ccc', 'Utf8View'), arrow_cast(TIMESTAMP '2026-12-31T23:59:59.999999Z', 'Timestamp(Microsecond, Some(\"UTC\"))'), -0.0)) AS t(n, s, at, x)";
        let scratch = Scratch::create(&ctx, &Location::Local(dir.path().to_path_buf())).await.unwrap();
        let plan = ctx.sql(view).await.unwrap().into_unoptimized_plan();
        let kept = scratch.keep(&ctx, "v", plan.clone()).await.unwrap();
        let empty = ctx.sql(&format!("{view} WHERE n > 3")).await.unwrap().into_unoptimized_plan();
        let none = scratch.keep(&ctx, "none", empty).await.unwrap();
        ctx.register_table("kept", kept).unwrap();
        ctx.register_table("none", none).unwrap();
        let ordered = |table: &str| {
            format!(
                "SELECT n, s, at, x, arrow_typeof(s) AS s_type, arrow_typeof(at) AS at_type FROM {table} ORDER BY n"
            )
        };
        assert_eq!(rows(&ctx, &ordered("kept")).await, rows(&ctx, &ordered(&format!("({view})"))).await);
        assert_eq!(rows(&ctx, "SELECT count(*) AS n FROM none").await, rows(&ctx, "SELECT 0 AS n").await);
        let runs = dir.path().join(SCRATCH_DIR);
        assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 1, "one run's directory");
        drop(ctx);
        drop(scratch);
        assert_eq!(std::fs::read_dir(&runs).unwrap().flatten().count(), 0, "the run's files are removed with it");
    }

    #[tokio::test]
    async fn a_new_run_removes_the_runs_left_more_than_a_day_ago() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join(SCRATCH_DIR);
        let old = chrono::Utc::now() - chrono::Duration::hours(25);
        let recent = chrono::Utc::now() - chrono::Duration::hours(1);
        for (t, pid) in [(old, 7), (recent, 8)] {
            let run = runs.join(format!("{}-{pid}-0", t.format("%Y%m%dT%H%M%S%.6fZ"))).join("0-v");
            std::fs::create_dir_all(&run).unwrap();
            std::fs::write(run.join("part-0.parquet"), b"x").unwrap();
        }
        std::fs::create_dir_all(runs.join("not-a-run")).unwrap();
        std::fs::write(runs.join("not-a-run").join("f"), b"x").unwrap();
        let ctx = SessionContext::new();
        let scratch = Scratch::create(&ctx, &Location::Local(dir.path().to_path_buf())).await.unwrap();
        let left = || -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&runs)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let recent = format!("{}-8-0", recent.format("%Y%m%dT%H%M%S%.6fZ"));
        let now = left().into_iter().find(|n| n.contains(&format!("-{}-", std::process::id())));
        let mut want = vec!["not-a-run".to_string(), recent.clone(), now.clone().expect("the new run's directory")];
        want.sort();
        assert_eq!(left(), want, "only the old run is removed");
        drop(scratch);
        let mut want = vec!["not-a-run".to_string(), recent];
        want.sort();
        assert_eq!(left(), want, "the new run's directory goes with it");
    }
}
