//! Reading export files (CSV, NDJSON, JSON arrays; a path or stdin) into
//! polars frames of string columns, a chunk of whole records at a time, so a
//! file of any size is read in bounded memory. Each record remembers the line
//! it starts on, so a rejected row can be pointed at exactly.

use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::error::IngestError;

mod json;

use json::{ArrayScanner, Columns};

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

/// Read one input fully, as one frame.
pub fn read(input: &InputSource) -> Result<RawFrame, IngestError> {
    let mut reader = Reader::open(input)?;
    Ok(reader.next_chunk(usize::MAX)?.expect("the first chunk is always returned"))
}

/// An input read in chunks of whole records, so a file of any size is
/// validated and written in bounded memory. Line numbers count from the
/// start of the file in every chunk.
pub struct Reader {
    file: String,
    format: InputFormat,
    src: Box<dyn BufRead + Send>,
    /// Lines read so far.
    line: u64,
    /// The current line, with its newline.
    buf: Vec<u8>,
    returned_one: bool,
    done: bool,
    json: Columns,
    array: ArrayScanner,
    csv: CsvChunker,
}

impl Reader {
    /// Open an input (a file is opened now, so a missing one fails here).
    pub fn open(input: &InputSource) -> Result<Reader, IngestError> {
        let file = input.display_name();
        let (src, format): (Box<dyn BufRead + Send>, InputFormat) = match input {
            InputSource::Path(p) => {
                let format =
                    InputFormat::from_path(p).ok_or_else(|| IngestError::UnknownFormat { file: file.clone() })?;
                let f = std::fs::File::open(p).map_err(|e| IngestError::Io { file: file.clone(), source: e })?;
                (Box::new(BufReader::with_capacity(1 << 20, f)), format)
            }
            InputSource::Stdin(format) => (Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())), *format),
            InputSource::Memory { format, bytes, .. } => (Box::new(Cursor::new(bytes.clone())), *format),
        };
        Ok(Reader {
            file,
            format,
            src,
            line: 0,
            buf: Vec::new(),
            returned_one: false,
            done: false,
            json: Columns::default(),
            array: ArrayScanner::default(),
            csv: CsvChunker::default(),
        })
    }

    /// The input's display name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The next records: whole records from about `max_bytes` of input. The
    /// first call always returns a frame (perhaps with no rows, so an empty
    /// file's columns are still checked); `None` once the input is used up.
    pub fn next_chunk(&mut self, max_bytes: usize) -> Result<Option<RawFrame>, IngestError> {
        if self.done && self.returned_one {
            return Ok(None);
        }
        let frame = match self.format {
            InputFormat::Csv => self.csv_chunk(max_bytes)?,
            InputFormat::Ndjson | InputFormat::Json => self.json_chunk(max_bytes)?,
        };
        if self.returned_one && frame.df.height() == 0 {
            return Ok(None);
        }
        self.returned_one = true;
        Ok(Some(frame))
    }

    /// Read the next line into `buf`; false at the end of the input.
    fn next_line(&mut self) -> Result<bool, IngestError> {
        self.buf.clear();
        let n = self
            .src
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| IngestError::Io { file: self.file.clone(), source: e })?;
        if n == 0 {
            self.done = true;
            return Ok(false);
        }
        self.line += 1;
        // Strip a UTF-8 byte-order mark (spreadsheet exports write one).
        if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.buf.drain(..3);
        }
        if std::str::from_utf8(&self.buf).is_err() {
            return Err(IngestError::Unreadable {
                file: self.file.clone(),
                reason: format!("not valid UTF-8 at line {} (re-export the file as UTF-8)", self.line),
            });
        }
        Ok(true)
    }

    fn json_chunk(&mut self, max_bytes: usize) -> Result<RawFrame, IngestError> {
        let mut bytes = 0;
        while (bytes < max_bytes || self.json.len() == 0) && self.next_line()? {
            bytes += self.buf.len();
            let Reader { file, format, buf, line, json, array, .. } = self;
            if *format == InputFormat::Ndjson {
                let text = buf.trim_ascii();
                if !text.is_empty() {
                    json.push_json(file, *line, text)?;
                }
            } else {
                array.feed(*line, buf, &mut |start, element| json.push_json(file, start, element), file)?;
            }
        }
        if self.done && self.format == InputFormat::Json {
            self.array.finish(&self.file)?;
        }
        self.json.take(&self.file)
    }

    fn csv_chunk(&mut self, max_bytes: usize) -> Result<RawFrame, IngestError> {
        while !(self.csv.data.len() >= max_bytes && self.csv.at_record_boundary()) && self.next_line()? {
            self.csv.feed(self.line, &self.buf);
        }
        if self.done {
            self.csv.end();
        }
        self.csv.take(&self.file)
    }
}

