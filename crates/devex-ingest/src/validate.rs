//! Checking raw string records against the contract: required values,
//! timestamps, integers and their ranges, allowed values. A row that breaks a
//! rule becomes a quarantine record naming the line, column, value and reason;
//! the rest become typed columns, ready for the lake.

use devex_model::table::{self, Column, ColumnType, Table};
use polars::prelude::*;

use crate::context::RunContext;
use crate::error::IngestError;
use crate::input::RawFrame;
use crate::quarantine::QuarantineRow;
use devex_model::timestamp::{month_of, out_of_range, parse_micros};

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
    /// The input's display name.
    pub file: String,
    /// For the rows that passed: the line each starts on.
    pub lines: Vec<Option<u64>>,
    /// Rows rejected.
    pub quarantined: Vec<QuarantineRow>,
}

struct Problem {
    column: String,
    value: Option<String>,
    reason: String,
}

/// Validate one file's records for `table`.
pub fn validate(table: Table, raw: &RawFrame, ctx: &RunContext) -> Result<Validated, IngestError> {
    let height = raw.df.height();
    require_columns(table, raw)?;
    let mut problems: Vec<Vec<Problem>> = (0..height).map(|_| Vec::new()).collect();
    let (mut columns, event_micros) = typed_columns(table, raw, ctx, &mut problems)?;
    nested_problems(table, raw, &mut problems);
    if table == Table::SurveyAnswers {
        likert_problems(raw, ctx, &mut problems).map_err(|e| IngestError::internal("reading answers", e))?;
    }
    columns.extend(provenance_columns(raw, ctx, event_micros.as_deref())?);

    let df = DataFrame::new(height, columns).map_err(|e| IngestError::internal("building a frame", e))?;
    let known = |n: &str| table.column(n).is_some() || [table::SOURCE, table::INGESTED_AT, table::MONTH].contains(&n);
    let extra_names: Vec<PlSmallStr> =
        raw.df.get_column_names().into_iter().filter(|n| !known(n.as_str())).cloned().collect();
    let extras = raw.df.select(extra_names).map_err(|e| IngestError::internal("selecting extra columns", e))?;

    let (quarantined, lines) = quarantine_rows(table, raw, ctx, &df, &problems);
    let mask: BooleanChunked = problems.iter().map(|p| Some(p.is_empty())).collect();
    let df = df.filter(&mask).map_err(|e| IngestError::internal("filtering rows", e))?;
    let extras = extras.filter(&mask).map_err(|e| IngestError::internal("filtering rows", e))?;
    Ok(Validated { df, extras, read: height, file: raw.file.clone(), lines, quarantined })
}

/// A column `raw` has, as strings.
fn present(raw: &RawFrame, name: &str) -> Option<PolarsResult<StringChunked>> {
    raw.df.column(name).ok().map(|c| c.as_materialized_series().str().cloned())
}

/// Every column the contract requires is in the file's header, or nothing is read.
fn require_columns(table: Table, raw: &RawFrame) -> Result<(), IngestError> {
    match table.columns().iter().find(|c| c.required && present(raw, c.name).is_none()) {
        Some(c) => Err(IngestError::MissingColumn {
            file: raw.file.clone(),
            table: table.name().into(),
            column: c.name.into(),
        }),
        None => Ok(()),
    }
}

/// Each row's event time in microseconds (`None`: missing or invalid).
type EventMicros = Vec<Option<i64>>;

/// The table's columns in schema order, typed (a value that breaks its rule
/// is a problem of its row, and null here), and the event time's microseconds.
fn typed_columns(
    table: Table,
    raw: &RawFrame,
    ctx: &RunContext,
    problems: &mut [Vec<Problem>],
) -> Result<(Vec<polars::prelude::Column>, Option<EventMicros>), IngestError> {
    let height = raw.df.height();
    let mut columns: Vec<polars::prelude::Column> = Vec::with_capacity(table.columns().len() + 3);
    let mut event_micros: Option<EventMicros> = None;
    for c in table.columns() {
        let values = match present(raw, c.name) {
            Some(s) => s.map_err(|e| IngestError::internal("reading a column", e))?,
            None => StringChunked::full_null(c.name.into(), height),
        };
        let column = match c.ty {
            ColumnType::String => string_column(table, c, &values, problems),
            ColumnType::Timestamp => {
                let event_time = table.event_time() == Some(c.name);
                let micros = timestamp_values(c, &values, ctx, event_time, problems);
                if event_time {
                    event_micros = Some(micros.clone());
                }
                Series::new(c.name.into(), micros).into_column()
            }
            ColumnType::Int32 | ColumnType::Int64 => int_column(table, c, &values, problems)?,
        };
        if c.required {
            for (i, v) in values.iter().enumerate() {
                if v.is_none() {
                    problems[i].push(Problem {
                        column: c.name.into(),
                        value: None,
                        reason: "missing required value".into(),
                    });
                }
            }
        }
        columns.push(column);
    }
    Ok((columns, event_micros))
}

