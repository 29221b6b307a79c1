//! Checking raw string records against the contract: required values,
//! timestamps, integers and their ranges, allowed values. A row that breaks a
//! rule becomes a quarantine record naming the line, column, value and reason;
//! the rest become typed columns, ready for the lake.

use chrono_tz::Tz;
use devex_model::table::{self, Column, ColumnType, Table};
use polars::prelude::*;

use crate::error::IngestError;
use crate::input::RawFrame;
use crate::quarantine::QuarantineRow;
use crate::timestamp::{month_of, parse_micros};

/// What every row of one run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The run's id, recorded in quarantine rows and commit metadata.
    pub run_id: String,
    /// Value of `source` for rows whose file has no `source` column.
    pub source: String,
    /// Zone for timestamps without an offset.
    pub tz: Tz,
    /// `ingested_at` of every row, microseconds UTC.
    pub now_micros: i64,
}

/// One file's rows after validation.
#[derive(Debug)]
pub struct Validated {
    /// Rows that passed: the table's columns in schema order, timestamps as
    /// `Int64` microseconds, plus `source`, `ingested_at` and `month`.
    pub df: DataFrame,
    /// The file's columns that are not the contract's, for the rows that
    /// passed (survey questions, or columns to warn about).
    pub extras: DataFrame,
    /// Records read.
    pub read: usize,
    /// Rows rejected.
    pub quarantined: Vec<QuarantineRow>,
}

struct Problem {
    column: &'static str,
    value: Option<String>,
    reason: String,
}

/// Validate one file's records for `table`.
pub fn validate(table: Table, raw: &RawFrame, ctx: &RunContext) -> Result<Validated, IngestError> {
    let height = raw.df.height();
    let present = |name: &str| raw.df.column(name).ok().map(|c| c.as_materialized_series().str().cloned());
    for c in table.columns().iter().filter(|c| c.required) {
        if present(c.name).is_none() {
            return Err(IngestError::MissingColumn {
                file: raw.file.clone(),
                table: table.name().into(),
                column: c.name.into(),
            });
        }
    }

    let mut problems: Vec<Vec<Problem>> = (0..height).map(|_| Vec::new()).collect();
    let mut columns: Vec<polars::prelude::Column> = Vec::with_capacity(table.columns().len() + 3);
    let mut event_micros: Option<Vec<Option<i64>>> = None;

    for c in table.columns() {
        let values = match present(c.name) {
            Some(s) => s.map_err(|e| IngestError::internal("reading a column", e))?,
            None => StringChunked::full_null(c.name.into(), height),
        };
        let column = match c.ty {
            ColumnType::String => string_column(table, c, &values, &mut problems),
            ColumnType::Timestamp => {
                let micros = timestamp_values(c, &values, ctx.tz, &mut problems);
                if table.event_time() == Some(c.name) {
                    event_micros = Some(micros.clone());
                }
                Series::new(c.name.into(), micros).into_column()
            }
            ColumnType::Int32 | ColumnType::Int64 => int_column(table, c, &values, &mut problems)?,
        };
        if c.required {
            for (i, v) in values.iter().enumerate() {
                if v.is_none() {
                    problems[i].push(Problem { column: c.name, value: None, reason: "missing required value".into() });
                }
            }
        }
        columns.push(column);
    }

    // Provenance: a `source` column in the file wins, else the run's source.
    let source: StringChunked = match present(table::SOURCE) {
        Some(s) => {
            let s = s.map_err(|e| IngestError::internal("reading source", e))?;
            s.iter().map(|v| Some(v.unwrap_or(&ctx.source).to_string())).collect()
        }
        None => (0..height).map(|_| Some(ctx.source.clone())).collect(),
    };
    columns.push(source.with_name(table::SOURCE.into()).into_column());
    columns.push(Series::new(table::INGESTED_AT.into(), vec![ctx.now_micros; height]).into_column());
    if let Some(micros) = &event_micros {
        let month: StringChunked = micros.iter().map(|m| m.map(month_of)).collect();
        columns.push(month.with_name(table::MONTH.into()).into_column());
    }

    let df = DataFrame::new(height, columns).map_err(|e| IngestError::internal("building a frame", e))?;
    let known = |n: &str| table.column(n).is_some() || [table::SOURCE, table::INGESTED_AT, table::MONTH].contains(&n);
    let extra_names: Vec<PlSmallStr> =
        raw.df.get_column_names().into_iter().filter(|n| !known(n.as_str())).cloned().collect();
    let extras = raw.df.select(extra_names).map_err(|e| IngestError::internal("selecting extra columns", e))?;

    let mut quarantined = Vec::new();
    let mask: BooleanChunked = problems.iter().map(|p| Some(p.is_empty())).collect();
    for (i, p) in problems.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        let first = &p[0];
        let reason = p.iter().map(|p| format!("{}: {}", p.column, p.reason)).collect::<Vec<_>>().join("; ");
        quarantined.push(QuarantineRow {
            table: table.name().into(),
            file: raw.file.clone(),
            line: raw.lines.get(i).copied(),
            column: Some(first.column.into()),
            value: first.value.clone(),
            reason,
            record: record_json(&raw.df, i),
        });
    }
    let df = df.filter(&mask).map_err(|e| IngestError::internal("filtering rows", e))?;
    let extras = extras.filter(&mask).map_err(|e| IngestError::internal("filtering rows", e))?;
    Ok(Validated { df, extras, read: height, quarantined })
}

