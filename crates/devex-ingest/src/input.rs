//! Reading export files (CSV, NDJSON, JSON arrays; a path or stdin) into a
//! polars frame of string columns, remembering the line each record starts
//! on so a rejected row can be pointed at exactly.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;

use crate::error::IngestError;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// One JSON array of objects.
    Json,
}

impl InputFormat {
    /// The format named by a file's extension.
    pub fn from_path(path: &Path) -> Option<InputFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(InputFormat::Csv),
            "ndjson" | "jsonl" => Some(InputFormat::Ndjson),
            "json" => Some(InputFormat::Json),
            _ => None,
        }
    }

    /// Parse `csv`, `ndjson`, `jsonl` or `json`.
    pub fn parse(name: &str) -> Option<InputFormat> {
        InputFormat::from_path(Path::new(&format!("x.{name}")))
    }
}

/// Where the bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// A file on disk.
    Path(PathBuf),
    /// Standard input, in the given format.
    Stdin(InputFormat),
    /// Records a source produced in memory (e.g. from an API), named for messages
    /// and the quarantine (`github:acme/api`).
    Memory {
        /// The name quarantine rows and messages use.
        name: String,
        /// The bytes' format.
        format: InputFormat,
        /// The records.
        bytes: Vec<u8>,
    },
}

impl InputSource {
    /// The name quarantine rows and messages use for this input.
    pub fn display_name(&self) -> String {
        match self {
            InputSource::Path(p) => p.display().to_string(),
            InputSource::Stdin(_) => "<stdin>".into(),
            InputSource::Memory { name, .. } => name.clone(),
        }
    }
}

/// One input file, read: every column as strings (null where empty or absent).
#[derive(Debug)]
pub struct RawFrame {
    /// The file's display name.
    pub file: String,
    /// The records; columns in file order, all `String`.
    pub df: DataFrame,
    /// 1-based line on which each record starts.
    pub lines: Vec<u64>,
    /// (record, column) of JSON values that were objects or arrays: kept as
    /// their JSON text in `df` so the quarantine can show them, but never
    /// valid where the contract wants a string or a number.
    pub nested: Vec<(usize, String)>,
}

/// Read one input fully.
pub fn read(input: &InputSource) -> Result<RawFrame, IngestError> {
    let file = input.display_name();
    let (bytes, format) = match input {
        InputSource::Path(p) => {
            let format = InputFormat::from_path(p).ok_or_else(|| IngestError::UnknownFormat { file: file.clone() })?;
            let bytes = std::fs::read(p).map_err(|e| IngestError::Io { file: file.clone(), source: e })?;
            (bytes, format)
        }
        InputSource::Stdin(format) => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| IngestError::Io { file: file.clone(), source: e })?;
            (bytes, *format)
        }
        InputSource::Memory { format, bytes, .. } => (bytes.clone(), *format),
    };
    // Strip a UTF-8 byte-order mark (spreadsheet exports write one).
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").map(<[u8]>::to_vec).unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(&bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(IngestError::Unreadable {
            file,
            reason: format!("not valid UTF-8 at line {line} (re-export the file as UTF-8)"),
        });
    }
    match format {
        InputFormat::Csv => read_csv(file, bytes),
        InputFormat::Ndjson => read_ndjson(file, &bytes),
        InputFormat::Json => read_json_array(file, &bytes),
    }
}

fn read_csv(file: String, bytes: Vec<u8>) -> Result<RawFrame, IngestError> {
    let lines = csv_record_lines(&bytes);
    // Every column as a string: types are the contract's business, checked per
    // value so that one bad cell quarantines one row, not the file.
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| IngestError::Unreadable { file: file.clone(), reason: e.to_string() })?;
    if df.height() != lines.len() {
        return Err(IngestError::Unreadable {
            file,
            reason: format!("found {} records but {} data lines (unbalanced quotes?)", df.height(), lines.len()),
        });
    }
    let df = trim_to_null(df).map_err(|e| IngestError::Unreadable { file: file.clone(), reason: e.to_string() })?;
    Ok(RawFrame { file, df, lines, nested: Vec::new() })
}

/// The line each CSV data record starts on, honouring quoted newlines and
/// skipping blank lines (as the CSV reader does).
fn csv_record_lines(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut line: u64 = 1;
    let mut in_quotes = false;
    let mut at_record_start = true;
    let mut header_done = false;
    let mut record_has_content = false;
    let mut record_line = 1;
    for &b in bytes {
        if at_record_start {
            record_line = line;
            at_record_start = false;
            record_has_content = false;
        }
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                record_has_content = true;
            }
            b'\n' => {
                if !in_quotes {
                    if record_has_content {
                        if header_done {
                            out.push(record_line);
                        }
                        header_done = true;
                    }
                    at_record_start = true;
                }
                line += 1;
            }
            b'\r' => {}
            _ => record_has_content = true,
        }
    }
    if !at_record_start && record_has_content && header_done {
        out.push(record_line);
    }
    out
}