/// A JSON object or array is never a string or a number: where the contract
/// (or, in a survey export, a question) wants one, the row is quarantined.
fn nested_problems(table: Table, raw: &RawFrame, problems: &mut [Vec<Problem>]) {
    for (row, name) in &raw.nested {
        if table.column(name).is_some() || table == Table::SurveyResponses || name == table::SOURCE {
            let value = raw.df.column(name).ok().and_then(|c| c.str().ok()?.get(*row).map(str::to_string));
            problems[*row].push(Problem {
                column: name.clone(),
                value,
                reason: "a JSON object or array where a string or number belongs".into(),
            });
        }
    }
}

/// `source` (the file's column wins, else the run's), `ingested_at`, and
/// `month` of the event time for partitioned tables.
fn provenance_columns(
    raw: &RawFrame,
    ctx: &RunContext,
    event_micros: Option<&[Option<i64>]>,
) -> Result<Vec<polars::prelude::Column>, IngestError> {
    let height = raw.df.height();
    let source: StringChunked = match present(raw, table::SOURCE) {
        Some(s) => {
            let s = s.map_err(|e| IngestError::internal("reading source", e))?;
            s.iter().map(|v| Some(v.unwrap_or(&ctx.source).to_string())).collect()
        }
        None => (0..height).map(|_| Some(ctx.source.clone())).collect(),
    };
    let mut columns = vec![
        source.with_name(table::SOURCE.into()).into_column(),
        Series::new(table::INGESTED_AT.into(), vec![ctx.now_micros; height]).into_column(),
    ];
    if let Some(micros) = event_micros {
        let month: StringChunked = micros.iter().map(|m| m.map(month_of)).collect();
        columns.push(month.with_name(table::MONTH.into()).into_column());
    }
    Ok(columns)
}

/// A quarantine row for each row with a problem (naming its first, giving
/// all as the reason), and the line of each row that passed.
fn quarantine_rows(
    table: Table,
    raw: &RawFrame,
    ctx: &RunContext,
    df: &DataFrame,
    problems: &[Vec<Problem>],
) -> (Vec<QuarantineRow>, Vec<Option<u64>>) {
    let mut quarantined = Vec::new();
    let mut lines = Vec::new();
    let sources = df.column(table::SOURCE).and_then(|c| c.str().cloned()).ok();
    for (i, p) in problems.iter().enumerate() {
        let Some(first) = p.first() else {
            lines.push(raw.lines.get(i).copied());
            continue;
        };
        let reason = p.iter().map(|p| format!("{}: {}", p.column, p.reason)).collect::<Vec<_>>().join("; ");
        quarantined.push(QuarantineRow {
            table: table.name().into(),
            file: raw.file.clone(),
            line: raw.lines.get(i).copied(),
            column: Some(first.column.clone()),
            value: first.value.clone(),
            reason,
            record: record_json(&raw.df, i),
            source: sources.as_ref().and_then(|s| s.get(i)).unwrap_or(&ctx.source).to_string(),
        });
    }
    (quarantined, lines)
}