/// CSV lines gathered into chunks of whole records, each parsed with the
/// header in front. Tracks the line each data record starts on, honouring
/// quoted newlines and skipping blank lines (as the CSV reader does).
#[derive(Default)]
struct CsvChunker {
    header: Vec<u8>,
    header_done: bool,
    data: Vec<u8>,
    lines: Vec<u64>,
    in_quotes: bool,
    in_record: bool,
    record_has_content: bool,
    record_line: u64,
}

impl CsvChunker {
    fn at_record_boundary(&self) -> bool {
        !self.in_record
    }

    fn feed(&mut self, line: u64, bytes: &[u8]) {
        let header_line = !self.header_done;
        // A blank line between records is no record (and not handed to the parser).
        let blank = !self.in_record && bytes.iter().all(|b| matches!(b, b'\r' | b'\n'));
        for &b in bytes {
            if !self.in_record {
                self.record_line = line;
                self.in_record = true;
                self.record_has_content = false;
            }
            match b {
                b'"' => {
                    self.in_quotes = !self.in_quotes;
                    self.record_has_content = true;
                }
                b'\n' if !self.in_quotes => self.end_record(),
                b'\n' | b'\r' => {}
                _ => self.record_has_content = true,
            }
        }
        if blank {
            return;
        }
        if !header_line {
            self.data.extend_from_slice(bytes);
        } else if self.header_done || self.in_record {
            self.header.extend_from_slice(bytes);
        }
    }

    fn end_record(&mut self) {
        if self.record_has_content {
            if self.header_done {
                self.lines.push(self.record_line);
            }
            self.header_done = true;
        }
        self.in_record = false;
    }

    /// The input ended: a last record without a newline still counts.
    fn end(&mut self) {
        if self.in_record && !self.in_quotes {
            self.end_record();
        }
    }

    fn take(&mut self, file: &str) -> Result<RawFrame, IngestError> {
        let unreadable = |reason: String| IngestError::Unreadable { file: file.to_string(), reason };
        let lines = std::mem::take(&mut self.lines);
        let mut bytes = self.header.clone();
        bytes.append(&mut self.data);
        // Every column as a string: types are the contract's business, checked per
        // value so that one bad cell quarantines one row, not the file.
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
            .map_err(|e| unreadable(e.to_string()))?;
        if df.height() != lines.len() {
            return Err(unreadable(format!(
                "found {} records but {} data lines (unbalanced quotes?)",
                df.height(),
                lines.len()
            )));
        }
        let df = trim_to_null(df).map_err(|e| unreadable(e.to_string()))?;
        Ok(RawFrame { file: file.to_string(), df, lines, nested: Vec::new() })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(format: InputFormat, text: &str, max: usize) -> Vec<RawFrame> {
        let input = InputSource::Memory { name: "t".into(), format, bytes: text.as_bytes().to_vec() };
        let mut r = Reader::open(&input).unwrap();
        std::iter::from_fn(|| r.next_chunk(max).unwrap()).collect()
    }

    fn lines(frames: &[RawFrame]) -> Vec<u64> {
        frames.iter().flat_map(|f| f.lines.clone()).collect()
    }

    #[test]
    fn csv_lines_follow_quoted_newlines_and_blank_lines_across_chunks() {
        let csv = "\u{feff}a,b\n1,2\n\n\"x\ny\",3\n4,5";
        assert_eq!(lines(&chunks(InputFormat::Csv, csv, usize::MAX)), vec![2, 4, 6]);
        let small = chunks(InputFormat::Csv, csv, 1);
        assert_eq!(small.len(), 3);
        assert_eq!(lines(&small), vec![2, 4, 6]);
        assert_eq!(small[1].df.column("a").unwrap().str().unwrap().get(0), Some("x\ny"));
        // A header alone is one empty frame, its columns kept.
        let empty = chunks(InputFormat::Csv, "a,b\n", 1);
        assert_eq!((empty.len(), empty[0].df.width(), empty[0].df.height()), (1, 2, 0));
    }

    #[test]
    fn json_chunks_keep_lines_and_columns() {
        let nd = "{\"a\":1}\n\n{\"a\":2,\"b\":\"x\"}\n{\"b\":\"y\"}\n";
        let one = chunks(InputFormat::Ndjson, nd, usize::MAX);
        assert_eq!((one.len(), lines(&one)), (1, vec![1, 3, 4]));
        let many = chunks(InputFormat::Ndjson, nd, 1);
        assert_eq!(lines(&many), vec![1, 3, 4]);
        assert_eq!(many.iter().map(|f| f.df.height()).sum::<usize>(), 3);
        let arr = "[\n {\"a\":1},\n {\"a\":2}\n]\n";
        assert_eq!(lines(&chunks(InputFormat::Json, arr, 1)), vec![2, 3]);
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let input =
            InputSource::Memory { name: "t".into(), format: InputFormat::Csv, bytes: b"a\nok\n\xff\n".to_vec() };
        let e = read(&input).unwrap_err().to_string();
        assert!(e.contains("UTF-8 at line 3"), "{e}");
    }
}
