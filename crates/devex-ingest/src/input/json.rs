//! JSON records (NDJSON lines, or the elements of one JSON array) turned into
//! string columns as they are parsed: no record is ever held as a
//! `serde_json::Value` unless it has a nested object or array.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use polars::prelude::*;
use serde::Deserializer as _;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::RawFrame;
use crate::error::IngestError;

/// String columns built from JSON objects: numbers and booleans keep their
/// text, nested values their JSON (and are listed in `nested`), `null` and
/// `""` become null. Columns are in the order their key first appears; a
/// record without a key is null there.
#[derive(Default)]
pub(super) struct Columns {
    names: Vec<String>,
    index: HashMap<String, usize>,
    builders: Vec<StringChunkedBuilder>,
    lines: Vec<u64>,
    /// (record, column index) of objects and arrays.
    nested: Vec<(usize, usize)>,
}

impl Columns {
    /// Records pushed since the last [`Columns::take`].
    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Parse one JSON value that starts on `line` and push it as a record.
    pub(super) fn push_json(&mut self, file: &str, line: u64, text: &[u8]) -> Result<(), IngestError> {
        let unreadable = |reason: String| IngestError::Unreadable { file: file.to_string(), reason };
        if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            let found = match serde_json::from_slice::<Value>(text) {
                Ok(v) => format!("expected a JSON object, found {v}"),
                Err(e) => format!("not a JSON object: {e}"),
            };
            return Err(unreadable(format!("line {line}: {found}")));
        }
        // The record's cells before they go to the builders, borrowed from
        // `text` where no escape forces a copy.
        let mut cells = Vec::with_capacity(self.names.len().max(8));
        let mut de = serde_json::Deserializer::from_slice(text);
        let parsed = de.deserialize_map(RecordVisitor { columns: self, cells: &mut cells }).and_then(|()| de.end());
        if let Err(e) = parsed {
            return Err(unreadable(format!("line {line}: not a JSON object: {e}")));
        }
        let row = self.lines.len();
        self.lines.push(line);
        // The last value of a repeated key wins, as with `serde_json::Value`.
        cells.reverse();
        let mut filled = vec![false; self.builders.len()];
        for (c, value, nested) in cells.drain(..) {
            if std::mem::replace(&mut filled[c], true) {
                continue;
            }
            if nested {
                self.nested.push((row, c));
            }
            match value {
                Some(v) => self.builders[c].append_value(v.as_ref()),
                None => self.builders[c].append_null(),
            }
        }
        for (b, filled) in self.builders.iter_mut().zip(filled) {
            if !filled {
                b.append_null();
            }
        }
        Ok(())
    }

    /// The column index for `key`, creating it (null for every earlier record).
    fn column(&mut self, key: &str) -> usize {
        if let Some(&c) = self.index.get(key) {
            return c;
        }
        let row = self.lines.len();
        let mut b = StringChunkedBuilder::new(key.into(), row + 1);
        (0..row).for_each(|_| b.append_null());
        self.builders.push(b);
        self.names.push(key.to_string());
        self.index.insert(key.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }

    /// The records as a frame; the builders start again empty, keeping the columns.
    pub(super) fn take(&mut self, file: &str) -> Result<RawFrame, IngestError> {
        let height = self.lines.len();
        let mut nested = std::mem::take(&mut self.nested);
        nested.sort_unstable();
        let nested = nested.into_iter().map(|(row, c)| (row, self.names[c].clone())).collect();
        let cols = self
            .builders
            .iter_mut()
            .zip(&self.names)
            .map(|(b, name)| std::mem::replace(b, StringChunkedBuilder::new(name.as_str().into(), 0)).finish())
            .map(IntoColumn::into_column)
            .collect();
        let df = DataFrame::new(height, cols)
            .map_err(|e| IngestError::Unreadable { file: file.to_string(), reason: e.to_string() })?;
        Ok(RawFrame { file: file.to_string(), df, lines: std::mem::take(&mut self.lines), nested })
    }
}