fn trim_to_null(df: DataFrame) -> PolarsResult<DataFrame> {
    let height = df.height();
    let cols = df
        .columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series().str()?;
            let v: StringChunked = s.iter().map(|v| v.map(str::trim).filter(|v| !v.is_empty())).collect();
            Ok(v.with_name(c.name().clone()).into_column())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, cols)
}

fn read_ndjson(file: String, bytes: &[u8]) -> Result<RawFrame, IngestError> {
    let text = std::str::from_utf8(bytes).expect("checked above");
    let mut columns = Columns::default();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line = i as u64 + 1;
        let value: Value = serde_json::from_str(l).map_err(|e| IngestError::Unreadable {
            file: file.clone(),
            reason: format!("line {line}: not a JSON object: {e}"),
        })?;
        columns.push(&file, line, value)?;
    }
    columns.finish(file)
}

fn read_json_array(file: String, bytes: &[u8]) -> Result<RawFrame, IngestError> {
    let text = std::str::from_utf8(bytes).expect("checked above");
    let values: Vec<Value> = serde_json::from_str(text).map_err(|e| IngestError::Unreadable {
        file: file.clone(),
        reason: format!("not a JSON array of objects: {e}"),
    })?;
    let starts = json_array_element_lines(text);
    let mut columns = Columns::default();
    for (i, v) in values.into_iter().enumerate() {
        columns.push(&file, starts.get(i).copied().unwrap_or(0), v)?;
    }
    columns.finish(file)
}

/// Line on which each top-level element of a JSON array starts.
fn json_array_element_lines(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let (mut depth, mut line, mut in_str, mut escaped, mut expect) = (0i32, 1u64, false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if expect && !c.is_whitespace() && c != ']' {
            out.push(line);
            expect = false;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 && c == '[' {
                    expect = true;
                }
            }
            ']' | '}' => depth -= 1,
            ',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    out
}

/// Build a string frame from JSON objects: numbers and booleans keep their
/// text, nested values their JSON (and are listed in `nested`), `null` and
/// `""` become null.
/// JSON records turned into string columns as they are read, so only one
/// record is ever held as a `serde_json::Value`. Columns are in the order
/// their key first appears; a record without a key is null there.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
    index: HashMap<String, usize>,
    builders: Vec<StringChunkedBuilder>,
    /// Values pushed per column (a column that first appears late is back-filled with nulls).
    filled: Vec<usize>,
    lines: Vec<u64>,
    /// (record, column index) of objects and arrays.
    nested: Vec<(usize, usize)>,
}

impl Columns {
    fn push(&mut self, file: &str, line: u64, value: Value) -> Result<(), IngestError> {
        let Value::Object(map) = value else {
            return Err(IngestError::Unreadable {
                file: file.to_string(),
                reason: format!("line {line}: expected a JSON object, found {value}"),
            });
        };
        let row = self.lines.len();
        self.lines.push(line);
        for (key, v) in map {
            let c = match self.index.get(&key) {
                Some(&c) => c,
                None => {
                    let mut b = StringChunkedBuilder::new(key.as_str().into(), row + 1);
                    (0..row).for_each(|_| b.append_null());
                    self.builders.push(b);
                    self.filled.push(row);
                    self.names.push(key.clone());
                    self.index.insert(key, self.names.len() - 1);
                    self.names.len() - 1
                }
            };
            let b = &mut self.builders[c];
            match v {
                Value::Null => b.append_null(),
                Value::String(s) => match s.trim() {
                    "" => b.append_null(),
                    t => b.append_value(t),
                },
                other => {
                    if matches!(other, Value::Object(_) | Value::Array(_)) {
                        self.nested.push((row, c));
                    }
                    b.append_value(other.to_string());
                }
            }
            self.filled[c] += 1;
        }
        for (b, filled) in self.builders.iter_mut().zip(&mut self.filled) {
            if *filled == row {
                b.append_null();
                *filled += 1;
            }
        }
        Ok(())
    }

    fn finish(mut self, file: String) -> Result<RawFrame, IngestError> {
        let height = self.lines.len();
        self.nested.sort_unstable();
        let nested = self.nested.into_iter().map(|(row, c)| (row, self.names[c].clone())).collect();
        let cols = self.builders.into_iter().map(|b| b.finish().into_column()).collect();
        let df = DataFrame::new(height, cols)
            .map_err(|e| IngestError::Unreadable { file: file.clone(), reason: e.to_string() })?;
        Ok(RawFrame { file, df, lines: self.lines, nested })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_follow_quoted_newlines_and_blank_lines() {
        let csv = b"a,b\n1,2\n\n\"x\ny\",3\n4,5";
        assert_eq!(csv_record_lines(csv), vec![2, 4, 6]);
    }

    #[test]
    fn json_array_lines() {
        let text = "[\n  {\"a\": \"[,]\"},\n  {\"a\": 2,\n   \"b\": {\"c\": [1,2]}},\n{\"a\":3}]";
        assert_eq!(json_array_element_lines(text), vec![2, 3, 5]);
    }
}
