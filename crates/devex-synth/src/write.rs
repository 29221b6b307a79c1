//! Formatting rows as CSV and NDJSON by hand (no dependencies, stable output).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::{DateTime, Utc};

/// A buffered output file.
pub struct Out(BufWriter<std::fs::File>);

impl Out {
    pub fn create(path: &Path) -> std::io::Result<Out> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(Out(BufWriter::new(std::fs::File::create(path)?)))
    }

    /// One CSV record.
    pub fn csv(&mut self, fields: &[&str]) -> std::io::Result<()> {
        let mut line = String::new();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            if f.contains([',', '"', '\n']) {
                let _ = write!(line, "\"{}\"", f.replace('"', "\"\""));
            } else {
                line.push_str(f);
            }
        }
        line.push('\n');
        self.0.write_all(line.as_bytes())
    }

    /// One NDJSON object of string (or absent) fields.
    pub fn json(&mut self, fields: &[(&str, Option<&str>)]) -> std::io::Result<()> {
        let mut line = String::from("{");
        let mut first = true;
        for (k, v) in fields {
            let Some(v) = v else { continue };
            if !first {
                line.push_str(", ");
            }
            first = false;
            let _ = write!(line, "\"{k}\": \"{}\"", escape_json(v));
        }
        line.push_str("}\n");
        self.0.write_all(line.as_bytes())
    }

    /// Raw text.
    pub fn raw(&mut self, text: &str) -> std::io::Result<()> {
        self.0.write_all(text.as_bytes())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn escape_json(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `2026-03-04T10:15:00Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The same instant with a fixed `+01:00` offset, as an incident tool in Europe would export it.
pub fn ts_cet(t: DateTime<Utc>) -> String {
    let offset = chrono::FixedOffset::east_opt(3600).expect("valid offset");
    t.with_timezone(&offset).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// `2026-03-04 10:15:00`: no offset, read in the configured time zone.
pub fn ts_naive(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
