//! Rejected rows. A row that breaks the contract is never dropped: it lands in
//! the `quarantine` table with the file, line, column, value and reason, so
//! `devex sql "SELECT * FROM quarantine"` explains every rejection.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use devex_model::Table;

use crate::error::IngestError;

/// One rejected input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRow {
    /// The table the row was meant for.
    pub table: String,
    /// The input file (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line the record starts on.
    pub line: Option<u64>,
    /// The first offending column.
    pub column: Option<String>,
    /// The offending value, if there was one.
    pub value: Option<String>,
    /// Every problem of the row, `column: reason; ...`.
    pub reason: String,
    /// The raw record as JSON.
    pub record: String,
    /// The row's `source` (its file's `source` column, else the run's): part of
    /// its identity, not stored.
    pub source: String,
}

impl QuarantineRow {
    /// A stable identity: the table, the source and the record itself. The same
    /// bad row imported twice (the same file twice, under another path, or in a
    /// nightly run that overlaps the last) is one quarantine row, replaced by
    /// its latest sighting, not a pile of copies.
    pub fn id(&self) -> String {
        let mut h = Fnv64::default();
        for part in [self.table.as_str(), self.source.as_str(), &self.record] {
            h.write(part.as_bytes());
            h.write(&[0xff]);
        }
        format!("{:016x}", h.0)
    }
}

/// FNV-1a: a hash that is stable across Rust versions and platforms.
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The quarantine table's batch for these rows.
pub fn to_batch(rows: &[QuarantineRow], run_id: &str, at_micros: i64) -> Result<RecordBatch, IngestError> {
    let s = |f: &dyn Fn(&QuarantineRow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        s(&|r| Some(r.id())),
        s(&|r| Some(r.table.clone())),
        s(&|r| Some(r.file.clone())),
        Arc::new(rows.iter().map(|r| r.line.map(|l| l as i64)).collect::<Int64Array>()),
        s(&|r| r.column.clone()),
        s(&|r| r.value.clone()),
        s(&|r| Some(r.reason.clone())),
        s(&|r| Some(r.record.clone())),
        s(&|_| Some(run_id.to_string())),
        Arc::new(TimestampMicrosecondArray::from(vec![at_micros; rows.len()]).with_timezone("UTC")),
    ];
    RecordBatch::try_new(Table::Quarantine.schema(), columns)
        .map_err(|e| IngestError::internal("building quarantine rows", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, line: u64, source: &str, record: &str) -> QuarantineRow {
        QuarantineRow {
            table: "deployments".into(),
            file: file.into(),
            line: Some(line),
            column: Some("status".into()),
            value: Some("maybe".into()),
            reason: "status: `maybe` is not one of success, failure".into(),
            record: record.into(),
            source: source.into(),
        }
    }

    #[test]
    fn identity_is_table_source_and_record_not_path_or_line() {
        let a = row("bad.csv", 2, "file", r#"{"id":"d1"}"#);
        assert_eq!(a.id(), row("./bad.csv", 7, "file", r#"{"id":"d1"}"#).id());
        assert_ne!(a.id(), row("bad.csv", 2, "cd", r#"{"id":"d1"}"#).id());
        assert_ne!(a.id(), row("bad.csv", 2, "file", r#"{"id":"d2"}"#).id());
    }
}
