//! `devex import`: files -> validated rows -> one commit per table.
//!
//! Files are read, validated and written as data files in chunks; nothing
//! is visible until the end, so an unreadable file or a missing required
//! column changes nothing in the lake. Then the quarantine, the table itself
//! and (for surveys) the answers are committed, and the counts reconcile:
//! `read = written + replaced + quarantined`.

use devex_model::Table;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::bridge::to_record_batch;
use crate::context::RunContext;
use crate::error::IngestError;
use crate::input::{InputSource, RawFrame, Reader};
use crate::progress::{self, Event, Level, Progress};
use crate::quarantine::{self, QuarantineRow};
use crate::survey::answers_from_responses;
use crate::validate::validate;
use devex_lake::lock::WriterLock;
use devex_lake::writer::{CommitInfo, Lake, Staging, Upserted};

/// What an import does.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The target table.
    pub table: Table,
    /// The files (or stdin), in order: a later row wins over an earlier one with the same identity.
    pub inputs: Vec<InputSource>,
    /// Run id, source, time zone, clock.
    pub run: RunContext,
}

/// The outcome for one table; the JSON object `--format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReport {
    /// The table.
    pub table: String,
    /// Rows read from the input.
    pub read: usize,
    /// Rows with an identity new to the lake.
    pub written: usize,
    /// Rows that replaced an existing row, or an earlier row of the same input, with the same identity.
    pub replaced: usize,
    /// Rows sent to the quarantine.
    pub quarantined: usize,
    /// The table's Delta version after the commit (`null` if the table does not exist).
    pub version: Option<u64>,
}

/// Everything an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    /// One report per table written.
    pub tables: Vec<TableReport>,
    /// Non-fatal notes (ignored columns).
    pub warnings: Vec<String>,
    /// The first rejected rows (at most [`QUARANTINE_KEPT`]), as stored in the quarantine.
    pub quarantined: Vec<QuarantineRow>,
    /// Every rejected row: `quarantined` and those not kept in memory.
    pub quarantined_count: usize,
}

/// Rejected rows an [`ImportOutcome`] keeps to show; the rest are only in the quarantine table.
pub const QUARANTINE_KEPT: usize = 1000;

impl ImportOutcome {
    /// True if some row went to the quarantine.
    pub fn any_quarantined(&self) -> bool {
        self.quarantined_count > 0
    }

    /// Add another import's outcome to this one.
    pub fn extend(&mut self, other: ImportOutcome) {
        self.tables.extend(other.tables);
        self.warnings.extend(other.warnings);
        let room = QUARANTINE_KEPT.saturating_sub(self.quarantined.len());
        self.quarantined.extend(other.quarantined.into_iter().take(room));
        self.quarantined_count += other.quarantined_count;
    }
}

/// Run an import under the writer lock.
///
/// Inputs are read, validated and written a chunk at a time (a reader thread
/// parses the next chunk while this one is validated and written), so memory
/// stays within the lake's `import_memory_mb` whatever the input's size. The
/// rows become visible in one commit per table at the end; an input that
/// fails to read deletes what was written and commits nothing.
pub async fn import(lake: &Lake, lock: &WriterLock, req: &ImportRequest) -> Result<ImportOutcome, IngestError> {
    import_with_progress(lake, lock, req, &progress::silent()).await
}

/// [`import`], telling `progress` how far each input has got (a
/// [`Level::Detail`] event per chunk).
pub async fn import_with_progress(
    lake: &Lake,
    lock: &WriterLock,
    req: &ImportRequest,
    progress: &Progress,
) -> Result<ImportOutcome, IngestError> {
    let table = req.table;
    let mut main = lake.begin(lock, table).await?;
    let mut answers = match table {
        Table::SurveyResponses => match lake.begin(lock, Table::SurveyAnswers).await {
            Ok(s) => Some(s),
            Err(e) => return Err(abort([Some(main)], e).await),
        },
        _ => None,
    };
    let mut outcome = ImportOutcome::default();
    let mut rejected = Rejected::default();
    let staged =
        stage_inputs(lake, lock, req, &mut main, answers.as_mut(), &mut rejected, &mut outcome, progress).await;
    let read = match staged {
        Ok(read) => read,
        Err(e) => return Err(abort([Some(main), answers, rejected.staging], e).await),
    };

    let info = CommitInfo {
        run_id: req.run.run_id.clone(),
        command: format!("import {table}"),
        source: req.run.source.clone(),
    };
    // The quarantine first: a rejected row is never lost, whatever happens next.
    if let Some(q) = rejected.staging
        && let Err(e) = q.commit(&info).await
    {
        return Err(abort([Some(main), answers], e).await);
    }
    let count = |t: Table| rejected.per_table.get(t.name()).copied().unwrap_or(0);
    let (quarantined, answers_quarantined) = (count(table), count(Table::SurveyAnswers));
    let report = match main.commit(&info).await {
        Ok(up) => table_report(table, read.rows, quarantined, up),
        Err(e) => return Err(abort([answers], e).await),
    };
    outcome.tables.push(report);
    if let Some(a) = answers {
        let up = a.commit(&info).await?;
        outcome.tables.push(table_report(Table::SurveyAnswers, read.answers, answers_quarantined, up));
    }
    Ok(outcome)
}

