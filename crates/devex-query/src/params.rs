//! The parameters of a metrics query, registered as small typed tables
//! (`params`, `production_environments`, `survey_questions`) that the SQL in
//! `queries/` reads. Nothing the user typed is spliced into SQL text; the one
//! exception is the time zone, which `AT TIME ZONE` needs as a literal and
//! which is only accepted as a valid IANA name.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use devex_model::Config;

use crate::session::QueryError;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// The whole organisation.
    #[default]
    Org,
    /// Per team.
    Team,
    /// Per service.
    Service,
}

impl GroupBy {
    /// The value of `params.group_by`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Org => "org",
            GroupBy::Team => "team",
            GroupBy::Service => "service",
        }
    }
}

/// A half-open window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl Window {
    /// The calendar quarter `year`-Q`q` in `tz`.
    pub fn quarter(year: i32, q: u32, tz: Tz) -> Option<Window> {
        if !(1..=4).contains(&q) {
            return None;
        }
        let start = local_midnight(NaiveDate::from_ymd_opt(year, 3 * q - 2, 1)?, tz)?;
        let (ny, nm) = if q == 4 { (year + 1, 1) } else { (year, 3 * q + 1) };
        let end = local_midnight(NaiveDate::from_ymd_opt(ny, nm, 1)?, tz)?;
        Some(Window { from: start, to: end })
    }

    /// The quarter containing `t` in `tz`, as (year, quarter).
    pub fn quarter_of(t: DateTime<Utc>, tz: Tz) -> (i32, u32) {
        let local = t.with_timezone(&tz);
        (local.year(), local.month0() / 3 + 1)
    }
}

fn local_midnight(d: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest().map(|t| t.with_timezone(&Utc))
}

/// Settings the metric SQL reads, from the configuration.
#[derive(Debug, Clone)]
pub struct QuerySettings {
    /// Calendar for days, weeks and quarters.
    pub timezone: Tz,
    /// Lower-cased production environment names.
    pub production_environments: Vec<String>,
    /// Rule 3's window.
    pub attribution_window_hours: f64,
    /// Survey suppression threshold.
    pub min_group_size: i64,
    /// (question, dimension, scale_max).
    pub questions: Vec<(String, String, i64)>,
    /// Band thresholds' name.
    pub benchmarks: String,
}

impl QuerySettings {
    /// From a checked configuration.
    pub fn from_config(cfg: &Config) -> Result<QuerySettings, QueryError> {
        Ok(QuerySettings {
            timezone: cfg.tz().map_err(|e| QueryError::Config(e.to_string()))?,
            production_environments: cfg.production_environments.iter().map(|e| e.to_lowercase()).collect(),
            attribution_window_hours: f64::from(cfg.attribution_window_hours),
            min_group_size: i64::from(cfg.survey.min_group_size),
            questions: cfg
                .survey
                .questions
                .iter()
                .map(|(q, s)| (q.clone(), s.dimension.clone(), i64::from(s.scale_max)))
                .collect(),
            benchmarks: cfg.benchmarks.clone(),
        })
    }

    /// The time zone's name, checked to be safe as an SQL string literal.
    pub fn timezone_literal(&self) -> Result<&'static str, QueryError> {
        let name = self.timezone.name();
        if name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) {
            Ok(name)
        } else {
            Err(QueryError::Config(format!("time zone `{name}` cannot be used in a query")))
        }
    }
}

impl Default for QuerySettings {
    fn default() -> Self {
        QuerySettings::from_config(&Config::default()).expect("defaults are valid")
    }
}

