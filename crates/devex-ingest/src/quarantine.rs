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
}

impl QuarantineRow {
    /// A stable identity, so re-importing the same bad file replaces its
    /// quarantine rows instead of piling up copies.
    pub fn id(&self) -> String {
        let mut h = Fnv64::default();
        for part in [
            self.table.as_str(),
            self.file.as_str(),
            &self.line.map(|l| l.to_string()).unwrap_or_default(),
            self.column.as_deref().unwrap_or(""),
            &self.reason,
            &self.record,
        ] {
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