/// Give up the stagings not yet committed (deleting what they wrote), and pass `e` on.
async fn abort<const N: usize>(stagings: [Option<Staging>; N], e: impl Into<IngestError>) -> IngestError {
    for s in stagings.into_iter().flatten() {
        s.abort().await;
    }
    e.into()
}

/// Rejected rows, staged for the quarantine table as they are found.
#[derive(Default)]
struct Rejected {
    staging: Option<Staging>,
    per_table: std::collections::HashMap<String, usize>,
}

impl Rejected {
    async fn add(
        &mut self,
        lake: &Lake,
        lock: &WriterLock,
        run: &RunContext,
        rows: Vec<QuarantineRow>,
        outcome: &mut ImportOutcome,
    ) -> Result<(), IngestError> {
        if rows.is_empty() {
            return Ok(());
        }
        for r in &rows {
            *self.per_table.entry(r.table.clone()).or_default() += 1;
        }
        outcome.quarantined_count += rows.len();
        let batch = quarantine::to_batch(&rows, &run.run_id, run.now_micros)?;
        let room = QUARANTINE_KEPT.saturating_sub(outcome.quarantined.len());
        outcome.quarantined.extend(rows.into_iter().take(room));
        let staging = match &mut self.staging {
            Some(s) => s,
            None => self.staging.insert(lake.begin(lock, Table::Quarantine).await?),
        };
        // The same bad record twice is one quarantine row: the staging keeps the last.
        Ok(staging.push(batch).await?)
    }
}

/// Records read by an import.
struct Read {
    rows: usize,
    answers: usize,
}

/// Read, validate and stage every input, chunk by chunk.
#[allow(clippy::too_many_arguments)]
async fn stage_inputs(
    lake: &Lake,
    lock: &WriterLock,
    req: &ImportRequest,
    main: &mut Staging,
    mut answers: Option<&mut Staging>,
    rejected: &mut Rejected,
    outcome: &mut ImportOutcome,
    progress: &Progress,
) -> Result<Read, IngestError> {
    let table = req.table;
    let mut read = Read { rows: 0, answers: 0 };
    for input in &req.inputs {
        let mut chunks = read_ahead(input.clone(), lake.import_chunk_bytes());
        let mut ignored: Vec<String> = Vec::new();
        let mut file = input.display_name();
        let mut records = 0;
        // A column the first chunk lacks is a missing column (the file is
        // refused); later chunks carry every column seen before.
        while let Some(raw) = chunks.recv().await {
            let raw = raw?;
            file.clone_from(&raw.file);
            let v = validate(table, &raw, &req.run)?;
            drop(raw);
            if records == 0
                && let InputSource::Path(p) = input
                && let Ok(m) = std::fs::metadata(p)
            {
                // The first chunk's records per byte, over the whole file.
                let chunk = lake.import_chunk_bytes() as u64;
                if m.len() > chunk {
                    main.reserve((v.read as u64).saturating_mul(m.len() / chunk) as usize);
                }
            }
            read.rows += v.read;
            records += v.read;
            progress(&Event::new(Level::Detail, format!("{file}: {records} records read")));
            if let Some(answers) = answers.as_deref_mut() {
                let a = answers_from_responses(&v, &req.run)?;
                read.answers += a.read();
                rejected.add(lake, lock, &req.run, a.quarantined, outcome).await?;
                answers.push(to_record_batch(Table::SurveyAnswers, &a.df)?).await?;
            } else {
                for name in v.extras.get_column_names() {
                    if !ignored.iter().any(|n| n == name.as_str()) {
                        ignored.push(name.to_string());
                    }
                }
            }
            rejected.add(lake, lock, &req.run, v.quarantined, outcome).await?;
            main.push(to_record_batch(table, &v.df)?).await?;
        }
        if !ignored.is_empty() {
            outcome
                .warnings
                .push(format!("{file}: ignored columns not in the `{table}` table: {}", ignored.join(", ")));
        }
    }
    Ok(read)
}

