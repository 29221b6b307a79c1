//! Windows and quarters in the configured calendar: the one place that knows
//! how a quarter maps to instants, which quarter an instant falls in, and which
//! weeks, months and quarters a window overlaps.
//!
//! ```
//! use devex_query::calendar::{Quarter, Window};
//! let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
//! let q: Quarter = "2026-Q1".parse().unwrap();
//! assert_eq!(q.previous().label(), "2025-Q4");
//! let w = q.window(tz);
//! assert_eq!(w.from.to_rfc3339(), "2025-12-31T23:00:00+00:00");
//! assert_eq!(Quarter::of(w.to, tz).label(), "2026-Q2");
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A half-open window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl Window {
    /// From the start of `first` to the end of `last`.
    pub fn quarters(first: Quarter, last: Quarter, tz: Tz) -> Window {
        Window { from: first.window(tz).from, to: last.window(tz).to }
    }
}

/// One window of a metrics run, with its label: the metric views compute every
/// period of a run at once, keyed by `period` (`queries/01_deployments.sql`).
///
/// ```
/// use devex_query::calendar::{Period, Quarter};
/// let tz: chrono_tz::Tz = "UTC".parse().unwrap();
/// let q: Quarter = "2026-Q3".parse().unwrap();
/// assert_eq!(Period::quarter(q, tz).label, "2026-Q3");
/// assert_eq!(Period::window(q.window(tz)).label, "2026-07-01T00:00:00Z/2026-10-01T00:00:00Z");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `2026-Q3`, or the window as an RFC 3339 interval.
    pub label: String,
    /// Its window.
    pub window: Window,
}

impl Period {
    /// A window on its own, labelled `from/to` (RFC 3339, UTC).
    pub fn window(window: Window) -> Period {
        let t = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string();
        Period { label: format!("{}/{}", t(window.from), t(window.to)), window }
    }

    /// A quarter, labelled `2026-Q3`.
    pub fn quarter(q: Quarter, tz: Tz) -> Period {
        Period { label: q.label(), window: q.window(tz) }
    }
}

/// A calendar quarter, e.g. `2026-Q3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// The year.
    pub year: i32,
    /// 1..=4.
    pub quarter: u32,
}

/// The years a quarter may lie in: the lake holds no timestamp outside them.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

impl Quarter {
    /// Quarter `quarter` (1..=4) of `year` (in [`YEARS`]).
    pub fn new(year: i32, quarter: u32) -> Option<Quarter> {
        ((1..=4).contains(&quarter) && YEARS.contains(&year)).then_some(Quarter { year, quarter })
    }

    /// The quarter containing `t` in `tz`.
    pub fn of(t: DateTime<Utc>, tz: Tz) -> Quarter {
        let local = t.with_timezone(&tz);
        Quarter { year: local.year(), quarter: local.month0() / 3 + 1 }
    }

    /// `2026-Q3`.
    pub fn label(self) -> String {
        self.to_string()
    }

    /// The quarter before.
    pub fn previous(self) -> Quarter {
        if self.quarter == 1 {
            Quarter { year: self.year - 1, quarter: 4 }
        } else {
            Quarter { quarter: self.quarter - 1, ..self }
        }
    }

    /// The quarter after.
    pub fn next(self) -> Quarter {
        if self.quarter == 4 {
            Quarter { year: self.year + 1, quarter: 1 }
        } else {
            Quarter { quarter: self.quarter + 1, ..self }
        }
    }