fn string_column(
    table: Table,
    c: &Column,
    values: &StringChunked,
    problems: &mut [Vec<Problem>],
) -> polars::prelude::Column {
    if c.allowed.is_empty() {
        return values.clone().with_name(c.name.into()).into_column();
    }
    let out: StringChunked = values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            None if table == Table::Deployments && c.name == "kind" => Some("regular".to_string()),
            None => None,
            Some(v) => {
                let lower = v.to_ascii_lowercase();
                if c.allowed.contains(&lower.as_str()) {
                    Some(lower)
                } else {
                    problems[i].push(Problem {
                        column: c.name,
                        value: Some(v.to_string()),
                        reason: format!("`{v}` is not one of {}", c.allowed.join(", ")),
                    });
                    None
                }
            }
        })
        .collect();
    out.with_name(c.name.into()).into_column()
}

fn timestamp_values(c: &Column, values: &StringChunked, tz: Tz, problems: &mut [Vec<Problem>]) -> Vec<Option<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = v?;
            match parse_micros(v, tz) {
                Ok(m) => Some(m),
                Err(reason) => {
                    problems[i].push(Problem { column: c.name, value: Some(v.into()), reason });
                    None
                }
            }
        })
        .collect()
}

fn int_column(
    table: Table,
    c: &Column,
    values: &StringChunked,
    problems: &mut [Vec<Problem>],
) -> Result<polars::prelude::Column, IngestError> {
    let cast = values
        .clone()
        .into_series()
        // `cast` is non-strict: an unparsable value becomes null, caught below.
        .cast(&DataType::Int64)
        .map_err(|e| IngestError::internal("casting integers", e))?;
    let ints = cast.i64().map_err(|e| IngestError::internal("casting integers", e))?;
    let range = match (table, c.name, c.ty) {
        (Table::SurveyResponses, "nps", _) => Some((0, 10)),
        (_, _, ColumnType::Int32) => Some((i32::MIN as i64, i32::MAX as i64)),
        _ => None,
    };
    let checked: Vec<Option<i64>> = values
        .iter()
        .zip(ints.iter())
        .enumerate()
        .map(|(i, (raw, int))| match (raw, int) {
            (None, _) => None,
            (Some(raw), None) => {
                problems[i].push(Problem { column: c.name, value: Some(raw.into()), reason: "not an integer".into() });
                None
            }
            (Some(raw), Some(n)) => match range {
                Some((lo, hi)) if n < lo || n > hi => {
                    problems[i].push(Problem {
                        column: c.name,
                        value: Some(raw.into()),
                        reason: format!("{n} is outside {lo}..{hi}"),
                    });
                    None
                }
                _ => Some(n),
            },
        })
        .collect();
    let s = Series::new(c.name.into(), checked);
    let s = if c.ty == ColumnType::Int32 {
        s.cast(&DataType::Int32).map_err(|e| IngestError::internal("casting integers", e))?
    } else {
        s
    };
    Ok(s.into_column())
}

/// The raw record as a JSON object of its non-empty fields, for the quarantine.
fn record_json(df: &DataFrame, row: usize) -> String {
    let mut map = serde_json::Map::new();
    for c in df.columns() {
        if let Ok(s) = c.as_materialized_series().str()
            && let Some(v) = s.get(row)
        {
            map.insert(c.name().to_string(), serde_json::Value::String(v.into()));
        }
    }
    serde_json::Value::Object(map).to_string()
}