/// Chunks of `input`, read on a thread of their own one chunk ahead of the
/// caller. Dropping the receiver stops the reader.
fn read_ahead(input: InputSource, chunk_bytes: usize) -> mpsc::Receiver<Result<RawFrame, IngestError>> {
    let (tx, rx) = mpsc::channel(1);
    std::thread::spawn(move || {
        let mut reader = match Reader::open(&input) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let chunk = match reader.next_chunk(chunk_bytes) {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    rx
}

fn table_report(table: Table, read: usize, quarantined: usize, up: Upserted) -> TableReport {
    TableReport {
        table: table.name().into(),
        read,
        written: up.inserted,
        replaced: up.within_input + up.matched,
        quarantined,
        version: up.version,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::input::InputFormat;

    fn request(table: Table, ndjson: &str) -> ImportRequest {
        ImportRequest {
            table,
            inputs: vec![InputSource::Memory {
                name: "in.ndjson".into(),
                format: InputFormat::Ndjson,
                bytes: ndjson.as_bytes().to_vec(),
            }],
            run: RunContext::new("r", "file", chrono_tz::UTC),
        }
    }

    /// Every row of a table but its `ingested_at`, sorted.
    async fn rows(lake: &Lake, table: Table) -> Vec<String> {
        let Some(t) = lake.open(table).await.unwrap() else { return Vec::new() };
        let ctx = SessionContext::new();
        t.update_datafusion_session(&ctx.state()).unwrap();
        ctx.register_table("t", t.table_provider().await.unwrap()).unwrap();
        let time = if table == Table::Quarantine { "at" } else { "ingested_at" };
        let batches = ctx.sql(&format!("SELECT * EXCLUDE ({time}) FROM t")).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        let mut lines: Vec<String> = text.lines().filter(|l| l.starts_with("| ")).skip(1).map(String::from).collect();
        lines.sort();
        lines
    }

    const NIGHT: &str = r#"{"id":"d1","service":"api","environment":"production","status":"success","finished_at":"2026-01-05T10:00:00Z"}
{"id":"d2","service":"api","environment":"production","status":"maybe","finished_at":"2026-01-06T10:00:00Z"}

{"id":"d3","service":"web","environment":"production","status":"failure","finished_at":"2026-02-01T10:00:00Z"}
{"id":"d1","service":"api","environment":"production","status":"failure","finished_at":"2026-03-05T10:00:00Z"}
{"id":"d4","service":"web","environment":"staging","status":"success","finished_at":"2026-03-07T10:00:00Z","extra":{"x":1}}
{"id":"d5","service":"web","environment":"production","status":"success","finished_at":"2026-03-08T10:00:00Z"}
"#;

    #[tokio::test]
    async fn chunked_imports_land_exactly_what_whole_ones_do() {
        let dir = tempfile::tempdir().unwrap();
        let whole = Lake::new(dir.path().join("whole"));
        // One record per chunk: every row crosses a chunk boundary.
        let tiny = Lake::new(dir.path().join("tiny")).with_import_chunk_bytes(1);
        let mut reports = Vec::new();
        for lake in [&whole, &tiny] {
            let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
            let out = import(lake, &lock, &request(Table::Deployments, NIGHT)).await.unwrap();
            reports.push(out.tables.clone());
            assert_eq!(out.warnings, vec!["in.ndjson: ignored columns not in the `deployments` table: extra"]);
            assert_eq!(out.quarantined.iter().map(|q| q.line).collect::<Vec<_>>(), vec![Some(2)]);
        }
        assert_eq!(reports[0], reports[1]);
        // 6 records: d1 twice (the later wins), d2 quarantined.
        let t = &reports[1][0];
        assert_eq!((t.read, t.written, t.replaced, t.quarantined), (6, 4, 1, 1));
        for table in [Table::Deployments, Table::Quarantine] {
            assert_eq!(rows(&whole, table).await.len(), rows(&tiny, table).await.len());
        }
        let landed = rows(&tiny, Table::Deployments).await;
        assert_eq!(landed, rows(&whole, Table::Deployments).await);
        assert_eq!(landed.len(), 4, "{landed:#?}");
        assert!(
            landed.iter().any(|r| r.contains("d1") && r.contains("failure") && r.contains("2026-03")),
            "{landed:#?}"
        );
        let unreferenced = devex_lake::snapshot::unreferenced_files(&tiny.table_dir(Table::Deployments).unwrap());
        assert!(unreferenced.is_empty(), "files no commit references: {unreferenced:?}");

        // A re-import in tiny chunks: known identities are merged, nothing is duplicated.
        let again = "{\"id\":\"d3\",\"service\":\"web\",\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-02-01T10:00:00Z\"}\n\
                     {\"id\":\"d6\",\"service\":\"web\",\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-04-01T10:00:00Z\"}\n\
                     {\"id\":\"d6\",\"service\":\"api\",\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-04-02T10:00:00Z\"}\n";
        let lock = WriterLock::acquire(tiny.location(), Duration::ZERO, |_| {}).unwrap();
        let t = import(&tiny, &lock, &request(Table::Deployments, again)).await.unwrap().tables.remove(0);
        assert_eq!((t.read, t.written, t.replaced, t.quarantined), (3, 1, 2, 0));
        let landed = rows(&tiny, Table::Deployments).await;
        assert_eq!(landed.len(), 5, "{landed:#?}");
        assert!(landed.iter().any(|r| r.contains("d3") && r.contains("success")), "{landed:#?}");
        assert!(landed.iter().any(|r| r.contains("d6") && r.contains("api")), "{landed:#?}");
        let unreferenced = devex_lake::snapshot::unreferenced_files(&tiny.table_dir(Table::Deployments).unwrap());
        assert!(unreferenced.is_empty(), "files no commit references: {unreferenced:?}");
    }

    #[tokio::test]
    async fn csv_and_json_arrays_in_tiny_chunks_land_what_ndjson_does() {
        let dir = tempfile::tempdir().unwrap();
        let records: Vec<serde_json::Value> =
            NIGHT.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
        let columns = ["id", "service", "environment", "status", "finished_at"];
        let mut csv = format!("{}\n", columns.join(","));
        for r in &records {
            let cells: Vec<String> = columns.iter().map(|c| format!("\"{}\"", r[c].as_str().unwrap())).collect();
            csv.push_str(&format!("{}\n\n", cells.join(",")));
        }
        let array = serde_json::to_string_pretty(&records).unwrap();
        let whole = Lake::new(dir.path().join("whole"));
        let lock = WriterLock::acquire(whole.location(), Duration::ZERO, |_| {}).unwrap();
        let expected = import(&whole, &lock, &request(Table::Deployments, NIGHT)).await.unwrap();
        for (name, format, text) in [("csv", InputFormat::Csv, csv), ("json", InputFormat::Json, array)] {
            let lake = Lake::new(dir.path().join(name)).with_import_chunk_bytes(1);
            let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
            let mut req = request(Table::Deployments, "");
            req.inputs = vec![InputSource::Memory { name: format!("in.{name}"), format, bytes: text.into_bytes() }];
            let out = import(&lake, &lock, &req).await.unwrap();
            assert_eq!(out.tables, expected.tables, "{name}");
            assert_eq!(rows(&lake, Table::Deployments).await, rows(&whole, Table::Deployments).await, "{name}");
            // The rejected row (d2, the second record) is pointed at exactly: in the
            // CSV, header 1, d1 2, blank 3, d2 4; in the pretty array, `[` 1, d1's
            // seven lines 2-8, d2 from 9.
            assert_eq!(out.quarantined[0].line, Some(if name == "csv" { 4 } else { 9 }), "{name}");
        }
    }

    #[tokio::test]
    async fn rejected_rows_go_to_the_quarantine_as_they_are_found_and_only_the_first_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path()).with_import_chunk_bytes(4096);
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        let n = QUARANTINE_KEPT + 500;
        let bad: String = (0..n).map(|i| format!("{{\"id\":\"d{i}\",\"service\":\"api\",\"environment\":\"production\",\"status\":\"maybe\",\"finished_at\":\"2026-01-05\"}}\n")).collect();
        let out = import(&lake, &lock, &request(Table::Deployments, &bad)).await.unwrap();
        assert_eq!((out.quarantined.len(), out.quarantined_count), (QUARANTINE_KEPT, n));
        assert_eq!(out.quarantined.last().unwrap().line, Some(QUARANTINE_KEPT as u64));
        assert_eq!(rows(&lake, Table::Quarantine).await.len(), n);
        assert_eq!(out.tables[0].quarantined, n);
        // Nothing landed, so the table was never created.
        assert!(!lake.table_dir(Table::Deployments).unwrap().exists());
    }

    #[tokio::test]
    async fn a_file_that_breaks_late_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path()).with_import_chunk_bytes(1);
        let lock = WriterLock::acquire(lake.location(), Duration::ZERO, |_| {}).unwrap();
        let broken = format!("{}{{\"id\": \"d9\",\n", NIGHT);
        let e = import(&lake, &lock, &request(Table::Deployments, &broken)).await.unwrap_err();
        assert!(e.to_string().contains("line 8"), "{e}");
        assert_eq!(lake.version(Table::Deployments).await.unwrap(), None);
        assert_eq!(lake.version(Table::Quarantine).await.unwrap(), None);
        assert!(!lake.table_dir(Table::Deployments).unwrap().exists());
    }
}