    /// The `n` quarters ending with this one, oldest first.
    pub fn last_n(self, n: usize) -> Vec<Quarter> {
        let mut out = vec![self];
        while out.len() < n {
            out.push(out.last().expect("non-empty").previous());
        }
        out.reverse();
        out
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, 3 * self.quarter - 2, 1).unwrap_or_default()
    }

    /// Its window: from local midnight of its first day to that of the next quarter's.
    pub fn window(self, tz: Tz) -> Window {
        Window { from: local_midnight(self.first_day(), tz), to: local_midnight(self.next().first_day(), tz) }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

/// Why text is not a quarter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a quarter between 1900-Q1 and 2199-Q4 (write it as YYYY-QN, e.g. 2026-Q3)")]
pub struct BadQuarter(pub String);

impl FromStr for Quarter {
    type Err = BadQuarter;

    /// `2026-Q3` (also `2026-q3`, `2026 Q3`, `2026-3`).
    fn from_str(s: &str) -> Result<Quarter, BadQuarter> {
        let bad = || BadQuarter(s.to_string());
        let (year, quarter) = s.split_once(['-', ' ']).ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let quarter: u32 = quarter.trim_start_matches(['Q', 'q']).parse().map_err(|_| bad())?;
        Quarter::new(year, quarter).ok_or_else(bad)
    }
}

/// Local midnight of `d` in `tz`; where a clock change skips midnight, the first
/// instant of the day.
fn local_midnight(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| tz.from_local_datetime(&d.and_hms_opt(h, 0, 0)?).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
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
        let series = |start: NaiveDate, step: &dyn Fn(NaiveDate) -> Option<NaiveDate>| {
            let mut out = Vec::new();
            let mut d = Some(start);
            while let Some(x) = d.filter(|x| *x <= last) {
                out.push(epoch_day(x));
                d = step(x);
            }
            out
        };
        let monday = first - Days::new(u64::from(first.weekday().num_days_from_monday()));
        let month = first.with_day(1).unwrap_or(first);
        let quarter = month.with_month0(month.month0() / 3 * 3).unwrap_or(month);
        Calendar {
            weeks: series(monday, &|d| d.checked_add_days(Days::new(7))),
            months: series(month, &|d| d.checked_add_months(Months::new(1))),
            quarters: series(quarter, &|d| d.checked_add_months(Months::new(3))),
        }
    }
}

/// Days since 1970-01-01 (Arrow's `Date32`).
pub fn epoch_day(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_lists_overlapping_weeks_months_quarters() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let c = Calendar::of(Quarter { year: 2026, quarter: 3 }.window(tz), tz);
        let d = |n: i32| (NaiveDate::default() + chrono::Duration::days(i64::from(n))).to_string();
        // 2026-07-01 is a Wednesday: its ISO week starts on Monday 2026-06-29; 2026-09-30 is a Wednesday too.
        assert_eq!(d(c.weeks[0]), "2026-06-29");
        assert_eq!(d(*c.weeks.last().unwrap()), "2026-09-28");
        assert_eq!(c.weeks.len(), 14);
        assert_eq!(c.months.iter().map(|m| d(*m)).collect::<Vec<_>>(), ["2026-07-01", "2026-08-01", "2026-09-01"]);
        assert_eq!(c.quarters.iter().map(|m| d(*m)).collect::<Vec<_>>(), ["2026-07-01"]);
    }

    #[test]
    fn quarters_start_at_local_midnight_and_parse_strictly() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let w = Quarter { year: 2026, quarter: 1 }.window(tz);
        assert_eq!(w.from.to_rfc3339(), "2025-12-31T23:00:00+00:00");
        assert_eq!(w.to.to_rfc3339(), "2026-03-31T22:00:00+00:00");
        assert_eq!("2026-q4".parse::<Quarter>().unwrap().next().label(), "2027-Q1");
        for bad in ["2026-Q5", "2026-Q0", "99999-Q1", "1800-Q1", "Q3", "2026", "é-Q1", ""] {
            assert!(bad.parse::<Quarter>().is_err(), "{bad}");
        }
        assert_eq!(Quarter::of(w.from, tz), Quarter { year: 2026, quarter: 1 });
        assert_eq!(
            Quarter { year: 2026, quarter: 1 }.last_n(3).iter().map(|q| q.label()).collect::<Vec<_>>(),
            ["2025-Q3", "2025-Q4", "2026-Q1"]
        );
    }

    #[test]
    fn a_quarter_whose_midnight_is_skipped_starts_at_the_first_instant_of_its_day() {
        // Chile moved its clocks from 00:00 to 01:00 on 2016-08-14: that day had no midnight.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2016, 8, 14).unwrap();
        let t = local_midnight(d, tz);
        assert_eq!(t.with_timezone(&tz).date_naive(), d);
    }
}
