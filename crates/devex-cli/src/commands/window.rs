//! Turning `--from/--to`, `--quarter`, `--last` and `--as-of*` into a window
//! and a lake state.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use devex_model::timestamp::{MAX_MICROS, MIN_MICROS, parse_micros};
use devex_query::{AsOf, GroupBy, Quarter, Window};

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
        let span = parse_span(last)?;
        let from = now.checked_sub_signed(span).filter(|f| *f >= earliest()).ok_or_else(|| {
            Failure::error(format!("--last `{last}` reaches back before {}", earliest().format("%Y-%m-%d")), SPAN_HINT)
        })?;
        Window { from, to: now }
    };
    if window.from < earliest() || window.to > latest() {
        return Err(Failure::error(
            format!("the window {} .. {} is outside the years devex keeps", window.from, window.to),
            format!(
                "windows lie between {} and {} (event times outside them are quarantined)",
                earliest().format("%Y-%m-%d"),
                latest().format("%Y-%m-%d")
            ),
        ));
    }
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

/// The earliest instant a window may start at: the contract's range for timestamps.
fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(MIN_MICROS).unwrap_or_default()
}

/// The latest instant a window may end at.
fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(MAX_MICROS).unwrap_or_default()
}

pub fn instant(flag: &str, value: &str, tz: Tz) -> anyhow::Result<DateTime<Utc>> {
    let micros = parse_micros(value, tz).map_err(|e| {
        Failure::error(format!("{flag} `{value}`: {e}"), "use a date (2026-01-01) or an RFC 3339 timestamp")
    })?;
    DateTime::from_timestamp_micros(micros).filter(|t| (earliest()..=latest()).contains(t)).ok_or_else(|| {
        Failure::error(
            format!("{flag} `{value}` is out of range"),
            format!("use a date between {} and {}", earliest().format("%Y-%m-%d"), latest().format("%Y-%m-%d")),
        )
    })
}

fn parse_quarter(q: &str, tz: Tz) -> anyhow::Result<Window> {
    Ok(quarter(q)?.window(tz))
}

/// `--quarter YYYY-QN`.
pub fn quarter(q: &str) -> anyhow::Result<Quarter> {
    q.parse::<Quarter>().map_err(|e| Failure::error(format!("--quarter {e}"), "write it as YYYY-QN, e.g. 2026-Q3"))
}

const SPAN_HINT: &str = "write it as a number of days or weeks: 90d, 12w";

/// `--last N{d|w}`: a positive number of days or weeks.
fn parse_span(s: &str) -> anyhow::Result<Duration> {
    let bad = || Failure::error(format!("--last `{s}` is not a span"), SPAN_HINT);
    let mut chars = s.chars();
    let unit = chars.next_back().ok_or_else(bad)?;
    let n: i64 = chars.as_str().parse().map_err(|_| bad())?;
    let span = match unit {
        'd' if n > 0 => Duration::try_days(n),
        'w' if n > 0 => Duration::try_weeks(n),
        _ => return Err(bad()),
    };
    span.ok_or_else(|| Failure::error(format!("--last `{s}` is too long"), SPAN_HINT))
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

    #[test]
    fn hostile_spans_are_errors_not_panics() {
        let now = Utc::now();
        for last in ["9é", "é", "", "d", "99999999999999d", "100000000d", "9223372036854775807w", "0d", "3x"] {
            let got = resolve(&WindowArgs { last: Some(last.into()), ..args() }, chrono_tz::UTC, now);
            assert!(got.is_err(), "{last}");
        }
        // 200 years back is before 1900: refused, with a message saying why.
        let err = resolve(&WindowArgs { last: Some("73000d".into()), ..args() }, chrono_tz::UTC, now).unwrap_err();
        assert!(err.to_string().contains("before 1900"), "{err}");
        for (from, to) in [("1800-01-01", "2026-01-01"), ("2026-01-01", "2300-01-01"), ("+275000-01-01", "2026-01-01")]
        {
            let w = WindowArgs { from: Some(from.into()), to: Some(to.into()), ..args() };
            assert!(resolve(&w, chrono_tz::UTC, now).is_err(), "{from}..{to}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever is typed for --last, --from/--to, --quarter or --as-of: a window or an error, never a panic.
        #[test]
        fn window_flags_never_panic(last in "\\PC{0,12}", from in "\\PC{0,24}", to in "\\PC{0,24}",
                                    quarter in "\\PC{0,10}", n in proptest::num::i64::ANY,
                                    unit in proptest::sample::select(vec!["d", "w", "h", "", "é"])) {
            let now = Utc::now();
            let _ = resolve(&WindowArgs { last: Some(last), ..args() }, chrono_tz::UTC, now);
            let _ = resolve(&WindowArgs { last: Some(format!("{n}{unit}")), ..args() }, chrono_tz::UTC, now);
            let _ = resolve(&WindowArgs { from: Some(from.clone()), to: Some(to), ..args() }, chrono_tz::UTC, now);
            let _ = resolve(&WindowArgs { quarter: Some(quarter), ..args() }, chrono_tz::UTC, now);
            let _ = as_of_from(Some(&from), None, chrono_tz::UTC);
        }
    }
}