/// Register `params`, `production_environments` and `survey_questions`.
pub fn register(
    ctx: &SessionContext,
    settings: &QuerySettings,
    window: Window,
    group_by: GroupBy,
) -> Result<(), QueryError> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let micros = |t: DateTime<Utc>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(vec![t.timestamp_micros()]).with_timezone("UTC"))
    };
    let params = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("window_from", ts.clone(), false),
            Field::new("window_to", ts, false),
            Field::new("group_by", DataType::Utf8, false),
            Field::new("attribution_window_hours", DataType::Float64, false),
            Field::new("min_group_size", DataType::Int64, false),
        ])),
        vec![
            micros(window.from),
            micros(window.to),
            Arc::new(StringArray::from(vec![group_by.as_str()])),
            Arc::new(Float64Array::from(vec![settings.attribution_window_hours])),
            Arc::new(Int64Array::from(vec![settings.min_group_size])),
        ],
    )?;
    let envs = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("environment", DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from(settings.production_environments.clone()))],
    )?;
    let questions = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("question", DataType::Utf8, false),
            Field::new("dimension", DataType::Utf8, false),
            Field::new("scale_max", DataType::Int64, false),
        ])),
        vec![
            Arc::new(StringArray::from(settings.questions.iter().map(|q| q.0.clone()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(settings.questions.iter().map(|q| q.1.clone()).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(settings.questions.iter().map(|q| q.2).collect::<Vec<_>>())),
        ],
    )?;
    let date_table = |column: &str, days: Vec<i32>| -> Result<RecordBatch, QueryError> {
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(column, DataType::Date32, false)])),
            vec![Arc::new(Date32Array::from(days))],
        )?)
    };
    let cal = Calendar::of(window, settings.timezone);
    let tables = [
        ("params", params),
        ("production_environments", envs),
        ("survey_questions", questions),
        ("calendar_week", date_table("week_start", cal.weeks)?),
        ("calendar_month", date_table("month_start", cal.months)?),
        ("calendar_quarter", date_table("quarter_start", cal.quarters)?),
    ];
    for (name, batch) in tables {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        ctx.register_table(name, Arc::new(table))?;
    }
    Ok(())
}

/// The ISO weeks (Mondays), months and quarters (first days) overlapping a
/// window in the local calendar, as days since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// Mondays of the ISO weeks.
    pub weeks: Vec<i32>,
    /// First days of the months.
    pub months: Vec<i32>,
    /// First days of the quarters.
    pub quarters: Vec<i32>,
}

impl Calendar {
    /// The calendar of `window` in `tz`.
    pub fn of(window: Window, tz: Tz) -> Calendar {
        let first = window.from.with_timezone(&tz).date_naive();
        let last = (window.to - chrono::Duration::microseconds(1)).with_timezone(&tz).date_naive();
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
        let day = |d: NaiveDate| (d - epoch).num_days() as i32;
        let series = |start: NaiveDate, step: &dyn Fn(NaiveDate) -> Option<NaiveDate>| {
            let mut out = Vec::new();
            let mut d = Some(start);
            while let Some(x) = d.filter(|x| *x <= last) {
                out.push(day(x));
                d = step(x);
            }
            out
        };
        let monday = first - Days::new(u64::from(first.weekday().num_days_from_monday()));
        let month = first.with_day(1).expect("day 1");
        let quarter = month.with_month0(month.month0() / 3 * 3).expect("quarter month");
        Calendar {
            weeks: series(monday, &|d| d.checked_add_days(Days::new(7))),
            months: series(month, &|d| d.checked_add_months(Months::new(1))),
            quarters: series(quarter, &|d| d.checked_add_months(Months::new(3))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_lists_overlapping_weeks_months_quarters() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let w = Window::quarter(2026, 3, tz).unwrap();
        let c = Calendar::of(w, tz);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let d = |n: i32| (epoch + chrono::Duration::days(i64::from(n))).to_string();
        // 2026-07-01 is a Wednesday: its ISO week starts on Monday 2026-06-29; 2026-09-30 is a Wednesday too.
        assert_eq!(d(c.weeks[0]), "2026-06-29");
        assert_eq!(d(*c.weeks.last().unwrap()), "2026-09-28");
        assert_eq!(c.weeks.len(), 14);
        assert_eq!(c.months.iter().map(|m| d(*m)).collect::<Vec<_>>(), ["2026-07-01", "2026-08-01", "2026-09-01"]);
        assert_eq!(c.quarters.iter().map(|m| d(*m)).collect::<Vec<_>>(), ["2026-07-01"]);
    }

    #[test]
    fn quarters_start_at_local_midnight() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let w = Window::quarter(2026, 1, tz).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2025-12-31T23:00:00+00:00");
        assert_eq!(w.to.to_rfc3339(), "2026-03-31T22:00:00+00:00");
        assert!(Window::quarter(2026, 5, tz).is_none());
    }
}