/// The cells of one record: (column, text, nested).
type Cells<'de> = Vec<(usize, Option<Cow<'de, str>>, bool)>;

/// One JSON object, key by key, into cells of [`Columns`].
struct RecordVisitor<'c, 'de> {
    columns: &'c mut Columns,
    cells: &'c mut Cells<'de>,
}

impl<'de> Visitor<'de> for RecordVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            // Records of one export usually list their keys in one order: try that first.
            let pos = self.cells.len();
            let c = match self.columns.names.get(pos) {
                Some(name) if *name == key => pos,
                _ => self.columns.column(&key),
            };
            let cell = map.next_value::<Cell<'de>>()?;
            self.cells.push((c, cell.text, cell.nested));
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// One value as the text its column holds.
struct Cell<'de> {
    text: Option<Cow<'de, str>>,
    nested: bool,
}

impl<'de> Cell<'de> {
    fn owned(s: String) -> Cell<'de> {
        Cell { text: Some(Cow::Owned(s)), nested: false }
    }

    fn nested(v: Value) -> Cell<'de> {
        Cell { text: Some(Cow::Owned(v.to_string())), nested: true }
    }
}

impl<'de> de::Deserialize<'de> for Cell<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cell<'de>, E> {
        let t = v.trim();
        Ok(Cell { text: (!t.is_empty()).then_some(Cow::Borrowed(t)), nested: false })
    }
    fn visit_str<E>(self, v: &str) -> Result<Cell<'de>, E> {
        let t = v.trim();
        Ok(Cell { text: (!t.is_empty()).then(|| Cow::Owned(t.to_string())), nested: false })
    }
    fn visit_bool<E>(self, v: bool) -> Result<Cell<'de>, E> {
        Ok(Cell { text: Some(Cow::Borrowed(if v { "true" } else { "false" })), nested: false })
    }
    fn visit_i64<E>(self, v: i64) -> Result<Cell<'de>, E> {
        Ok(Cell::owned(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Cell<'de>, E> {
        Ok(Cell::owned(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell<'de>, E> {
        // The text `serde_json::Value` gives the number, as before streaming.
        Ok(Cell::owned(Value::from(v).to_string()))
    }
    fn visit_unit<E>(self) -> Result<Cell<'de>, E> {
        Ok(Cell { text: None, nested: false })
    }
    fn visit_none<E>(self) -> Result<Cell<'de>, E> {
        Ok(Cell { text: None, nested: false })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell<'de>, A::Error> {
        let v = de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Cell::nested(Value::Object(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell<'de>, A::Error> {
        let v = de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cell::nested(Value::Array(v)))
    }
}

/// Finds the top-level elements of one JSON array in a byte stream, without
/// parsing them: each comes out as its bytes and the line it starts on.
#[derive(Default)]
pub(super) struct ArrayScanner {
    /// `[` seen.
    opened: bool,
    /// `]` seen at depth 1.
    closed: bool,
    depth: u32,
    in_str: bool,
    escaped: bool,
    /// A `,` came after the last element: another must follow.
    after_comma: bool,
    /// The element being collected, and the line it starts on.
    element: Vec<u8>,
    start: u64,
}

impl ArrayScanner {
    /// Feed one line (with its newline) that is line `line` of the file;
    /// every element completed on it goes to `out`.
    pub(super) fn feed(
        &mut self,
        line: u64,
        bytes: &[u8],
        out: &mut impl FnMut(u64, &[u8]) -> Result<(), IngestError>,
        file: &str,
    ) -> Result<(), IngestError> {
        let bad = |what: String| IngestError::Unreadable {
            file: file.to_string(),
            reason: format!("not a JSON array of objects: {what} at line {line}"),
        };
        for &b in bytes {
            if self.closed {
                if !b.is_ascii_whitespace() {
                    return Err(bad("trailing characters after the array".into()));
                }
                continue;
            }
            if !self.opened {
                match b {
                    b'[' => self.opened = true,
                    b if b.is_ascii_whitespace() => {}
                    _ => return Err(bad("expected `[`".into())),
                }
                continue;
            }
            if self.in_str {
                self.element.push(b);
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b',' | b']' if self.depth == 0 => {
                    let empty = self.element.is_empty();
                    if empty && (b == b',' || self.after_comma) {
                        return Err(bad(format!("expected a value before `{}`", b as char)));
                    }
                    if !empty {
                        out(self.start, &self.element)?;
                    }
                    self.element.clear();
                    self.start = 0;
                    self.after_comma = b == b',';
                    self.closed = b == b']';
                    continue;
                }
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.checked_sub(1).ok_or_else(|| bad(format!("unexpected `{}`", b as char)))?
                }
                b'"' => self.in_str = true,
                _ => {}
            }
            if self.element.is_empty() && !b.is_ascii_whitespace() {
                self.start = line;
            }
            if !self.element.is_empty() || !b.is_ascii_whitespace() {
                self.element.push(b);
            }
        }
        Ok(())
    }

    /// The input ended: the array must have been closed.
    pub(super) fn finish(&self, file: &str) -> Result<(), IngestError> {
        if self.closed {
            return Ok(());
        }
        let what = if self.opened { "the array is not closed (truncated file?)" } else { "the file is empty" };
        Err(IngestError::Unreadable { file: file.to_string(), reason: format!("not a JSON array of objects: {what}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Result<Vec<(u64, String)>, IngestError> {
        let mut s = ArrayScanner::default();
        let mut out = Vec::new();
        for (i, l) in text.split_inclusive('\n').enumerate() {
            s.feed(
                i as u64 + 1,
                l.as_bytes(),
                &mut |line, b| {
                    out.push((line, String::from_utf8_lossy(b).into()));
                    Ok(())
                },
                "f",
            )?;
        }
        s.finish("f")?;
        Ok(out)
    }

    #[test]
    fn array_elements_and_the_lines_they_start_on() {
        let text = "[\n  {\"a\": \"[,]\"},\n  {\"a\": 2,\n   \"b\": {\"c\": [1,2]}},\n{\"a\":\"\\\"}\"}]\n";
        let got = elements(text).unwrap();
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        assert_eq!(got[0].1, "{\"a\": \"[,]\"}");
        assert_eq!(got[2].1, "{\"a\":\"\\\"}\"}");
        assert_eq!(elements("[]").unwrap(), vec![]);
        for bad in ["", "{\"a\":1}", "[{\"a\":1}", "[{\"a\":1}] x", "[{\"a\":1},]", "[,{\"a\":1}]"] {
            assert!(elements(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn records_become_string_columns() {
        let mut c = Columns::default();
        c.push_json("f", 1, br#"{"a": "x", "n": 1.5, "i": -3, "b": true, "z": null}"#).unwrap();
        c.push_json("f", 2, br#"{"b": false, "a": "  ", "o": {"k": [1, 2]}, "a": "last"}"#).unwrap();
        assert!(c.push_json("f", 3, b"[1]").unwrap_err().to_string().contains("line 3: expected a JSON object"));
        assert!(c.push_json("f", 4, br#"{"a": }"#).is_err());
        let raw = c.take("f").unwrap();
        assert_eq!(raw.lines, vec![1, 2]);
        assert_eq!(raw.nested, vec![(1, "o".to_string())]);
        let col = |n: &str| -> Vec<Option<String>> {
            raw.df.column(n).unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
        };
        assert_eq!(col("a"), vec![Some("x".into()), Some("last".into())]);
        assert_eq!(col("n"), vec![Some("1.5".into()), None]);
        assert_eq!(col("i"), vec![Some("-3".into()), None]);
        assert_eq!(col("b"), vec![Some("true".into()), Some("false".into())]);
        assert_eq!(col("z"), vec![None, None]);
        assert_eq!(col("o"), vec![None, Some(r#"{"k":[1,2]}"#.into())]);
    }
}