/// `survey_answers` imported directly: a score to a Likert question must lie on
/// its scale, and such a question takes no free-text answer.
fn likert_problems(raw: &RawFrame, ctx: &RunContext, problems: &mut [Vec<Problem>]) -> PolarsResult<()> {
    let text = |name: &str| raw.df.column(name).ok().and_then(|c| c.str().ok().cloned());
    let (Some(questions), scores, texts) = (text("question"), text("score"), text("text")) else { return Ok(()) };
    for (i, q) in questions.iter().enumerate() {
        let Some(q) = q else { continue };
        let score = scores.as_ref().and_then(|s| s.get(i));
        let answer = texts.as_ref().and_then(|t| t.get(i));
        let (column, value) = match (score, answer) {
            (Some(s), _) if s.parse::<i64>().is_ok() => ("score", s),
            (Some(_), _) => continue, // not an integer: already a problem of its own
            (None, Some(t)) => ("text", t),
            (None, None) => continue,
        };
        if let Some(reason) = ctx.off_scale(q, value) {
            problems[i].push(Problem { column: column.into(), value: Some(value.into()), reason });
        }
    }
    Ok(())
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
                        column: c.name.into(),
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

fn timestamp_values(
    c: &Column,
    values: &StringChunked,
    ctx: &RunContext,
    event_time: bool,
    problems: &mut [Vec<Problem>],
) -> Vec<Option<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = v?;
            match parse_micros(v, ctx.tz) {
                Ok(m) => match out_of_range(m, event_time, ctx.now_micros) {
                    None => Some(m),
                    Some(reason) => {
                        problems[i].push(Problem { column: c.name.into(), value: Some(v.into()), reason });
                        None
                    }
                },
                Err(reason) => {
                    problems[i].push(Problem { column: c.name.into(), value: Some(v.into()), reason });
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
                problems[i].push(Problem {
                    column: c.name.into(),
                    value: Some(raw.into()),
                    reason: "not an integer".into(),
                });
                None
            }
            (Some(raw), Some(n)) => match range {
                Some((lo, hi)) if n < lo || n > hi => {
                    problems[i].push(Problem {
                        column: c.name.into(),
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::input::{InputFormat, InputSource, read};
    use crate::survey::answers_from_responses;

    /// A cell: often a plausible value for some column, often garbage.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("2026-03-04T10:00:00Z".to_string()),
            Just("2026-03-04".to_string()),
            Just("2300-01-01T00:00:00Z".to_string()),
            Just("1800-01-01".to_string()),
            Just("+275760-09-13T00:00:00Z".to_string()),
            Just("success".to_string()),
            Just("rollback".to_string()),
            Just("onboarded".to_string()),
            Just("9".to_string()),
            Just("-1".to_string()),
            Just("99999999999999999999999".to_string()),
            Just("9é".to_string()),
            "[0-9]{1,3}",
            "\\PC{0,16}",
            any::<i64>().prop_map(|n| n.to_string()),
        ]
    }

    fn table() -> impl Strategy<Value = Table> {
        prop::sample::select(Table::IMPORTABLE.to_vec())
    }

    fn quote(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    fn ctx() -> RunContext {
        let mut c = RunContext::new("prop", "file", chrono_tz::Europe::Berlin);
        c.likert.insert("q_extra".into(), 5);
        c
    }

    /// Validating (and, for surveys, reshaping the answers) never panics, and
    /// every record read is either kept or quarantined.
    fn check(table: Table, input: InputSource) -> Result<(), TestCaseError> {
        let Ok(raw) = read(&input) else { return Ok(()) };
        let ctx = ctx();
        match validate(table, &raw, &ctx) {
            Ok(v) => {
                prop_assert_eq!(v.read, v.df.height() + v.quarantined.len());
                prop_assert_eq!(v.lines.len(), v.df.height());
                if table == Table::SurveyResponses {
                    let answers = answers_from_responses(&v, &ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(answers.read(), answers.df.height() + answers.quarantined.len());
                }
            }
            Err(e) => prop_assert!(e.is_bad_input(), "not an input error: {e}"),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn random_csv_rows_are_kept_or_quarantined(
            table in table(),
            rows in prop::collection::vec(prop::collection::vec(cell(), 12), 0..8),
            drop_column in 0usize..12,
        ) {
            let mut names: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
            names.extend(["source", "q_extra", "comment"]);
            if drop_column < names.len() {
                names.remove(drop_column);
            }
            let mut csv = names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(",");
            csv.push('\n');
            for row in &rows {
                let cells: Vec<String> = names.iter().enumerate().map(|(i, _)| quote(&row[i % row.len()])).collect();
                csv.push_str(&cells.join(","));
                csv.push('\n');
            }
            check(table, InputSource::Memory { name: "prop.csv".into(), format: InputFormat::Csv, bytes: csv.into_bytes() })?;
        }

        #[test]
        fn random_ndjson_values_are_kept_or_quarantined(
            table in table(),
            rows in prop::collection::vec(prop::collection::vec(prop_oneof![
                cell().prop_map(Value::String),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(Value::Null),
                cell().prop_map(|s| serde_json::json!({ "v": s })),
                cell().prop_map(|s| serde_json::json!([s, 1])),
            ], 12), 0..8),
        ) {
            let mut names: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
            names.extend(["source", "q_extra"]);
            let mut text = String::new();
            for row in &rows {
                let obj: serde_json::Map<String, Value> =
                    names.iter().enumerate().map(|(i, n)| (n.to_string(), row[i % row.len()].clone())).collect();
                text.push_str(&Value::Object(obj).to_string());
                text.push('\n');
            }
            check(table, InputSource::Memory { name: "prop.ndjson".into(), format: InputFormat::Ndjson, bytes: text.into_bytes() })?;
        }
    }
}
