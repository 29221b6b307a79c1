//! `devex import`: files -> validated rows -> one MERGE commit per table.
//!
//! Every file is read and validated before anything is written, so an
//! unreadable file or a missing required column changes nothing in the lake.
//! Then the quarantine, the table itself and (for surveys) the answers are
//! committed, and the counts reconcile:
//! `read = written + replaced + quarantined`.

use devex_model::Table;
use polars::prelude::{DataFrame, UniqueKeepStrategy};
use serde::{Deserialize, Serialize};

use crate::bridge::to_record_batch;
use crate::error::IngestError;
use crate::input::{InputSource, read};
use crate::lake::{CommitInfo, Lake};
use crate::lock::WriterLock;
use crate::quarantine::{self, QuarantineRow};
use crate::survey::answers_from_responses;
use crate::validate::{RunContext, validate};

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
    /// The rejected rows, as stored in the quarantine.
    pub quarantined: Vec<QuarantineRow>,
}

impl ImportOutcome {
    /// True if some row went to the quarantine.
    pub fn any_quarantined(&self) -> bool {
        !self.quarantined.is_empty()
    }
}

/// Run an import under the writer lock.
pub async fn import(lake: &Lake, lock: &WriterLock, req: &ImportRequest) -> Result<ImportOutcome, IngestError> {
    let table = req.table;
    let mut outcome = ImportOutcome::default();
    let mut frames = Vec::new();
    let mut answer_frames = Vec::new();
    let mut read_rows = 0;
    let mut read_answers = 0;
    for input in &req.inputs {
        let raw = read(input)?;
        let v = validate(table, &raw, &req.run)?;
        read_rows += v.read;
        if table == Table::SurveyResponses {
            let answers = answers_from_responses(&v, &req.run)?;
            read_answers += answers.read();
            outcome.quarantined.extend(answers.quarantined);
            answer_frames.push(answers.df);
        } else if v.extras.width() > 0 {
            let names: Vec<String> = v.extras.get_column_names().iter().map(|n| n.to_string()).collect();
            outcome.warnings.push(format!(
                "{}: ignored columns not in the `{table}` table: {}",
                raw.file,
                names.join(", ")
            ));
        }
        outcome.quarantined.extend(v.quarantined);
        frames.push(v.df);
    }

    let info = CommitInfo {
        run_id: req.run.run_id.clone(),
        command: format!("import {table}"),
        source: req.run.source.clone(),
    };
    if !outcome.quarantined.is_empty() {
        // One row per identity: the same bad record twice in one import is one quarantine row.
        let unique = quarantine::unique(&outcome.quarantined);
        let batch = quarantine::to_batch(&unique, &req.run.run_id, req.run.now_micros)?;
        lake.upsert(lock, Table::Quarantine, batch, &info).await?;
    }
    let rejected = |t: Table| outcome.quarantined.iter().filter(|q| q.table == t.name()).count();
    let (quarantined, answers_quarantined) = (rejected(table), rejected(Table::SurveyAnswers));
    outcome.tables.push(upsert_frames(lake, lock, table, frames, read_rows, quarantined, &info).await?);
    if table == Table::SurveyResponses {
        outcome.tables.push(
            upsert_frames(lake, lock, Table::SurveyAnswers, answer_frames, read_answers, answers_quarantined, &info)
                .await?,
        );
    }
    Ok(outcome)
}

async fn upsert_frames(
    lake: &Lake,
    lock: &WriterLock,
    table: Table,
    frames: Vec<DataFrame>,
    read: usize,
    quarantined: usize,
    info: &CommitInfo,
) -> Result<TableReport, IngestError> {
    let polars_err = |e| IngestError::internal("combining inputs", e);
    let mut frames = frames.into_iter();
    let mut all = match frames.next() {
        Some(first) => first,
        None => DataFrame::empty(),
    };
    for f in frames {
        all.vstack_mut_owned(f).map_err(polars_err)?;
    }
    let valid = all.height();
    let mut report =
        TableReport { table: table.name().into(), read, written: 0, replaced: 0, quarantined, version: None };
    if valid == 0 {
        report.version = lake.version(table).await?;
        return Ok(report);
    }
    let keys: Vec<String> = table.key().iter().map(|k| k.to_string()).collect();
    // The last row of the input wins over an earlier one with the same identity.
    let unique = all.unique_stable(Some(&keys), UniqueKeepStrategy::Last, None).map_err(polars_err)?;
    // Hold one copy of the rows at a time: the input, then the unique rows, then the Arrow batch.
    drop(all);
    let within_input = valid - unique.height();
    let batch = to_record_batch(table, &unique)?;
    drop(unique);
    let up = lake.upsert(lock, table, batch, info).await?;
    report.written = up.inserted;
    report.replaced = within_input + up.matched;
    report.version = Some(up.version);
    Ok(report)
}
