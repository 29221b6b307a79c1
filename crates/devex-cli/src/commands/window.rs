//! Turning `--from/--to`, `--quarter`, `--last` and `--as-of*` into a window
//! and a lake state.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use devex_ingest::timestamp::parse_micros;
use devex_query::trends::Quarter;
use devex_query::{AsOf, GroupBy, Window};

use crate::cli::{GroupArg, WindowArgs};
use crate::exit::Failure;

/// The window the arguments name; the last 90 days up to `now` by default.
pub fn resolve(args: &WindowArgs, tz: Tz, now: DateTime<Utc>) -> anyhow::Result<Window> {
    let window = if let (Some(from), Some(to)) = (&args.from, &args.to) {
        Window { from: instant("--from", from, tz)?, to: instant("--to", to, tz)? }
    } else if let Some(q) = &args.quarter {
        parse_quarter(q, tz)?
    } else {
        let last = args.last.as_deref().unwrap_or("90d");
        Window { from: now - parse_span(last)?, to: now }
    };
    if window.from >= window.to {
        return Err(Failure::error(
            format!("the window is empty: {} is not before {}", window.from, window.to),
            "--from must be earlier than --to (the window is [from, to))",
        ));
    }
    Ok(window)
}

/// `--as-of` / `--as-of-version`.
pub fn as_of(args: &WindowArgs, tz: Tz) -> anyhow::Result<AsOf> {
    as_of_from(args.as_of.as_deref(), args.as_of_version, tz)
}

/// A lake state from an `--as-of` instant or an `--as-of-version`.
pub fn as_of_from(as_of: Option<&str>, version: Option<u64>, tz: Tz) -> anyhow::Result<AsOf> {
    Ok(match (as_of, version) {
        (Some(t), _) => AsOf::Time(instant("--as-of", t, tz)?),
        (None, Some(v)) => AsOf::Version(v),
        (None, None) => AsOf::Latest,
    })
}

/// `--by`.
pub fn group_by(arg: Option<GroupArg>) -> GroupBy {
    match arg {
        None => GroupBy::Org,
        Some(GroupArg::Team) => GroupBy::Team,
        Some(GroupArg::Service) => GroupBy::Service,
    }
}

pub fn instant(flag: &str, value: &str, tz: Tz) -> anyhow::Result<DateTime<Utc>> {
    let micros = parse_micros(value, tz).map_err(|e| {
        Failure::error(format!("{flag} `{value}`: {e}"), "use a date (2026-01-01) or an RFC 3339 timestamp")
    })?;
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Failure::error(format!("{flag} `{value}` is out of range"), ""))
}

fn parse_quarter(q: &str, tz: Tz) -> anyhow::Result<Window> {
    let parsed = quarter(q)?;
    Window::quarter(parsed.year, parsed.quarter, tz).ok_or_else(|| bad_quarter(q))
}

/// `--quarter YYYY-QN`.
pub fn quarter(q: &str) -> anyhow::Result<Quarter> {
    let bad = || bad_quarter(q);
    let (year, quarter) = q.split_once(['-', ' ']).ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let quarter: u32 = quarter.trim_start_matches(['Q', 'q']).parse().map_err(|_| bad())?;
    if !(1..=4).contains(&quarter) || !(1970..=9999).contains(&year) {
        return Err(bad());
    }
    Ok(Quarter { year, quarter })
}

fn bad_quarter(q: &str) -> anyhow::Error {
    Failure::error(format!("--quarter `{q}` is not a quarter"), "write it as YYYY-QN, e.g. 2026-Q3")
}

fn parse_span(s: &str) -> anyhow::Result<Duration> {
    let bad =
        || Failure::error(format!("--last `{s}` is not a span"), "write it as a number of days or weeks: 90d, 12w");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    match unit {
        "d" if n > 0 => Ok(Duration::days(n)),
        "w" if n > 0 => Ok(Duration::weeks(n)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> WindowArgs {
        WindowArgs { from: None, to: None, quarter: None, last: None, as_of: None, as_of_version: None }
    }

    #[test]
    fn default_is_the_last_90_days() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc);
        let w = resolve(&args(), chrono_tz::UTC, now).unwrap();
        assert_eq!(w.to, now);
        assert_eq!(w.to - w.from, Duration::days(90));
    }

    #[test]
    fn quarters_and_spans_parse() {
        let now = Utc::now();
        let w = resolve(&WindowArgs { quarter: Some("2026-Q3".into()), ..args() }, chrono_tz::UTC, now).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2026-07-01T00:00:00+00:00");
        assert_eq!(w.to.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        assert!(resolve(&WindowArgs { quarter: Some("2026-Q5".into()), ..args() }, chrono_tz::UTC, now).is_err());
        assert!(resolve(&WindowArgs { last: Some("12w".into()), ..args() }, chrono_tz::UTC, now).is_ok());
        assert!(resolve(&WindowArgs { last: Some("-3d".into()), ..args() }, chrono_tz::UTC, now).is_err());
    }
}
